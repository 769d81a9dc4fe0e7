"""The `nhi-gate` command line: argument parsing, dispatch to `checker.commands`, exit codes.

This is the only module that prints errors or picks an exit code. Exit codes (DESIGN.md):
0 no blocking finding · 1 blocking findings · 2 usage, config or input error (no verdict).
Which parts of nhi-gate load when (pre-commit start-up time) is decided in
`checker.commands`, "Start-up order".
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from checker import commands
from checker.errors import NhiGateError

if TYPE_CHECKING:
    import argparse

def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand (`checker.cli_args.build_parser`)."""
    from checker import cli_args

    return cli_args.build_parser()


class Terminated(BaseException):
    """Raised in the main thread when the process gets SIGTERM (CI cancelling a job), so the
    run ends like an interrupt: workers closed, exit 2, never a verdict."""


#: The signals this process was sent (its own process only): a handler's exception that
#: Python drops (raised inside a finalizer) must still end the run with no verdict.
_SIGNALLED: list[str] = []


def _on_sigterm(_signum: int, _frame: object) -> None:
    _SIGNALLED.append("terminated (SIGTERM)")
    raise Terminated


class Interrupted(BaseException):
    """Raised in the main thread on SIGINT when nhi-gate is its own process. Not
    `KeyboardInterrupt`: CPython remembers a KeyboardInterrupt raised while code compiled from
    a string runs (a `dataclasses` method made during a lazy import) and, under `python -m`,
    ends the process by SIGINT at exit although the interrupt was handled (exit -2, not 2)."""


def _on_sigint(_signum: int, _frame: object) -> None:
    _SIGNALLED.append("interrupted (SIGINT)")
    raise Interrupted


@contextlib.contextmanager
def _error_handler() -> Iterator[list[int]]:
    """Map failures to exit code 2 with a one-line message; never a traceback by default.

    An interrupt (SIGINT, or SIGTERM when running as its own process), or standard output
    closed before the report is written, is also exit 2: no verdict is ever read as a pass.

    Set NHI_GATE_DEBUG=1 to re-raise unexpected exceptions with their traceback.
    """
    code = [0]
    try:
        yield code
    except NhiGateError as exc:
        print(f"nhi-gate: error: {exc}", file=sys.stderr)
        code[0] = 2
    except (KeyboardInterrupt, Interrupted):
        print("nhi-gate: interrupted (SIGINT): no verdict", file=sys.stderr)
        code[0] = 2
    except Terminated:
        print("nhi-gate: terminated (SIGTERM): no verdict", file=sys.stderr)
        code[0] = 2
    except BrokenPipeError:
        # The reader went away before the report was written: the gate must not read that as
        # a pass. stdout is closed, so it is not flushed again at exit.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed stream
        print("nhi-gate: error: standard output was closed before the report was written: "
              "no verdict", file=sys.stderr)  # fmt: skip
        code[0] = 2
    except Exception as exc:  # the one catch-all: turn a bug into exit 2, never a silent pass
        if os.environ.get("NHI_GATE_DEBUG"):
            raise
        print(
            f"nhi-gate: internal error: {type(exc).__name__}: {exc} "
            "(no verdict; rerun with NHI_GATE_DEBUG=1 and report it)",
            file=sys.stderr,
        )
        code[0] = 2


#: Objects allocated (net) between young-generation collections when nhi-gate runs as its own
#: process; CPython's default is 700. Imports and parses allocate hundreds of thousands of
#: long-lived objects, and the default makes the collector re-walk them many times, a
#: measurable share of a 5-file pre-commit run (benchmarks/RESULTS.md, "Hook path"). Still
#: bounded: garbage cycles are collected every this many allocations.
GC_YOUNG_THRESHOLD = 100_000


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    `argv` None means a process of its own (the `nhi-gate` script, `python -m checker`): the
    cyclic garbage collector runs less often (`GC_YOUNG_THRESHOLD`), and at the end the
    process exits at once with the code (`_exit_now`) instead of tearing down every module and
    object it loaded; it then does not return. Callers that pass `argv` (tests, embedding)
    keep their collector settings and get the code back.
    """
    own_process = argv is None
    if own_process:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)
        signal.signal(signal.SIGTERM, _on_sigterm)
        signal.signal(signal.SIGINT, _on_sigint)
    try:
        code = _main(argv)
        if own_process and _SIGNALLED and code != 2:  # the handler's exception was dropped
            print(f"nhi-gate: {_SIGNALLED[0]}: no verdict", file=sys.stderr)
            code = 2
    finally:
        if own_process:
            gc.freeze()
    if own_process:
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """End this process with `code` now, after what an ordinary exit must still do: stdout
    and stderr flushed, the `atexit` functions run (temporary directories' finalizers among
    them). The interpreter's teardown of every module and object is skipped: it only frees
    memory the kernel frees anyway. Returns (and the caller exits normally) when another
    thread is still running, which the interpreter would join, or when flushing fails, which
    it reports."""
    if threading.active_count() > 1:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    atexit._run_exitfuncs()
    os._exit(code)


def _main(argv: Sequence[str] | None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    with _error_handler() as code, commands.early_parse_worker(words):
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help(sys.stderr)
            return 2
        code[0] = commands.run(args.command, args)
    return code[0]
