"""The kustomizations a change touches, read from git and rendered at base and head
(`checker.sources.render`), and those a scan reads, from disk.

Cost: one listing of each side's files, then the kustomization files only when the repository
has some; nothing is rendered unless a changed file is in a kustomization's input closure.
"""

from __future__ import annotations

import os
import posixpath
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

from git import Repo

from checker import git
from checker.change import ChangeSet
from checker.model import ParseProblem
from checker.policy.config import Config
from checker.sources.budget import available_cores
from checker.sources.discovery import excluded
from checker.sources.render import leaf_closures, render_chart_files, render_files, touched
from checker.sources.render.api import Rendered, RenderLimits
from checker.sources.render.helm import is_chart, leaf_charts, settled, values_paths
from checker.sources.render.helm_context import added_conditions
from checker.sources.render.kustomize import is_kustomization, kustomization_path, listed_files
from checker.sources.render.run import can_limit_threads

_T = TypeVar("_T")
#: git (GitPython's `cat-file` processes) is read by one thread at a time.
_GIT_LOCK = threading.Lock()
#: The rule of a chart or kustomization that could not be rendered (defined on branch f-sniff).
UNRENDERED = "NHI107"


@dataclass(frozen=True)
class RenderedChange:
    """The renders of the touched kustomizations at head and at base, and an NHI107 problem
    for each one that could not be rendered at head."""

    head: tuple[Rendered, ...] = ()
    base: tuple[Rendered, ...] = ()
    problems: tuple[ParseProblem, ...] = ()


def limits_of(config: Config) -> RenderLimits:
    """The render budget: the per-file CPU budget, and the larger of the per-file size budget
    and the default output cap."""
    return RenderLimits(config.parse_seconds, max(config.max_file_bytes, RenderLimits.max_bytes))


def problem(rendered: Rendered, anchor: str) -> ParseProblem:
    """The NHI107 problem of a render that failed, on `anchor` (a changed file of it)."""
    owner = rendered.owner or rendered.root or "."
    return ParseProblem(anchor, UNRENDERED,
                        f"{owner}: rendered output could not be computed: {rendered.failure}")


class _Side:
    """One revision (None: the index) as the render reads it."""

    def __init__(self, repo: Repo, rev: str | None, config: Config,
                 closures: dict[str, list[str]] | None = None) -> None:
        """Read `rev`'s listing and kustomizations, unless its `closures` are known."""
        self.repo, self.rev, self.config = repo, rev, config
        self.lock = _GIT_LOCK
        if closures is not None:
            self.closures = closures
            return
        self.paths = set(git.list_files(repo, rev))
        names = sorted(p for p in self.paths if is_kustomization(p)
                       and not excluded(p, config.exclude))
        charts = sorted(p for p in self.paths if is_chart(p) and not excluded(p, config.exclude))
        self.cache: dict[str, bytes | None] = {
            p: e.data for p, e in self._read([*names, *charts]).items()}
        # every kustomization, not only the leaves: an overlay another one uses is deployed too
        self.closures = leaf_closures(self.paths, lambda p: self.cache.get(p), leaves=False
                                      ) if names else {}
        self.closures.update(chart_closures(self.paths, lambda p: self.cache.get(p), config)
                             if charts else {})

    def _read(self, paths: Sequence[str]) -> Mapping[str, git.BlobEntry]:
        size = self.config.max_file_bytes
        if self.rev is None:
            return git.read_index_entries(self.repo, paths, max_bytes=size)
        return git.read_entries(self.repo, self.rev, paths, max_bytes=size)

    def render(self, root: str) -> Rendered | None:
        """The render of `root` at this side (None: not a kustomization or chart here); safe
        to call from several threads (git is read under a lock, one reader at a time)."""
        files = self.closures.get(root)
        if files is None:
            return None
        with self.lock:
            entries = self._read(files)
        raw = {p: e.data for p, e in entries.items() if e.data is not None}
        if is_chart(root):
            return render_chart_at(root, raw, self.config)
        return render_files(root, raw, limits_of(self.config))


def chart_closures(paths: Collection[str], read: Callable[[str], bytes | None],
                   config: Config) -> dict[str, list[str]]:
    """The leaf Helm charts among `paths` (`helm.leaf_charts`), keyed by their `Chart.yaml`
    (a kustomization's key is its directory), with the values files the config names."""
    def values(root: str) -> list[str]:
        return values_paths(root, config.helm_values.get(root or ".", ()))

    return {posixpath.join(root, "Chart.yaml"): files
            for root, files in leaf_charts(paths, read, values).items()}


def render_chart_at(chart: str, files: Mapping[str, bytes], config: Config) -> Rendered:
    """Render the chart whose `Chart.yaml` is `chart` from `files`, with the config's values
    files and helm binary."""
    root = posixpath.dirname(chart)
    values = values_paths(root, config.helm_values.get(root or ".", ()))
    return render_chart_files(root, files, [v for v in values if v in files],
                              limits_of(config), config.helm_binary)


def rendered_change(repo: Repo, changeset: ChangeSet, config: Config,
                    head: str | None) -> RenderedChange:
    """Render, at `changeset.base` and at `head` (None: the index), every kustomization (leaf
    or used by another) and every leaf chart whose input closure a changed file is in, on
    either side."""
    changed = {p for f in changeset.files for p in (f.path, f.old_path) if p}
    if not changed:
        return RenderedChange()
    head_side = _Side(repo, head, config)
    # Base closures differ from head's only through a changed kustomization or `Chart.yaml`
    # (its `file://` dependencies) or a file the change deletes or renames (gone from head's
    # listing): else base is read only to render.
    moved = any(is_kustomization(p) or is_chart(p) for p in changed) or any(
        f.status in ("D", "R") for f in changeset.files)
    if not head_side.closures and not moved:
        return RenderedChange()
    same = None if moved else {r: head_side.closures[r]
                               for r in touched(head_side.closures, changed)}
    base_side = _Side(repo, changeset.base, config, same) if changeset.base else None
    roots = sorted({*touched(head_side.closures, changed),
                    *(touched(base_side.closures, changed) if base_side else [])})
    # A kustomization another one uses (a base, a component) may not build on its own (a
    # component's patch of what only its users hold): that is no NHI107 of its own.
    used = inner(head_side.closures)
    heads: list[Rendered] = []
    bases: list[Rendered] = []
    problems: list[ParseProblem] = []
    sides = [head_side, *([base_side] if base_side else [])]
    done = iter(concurrently([partial(side.render, root) for root in roots for side in sides]))
    for root in roots:
        at_head = next(done)
        at_base = next(done) if base_side else None
        if at_head is not None and at_head.failure and root in used:
            pass  # built within the kustomizations that use it, whose failure is reported
        elif at_head is not None and at_head.failure:
            files = head_side.closures[root]
            # on every changed file of it: whoever changed each one decides its level
            problems.extend(problem(at_head, anchor)
                            for anchor in [p for p in files if p in changed] or files[:1])
        elif at_head is not None:
            # an object base rendered the same (same source, same text) is not touched by a
            # change of another input (an image bump beside a Secret), chart or kustomization
            heads.append(settled(at_head, at_base))
            if is_chart(root):
                templates = [p for p in head_side.closures[root]
                             if p in changed and "templates/" in p]
                problems.extend(context_problems(head_side, base_side, templates))
        if at_base is not None and not at_base.failure:
            bases.append(at_base)
    return RenderedChange(tuple(heads), tuple(bases), tuple(problems))


def context_problems(head: _Side, base: _Side | None, templates: Sequence[str]
                     ) -> list[ParseProblem]:  # fmt: skip
    """An NHI107 problem for each condition a changed chart template adds (`templates`, read
    at `head` and `base`) that branches on what the offline render cannot know (`lookup`,
    `.Capabilities`, `.Release.*`: `render.helm_context`), at its line; its author decides
    the level. The message names the construct, never a value."""
    if not templates:
        return []
    now = {p: e.data for p, e in head._read(templates).items() if e.data is not None}
    before = {p: e.data for p, e in base._read(list(now)).items()} if base else {}
    out = []
    for path, raw in sorted(now.items()):
        old = before.get(path)
        for found in added_conditions(raw.decode("utf-8", "replace"),
                                      old.decode("utf-8", "replace") if old else None):
            out.append(ParseProblem(path, UNRENDERED, (
                f"{path}: a `{found.keyword}` at line {found.line} branches on "
                f"{', '.join(f'`{c}`' for c in found.constructs)}, which an offline render "
                "cannot know (it renders a first install of `release-name` in `default`, no "
                "cluster objects, helm's default capabilities): the other branch is never "
                "judged; review what each branch deploys"), found.line))
    return out


def concurrently(jobs: Sequence[Callable[[], _T]]) -> list[_T]:
    """Each job's result, in order; run on threads, one per available core, where a renderer's
    CPU limit can be set without a preexec function (`run.can_limit_threads`), else in turn.
    The threads are joined before this returns: none is left when the parse forks."""
    workers = min(len(jobs), available_cores()) if can_limit_threads() else 1
    if workers <= 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: job(), jobs))


def inner(closures: Mapping[str, list[str]]) -> set[str]:
    """The kustomization directories of `closures` (directory -> files, its own kustomization
    file first) whose kustomization file is in another one's closure."""
    others = {p for d, files in closures.items() if not is_chart(d) for p in files[1:]}
    return {d for d, files in closures.items()
            if files and not is_chart(d) and files[0] in others}


def rendered_on_disk(roots: Sequence[Path], rels: Sequence[str], config: Config
                     ) -> RenderedChange:  # fmt: skip
    """Render every leaf kustomization and leaf Helm chart under the directories `roots`
    (`scan`, `inventory`), paths shown under `rels` (the prefix each root's files have in the
    scan's output). A kustomization that only lists local files (`listed_files`) is not run:
    its objects are those files' own. The renders run concurrently (they are subprocesses),
    their results in the order of the roots, then the sorted kustomizations, then charts."""
    jobs: list[Callable[[], tuple[Rendered, str]]] = []
    for root, rel in zip(roots, rels, strict=True):
        if root.is_dir():
            jobs.extend(_disk_jobs(root, rel, config))
    heads: list[Rendered] = []
    problems: list[ParseProblem] = []
    for out, anchor in concurrently(jobs):
        if out.failure:
            problems.append(problem(out, anchor))
        else:
            heads.append(out)
    return RenderedChange(tuple(heads), (), tuple(problems))


def _disk_jobs(root: Path, rel: str, config: Config
               ) -> list[Callable[[], tuple[Rendered, str]]]:  # fmt: skip
    """The renders under directory `root` (shown under `rel`), each giving its `Rendered`
    (paths under `rel`) and the file its NHI107 goes on when it fails."""
    paths = _disk_paths(root)
    if not any(is_kustomization(p) or is_chart(p) for p in paths):
        return []

    def read(path: str) -> bytes | None:
        full = root / path
        if full.is_symlink() or not full.is_file():
            return None
        try:
            return full.read_bytes()
        except OSError:
            return None

    def kustomization(directory: str, raw: dict[str, bytes], kpath: str
                      ) -> Callable[[], tuple[Rendered, str]]:  # fmt: skip
        def run() -> tuple[Rendered, str]:
            out = _prefixed(render_files(directory, raw, limits_of(config)), rel)
            return out, out.owner or _join(rel, kpath)
        return run

    def chart(path: str, raw: dict[str, bytes]) -> Callable[[], tuple[Rendered, str]]:
        def run() -> tuple[Rendered, str]:
            return _prefixed(render_chart_at(path, raw, config), rel), _join(rel, path)
        return run

    jobs = []
    for directory, files in sorted(leaf_closures(paths, read).items()):
        kpath = kustomization_path(directory, paths) or directory
        if excluded(_join(rel, kpath), config.exclude):
            continue
        listed = listed_files(directory, paths, read)
        if listed is not None and all(read(p) is not None and not excluded(
                _join(rel, p), config.exclude) for p in listed):
            continue  # renders exactly the plain files, which the scan reads anyway
        jobs.append(kustomization(directory, {p: b for p in files if (b := read(p)) is not None},
                                  kpath))
    for path, files in sorted(chart_closures(paths, read, config).items()):
        if not excluded(_join(rel, path), config.exclude):
            jobs.append(chart(path, {p: b for p in files if (b := read(p)) is not None}))
    return jobs


def _disk_paths(root: Path) -> set[str]:
    out: set[str] = set()
    for here, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", "node_modules", ".terraform")]
        base = Path(here).relative_to(root).as_posix()
        out.update(n if base == "." else f"{base}/{n}" for n in names)
    return out


def _join(rel: str, path: str) -> str:
    return f"{rel}/{path}" if rel else path


def _prefixed(rendered: Rendered, rel: str) -> Rendered:
    """`rendered` with every path under `rel` (the scan's path prefix)."""
    if not rel:
        return rendered
    docs = tuple(replace(d, source_path=_join(rel, d.source_path),
                         inputs=tuple(_join(rel, p) for p in d.inputs))
                 for d in rendered.documents)
    return replace(rendered, root=_join(rel, rendered.root), documents=docs,
                   owner=_join(rel, rendered.owner) if rendered.owner else "",
                   patch_files=tuple(_join(rel, p) for p in rendered.patch_files))

