"""Bounded work per file: a CPU-time budget around each parse, and a parallel map over files.

Mechanism (chosen over a worker process per file, which pays a fork and pickling per file and
would make a 5-file pre-commit run slower than the parse itself; benchmarks/RESULTS.md):

- `parse_one` runs a parse under `checker.sources.cputime.deadline`: a file of `n` bytes may use
  `Budget.for_size(n)` seconds of this process's CPU time (`ITIMER_PROF`), and a wall-clock
  backstop stops only a parse that gets almost no CPU time (blocked, not busy). CPU time, not
  wall-clock time, so a loaded machine gives the same verdict as an idle one. python-hcl2
  (lark) is pure Python and libyaml's composer calls back into Python for every node, so the
  signal is delivered within milliseconds.
- Where a signal timer cannot be used (not the main thread, or no `setitimer`, i.e. Windows),
  the parse runs in a one-off child process: a forked child applies the same `deadline` to
  itself and the parent watches its CPU time (`cputime.Watch`); a child without a signal timer
  is bounded by wall-clock time only (`cputime.stall_window` of its budget).
- `parse_many` parses many files on every available core (forked worker processes, each of
  which uses the signal timers for its own files); few files are parsed in-process, or in one
  `checker.sources.worker.ParseWorker` forked at the start of a `hook`/`check`, which imports
  the parsers on the second core while the parent reads git.

Either way a file over the budget becomes an NHI903 `ParseProblem` naming it; never a hang.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import signal
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from checker.model import ParseProblem, ParseResult, SourceFile
from checker.policy.catalogue import Catalogue
from checker.policy.config import Config
from checker.sources.cputime import (
    Budget,
    BudgetExceeded,
    Watch,
    deadline,
    stall_window,
)

if TYPE_CHECKING:  # multiprocessing costs ~5 ms to import; only the fallbacks need it
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.connection import Connection

__all__ = ["Budget", "BudgetExceeded", "Pool", "deadline", "over_budget", "parse_budget",
           "parse_many", "parse_one"]

ParseFn = Callable[[SourceFile, Catalogue], ParseResult]

#: Below this many files, parse in-process: forking workers costs more than it saves
#: (measured in benchmarks/RESULTS.md).
PARALLEL_MIN_FILES = 48
_CHUNK = 16
#: A directory with more jobs than this is cut into chunks of this size.
_CHUNK_MAX = 64


def _signal_timer_usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def over_budget(path: str, seconds: float, stalled: bool = False) -> ParseProblem:
    """The NHI903 problem for a file whose parse ran out of CPU time (`seconds`, its scaled
    budget), or, `stalled`, was stopped by the wall-clock backstop."""
    if stalled:
        return ParseProblem(
            path,
            "NHI903",
            f"{path}: parsing stalled: almost no CPU time in {stall_window(seconds):.3g} s of "
            f"wall-clock time (its CPU-time budget is {seconds:.3g} s); not analysed",
        )
    return ParseProblem(
        path,
        "NHI903",
        f"{path}: parsing used more than its {seconds:.3g}-second CPU-time budget; not analysed",
    )


def as_budget(budget: Budget | float) -> Budget:
    """`budget`, or a flat `Budget(budget)` (no size scaling) for a number of seconds."""
    return budget if isinstance(budget, Budget) else Budget(float(budget))


def parse_budget(config: Config) -> Budget:
    """The per-file budget the config sets (`budgets.parse_seconds`, `parse_seconds_per_mib`)."""
    return Budget(config.parse_seconds, config.parse_seconds_per_mib)


def _child(conn: Connection, parse: ParseFn, source: SourceFile, catalogue: Catalogue,
           budget: Budget) -> None:
    # A forked child runs this in its main thread: the same CPU-time deadline as in-process.
    usable = _signal_timer_usable()
    conn.send(parse_one(parse, source, catalogue, budget) if usable else parse(source, catalogue))
    conn.close()


def can_fork() -> bool:
    """Whether this platform can fork worker processes (`os.fork` and `register_at_fork`)."""
    return hasattr(os, "fork") and hasattr(os, "register_at_fork")


def _parse_in_child(
    parse: ParseFn, source: SourceFile, catalogue: Catalogue, budget: Budget
) -> ParseResult:
    import multiprocessing
    from multiprocessing.context import ForkContext, SpawnContext

    ctx: ForkContext | SpawnContext = (
        multiprocessing.get_context("fork")
        if "fork" in multiprocessing.get_all_start_methods()
        else multiprocessing.get_context("spawn")
    )
    seconds = budget.for_size(len(source.raw))
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, parse, source, catalogue, budget), daemon=True)
    proc.start()
    send.close()
    try:
        assert proc.pid is not None
        # The child stops itself at its budget; the watch covers a child that cannot (stuck
        # outside Python, or no signal timer): a second more of CPU time, or a stall.
        watch = Watch(proc.pid, seconds + 1.0, stall_window(seconds))
        if watch.wait(recv.fileno()):
            try:
                result: ParseResult = recv.recv()
                return result
            except EOFError:
                pass  # the child died without an answer: treat as over budget
        return ParseResult(problems=(over_budget(source.path, seconds, watch.over == "stalled"),))
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        recv.close()


def parse_one(
    parse: ParseFn, source: SourceFile, catalogue: Catalogue, budget: Budget | float
) -> ParseResult:
    """`parse(source, catalogue)`, or an NHI903 result when it uses more than its budget of CPU
    time (`Budget.for_size` of the file's size; a number is a flat budget) or stalls."""
    budget = as_budget(budget)
    if not _signal_timer_usable():
        return _parse_in_child(parse, source, catalogue, budget)
    seconds = budget.for_size(len(source.raw))
    try:
        with deadline(seconds):
            return parse(source, catalogue)
    except BudgetExceeded as exc:
        return ParseResult(problems=(over_budget(source.path, seconds, exc.stalled),))


Job = tuple[ParseFn, SourceFile]


class BatchParser(Protocol):
    """What `parse_many` asks of a `checker.sources.worker.ParseWorker`."""

    def run(self, jobs: Sequence[Job], budget: Budget) -> list[ParseResult] | None:
        """The jobs' results in order, or None when the worker could not answer."""
_WORKER_CATALOGUE: list[Catalogue] = []


def _init_worker(catalogue: Catalogue, warm: Callable[[], object] | None = None) -> None:
    _WORKER_CATALOGUE[:] = [catalogue]
    if warm is not None:
        warm()


def _started() -> None:
    """The first task of each `Pool` worker: one submitted per worker forks them all."""


class Pool:
    """Parse worker processes forked before the files are read (`Pool.start`), so that each
    imports the parsers (`warm`) while this process reads and plans; `parse_many(pool=...)`
    parses on them. A context manager: leaving it shuts the workers down.
    """

    def __init__(self, executor: ProcessPoolExecutor, workers: int) -> None:
        self.executor = executor
        self.workers = workers

    @classmethod
    def start(cls, catalogue: Catalogue, warm: Callable[[], object] | None = None,
              workers: int | None = None) -> Pool | None:
        """Fork `workers` (default: `available_cores()`) processes now, each calling `warm()`
        once. None with one core, without `fork`, or when this process already runs other
        threads (a fork copies only the calling thread; `parse_many` then forks its own pool
        later, as before)."""
        import threading

        n = workers if workers is not None else available_cores()
        if n <= 1 or not can_fork() or threading.active_count() > 1:
            return None
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        executor = ProcessPoolExecutor(
            max_workers=n, mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker, initargs=(catalogue, warm),
        )  # fmt: skip
        for _ in range(n):  # under `fork` the first submit forks every worker
            executor.submit(_started)
        return cls(executor, n)

    def close(self) -> None:
        """Shut the workers down (queued work is dropped)."""
        self.executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_chunk(chunk: Sequence[Job], budget: Budget) -> list[ParseResult]:
    catalogue = _WORKER_CATALOGUE[0]
    return [parse_one(fn, src, catalogue, budget) for fn, src in chunk]


def _chunks(jobs: Sequence[Job]) -> list[Sequence[Job]]:
    """`jobs` cut into consecutive chunks of about `_CHUNK` jobs, never between two jobs of
    one directory (unless it alone holds more than `_CHUNK_MAX`): the files of a Terraform
    module read each other's values (and the same called modules), and a worker's caches
    (`checker.parsers.terraform.hcl.load`, `values.module_values`) then parse each once."""
    out: list[Sequence[Job]] = []
    start = 0
    for i in range(1, len(jobs) + 1):
        size = i - start
        if i < len(jobs) and (size < _CHUNK or (
                size < _CHUNK_MAX and _directory(jobs[i]) == _directory(jobs[i - 1]))):
            continue
        out.append(jobs[start:i])
        start = i
    return out


def _directory(job: Job) -> str:
    return posixpath.dirname(job[1].path)


def available_cores() -> int:
    """CPUs this process may run on (`sched_getaffinity` where it exists, else `cpu_count`)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def parse_many(
    jobs: Sequence[Job],
    catalogue: Catalogue,
    budget: Budget | float,
    *,
    workers: int | None = None,
    worker: BatchParser | None = None,
    alongside: Callable[[], object] | None = None,
    pool: Pool | None = None,
) -> list[ParseResult]:
    """Run every `(parser, source)` job under the per-file budget (`parse_one`); results in
    job order.

    Uses `workers` (default: `available_cores()`) forked processes when there are at least
    `PARALLEL_MIN_FILES` jobs and more than one core. Fewer jobs go to `worker` when one is
    given and still answers, else they are parsed in-process. If the pool breaks (a worker
    killed from outside), the unfinished jobs are parsed in-process.

    `pool`, when given (forked earlier: `Pool.start`), is the pool used (on the same condition,
    enough jobs); it stays open for the caller to close.

    `alongside`, when given, is called once in this process while the pool parses, after its
    workers are forked (so it may start threads: `scan` runs its renders there); without a
    pool, before the parse. What it raises is raised.
    """
    budget = as_budget(budget)
    n = workers if workers is not None else pool.workers if pool else available_cores()
    if n <= 1 or len(jobs) < PARALLEL_MIN_FILES or not can_fork():
        if alongside is not None:
            alongside()
        if worker is not None and jobs:
            answered = worker.run(jobs, budget)
            if answered is not None:
                return answered
        return [parse_one(fn, src, catalogue, budget) for fn, src in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    chunks = _chunks(jobs)
    results: list[list[ParseResult] | None] = [None] * len(chunks)
    try:
        with contextlib.nullcontext(pool.executor) if pool else ProcessPoolExecutor(
            max_workers=min(n, len(chunks)),
            mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker,
            initargs=(catalogue,),
        ) as executor:
            futures = [executor.submit(_run_chunk, chunk, budget) for chunk in chunks]
            # every worker is forked by now (one per submit, or all at the first under fork)
            if alongside is not None:
                call, alongside = alongside, None
                call()
            for i, fut in enumerate(futures):
                results[i] = fut.result()
    except BrokenProcessPool:
        pass
    if alongside is not None:  # the pool broke before it was called
        alongside()
    out: list[ParseResult] = []
    for chunk, res in zip(chunks, results, strict=True):
        if res is None:
            res = [parse_one(fn, src, catalogue, budget) for fn, src in chunk]
        out.extend(res)
    return out
