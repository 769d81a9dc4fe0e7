"""Node credentials a Kubernetes workload mounts through `hostPath` volumes, for
`checker.checks.workloads`: the pod's code can then act as the node or the cluster's admin
(kubeadm's `admin.conf`, the kubelet's client certificate, the container runtime's socket),
whatever service account it runs as.

A workload facet records one `HOST_CREDENTIAL<volume>|<path>` sink per such volume and its line
as `hostPath.<volume>` (`checker.parsers.kubernetes.host_paths`, where the paths and their
sources are). A volume added (or pointed at a credential path) is a gain: NHI302 and NHI101 for
an agent, the `node-credential-human` note for a person; one removed is a narrowing.
Source: https://kubernetes.io/docs/concepts/storage/volumes/#hostpath.

A `persistentVolumeClaim` volume bound to a PersistentVolume of node credentials (the
`VOLUME` facets of `checker.parsers.kubernetes.volumes`: the volume's `claimRef` names the
claim, or the claim's `volumeName` the volume; in the change or in the unchanged files
`checker.commands.workload_context` reads) mounts them too, and is judged the same way.

A pod-spec setting that escapes to the node (`hostPID`, `hostIPC`, `hostNetwork`, a privileged
container, an escaping capability, a Windows HostProcess pod: `NODE_ACCESS<setting>|<container>`
sinks at `nodeAccess.*` lines, `checker.parsers.kubernetes.node_access`, where the sources are)
is judged the same way: the node holds the kubelet's credentials and every pod's tokens.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from checker.checks.api import Hit, Subject
from checker.model import HOST_CREDENTIAL, NODE_ACCESS, VOLUME, IdentityObject

#: NHI302's level variant for a person's node-credential mount (rules/docs/privilege.yaml).
HUMAN_VARIANT = "node-credential-human"
#: The `attribute_lines` prefix of a node-credential volume, and of a node-access setting.
ATTRIBUTE, SETTING = "hostPath.", "nodeAccess."
#: What each node-access setting hands the pod (`checker.parsers.kubernetes.node_access`).
_ROOT = "root on the node, which holds the kubelet's credentials and every pod's tokens"
_REACH = {"hostPID": "the node's processes, and with root their files and credentials",
          "hostIPC": "the shared memory and message queues of every process on the node",
          "hostNetwork": "the node's network: the kubelet's ports and the cloud metadata "
                         "endpoint, which hands out the node's credentials"}


def is_node(attribute: str) -> bool:
    """True for the attribute of a node-credential volume or a node-access setting."""
    return attribute.startswith((ATTRIBUTE, SETTING))


def _settings(obj: IdentityObject) -> dict[str, tuple[str, str]]:
    """`<setting>|<container>` -> (setting, container) for each node-access setting of `obj`."""
    keys = (s[len(NODE_ACCESS):] for s in obj.secret_sinks if s.startswith(NODE_ACCESS))
    return {key: (key.partition("|")[0], key.partition("|")[2]) for key in keys}


def setting_text(setting: str, container: str) -> str:
    """One setting as written: ``"`securityContext.privileged: true` (container `web`)"``."""
    if setting.startswith("capabilities."):
        text = f"`securityContext.capabilities.add: {setting.partition('.')[2]}`"
    elif setting == "privileged":
        text = "`securityContext.privileged: true`"
    elif setting == "hostProcess":
        text = "`securityContext.windowsOptions.hostProcess: true`"
    else:
        text = f"`{setting}: true`"
    return text + (f" (container `{container}`)" if container else "")


def _settings_gained(obj: IdentityObject, base: IdentityObject | None
                     ) -> list[tuple[str, str, int | None]]:  # fmt: skip
    was = _settings(base) if base is not None else {}
    out: list[tuple[str, str, int | None]] = []
    for key, (setting, container) in _settings(obj).items():
        if key in was:
            continue
        attribute = f"{SETTING}{container}.{setting}" if container else f"{SETTING}{setting}"
        out.append((attribute, f"gains the node through {setting_text(setting, container)}: "
                    f"{_REACH.get(setting, _ROOT)}", obj.attribute_lines.get(attribute)))
    return out


def dropped_settings(obj: IdentityObject, base: IdentityObject) -> list[str]:
    """Each node-access setting `base` had that `obj` has not, as written."""
    now = _settings(obj)
    return [setting_text(*v) for key, v in _settings(base).items() if key not in now]


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
    """(attribute, what was gained, line) for each node-access setting `obj` has and each
    node-credential volume it mounts that `base` (None: a new workload) did not."""
    was = mounts(base) if base is not None else {}
    return _settings_gained(obj, base) + [(f"{ATTRIBUTE}{volume}",
             f"gains {described(volume, path)}: the node's kubeconfigs, certificates or "
             "container runtime socket, which act for the node or the cluster",
             obj.attribute_lines.get(f"{ATTRIBUTE}{volume}"))
            for key, (volume, path) in mounts(obj).items() if key not in was]


def removed(obj: IdentityObject, base: IdentityObject) -> list[str]:
    """Each node-credential volume `base` mounted that `obj` does not, in words."""
    now = mounts(obj)
    return [f"node credentials (hostPath {path}, volume `{volume}`)"
            for key, (volume, path) in mounts(base).items() if key not in now]


#: A workload's claim volumes (`attribute_lines` `claim.<volume>|<claimName>`) and the volume
#: facet types (parsers/kubernetes/volumes.py).
_CLAIM = "claim."
_PV, _PVC = f"{VOLUME}PersistentVolume", f"{VOLUME}PersistentVolumeClaim"


def _usage(obj: IdentityObject | None) -> dict[str, str]:
    return dict(u.split("=", 1) for u in obj.usages if "=" in u) if obj is not None else {}


def claimed(obj: IdentityObject, objects: Sequence[IdentityObject]
            ) -> dict[str, tuple[str, str, str, str]]:  # fmt: skip
    """`<volume>|<claim>` -> (volume, claim, PersistentVolume name, its path) for each claim
    volume of workload `obj` bound to a node-credential PersistentVolume among `objects` (in
    the workload's namespace and render)."""
    prefix = f"{obj.rendered_by}:" if obj.rendered_by else ""
    namespace = obj.namespace or "default"
    volumes = [o for o in objects if o.type == _PV]
    out: dict[str, tuple[str, str, str, str]] = {}
    for key in obj.attribute_lines:
        if not key.startswith(_CLAIM):
            continue
        volume, _, claim = key[len(_CLAIM):].partition("|")
        address = f"{prefix}PersistentVolumeClaim/{namespace}/{claim}"
        bound = _usage(next((o for o in objects if o.type == _PVC and o.address == address),
                            None)).get("volumeName")
        for found in volumes:
            facts = _usage(found)
            if (facts.get("claimRef") == f"{namespace}/{claim}"
                    or (bound and found.address == f"{prefix}PersistentVolume/{bound}")):
                out[key[len(_CLAIM):]] = (volume, claim, found.address.rsplit("/", 1)[-1],
                                          facts.get("path", "?"))
                break
    return out


def claimed_gains(obj: IdentityObject, base: IdentityObject | None,
                  objects: Sequence[IdentityObject], base_objects: Sequence[IdentityObject]
                  ) -> list[tuple[str, str, int | None]]:  # fmt: skip
    """(attribute, what was gained, line) for each claim volume of `obj` bound to node
    credentials (`claimed`, among `objects`) that `base` (None: a new workload; among
    `base_objects`, else `objects`) did not mount the same way."""
    was = claimed(base, base_objects or objects) if base is not None else {}
    namespace = obj.namespace or "default"
    return [(f"{ATTRIBUTE}{volume}",
             f"gains node credentials via PersistentVolume {name} ({path}), claimed by volume "
             f"`{volume}` (PersistentVolumeClaim {namespace}/{claim}): the node's kubeconfigs, "
             "certificates or container runtime socket, which act for the node or the cluster",
             obj.attribute_lines.get(f"{_CLAIM}{key}"))
            for key, (volume, claim, name, path) in claimed(obj, objects).items()
            if was.get(key) != (volume, claim, name, path)]


def volume_hits(subject: Subject) -> Iterator[Hit]:
    """NHI302 for a PersistentVolume of node credentials (a `VOLUME` facet) the change created
    or pointed at another path: every pod that claims it mounts them. An error for an agent, a
    bot or an unknown actor, the `node-credential-human` note for a person; nothing in `scan`."""
    obj, base = subject.obj, subject.base
    path = _usage(obj).get("path")
    if obj.type != _PV or subject.ctx.mode == "scan" or path is None or (
            base is not None and _usage(base).get("path") == path):
        return
    yield Hit("NHI302", f"{obj.address} is a volume of node credentials ({path}): every pod "
              "that claims it gets the node's kubeconfigs, certificates or container runtime "
              "socket, which act for the node or the cluster", "path",
              obj.attribute_lines.get("path"),
              variant=HUMAN_VARIANT if subject.touch.actor_kind == "human" else None)
