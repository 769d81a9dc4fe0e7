"""`budget.parse_many(..., alongside=f)`: `scan` runs its renders in `f` while the parse pool
parses. `f` runs once, after the pool's workers are forked (so its threads never meet a fork),
and the parse answers as it would alone; a `scan` with a rendered kustomization gives the same
findings as before the overlap (tests/test_render_*.py)."""

from __future__ import annotations

import multiprocessing
from typing import Any

from checker.model import ParseResult, SourceFile
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
