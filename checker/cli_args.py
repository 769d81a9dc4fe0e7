"""The `nhi-gate` argument parser (`build_parser`): every subcommand and option, the stable CLI
contract (DESIGN.md). Separate from `checker.cli` so that a `hook` run pre-commit starts its
parse worker before argparse is imported (`checker.commands`, "Start-up order").
"""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from checker import __version__
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
