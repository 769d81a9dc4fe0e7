"""PersistentVolumes that hold the node's credentials, and the claims that bind them, as facets
for `checker.checks.host_credentials`: a pod that mounts a `persistentVolumeClaim` bound to a
`hostPath` or `local` PersistentVolume of a node-credential folder mounts that folder, as a
`hostPath` volume of its own would (`checker.parsers.kubernetes.host_paths`).

Facets (type `VOLUME<Kind>`, kind `policy`, `derived_from` their address: no identity, not in
`inventory`), `usages` sorted `<key>=<value>` strings:
- `PersistentVolume/<name>` of a `spec.hostPath.path` or `spec.local.path` that
  `host_paths.credential_path` accepts: `path=<path as written>` (its line in
  `attribute_lines["path"]`) and `claimRef=<namespace>/<name>` when it names its claim;
- `PersistentVolumeClaim/<namespace>/<name>`: `volumeName=<name>` when it names its volume.
A claim and a volume are bound when the volume's `claimRef` names the claim or the claim's
`volumeName` names the volume. Sources:
https://kubernetes.io/docs/concepts/storage/persistent-volumes/#reserving-a-persistentvolume
(`claimRef`, `volumeName`); https://kubernetes.io/docs/concepts/storage/volumes/#local.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from yaml.nodes import MappingNode, Node

from checker.model import VOLUME, IdentityObject, Location
from checker.parsers.kubernetes.host_paths import credential_path
from checker.safeyaml import end_line_of, get, get_entry, get_path, line_of, scalar_text, sequence

#: The facet types of a volume and of a claim.
VOLUME_TYPE, CLAIM_TYPE = f"{VOLUME}PersistentVolume", f"{VOLUME}PersistentVolumeClaim"
#: The `attribute_lines` prefix of a workload's claim volume: `claim.<volume>|<claimName>`.
CLAIM = "claim."


def claims(spec: Node | None) -> dict[str, int]:
    """`claim.<volume>|<claimName>` -> line of the claim name, for each
    `volumes[].persistentVolumeClaim` of pod spec `spec`."""
    out: dict[str, int] = {}
    for volume in sequence(get(spec, "volumes")):
        found = get_entry(get(volume, "persistentVolumeClaim"), "claimName")
        name = scalar_text(found[1]) if found is not None else None
        if found is not None and name:
            out[f"{CLAIM}{scalar_text(get(volume, 'name')) or '(unnamed)'}|{name}"] = line_of(
                found[0])
    return out


def volume_facets(docs: Iterable[tuple[MappingNode, str]], path: str,
                  lines: list[str]) -> Iterator[IdentityObject]:
    """The facets (module doc) of one file's `(document, kind)` pairs."""
    for doc, kind in docs:
        if kind not in ("PersistentVolume", "PersistentVolumeClaim") or (
                scalar_text(get(doc, "apiVersion")) or "") != "v1":
            continue
        spec = get(doc, "spec")
        name = scalar_text(get_path(doc, "metadata", "name")) or "(unnamed)"
        start = line_of(doc.value[0][0]) if doc.value else line_of(doc)
        facts: dict[str, tuple[str, int]] = {}
        if kind == "PersistentVolume":
            for source in ("hostPath", "local"):
                found = get_entry(get(spec, source), "path")
                text = scalar_text(found[1]) if found is not None else None
                if found is not None and text and credential_path(text):
                    facts["path"] = (text, line_of(found[0]))
            if "path" not in facts:
                continue
            ref = get(spec, "claimRef")
            if ref is not None:
                facts["claimRef"] = (f"{scalar_text(get(ref, 'namespace')) or 'default'}/"
                                     f"{scalar_text(get(ref, 'name')) or ''}", line_of(ref))
            address, namespace = f"PersistentVolume/{name}", None
        else:
            namespace = scalar_text(get_path(doc, "metadata", "namespace")) or "default"
            found = get_entry(spec, "volumeName")
            if found is not None and scalar_text(found[1]):
                facts["volumeName"] = (scalar_text(found[1]) or "", line_of(found[0]))
            address = f"PersistentVolumeClaim/{namespace}/{name}"
        yield IdentityObject(
            kind="policy", platform="kubernetes", type=f"{VOLUME}{kind}", address=address,
            location=Location(path, start, max(start, end_line_of(doc, lines))),
            attribute_lines={"anchor": start, **{k: at for k, (_, at) in facts.items()}},
            usages=tuple(sorted(f"{k}={v}" for k, (v, _) in facts.items())),
            namespace=namespace, derived_from=address)
