"""The approvals that need no network: reasoned inline suppressions, then the baseline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from checker.change import ChangeSet, Provenance
from checker.model import Finding, SourceFile
from checker.pipeline import Approver, Parsed
from checker.policy.baseline import baseline_approver, loads
from checker.policy.config import Config
from checker.policy.rule_docs import load_rule_docs
from checker.suppressions import suppression_approver


def local_approvals(
    sources: Sequence[SourceFile],
    parsed: Parsed,
    *,
    mode: str,
    config: Config,
    changeset: ChangeSet,
    baseline: tuple[str, str] | None,
    provenance: Mapping[str, Provenance] | None = None,
    committer: Provenance | None = None,
    siblings: Sequence[SourceFile] = (),
) -> list[Approver]:
    """The approval hooks that need no network: inline suppressions, then the baseline.

    `baseline` is (file text, source label) or None. `committer` is who commits the staged
    lines (`hook`), else None. `siblings` are unchanged module files parsed for their values
    (`git_sources.module_siblings`): their suppressions count only in a file that has a
    finding (an identity the change touched through its inputs), so an unchanged file never
    adds NHI105/NHI102 findings of its own. Raises `ConfigError` for a bad baseline.
    """

    def suppressions(files: Sequence[SourceFile]) -> Approver:
        return suppression_approver(
            files, parsed.objects, known_rules=frozenset(load_rule_docs()), mode=mode,
            changeset=changeset, provenance=provenance, hook_actor=committer,
            rule_levels=config.rule_levels,
        )

    def with_siblings(findings: list[Finding]) -> list[Finding]:
        judged = {f.location.path for f in findings}
        return suppressions([*sources, *(s for s in siblings if s.path in judged)])(findings)

    approvers: list[Approver] = [with_siblings if siblings else suppressions(sources)]
    if baseline is not None:
        approvers.append(baseline_approver(loads(*baseline)))
    return approvers
