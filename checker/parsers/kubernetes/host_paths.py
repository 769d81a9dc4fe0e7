"""`hostPath` volumes that hand a pod the node's credentials, for the workload facet
(`checker.parsers.kubernetes.workloads`; judged by `checker.checks.workloads`).

A `hostPath` volume mounts a file or folder of the node. Some hold credentials that act for the
node or the whole cluster: kubeadm's `/etc/kubernetes` (`admin.conf`, `kubelet.conf`,
`super-admin.conf`, `pki/` with the cluster CA's key), the kubelet's `/var/lib/kubelet` (its
client certificate, and every pod's mounted service-account tokens), `/root/.kube` (kubectl's
config), `/var/run/secrets/kubernetes.io`, k3s's `/etc/rancher` and `/var/lib/rancher`, and the
container runtime's socket (Docker, containerd, CRI-O: whoever can write to it runs any
container on the node). A volume of one of those, of a file or folder under one, or of a folder
above one (`/etc`, `/var`, `/`) mounts them; `/var/run` and `/run` are the same folder.

Sources: https://kubernetes.io/docs/concepts/storage/volumes/#hostpath ("access to
system credentials ... or privileges": hostPath is a security risk);
https://kubernetes.io/docs/setup/best-practices/certificates/ (where kubeadm keeps the cluster's
certificates and kubeconfig files); https://docs.k3s.io/cluster-access (k3s's kubeconfig at
`/etc/rancher/k3s/k3s.yaml`); https://kubernetes.io/docs/setup/production-environment/container-runtimes/
(the runtime sockets).
"""

from __future__ import annotations

import posixpath

from yaml.nodes import Node

from checker.model import HOST_CREDENTIAL
from checker.safeyaml import get, get_entry, line_of, scalar_text, sequence

#: Node paths that hold credentials (module doc); `/run/...` is also read as `/var/run/...`.
NODE_CREDENTIALS = (
    "/etc/kubernetes", "/var/lib/kubelet", "/root/.kube", "/var/run/secrets/kubernetes.io",
    "/etc/rancher", "/var/lib/rancher",
    "/var/run/docker.sock", "/var/run/containerd/containerd.sock", "/var/run/crio/crio.sock",
    "/var/run/cri-dockerd.sock",
)


def _normal(path: str) -> str:
    """`path` as one absolute spelling: `.`/`..`/doubled slashes resolved, no trailing slash,
    `/run` read as `/var/run`."""
    path = posixpath.normpath("/" + path.strip())
    path = "/" + path.lstrip("/")  # normpath keeps a leading `//`
    return "/var" + path if path == "/run" or path.startswith("/run/") else path


def credential_path(path: str) -> bool:
    """True when a `hostPath` volume of `path` mounts a node credential (`NODE_CREDENTIALS`):
    the path itself, one under it, or a folder above it."""
    at = _normal(path)
    return any(at == c or at.startswith(c + "/") or at == "/" or c.startswith(at + "/")
               for c in NODE_CREDENTIALS)


def host_credentials(spec: Node | None) -> list[tuple[str, str, int]]:
    """The `hostPath` volumes of pod spec `spec` that mount node credentials, in source order:
    (`HOST_CREDENTIAL<volume>|<path as written>`, volume name, line of the `hostPath` key)."""
    out: list[tuple[str, str, int]] = []
    for volume in sequence(get(spec, "volumes")):
        found = get_entry(volume, "hostPath")
        path = scalar_text(get(found[1], "path")) if found is not None else None
        if found is None or not path or not credential_path(path):
            continue
        name = scalar_text(get(volume, "name")) or "(unnamed)"
        out.append((f"{HOST_CREDENTIAL}{name}|{path}", name, line_of(found[0])))
    return out
