"""What a Kubernetes service account, an AWS IAM role or a GCP service account may do, as far
as the identities of one run show it. For a service account: the RoleBindings and
ClusterRoleBindings that name it as a subject, and the rules of the Roles and ClusterRoles they
bind. For a role (`aws_iam_role.x`): its own grants and those of the policies and attachments
that reference it; for a GCP service account, the IAM bindings that name it. For
`checker.checks.workloads`, which compares the identity a workload ran as at base with the one
it runs as at head.

Only the objects nhi-gate parsed in the run are seen (in `check` mode, the changed files at
base and head), so an account with no binding among them is *unknown*, never "no access": a
binding elsewhere in the cluster or repository may grant it anything. Sources:
https://kubernetes.io/docs/reference/access-authn-authz/rbac/ (a RoleBinding grants a Role's
or ClusterRole's rules inside its namespace; a ClusterRoleBinding grants a ClusterRole's rules
in every namespace); https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html
(a role's permissions are its inline policies and the managed policies attached to it).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from checker.model import IdentityObject
from checker.policy.privileges import admin_grants

#: Grants that allow every action on every resource of their scope, so they cover any other:
#: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AdministratorAccess.html
#: (`"Action": "*"` on `"*"`) and the `cluster-admin` ClusterRole (every verb on every
#: resource: https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles).
_ALL_ACCESS = frozenset({"arn:aws:iam::aws:policy/AdministratorAccess",
                         "ClusterRole/cluster-admin"})
_BINDINGS = frozenset({"RoleBinding", "ClusterRoleBinding"})
_ROLES = frozenset({"Role", "ClusterRole"})
_PROFILE = "aws_iam_instance_profile."
#: What attaches a customer-managed policy (`aws_iam_policy`) to roles, users and groups:
#: https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_role_policy_attachment
#: (and `iam_user_policy_attachment`, `iam_group_policy_attachment`, `iam_policy_attachment`).
_ATTACHMENTS = frozenset({"aws_iam_role_policy_attachment", "aws_iam_user_policy_attachment",
                          "aws_iam_group_policy_attachment", "aws_iam_policy_attachment"})
_PRINCIPALS = ("aws_iam_role.", "aws_iam_user.", "aws_iam_group.")


@dataclass(frozen=True)
class AccountAccess:
    """What the bindings of one run grant a service account.

    `roles`: each bound role as `<roleRef kind>/<name> in <scope>` (`*` for every namespace),
    sorted; `grants`: (verb, `<apiGroup>/<resource>`, scope) for each rule of a bound role
    parsed in the run, and (roleRef, `(rules not in the change)`, scope) for a role that was
    not; `admin`: why a bound role or binding is admin-equivalent or a wildcard
    (`policy.privileges.admin_grants`), sorted.
    """

    roles: tuple[str, ...]
    grants: frozenset[tuple[str, str, str]]
    admin: tuple[str, ...]


def account_access(account: str, objects: Sequence[IdentityObject],
                   table: Mapping[tuple[str, str], str]) -> AccountAccess | None:
    """What `objects` grant `account` (`ServiceAccount/<ns>/<name>`, as a binding subject is
    written in `IdentityObject.references`), or None when no binding among them names it.
    `table` is the admin table (`policy.privileges.load_admin_table()`)."""
    roles = {o.address: o for o in objects
             if o.platform == "kubernetes" and o.type in _ROLES and o.derived_from is None}
    bindings = [o for o in objects if o.platform == "kubernetes" and o.type in _BINDINGS
                and account in o.references]
    if not bindings:
        return None
    names: set[str] = set()
    grants: set[tuple[str, str, str]] = set()
    admin: set[str] = set()
    for binding in bindings:
        admin.update(f"{a.grant.action} ({a.why})" for a in admin_grants(binding, table))
        for grant in binding.privileges:
            scope = grant.resource
            names.add(f"{grant.action} in {'every namespace' if scope == '*' else scope}")
            role = roles.get(_role_address(grant.action, scope))
            if role is None:
                grants.add((grant.action, "(rules not in the change)", scope))
                continue
            admin.update(f"{grant.action}: {a.grant.action} on {a.grant.resource} ({a.why})"
                         for a in admin_grants(role, table))
            grants.update((g.action, g.resource, scope) for g in role.privileges
                          if g.effect == "allow")
    return AccountAccess(tuple(sorted(names)), frozenset(grants), tuple(sorted(admin)))


def role_access(role: str, objects: Sequence[IdentityObject],
                table: Mapping[tuple[str, str], str]) -> AccountAccess | None:
    """What `objects` grant the cloud identity `role` (a catalogued address: an AWS role,
    `aws_iam_role.app`; a GCP service account, `google_service_account.app`; an Azure managed
    identity, `azurerm_user_assigned_identity.app`): its own grants
    and those of each policy, attachment or IAM binding that references it; None when it is not
    among them (a literal ARN or email, an identity defined elsewhere). An EC2 instance profile
    (`aws_iam_instance_profile.web`) stands for the roles it references (what its instances run
    as: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2_instance-profiles.html)."""
    if role.startswith(_PROFILE):
        profile = next((o for o in objects if o.address == role and o.derived_from is None), None)
        roles = [r for r in profile.references if r.startswith("aws_iam_role.")] if profile else []
        seen = [role_access(r, objects, table) for r in roles]
        if not seen or None in seen:
            return None
        return AccountAccess(tuple(sorted({n for a in seen if a for n in a.roles})),
                             frozenset().union(*(a.grants for a in seen if a)),
                             tuple(sorted({w for a in seen if a for w in a.admin})))
    found = [o for o in objects if o.platform in ("aws", "gcp", "azure")
             and o.derived_from is None and (
        o.address == role or (o.kind in ("policy", "role_binding") and role in o.references))]
    if not any(o.address == role for o in found):
        return None
    grants = {(g.action, g.resource, "") for o in found for g in o.privileges
              if g.effect == "allow"}
    admin = {f"{a.grant.action} ({a.why})" for o in found for a in admin_grants(o, table)}
    return AccountAccess(tuple(sorted(o.address for o in found)), frozenset(grants),
                         tuple(sorted(admin)))


def _role_address(role_ref: str, scope: str) -> str:
    """The address of the role a binding's roleRef (`ClusterRole/x`, `Role/x`) names: a Role
    lives in the binding's namespace."""
    kind, _, name = role_ref.partition("/")
    return f"Role/{scope}/{name}" if kind == "Role" and scope != "*" else role_ref


def gained(new: AccountAccess, old: AccountAccess) -> list[str]:
    """What `new` grants that `old` does not, in words, sorted: admin reasons first, then
    (verb on resource in scope) triples no old grant covers (the same grant, a `*` verb or
    resource, or an all-access grant (`_ALL_ACCESS`), in the same scope or every namespace)."""
    out = [f"admin: {why}" for why in new.admin if why not in old.admin]
    for verb, resource, scope in sorted(new.grants - old.grants):
        if any(s in (scope, "*") and (v in _ALL_ACCESS or (
                v in ("*", verb) and r in ("*", "*/*", resource))) for v, r, s in old.grants):
            continue
        where = "" if not scope else (
            " in every namespace" if scope == "*" else f" in {scope}")
        out.append(f"{verb} on {resource}{where}")
    return out


def switch_message(address: str, new: str, old: str, now: AccountAccess | None,
            before: AccountAccess | None, unseen: str, verb: str = "runs as") -> str | None:
    """The NHI302 message for a workload at `address` that now runs as `new` (what the run
    shows it may do: `now`) instead of `old` (`before`): what it gains, or that `new` could not
    be checked (`unseen` says why) or compared; None when `new` may do nothing `old` could
    not. `verb`: what `address` does with the role (an instance profile `hands out`)."""
    switched = f"{address} now {verb} {new} (was {old})"
    if now is None:
        return (f"{switched}: nhi-gate could not check what {new} may do: {unseen}; a human "
                "must check its privileges")
    if before is None:
        return (f"{switched}, granted {', '.join(now.roles) or 'nothing in the change'}"
                + (f" (admin: {'; '.join(now.admin)})" if now.admin else "")
                + f": nhi-gate could not compare it with {old}, which the change does not show")
    extra = gained(now, before)
    if not extra:
        return None
    shown = "; ".join(extra[:3]) + (f" and {len(extra) - 3} more" if len(extra) > 3 else "")
    return f"{switched}, which may do more: {shown}"


def policy_holders(policy: IdentityObject, objects: Sequence[IdentityObject]) -> str:
    """For a customer-managed AWS policy (`aws_iam_policy.app`): whom the attachments of its
    module among `objects` (the run's, with a module's unchanged files that name the policy:
    `sources.modules.uses_module_values`) attach it to, as a message tail (`; attached to
    aws_iam_role.app by aws_iam_role_policy_attachment.app (iam.tf:11)`), else ""."""
    if policy.type != "aws_iam_policy":
        return ""
    module = posixpath.dirname(policy.location.path)
    found = [f"{', '.join(r for r in o.references if r.startswith(_PRINCIPALS)) or 'a principal'}"
             f" by {o.address} ({o.location.path}:{o.location.start_line})" for o in objects
             if o.type in _ATTACHMENTS and o.derived_from is None and policy.address in
             o.references and posixpath.dirname(o.location.path) == module]
    return f"; attached to {'; '.join(sorted(set(found)))}" if found else ""
