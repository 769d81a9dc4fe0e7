"""`nhi-gate scan PATH...`: every identity in files on disk; every finding counts."""

from __future__ import annotations

import argparse
import contextlib
import functools
import posixpath
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from checker import __version__
from checker.approval.apply import Approvals
from checker.change import ChangeSet
from checker.commands.local_policy import (
    baseline_from_disk,
    baseline_of,
    config_from_disk,
    scan_root,
)
from checker.commands.render_disk import RenderedChange, rendered_on_disk
from checker.commands.report import report
from checker.commands.symlinks import inside_root
from checker.errors import NhiGateError
from checker.model import IdentityObject, ParseProblem, SourceFile, Verdict
from checker.parsers.common import file_references
from checker.pipeline import (
    Parsed,
    parse_sources,
    run_rules,
    warm_parsers,
    with_problems,
    with_rendered,
)
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config
from checker.reporters import RunInfo
from checker.sources.budget import PARALLEL_MIN_FILES, Pool
from checker.sources.discovery import classify, reads_hcl, walk
from checker.sources.modules import is_config_file
from checker.sources.templates import CHART_FILE, IGNORE_FILE, template_charts

#: Scans of more files than this show a progress line on stderr when it is a terminal.
PROGRESS_MIN_FILES = 300
_PROGRESS_CHUNK = 200


def scan_sources(paths: Sequence[str], listed: Callable[[Sequence[str]], object] | None = None
                 ) -> tuple[list[SourceFile], list[ParseProblem]]:  # fmt: skip
    """The files under `paths` (see `discovery.walk`) and an NHI902 problem for each symbolic
    link that names a file nhi-gate reads: links are not followed, and never silently.
    `listed`, when given, is called with the files' names once they are listed, before any is
    read (`scan` forks its parse workers there). Raises `NhiGateError` for a path that does
    not exist or a file that cannot be read."""
    roots = [Path(p) for p in paths]
    for root in roots:
        if not root.exists() and not root.is_symlink():
            raise NhiGateError(f"{root}: no such file or directory")
    single_dir = len(roots) == 1 and roots[0].is_dir()
    anchor = roots[0]
    if single_dir:
        # Scanning `.github` (or below it) keeps the `.github/workflows/` prefix that tells a
        # workflow from other YAML: paths are then relative to the folder holding `.github`.
        parts = roots[0].resolve().parts
        if ".github" in parts:
            anchor = Path(*parts[: parts.index(".github")])
        # Likewise a chart's `templates/` (or below): paths start at the chart, so its
        # templates are told from plain manifests (`checker.sources.templates`).
        anchor = _chart_anchor(parts) or anchor
    sources: list[SourceFile] = []
    problems: list[ParseProblem] = []
    disk: dict[str, Path] = {}
    listing = list(walk(roots))
    if listed is not None:
        listed([full.name for full, _ in listing])
    for full, display in listing:
        if not single_dir or full == roots[0]:
            rel = display
        elif anchor is roots[0]:
            rel = full.relative_to(anchor).as_posix()
        else:
            rel = (full.parent.resolve() / full.name).relative_to(anchor).as_posix()
        if full.is_symlink():
            if classify(rel, None) is not None and not inside_root(full, tuple(roots)):
                problems.append(ParseProblem(
                    rel, "NHI902",
                    f"{rel}: symbolic link; links are not followed, so the file it points to "
                    "was not analysed (scan the target itself)",
                ))  # fmt: skip
            continue
        try:
            raw = full.read_bytes()
        except OSError as exc:
            raise NhiGateError(f"{full}: cannot read: {exc.strerror}") from exc
        sources.append(SourceFile(rel, raw, None))
        disk[rel] = full
    return sources + referenced_on_disk(sources, disk) + charts_on_disk(sources, disk), problems


def _chart_anchor(parts: Sequence[str]) -> Path | None:
    """The chart folder (holding `Chart.yaml`) of a resolved path `parts` inside its
    `templates/` folder, else None."""
    for i in range(len(parts) - 1, 0, -1):
        if parts[i] == "templates" and (Path(*parts[:i]) / CHART_FILE).is_file():
            return Path(*parts[:i])
    return None


def charts_on_disk(sources: Sequence[SourceFile], disk: Mapping[str, Path]
                   ) -> list[SourceFile]:  # fmt: skip
    """The `Chart.yaml` and `.helmignore` files beside the `templates/` folders that hold files
    of `sources` (`disk`: source path -> file) that the walk did not yield (a template scanned
    alone; `.helmignore` is never yielded), so that the parse knows which of those files are
    chart templates and which the chart leaves out (read as plain manifests). Links and
    unreadable files are left out: without its `Chart.yaml` the folder is not a chart."""
    have = {s.path for s in sources}
    found: dict[str, SourceFile] = {}
    for src in sources:
        if src.path not in disk:
            continue
        depth = src.path.count("/")
        for chart in template_charts(src.path):
            folder = disk[src.path].parents[depth - (chart.count("/") + 1 if chart else 0)]
            for file in (CHART_FILE, IGNORE_FILE):
                name = f"{chart}/{file}" if chart else file
                full = folder / file
                if name in have or name in found or full.is_symlink() or not full.is_file():
                    continue
                try:
                    found[name] = SourceFile(name, full.read_bytes(), None)
                except OSError:
                    continue
    return [found[p] for p in sorted(found)]


def referenced_on_disk(sources: Sequence[SourceFile], disk: Mapping[str, Path]
                       ) -> list[SourceFile]:  # fmt: skip
    """The files the `.tf` files of `sources` read with `file()`/`templatefile()` (policy and
    trust documents, templates) that the walk did not yield, read from disk next to the `.tf`
    file that names them (`disk`: source path -> file). Missing files, links and files that
    cannot be read are left out: the document stays unresolved."""
    have = {s.path for s in sources}
    found: dict[str, SourceFile] = {}
    for src in sources:
        named = file_references(src.path, src.raw) if is_config_file(src.path) else []
        for ref in named if src.path in disk else ():
            if ref in have or ref in found:
                continue
            parent = posixpath.dirname(src.path)
            full = disk[src.path].parent / posixpath.relpath(ref, parent or ".")
            if full.is_symlink() or not full.is_file():
                continue
            try:
                found[ref] = SourceFile(ref, full.read_bytes(), None)
            except OSError:
                continue
    return [found[p] for p in sorted(found)]


def _parse_with_progress(sources: Sequence[SourceFile], config: Config,
                         alongside: Callable[[], object] | None = None,
                         pool: Pool | None = None) -> Parsed:
    """`parse_sources` (`alongside` run while it parses; on `pool` when one was forked), in
    chunks with a `\r` progress line on stderr for big scans on a TTY (then `alongside` is not
    called)."""
    catalogue = load_catalogue()
    if len(sources) <= PROGRESS_MIN_FILES or not sys.stderr.isatty():
        return parse_sources(sources, catalogue, config, alongside=alongside, pool=pool)
    objects: list[IdentityObject] = []
    problems: list[ParseProblem] = []
    total = len(sources)
    for start in range(0, total, _PROGRESS_CHUNK):
        chunk = parse_sources(sources[start : start + _PROGRESS_CHUNK], catalogue, config,
                              pool=pool)
        objects.extend(chunk.objects)
        problems.extend(chunk.problems)
        done = min(total, start + _PROGRESS_CHUNK)
        sys.stderr.write(f"\rnhi-gate: parsed {done}/{total} files")
        sys.stderr.flush()
    sys.stderr.write("\n")
    return Parsed(tuple(objects), tuple(problems))


def parse_tree(paths: Sequence[str], config: Config) -> Parsed:
    """Identities and problems of the files under `paths` (as `scan` reads them), with the
    objects of every leaf kustomization and chart under them, rendered (`render_tree`): the
    renders run while the parse workers parse."""
    with contextlib.ExitStack() as stack:
        early = _EarlyPool(stack)
        sources, links = scan_sources(paths, early)
        return _parse_and_render(paths, sources, links, config, pool=early.pool)


class _EarlyPool:
    """What `scan_sources` calls once the files are listed: for as many files as
    `budget.parse_many` parses on a pool, fork the pool then (closed with `stack`), so that its
    workers import the parsers (python-hcl2 only for Terraform files) while this process reads
    the files; `pool` is that pool, or None."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self.stack = stack
        self.pool: Pool | None = None

    def __call__(self, names: Sequence[str]) -> None:
        if len(names) < PARALLEL_MIN_FILES:
            return
        self.pool = Pool.start(load_catalogue(),
                               functools.partial(warm_parsers, reads_hcl(names)))
        if self.pool is not None:
            self.stack.enter_context(self.pool)


def _parse_and_render(paths: Sequence[str], sources: Sequence[SourceFile],
                      links: Sequence[ParseProblem], config: Config,
                      warm: Callable[[], object] | None = None,
                      pool: Pool | None = None) -> Parsed:
    """The parse of `sources` with the renders under `paths`; both `render_tree` and `warm`
    (loading what the rules and report need) run while the parse workers parse."""
    found: list[RenderedChange] = []

    def alongside() -> None:
        found.append(render_tree(paths, config))
        if warm is not None:
            warm()

    parsed = _parse_with_progress(sources, config, alongside=alongside, pool=pool)
    rendered = found[0] if found else render_tree(paths, config)
    return with_rendered(with_problems(parsed, links), rendered.head, rendered.problems)


def render_tree(paths: Sequence[str], config: Config) -> RenderedChange:
    """The renders of the leaf kustomizations and charts under the directories `paths`
    (`commands.render_disk.rendered_on_disk`), their paths shown as `scan` shows the files:
    relative to the one directory scanned, else under each path as given."""
    roots = [Path(p) for p in paths]
    rels = ([""] if len(roots) == 1 and roots[0].is_dir()
            else [posixpath.normpath(r.as_posix()) for r in roots])
    return rendered_on_disk(roots, rels, config)


def scan_verdict(
    paths: Sequence[str], config: Config, fail_on: str | None, baseline: tuple[str, str] | None,
    warm: Callable[[], object] | None = None,
) -> Verdict:
    """The verdict on the files under `paths`: every author counts, no git, no base side.
    `baseline` is the baseline file as (text, label), or None; `warm` loads the rules and the
    report while the files are parsed (`checker.commands.load_while_parsing`)."""
    with contextlib.ExitStack() as stack:
        early = _EarlyPool(stack)
        sources, links = scan_sources(paths, early)
        parsed = _parse_and_render(paths, sources, links, config, warm, early.pool)
    changeset = ChangeSet(None, None)
    verdict, _ = run_rules(
        parsed, Parsed((), ()), mode="scan", config=config, changeset=changeset,
        provenance={}, fail_on=fail_on, sources=sources,
        approvals=Approvals(baseline=baseline_of(baseline)),
    )
    return verdict


def scan(args: argparse.Namespace, warm: Callable[[], object] | None = None) -> int:
    """`nhi-gate scan PATH...`: every identity in files on disk; every finding counts.

    The config (and baseline) come from the current directory, else (like Checkov's `-d`)
    from the one directory scanned; never from the first of several PATHs. `warm` is called
    while the files are parsed (`scan_verdict`).
    """
    root = scan_root(args.paths)
    config = config_from_disk(args, root)
    verdict = scan_verdict(args.paths, config, args.fail_on, baseline_from_disk(root, config),
                           warm)
    return report(verdict, RunInfo(__version__, "scan", None, None,
                                   args.fail_on or config.fail_on), args)
