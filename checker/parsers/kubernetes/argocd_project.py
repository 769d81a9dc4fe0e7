"""An Argo CD `AppProject`'s resource allow and deny lists -> grants (platform `kubernetes`).

- `spec.clusterResourceWhitelist[]` -> `Grant("argocd:cluster-resource", "<group>/<kind>")`;
  none: the project may create no cluster-scoped resource (nothing is granted);
- `spec.namespaceResourceWhitelist[]` -> `Grant("argocd:namespace-resource",
  "<group>/<kind>")`; none (the field absent or empty): every namespaced resource,
  `Grant("argocd:namespace-resource", "*/*")` at the `spec` line;
- `spec.clusterResourceBlacklist[]` and `spec.namespaceResourceBlacklist[]` -> the same
  actions with `effect="deny"`: Argo CD refuses a kind a deny list matches even when an allow
  list does, so a deny list subtracts from the allow list, and removing an entry widens.

Groups and kinds are globs (`*`); the core group is written `""` (here: an empty group,
`/Service`). Source: https://argo-cd.readthedocs.io/en/stable/user-guide/projects/
(sections "Configuring RBAC With Projects" and "The Default Project").
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from yaml.nodes import MappingNode, Node

from checker.model import Grant
from checker.safeyaml import get, key_line, line_of, scalar_text, sequence

#: The project fields read here (its frame digest leaves them out).
LIST_FIELDS: tuple[tuple[str, ...], ...] = (
    ("spec", "clusterResourceWhitelist"), ("spec", "clusterResourceBlacklist"),
    ("spec", "namespaceResourceWhitelist"), ("spec", "namespaceResourceBlacklist"))
CLUSTER = "argocd:cluster-resource"
NAMESPACED = "argocd:namespace-resource"


def resource_list_grants(doc: MappingNode, spec: Node | None) -> Iterator[Grant]:
    """The grants of an AppProject's resource lists (shapes: module doc), in source order."""
    yield from _entries(spec, "clusterResourceWhitelist", CLUSTER, "allow")
    yield from _entries(spec, "clusterResourceBlacklist", CLUSTER, "deny")
    if sequence(get(spec, "namespaceResourceWhitelist")):
        yield from _entries(spec, "namespaceResourceWhitelist", NAMESPACED, "allow")
    else:
        yield Grant(NAMESPACED, "*/*", line=key_line(doc, "spec"))
    yield from _entries(spec, "namespaceResourceBlacklist", NAMESPACED, "deny")


def _entries(spec: Node | None, field: str, action: str,
             effect: Literal["allow", "deny"]) -> Iterator[Grant]:
    for res in sequence(get(spec, field)):
        group = scalar_text(get(res, "group")) or ""
        kind = scalar_text(get(res, "kind")) or ""
        yield Grant(action, f"{group}/{kind}", effect=effect, line=line_of(res))
