"""Whether one set of grants covers another: what `checker.checks.drift` compares base and
head by. A grant is covered by a base allow grant whose resource (an IAM-style glob; on Azure
also a scope at or above it) and action (a glob, a GCP basic role, an admin or full-access
built-in role, an AWS action pattern) include it, and whose IAM conditions it keeps. An
Argo CD destination with a negated field (`!<pattern>`) covers the values it does not
exclude, and a deny destination base had is dropped only when a head destination may reach
what it denied.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from checker.checks.trust_drift import glob
from checker.model import Grant, IdentityObject
from checker.policy import aws_iam as iam
from checker.policy.arn_environment import align
from checker.policy.roles import role_covers

__all__ = ["dropped_denies", "gained_grants", "lifted_conditions"]


#: GCP basic roles, each with the basic roles it includes: owner > editor > viewer. Source:
#: https://cloud.google.com/iam/docs/roles-overview#basic
_GCP_BASIC = {"roles/owner": ("roles/editor", "roles/viewer"), "roles/editor": ("roles/viewer",)}
#: An Argo CD AppProject destination grant (`parsers/kubernetes/gitops.py`).
_DESTINATION = "argocd:destination"
#: A Kubernetes RBAC rule grant on one named object (`parsers/kubernetes/rbac.py`:
#: `<apiGroup>/<resource>[/<subresource>]:<resourceName>`); group 1 is the unnamed resource.
_RBAC_NAMED = re.compile(r"^([^/:]*/[^:]+):.+$")


def _resource_covered(platform: str, resource: str, wide: str) -> bool:
    """True when `wide` covers `resource`: as an IAM-style glob, or, on Azure, as a scope at or
    above it (a role assigned at a scope applies to every scope below it; path segments
    compared case-insensitively), or, on Kubernetes, a rule on every object of a resource
    (`/configmaps`) covering one named object (`/configmaps:app-config`: `resourceNames`
    only restrict a rule). Sources:
    https://learn.microsoft.com/azure/role-based-access-control/scope-overview,
    https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources"""
    if glob(resource, wide):
        return True
    named = _RBAC_NAMED.match(resource) if platform == "kubernetes" else None
    if named and glob(named.group(1), wide):
        return True  # a rule on every object of the resource covers one named object
    if platform == "kubernetes" and "!" in wide:
        return _negation_covers(resource, wide)
    if platform != "azure" or not wide.startswith("/") or not resource.startswith("/"):
        return False
    outer = [p for p in wide.casefold().split("/") if p]
    inner = [p for p in resource.casefold().split("/") if p]
    return len(outer) <= len(inner) and inner[:len(outer)] == outer


def _negation_covers(resource: str, wide: str) -> bool:
    """True when `wide`, an Argo CD destination with a negated field (`<server>/!<ns>`,
    `!<server>/<ns>`: every value but those the negated pattern matches), covers `resource`,
    field by field (`_field_covered`). Source:
    https://argo-cd.readthedocs.io/en/stable/user-guide/projects/#configuring-rbac-with-projects
    """
    where, _, namespace = wide.rpartition("/")
    res_where, _, res_namespace = resource.rpartition("/")
    return _field_covered(res_where, where) and _field_covered(res_namespace, namespace)


def _literal(value: str) -> bool:
    return bool(value) and not any(c in value for c in "*?[!")


def _field_covered(value: str, wide: str) -> bool:
    """True when the destination field pattern `wide` matches every value `value` matches: a
    negated `!<p>` covers a literal it does not match, and a negated `!<q>` when `<p>` is
    within `<q>`; anything else as a glob."""
    if not wide.startswith("!"):
        return glob(value, wide)
    if value.startswith("!"):
        return glob(wide[1:], value[1:])
    return _literal(value) and not glob(value, wide[1:])


def _may_meet(value: str, other: str, where: bool) -> bool:
    """False only when destination field patterns `value` and `other` provably match no
    common value: two different literals, or a literal the other pattern does not match. In
    the `where` field a server URL and a cluster name may name the same cluster: they may
    always meet."""
    if where and ("://" in value) != ("://" in other):
        return True
    if _literal(value) and _literal(other):
        return value == other
    if _literal(value):
        return _field_covered(value, other)
    if _literal(other):
        return _field_covered(other, value)
    return True


def _reached(deny: Grant, head: IdentityObject) -> bool:
    """True unless `deny` is an Argo CD deny destination (`parsers/kubernetes/gitops.py`) that
    no allow destination of `head` may reach: dropping it then widens nothing."""
    if deny.action != _DESTINATION or head.platform != "kubernetes":
        return True
    where, _, namespace = deny.resource.rpartition("/")
    for allow in head.privileges:
        if allow.effect != "allow" or allow.action != _DESTINATION:
            continue
        a_where, _, a_namespace = allow.resource.rpartition("/")
        if _may_meet(a_where, where, True) and _may_meet(a_namespace, namespace, False):
            return True
    return False


def _action_covered(platform: str, grant: Grant, wides: Sequence[Grant]) -> bool:
    """True when the allow grants `wides` (same resource coverage) allow `grant`'s action."""
    if grant.not_action:
        return any(w.not_action and w.action == grant.action for w in wides) or any(
            not w.not_action and w.action == "*" for w in wides
        )
    actions = [w.action for w in wides if not w.not_action]
    if any(glob(grant.action, a) for a in actions):
        return True
    if platform == "gcp" and any(grant.action in _GCP_BASIC.get(a, ()) for a in actions):
        return True
    if any(role_covers(platform, a, grant.action) for a in actions):
        return True  # an admin or full-access built-in role covers the narrower role
    if platform == "aws" and ":" in grant.action and actions:
        return iam.covers_any(actions, grant.action)
    return False


def gained_grants(head: IdentityObject, base: IdentityObject) -> list[Grant]:
    """Allow grants of `head` that `base`'s allow grants do not cover, in source order. A base
    grant covers only grants that keep each of its IAM conditions (`Grant.conditions`): the
    same action with a condition removed is gained. The partition, region and account id of an
    ARN compare equal written literally or as their data sources (`arn_environment.align`)."""
    base_allows = [g for g in base.privileges if g.effect == "allow"]
    out: list[Grant] = []
    for grant in head.privileges:
        if grant.effect != "allow":
            continue
        wides = [b for b in base_allows if _resource_covered(
            head.platform, align(grant.resource, b.resource), b.resource)
                 and set(b.conditions) <= set(grant.conditions)]
        if not _action_covered(head.platform, grant, wides) and not any(
                _action_covered(head.platform, replace(grant, action=align(
                    grant.action, w.action)), [w])
                for w in wides if "${" in grant.action + w.action):
            out.append(grant)
    return out


def lifted_conditions(grant: Grant, base: IdentityObject) -> list[str]:
    """The IAM conditions a gained `grant` no longer has: those of the base allow grants that
    would cover it but for their conditions (sorted, unique)."""
    wides = [b for b in base.privileges if b.effect == "allow" and b.conditions
             and glob(grant.resource, b.resource)]
    lifted = {c for b in wides if _action_covered("", grant, [replace(b, conditions=())])
              for c in b.conditions if c not in grant.conditions}
    return sorted(lifted)


def dropped_denies(head: IdentityObject, base: IdentityObject) -> list[Grant]:
    """Deny grants of `base` with no deny at head on the same action and resource whose
    conditions are among base's (line numbers ignored): a deny that gained a condition
    applies less, so it counts as dropped. An Argo CD deny destination no allow destination
    of `head` may reach is not (`_reached`): what it denied stays out of reach."""
    keep = [g for g in head.privileges if g.effect == "deny"]
    return [g for g in base.privileges if g.effect == "deny" and not any(
        (k.action, k.resource, k.not_action) == (g.action, g.resource, g.not_action)
        and set(k.conditions) <= set(g.conditions) for k in keep) and _reached(g, head)]
