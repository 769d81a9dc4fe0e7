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
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from checker.lazy_patterns import lazy_compile
from checker.sources.render.api import Rendered, RenderLimits
from checker.sources.render.kustomize_output import documents_of, origin_path, split
from checker.sources.render.patches import Patch, patches_of
from checker.sources.render.run import run_limited

#: The file names kustomize looks for in a directory, in its order.
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
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


@dataclass(frozen=True)
class Prepared:
    """A kustomization ready to build: its directory `root` in `tree`, its kustomization file
    `kpath` (rewritten in the tree with `buildMetadata: [originAnnotations]`; the user's bytes
    `raw`, put back by `restore`), its `Closure` with patches, a reader of the tree."""

    tree: Path
    root: str
    kpath: str
    raw: bytes
    found: Closure
    read: Reader

    def restore(self) -> None:
        """The user's own kustomization file again, for source lines."""
        (self.tree / self.kpath).write_bytes(self.raw)


def prepare(tree: Path, root: str, command: list[str] | None) -> Prepared | Rendered:
    """The kustomization in repository directory `root` of `tree` (a directory holding its
    closure at repository-relative paths) made ready to build (`Prepared`), or the failure
    named before anything runs: a remote resource or base, `helmCharts`, a local reference
    outside the tree, no kustomization file, no tool (`command` None)."""
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
    if command is None:
        return Rendered(root, "kustomize", failure=(
            "kustomize not installed: install kustomize or kubectl"))
    raw = read(kpath) or b""
    doc = load_kustomization(raw) or {}
    wanted = doc.get("buildMetadata")
    doc["buildMetadata"] = sorted({*(wanted if isinstance(wanted, list) else []),
                                   "originAnnotations"})
    (tree / kpath).write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return Prepared(tree, root, kpath, raw, found, read)


def build_argv(command: list[str], directory: Path) -> list[str]:
    """The build of `directory`. The tree holds the closure only, so files of a base beside
    the overlay (`resources: [../app.yaml]`) may load, as they do with `--load-restrictor` on
    the CLI."""
    return [*command, "--load-restrictor", "LoadRestrictionsNone", str(directory)]


def render_kustomization(tree: Path, root: str, limits: RenderLimits,
                         command: list[str] | None = None) -> Rendered:
    """Build the kustomization in repository directory `root` of `tree` (a directory holding
    its closure at repository-relative paths; its kustomization file is rewritten with
    `buildMetadata: [originAnnotations]`). `command` defaults to `find_kustomize()`.

    Never fetches: a remote resource or base, or `helmCharts`, is a failure named before
    anything runs; so is a local reference outside the tree, a missing tool, a failed build,
    a build over `limits` (CPU seconds, output bytes)."""
    command = command if command is not None else find_kustomize()
    ready = prepare(tree, root, command)
    if isinstance(ready, Rendered):
        return ready
    out = run_limited(build_argv(command or [], tree / root if root else tree), limits, tree)
    ready.restore()
    if isinstance(out, str):
        return Rendered(root, "kustomize", failure=failure_reason(out, tree))
    return rendered(ready, split(out.decode("utf-8", "replace")),
                    lambda text: origin_path(text, root))


def failure_reason(out: str, tree: Path) -> str:
    """A failed build's one-line reason, without the temporary directory or kubectl's log
    prefix."""
    reason = _KLOG.sub("", out.replace(f"{tree}/", "").replace(str(tree), "."))
    return f"kustomize build failed: {reason}"


def rendered(ready: Prepared, texts: Iterable[str],
             origin: Callable[[object], str | None]) -> Rendered:
    """The `Rendered` of `ready` from its output documents `texts` (`origin`: the repository
    path an object's origin annotation names, or None)."""
    found = ready.found
    documents = tuple(documents_of(texts, found.files, found.patches, ready.read, origin))
    return Rendered(ready.root, "kustomize", documents=documents, owner=ready.kpath,
                    patch_files=tuple(sorted({p.path for p in ready.found.patches}
                                             - {ready.kpath})))
