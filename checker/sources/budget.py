"""Bounded work per file: a wall-clock deadline around each parse, and a parallel map over files.

Mechanism (chosen over a worker process per file, which pays a fork and pickling per file and
would make a 5-file pre-commit run slower than the parse itself; benchmarks/RESULTS.md):

- `deadline(seconds)` arms `signal.setitimer(ITIMER_REAL)`; when it fires, the handler raises
  `BudgetExceeded` in the parsing code. python-hcl2 (lark) is pure Python and libyaml's
  composer calls back into Python for every node, so the signal is delivered within
  milliseconds. `BudgetExceeded` derives from `BaseException` so a library's own
  `except Exception` cannot swallow it.
- Where a signal timer cannot be used (not the main thread, or no `SIGALRM`, i.e. Windows), the
  parse runs in a one-off child process that is killed when the budget runs out.
- `parse_many` parses many files on every available core (forked worker processes, each of
  which uses the signal timer for its own files); few files are parsed in-process, or in one
  `checker.sources.worker.ParseWorker` forked at the start of a `hook`/`check`, which imports
  the parsers on the second core while the parent reads git.

Either way a file over the budget becomes an NHI903 `ParseProblem` naming it; never a hang.
"""

from __future__ import annotations

import os
import posixpath
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Protocol

from checker.model import ParseProblem, ParseResult, SourceFile
from checker.policy.catalogue import Catalogue

if TYPE_CHECKING:  # multiprocessing costs ~5 ms to import; only the fallbacks need it
    from multiprocessing.connection import Connection

ParseFn = Callable[[SourceFile, Catalogue], ParseResult]

#: Below this many files, parse in-process: forking workers costs more than it saves
#: (measured in benchmarks/RESULTS.md).
PARALLEL_MIN_FILES = 48
_CHUNK = 16
#: A directory with more jobs than this is cut into chunks of this size.
_CHUNK_MAX = 64


#: After the budget runs out, the alarm repeats this often until the parse is abandoned.
_REFIRE_SECONDS = 0.02


class BudgetExceeded(BaseException):
    """Raised inside a parse when its time budget runs out (a BaseException on purpose)."""


def _signal_timer_usable() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise `BudgetExceeded` in the body once `seconds` (wall clock) have passed.

    Uses `ITIMER_REAL`/`SIGALRM`; the previous handler and timer are restored on exit. Must be
    called from the main thread (`parse_one` checks); nesting is not supported.
    """

    armed = [True]

    def _fire(_signum: int, _frame: FrameType | None) -> None:
        if armed[0]:
            raise BudgetExceeded

    previous = signal.signal(signal.SIGALRM, _fire)
    # Keep firing after the first alarm: an exception raised while the interpreter runs a
    # finalizer or weakref callback is printed and dropped ("Exception ignored in ..."), so a
    # one-shot alarm could be lost and the parse would run on unbounded.
    signal.setitimer(signal.ITIMER_REAL, seconds, _REFIRE_SECONDS)
    try:
        yield
    finally:
        while True:  # a repeat alarm may land before `armed` is cleared: disarm again
            try:
                armed[0] = False
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
                break
            except BudgetExceeded:
                continue


def over_budget(path: str, seconds: float) -> ParseProblem:
    """The NHI903 problem for a file whose parse ran out of time."""
    return ParseProblem(
        path,
        "NHI903",
        f"{path}: parsing took longer than the {seconds:g}-second budget; not analysed",
    )


def _child(conn: Connection, parse: ParseFn, source: SourceFile, catalogue: Catalogue) -> None:
    conn.send(parse(source, catalogue))
    conn.close()


def can_fork() -> bool:
    """Whether this platform can fork worker processes (`os.fork` and `register_at_fork`)."""
    return hasattr(os, "fork") and hasattr(os, "register_at_fork")


def _parse_in_child(
    parse: ParseFn, source: SourceFile, catalogue: Catalogue, seconds: float
) -> ParseResult:
    import multiprocessing
    from multiprocessing.context import ForkContext, SpawnContext

    ctx: ForkContext | SpawnContext = (
        multiprocessing.get_context("fork")
        if "fork" in multiprocessing.get_all_start_methods()
        else multiprocessing.get_context("spawn")
    )
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, parse, source, catalogue), daemon=True)
    proc.start()
    send.close()
    try:
        if recv.poll(seconds):
            try:
                result: ParseResult = recv.recv()
                return result
            except EOFError:
                pass  # the child died without an answer: treat as over budget
        return ParseResult(problems=(over_budget(source.path, seconds),))
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        recv.close()


def parse_one(
    parse: ParseFn, source: SourceFile, catalogue: Catalogue, seconds: float
) -> ParseResult:
    """`parse(source, catalogue)`, or an NHI903 result when it takes longer than `seconds`."""
    if not _signal_timer_usable():
        return _parse_in_child(parse, source, catalogue, seconds)
    try:
        with deadline(seconds):
            return parse(source, catalogue)
    except BudgetExceeded:
        return ParseResult(problems=(over_budget(source.path, seconds),))


Job = tuple[ParseFn, SourceFile]


class BatchParser(Protocol):
    """What `parse_many` asks of a `checker.sources.worker.ParseWorker`."""

    def run(self, jobs: Sequence[Job], seconds: float) -> list[ParseResult] | None:
        """The jobs' results in order, or None when the worker could not answer."""
_WORKER_CATALOGUE: list[Catalogue] = []


def _init_worker(catalogue: Catalogue) -> None:
    _WORKER_CATALOGUE[:] = [catalogue]


def _run_chunk(chunk: Sequence[Job], seconds: float) -> list[ParseResult]:
    catalogue = _WORKER_CATALOGUE[0]
    return [parse_one(fn, src, catalogue, seconds) for fn, src in chunk]


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
    seconds: float,
    *,
    workers: int | None = None,
    worker: BatchParser | None = None,
) -> list[ParseResult]:
    """Run every `(parser, source)` job under the per-file budget; results in job order.

    Uses `workers` (default: `available_cores()`) forked processes when there are at least
    `PARALLEL_MIN_FILES` jobs and more than one core. Fewer jobs go to `worker` when one is
    given and still answers, else they are parsed in-process. If the pool breaks (a worker
    killed from outside), the unfinished jobs are parsed in-process.
    """
    n = workers if workers is not None else available_cores()
    if n <= 1 or len(jobs) < PARALLEL_MIN_FILES or not can_fork():
        if worker is not None and jobs:
            answered = worker.run(jobs, seconds)
            if answered is not None:
                return answered
        return [parse_one(fn, src, catalogue, seconds) for fn, src in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    chunks = _chunks(jobs)
    results: list[list[ParseResult] | None] = [None] * len(chunks)
    try:
        with ProcessPoolExecutor(
            max_workers=min(n, len(chunks)),
            mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker,
            initargs=(catalogue,),
        ) as pool:
            futures = [pool.submit(_run_chunk, chunk, seconds) for chunk in chunks]
            for i, fut in enumerate(futures):
                results[i] = fut.result()
    except BrokenProcessPool:
        pass
    out: list[ParseResult] = []
    for chunk, res in zip(chunks, results, strict=True):
        if res is None:
            res = [parse_one(fn, src, catalogue, seconds) for fn, src in chunk]
        out.extend(res)
    return out
