"""`budget.parse_many(..., alongside=f)`: `scan` runs its renders in `f` while the parse pool
parses. `f` runs once, after the pool's workers are forked (so its threads never meet a fork),
and the parse answers as it would alone; a `scan` with a rendered kustomization gives the same
findings as before the overlap (tests/test_render_*.py)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from checker.model import ParseProblem, ParseResult, SourceFile
from checker.policy.catalogue import load_catalogue
from checker.sources import budget


def _echo(source: SourceFile, catalogue: Any) -> ParseResult:
    return ParseResult((), ())


def test_alongside_runs_once_after_the_workers_are_forked() -> None:
    jobs = [(_echo, SourceFile(f"d{i // 4}/f{i}.tf", b"x", None))
            for i in range(budget.PARALLEL_MIN_FILES + 8)]
    seen: list[int] = []
    out = budget.parse_many(jobs, load_catalogue(), 5.0, workers=2,
                            alongside=lambda: seen.append(len(multiprocessing.active_children())))
    assert len(out) == len(jobs)
    assert len(seen) == 1 and seen[0] >= 1  # the pool's workers were alive when it ran


def test_alongside_runs_once_without_a_pool() -> None:
    seen: list[str] = []
    out = budget.parse_many([(_echo, SourceFile("a.tf", b"x", None))], load_catalogue(), 5.0,
                            alongside=lambda: seen.append("ran"))
    assert len(out) == 1 and seen == ["ran"]


def _pid(source: SourceFile, catalogue: Any) -> ParseResult:
    import os

    if os.getpid() == int(source.raw):  # the test process
        return ParseResult((), ())
    return ParseResult((), (ParseProblem(source.path, "NHI901", f"in {os.getpid()}", 1),))


def test_an_early_pool_is_forked_at_start_and_parses_later_jobs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`Pool.start` forks its workers at once (they warm while the caller reads files);
    `parse_many(pool=)` then parses on them, in order, and the pool stays open until closed."""
    import os

    monkeypatch.setattr(budget, "available_cores", lambda: 2)
    warmed = multiprocessing.get_context("fork").Value("i", 0)

    def warm() -> None:
        with warmed.get_lock():
            warmed.value += 1

    pool = budget.Pool.start(load_catalogue(), warm)
    assert pool is not None
    with pool:
        children = multiprocessing.active_children()
        assert len(children) == 2  # forked before any job exists
        jobs = [(_pid, SourceFile(f"d{i // 4}/f{i}.tf", str(os.getpid()).encode(), None))
                for i in range(budget.PARALLEL_MIN_FILES + 8)]
        out = budget.parse_many(jobs, load_catalogue(), 5.0, pool=pool)
        assert [r.problems[0].path for r in out] == [src.path for _, src in jobs]
        assert all(r.problems[0].rule_id == "NHI901" for r in out)  # none parsed here
        assert warmed.value == 2
        assert len(budget.parse_many(jobs[:3], load_catalogue(), 5.0, pool=pool)) == 3
    assert multiprocessing.active_children() == []


def test_no_early_pool_while_another_thread_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    monkeypatch.setattr(budget, "available_cores", lambda: 2)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert budget.Pool.start(load_catalogue()) is None  # a fork would copy one thread only
    finally:
        stop.set()
        thread.join()


def test_scan_gives_the_same_findings_with_an_early_pool(tmp_path: Path) -> None:
    """A tree of enough files for a pool: `scan` forks it before reading and answers as an
    in-process parse does."""
    from checker.commands.scan import parse_tree, scan_sources
    from checker.pipeline import parse_sources
    from checker.policy.config import Config

    for i in range(budget.PARALLEL_MIN_FILES + 4):
        (tmp_path / f"m{i % 7}").mkdir(exist_ok=True)
        (tmp_path / f"m{i % 7}" / f"u{i}.tf").write_text(
            f'resource "aws_iam_user" "u{i}" {{\n  name = "u{i}"\n}}\n')
    (tmp_path / "sa.yaml").write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n"
                                      "  name: robot\n")
    alone = parse_sources(scan_sources([str(tmp_path)])[0], load_catalogue(), Config(),
                          workers=1)
    pooled = parse_tree([str(tmp_path)], Config())
    assert pooled.objects == alone.objects and pooled.problems == alone.problems
    assert len([o for o in pooled.objects if o.type == "aws_iam_user"]) == 52
    assert multiprocessing.active_children() == []
