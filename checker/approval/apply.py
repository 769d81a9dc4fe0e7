"""Apply approvals to findings: PR reviews and signed approval commits (`Approval`s from
`checker.approval.reviews` and `checker.approval.signed_commits`), valid inline suppressions
(`checker.checks.suppressions.usable`) and the baseline (`checker.policy.baseline`). Pure; each
function keeps every finding, in order: approved findings stay in every report, they just do
not block. Approval never creates a finding.

What an approval approves (`apply_approvals`): findings of the rules gated by authorship
(`NHI1xx`-`NHI3xx`) on lines an agent or bot wrote, when every commit that wrote the finding's
lines is covered (a review covers the whole range; a signed commit covers its ancestors) and
the approver may approve the finding's path. Secret material (`NHI4xx`) and files that could
not be analysed (`NHI9xx`) are never approved: they block whoever wrote them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from checker.approval.reviews import Approval
from checker.model import Finding, IdentityObject, Suppression, Waiver, waive
from checker.policy.baseline import Baseline, eligible

#: Rule families an approval may approve.
APPROVABLE_PREFIXES = ("NHI1", "NHI2", "NHI3")


def approvable(finding: Finding) -> bool:
    """True for findings an approval may approve (see the module docstring)."""
    return finding.rule_id.startswith(APPROVABLE_PREFIXES) and finding.actor_kind in (
        "agent",
        "bot",
    )


def apply_approvals(findings: Sequence[Finding], approvals: Sequence[Approval]) -> list[Finding]:
    """Mark findings `approved` (with `approved_by`) when an approval covers every commit that
    wrote them and may approve their path. Keeps every finding, in order."""
    out: list[Finding] = []
    for finding in findings:
        shas = set(finding.commits or ((finding.commit,) if finding.commit else ()))
        if finding.approved or not shas or not approvable(finding):
            out.append(finding)
            continue
        for approval in approvals:
            if shas <= approval.covers and (
                approval.paths is None or finding.location.path in approval.paths
            ):
                finding = replace(finding, approved=True, approved_by=approval.label)
                break
        out.append(finding)
    return out


def _applies(
    s: Suppression, f: Finding, spans: Mapping[tuple[str, str], tuple[int, int]]
) -> bool:
    """Same file and rule, and the comment sits on/above the finding's line, directly above
    the identity block, or on/above any line inside it (findings move to the first added line
    of an identity in `check`, so a comment above an attribute still covers its identity), or
    on the YAML node or document that holds the finding's line (`Suppression.reach`)."""
    if f.location.path != s.path or f.rule_id not in s.rule_ids or s.target is None:
        return False
    if f.location.start_line == s.target or (
            s.reach is not None and s.target <= f.location.start_line <= s.reach):
        return True
    span = spans.get((f.location.path, f.address)) if f.address is not None else None
    return span is not None and span[0] <= s.target <= span[1]


#: (suppression, finding) -> True when the suppression predates the change and the finding's
#: target is new or changed since (`checks.suppressions.outlived`): it is judged afresh.
Outlived = Callable[[Suppression, Finding], bool]


def apply_suppressions(findings: Sequence[Finding], usable: Sequence[Suppression],
                       objects: Sequence[IdentityObject], outlived: Outlived | None = None
                       ) -> list[Finding]:  # fmt: skip
    """Mark the findings a `usable` suppression covers approved (`WaivedFinding` with an
    `inSource` waiver naming the comment); `objects` are the identities of the files, for
    "on or above any line of the identity block". A suppression `outlived` says approved
    something else (the target changed since) does not cover the finding, and the finding's
    message says so. Already-approved findings are kept as they are."""
    spans = {(o.location.path, o.address): (o.location.start_line, o.location.end_line)
             for o in objects}
    out: list[Finding] = []
    for f in findings:
        covering = [s for s in usable if _applies(s, f, spans)]
        match = next((s for s in covering if outlived is None or not outlived(s, f)), None)
        if match is None and covering and not f.approved:
            old = covering[0]
            f = replace(f, message=(
                f"{f.message} (`{old.text}` on line {old.line} predates this change and approved "
                "what was there then; the target is new or changed, so it is judged afresh)"))
        if match is None or f.approved:
            out.append(f)
            continue
        out.append(waive(f, Waiver("inSource", match.reason, f"{match.path}:{match.line}")))
    return out


def apply_baseline(findings: Sequence[Finding], baseline: Baseline) -> list[Finding]:
    """Findings whose fingerprint the baseline lists become approved, with an `external`
    `Waiver` naming the baseline file (`policy.baseline.eligible` says which rules may be
    baselined: never NHI1xx nor NHI9xx)."""
    known = baseline.fingerprints
    waiver = Waiver("external", f"Listed in the nhi-gate baseline {baseline.source}.",
                    baseline.source)
    return [
        waive(f, waiver) if not f.approved and eligible(f) and f.fingerprint in known else f
        for f in findings
    ]


@dataclass(frozen=True)
class Approvals:
    """What approves findings besides inline suppressions: `granted` (PR reviews and signed
    approval commits that count, see `checker.approval.reviews`) and the `baseline` read from
    the base revision (None when there is none)."""

    granted: tuple[Approval, ...] = ()
    baseline: Baseline | None = None


def apply_all(findings: Sequence[Finding], approvals: Approvals | None,
              suppressions: Sequence[Suppression], objects: Sequence[IdentityObject],
              outlived: Outlived | None = None) -> list[Finding]:
    """Inline `suppressions` (less those `outlived` says the change outlived), then the
    baseline, then reviews and signed commits; every finding kept, in order (module doc)."""
    out = apply_suppressions(findings, suppressions, objects, outlived)
    if approvals is not None and approvals.baseline is not None:
        out = apply_baseline(out, approvals.baseline)
    return apply_approvals(out, approvals.granted if approvals is not None else ())
