"""Rendered Kubernetes objects (a kustomization's or a Helm chart's output) as identities that
live in the files that produced them.

Each rendered document is parsed by the Kubernetes parser, then every line in it (the object,
its attributes, its grants) is moved to the source file: a line under a top-level key
(`roleRef`, `rules`) goes to the line of that key in the source (a patch's `roleRef:`), else to
the object's source line. The address is prefixed with the kustomization or chart file
(`overlays/prod/kustomization.yaml:ClusterRoleBinding/x`), and every file the render read is
an input, so whoever touched any of them is the change's author (`provenance.attribution`).
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Protocol

import yaml
from yaml.nodes import MappingNode, ScalarNode

from checker.model import IdentityObject, Location, ParseProblem, SourceFile
from checker.parsers import kubernetes
from checker.policy.catalogue import Catalogue

#: The name of a rendered object's inputs (`via rendered input (overlays/prod/patch.yaml:1)`).
INPUT = "rendered input"
_WHOLE_FILE = 1 << 30


class Document(Protocol):
    """What is read of a `checker.sources.render.api.RenderedDocument`."""

    @property
    def text(self) -> str: ...
    @property
    def source_path(self) -> str: ...
    @property
    def source_line(self) -> int: ...
    @property
    def inputs(self) -> tuple[str, ...]: ...
    @property
    def key_lines(self) -> tuple[tuple[str, int], ...]: ...


def _top_lines(text: str) -> list[tuple[int, str]]:
    """(1-based line, key) of the top-level keys of the one-object YAML `text`, sorted."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return []
    if not isinstance(node, MappingNode):
        return []
    return sorted((k.start_mark.line + 1, str(k.value)) for k, _ in node.value
                  if isinstance(k, ScalarNode))


def rendered_objects(
    documents: Sequence[Document], owner: str, catalogue: Catalogue
) -> tuple[list[IdentityObject], list[ParseProblem]]:
    """The identities in `documents` (rendered from the kustomization or chart file
    `owner`), placed in their source files; the parse problems of a document that is not
    valid YAML, on its source file."""
    objects: list[IdentityObject] = []
    problems: list[ParseProblem] = []
    for doc in documents:
        result = kubernetes.parse(SourceFile(doc.source_path, doc.text.encode(), None), catalogue)
        problems.extend(replace(p, line=doc.source_line, end_line=None) for p in result.problems)
        keys = dict(doc.key_lines)
        tops = _top_lines(doc.text)
        starts = [line for line, _ in tops]

        def place(line: int | None, keys: Mapping[str, int] = keys,
                  tops: list[tuple[int, str]] = tops, starts: list[int] = starts,
                  default: int = doc.source_line) -> int:
            if line is None:
                return default
            at = bisect.bisect_right(starts, line) - 1
            return keys.get(tops[at][1], default) if at >= 0 else default

        inputs = tuple((INPUT, Location(p, 1, _WHOLE_FILE)) for p in doc.inputs)
        end = max([doc.source_line, *keys.values()])
        for obj in result.objects:
            objects.append(replace(
                obj,
                address=f"{owner}:{obj.address}",
                location=Location(doc.source_path, doc.source_line, end),
                attribute_lines={k: place(v) for k, v in obj.attribute_lines.items()},
                privileges=tuple(replace(g, line=place(g.line) if g.line else None)
                                 for g in obj.privileges),
                trust=tuple(replace(t, line=place(t.line) if t.line else None)
                            for t in obj.trust),
                unresolved=tuple(u._replace(line=place(u.line) if u.line else None)
                                 for u in obj.unresolved),
                inputs=obj.inputs + inputs,
                derived_from=f"{owner}:{obj.derived_from}" if obj.derived_from else None,
                rendered_by=owner,
            ))
    return objects, problems


def combined(plain: Sequence[IdentityObject], rendered: Sequence[IdentityObject],
             patch_files: frozenset[str]) -> list[IdentityObject]:
    """Plain-file and rendered objects together. A plain object read from a file that a
    rendered kustomization uses as a patch is dropped (a patch is not an object: its effect is
    judged on the rendered object); a rendered object that says what the plain object at the
    same place says (same digest: a base resource no overlay changed) is that object, kept
    once as the plain one."""
    same = {(o.location.path, o.location.start_line, o.kind, o.digest)
            for o in plain if o.digest}
    kept = [o for o in plain if o.location.path not in patch_files]
    return kept + [o for o in rendered if not o.digest or (
        o.location.path, o.location.start_line, o.kind, o.digest) not in same]
