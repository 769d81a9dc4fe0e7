"""The `nhi-gate` command line: argument parsing, dispatch to `checker.commands`, exit codes.

This is the only module that prints errors or picks an exit code. Exit codes (DESIGN.md):
0 no blocking finding · 1 blocking findings · 2 usage, config or input error (no verdict).
Which parts of nhi-gate load when (pre-commit start-up time) is decided in
`checker.commands`, "Start-up order".
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import gc
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit

from checker import __version__, commands
from checker.errors import NhiGateError

FORMATS = ("text", "json", "sarif", "github")


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors share the exit-2 path."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sub = self.prog.split()[-1]
        command = "nhi-gate" if sub == "nhi-gate" else f"nhi-gate {sub}"
        raise NhiGateError(f"usage: {message} (see `{command} --help`)")


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pull request number")
    return int(text)


def _owner_name(text: str) -> str:
    parts = text.split("/")
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(f"{text!r} is not OWNER/NAME")
    return text


def _api_url(text: str) -> str:
    try:
        url = urlsplit(text)
        port_ok = url.port is None or 0 < url.port < 65536
    except ValueError:
        port_ok = False
    if not port_ok or url.scheme not in ("http", "https") or not url.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} is not an http(s) URL")
    return text


def _common_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="config file (default: .nhi-gate.yaml)")
    p.add_argument("--format", choices=FORMATS, default="text", help="output format")
    p.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--sarif", metavar="FILE", help="also write SARIF 2.1.0 to FILE")
    p.add_argument(
        "--fail-on",
        choices=("error", "warning", "note", "never"),
        help="lowest level that blocks (default: config fail_on, else error)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand (the stable CLI contract)."""
    parser = _Parser(
        prog="nhi-gate",
        description="Find non-human identities an AI agent created or changed, and block "
        "the merge until a human approves.",
    )
    parser.add_argument("--version", action="version", version=f"nhi-gate {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = sub.add_parser("check", help="gate a git range (base..head)")
    check.add_argument("--repo", default=".", metavar="DIR", help="repository (default: .)")
    check.add_argument("--base", metavar="REF", help="base revision (default: merge-base)")
    check.add_argument("--head", metavar="REF", help="head revision (default: HEAD)")
    check.add_argument("--head-ref", metavar="BRANCH",
                       help="the head branch's name, for branch evidence (default: "
                       "GITHUB_HEAD_REF, the event, or the branch --head names)")
    _common_output(check)
    check.add_argument("--github-repo", metavar="OWNER/NAME", type=_owner_name,
                       help="repository whose pull request reviews count (default: "
                            "GITHUB_REPOSITORY)")
    check.add_argument("--pr", type=_positive_int, metavar="N",
                       help="pull request number (default: from GITHUB_EVENT_PATH)")
    check.add_argument("--github-api-url", metavar="URL", type=_api_url,
                       help="GitHub REST API root, e.g. https://ghe.example.com/api/v3 "
                            "(default: GITHUB_API_URL, else https://api.github.com)")
    check.add_argument("--assume-agent", action="store_true",
                       help="treat every commit in the range as agent-authored")
    check.add_argument("--all-authors", action="store_true",
                       help="gate identity rules for every author, not only agents and bots")
    check.add_argument("--pre-push", action="store_true",
                       help="pre-push hook: range from PRE_COMMIT_FROM_REF/PRE_COMMIT_TO_REF, "
                       "else the whole branch")

    scan = sub.add_parser("scan", help="check files and directories (no git)")
    scan.add_argument("paths", nargs="+", metavar="PATH")
    _common_output(scan)

    hook = sub.add_parser("hook", help="pre-commit stage: check staged content")
    hook.add_argument("files", nargs="*", metavar="FILE")
    _common_output(hook)

    base = sub.add_parser("baseline", help="record current findings so only new ones block")
    base.add_argument("action", choices=("create", "check"))
    base.add_argument("--repo", default=".", metavar="DIR", help="directory to scan (default: .)")
    base.add_argument("--baseline", dest="baseline_file", metavar="FILE",
                      help="baseline file (default: config `baseline:`, else "
                      ".nhi-gate-baseline.json in DIR)")
    _common_output(base)

    msg = sub.add_parser("commit-msg", help="commit-msg stage: trailers of an agent commit")
    msg.add_argument("file", metavar="FILE")

    inv = sub.add_parser("inventory", help="list every identity found")
    inv.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    inv.add_argument("--format", choices=("table", "json", "csv", "jsonl", "html"),
                     default="table")
    inv.add_argument("--config", metavar="FILE")
    inv.add_argument("--output", metavar="FILE")
    inv.add_argument("--github-repo", metavar="OWNER/NAME", help="read the reviews of "
                     "the pull requests in `approval` (needs GITHUB_TOKEN)")
    inv.add_argument("--no-history", action="store_true",
                     help="skip created_by/last_changed_by/approval (no git history read)")
    inv.add_argument("--db", metavar="FILE", help="the ledger database the history columns "
                     "come from (default: as `nhi-gate ledger`)")

    led = sub.add_parser("ledger", help="who created each identity, from history (SQLite)")
    led.add_argument("path", nargs="?", default=".", metavar="PATH",
                     help="a directory in the repository (default: .)")
    led.add_argument("--rev", default="HEAD", help="walk this commit's first-parent history")
    led.add_argument("--db", metavar="FILE", help="the ledger database (default: "
                     "$XDG_CACHE_HOME/nhi-gate/ledger/<repository>-<hash>.sqlite)")
    led.add_argument("--format", choices=("table", "json", "jsonl", "html"), default="table")
    led.add_argument("--config", metavar="FILE")
    led.add_argument("--output", metavar="FILE")
    led.add_argument("--github-repo", metavar="OWNER/NAME", help="read the reviews of "
                     "the pull requests in `approval` (needs GITHUB_TOKEN)")
    led.add_argument("--agent-created", action="store_true", help="created by an agent")
    led.add_argument("--without-owner", action="store_true", help="no owner")
    led.add_argument("--expiring", type=int, metavar="DAYS",
                     help="expired or expiring within DAYS days")
    led.add_argument("--widened", action="store_true", help="widened since creation")
    led.add_argument("--unapproved-agent", action="store_true",
                     help="created by an agent and never approved (no merge or pull request)")
    led.add_argument("--include-removed", action="store_true", help="removed ones too")

    rules = sub.add_parser("rules", help="the rule catalogue with docs")
    rules.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    rules.add_argument("--agents", action="store_true",
                       help="the agent and bot conventions read (rules/agents.yaml) instead")

    sub.add_parser("demo", help="build a throwaway repo with an agent branch and check it")
    return parser


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
    with _error_handler() as code:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help(sys.stderr)
            return 2
        code[0] = commands.run(args.command, args)
    return code[0]
