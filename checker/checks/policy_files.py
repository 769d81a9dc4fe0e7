"""NHI102: a policy file (the nhi-gate config, CODEOWNERS, the allowed-signers file, the
baseline, git attributes, a workflow that runs nhi-gate) changed by an agent or bot commit.

Policy is read from the base revision, so such a change cannot loosen the rules that judge it;
it still needs a human's approval before it takes effect (DESIGN.md "Approval and trust").
Which paths are policy files, and which in-range commits touched each (deletions included), is
gathered by the commands (`ChangeFacts.trust_touches`, `trust_kinds`). One finding per path, on
the first line an agent or bot wrote there (line 1 otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from checker.change import Provenance
from checker.checks.api import ChangeFacts, ChangeHit
from checker.model import Finding, Location

_TRUST_WHAT = {
    "config": "the nhi-gate configuration",
    "codeowners": "CODEOWNERS",
    "signers": "the allowed-signers file for offline approvals",
    "baseline": "the nhi-gate baseline",
    "attributes": "git attributes, which change how git shows the diff",
    "gate-workflow": "a workflow that runs nhi-gate",
}


def who(prov: Provenance | None, sha: str) -> str:
    """`agent (Claude Code) in commit 1a2b3c4d5e6f`: the actor of commit `sha` for messages."""
    kind = prov.actor_kind if prov else "unknown"
    product = f" ({prov.agent})" if prov and prov.agent else ""
    return f"{kind}{product} in commit {sha[:12]}"


def check_change(facts: ChangeFacts, findings: Sequence[Finding]) -> Iterator[ChangeHit]:
    """NHI102 per policy file an agent or bot commit changed (see the module doc)."""
    provenance = facts.provenance
    files = {cf.path: cf for cf in facts.changeset.files}
    for path in sorted(facts.trust_touches):
        shas = [
            s for s in facts.trust_touches[path]
            if (p := provenance.get(s)) is not None and p.actor_kind in ("agent", "bot")
        ]
        if not shas:
            continue
        agents = [s for s in shas if provenance[s].actor_kind == "agent"]
        sha = (agents or shas)[0]
        cf = files.get(path)
        lines = sorted(n for n, s in (cf.line_commits.items() if cf else ()) if s in shas)
        line = lines[0] if lines else 1
        what = _TRUST_WHAT.get(facts.trust_kinds.get(path, "config"), "a policy file")
        yield ChangeHit(
            "NHI102",
            f"{path} ({what}) was changed by {who(provenance.get(sha), sha)}; policy is read "
            "from the base revision, so the change only takes effect once a human approves it",
            Location(path, line, line), f"trust:{path}",
            actor=provenance.get(sha) or Provenance(sha, "unknown"), commit=sha,
            commits=tuple(shas),
        )
