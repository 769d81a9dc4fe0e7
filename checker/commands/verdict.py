"""The second half of `check` and `hook`: once the parse is under way, judge the change and
report. `checker.commands` imports this module while the `ParseWorker` parses."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence

from checker import __version__
from checker.approval.apply import Approvals
from checker.approval.reviews import Approval
from checker.change import Provenance
from checker.checks.api import ChangeFacts
from checker.commands.base_policy import effective_fail_on
from checker.commands.gate_files import TrustInputs
from checker.commands.git_sources import ChangeRead
from checker.commands.local_policy import baseline_of
from checker.commands.report import report
from checker.pipeline import run_rules, under_review, with_rendered
from checker.policy.config import Config
from checker.provenance.attribution import CommitMeaning
from checker.reporters import RunInfo


def hook_facts(read: ChangeRead, trust: TrustInputs) -> ChangeFacts:
    """What the change checks read for `hook`: the staged policy, gate and agent-steering files
    (`commands.gate_files.staged_trust`), each touched by the staged change."""
    return ChangeFacts(read.config, read.changeset, {}, trust_touches=trust.touches,
                       trust_kinds=trust.kinds, steering=trust.steering,
                       gate_runs=trust.gate_runs)


def judge(
    read: ChangeRead,
    args: argparse.Namespace,
    *,
    mode: str,
    run: RunInfo,
    provenance: Mapping[str, Provenance] | None = None,
    committer: Provenance | None = None,
    all_authors: bool = False,
    facts: ChangeFacts | None = None,
    granted: Sequence[Approval] = (),
    meaning: CommitMeaning | None = None,
) -> int:
    """Wait for the parse, run the rules and the gate, write the report; the exit code.

    `mode` is `check` or `hook`; `provenance` the range's commits (`check`), `committer` who
    commits the staged lines (`hook`); `facts` what the change checks read; `granted` the
    PR reviews and signed approval commits that count; `meaning` (`check`) judges one
    commit's change to an identity by meaning (`commands.commit_meaning`). The baseline and
    inline suppressions come from `read`. The level that blocks is the config's `fail_on` or a
    stricter `--fail-on` (`base_policy.effective_fail_on`; a looser one is refused on stderr).
    """
    fail_on, refused = effective_fail_on(args.fail_on, read.config)
    if refused:
        print(f"nhi-gate: {refused}", file=sys.stderr)
    head_side, base_side = read.parsed()
    if read.rendered is not None:  # the touched kustomizations, rendered at head and base
        head_side = with_rendered(head_side, read.rendered.head, read.rendered.problems,
                                  quiet=read.rendered.quiet)
        base_side = with_rendered(base_side, read.rendered.base, head=False)
    head_parsed = under_review(head_side, read.siblings, read.unreadable)
    verdict, _ = run_rules(
        head_parsed,
        base_side,
        mode=mode,
        config=read.config,
        changeset=read.changeset,
        provenance=provenance if provenance is not None else {},
        committer=committer,
        fail_on=fail_on,
        all_authors=all_authors,
        facts=facts,
        sources=read.head_sources,
        siblings=read.siblings,
        approvals=Approvals(tuple(granted), baseline_of(read.baseline)),
        meaning=meaning,
    )
    return report(verdict, run, args)


def run_info(
    command: str, base: str | None, head: str | None, args: argparse.Namespace, config: Config
) -> RunInfo:
    """The report's run facts: version, command, revisions, the `fail_on` level in force (the
    base policy's, or a stricter `--fail-on`: `effective_fail_on`)."""
    return RunInfo(__version__, command, base, head, effective_fail_on(args.fail_on, config)[0])
