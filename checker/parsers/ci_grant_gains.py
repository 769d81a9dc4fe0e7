"""What a CI grant command gains when its grant is not in its words (`gained`), and the command
as a finding may show it (`shown`), for the NHI106 entry `checker.parsers.ci_grants` makes of it.

Each command below widens access in a way nhi-gate cannot compute from the script (the role
an existing binding holds, what an aggregating ClusterRole selects, the policies a role keeps
once its boundary is gone, a repository's collaborators), so an agent's step that runs one
fails closed (NHI106, with NHI101), naming the command and what it gains. Sources, one page
per family:
- kubectl `set subject`, `set serviceaccount`, `label`, `annotate`, `patch`, `auth reconcile`:
  https://kubernetes.io/docs/reference/kubectl/generated/kubectl_set/kubectl_set_subject/,
  .../kubectl_set/kubectl_set_serviceaccount/, .../kubectl_label/, .../kubectl_annotate/,
  .../kubectl_patch/, .../kubectl_auth/kubectl_auth_reconcile/; aggregated ClusterRoles
  (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#aggregated-clusterroles);
  workload identity annotations: EKS
  (https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html), GKE
  (https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity), Azure
  (https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html);
- aws: https://docs.aws.amazon.com/cli/latest/reference/iam/delete-role-permissions-boundary.html
  (and `put-`, `-user-`), .../iam/create-open-id-connect-provider.html,
  .../iam/add-client-id-to-open-id-connect-provider.html,
  .../iam/add-role-to-instance-profile.html, .../iam/upload-ssh-public-key.html,
  .../sso-admin/create-account-assignment.html, .../eks/create-access-entry.html,
  .../eks/associate-access-policy.html;
- gcloud: https://cloud.google.com/sdk/gcloud/reference/iam/roles/create (and `update`),
  https://cloud.google.com/sdk/gcloud/reference/iam/workload-identity-pools/providers/create-oidc;
- az: https://learn.microsoft.com/en-us/cli/azure/ad/app/permission,
  .../ad/app/owner, .../ad/app/federated-credential, .../identity/federated-credential,
  .../ad/group/member, .../role/definition#az-role-definition-update,
  .../keyvault#az-keyvault-set-policy;
- gh: https://cli.github.com/manual/gh_api (GET unless `-X` or a field makes it a POST) and the
  REST pages of what it writes (https://docs.github.com/en/rest/collaborators/collaborators,
  .../rest/teams/teams, .../rest/orgs/members, .../rest/deploy-keys/deploy-keys,
  .../rest/actions/secrets, .../rest/actions/permissions), https://cli.github.com/manual/gh_secret_set,
  https://cli.github.com/manual/gh_repo_deploy-key_add, https://cli.github.com/manual/gh_ssh-key_add.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: (platform, sub-command prefix, what it gains), first match wins; `label`/`annotate` are
#: told apart by their keys (`gained`).
GAINS: tuple[tuple[str, str, str], ...] = (
    ("kubernetes", "set subject", "adds subjects to an existing binding: they gain the role it "
                                  "binds, which the cluster holds"),
    ("kubernetes", "set serviceaccount", "runs a workload as another service account, whose "
                                         "access the cluster holds"),
    ("kubernetes", "set sa", "runs a workload as another service account, whose access the "
                             "cluster holds"),
    ("kubernetes", "patch", "patches RBAC or a service account in the cluster: what it grants "
                            "is the live object with the patch applied"),
    ("kubernetes", "auth reconcile", "creates or widens the RBAC objects of a manifest"),
    ("aws", "delete-", "removes a permissions boundary: the principal may do all its policies "
                       "allow"),
    ("aws", "put-role-permissions-boundary", "sets a permissions boundary whose policy is not "
                                             "read"),
    ("aws", "put-user-permissions-boundary", "sets a permissions boundary whose policy is not "
                                             "read"),
    ("aws", "create-open-id-connect-provider", "trusts a new identity provider for web-identity "
                                               "federation"),
    ("aws", "add-client-id", "trusts tokens of another audience from an identity provider"),
    ("aws", "add-role-to-instance-profile", "lets every instance launched with the profile run "
                                            "as the role"),
    ("aws", "upload-ssh-public-key", "adds an SSH key that signs in as the IAM user"),
    ("aws", "create-account-assignment", "grants a permission set in an AWS account (IAM "
                                         "Identity Center)"),
    ("aws", "attach-managed-policy-to-permission-set", "widens a permission set (IAM Identity "
                                                       "Center)"),
    ("aws", "attach-customer-managed-policy", "widens a permission set (IAM Identity Center)"),
    ("aws", "put-inline-policy-to-permission-set", "widens a permission set (IAM Identity "
                                                   "Center)"),
    ("aws", "create-access-entry", "gives an IAM principal access to an EKS cluster's API"),
    ("aws", "associate-access-policy", "grants an EKS access policy to an IAM principal"),
    ("gcp", "iam roles", "defines what a custom role permits"),
    ("gcp", "iam workload-identity-pools", "trusts an external identity provider (workload "
                                           "identity federation)"),
    ("azure", "ad app permission", "grants an application API permissions (admin consent: for "
                                   "the whole tenant)"),
    ("azure", "ad app owner", "makes a principal an owner of the application: it may add "
                              "credentials to it"),
    ("azure", "ad sp owner", "makes a principal an owner of the service principal: it may add "
                             "credentials to it"),
    ("azure", "ad app federated-credential", "trusts an external token issuer to act as the "
                                             "application"),
    ("azure", "identity federated-credential", "trusts an external token issuer to act as the "
                                               "managed identity"),
    ("azure", "ad group member", "adds a member to an Entra ID group: it gains the group's "
                                 "roles"),
    ("azure", "role definition update", "changes what a custom role permits"),
    ("azure", "keyvault set-policy", "grants a principal access to a key vault's keys, secrets "
                                     "or certificates"),
    ("github", "api", "changes GitHub access through the REST API: a collaborator, team or "
                      "member, a deploy or SSH key, a secret or the workflow token's "
                      "permissions"),
    ("github", "secret set", "writes a GitHub Actions, Dependabot or Codespaces secret"),
    ("github", "repo deploy-key", "adds a deploy key: access to the repository"),
    ("github", "ssh-key", "adds an SSH key to the GitHub account of the job's token"),
)
#: A label or annotation key that binds a service account to a cloud identity.
_WORKLOAD_KEYS = ("eks.amazonaws.com/role-arn", "iam.gke.io/gcp-service-account",
                  "azure.workload.identity/")
#: Options a shown command keeps: they name what it acts on, never secret material (a
#: `--body`, a `-f` field or a policy document is never shown).
_NAMING = frozenset({"role-name", "user-name", "group-name", "instance-profile-name",
                     "cluster-name", "principal-arn", "permission-set-arn", "target-id",
                     "clusterrole", "role", "serviceaccount", "user", "group", "n", "namespace",
                     "X", "method", "id", "assignee", "member-id", "env", "repo", "R", "org"})


def gained(platform: str, sub: str, words: Sequence[str]) -> str | None:
    """What grant sub-command `sub` of `platform` (`set subject`, `delete-role-permissions-
    boundary`) gains, in words, when `GAINS` lists it; None for one whose grant its words name
    (`attach-role-policy`) or that `ci_grants` reads otherwise. `words` are the command's words:
    a `label`/`annotate` gains a cloud identity through a workload-identity key, else it
    aggregates a ClusterRole's rules."""
    if platform == "kubernetes" and sub.startswith(("label", "annotate")):
        if any(key in word for word in words for key in _WORKLOAD_KEYS):
            return "binds a service account to a cloud identity (a workload-identity key)"
        return ("labels a ClusterRole: an aggregationRule selecting the label (such as "
                "`rbac.authorization.k8s.io/aggregate-to-admin`) adds its rules to that role")
    return next((what for p, prefix, what in GAINS if p == platform and sub.startswith(prefix)),
                None)


def shown(positional: Sequence[str], options: Mapping[str, str], limit: int = 8) -> str:
    """The command as a finding shows it: its first `limit` positional words (`kubectl set
    subject clusterrolebinding cluster-admin`, a `gh api` path) and its naming options
    (`--role-name app`), each word cut at 80 characters."""
    kept = [*positional[:limit], *(f"{'-' if len(k) == 1 else '--'}{k} {v}".strip()
                                   for k, v in options.items() if k in _NAMING)]
    return " ".join(w if len(w) <= 80 else w[:77] + "..." for w in kept)
