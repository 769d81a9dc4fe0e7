"""The kustomizations and charts a change touches, read from git and rendered at base and head
(`checker.sources.render`); what a scan renders from disk is `checker.commands.render_disk`.

Cost: one listing of each side's files, then the kustomization files only when the repository
has some; nothing is rendered unless a changed file is in a kustomization's input closure.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from checker import git
from checker.change import ChangeSet
from checker.commands.deploy_commands import (
    NAMERS,
    SetRender,
    command_values,
    may_deploy,
    named_by,
    rewriters,
)
from checker.commands.gitops_renders import (
    Job,
    candidates,
    plan,
    referenced,
    side,
    substitute_at,
    substitution_plan,
    values_files,
)
from checker.commands.gitops_renders import Side as GitopsSide
from checker.commands.render_context import (
    beside,
    context_problems,
    selection_problems,
    unread_change,
    unread_problem,
)
from checker.commands.render_disk import (
    RenderedChange,
    chart_closures,
    concurrently,
    failure_anchors,
    limits_of,
    problem,
    render_chart_at,
    workers,
)
from checker.commands.render_invoked import invoked_values
from checker.commands.render_values import unused_problem, unused_values
from checker.policy.config import Config
from checker.sources.discovery import excluded
from checker.sources.render import (
    kustomize_batch,
    leaf_closures,
    render_chart_files,
    render_files,
    touched,
)
from checker.sources.render.api import Rendered
from checker.sources.render.gitops import ChartUse
from checker.sources.render.helm import chart_files, is_chart, settled
from checker.sources.render.kustomize import is_kustomization

if TYPE_CHECKING:
    from checker.git.repo import Repo

#: git (GitPython's `cat-file` processes) is read by one thread at a time.
_GIT_LOCK = threading.Lock()


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

    def read(self, paths: Sequence[str]) -> Mapping[str, git.BlobEntry]:
        """The blobs of `paths` at this side (up to the size cap), under the lock."""
        with self.lock:
            return self._read(paths)

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

    def render_with(self, chart: str, values: str) -> Rendered | None:
        """The render of the chart `chart` (its `Chart.yaml`) at this side with the values file
        `values` after the configured ones (when it is there), its objects addressed under
        `values` (`render_values.ExtraRender`); None when the chart is not here."""
        files = self.closures.get(chart)
        if files is None:
            return None
        with self.lock:
            entries = self._read(list(dict.fromkeys([*files, values])))
        raw = {p: e.data for p, e in entries.items() if e.data is not None}
        return replace(render_chart_at(chart, raw, self.config, (values,)), owner=values)

    def render_set(self, job: SetRender, base: bool = False) -> Rendered | None:
        """The render of `job`'s chart at this side as its call installs it (at base with
        base's values), the values it sets in a file at the call's path (beside it inside the
        chart), its objects addressed under that file and read from it; None when the chart
        is not here."""
        files = self.closures.get(job.chart)
        if files is None:
            return None
        values, sets = (job.base_values, job.base_sets) if base else (job.values, job.sets)
        raw = self.read_map(list(dict.fromkeys([*files, *values])))
        root = posixpath.dirname(job.chart)
        path = f"{job.owner}.values.yaml" if job.owner.startswith(f"{root}/") else job.owner
        raw.update({path: sets.encode()} if sets else {})
        out = render_chart_at(job.chart, raw, self.config, (*values, *([path] if sets else [])))
        return replace(out, owner=job.owner, documents=tuple(
            replace(d, inputs=tuple(dict.fromkeys([*d.inputs, job.owner])))
            for d in out.documents))

    def read_map(self, paths: Sequence[str]) -> dict[str, bytes]:
        """The contents of those `paths` present at this side (under the git lock)."""
        with self.lock:
            entries = self._read(list(paths))
        return {p: e.data for p, e in entries.items() if e.data is not None}

    def render_use(self, use: ChartUse, where: GitopsSide) -> Rendered:
        """The render of a GitOps object's chart (`gitops_renders`) at this side, its objects
        addressed under the object's file and every file it read an input of each."""
        root = posixpath.dirname(use.chart)
        extra, values, failure = values_files(use, where)
        if use.problem or failure:
            return Rendered(root, "helm", owner=use.owner, failure=(
                f"{use.who} renders the chart {root or '.'}: {use.problem or failure}"
                if use.chart else f"{use.who}: {use.problem or failure}"))
        files = self.closures.get(use.chart) or chart_files(root, where.ordered)
        raw = self.read_map(list(dict.fromkeys([*files, *values])))
        raw.update(extra)
        out = render_chart_files(root, raw, values, limits_of(self.config),
                                 self.config.helm_binary)
        inputs = (use.owner, *(p for _, p in use.files),
                  *(p for p, configs in where.configs.items() for c in configs
                    for ref, _ in use.refs if ref.split("/")[2] == c.ref.split("/")[2]))
        return replace(out, owner=use.owner, documents=tuple(
            replace(d, inputs=tuple(dict.fromkeys([*d.inputs, *inputs])))
            for d in out.documents))


def gitops_jobs(repo: Repo, head: _Side, base: _Side | None, changed: set[str]
                ) -> tuple[list[Job], RenderedChange, GitopsSide | None,
                           GitopsSide | None]:  # fmt: skip
    """The GitOps objects whose inputs the change touches (`gitops_renders.plan`), with the
    two sides read for them; the Flux substitutions computed and the fail-closed problems as
    a `RenderedChange`."""
    files = candidates(repo, head.rev, changed)
    if not files:
        return [], RenderedChange(), None, None
    at_head = side(head.paths, head.read_map, files, changed)
    more = referenced(repo, head.rev, at_head, files)
    if more:  # the ConfigMaps/Secrets a Flux object names, in files no kind test selected
        files = sorted({*files, *more})
        at_head = side(head.paths, head.read_map, files, changed)
    at_base = side(git.list_files(repo, base.rev), base.read_map, files, changed,
                   at_head) if base else None
    jobs, problems = plan(at_head, at_base, changed)
    heads: list[Rendered] = []
    bases: list[Rendered] = []
    for job in substitution_plan(at_head, at_base, changed):
        now = substitute_at(job.head, at_head) if job.head else None
        before = substitute_at(job.base, at_base) if job.base and at_base else None
        if now is not None and now.unknown:
            reason = f"variable forms {', '.join(now.unknown)} are not computed"
            problems.extend(problem(replace(now.rendered, failure=reason), anchor)
                            for anchor in job.anchors)
        elif now is not None:
            heads.append(settled(now.rendered, before.rendered if before else None))
        if before is not None and not before.unknown:
            bases.append(before.rendered)
    return jobs, RenderedChange(tuple(heads), tuple(bases), tuple(problems)), at_head, at_base


def rendered_change(repo: Repo, changeset: ChangeSet, config: Config,
                    head: str | None) -> RenderedChange:
    """Render, at `changeset.base` and at `head` (None: the index), every kustomization (leaf
    or used by another) and every leaf chart whose input closure a changed file is in, on
    either side."""
    changed = {p for f in changeset.files for p in (f.path, f.old_path) if p}
    if not changed:
        return RenderedChange()
    commits = {f.path: f.commits for f in changeset.files}
    head_side = _Side(repo, head, config)
    # Base closures differ from head's only through a changed kustomization or `Chart.yaml`
    # (its `file://` dependencies) or a file the change deletes or renames (gone from head's
    # listing): else base is read only to render.
    moved = any(is_kustomization(p) or is_chart(p) for p in changed) or any(
        f.status in ("D", "R") for f in changeset.files)
    invoked, passed = invoked_values(repo, head, changed, head_side.closures,
                                     head_side.read_map, config)
    # values a changed workflow, script or helmfile sets on a command line (`--set`, `-var`)
    scripts = [f for f in changeset.files if f.status != "D" and may_deploy(f.path)]
    was = _Side(repo, changeset.base, config, {}).read_map(
        [f.old_path or f.path for f in scripts]) if changeset.base and scripts else {}
    sets, set_problems = command_values(head_side.read_map([f.path for f in scripts]), {
        f.path: was.get(f.old_path or f.path) for f in scripts}, head_side.closures,
        config, partial(named_by, grep=partial(git.grep_files, repo, head, suffixes=NAMERS),
                        read=head_side.read_map)) if scripts else ([], [])
    # a changed script a deploy runs as a post-renderer (one `git grep` for the scripts' names)
    programs = [f.path for f in scripts if not excluded(f.path, config.exclude)]
    passed = [*passed, *set_problems, *(rewriters(programs, lambda names: head_side.read_map(
        git.grep_files(repo, head, names, NAMERS)), set_problems) if programs else [])]
    if not head_side.closures and not moved and not passed:
        # no chart or kustomization: only a Flux substitution input can be reached
        base_side = _Side(repo, changeset.base, config, {}) if changeset.base else None
        jobs, found, g_head, _ = gitops_jobs(repo, head_side, base_side, changed)
        # a GitOps object that reads a changed file for a chart from elsewhere: not computed
        failed = [problem(head_side.render_use(job.head, g_head), anchor) for job in jobs
                  if job.head is not None and g_head is not None and not job.head.chart
                  for anchor in job.anchors]
        return replace(found, problems=(*found.problems, *failed)) if failed else found
    same = None if moved else {r: head_side.closures[r] for r in [
        *touched(head_side.closures, changed), *(job.chart for job in sets)]}
    base_side = _Side(repo, changeset.base, config, same) if changeset.base else None
    roots = sorted({*touched(head_side.closures, changed),
                    *(touched(base_side.closures, changed) if base_side else [])})
    # A kustomization another one uses (a base, a component) may not build on its own (a
    # component's patch of what only its users hold): that is no NHI107 of its own.
    used = inner(head_side.closures)
    gitops, substituted, g_head, g_base = gitops_jobs(repo, head_side, base_side, changed)
    problems = list(substituted.problems)
    quiet: list[str] = []
    heads: list[Rendered] = list(substituted.head)
    bases: list[Rendered] = list(substituted.base)
    sides = [head_side, *([base_side] if base_side else [])]
    claimed = {p for job in gitops for p in job.anchors}
    extra, outside = unused_values(changed - claimed, head_side.paths, head_side.closures,
                                   config)
    handled = {job.values for job in invoked} | {p.path for p in passed}
    extra = sorted({*extra, *(j for j in invoked if j.values not in claimed)})
    outside = [p for p in outside if p not in handled]
    problems.extend(p for p in passed if p.path not in claimed)
    charts = sorted(posixpath.dirname(r) for r in head_side.closures if is_chart(r))
    texts = {p: e.data for p, e in head_side.read(outside).items()} if outside else {}
    problems.extend(x for p in outside if (x := unused_problem(p, charts, texts.get(p))))
    keys, batches = kustomizations([(root, side) for root in roots for side in sides
                                    if not is_chart(root)])
    batched = {key for group in keys for key in group}
    renders: list[Callable[[], Rendered | None]] = [
        *(partial(side.render, root) for root in roots for side in sides
          if (root, id(side)) not in batched),
        *(partial(side.render_with, *job) for job in extra for side in sides),
        *(partial(side.render_set, job, side is base_side) for job in sets for side in sides),
        *(partial(s.render_use, use, where) for job in gitops
          for s, use, where in ((head_side, job.head, g_head), (base_side, job.base, g_base))
          if s is not None and use is not None and where is not None)]
    runs: list[Callable[[], Sequence[Rendered | None]]] = [
        *batches, *(partial(_listed, job) for job in renders)]
    outs = concurrently(runs)
    built = {key: got for group, rendered in zip(keys, outs, strict=False)
             for key, got in zip(group, rendered, strict=True)}
    rest = iter(got for rendered in outs[len(batches):] for got in rendered)
    done = iter([*(built[(root, id(side))] if (root, id(side)) in built else next(rest)
                   for root in roots for side in sides), *rest])
    mains: dict[str, tuple[Rendered | None, Rendered | None]] = {}
    for root in roots:
        at_head = next(done)
        at_base = next(done) if base_side else None
        mains[root] = (at_head, at_base)
        if at_head is not None and at_head.failure and root in used:
            pass  # built within the kustomizations that use it, whose failure is reported
        elif at_head is not None and at_head.failure:
            anchors, hushed = failure_anchors(root, head_side.closures[root], changed, commits)
            unread = unread_change(root, head_side.closures[root], changed, head_side.read_map
                                   ) if is_chart(root) and at_base is not None and (
                at_base.failure == at_head.failure) else None
            problems.extend(problem(at_head, anchor, len(hushed)) if unread is None else
                            unread_problem(problem(at_head, anchor, len(hushed)), unread)
                            for anchor in anchors)
            quiet.extend(hushed)
        elif at_head is not None:
            # an object base rendered the same (same source, same text) is not touched by a
            # change of another input (an image bump beside a Secret), chart or kustomization
            heads.append(settled(at_head, at_base))
            if is_chart(root):
                templates = [p for p in head_side.closures[root]
                             if p in changed and "templates/" in p]
                base_read = base_side.read_map if base_side else None
                problems.extend(context_problems(head_side.read_map, base_read, templates))
                problems.extend(selection_problems(
                    head_side.read_map, base_read, head_side.closures[root], changed,
                    {d.source_path for d in at_head.documents}))
        if at_base is not None and not at_base.failure:
            bases.append(at_base)
    def take(at_head: Rendered | None, at_base: Rendered | None, anchors: Sequence[str],
             chart: str | None = None) -> None:
        """One render's pair: its failure reported at `anchors`, else its objects kept (those
        the main render of `chart` has the same on both sides left to it: `render_context.
        beside`)."""
        if chart is not None and at_head is not None and not at_head.failure:
            at_head, at_base = beside(at_head, at_base, *mains.get(chart, (None, None)))
        if at_head is not None and at_head.failure:
            problems.extend(problem(at_head, anchor) for anchor in anchors)
        elif at_head is not None:
            heads.append(settled(at_head, at_base))
        if at_base is not None and not at_base.failure:
            bases.append(at_base)

    for job in extra:  # a values file inside a chart that no configured render reads
        take(next(done), next(done) if base_side else None, (job.values,), job.chart)
    for set_job in sets:  # a chart a changed command line sets values of
        take(next(done), next(done) if base_side else None, (set_job.owner,), set_job.chart)
    for gjob in gitops:  # a chart an Argo CD or Flux object renders with inputs elsewhere
        at_head = next(done) if gjob.head is not None else None
        take(at_head, next(done) if gjob.base is not None and base_side else None,
             gjob.anchors)
    return RenderedChange(tuple(heads), tuple(bases), tuple(problems), tuple(quiet))


def kustomizations(jobs: Sequence[tuple[str, _Side]]
                   ) -> tuple[list[list[tuple[str, int]]], list[Callable[[], list[Rendered]]]]:
    """The kustomizations `jobs` ((directory, side) pairs; those present at their side) in
    batches (`kustomize_batch.plan`, one per core when nothing stands in the way): each
    batch's keys (directory, `id(side)`) and a job building it (`render_batch`), its
    `Rendered` in the order of the keys; none when there are fewer than two."""
    present = [(root, side) for root, side in jobs if root in side.closures]
    if len(present) < 2:
        return [], []
    raws = [side.read_map(side.closures[root]) for root, side in present]
    limits = limits_of(present[0][1].config)
    keys: list[list[tuple[str, int]]] = []
    runs: list[Callable[[], list[Rendered]]] = []
    for group in kustomize_batch.plan([(root, raw) for (root, _), raw in zip(
            present, raws, strict=True)], workers()):
        keys.append([(present[i][0], id(present[i][1])) for i in group])
        runs.append(partial(kustomize_batch.render_batch,
                            [(present[i][0], raws[i]) for i in group], limits))
    return keys, runs


def _listed(job: Callable[[], Rendered | None]) -> list[Rendered | None]:
    return [job()]


def inner(closures: Mapping[str, list[str]]) -> set[str]:
    """The kustomization directories of `closures` (directory -> files, its own kustomization
    file first) whose kustomization file is in another one's closure."""
    others = {p for d, files in closures.items() if not is_chart(d) for p in files[1:]}
    return {d for d, files in closures.items()
            if files and not is_chart(d) and files[0] in others}
