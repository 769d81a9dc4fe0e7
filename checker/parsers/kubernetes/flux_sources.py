"""Flux sources (`source.toolkit.fluxcd.io`) as facets of what Flux fetches and nhi-gate does
not read, for NHI106 (`checker.checks.unread`).

A Flux `Kustomization` or `HelmRelease` applies what its source fetched, with its
`serviceAccountName` or the controller's own account, so the source's address decides what is
deployed as much as an Argo CD Application's `repoURL` and `targetRevision` do: a ref moved
from a tag to a branch, a repository or chart URL on another host, an OCI artifact no longer
pinned by digest. nhi-gate does not fetch it, so such a change fails closed like a remote
Terraform module's `source` (an agent's change blocks, a person's is a note).

Each `GitRepository`, `HelmRepository`, `OCIRepository`, `Bucket` and `HelmChart` becomes one
facet: type `unread:flux-source`, kind `role_binding`, platform `kubernetes`, address
`<Kind>/<namespace>/<name>`, `derived_from` its file; one `Unresolved` entry per field below
that it sets, `Unresolved(attribute="spec.<field>", expression="spec.<field> (value
<digest>)", reason=<what it is>, line)`; the digest (`digest.node_hash`) makes a changed value
a new entry, never copying the value. Fields (what is fetched, from where, with which
credentials, verified how): `url`, `ref`, `secretRef`, `verify`, `include`, `layerSelector`,
`provider`, `type`, `insecure`, `endpoint`, `bucketName`, `prefix`, `chart`, `version`,
`sourceRef`. Sources: https://fluxcd.io/flux/components/source/gitrepositories/,
https://fluxcd.io/flux/components/source/helmrepositories/,
https://fluxcd.io/flux/components/source/ocirepositories/,
https://fluxcd.io/flux/components/source/buckets/,
https://fluxcd.io/flux/components/source/helmcharts/
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from yaml.nodes import MappingNode

from checker.model import UNREAD, IdentityObject, Location, Unresolved
from checker.parsers.kubernetes.digest import node_hash
from checker.safeyaml import end_line_of, get, get_entry, get_path, line_of, scalar_text

#: The facet type (`checks/unread.py` judges it).
TYPE = f"{UNREAD}flux-source"
_GROUP = "source.toolkit.fluxcd.io"
_KINDS = frozenset({"GitRepository", "HelmRepository", "OCIRepository", "Bucket", "HelmChart"})
_FIELDS = ("url", "ref", "secretRef", "verify", "include", "layerSelector", "provider", "type",
           "insecure", "endpoint", "bucketName", "prefix", "chart", "version", "sourceRef")


def flux_source_facets(docs: Iterable[tuple[MappingNode, str]], path: str,
                       lines: list[str]) -> Iterator[IdentityObject]:
    """The facets of the Flux sources among one file's `(document, kind)` pairs (module doc)."""
    for doc, kind in docs:
        group = (scalar_text(get(doc, "apiVersion")) or "").rpartition("/")[0]
        if kind not in _KINDS or group != _GROUP:
            continue
        name = scalar_text(get_path(doc, "metadata", "name")) or "(unnamed)"
        namespace = scalar_text(get_path(doc, "metadata", "namespace")) or "(current namespace)"
        address = f"{kind}/{namespace}/{name}"
        start = line_of(doc.value[0][0]) if doc.value else line_of(doc)
        reason = ("a Flux source: the Kustomizations and HelmReleases that use it apply what "
                  "it fetches")
        spec = get(doc, "spec")
        entries: list[Unresolved] = []
        for field in _FIELDS:
            found = get_entry(spec, field)
            if found is None:
                continue
            key, value = found
            attribute = f"spec.{field}"
            entries.append(Unresolved(attribute, f"{attribute} (value {node_hash(value)[:12]})",
                                      reason, line_of(key)))
        yield IdentityObject(
            kind="role_binding", platform="kubernetes", type=TYPE, address=address,
            location=Location(path, start, max(start, end_line_of(doc, lines))),
            attribute_lines={"anchor": start, **{u.attribute: u.line or start for u in entries}},
            namespace=namespace, derived_from=path, unresolved=tuple(entries))
