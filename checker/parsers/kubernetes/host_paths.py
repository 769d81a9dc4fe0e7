"""`hostPath` volumes that hand a pod the node's credentials, for the workload facet
(`checker.parsers.kubernetes.workloads`; judged by `checker.checks.workloads`).

A `hostPath` volume mounts a file or folder of the node. Some hold credentials that act for the
node or the whole cluster: kubeadm's `/etc/kubernetes` (`admin.conf`, `kubelet.conf`,
`super-admin.conf`, `pki/` with the cluster CA's key), the kubelet's `/var/lib/kubelet` (its
client certificate, and every pod's mounted service-account tokens), `/root/.kube` (kubectl's
config), `/var/run/secrets`, k3s's and RKE2's `/etc/rancher` and `/var/lib/rancher`, the
distributions' own folders (MicroK8s's `/var/snap/microk8s`: `credentials/client.config` is its
admin kubeconfig, `certs/` its CA key; GKE's `/home/kubernetes`, where the node keeps `kube-env`
with the kubelet's bootstrap credentials; k0s's `/var/lib/k0s`, `pki/admin.conf` among them;
kops's `/srv/kubernetes` and kube-up's `/etc/srv/kubernetes`; minikube's `/var/lib/minikube`;
kube-proxy's kubeconfig in `/var/lib/kube-proxy`), etcd's data folder `/var/lib/etcd` (every
Secret of the cluster), and the container runtime's socket (Docker, containerd, CRI-O: whoever
can write to it runs any container on the node). A volume of one of those, of a file or
folder under one, or of a folder above one (`/etc`, `/var`, `/`) mounts them; `/var/run` and
`/run` are the same folder.

Sources: https://kubernetes.io/docs/concepts/storage/volumes/#hostpath ("access to
system credentials ... or privileges": hostPath is a security risk);
https://kubernetes.io/docs/setup/best-practices/certificates/ (where kubeadm keeps the cluster's
certificates and kubeconfig files); https://docs.k3s.io/cluster-access (k3s's kubeconfig at
`/etc/rancher/k3s/k3s.yaml`); https://docs.rke2.io/cluster_access (`/etc/rancher/rke2/rke2.yaml`);
https://kubernetes.io/docs/setup/production-environment/container-runtimes/ (the runtime
sockets); https://microk8s.io/docs/services-and-ports (`/var/snap/microk8s/current/certs`,
`credentials`); https://github.com/kubernetes/kubernetes/blob/master/cluster/gce/gci/configure.sh
(`KUBE_HOME=/home/kubernetes`, its `kube-env`; `/etc/srv/kubernetes` and
`/var/lib/kube-proxy/kubeconfig` in `configure-helper.sh` beside it);
https://docs.k0s.io/install/ (`/var/lib/k0s/pki/admin.conf`);
https://github.com/kubernetes/kops/tree/master/nodeup/pkg/model (`/srv/kubernetes`);
https://minikube.sigs.k8s.io/docs/handbook/ (`/var/lib/minikube/certs`);
https://kubernetes.io/docs/tasks/administer-cluster/configure-upgrade-etcd/ (etcd's data
holds the cluster's Secrets; kubeadm's `/var/lib/etcd`).
"""

from __future__ import annotations

import posixpath

from yaml.nodes import Node

from checker.model import HOST_CREDENTIAL
from checker.safeyaml import get, get_entry, line_of, scalar_text, sequence

#: Node paths that hold credentials (module doc); `/run/...` is also read as `/var/run/...`.
NODE_CREDENTIALS = (
    "/etc/kubernetes", "/var/lib/kubelet", "/root/.kube", "/var/run/secrets",
    "/etc/rancher", "/var/lib/rancher", "/var/snap/microk8s", "/home/kubernetes", "/var/lib/k0s",
    "/srv/kubernetes", "/etc/srv/kubernetes", "/var/lib/minikube", "/var/lib/kube-proxy",
    "/var/lib/etcd",
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
