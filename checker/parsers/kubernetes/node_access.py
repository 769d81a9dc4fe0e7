"""Pod-spec settings that hand a pod the node itself, for the workload facet
(`checker.parsers.kubernetes.workloads`; judged by `checker.checks.host_credentials`).

The node holds the kubelet's credentials (`/var/lib/kubelet`, `/etc/kubernetes`) and every
pod's mounted service-account tokens, so a pod that can act as root on the node holds them all,
whatever account it runs as. The Pod Security Standards' `baseline` profile forbids exactly
these settings because they break out of the container:
- `hostPID: true` (the node's processes: `nsenter -t 1` enters the node as root),
  `hostIPC: true` and `hostNetwork: true` (the node's network: the kubelet's ports on
  localhost and the cloud metadata endpoint, which hands out the node's cloud credentials);
- `securityContext.privileged: true` on a container (every device and capability of the node);
- `securityContext.capabilities.add` of `ALL` or of a capability that escapes the container
  (`SYS_ADMIN`: mount, `SYS_MODULE`: kernel modules, `SYS_PTRACE`: other processes,
  `SYS_RAWIO`, `DAC_READ_SEARCH`: open any host file by handle, `BPF`, `PERFMON`);
- `securityContext.windowsOptions.hostProcess: true` (a process on the Windows node).
Other capabilities (`NET_BIND_SERVICE`, `NET_RAW`, `CHOWN`, ...) and `allowPrivilegeEscalation`
(setuid inside the container) do not leave the container and are not judged here.

Sources: https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline (host
namespaces, privileged containers, capabilities, HostProcess);
https://man7.org/linux/man-pages/man7/capabilities.7.html (what each capability allows);
https://docs.aws.amazon.com/eks/latest/best-practices/identity-and-access-management.html
(a `hostNetwork` pod reaches the instance metadata service and the node's role).
"""

from __future__ import annotations

from yaml.nodes import Node

from checker.model import NODE_ACCESS
from checker.safeyaml import get, get_entry, line_of, scalar_text, sequence

#: Pod-spec fields that share a namespace of the node (module doc).
HOST_NAMESPACES = ("hostPID", "hostIPC", "hostNetwork")
#: Capabilities that escape the container (module doc); `ALL` holds them all.
ESCAPING_CAPABILITIES = frozenset(
    {"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "SYS_RAWIO", "DAC_READ_SEARCH", "BPF",
     "PERFMON"})
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_TRUE = ("true", "yes", "on")


def _true(node: Node | None) -> bool:
    return (scalar_text(node) or "").lower() in _TRUE


def node_access(spec: Node | None) -> list[tuple[str, str, int]]:
    """The settings of pod spec `spec` that reach the node, in source order: (sink
    `NODE_ACCESS<setting>|<container>`, attribute `nodeAccess.<setting>` or
    `nodeAccess.<container>.<setting>`, the line of its key or capability). `<setting>` is
    the field (`hostPID`, `privileged`, `hostProcess`) or `capabilities.<NAME>` (upper case,
    no `CAP_`); `<container>` is `""` for the pod's own settings."""
    out: list[tuple[str, str, int]] = []
    for field in HOST_NAMESPACES:
        found = get_entry(spec, field)
        if found is not None and _true(found[1]):
            out.append((f"{NODE_ACCESS}{field}|", f"nodeAccess.{field}", line_of(found[0])))
    found = get_entry(get(get(spec, "securityContext"), "windowsOptions"), "hostProcess")
    if found is not None and _true(found[1]):
        out.append((f"{NODE_ACCESS}hostProcess|", "nodeAccess.hostProcess", line_of(found[0])))
    for group in _CONTAINER_LISTS:
        for container in sequence(get(spec, group)):
            out.extend(_container_access(container))
    return out


def _container_access(container: Node) -> list[tuple[str, str, int]]:
    """`node_access` of one container's `securityContext`."""
    name = scalar_text(get(container, "name")) or "(unnamed)"
    context = get(container, "securityContext")
    found: list[tuple[str, Node]] = []
    for setting, entry in (("privileged", get_entry(context, "privileged")),
                           ("hostProcess", get_entry(get(context, "windowsOptions"),
                                                     "hostProcess"))):
        if entry is not None and _true(entry[1]):
            found.append((setting, entry[0]))
    for item in sequence(get(get(context, "capabilities"), "add")):
        cap = (scalar_text(item) or "").upper().removeprefix("CAP_")
        if cap in ESCAPING_CAPABILITIES:
            found.append((f"capabilities.{cap}", item))
    return [(f"{NODE_ACCESS}{setting}|{name}", f"nodeAccess.{name}.{setting}", line_of(node))
            for setting, node in found]
