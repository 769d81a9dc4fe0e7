"""CPU-time budgets: how much a parse may compute, counted in CPU seconds of the process that
runs it, so the same file gets the same verdict on an idle and on a loaded machine (issue 16).

- `Budget`: the per-file budget in CPU seconds, `seconds + seconds_per_mib * size / 2**20`
  (config `budgets.parse_seconds` and `budgets.parse_seconds_per_mib`; README "Budgets").
- `deadline(seconds)`: raises `BudgetExceeded` in its body once this process has used `seconds`
  of CPU time (user + system, all threads) since entering, via `ITIMER_PROF`/`SIGPROF`. A
  wall-clock backstop (`ITIMER_REAL`/`SIGALRM`) stops only a body that computes nothing: after
  each `stall_window(seconds)` of wall-clock time (`WALL_FACTOR` x `seconds`, at least
  `MIN_WINDOW_SECONDS`) it compares the CPU time used in that window with `MIN_CPU_SHARE` of
  it, and stops the body when it used less (blocked, not busy). A CPU-bound parse on a machine
  shared by many processes still gets a share far above that, so load changes how long it
  takes, never whether it fits.
- `Watch`: the same two limits seen from outside, for a process this one waits on (the
  `ParseWorker`, a one-off child), read from `/proc/<pid>/stat` where it exists; elsewhere it
  falls back to a wall-clock limit (`stall_window` of the CPU seconds allowed).
"""

from __future__ import annotations

import os
import select
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

#: The wall-clock backstop's window, as a multiple of the CPU-time budget...
WALL_FACTOR = 10
#: ... and never shorter than this: over a shorter window a runnable process on a busy machine
#: may simply not have been scheduled yet.
MIN_WINDOW_SECONDS = 5.0
#: A process that used less than this share of one CPU over a whole backstop window is
#: stalled (blocked on something, or stopped), not busy: it is stopped. Linux gives each of
#: 100 CPU-bound processes on one core about this share.
MIN_CPU_SHARE = 0.01
#: After a budget runs out, the timers repeat this often until the body is left.
_REFIRE_SECONDS = 0.02
_MIB = float(1 << 20)


@dataclass(frozen=True)
class Budget:
    """The CPU seconds one file's parse may use: `seconds` plus `seconds_per_mib` for each MiB
    (2**20 bytes) of the file, so a large file that parses at the usual rate fits while a
    pathological one is still stopped. Picklable (sent to parse workers)."""

    seconds: float = 5.0
    seconds_per_mib: float = 0.0

    def for_size(self, size: int) -> float:
        """The CPU seconds for a file of `size` bytes."""
        return self.seconds + self.seconds_per_mib * size / _MIB


def stall_window(seconds: float) -> float:
    """The wall-clock window over which a parse with a `seconds` CPU-time budget must get at
    least `MIN_CPU_SHARE` of a CPU: `WALL_FACTOR * seconds`, at least `MIN_WINDOW_SECONDS`."""
    return max(WALL_FACTOR * seconds, MIN_WINDOW_SECONDS)


class BudgetExceeded(BaseException):
    """Raised inside a parse when its budget runs out (a BaseException on purpose, so a
    library's own `except Exception` cannot swallow it). `stalled` is True when the wall-clock
    backstop stopped it (it got almost no CPU time), False when it used up its CPU time."""

    def __init__(self, stalled: bool = False) -> None:
        super().__init__("stalled" if stalled else "cpu")
        self.stalled = stalled


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise `BudgetExceeded` in the body once this process has used `seconds` of CPU time
    since entering (`stalled=False`), or when a window of wall-clock time (`stall_window`)
    passes in which it used less than `MIN_CPU_SHARE` of a CPU (`stalled=True`).

    Uses `ITIMER_PROF`/`SIGPROF` and `ITIMER_REAL`/`SIGALRM`; both handlers are restored and both
    timers cleared on exit. Main thread only (signal handlers run there); nesting is not
    supported. Other threads' CPU time counts too (the timer is per process).
    """
    window = stall_window(seconds)
    armed = [True]
    stop: list[bool | None] = [None]  # None: running; else the `stalled` of the first stop
    mark = [time.process_time()]  # CPU time at the start of the current backstop window

    def _stop(stalled: bool) -> None:
        if stop[0] is None:
            stop[0] = stalled
            # Keep firing (both clocks) until the body is left: an exception raised while the
            # interpreter runs a finalizer or weakref callback is printed and dropped
            # ("Exception ignored in ..."), so one signal could be lost.
            signal.setitimer(signal.ITIMER_REAL, _REFIRE_SECONDS, _REFIRE_SECONDS)
        raise BudgetExceeded(stalled if stop[0] is None else stop[0])

    def _on_cpu(_signum: int, _frame: FrameType | None) -> None:
        if armed[0]:
            _stop(False)

    def _on_wall(_signum: int, _frame: FrameType | None) -> None:
        if not armed[0]:
            return
        if stop[0] is None:
            now = time.process_time()
            if now - mark[0] >= MIN_CPU_SHARE * window:
                mark[0] = now  # busy: a new window starts
                return
        _stop(True if stop[0] is None else stop[0])

    previous_cpu = signal.signal(signal.SIGPROF, _on_cpu)
    previous_wall = signal.signal(signal.SIGALRM, _on_wall)
    signal.setitimer(signal.ITIMER_PROF, seconds, _REFIRE_SECONDS)
    signal.setitimer(signal.ITIMER_REAL, window, window)
    try:
        yield
    finally:
        while True:  # a repeat signal may land before `armed` is cleared: disarm again
            try:
                armed[0] = False
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGPROF, previous_cpu)
                signal.signal(signal.SIGALRM, previous_wall)
                break
            except BudgetExceeded:
                continue


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds process `pid` has used (`/proc/<pid>/stat`, fields 14 and 15),
    or None where that cannot be read (no `/proc`, or no such process)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        fields = stat[stat.rindex(b")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class Watch:
    """Waits on another process's output under the budgets `deadline` applies in-process.

    `wait(fd)` returns True once `fd` is readable, False when process `pid` has used more than
    `cpu_seconds` of CPU time since the `Watch` was made (`over` is then "cpu") or, while this
    process waits, a window of `window` wall-clock seconds passed in which it used less than
    `MIN_CPU_SHARE` of a CPU (`over` is "stalled"; each `wait` starts a new window, so time the
    caller spent elsewhere while the process sat finished does not count). Where its CPU time
    cannot be read, the limit is wall-clock time: `stall_window(cpu_seconds)` in all from the
    `Watch`'s making (`over` is "wall").
    """

    def __init__(self, pid: int, cpu_seconds: float, window: float) -> None:
        self.pid = pid
        self.window = max(window, _REFIRE_SECONDS)
        self.over: str | None = None
        start = process_cpu_seconds(pid)
        self._limit = None if start is None else start + cpu_seconds
        self._mark = 0.0 if start is None else start
        self._wall_due = time.monotonic() + stall_window(cpu_seconds)
        self._window_due = 0.0

    def wait(self, fd: int) -> bool:
        """True when `fd` is readable; False when the process is over a limit (see `over`)."""
        if self._limit is not None:
            self._mark = process_cpu_seconds(self.pid) or self._mark
            self._window_due = time.monotonic() + self.window
        while self.over is None:
            now = time.monotonic()
            if self._limit is None:
                if now >= self._wall_due:
                    self.over = "wall"
                    break
                step = min(self.window, self._wall_due - now)
            else:
                step = min(1.0, max(0.0, self._window_due - now))
            if select.select([fd], [], [], step)[0]:
                return True
            if self._limit is not None:
                self._check(self._limit)
        return False

    def _check(self, limit: float) -> None:
        used = process_cpu_seconds(self.pid)
        if used is None:
            return  # gone: its pipe reads as closed
        if used > limit:
            self.over = "cpu"
        elif time.monotonic() >= self._window_due:
            if used - self._mark < MIN_CPU_SHARE * self.window:
                self.over = "stalled"
            self._mark = used
            self._window_due = time.monotonic() + self.window
