"""kustomize's output read back: one text per object, the build annotations stripped, each
object placed at the file and line that wrote it (`documents_of`).

An object's source is the patch that set a privilege-bearing field of it
(`checker.sources.render.patches.source_of`), else the resource file its
`config.kubernetes.io/origin` annotation names (asked for with `buildMetadata`), else the
kustomization. Source: https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/buildmetadata/
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

import yaml
from yaml.nodes import MappingNode

from checker.lazy_patterns import lazy_compile
from checker.safeyaml.nodes import get, scalar
from checker.sources.render.api import RenderedDocument
from checker.sources.render.patches import Patch, object_keys, object_line, source_of

#: Annotations `buildMetadata` adds; stripped before the objects are parsed.
ORIGIN = "config.kubernetes.io/origin"
TRANSFORMATIONS = "alpha.config.kubernetes.io/transformations"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Kinds rendered that define schemas, not objects: never an identity, and often most of the
#: output (an operator's CRDs), so they are not handed on.
_SCHEMA_KINDS = frozenset({"CustomResourceDefinition"})
#: The top-level `kind:` line of a schema kind (kustomize writes block style, top-level keys
#: at column 0; anything nested or inside a block scalar is indented).
_SCHEMA_LINE = lazy_compile(r"^kind: (?:CustomResourceDefinition)[ \t]*$", re.M)
_BUILD_NOTE = lazy_compile(
    r"^(\s*)[\"']?(?:config\.kubernetes\.io/origin|alpha\.config\.kubernetes\.io/"
    r"transformations)[\"']?\s*:")


def split(output: str) -> list[str]:
    """kustomize's output (documents separated by `---` lines) as one text per document."""
    docs: list[list[str]] = [[]]
    for line in output.splitlines():
        if line.rstrip() == "---":
            docs.append([])
        else:
            docs[-1].append(line)
    return ["\n".join(d) + "\n" for d in docs if any(x.strip() for x in d)]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def without_build_notes(text: str) -> str:
    """`text` (one object as kustomize writes it, block style) without the origin and
    transformation annotations, and without `annotations:` when nothing else is left in it."""
    lines = text.splitlines()
    kept: list[str] = []
    skip_deeper: int | None = None
    for line in lines:
        if skip_deeper is not None and (not line.strip() or _indent(line) > skip_deeper):
            continue
        skip_deeper = None
        match = _BUILD_NOTE.match(line)
        if match:
            skip_deeper = len(match.group(1))
            continue
        kept.append(line)
    out: list[str] = []
    for i, line in enumerate(kept):
        if line.strip() == "annotations:" and (
                i + 1 >= len(kept) or _indent(kept[i + 1]) <= _indent(line)):
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def documents_of(texts: Iterable[str], files: Sequence[str], patches: list[Patch],
                 read: Callable[[str], bytes | None], origin_of: Callable[[object], str | None]
                 ) -> Iterator[RenderedDocument]:  # fmt: skip
    """Each rendered object of `texts` (one kustomize output document each) of the
    kustomization whose closure is `files` (its kustomization file first) and `patches`,
    without the build annotations, mapped to its source; `read` reads a repository file,
    `origin_of` turns an origin annotation's text into the repository path it names (None:
    generated, remote or unknown)."""
    kpath = files[0]
    inputs = tuple(sorted(files))
    for text in texts:
        if _SCHEMA_LINE.search(text):
            continue  # a CRD, often most of the output: not composed only to be dropped
        try:
            node = yaml.compose(text, Loader=_LOADER)
        except yaml.YAMLError:
            continue
        kind = scalar(get(node, "kind")) or ""
        if not isinstance(node, MappingNode) or kind in _SCHEMA_KINDS:
            continue
        meta = get(node, "metadata")
        name = scalar(get(meta, "name")) or ""
        origin = origin_of(scalar(get(get(meta, "annotations"), ORIGIN)))
        text = without_build_notes(text)
        source = source_of(kind, name, patches)
        if source is not None:
            yield RenderedDocument(text, source.path, source.line, inputs, source.keys)
            continue
        path, line = kpath, 1
        keys: tuple[tuple[str, int], ...] = ()
        raw = read(origin) if origin is not None else None
        if origin is not None and raw is not None:
            path, line, keys = origin, object_line(raw, kind, name), object_keys(raw, kind, name)
        yield RenderedDocument(text, path, line, inputs, keys)


def origin_path(text: object, root: str) -> str | None:
    """The repository path in a `config.kubernetes.io/origin` annotation (relative to the
    kustomization directory `root`), or None (a generated object, a remote resource)."""
    if not isinstance(text, str):
        return None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("path"), str):
        return None
    if value.get("repo"):
        return None
    joined = posixpath.normpath(posixpath.join(root, value["path"]) if root else value["path"])
    return None if joined.startswith("..") else joined


