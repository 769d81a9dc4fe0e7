"""kustomize: which repository files a kustomization reads, and its render, offline.

`kustomization_files` follows a kustomization's local references (`resources`, `bases`,
`components`, `crds`, the three patch lists, generator files, `replacements`, `configurations`,
`openapi`) through its local bases. `render_kustomization` runs `kustomize build` (else
`kubectl kustomize`) on a copy materialised on disk, after refusing what needs the network
(remote resources or bases, `helmCharts`), with `RLIMIT_CPU` and an output cap, and maps each
rendered object back to the file and line that produced it: the resource file (kustomize's
`config.kubernetes.io/origin` annotation, asked for with `buildMetadata` in the copy, never in
the user's file) or, when a patch changed the object, the patch (`checker.sources.render.patches`).
Sources: https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/ and
https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/buildmetadata/
"""

from __future__ import annotations

import posixpath
import re
import shutil
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode

from checker.lazy_patterns import lazy_compile
from checker.safeyaml.nodes import get, scalar
from checker.sources.render.api import Rendered, RenderedDocument, RenderLimits
from checker.sources.render.patches import (
    Patch,
    object_keys,
    object_line,
    patches_of,
    source_of,
)
from checker.sources.render.run import run_limited

#: The file names kustomize looks for in a directory, in its order.
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
#: Annotations `buildMetadata` adds; stripped before the objects are parsed.
ORIGIN = "config.kubernetes.io/origin"
TRANSFORMATIONS = "alpha.config.kubernetes.io/transformations"
#: A reference kustomize fetches: a URL, a `git::`/`ssh://`/`git@` address, a host path
#: (`github.com/org/repo//dir?ref=v1`), or anything with `?ref=`.
_REMOTE = lazy_compile(
    r"^(?:[a-z][a-z0-9+.-]*://|git::|git@|[a-z0-9-]+(?:\.[a-z0-9-]+)+\.[a-z]{2,}/)|\?ref=",
    re.IGNORECASE,
)

#: kubectl's log prefix on an error line (`E1206 05:39:17.878160    4744 run.go:72] `).
_KLOG = lazy_compile(r"^[EWIF]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] ")

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Reader = Callable[[str], "bytes | None"]


def find_kustomize() -> list[str] | None:
    """The command that builds a kustomization directory (the directory is appended):
    `kustomize build`, else `kubectl kustomize`; None when neither is on PATH."""
    tool = shutil.which("kustomize")
    if tool:
        return [tool, "build"]
    kubectl = shutil.which("kubectl")
    return [kubectl, "kustomize"] if kubectl else None


def kustomization_path(directory: str, paths: Collection[str]) -> str | None:
    """The kustomization file of repository directory `directory` (`""`: the root) among
    `paths`, or None."""
    for name in KUSTOMIZATION_NAMES:
        path = f"{directory}/{name}" if directory else name
        if path in paths:
            return path
    return None


def is_kustomization(path: str) -> bool:
    """True for a file kustomize reads as a kustomization (by its name)."""
    return path.rpartition("/")[2] in KUSTOMIZATION_NAMES


@dataclass
class Closure:
    """What one kustomization reads: `files` (repository paths, the kustomization files
    first-seen order), `remote` (references that need the network), `outside` (local
    references that leave the repository or are missing), `bases` (the local kustomization
    files it uses), `patches` (patches, bases' first)."""

    files: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    bases: list[str] = field(default_factory=list)
    patches: list[Patch] = field(default_factory=list)
    helm_charts: bool = False


def _entries(doc: dict[str, object], key: str) -> list[object]:
    value = doc.get(key)
    return list(value) if isinstance(value, list) else []


def _generator_files(doc: dict[str, object]) -> Iterator[str]:
    for key in ("configMapGenerator", "secretGenerator"):
        for gen in _entries(doc, key):
            if not isinstance(gen, dict):
                continue
            for item in gen.get("files") or []:
                if isinstance(item, str):
                    yield item.rpartition("=")[2] if "=" in item else item
            for item in [*(gen.get("envs") or []), gen.get("env")]:
                if isinstance(item, str):
                    yield item


def _file_references(doc: dict[str, object]) -> Iterator[tuple[str, bool]]:
    """(reference as written, may be a directory) for every local file a kustomization names."""
    for key in ("resources", "bases", "components"):
        for item in _entries(doc, key):
            if isinstance(item, str):
                yield item, True
    for key in ("crds", "configurations", "generators", "transformers", "validators"):
        for item in _entries(doc, key):
            if isinstance(item, str) and "\n" not in item:
                yield item, key in ("generators", "transformers", "validators")
    for key in ("patches", "patchesJson6902", "replacements"):
        for item in _entries(doc, key):
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                yield item["path"], False
    for item in _entries(doc, "patchesStrategicMerge"):
        if isinstance(item, str) and "\n" not in item and ":" not in item:
            yield item, False
    openapi = doc.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield openapi["path"], False
    for item in _generator_files(doc):
        yield item, False


def load_kustomization(raw: bytes) -> dict[str, object] | None:
    """A kustomization file's mapping, or None when it is not one."""
    try:
        doc = yaml.load(raw, Loader=_LOADER)
    except (yaml.YAMLError, ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def closure(root: str, paths: Collection[str], read: Reader, *, patches: bool = False
            ) -> Closure:  # fmt: skip
    """Everything the kustomization in repository directory `root` reads (see `Closure`).

    `paths` are the repository's file paths; `read(path)` a file's bytes (None: unreadable).
    A kustomization that cannot be parsed contributes its own file only. `patches`: read the
    patch files too, for `Closure.patches`."""
    out = Closure()
    seen: set[str] = set()

    def add(path: str) -> None:
        if path not in out.files:
            out.files.append(path)

    def visit(directory: str) -> None:
        kpath = kustomization_path(directory, paths)
        if kpath is None or kpath in seen:
            return
        seen.add(kpath)
        raw = read(kpath)
        doc = load_kustomization(raw) if raw is not None else None
        add(kpath)
        if doc is None:
            return
        out.helm_charts = out.helm_charts or bool(doc.get("helmCharts"))
        for ref, may_be_dir in _file_references(doc):
            if _REMOTE.search(ref):
                out.remote.append(ref)
                continue
            target = posixpath.normpath(posixpath.join(directory, ref)) if directory else (
                posixpath.normpath(ref))
            if target.startswith("../") or target == ".." or ref.startswith("/"):
                out.outside.append(ref)
            elif target in paths:
                add(target)
            elif may_be_dir and kustomization_path(target if target != "." else "", paths):
                sub = target if target != "." else ""
                visit(sub)
                base = kustomization_path(sub, paths)
                if base is not None and base not in out.bases:
                    out.bases.append(base)
            else:
                out.outside.append(ref)
        if patches:
            out.patches.extend(patches_of(kpath, doc, raw or b"", read))

    visit(root)
    return out


def kustomization_files(root: str, paths: Collection[str], read: Reader) -> list[str]:
    """The repository paths the kustomization in directory `root` reads: its kustomization
    file, and recursively its local resources, bases, components, patches, CRDs and generator
    files (see `closure`)."""
    return closure(root, paths, read).files


#: The keys of a kustomization that only lists resources: nothing else can change them.
_LISTING_KEYS = frozenset({"apiVersion", "kind", "resources"})


def listed_files(root: str, paths: Collection[str], read: Reader) -> list[str] | None:
    """The resource files of the kustomization in directory `root` when it does nothing but
    list local files (`resources:` of files in `paths`; no base, component, patch,
    transformer, generator, namespace, prefix or label): its render is exactly the objects of
    those files, read as plain manifests anyway. None for any other kustomization."""
    kpath = kustomization_path(root, paths)
    raw = read(kpath) if kpath is not None else None
    doc = load_kustomization(raw) if raw is not None else None
    if doc is None or not set(doc) <= _LISTING_KEYS or doc.get("kind", "Kustomization") not in (
            "Kustomization", None):
        return None
    resources = doc.get("resources") or []
    if not isinstance(resources, list):
        return None
    out: list[str] = []
    for ref in resources:
        if not isinstance(ref, str) or _REMOTE.search(ref) or ref.startswith("/"):
            return None
        target = posixpath.normpath(posixpath.join(root, ref))
        if target.startswith("../") or target not in paths:
            return None  # a directory (a base), outside the repository, or missing
        out.append(target)
    return out


def _tree_paths(tree: Path) -> set[str]:
    return {p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file()}


def _reader(tree: Path) -> Reader:
    def read(path: str) -> bytes | None:
        try:
            return (tree / path).read_bytes()
        except OSError:
            return None

    return read


def render_kustomization(tree: Path, root: str, limits: RenderLimits,
                         command: list[str] | None = None) -> Rendered:
    """Build the kustomization in repository directory `root` of `tree` (a directory holding
    its closure at repository-relative paths; its kustomization file is rewritten with
    `buildMetadata: [originAnnotations]`). `command` defaults to `find_kustomize()`.

    Never fetches: a remote resource or base, or `helmCharts`, is a failure named before
    anything runs; so is a local reference outside the tree, a missing tool, a failed build,
    a build over `limits` (CPU seconds, output bytes)."""
    paths = _tree_paths(tree)
    read = _reader(tree)
    found = closure(root, paths, read, patches=True)
    kpath = kustomization_path(root, paths)
    if kpath is None:
        return Rendered(root, "kustomize", failure=f"{root or '.'}: no kustomization file")
    if found.remote:
        return Rendered(root, "kustomize", failure=(
            f"remote resource or base {found.remote[0]} is not vendored (rendering is offline)"))
    if found.helm_charts:
        return Rendered(root, "kustomize", failure=(
            "helmCharts need a chart download (rendering is offline)"))
    if found.outside:
        return Rendered(root, "kustomize", failure=(
            f"{found.outside[0]}: not found in the repository"))
    command = command if command is not None else find_kustomize()
    if command is None:
        return Rendered(root, "kustomize", failure=(
            "kustomize not installed: install kustomize or kubectl"))
    raw = read(kpath) or b""
    doc = load_kustomization(raw) or {}
    wanted = doc.get("buildMetadata")
    doc["buildMetadata"] = sorted({*(wanted if isinstance(wanted, list) else []),
                                   "originAnnotations"})
    (tree / kpath).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    # The tree holds the closure only, so files of a base beside the overlay
    # (`resources: [../app.yaml]`) may load, as they do with `--load-restrictor` on the CLI.
    out = run_limited([*command, "--load-restrictor", "LoadRestrictionsNone",
                       str(tree / root) if root else str(tree)], limits, tree)
    (tree / kpath).write_bytes(raw)  # the user's own file again, for source lines
    if isinstance(out, str):
        reason = _KLOG.sub("", out.replace(f"{tree}/", "").replace(str(tree), "."))
        return Rendered(root, "kustomize", failure=f"kustomize build failed: {reason}")
    documents = tuple(_documents(out, root, found, read))
    return Rendered(root, "kustomize", documents=documents, owner=kpath,
                    patch_files=tuple(sorted({p.path for p in found.patches} - {kpath})))


#: Kinds rendered that define schemas, not objects: never an identity, and often most of the
#: output (an operator's CRDs), so they are not handed on.
_SCHEMA_KINDS = frozenset({"CustomResourceDefinition"})
#: The top-level `kind:` line of a schema kind (kustomize writes block style, top-level keys
#: at column 0; anything nested or inside a block scalar is indented).
_SCHEMA_LINE = lazy_compile(r"^kind: (?:CustomResourceDefinition)[ \t]*$", re.M)
_BUILD_NOTE = lazy_compile(
    r"^(\s*)[\"']?(?:config\.kubernetes\.io/origin|alpha\.config\.kubernetes\.io/"
    r"transformations)[\"']?\s*:")


def _split(output: str) -> list[str]:
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


def _documents(output: bytes, root: str, found: Closure, read: Reader
               ) -> Iterator[RenderedDocument]:  # fmt: skip
    """Each rendered object, without the build annotations, mapped to its source."""
    kpath = found.files[0]
    inputs = tuple(sorted(found.files))
    for text in _split(output.decode("utf-8", "replace")):
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
        origin = _origin_path(scalar(get(get(meta, "annotations"), ORIGIN)), root)
        text = without_build_notes(text)
        source = source_of(kind, name, found.patches)
        if source is not None:
            yield RenderedDocument(text, source.path, source.line, inputs, source.keys)
            continue
        path, line = kpath, 1
        keys: tuple[tuple[str, int], ...] = ()
        raw = read(origin) if origin is not None else None
        if origin is not None and raw is not None:
            path, line, keys = origin, object_line(raw, kind, name), object_keys(raw, kind, name)
        yield RenderedDocument(text, path, line, inputs, keys)


def _origin_path(text: object, root: str) -> str | None:
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


