"""Which normalised grants are wildcard or administrator-equivalent (rule NHI301).

Admin-equivalent names (managed policies, basic roles, built-in roles, `cluster-admin`) are data
in `rules/privileges.yaml`, each with its source. Wildcards are judged here:
- AWS: action `*` on anything; `<service>:*` on resource `*`; an Allow with `NotAction` on `*`
  (allows everything not listed). See https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
- Kubernetes: verb `*`, or resource `*` in any API group (`<group>/*`).
  See https://kubernetes.io/docs/concepts/security/rbac-good-practices/#minimise-wildcard-permissions
- GitHub Actions: `permissions: write-all` (`*:write`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from checker.catalogue import load_pack, rules_dir
from checker.model import Grant, IdentityObject


@dataclass(frozen=True)
class AdminGrant:
    """A grant judged admin-equivalent, and why (one short phrase)."""

    grant: Grant
    why: str


@functools.lru_cache(maxsize=2)
def load_admin_table(directory: Path | None = None) -> Mapping[tuple[str, str], str]:
    """(platform, action) -> why, from `rules/privileges.yaml`. Raises `RulePackError`."""
    data = load_pack((directory or rules_dir()) / "privileges.yaml", "privileges")
    return {(item["platform"], item["action"]): item["why"] for item in data["admin"]}


def _wildcard_reason(platform: str, grant: Grant) -> str | None:
    action, resource = grant.action, grant.resource
    if platform == "kubernetes":
        name = resource.rsplit("/", 1)[-1]
        if action == "*" and name == "*":
            return "every verb on every resource"
        if action == "*":
            return f"every verb on {name}"
        if name == "*" and not action.startswith(("ClusterRole/", "Role/")):
            return f"{action} on every resource"
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


def admin_grants(obj: IdentityObject, table: Mapping[tuple[str, str], str]) -> list[AdminGrant]:
    """The allow grants of `obj` that are wildcard or admin-equivalent, in source order.

    Kubernetes bindings whose subjects include `Group/system:masters` count as admin too (that
    group bypasses RBAC).
    """
    out: list[AdminGrant] = []
    for grant in obj.privileges:
        if grant.effect != "allow":
            continue
        why = table.get((obj.platform, grant.action)) or _wildcard_reason(obj.platform, grant)
        if why:
            out.append(AdminGrant(grant, why))
    for ref in obj.references:
        why = table.get((obj.platform, ref))
        if why and obj.kind == "role_binding":
            line = obj.attribute_lines.get("subjects")
            out.append(AdminGrant(Grant(action=ref, resource="*", line=line), why))
    return out
