"""Node credentials a Kubernetes workload mounts through `hostPath` volumes, for
`checker.checks.workloads`: the pod's code can then act as the node or the cluster's admin
(kubeadm's `admin.conf`, the kubelet's client certificate, the container runtime's socket),
whatever service account it runs as.

A workload facet records one `HOST_CREDENTIAL<volume>|<path>` sink per such volume and its line
as `hostPath.<volume>` (`checker.parsers.kubernetes.host_paths`, where the paths and their
sources are). A volume added (or pointed at a credential path) is a gain: NHI302 and NHI101 for
an agent, the `node-credential-human` note for a person; one removed is a narrowing.
Source: https://kubernetes.io/docs/concepts/storage/volumes/#hostpath.
"""

from __future__ import annotations

from checker.model import HOST_CREDENTIAL, IdentityObject

#: NHI302's level variant for a person's node-credential mount (rules/docs/privilege.yaml).
HUMAN_VARIANT = "node-credential-human"
#: The `attribute_lines` prefix of a node-credential volume.
ATTRIBUTE = "hostPath."


def mounts(obj: IdentityObject) -> dict[str, tuple[str, str]]:
    """`<volume>|<path>` -> (volume, path) for each node-credential volume of workload `obj`."""
    out: dict[str, tuple[str, str]] = {}
    for sink in obj.secret_sinks:
        if sink.startswith(HOST_CREDENTIAL):
            key = sink[len(HOST_CREDENTIAL):]
            volume, _, path = key.partition("|")
            out[key] = (volume, path)
    return out


def described(volume: str, path: str) -> str:
    """One mount in words: `node credentials via hostPath /etc/kubernetes (volume `kube`)`."""
    return f"node credentials via hostPath {path} (volume `{volume}`)"


def gained(obj: IdentityObject, base: IdentityObject | None) -> list[tuple[str, str, int | None]]:
    """(attribute, what was gained, line) for each node-credential volume `obj` mounts that
    `base` (None: a new workload) did not."""
    was = mounts(base) if base is not None else {}
    return [(f"{ATTRIBUTE}{volume}",
             f"gains {described(volume, path)}: the node's kubeconfigs, certificates or "
             "container runtime socket, which act for the node or the cluster",
             obj.attribute_lines.get(f"{ATTRIBUTE}{volume}"))
            for key, (volume, path) in mounts(obj).items() if key not in was]


def removed(obj: IdentityObject, base: IdentityObject) -> list[str]:
    """Each node-credential volume `base` mounted that `obj` does not, in words."""
    now = mounts(obj)
    return [f"node credentials (hostPath {path}, volume `{volume}`)"
            for key, (volume, path) in mounts(base).items() if key not in now]
