"""Recall of nhi-gate's identity rules on the peers' own IAM / RBAC / key / certificate tests.

Usage: python benchmarks/recall.py [CORPUS_DIR] [--write]
(CORPUS_DIR defaults to ../shared/corpus next to the repository; `--write` also writes
benchmarks/RECALL.md, otherwise the report goes to stdout.)

Every positive and negative sample runs through the real pipeline (`parse_sources` +
`run_rules` in scan mode, no pre-filter), one file at a time, as the peers test them.

Ground truth:
- KICS (`peer-suites/kics/{terraform/aws,azure,gcp,kubernetes},k8s`): each entry of
  `test/positive_expected_result.json` is one expected (file, line); when it names no file, the
  query's only positive file. A positive is *detected* when a finding of one of the query's
  mapped rules is on the expected line (`line`) or belongs to the identity whose line range
  contains it (`range`: nhi-gate reports one finding per identity per problem, KICS one per
  offending line). Every `negative*` file must have no finding of those rules.
  `common/passwords_and_secrets` and `cicd/github` are measured by benchmarks/peer_ci_recall.py.
- Checkov (`peer-suites/checkov/tests/terraform/...`): the test's `expected.yaml` names the
  failing and passing blocks when present; else blocks whose name contains `fail` are positives
  and `pass` negatives. The expected line is the block's first line; a finding of a mapped rule
  anywhere in the block (`range`) or with the block's address counts. Checkov Kubernetes checks
  (`*FAILED*` / `*PASSED*` files) are judged per file (`file`).

Scope: `QUERIES` maps each peer query/check to the nhi-gate rules that cover its problem, or
marks it out of scope with a one-line reason (not an NHI definition, or a problem nhi-gate does
not judge). Out-of-scope positives are still run and reported, never counted in the recall.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from checker.change import ChangeSet
from checker.model import Finding, IdentityObject, SourceFile
from checker.pipeline import Parsed, parse_sources, run_rules
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config

TARGET = 0.95


@dataclass(frozen=True)
class Query:
    """One peer query/check folder (corpus-relative), its family and the rules covering it.

    `rules` empty means out of scope; `note` then says why (else it notes the mapping).
    """

    path: str
    family: str
    rules: tuple[str, ...]
    note: str = ""
    #: Checkov block names (`type.name`) that fail/pass when the names do not say so.
    fail: tuple[str, ...] = ()
    passing: tuple[str, ...] = ()
    #: Peer positives not counted, `file-name:line` or block address -> why (listed in the
    #: report).
    skip: tuple[tuple[str, str], ...] = ()

    @property
    def in_scope(self) -> bool:
        return bool(self.rules)


@dataclass(frozen=True)
class Expected:
    """One expected positive: `file` (corpus-relative), 1-based `line` (0 = anywhere in the
    file), `end` (last line of the block for Checkov, else `line`), `address` when known."""

    file: str
    line: int
    end: int
    address: str = ""


@dataclass(frozen=True)
class Outcome:
    """How one expected positive fared: `identity` (an identity spans the line) and `how`
    (`line`, `range`, `file` or `` for a miss)."""

    expected: Expected
    identity: bool
    how: str
    found: tuple[str, ...]


def _q(path: str, family: str, rules: Sequence[str] = (), note: str = "", *,
       fail: Sequence[str] = (), passing: Sequence[str] = (),
       skip: Sequence[tuple[str, str]] = ()) -> Query:
    return Query(path, family, tuple(rules), note, tuple(fail), tuple(passing), tuple(skip))


def _basic(level: str, roles: Sequence[str]) -> list[str]:
    """Checkov's GCP basic-role tests name blocks by role (owner/editor fail, viewer/other
    pass): the `type.name` of each member and binding block for `roles`."""
    return [f"google_{level}_iam_{k}.{r}" for k in ("member", "binding") for r in roles]


FAIL_ROLES, PASS_ROLES = ("owner", "editor"), ("viewer", "other")


K = "peer-suites/kics/"
CK = "peer-suites/checkov/tests/"
PRIV = ("NHI301",)
OUT_HUMAN = "human access (console, MFA, password policy, SSO users, guests): not an NHI"
OUT_WORKLOAD = ("workload/platform configuration, not an identity definition "
                "(nhi-gate judges the identity, not what uses it)")
CEL = ("CEL `==` compares exactly, so this condition matches only a token whose `sub` is "
       "literally that text (none is): the trust is scoped to nothing, not wildcarded")
LOOKUP = "a `data \"aws_iam_policy\"` lookup grants nothing; the attachment using it is judged"
SSO = "IAM Identity Center permission set: workforce (human) access"
OUT_DEFAULT_SA = ("use of a platform default service account by a workload: the default "
                  "account is not defined in the code (candidate rule, not built)")
WORKLOAD_SA = ("NHI321", "NHI322")
KNATIVE = ("a Knative `Configuration`: nhi-gate normalises the pod specs of the core workload "
           "kinds (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, "
           "Job, CronJob), not CRDs that embed one")
OUT_TF_WORKLOAD = ("`kubernetes_*` provider workloads (`kubernetes_pod`, `kubernetes_deployment`): "
                   "pod specs are normalised for YAML manifests only so far (NHI321/NHI322)")
QUERIES: tuple[Query, ...] = (
    # ---------------------------------------------------------------- KICS terraform/aws
    _q(K + "terraform/aws/authentication_without_mfa", "out of scope", note=OUT_HUMAN),
    _q(K + "terraform/aws/certificate_has_expired", "out of scope",
       note="certificate body in an external PEM file (`file(...)`): nhi-gate reads the "
            "Terraform, not referenced files"),
    _q(K + "terraform/aws/certificate_rsa_key_bytes_lower_than_256", "out of scope",
       note="key strength of a PEM file: cryptographic hygiene, not NHI governance"),
    _q(K + "terraform/aws/cross_account_iam_assume_role_policy_without_external_id_or_mfa",
       "out of scope", note="trust conditions (ExternalId/MFA) are not judged; NHI302 reports "
                            "a widened trust on change"),
    _q(K + "terraform/aws/ec2_instance_using_api_keys", "out of scope",
       note="EC2 instance metadata / user data"),
    _q(K + "terraform/aws/ecs_service_admin_role_is_present", "out of scope",
       note="an ECS service naming a role `admin`: the name says nothing about privileges"),
    _q(K + "terraform/aws/group_with_privilege_escalation_by_actions_iam_CreateLoginProfile",
       "AWS IAM privileges", PRIV, "Permissions-management action on `*`"),
    _q(K + "terraform/aws/hardcoded_aws_access_key", "out of scope",
       note="EC2 instance metadata / user data (a 40-digit placeholder, not a key format)"),
    _q(K + "terraform/aws/hardcoded_aws_access_key_in_lambda", "hardcoded credentials",
       ("NHI401",)),
    _q(K + "terraform/aws/iam_access_key_is_exposed", "static credentials", ("NHI303",)),
    _q(K + "terraform/aws/iam_group_without_users", "out of scope",
       note="IAM group hygiene: a group is not an NHI"),
    _q(K + "terraform/aws/iam_policies_attached_to_user", "out of scope",
       note="attachment style (user vs group), not what is granted"),
    _q(K + "terraform/aws/iam_policies_with_full_privileges", "AWS IAM privileges", PRIV),
    _q(K + "terraform/aws/iam_policy_grants_assumerole_permission_across_all_services",
       "AWS IAM privileges", PRIV, "trust open to any principal (`AWS: *`)"),
    _q(K + "terraform/aws/iam_policy_grants_full_permissions", "AWS IAM privileges", PRIV),
    _q(K + "terraform/aws/iam_role_allows_all_principals_to_assume", "AWS IAM privileges",
       PRIV, "trust open to any principal",
       skip=[("positive.tf:37", "the sample's principal `arn:aws:iam::root` names no account, "
                               "which IAM rejects as malformed; a `*` principal is flagged "
                               "(fixtures/rules/NHI301/fail.tf)")]),
    _q(K + "terraform/aws/iam_role_policy_passrole_allows_all", "AWS IAM privileges", PRIV,
       "`iam:PassRole` on `*`"),
    _q(K + "terraform/aws/iam_role_with_full_privileges", "out of scope",
       note="`Action: *` inside a trust policy only widens the sts actions on the role; "
            "it grants no permissions"),
    _q(K + "terraform/aws/iam_user_policy_without_mfa", "out of scope", note=OUT_HUMAN),
    _q(K + "terraform/aws/iam_user_too_many_access_keys", "static credentials", ("NHI303",)),
    _q(K + "terraform/aws/iam_user_with_access_to_console", "out of scope", note=OUT_HUMAN),
    _q(K + "terraform/aws/lambda_function_with_privileged_role", "out of scope",
       note="flags the Lambda that uses a privileged role; nhi-gate flags the role's policy "
            "itself (NHI301)"),
    _q(K + "terraform/aws/no_password_policy_enabled", "out of scope", note=OUT_HUMAN),
    _q(K + "terraform/aws/public_and_private_ec2_share_role", "out of scope",
       note="EC2 network placement of instances sharing a role"),
    _q(K + "terraform/aws/role_with_privilege_escalation_by_actions_iam_PassRole_and_ec2_"
           "RunInstances", "AWS IAM privileges", PRIV, "`iam:PassRole` on `*`"),
    _q(K + "terraform/aws/root_account_has_active_access_keys", "static credentials",
       ("NHI303",)),
    _q(K + "terraform/aws/secrets_manager_with_vulnerable_policy", "out of scope",
       note="resource policy of a secret (who may read it) is not modelled as a grant"),
    _q(K + "terraform/aws/secretsmanager_secret_without_kms", "out of scope",
       note="encryption-at-rest configuration"),
    _q(K + "terraform/aws/sso_policy_with_full_priveleges", "out of scope", note=OUT_HUMAN),
    _q(K + "terraform/aws/sso_policy_with_full_priveleges_copy", "out of scope",
       note=OUT_HUMAN),
    _q(K + "terraform/aws/user_data_contains_encoded_private_key", "out of scope",
       note="EC2 instance metadata / user data (base64 blob)"),
    _q(K + "terraform/aws/user_with_privilege_escalation_by_actions_iam_CreateAccessKey",
       "AWS IAM privileges", PRIV, "Permissions-management action on `*`"),
    # -------------------------------------------------------------- KICS terraform/azure
    _q(K + "terraform/azure/aks_rbac_disabled", "out of scope", note=OUT_WORKLOAD),
    _q(K + "terraform/azure/app_service_managed_identity_disabled", "out of scope",
       note=OUT_WORKLOAD),
    _q(K + "terraform/azure/azure_instance_using_basic_authentication", "out of scope",
       note="VM password login: human access"),
    _q(K + "terraform/azure/function_app_managed_identity_disabled", "out of scope",
       note=OUT_WORKLOAD),
    _q(K + "terraform/azure/key_expiration_not_set", "credential lifetime", ("NHI203",)),
    _q(K + "terraform/azure/role_assignment_not_limit_guest_users_permissions", "out of scope",
       note=OUT_HUMAN),
    _q(K + "terraform/azure/role_definition_allows_custom_role_creation", "Azure RBAC", PRIV,
       "`Microsoft.Authorization/roleDefinitions/write`"),
    _q(K + "terraform/azure/secret_expiration_not_set", "credential lifetime", ("NHI203",)),
    _q(K + "terraform/azure/sql_server_predictable_admin_account_name", "out of scope",
       note="database admin login name: human access"),
    # ---------------------------------------------------------------- KICS terraform/gcp
    _q(K + "terraform/gcp/gke_using_default_service_account", "out of scope",
       note=OUT_DEFAULT_SA),
    _q(K + "terraform/gcp/google_project_iam_binding_service_account_has_token_creator_or_"
           "account_user_role", "GCP IAM", PRIV, "project-level impersonation roles"),
    _q(K + "terraform/gcp/google_project_iam_member_service_account_has_admin_role", "GCP IAM",
       PRIV, "project-level impersonation roles"),
    _q(K + "terraform/gcp/google_project_iam_member_service_account_has_token_creator_or_"
           "account_user_role", "GCP IAM", PRIV, "project-level impersonation roles"),
    _q(K + "terraform/gcp/kms_admin_and_crypto_key_roles_in_use", "out of scope",
       note="separation of duties between two roles, not an excessive grant"),
    _q(K + "terraform/gcp/service_account_with_improper_privileges", "GCP IAM", PRIV),
    _q(K + "terraform/gcp/user_with_iam_role", "out of scope", note=OUT_HUMAN),
    _q(K + "terraform/gcp/using_default_service_account", "out of scope", note=OUT_DEFAULT_SA),
    # --------------------------------------------------------- KICS terraform/kubernetes
    _q(K + "terraform/kubernetes/cluster_admin_role_binding_with_super_user_permissions",
       "Kubernetes RBAC", PRIV),
    _q(K + "terraform/kubernetes/default_service_account_in_use", "out of scope",
       note=OUT_TF_WORKLOAD),
    _q(K + "terraform/kubernetes/permissive_access_to_create_pods", "Kubernetes RBAC", PRIV),
    _q(K + "terraform/kubernetes/rbac_roles_with_read_secrets_permissions", "Kubernetes RBAC",
       PRIV),
    _q(K + "terraform/kubernetes/role_binding_to_default_service_account", "out of scope",
       note=OUT_DEFAULT_SA),
    _q(K + "terraform/kubernetes/secrets_as_environment_variables", "out of scope",
       note="how a pod consumes a Secret, not where secret material is stored"),
    _q(K + "terraform/kubernetes/service_account_allows_access_secrets", "Kubernetes RBAC",
       PRIV),
    _q(K + "terraform/kubernetes/service_account_token_automount_not_disabled", "out of scope",
       note=OUT_TF_WORKLOAD),
    # ----------------------------------------------------------------------- KICS k8s
    _q(K + "k8s/cluster_admin_role_binding_with_super_user_permissions", "Kubernetes RBAC",
       PRIV),
    _q(K + "k8s/permissive_access_to_create_pods", "Kubernetes RBAC", PRIV),
    _q(K + "k8s/rbac_roles_allow_privilege_escalation", "Kubernetes RBAC", PRIV),
    _q(K + "k8s/rbac_roles_with_exec_permission", "out of scope",
       note="`pods/exec` is runtime access, not on Kubernetes' escalation list"),
    _q(K + "k8s/rbac_roles_with_impersonate_permission", "Kubernetes RBAC", PRIV),
    _q(K + "k8s/rbac_roles_with_read_secrets_permissions", "Kubernetes RBAC", PRIV),
    _q(K + "k8s/rbac_wildcard_in_rule", "Kubernetes RBAC", PRIV),
    _q(K + "k8s/role_binding_to_default_service_account", "out of scope", note=OUT_DEFAULT_SA),
    _q(K + "k8s/secrets_as_environment_variables", "out of scope",
       note="how a pod consumes a Secret, not where secret material is stored"),
    _q(K + "k8s/service_account_allows_access_secrets", "Kubernetes RBAC", PRIV),
    _q(K + "k8s/service_account_key_file_not_properly_set", "out of scope",
       note="kube-apiserver flags: cluster component configuration"),
    _q(K + "k8s/service_account_name_undefined_or_empty", "Kubernetes workloads", ("NHI321",),
       "pod spec without `serviceAccountName` (or empty): runs as the default account"),
    _q(K + "k8s/service_account_token_automount_not_disabled", "Kubernetes workloads",
       WORKLOAD_SA, "token automounted (default account: NHI321; named: NHI322)",
       skip=[("positive1.yaml:54", KNATIVE)]),
    _q(K + "k8s/shared_service_account", "out of scope",
       note="two workloads in one namespace sharing an SA (NHI204 judges sharing across "
            "environments)"),
    _q(K + "k8s/token_auth_file_is_set", "out of scope",
       note="kube-apiserver flags: cluster component configuration"),
    _q(K + "k8s/using_kubernetes_native_secret_management", "hardcoded credentials",
       ("NHI404", "NHI401")),
    # ---------------------------------------------------------- Checkov terraform checks
    _q(CK + "terraform/checks/data/aws/example_CloudsplainingIAMWrite", "out of scope",
       note="unconstrained Write access that is neither admin nor escalation"),
    _q(CK + "terraform/checks/data/aws/example_GithubActionsOIDCTrustPolicy", "CI OIDC trust",
       ("NHI317",)),
    _q(CK + "terraform/checks/data/aws/example_IAMManagedAdminPolicy", "out of scope",
       note="a `data \"aws_iam_policy\"` lookup grants nothing; the attachment using the "
            "ARN is judged"),
    _q(CK + "terraform/checks/resource/aws/example_ACMCertCreateBeforeDestroy", "out of scope",
       note="Terraform lifecycle ordering of a certificate"),
    _q(CK + "terraform/checks/resource/aws/example_CognitoUnauthenticatedIdentities",
       "out of scope", note="end-user identity pool: human/app users, not an NHI"),
    _q(CK + "terraform/checks/resource/aws/example_DatasyncLocationExposesSecrets",
       "hardcoded credentials", ("NHI401",)),
    _q(CK + "terraform/checks/resource/aws/example_EC2Credentials", "out of scope",
       note="EC2 instance metadata / user data"),
    _q(CK + "terraform/checks/resource/aws/example_ECSTaskDefinitionRoleCheck", "out of scope",
       note="task role equal to execution role: workload configuration"),
    _q(CK + "terraform/checks/resource/aws/example_GithubActionsOIDCTrustPolicyOnRole",
       "CI OIDC trust", ("NHI317",)),
    _q(CK + "terraform/checks/resource/aws/example_IAMAdminPolicyDocument", "AWS IAM privileges",
       PRIV, skip=[("aws_ssoadmin_permission_set_inline_policy.fail1", SSO)]),
    _q(CK + "terraform/checks/resource/aws/example_IAMCredentialsExposure",
       "AWS IAM privileges", PRIV, "credential-minting actions on `*`"),
    _q(CK + "terraform/checks/resource/aws/example_IAMDataExfiltration", "out of scope",
       note="data-read actions (s3:GetObject...) on `*`: data access, not admin or escalation"),
    _q(CK + "terraform/checks/resource/aws/example_IAMManagedAdminPolicy", "AWS IAM privileges",
       PRIV, skip=[("aws_ssoadmin_managed_policy_attachment.fail6", SSO)]),
    _q(CK + "terraform/checks/resource/aws/example_IAMPermissionsManagement",
       "AWS IAM privileges", PRIV),
    _q(CK + "terraform/checks/resource/aws/example_IAMPolicyAttachedToGroupOrRoles",
       "out of scope", note="attachment style (user vs group), not what is granted"),
    _q(CK + "terraform/checks/resource/aws/example_IAMPrivilegeEscalation", "AWS IAM privileges",
       PRIV, fail=["aws_iam_policy.privilege_escalation"], passing=["aws_iam_policy.passing"]),
    _q(CK + "terraform/checks/resource/aws/example_IAMRoleAllowAssumeFromAccount",
       "out of scope", note="trusting a whole account (`:root`) is the AWS default pattern; "
                            "NHI302 reports a widened trust on change"),
    _q(CK + "terraform/checks/resource/aws/example_IAMStarResourcePolicyDocument",
       "out of scope", note="any action on `Resource: *` that is neither admin nor escalation"),
    _q(CK + "terraform/checks/resource/aws/example_IAMUserNotUsedForAccess", "out of scope",
       note="prefers SSO over every IAM user: an organisational policy"),
    _q(CK + "terraform/checks/resource/aws/example_IAMUserRootAccessKeys", "static credentials",
       ("NHI303",)),
    _q(CK + "terraform/checks/resource/aws/example_IAMWriteAccess", "out of scope",
       note="unconstrained Write access that is neither admin nor escalation"),
    _q(CK + "terraform/checks/resource/aws/example_LambdaEnvironmentCredentials",
       "hardcoded credentials", ("NHI401",)),
    _q(CK + "terraform/checks/resource/aws/example_SecretManagerSecret90days", "out of scope",
       note="rotation schedule of a Secrets Manager secret is not modelled"),
    _q(CK + "terraform/checks/resource/aws/example_SecretManagerSecretEncrypted",
       "out of scope", note="encryption-at-rest configuration"),
    _q(CK + "terraform/checks/resource/azure/example_ACRAdminAccountDisabled", "out of scope",
       note=OUT_WORKLOAD),
    _q(CK + "terraform/checks/resource/azure/example_AKSLocalAdminDisabled", "out of scope",
       note=OUT_WORKLOAD),
    _q(CK + "terraform/checks/resource/azure/example_AppServiceIdentity", "out of scope",
       note=OUT_WORKLOAD),
    _q(CK + "terraform/checks/resource/azure/example_AzureSearchManagedIdentity",
       "out of scope", note=OUT_WORKLOAD),
    _q(CK + "terraform/checks/resource/azure/example_GithubActionsOIDCTrustPolicy",
       "CI OIDC trust", ("NHI317",)),
    _q(CK + "terraform/checks/resource/azure/example_StorageLocalUsers", "out of scope",
       note="storage SFTP local users: a data-plane login setting"),
    _q(CK + "terraform/checks/resource/azure/example_SynapseWorkspaceAdministratorLoginPassword"
            "Hidden", "out of scope", note="database admin login: human access"),
    _q(CK + "terraform/checks/resource/azure/example_VMDisablePasswordAuthentication",
       "out of scope", note="VM password login: human access"),
    _q(CK + "terraform/checks/resource/gcp/example_GithubActionsOIDCTrustPolicy", "CI OIDC trust",
       ("NHI317",), skip=[(f"google_iam_workload_identity_pool_provider.{n}", CEL)
                          for n in ("fail2", "fail_wildcard", "fail_wildcard_assertion",
                                    "fail_misused_repo")]),
    _q(CK + "terraform/checks/resource/gcp/example_GoogleComputeDefaultServiceAccount",
       "out of scope", note=OUT_DEFAULT_SA),
    _q(CK + "terraform/checks/resource/gcp/example_GoogleComputeDefaultServiceAccountFullAccess",
       "out of scope", note=OUT_DEFAULT_SA),
    _q(CK + "terraform/checks/resource/gcp/example_GoogleFolderBasicRole", "GCP IAM", PRIV,
       fail=_basic("folder", FAIL_ROLES), passing=_basic("folder", PASS_ROLES)),
    _q(CK + "terraform/checks/resource/gcp/example_GoogleIAMWorkloadIdentityConditional",
       "CI OIDC trust", ("NHI317",)),
    _q(CK + "terraform/checks/resource/gcp/example_GoogleOrgBasicRole", "GCP IAM", PRIV,
       fail=_basic("organization", FAIL_ROLES), passing=_basic("organization", PASS_ROLES)),
    _q(CK + "terraform/checks/resource/gcp/example_GoogleProjectBasicRole", "GCP IAM", PRIV,
       fail=_basic("project", FAIL_ROLES), passing=_basic("project", PASS_ROLES)),
    _q(CK + "terraform/checks/resource/github/example_SecretsEncrypted", "hardcoded credentials",
       ("NHI401",)),
    _q(CK + "terraform/checks/resource/gitlab/example_PreventSecretsEnabled", "out of scope",
       note="GitLab project push-rule setting"),
    _q(CK + "terraform/checks/resource/kubernetes/example_DefaultServiceAccount",
       "out of scope", note=OUT_DEFAULT_SA),
    _q(CK + "terraform/checks/resource/kubernetes/example_DefaultServiceAccountBinding",
       "out of scope", note=OUT_DEFAULT_SA),
    _q(CK + "terraform/checks/resource/kubernetes/example_Secrets", "out of scope",
       note="how a pod consumes a Secret, not where secret material is stored"),
    _q(CK + "terraform/checks/resource/kubernetes/example_WildcardRoles", "Kubernetes RBAC",
       PRIV),
    _q(CK + "terraform/graph/checks/resources/EC2InstanceHasIAMRoleAttached", "out of scope",
       note=OUT_WORKLOAD),
    _q(CK + "terraform/graph/checks/resources/GKEClustersAreNotUsingDefaultServiceAccount",
       "out of scope", note=OUT_DEFAULT_SA),
    _q(CK + "terraform/graph/checks/resources/IAMGroupHasAtLeastOneUser", "out of scope",
       note="IAM group hygiene: a group is not an NHI"),
    _q(CK + "terraform/graph/checks/resources/IAMManagedIAMFullAccessPolicy",
       "AWS IAM privileges", PRIV,
       skip=[("aws_iam_policy.name_fail1", LOOKUP), ("aws_iam_policy.arn_fail2", LOOKUP),
             ("aws_ssoadmin_managed_policy_attachment.fail8", SSO)]),
    _q(CK + "terraform/graph/checks/resources/IAMPolicyNotAllowFullIAMAccess",
       "AWS IAM privileges", PRIV, skip=[("aws_ssoadmin_permission_set_inline_policy.fail1",
                                           SSO)]),
    _q(CK + "terraform/graph/checks/resources/IAMUserHasNoConsoleAccess", "out of scope",
       note=OUT_HUMAN),
    _q(CK + "terraform/graph/checks/resources/IAMUsersAreMembersAtLeastOneGroup",
       "out of scope", note="IAM group hygiene: a group is not an NHI"),
    _q(CK + "terraform/graph/checks/resources/SecretsAreRotated", "out of scope",
       note="rotation schedule of a Secrets Manager secret is not modelled"),
    _q(CK + "terraform/graph/checks/resources/ServiceAccountHasGCPmanagedKey",
       "static credentials", ("NHI303",)),
    # --------------------------------------------------------- Checkov Kubernetes checks
    _q(CK + "kubernetes/checks/example_RbacApproveCertificateSigningRequests",
       "Kubernetes RBAC", PRIV),
    _q(CK + "kubernetes/checks/example_RbacBindRoleBindings", "Kubernetes RBAC", PRIV),
    _q(CK + "kubernetes/checks/example_RbacControlWebhooks", "Kubernetes RBAC", PRIV),
    _q(CK + "kubernetes/checks/example_RbacEscalateRoles", "Kubernetes RBAC", PRIV),
    _q(CK + "kubernetes/checks/example_WildcardRoles", "Kubernetes RBAC", PRIV),
    _q(CK + "kubernetes/checks/example_DefaultServiceAccount", "Kubernetes workloads",
       ("NHI321",), "a `default` ServiceAccount that does not disable automounting"),
    _q(CK + "kubernetes/checks/example_DefaultServiceAccountBinding", "out of scope",
       note=OUT_DEFAULT_SA),
    _q(CK + "kubernetes/checks/example_ServiceAccountTokens", "Kubernetes workloads",
       WORKLOAD_SA, "token automounted (default account: NHI321; named: NHI322)"),
    _q(CK + "kubernetes/checks/example_Secrets", "out of scope",
       note="how a pod consumes a Secret, not where secret material is stored"),
    _q(CK + "kubernetes/checks/example_ApiServerServiceAccountKeyFile", "out of scope",
       note="kube-apiserver flags: cluster component configuration"),
    _q(CK + "kubernetes/checks/example_ApiServerTokenAuthFile", "out of scope",
       note="kube-apiserver flags: cluster component configuration"),
    _q(CK + "kubernetes/checks/example_KubeControllerManagerServiceAccountCredentials",
       "out of scope", note="kube-controller-manager flags: cluster component configuration"),
    _q(CK + "kubernetes/checks/example_KubeControllerManagerServiceAccountPrivateKeyFile",
       "out of scope", note="kube-controller-manager flags: cluster component configuration"),
)


# ----------------------------------------------------------------------- running nhi-gate

@dataclass(frozen=True)
class Scan:
    """nhi-gate's result on one file: identities (not secret facets; a workload's
    service-account facet, whose `derived_from` is its own address, counts) and findings."""

    identities: tuple[IdentityObject, ...]
    findings: tuple[Finding, ...]


_CACHE: dict[str, Scan] = {}


def scan(corpus: Path, rel: str) -> Scan:
    """Run parse_sources + run_rules (scan mode) on one corpus file, cached by path."""
    if rel not in _CACHE:
        src = SourceFile(rel, (corpus / rel).read_bytes())
        config = Config()
        parsed = parse_sources([src], load_catalogue(), config, prefilter=False, workers=1)
        verdict, ids = run_rules(parsed, Parsed((), ()), mode="scan", config=config,
                                 changeset=ChangeSet(None, None), provenance={})
        _CACHE[rel] = Scan(tuple(o for o in ids if o.derived_from in (None, o.address)),
                           tuple(verdict.findings))
    return _CACHE[rel]


# ---------------------------------------------------------------------------- ground truth

def _kics(corpus: Path, q: Query) -> tuple[list[Expected], list[str]]:
    test = corpus / q.path / "test"
    samples = sorted(p.name for p in test.iterdir() if p.suffix in (".tf", ".yaml", ".yml"))
    positives = [n for n in samples if n.startswith("positive")]
    negatives = [f"{q.path}/test/{n}" for n in samples if n.startswith("negative")]
    expected: list[Expected] = []
    for item in json.loads((test / "positive_expected_result.json").read_text()):
        name = item.get("fileName") or positives[0]
        line = int(item["line"])
        expected.append(Expected(f"{q.path}/test/{name}", line, line))
    return list(dict.fromkeys(expected)), negatives


_BLOCK = re.compile(r'^(resource|data)\s+"([^"]+)"\s+"([^"]+)"\s*\{', re.M)


def _blocks(text: str) -> Iterator[tuple[str, int, int]]:
    """(`type.name`, start line, end line) of each top-level resource/data block."""
    for m in _BLOCK.finditer(text):
        start = text.count("\n", 0, m.start()) + 1
        depth, i = 0, m.end() - 1
        while i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        yield f"{m.group(2)}.{m.group(3)}", start, text.count("\n", 0, i) + 1


def _checkov(corpus: Path, q: Query) -> tuple[list[Expected], list[Expected]]:
    folder = corpus / q.path
    if q.path.startswith(CK + "kubernetes/"):
        files = sorted(p.name for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
        pos = [Expected(f"{q.path}/{n}", 0, 0) for n in files if "FAILED" in n.upper()]
        neg = [Expected(f"{q.path}/{n}", 0, 0) for n in files if "PASSED" in n.upper()]
        return pos, neg
    fail: set[str] | None = set(q.fail) if q.fail else None
    passing: set[str] = set(q.passing)
    if (folder / "expected.yaml").is_file():
        data = yaml.safe_load((folder / "expected.yaml").read_text()) or {}
        fail, passing = set(data.get("fail") or ()), set(data.get("pass") or ())
    pos, neg = [], []
    for tf in sorted(folder.glob("*.tf")):
        rel = f"{q.path}/{tf.name}"
        for address, start, end in _blocks(tf.read_text()):
            name = address.split(".", 1)[1].lower()
            is_fail = address in fail if fail is not None else "fail" in name
            is_pass = address in passing if fail is not None else "pass" in name
            if is_fail:
                pos.append(Expected(rel, start, end, address))
            elif is_pass:
                neg.append(Expected(rel, start, end, address))
    return pos, neg


# --------------------------------------------------------------------------------- judging

def judge(corpus: Path, q: Query, e: Expected) -> Outcome:
    """Whether nhi-gate found an identity at `e` and a finding of `q.rules` there."""
    result = scan(corpus, e.file)
    where = {o.address: o.location for o in result.identities}
    if e.line == 0:
        hits = [f for f in result.findings if f.rule_id in q.rules]
        ident = bool(result.identities)
        return Outcome(e, ident, "file" if hits else "",
                       tuple(sorted({f.rule_id for f in result.findings})))
    lo, hi = e.line, e.end
    text = (corpus / e.file).read_text()
    block = e.address or next((a for a, b0, b1 in _blocks(text) if b0 <= lo <= b1), "")
    ident = any(o.location.start_line <= hi and lo <= o.location.end_line
                for o in result.identities)
    how = ""
    for f in result.findings:
        if f.rule_id not in q.rules:
            continue
        if f.location.start_line == e.line:
            how = "line"
            break
        loc = where.get(f.address or "")
        in_block = lo <= f.location.start_line <= hi
        in_identity = loc is not None and loc.start_line <= lo <= loc.end_line
        if in_block or in_identity or (
                e.address and (f.address or "").removeprefix("data.") == e.address):
            how = how or "range"
        elif block and _refers(result, text, f.address or "", block):
            how = how or "reference"
    near = {f.rule_id for f in result.findings
            if (where.get(f.address or "") or f.location).start_line <= hi
            and lo <= (where.get(f.address or "") or f.location).end_line}
    return Outcome(e, ident, how, tuple(sorted(near)))


def _refers(result: Scan, text: str, address: str, block: str) -> bool:
    """True when the identity at `address` is attached to `block`, the user, group or role the
    peer reports on: it references it, its source text names it (groups are not identities,
    so not in `references`), or an attachment references both."""
    lines = text.splitlines()
    for o in result.identities:
        refs = {r.removeprefix("data.") for r in o.references}
        if o.address == address:
            body = "\n".join(lines[o.location.start_line - 1:o.location.end_line])
            if block in refs or f"{block}." in body:
                return True
        elif block in refs and address in refs:
            return True
    return False


def false_findings(corpus: Path, q: Query, negatives: Sequence[Expected | str]) -> list[str]:
    """`file:line rule` for each mapped-rule finding on a negative sample."""
    out: list[str] = []
    for neg in negatives:
        if isinstance(neg, str):
            rel, lo, hi = neg, 1, 10**9
        else:
            rel, lo, hi = neg.file, (neg.line or 1), (neg.end or 10**9)
        for f in scan(corpus, rel).findings:
            if f.rule_id in q.rules and lo <= f.location.start_line <= hi:
                out.append(f"{Path(rel).name}:{f.location.start_line} {f.rule_id}")
    return out


@dataclass(frozen=True)
class QueryResult:
    query: Query
    outcomes: tuple[Outcome, ...]
    negatives: int
    false: tuple[str, ...]


def measure(corpus: Path) -> list[QueryResult]:
    results: list[QueryResult] = []
    for q in QUERIES:
        if not (corpus / q.path).is_dir():
            continue
        negs: Sequence[Expected | str]
        if q.path.startswith(K):
            pos, kneg = _kics(corpus, q)
            negs = kneg
        else:
            pos, cneg = _checkov(corpus, q)
            negs = cneg
        skips = dict(q.skip)
        pos = [e for e in pos
               if f"{Path(e.file).name}:{e.line}" not in skips and e.address not in skips]
        outcomes = tuple(judge(corpus, q, e) for e in pos)
        false = tuple(false_findings(corpus, q, negs)) if q.in_scope else ()
        results.append(QueryResult(q, outcomes, len(negs), false))
    return results


# --------------------------------------------------------------------------------- report

def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}%" if b else "n/a"


def _peer(path: str) -> str:
    parts = path.split("/")
    return "KICS " + parts[2] + ("/" + parts[3] if parts[2] == "terraform" else "") \
        if parts[1] == "kics" else "Checkov " + "/".join(parts[3:5])


def report(results: Sequence[QueryResult]) -> str:
    inscope = [r for r in results if r.query.in_scope]
    lines = ["# Peer recall: IAM, service accounts, RBAC, keys and certificates", "",
             "Generated by `python benchmarks/recall.py --write` (do not edit by hand). "
             "Each peer positive runs through nhi-gate's pipeline (scan mode); see the "
             "script's docstring for the ground truth and matching.", ""]
    tot = sum(len(r.outcomes) for r in inscope)
    hit = sum(1 for r in inscope for o in r.outcomes if o.how)
    ident = sum(1 for r in inscope for o in r.outcomes if o.identity)
    false = sum(len(r.false) for r in inscope)
    negs = sum(r.negatives for r in inscope)
    verdict = "meets" if tot and hit / tot >= TARGET else "below"
    lines += [f"**In-scope recall: {hit}/{tot} = {_pct(hit, tot)}** ({verdict} the "
              f"{TARGET:.0%} target) over {len(inscope)} queries/checks; identity found at "
              f"{ident}/{tot}. False findings on {negs} in-scope negative samples/blocks: "
              f"{false}. Out of scope: {len(results) - len(inscope)} queries/checks.", ""]
    lines += ["## Recall per family (in scope)", "",
              "| family | queries | positives | identity found | detected (line / range / "
              "reference / file) | missed | recall | false findings on negatives |",
              "|---|---|---|---|---|---|---|---|"]
    fams: dict[str, list[QueryResult]] = {}
    for r in inscope:
        fams.setdefault(r.query.family, []).append(r)
    for fam, rs in sorted(fams.items()):
        outs = [o for r in rs for o in r.outcomes]
        by = {h: sum(1 for o in outs if o.how == h)
              for h in ("line", "range", "reference", "file")}
        det = sum(by.values())
        lines.append(f"| {fam} | {len(rs)} | {len(outs)} | "
                     f"{sum(o.identity for o in outs)} | {det} ({by['line']} / {by['range']} "
                     f"/ {by['reference']} / {by['file']}) | {len(outs) - det} | "
                     f"{_pct(det, len(outs))} | "
                     f"{sum(len(r.false) for r in rs)} |")
    lines += ["", "## Recall per peer suite (in scope)", "",
              "| peer suite | positives | detected | recall |", "|---|---|---|---|"]
    peers: dict[str, list[Outcome]] = {}
    for r in inscope:
        peers.setdefault(_peer(r.query.path), []).extend(r.outcomes)
    for peer, outs in sorted(peers.items()):
        det = sum(1 for o in outs if o.how)
        lines.append(f"| {peer} | {len(outs)} | {det} | {_pct(det, len(outs))} |")
    lines += ["", "## In-scope queries", "",
              "| peer query/check | family | nhi-gate rules | positives | detected | "
              "misses (file:line, rules found there) | false findings |",
              "|---|---|---|---|---|---|---|"]
    for r in inscope:
        det = sum(1 for o in r.outcomes if o.how)
        misses = "; ".join(
            f"{Path(o.expected.file).name}:{o.expected.line or '-'}"
            f" ({','.join(o.found) or 'nothing'}{'' if o.identity else ', no identity'})"
            for o in r.outcomes if not o.how) or "-"
        lines.append(f"| `{r.query.path.split('/', 2)[2]}` | {r.query.family} | "
                     f"{', '.join(r.query.rules)} | {len(r.outcomes)} | {det} | {misses} | "
                     f"{'; '.join(r.false) or '-'} |")
    lines += ["", "## Peer positives not counted", "",
              "| peer query/check | positive | why |", "|---|---|---|"]
    for r in results:
        for where, why in r.query.skip:
            lines.append(f"| `{r.query.path.split('/', 2)[2]}` | {where} | {why} |")
    lines += ["", "## Out of scope", "",
              "| peer query/check | positives | reason |", "|---|---|---|"]
    for r in results:
        if not r.query.in_scope:
            lines.append(f"| `{r.query.path.split('/', 2)[2]}` | {len(r.outcomes)} | "
                         f"{r.query.note} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str]) -> int:
    args = [a for a in argv if a != "--write"]
    corpus = Path(args[0]) if args else Path(__file__).resolve().parents[2] / "shared" / "corpus"
    if not (corpus / "peer-suites").is_dir():
        print(f"error: {corpus}/peer-suites not found (pass the corpus directory)",
              file=sys.stderr)
        return 2
    text = report(measure(corpus))
    if "--write" in argv:
        (Path(__file__).resolve().parent / "RECALL.md").write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
