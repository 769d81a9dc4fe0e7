"""The second half of `check` and `hook`: once the parse is under way, judge the change and
report. `checker.commands` imports this module while the `ParseWorker` parses."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

from checker import __version__
from checker.change import ChangeSet, Provenance
from checker.commands.git_sources import ChangeRead
from checker.commands.local_approvals import local_approvals
from checker.commands.report import report
from checker.pipeline import Approver, run_rules, under_review
from checker.policy.config import Config
from checker.provenance.classify import classify_actor, load_fingerprints
from checker.reporters import RunInfo


def committer(name: str, email: str, changeset: ChangeSet, config: Config) -> Provenance:
    """Who is committing the staged lines (`hook`): the git identity `name <email>` classified
    with the config's agent fingerprints and the current branch."""
    fps = load_fingerprints(config.agent_emails, config.agent_branches)
    return classify_actor(name, email, "", fps, changeset.branch)


def judge(
    read: ChangeRead,
    args: argparse.Namespace,
    *,
    mode: str,
    run: RunInfo,
    provenance: Mapping[str, Provenance] | None = None,
    committer: Provenance | None = None,
    all_authors: bool = False,
    first: Sequence[Approver] = (),
    last: Sequence[Approver] = (),
) -> int:
    """Wait for the parse, run the rules and the gate, write the report; the exit code.

    `mode` is `check` or `hook`; `provenance` the range's commits (`check`), `committer` who
    commits the staged lines (`hook`). The approval hooks run in order: `first`, the local
    ones (inline suppressions, baseline), `last`.
    """
    head_side, base_side = read.parsed()
    head_parsed = under_review(head_side, read.siblings, read.unreadable)
    verdict, _ = run_rules(
        head_parsed,
        base_side,
        mode=mode,
        config=read.config,
        changeset=read.changeset,
        provenance=provenance if provenance is not None else {},
        committer=committer,
        fail_on=args.fail_on,
        all_authors=all_authors,
        approvals=[
            *first,
            *local_approvals(
                read.head_sources, head_parsed, mode=mode, config=read.config,
                changeset=read.changeset, baseline=read.baseline, provenance=provenance,
                committer=committer, siblings=read.siblings,
            ),
            *last,
        ],
    )
    return report(verdict, run, args)


def run_info(
    command: str, base: str | None, head: str | None, args: argparse.Namespace, config: Config
) -> RunInfo:
    """The report's run facts: version, command, revisions, the `--fail-on` level in force."""
    return RunInfo(__version__, command, base, head, args.fail_on or config.fail_on)
