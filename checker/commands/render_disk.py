"""What a `scan` renders, read from disk, and the pieces the git side shares with it
(`checker.commands.render_sources`): budgets, NHI107 problems, the charts' closures, the
concurrent runner. Imports no git, so `scan` and `inventory` run where git is absent.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from checker.model import ParseProblem
from checker.policy.config import Config
from checker.sources.budget import available_cores
from checker.sources.discovery import excluded
from checker.sources.render import leaf_closures, render_chart_files
from checker.sources.render.api import Rendered, RenderLimits
from checker.sources.render.helm import is_chart, leaf_charts, values_paths
from checker.sources.render.kustomize import is_kustomization, kustomization_path, listed_files
from checker.sources.render.kustomize_batch import plan, render_batch
from checker.sources.render.run import can_limit_threads

_T = TypeVar("_T")
#: The rule of a chart or kustomization that could not be rendered (defined on branch f-sniff).
UNRENDERED = "NHI107"


@dataclass(frozen=True)
class RenderedChange:
    """The renders of the touched kustomizations at head and at base, and an NHI107 problem
    for each one that could not be rendered at head; `quiet`: the changed templates of a chart
    that could not be rendered whose NHI107 another file of the chart already carries (the
    same commits: `failure_anchors`)."""

    head: tuple[Rendered, ...] = ()
    base: tuple[Rendered, ...] = ()
    problems: tuple[ParseProblem, ...] = ()
    quiet: tuple[str, ...] = ()


def limits_of(config: Config) -> RenderLimits:
    """The render budget: the per-file CPU budget, and the larger of the per-file size budget
    and the default output cap."""
    return RenderLimits(config.parse_seconds, max(config.max_file_bytes, RenderLimits.max_bytes))


def problem(rendered: Rendered, anchor: str, others: int = 0) -> ParseProblem:
    """The NHI107 problem of a render that failed, on `anchor` (a changed file of it); `others`
    changed templates of the chart whose NHI107 it stands for are counted in the message."""
    owner = rendered.owner or rendered.root or "."
    more = (f"; {others} more changed template{'s' if others > 1 else ''} of the chart "
            "not checked") if others else ""
    return ParseProblem(anchor, UNRENDERED, f"{owner}: rendered output could not be computed: "
                        f"{rendered.failure}{more}")


def failure_anchors(root: str, files: Sequence[str], changed: Collection[str],
                    commits: Mapping[str, Sequence[str]]) -> tuple[list[str], list[str]]:
    """(anchors, quiet). Anchors: the changed files of `root` (a kustomization directory or a
    chart's `Chart.yaml`, its closure `files`) that carry the NHI107 of its failed render. A
    kustomization: every changed file (whoever changed each decides its level). A chart: on its
    `Chart.yaml` when changed, else the first changed YAML template, else helper
    (`_helpers.tpl`), else YAML file, else the first changed file; then on the next such file
    only when an in-range commit touched it that touched no file already chosen (so every
    commit that changed the chart, and its author's level, is on some finding, and the
    commits an approval must cover with it); a chart's script (`hack/*.py`) or values file is
    no place of its own unless its commit touched nothing else of the chart. The first file
    of the closure when none changed. Quiet: the other changed templates, whose NHI107 the
    anchors stand for (`RenderedChange.quiet`).
    """
    touched = [p for p in files if p in changed]
    if not touched or not root.endswith("Chart.yaml"):
        return touched or list(files[:1]), []

    def rank(path: str) -> tuple[int, str]:
        template = "/templates/" in f"/{path}"
        yaml = path.endswith((".yaml", ".yml", ".json"))
        return (0 if path == root else 1 if template and yaml else 2 if template else
                3 if yaml else 4, path)
    anchors: list[str] = []
    covered: set[str] = set()
    for path in sorted(touched, key=rank):  # best place first; another only for new commits
        shas = set(commits.get(path, ()))
        if not anchors or not shas <= covered:
            anchors.append(path)
            covered |= shas
    quiet = sorted(p for p in touched if p not in anchors and rank(p)[0] in (1, 2))
    return anchors, quiet


def chart_closures(paths: Collection[str], read: Callable[[str], bytes | None],
                   config: Config) -> dict[str, list[str]]:
    """The leaf Helm charts among `paths` (`helm.leaf_charts`), keyed by their `Chart.yaml`
    (a kustomization's key is its directory), with the values files the config names."""
    def values(root: str) -> list[str]:
        return values_paths(root, config.helm_values.get(root or ".", ()))

    return {posixpath.join(root, "Chart.yaml"): files
            for root, files in leaf_charts(paths, read, values).items()}


def render_chart_at(chart: str, files: Mapping[str, bytes], config: Config,
                    extra: Sequence[str] = ()) -> Rendered:
    """Render the chart whose `Chart.yaml` is `chart` from `files`, with the config's values
    files, then the repository paths `extra` (those present), and the config's helm binary."""
    root = posixpath.dirname(chart)
    values = [*values_paths(root, config.helm_values.get(root or ".", ())), *extra]
    return render_chart_files(root, files, [v for v in values if v in files],
                              limits_of(config), config.helm_binary)


def concurrently(jobs: Sequence[Callable[[], _T]]) -> list[_T]:
    """Each job's result, in order; run on threads, one per available core, where a renderer's
    CPU limit can be set without a preexec function (`run.can_limit_threads`), else in turn.
    The threads are joined before this returns: none is left when the parse forks."""
    workers = min(len(jobs), available_cores()) if can_limit_threads() else 1
    if workers <= 1:
        return [job() for job in jobs]
    from concurrent.futures import ThreadPoolExecutor  # logging with it: only for renders

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: job(), jobs))


def workers() -> int:
    """How many renders `concurrently` runs at once: one per available core where a
    renderer's CPU limit can be set from outside it, else one."""
    return available_cores() if can_limit_threads() else 1


#: A kustomization a scan renders: its directory, closure, the scan's path prefix, its file.
_Kustomization = tuple[str, dict[str, bytes], str, str]
_Job = Callable[[], list[tuple[Rendered, str]]]


def rendered_on_disk(roots: Sequence[Path], rels: Sequence[str], config: Config
                     ) -> RenderedChange:  # fmt: skip
    """Render every leaf kustomization and leaf Helm chart under the directories `roots`
    (`scan`, `inventory`), paths shown under `rels` (the prefix each root's files have in the
    scan's output). A kustomization that only lists local files (`listed_files`) is not run:
    its objects are those files' own. The kustomizations are built in batches, as few
    kustomize processes as give each its own result (`kustomize_batch`: one per core when
    nothing stands in the way); the batches and the charts run concurrently (they are
    subprocesses), their results in the order of the roots, then the sorted kustomizations,
    then charts."""
    kustomizations: list[_Kustomization] = []
    charts: list[_Job] = []
    order: list[tuple[bool, int]] = []  # (a kustomization?, its index)
    for root, rel in zip(roots, rels, strict=True):
        if root.is_dir():
            found, more = _disk_jobs(root, rel, config)
            order.extend((True, len(kustomizations) + i) for i in range(len(found)))
            order.extend((False, len(charts) + i) for i in range(len(more)))
            kustomizations.extend(found)
            charts.extend(more)
    batches = plan([(k[0], k[1]) for k in kustomizations], workers())

    def batch(group: list[int]) -> _Job:
        def run() -> list[tuple[Rendered, str]]:
            outs = render_batch([kustomizations[i][:2] for i in group], limits_of(config))
            return [(out := _prefixed(got, kustomizations[i][2]),
                     out.owner or _join(*kustomizations[i][2:]))
                    for i, got in zip(group, outs, strict=True)]
        return run

    done = concurrently([*(batch(g) for g in batches), *charts])
    built = {i: got for group, outs in zip(batches, done, strict=False)
             for i, got in zip(group, outs, strict=True)}
    rendered_charts = [got for outs in done[len(batches):] for got in outs]
    heads: list[Rendered] = []
    problems: list[ParseProblem] = []
    for kustomized, i in order:
        out, anchor = built[i] if kustomized else rendered_charts[i]
        if out.failure:
            problems.append(problem(out, anchor))
        else:
            heads.append(out)
    return RenderedChange(tuple(heads), (), tuple(problems))


def _disk_jobs(root: Path, rel: str, config: Config
               ) -> tuple[list[_Kustomization], list[_Job]]:  # fmt: skip
    """The renders under directory `root` (shown under `rel`): the kustomizations to build,
    and a job for each chart giving its `Rendered` (paths under `rel`) and the file its
    NHI107 goes on when it fails."""
    paths = _disk_paths(root)
    if not any(is_kustomization(p) or is_chart(p) for p in paths):
        return [], []

    def read(path: str) -> bytes | None:
        full = root / path
        if full.is_symlink() or not full.is_file():
            return None
        try:
            return full.read_bytes()
        except OSError:
            return None

    def chart(path: str, raw: dict[str, bytes]) -> _Job:
        def run() -> list[tuple[Rendered, str]]:
            return [(_prefixed(render_chart_at(path, raw, config), rel), _join(rel, path))]
        return run

    kustomizations: list[_Kustomization] = []
    for directory, files in sorted(leaf_closures(paths, read).items()):
        kpath = kustomization_path(directory, paths) or directory
        if excluded(_join(rel, kpath), config.exclude):
            continue
        listed = listed_files(directory, paths, read)
        if listed is not None and all(read(p) is not None and not excluded(
                _join(rel, p), config.exclude) for p in listed):
            continue  # renders exactly the plain files, which the scan reads anyway
        kustomizations.append((directory, {p: b for p in files if (b := read(p)) is not None},
                               rel, kpath))
    jobs = []
    for path, files in sorted(chart_closures(paths, read, config).items()):
        if not excluded(_join(rel, path), config.exclude):
            jobs.append(chart(path, {p: b for p in files if (b := read(p)) is not None}))
    return kustomizations, jobs


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
