"""The subcommands of `nhi-gate`, one module each, and the one place that decides when each
part of nhi-gate is imported.

`checker.cli` parses the arguments and calls `run(command, args)`, which returns the exit code.
Each subcommand is a function here taking the parsed `argparse.Namespace` and returning the
exit code; only `cli` prints errors. Most hand over to the function of the same name in the
module of the same name (`scan.scan`, `rules.rules`, ...). `check` and `hook` run in steps,
so that the step that reads git and the step that judges load at the right moment:

    fork the ParseWorker -> read the change from git, send it to be parsed (`check.read_range`,
    `hook.read_staged`) -> approvals (`approvals`, `check` only) -> `verdict.judge`: rules,
    gate, report.

Start-up order. `nhi-gate hook` runs on every `git commit` through pre-commit, so its start-up
time is the user's wait (benchmarks/RESULTS.md, "Hook path"). This module holds every import
that waits for its moment; the modules it loads import at their top:

- start-up: `checker.cli` and this package (standard library only), so `--help`,
  `--version` and usage errors pay for nothing more; argparse itself (`checker.cli_args`)
  only after a `hook` run as pre-commit runs it (`hook` and FILE arguments, no option) has
  forked its worker (`early_parse_worker`), so the worker does not wait for it;
- when a subcommand runs: its module (`_scan`, `_rules`, ...), so `rules`, `scan` and
  `inventory` never load the git readers;
- `check` and `hook`, before the fork (`_parse_worker`): the catalogue, `checker.pipeline`
  (parse planning) and `sources.budget`, shared with the `ParseWorker`, which then imports
  the parsers and python-hcl2 on the second core (`pipeline.warm_parsers`; a `hook` whose
  FILE arguments name no Terraform file skips python-hcl2, see `_needs_hcl`);
- after the fork: the git readers (`commands.check`, `commands.hook`), while
  the worker imports the parsers (python-hcl2 and its grammar only for a `.tf` text the fast
  HCL path does not read, `parsers.terraform.hcl_fast`);
- after the parse is sent: approvals, provenance, suppressions, baseline, the rules
  (`checker.checks.engine`, `checker.gate`), rule docs, the admin table and the reporter
  (`load_while_parsing`): this process would otherwise only wait for the worker.
  `scan` calls `load_while_parsing` too, while its parse pool parses, after its renders.

Two heavy libraries load only where they are needed, beside their one use: sarif-om
(`commands.report`, only for SARIF output) and PyGithub (`commands.approvals`, only when a pull
request's reviews are read). `checker.pipeline` imports the parsers and the rules inside the
functions that use them, for the same reason.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from checker.sources.worker import ParseWorker

Command = Callable[["argparse.Namespace"], int]

#: The `ParseWorker` `early_parse_worker` forked for the `hook` about to run (at most one).
_EARLY: list[ParseWorker | None] = []


def run(command: str, args: argparse.Namespace) -> int:
    """Run the subcommand `command` (as typed: `commit-msg`, ...) on `args`; its exit code.

    Raises `NhiGateError` (exit 2 in `cli`) for a usage, config, git or input error.
    """
    return COMMANDS[command](args)


def _needs_hcl(files: Sequence[str]) -> bool:
    """Whether a `hook` given the FILE arguments `files` (as pre-commit passes them; none:
    every staged file) may parse Terraform: python-hcl2 is then imported while git is read."""
    from checker.sources.discovery import reads_hcl

    return not files or reads_hcl(files)


@contextlib.contextmanager
def _parse_worker(terraform: bool = True) -> Iterator[ParseWorker | None]:
    """A `ParseWorker` forked now, importing the parsers on the second core (python-hcl2 only
    with `terraform`; a job that needs it anyway imports it then). None with one core or no
    `fork`: parsing then happens in this process. Closed on the way out."""
    from checker.pipeline import warm_parsers
    from checker.policy.catalogue import load_catalogue
    from checker.sources.worker import ParseWorker

    load_catalogue()  # before the fork: cached for both processes
    worker = ParseWorker.start(functools.partial(warm_parsers, terraform))
    try:
        yield worker
    finally:
        if worker is not None:
            worker.close()


@contextlib.contextmanager
def early_parse_worker(words: Sequence[str]) -> Iterator[None]:
    """Fork the `hook`'s `ParseWorker` before the command line is parsed, when `words` (the
    arguments after `nhi-gate`) are `hook` and FILE arguments only, the form pre-commit runs:
    the worker then imports the parsers while this process imports argparse and parses the
    arguments, instead of after. Any other command line does nothing here. The worker is
    handed to `_hook` and closed on the way out, used or not (a FILE that turns out to be
    an option's value is impossible: no word starts with `-`)."""
    if not words or words[0] != "hook" or any(w.startswith("-") for w in words[1:]):
        yield
        return
    with _parse_worker(_needs_hcl(words[1:])) as worker:
        _EARLY[:] = [worker]
        try:
            yield
        finally:
            _EARLY.clear()


def load_while_parsing(args: argparse.Namespace) -> None:
    """Load what the rules, approvals and report need and the parse does not decide (the
    engine and gate, rule docs, the admin-grant table, their modules), while a `ParseWorker`
    parses: this process would otherwise only wait. Everything loaded here is cached for the
    process."""
    from checker.policy.privileges import load_admin_table
    from checker.policy.rule_docs import load_rule_docs

    load_rule_docs()
    load_admin_table()
    reporters = {"json": "json_report", "sarif": "sarif", "github": "github"}
    wanted = {f"checker.reporters.{reporters.get(args.format, 'text')}"}
    if getattr(args, "sarif", None):
        wanted.add("checker.reporters.sarif")
    for module in ("checker.checks.engine", "checker.gate", "checker.policy.baseline",
                   "checker.approval.apply",
                   *sorted(wanted)):  # fmt: skip
        importlib.import_module(module)


def _check(args: argparse.Namespace) -> int:
    """`nhi-gate check`: gate the identities that `base..head` adds or changes
    (`checker.commands.check`)."""
    with _parse_worker() as worker:
        from checker.commands import check

        with check.read_range(args, worker) as found:
            from checker.commands import approvals

            read = found.read
            provenance = approvals.provenance(read.changeset, read.config, args.assume_agent)
            trust, offline = approvals.offline_approval(
                found.repo, read.changeset, provenance, read.config
            )
            granted, facts = approvals.approvals_and_facts(
                args, read.changeset, provenance, read.config, trust, offline
            )
            facts = replace(facts, history_secrets=read.history)
            from checker.commands import verdict

            load_while_parsing(args)
            run_info = replace(
                verdict.run_info("check", found.base, found.head, args, read.config),
                commits=approvals.commit_actors(read.changeset, provenance))
            # The repository stays open: a commit that only moved an identity is judged by
            # parsing it at that commit and its parent (`commands.commit_meaning`).
            return verdict.judge(
                read, args, mode="check", run=run_info, provenance=provenance,
                all_authors=args.all_authors, facts=facts, granted=granted,
                meaning=check.commit_meaning(found, worker),
            )


def _hook(args: argparse.Namespace) -> int:
    """`nhi-gate hook [FILE...]`: the pre-commit stage; judges the staged content
    (`checker.commands.hook`)."""
    early = (contextlib.nullcontext(_EARLY.pop()) if _EARLY
             else _parse_worker(_needs_hcl(args.files)))  # fmt: skip
    with early as worker:
        from checker.commands import hook

        staged = hook.read_staged(args, worker)
        from checker.commands import verdict

        read = staged.read
        committer = staged.committer
        load_while_parsing(args)
        run_info = verdict.run_info("hook", read.changeset.base, None, args, read.config)
        return verdict.judge(read, args, mode="hook", run=run_info, committer=committer,
                             facts=verdict.hook_facts(read, staged.trust))


def _demo(args: argparse.Namespace) -> int:
    """`nhi-gate demo`: build a throwaway repo with an agent commit and `check` it."""
    from checker.commands import demo

    check_args = demo.prepare()
    return demo.finish(check_args, _check(check_args))


def _scan(args: argparse.Namespace) -> int:
    from checker.commands.scan import scan

    return scan(args, warm=lambda: load_while_parsing(args))


def _baseline(args: argparse.Namespace) -> int:
    from checker.commands.baseline import baseline

    return baseline(args)


def _commit_msg(args: argparse.Namespace) -> int:
    from checker.commands.commit_msg import commit_msg

    return commit_msg(args)


def _inventory(args: argparse.Namespace) -> int:
    from checker.commands.inventory import inventory

    return inventory(args)


def _ledger(args: argparse.Namespace) -> int:
    from checker.commands.ledger import ledger

    return ledger(args)


def _rules(args: argparse.Namespace) -> int:
    from checker.commands.rules import rules

    return rules(args)


#: Each subcommand's function, by the name typed on the command line.
COMMANDS: dict[str, Command] = {
    "check": _check,
    "scan": _scan,
    "hook": _hook,
    "commit-msg": _commit_msg,
    "baseline": _baseline,
    "inventory": _inventory,
    "ledger": _ledger,
    "rules": _rules,
    "demo": _demo,
}
