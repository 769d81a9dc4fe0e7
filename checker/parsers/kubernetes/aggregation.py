"""A ClusterRole's aggregation labels: whom its rules reach besides its own bindings.

The built-in `admin`, `edit` and `view` ClusterRoles carry an `aggregationRule` that selects
every ClusterRole labelled `rbac.authorization.k8s.io/aggregate-to-<role>: "true"`, and the
control plane copies the selected roles' rules into them: a label adds the rules to every
holder of that role, removing it takes them away. Recorded as `IdentityObject.bound` entries
`holders of ClusterRole/<role> (aggregate-to-<role>)` (fewer is a narrowing:
`checker.checks.drift.narrows`, which compares them as `bound`, not as metadata); the labels
leave the ClusterRole's frame digest (`digest.role_frame_digest`). Source:
https://kubernetes.io/docs/reference/access-authn-authz/rbac/#aggregated-clusterroles
"""

from __future__ import annotations

from yaml.nodes import Node

from checker.safeyaml import get, items, scalar_text

#: The label prefix the built-in aggregating ClusterRoles select.
AGGREGATE_PREFIX = "rbac.authorization.k8s.io/aggregate-to-"


def is_aggregation_label(key: str) -> bool:
    """True for an `aggregate-to-<role>` label key."""
    return key.startswith(AGGREGATE_PREFIX)


def aggregated_into(meta: Node | None, kind: str) -> tuple[str, ...]:
    """The `bound` entries of a ClusterRole's `metadata` (module doc), sorted; () for other
    kinds and labels whose value is not `"true"`."""
    if kind != "ClusterRole":
        return ()
    found = {key.removeprefix(AGGREGATE_PREFIX) for key, _, value in items(get(meta, "labels"))
             if is_aggregation_label(key) and (scalar_text(value) or "").lower() == "true"}
    return tuple(f"holders of ClusterRole/{role} (aggregate-to-{role})" for role in sorted(found))
