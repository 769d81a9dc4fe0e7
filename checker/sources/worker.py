"""`ParseWorker`: one forked process that imports the parsers while `hook`/`check` read git,
then parses for them, each file under `budget.parse_one`'s CPU-time budget.

Why: a pre-commit run on a few files spends most of its time importing python-hcl2/lark and
loading its grammar and importing GitPython and asking git; these are independent, so on two
cores they overlap (benchmarks/RESULTS.md, case (c)).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable, Sequence

from checker.model import ParseResult
from checker.policy.catalogue import Catalogue
from checker.sources import budget
from checker.sources.budget import Budget, Job
from checker.sources.cputime import Watch, stall_window

_LENGTH = struct.Struct("!Q")
#: Pipe buffer asked for on Linux (the unprivileged maximum is 1 MiB by default).
_PIPE_BYTES = 1 << 20


#: CPU seconds added to a batch's budget (the sum of its files' budgets) when the parent waits
#: for a `ParseWorker` answer: the worker's own per-file budgets normally answer long before
#: that; this covers its imports and the pickling.
_WORKER_SLACK_SECONDS = 5.0


def _write_message(fd: int, obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int, watch: Watch | None) -> bytes | None:
    parts: list[bytes] = []
    while n:
        if watch is not None and not watch.wait(fd):
            return None
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _read_message(fd: int, watch: Watch | None) -> object | None:
    head = _read_exact(fd, _LENGTH.size, watch)
    if head is None:
        return None
    body = _read_exact(fd, _LENGTH.unpack(head)[0], watch)
    return None if body is None else pickle.loads(body)


class ParseWorker:
    """One forked process that imports the parsers (`warm`) while the parent does other work,
    then parses the jobs the parent sends it, each under `budget.parse_one`'s CPU-time budget.

    Start with `ParseWorker.start(warm)`, where `warm()` imports what the jobs need and returns
    the catalogue; it is None where there is no `fork` or only one core. Use as a context
    manager, or call `close()`: the process is killed and reaped. Messages are pickles between
    this process and its own fork. If the worker dies, or uses more CPU time than the batch's
    budgets allow, or stalls (`cputime.Watch`), `run` returns None and the caller parses
    in-process: nothing is lost. A worker that is merely slow (a loaded machine) is waited for.
    """

    def __init__(self, pid: int, to_child: int, from_child: int) -> None:
        self.pid = pid
        self._to_child = to_child
        self._from_child = from_child
        self._alive = True
        self._pending: Watch | None = None
        self._count = 0

    @classmethod
    def start(cls, warm: Callable[[], Catalogue]) -> ParseWorker | None:
        """Fork the worker; None when forking is unavailable or there is one core."""
        if not budget.can_fork() or budget.available_cores() < 2:
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
                    limit: Budget
                    batch, limit = msg  # type: ignore[misc]
                    _write_message(results_w, [
                        budget.parse_one(fn, src, catalogue, limit) for fn, src in batch
                    ])  # fmt: skip
            except BaseException:  # the parent falls back to parsing itself
                code = 1
            finally:
                os._exit(code)
        os.close(jobs_r)
        os.close(results_w)
        return cls(pid, jobs_w, results_r)

    def run(self, jobs: Sequence[Job], limit: Budget | float) -> list[ParseResult] | None:
        """The jobs' results in order, or None when the worker failed (it is then closed)."""
        return self.collect() if self.submit(jobs, limit) else None

    def submit(self, jobs: Sequence[Job], limit: Budget | float) -> bool:
        """Send `jobs` (each parsed under `limit`, see `budget.parse_one`) and return at once;
        False when the worker is gone. One batch at a time: `collect` it before submitting
        the next."""
        if not self._alive or self._pending is not None:
            return False
        limit = budget.as_budget(limit)
        try:
            _write_message(self._to_child, (list(jobs), limit))
        except (OSError, pickle.PickleError, AttributeError, TypeError):
            self.close()
            return False
        total = sum(limit.for_size(len(src.raw)) for _, src in jobs)
        self._pending = Watch(self.pid, total + _WORKER_SLACK_SECONDS,
                              stall_window(limit.seconds))
        self._count = len(jobs)
        return True

    def collect(self) -> list[ParseResult] | None:
        """The submitted batch's results in order; None when the worker died, overran the
        batch's CPU time or stalled (the worker is then closed and the caller parses
        in-process)."""
        if not self._alive or self._pending is None:
            return None
        watch, count = self._pending, self._count
        self._pending = None
        try:
            answer = _read_message(self._from_child, watch)
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
