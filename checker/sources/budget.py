"""Bounded work per file: a wall-clock deadline around each parse, and a parallel map over files.

Mechanism (chosen over a worker process per file, which costs ~10-30 ms of fork and pickling per
file and would make a 5-file pre-commit run slower than the parse itself):

- `deadline(seconds)` arms `signal.setitimer(ITIMER_REAL)`; when it fires, the handler raises
  `BudgetExceeded` in the parsing code. python-hcl2 (lark) is pure Python and libyaml's
  composer calls back into Python for every node, so the signal is delivered within
  milliseconds. `BudgetExceeded` derives from `BaseException` so a library's own
  `except Exception` cannot swallow it.
- Where a signal timer cannot be used (not the main thread, or no `SIGALRM`, i.e. Windows), the
  parse runs in a one-off child process that is killed when the budget runs out.
- `parse_many` parses many files on every available core (forked worker processes, each of
  which uses the signal timer for its own files); few files are parsed in-process, or in one
  `ParseWorker` forked at the start of a `hook`/`check`, which imports the parsers on the
  second core while the parent reads git.

Either way a file over the budget becomes an NHI903 `ParseProblem` naming it; never a hang.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import struct
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from checker.model import ParseProblem, ParseResult, SourceFile
from checker.policy.catalogue import Catalogue

if TYPE_CHECKING:  # multiprocessing costs ~5 ms to import; only the fallbacks need it
    from multiprocessing.connection import Connection

ParseFn = Callable[[SourceFile, Catalogue], ParseResult]

#: Below this many files, parse in-process: forking workers costs more than it saves
#: (measured in benchmarks/RESULTS.md).
PARALLEL_MIN_FILES = 48
_CHUNK = 16


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


def _fork_ok() -> bool:
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
_WORKER_CATALOGUE: list[Catalogue] = []


def _init_worker(catalogue: Catalogue) -> None:
    _WORKER_CATALOGUE[:] = [catalogue]


def _run_chunk(chunk: Sequence[Job], seconds: float) -> list[ParseResult]:
    catalogue = _WORKER_CATALOGUE[0]
    return [parse_one(fn, src, catalogue, seconds) for fn, src in chunk]


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
    worker: ParseWorker | None = None,
) -> list[ParseResult]:
    """Run every `(parser, source)` job under the per-file budget; results in job order.

    Uses `workers` (default: `available_cores()`) forked processes when there are at least
    `PARALLEL_MIN_FILES` jobs and more than one core. Fewer jobs go to `worker` when one is
    given and still answers, else they are parsed in-process. If the pool breaks (a worker
    killed from outside), the unfinished jobs are parsed in-process.
    """
    n = workers if workers is not None else available_cores()
    if n <= 1 or len(jobs) < PARALLEL_MIN_FILES or not _fork_ok():
        if worker is not None and jobs:
            answered = worker.run(jobs, seconds)
            if answered is not None:
                return answered
        return [parse_one(fn, src, catalogue, seconds) for fn, src in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    chunks = [jobs[i : i + _CHUNK] for i in range(0, len(jobs), _CHUNK)]
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


_LENGTH = struct.Struct("!Q")
#: Pipe buffer asked for on Linux (the unprivileged maximum is 1 MiB by default).
_PIPE_BYTES = 1 << 20


#: Added to a batch's budget (`seconds` per job) when the parent waits for a `ParseWorker`
#: answer: the worker's own per-file deadlines normally answer long before that.
_WORKER_SLACK_SECONDS = 5.0


def _write_message(fd: int, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int, deadline_at: float | None) -> bytes | None:
    import time

    parts: list[bytes] = []
    while n:
        if deadline_at is not None:
            left = deadline_at - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _read_message(fd: int, deadline_at: float | None) -> object | None:
    head = _read_exact(fd, _LENGTH.size, deadline_at)
    if head is None:
        return None
    body = _read_exact(fd, _LENGTH.unpack(head)[0], deadline_at)
    return None if body is None else pickle.loads(body)


class ParseWorker:
    """One forked process that imports the parsers (`warm`) while the parent does other work,
    then parses the jobs the parent sends it, each under `parse_one`'s deadline.

    Why: a pre-commit run on a few files spends most of its time importing python-hcl2/lark
    and loading its grammar (~70 ms) and importing GitPython and asking git (~80 ms); these
    are independent, so on two cores they overlap (benchmarks/RESULTS.md, case (c)).

    Start with `ParseWorker.start(warm)`, where `warm()` imports what the jobs need and returns
    the catalogue; it is None where there is no `fork` or only one core. Use as a context
    manager, or call `close()`: the process is killed and reaped. Messages are pickles between
    this process and its own fork. If the worker dies or does not answer in time, `run`
    returns None and the caller parses in-process: nothing is lost.
    """

    def __init__(self, pid: int, to_child: int, from_child: int) -> None:
        self.pid = pid
        self._to_child = to_child
        self._from_child = from_child
        self._alive = True
        self._pending: tuple[int, float] | None = None  # (jobs, monotonic deadline)

    @classmethod
    def start(cls, warm: Callable[[], Catalogue]) -> ParseWorker | None:
        """Fork the worker; None when forking is unavailable or there is one core."""
        if not _fork_ok() or available_cores() < 2:
            return None
        jobs_r, jobs_w = os.pipe()
        results_r, results_w = os.pipe()
        if sys.platform == "linux":
            import fcntl

            # Let a batch be written while the worker is still importing, instead of
            # blocking at the 64 KiB default.
            for fd in (jobs_w, results_w):
                with contextlib.suppress(OSError):
                    fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the caller's code
            code = 0
            try:
                os.close(jobs_w)
                os.close(results_r)
                catalogue = warm()
                while True:
                    msg = _read_message(jobs_r, None)
                    if msg is None:
                        break
                    batch: list[Job]
                    seconds: float
                    batch, seconds = msg  # type: ignore[misc]
                    _write_message(results_w, [
                        parse_one(fn, src, catalogue, seconds) for fn, src in batch
                    ])  # fmt: skip
            except BaseException:  # the parent falls back to parsing itself
                code = 1
            finally:
                os._exit(code)
        os.close(jobs_r)
        os.close(results_w)
        return cls(pid, jobs_w, results_r)

    def run(self, jobs: Sequence[Job], seconds: float) -> list[ParseResult] | None:
        """The jobs' results in order, or None when the worker failed (it is then closed)."""
        return self.collect() if self.submit(jobs, seconds) else None

    def submit(self, jobs: Sequence[Job], seconds: float) -> bool:
        """Send `jobs` (parsed under `seconds` each) and return at once; False when the worker
        is gone. One batch at a time: `collect` it before submitting the next."""
        import time

        if not self._alive or self._pending is not None:
            return False
        try:
            _write_message(self._to_child, (list(jobs), seconds))
        except (OSError, pickle.PickleError, AttributeError, TypeError):
            self.close()
            return False
        self._pending = (len(jobs), time.monotonic() + len(jobs) * seconds)
        return True

    def collect(self) -> list[ParseResult] | None:
        """The submitted batch's results in order; None when the worker died or overran the
        batch's budget (the worker is then closed and the caller parses in-process)."""
        import time

        if not self._alive or self._pending is None:
            return None
        count, due = self._pending
        self._pending = None
        try:
            answer = _read_message(
                self._from_child, max(due, time.monotonic()) + _WORKER_SLACK_SECONDS
            )
        except (OSError, pickle.PickleError, EOFError, AttributeError, TypeError):
            answer = None
        if not isinstance(answer, list) or len(answer) != count:
            self.close()
            return None
        return answer

    def close(self) -> None:
        """Stop the worker (kill if it is still busy) and reap it; safe to call twice."""
        if not self._alive:
            return
        self._alive = False
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        try:
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done == 0:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
        except (ChildProcessError, ProcessLookupError):
            pass

    def __enter__(self) -> ParseWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
