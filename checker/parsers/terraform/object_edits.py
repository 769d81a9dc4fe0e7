"""`kubernetes_labels` and `kubernetes_annotations` (hashicorp/kubernetes): edits of a Kubernetes
object defined elsewhere, read as what the edit grants.

Each resource names an existing object (`api_version`, `kind`, `metadata { name, namespace }`)
and sets `labels` or `annotations` on it (server-side apply). Sources:
https://registry.terraform.io/providers/hashicorp/kubernetes/latest/docs/resources/labels and
https://registry.terraform.io/providers/hashicorp/kubernetes/latest/docs/resources/annotations

The edit is judged as the Kubernetes parser judges the same keys written on the object
(`manifest.manifest_identity` parses the object `edited_object` returns): an
`rbac.authorization.k8s.io/aggregate-to-<role>` label on a ClusterRole binds its rules to every
holder of `<role>` (`checker.parsers.kubernetes.aggregation`), and a workload identity
annotation on a ServiceAccount (`eks.amazonaws.com/role-arn`, `iam.gke.io/gcp-service-account`,
`azure.workload.identity/client-id`) binds a cloud identity to it
(`checker.parsers.kubernetes.references`). What the edit does not write is not known here: the
labelled ClusterRole's rules are an `Unresolved` entry (NHI106: what its holders gain cannot be
checked), and the ServiceAccount's token mount setting is not the edit's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from checker.model import TOKEN_MOUNT, IdentityObject, Unresolved
from checker.parsers.kubernetes.aggregation import AGGREGATE_PREFIX
from checker.parsers.terraform.nodes import META, Node, without_markers

__all__ = ["DEFAULT_ACCOUNTS", "EDIT_TYPES", "default_account", "edited_facts", "edited_object"]

#: Resource type -> the metadata map it sets.
_EDITS = {"kubernetes_labels": "labels", "kubernetes_annotations": "annotations"}
EDIT_TYPES = frozenset(_EDITS)


def edited_object(rtype: str, node: Node) -> dict[str, Any] | None:
    """The Kubernetes object as far as a `kubernetes_labels`/`kubernetes_annotations` block
    writes it: `apiVersion`, `kind`, `metadata` name, namespace and the map it sets (entries
    whose key and value are literals). None without a literal kind and name."""
    meta = node.blocks("metadata")
    kind, version = node.get("kind"), node.get("api_version")
    name = meta[0].get("name") if meta else None
    if not all(isinstance(v, str) and "${" not in v for v in (kind, version, name)):
        return None
    metadata: dict[str, Any] = {"name": name}
    namespace = meta[0].get("namespace")
    if isinstance(namespace, str):
        metadata["namespace"] = namespace
    written = node.get(_EDITS[rtype])
    if isinstance(written, dict):
        metadata[_EDITS[rtype]] = {k: v for k, v in without_markers(written).items()
                                   if k not in META and isinstance(v, (str, bool, int))}
    return {"apiVersion": version, "kind": kind, "metadata": metadata}


#: A namespace's `default` ServiceAccount, which Kubernetes creates and every pod without a
#: `serviceAccountName` runs as; the resource adopts it. Its token is mounted unless
#: `automount_service_account_token = false` (default true). Source:
#: https://registry.terraform.io/providers/hashicorp/kubernetes/latest/docs/resources/default_service_account_v1
DEFAULT_ACCOUNTS = frozenset({"kubernetes_default_service_account",
                              "kubernetes_default_service_account_v1"})


def default_account(node: Node) -> dict[str, Any] | None:
    """The ServiceAccount a `kubernetes_default_service_account(_v1)` block writes: `default` in
    its `metadata` namespace (`default` when unset), with its labels, annotations and
    `automountServiceAccountToken` as written. None when the namespace is an expression."""
    meta = node.blocks("metadata")
    namespace = (meta[0].get("namespace") if meta else None) or "default"
    if not isinstance(namespace, str) or "${" in namespace:
        return None
    metadata: dict[str, Any] = {"name": "default", "namespace": namespace}
    for key in ("labels", "annotations"):
        written = meta[0].get(key) if meta else None
        if isinstance(written, dict):
            metadata[key] = {k: v for k, v in without_markers(written).items()
                             if k not in META and isinstance(v, (str, bool, int))}
    account: dict[str, Any] = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}
    mount = node.get("automount_service_account_token")
    if isinstance(mount, bool) or mount in ("true", "false"):
        account["automountServiceAccountToken"] = mount in (True, "true")
    return account


def edited_facts(rtype: str, obj: IdentityObject, name: str, line: int | None
                 ) -> IdentityObject | None:  # fmt: skip
    """`obj` (the parsed `edited_object`) without what the edit does not set: no token mount
    of its own, and, for a ClusterRole it labels `aggregate-to-<role>`, an `Unresolved` entry
    naming the rules its holders gain, which are defined elsewhere (`name`: the ClusterRole's;
    `line`: the map's line). None for annotations that bind no workload identity (descriptive
    ones grant nothing)."""
    if rtype == "kubernetes_annotations" and not any(
            not p.startswith("k8s-sa:") for p in obj.principals):  # the account itself
        return None
    sinks = tuple(s for s in obj.secret_sinks if s != TOKEN_MOUNT)
    unknown = tuple(
        Unresolved(f"labels.{AGGREGATE_PREFIX}{role}", f"ClusterRole/{name}",
                   f"rules of ClusterRole {name} defined outside this block: every "
                   f"holder of ClusterRole/{role} gains them", line)
        for role in _aggregated(obj)) if rtype == "kubernetes_labels" else ()
    return replace(obj, secret_sinks=sinks, unresolved=(*obj.unresolved, *unknown))


def _aggregated(obj: IdentityObject) -> list[str]:
    """The roles whose holders `obj`'s `bound` entries name (`aggregation.aggregated_into`)."""
    return [b.split("ClusterRole/", 1)[1].split(" ", 1)[0] for b in obj.bound
            if b.startswith("holders of ClusterRole/")]
