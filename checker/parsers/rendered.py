"""Rendered Kubernetes objects (a kustomization's or a Helm chart's output) as identities that
live in the files that produced them.

Each rendered document is parsed by the Kubernetes parser, then every line in it (the object,
its attributes, its grants) is moved to the source file: a line of key path `roleRef.name`
goes to the line of the same key in the source (a patch's `name: cluster-admin`), else of its
nearest parent there, else to the object's source line. The address is prefixed with the
kustomization or chart file (`overlays/prod/kustomization.yaml:ClusterRoleBinding/x`), so are
the objects it references, and every file the render read is an input, so whoever touched
any of them is the change's author (`provenance.attribution`).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

import yaml

from checker.model import IdentityObject, Location, ParseProblem, ParseResult, SourceFile
from checker.parsers import kubernetes
from checker.policy.catalogue import Catalogue
from checker.safeyaml.nodes import key_paths, parent_path

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


def _line_paths(text: str) -> tuple[list[int], list[str]]:
    """The key lines of the one-object YAML `text` (sorted) and the key path on each (the
    shortest where a line holds several)."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return [], []
    at: dict[int, str] = {}
    for path, line in key_paths(node).items():
        if line not in at or len(path) < len(at[line]):
            at[line] = path
    lines = sorted(at)
    return lines, [at[line] for line in lines]


def _placer(doc: Document, lines: list[int], paths: list[str]) -> Callable[[int | None], int]:
    """Rendered line -> source line: the line of the same key path in the source (`lines`,
    `paths`: `_line_paths(doc.text)`), else of its nearest parent that the source sets, else
    the object's source line."""
    keys = dict(doc.key_lines)

    def place(line: int | None) -> int:
        if line is None:
            return doc.source_line
        at = bisect.bisect_right(lines, line) - 1
        path = paths[at] if at >= 0 else ""
        while path:
            if path in keys:
                return keys[path]
            path = parent_path(path)
        return doc.source_line

    return place


class Render(Protocol):
    """What is read of a `checker.sources.render.api.Rendered`."""

    @property
    def documents(self) -> Sequence[Document]: ...
    @property
    def owner(self) -> str: ...
    @property
    def root(self) -> str: ...
    @property
    def patch_files(self) -> tuple[str, ...]: ...


def merged(plain: Sequence[IdentityObject], renders: Sequence[Render], catalogue: Catalogue,
           *, head: bool = True) -> tuple[list[IdentityObject], list[ParseProblem]]:
    """`plain` objects with those of `renders` (`rendered_objects`), and the problems of
    rendered documents. On the `head` side they are `combined`; on the base side, where
    objects are only the twins of head's, all are kept."""
    objects: list[IdentityObject] = []
    problems: list[ParseProblem] = []
    read: _Read = {}  # a document several kustomizations render the same is parsed once
    for one in renders:
        more, bad = rendered_objects(one.documents, one.owner or one.root, catalogue, read)
        objects.extend(more)
        problems.extend(bad)
    if not head:
        return [*plain, *objects], problems
    patch_files = frozenset(p for one in renders for p in one.patch_files)
    return combined(plain, objects, patch_files), problems


#: (source path, rendered text) -> its parse and `_line_paths`.
_Read = dict[tuple[str, str], tuple[ParseResult, list[int], list[str]]]


def rendered_objects(
    documents: Sequence[Document], owner: str, catalogue: Catalogue, read: _Read | None = None,
) -> tuple[list[IdentityObject], list[ParseProblem]]:
    """The identities in `documents` (rendered from the kustomization or chart file
    `owner`), placed in their source files; the parse problems of a document that is not
    valid YAML, on its source file. `read` keeps each (source path, text)'s parse for the
    next call (renders of one side often hold the same object)."""
    objects: list[IdentityObject] = []
    problems: list[ParseProblem] = []
    for doc in documents:
        key = (doc.source_path, doc.text)
        found = read.get(key) if read is not None else None
        if found is None:
            lines, paths = _line_paths(doc.text)
            found = (kubernetes.parse(SourceFile(doc.source_path, doc.text.encode(), None),
                                      catalogue), lines, paths)
            if read is not None:
                read[key] = found
        result, lines, paths = found
        problems.extend(replace(p, line=doc.source_line, end_line=None) for p in result.problems)
        place = _placer(doc, lines, paths)
        keys = dict(doc.key_lines)
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
                # What it names lives in the same render: two overlays' `ServiceAccount/x`
                # are two deployments' accounts, never one shared account.
                references=tuple(f"{owner}:{r}" for r in obj.references),
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
