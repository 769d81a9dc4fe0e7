"""Kubernetes workloads -> one facet per pod spec: which ServiceAccount it runs as, and whether
the account's API token is mounted.

`WORKLOAD_POD_SPECS` names the eight workload kinds and the path to each one's pod spec;
`workload_facet` builds the facet (`checker.checks.workloads` judges it); `token_sinks` gives
`(TOKEN_MOUNT,)` for a pod spec or ServiceAccount that does not opt out of automounting.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node

from checker.model import TOKEN_MOUNT, IdentityObject, Location
from checker.policy.catalogue import CatalogueEntry
from checker.safeyaml import get, get_entry, get_path, line_of, scalar_text

#: Workload kinds -> keys from the object to its pod spec. Source:
#: https://kubernetes.io/docs/concepts/workloads/ (each kind's `spec.template` is a PodTemplateSpec;
#: a CronJob's is under `spec.jobTemplate.spec`).
WORKLOAD_POD_SPECS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_FALSE = frozenset({"false", "no", "off"})


def token_sinks(node: Node | None) -> tuple[str, ...]:
    """`(TOKEN_MOUNT,)` unless `node`'s `automountServiceAccountToken` is false."""
    value = scalar_text(get(node, "automountServiceAccountToken"))
    return () if value is not None and value.lower() in _FALSE else (TOKEN_MOUNT,)


def workload_facet(doc: MappingNode, kind: str, entry: CatalogueEntry, address: str,
                   location: Location, metadata: dict[str, str], namespace: str | None,
                   attribute_lines: dict[str, int]) -> IdentityObject | None:
    """The service-account use of one workload, normalised once for every rule.

    Shape: `kind` from the catalogue (`role_binding`: the pod spec binds the workload to an
    identity, like `aws_eks_pod_identity_association`), `type` the workload kind, `address`
    and `location` those of the workload; `references` = (`ServiceAccount/<ns>/<name>`,) with
    `default` when `serviceAccountName` (or the deprecated `serviceAccount`) is absent or
    empty; `principals` = (`k8s-sa:<ns>/<name>`,) for a named, non-default account only (each
    namespace has its own `default`); `secret_sinks` = (`TOKEN_MOUNT`,) unless the pod spec
    sets `automountServiceAccountToken: false`; `attribute_lines` adds `podSpec` (the pod
    spec's key), `serviceAccountName` and `automountServiceAccountToken` when present.
    `derived_from` is the workload's own address: the workload is not an identity definition,
    so the generic approval rule skips it and `checker.checks.workloads` judges it.
    None when the object has no pod spec (a kustomize patch such as `spec: {replicas: 3}`
    says nothing about the account).
    """
    path = WORKLOAD_POD_SPECS[kind]
    spec_entry = get_entry(get_path(doc, *path[:-1]), path[-1])
    if spec_entry is None:
        return None
    spec = spec_entry[1]
    attribute_lines["podSpec"] = line_of(spec_entry[0])
    account = ""
    for field in ("serviceAccountName", "serviceAccount"):
        found = get_entry(spec, field)
        if found is None:
            continue
        attribute_lines.setdefault("serviceAccountName", line_of(found[0]))
        account = account or (scalar_text(found[1]) or "")
    mount = get_entry(spec, "automountServiceAccountToken")
    if mount is not None:
        attribute_lines["automountServiceAccountToken"] = line_of(mount[0])
    name = account or "default"
    principals = () if name == "default" else (f"k8s-sa:{namespace or 'default'}/{name}",)
    return IdentityObject(
        kind=entry.kind,
        platform=entry.platform,
        type=entry.type,
        address=address,
        location=location,
        metadata=metadata,
        attribute_lines=attribute_lines,
        namespace=namespace,
        references=("/".join(p for p in ("ServiceAccount", namespace, name) if p),),
        secret_sinks=token_sinks(spec),
        principals=principals,
        derived_from=address,
    )
