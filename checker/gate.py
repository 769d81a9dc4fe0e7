"""The gate: the only place that decides what blocks (DESIGN.md "CLI contract").

- NHI1xx-NHI3xx (identity rules) block only for lines an agent or bot wrote, unless
  `all_authors`; in `scan` mode there is no provenance, so every finding counts.
- NHI4xx (secret material) and NHI9xx (could not analyse) block whoever wrote them: a leak is
  a leak, and a file we could not read is never a pass (fail-closed).
- Only findings at or above `fail_on` block; approved findings never block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from checker.model import LEVEL_RANK, Finding, ParseProblem, Verdict

_ANY_AUTHOR_PREFIXES = ("NHI4", "NHI9")


#: How the verdict line names who wrote a blocking NHI101 finding, by `Finding.actor_kind`.
_ACTOR_WORDS = {"agent": "an agent", "bot": "a bot", "unknown": "an unidentified author",
                "human": "a person"}


def _writers(marked: Sequence[Finding]) -> str:
    """Who wrote the blocking NHI101 findings of `marked`, in words: `an agent`, `a bot`,
    `an agent or a bot` (Renovate's commit is a bot's, not an agent's)."""
    kinds = {f.actor_kind for f in marked if f.blocking and f.rule_id == "NHI101"}
    words = [w for kind, w in _ACTOR_WORDS.items() if kind in kinds]
    return " or ".join(words) or "an agent"


def _sort_key(f: Finding) -> tuple[str, int, str, str]:
    return (f.location.path, f.location.start_line, f.rule_id, f.address or "")


def decide(
    findings: Sequence[Finding],
    problems: Sequence[ParseProblem],
    *,
    mode: str,
    fail_on: str,
    all_authors: bool = False,
) -> Verdict:
    """Mark each finding `blocking` and return the overall verdict.

    `mode` is `check`, `hook` or `scan`; `fail_on` is `error|warning|note|never`.
    Findings come back sorted by (path, line, rule id, address).
    """
    threshold = LEVEL_RANK.get(fail_on, 99)
    marked: list[Finding] = []
    by_people = 0  # findings at or above the threshold that do not block: a person wrote them
    for f in sorted(findings, key=_sort_key):
        gated_author = (
            mode == "scan"
            or all_authors
            or f.rule_id.startswith(_ANY_AUTHOR_PREFIXES)
            or f.actor_kind in ("agent", "bot", "unknown")  # unknown: fail closed
        )
        at_threshold = not f.approved and LEVEL_RANK[f.level] >= threshold
        by_people += at_threshold and not gated_author
        marked.append(replace(f, blocking=gated_author and at_threshold))
    blocking_count = sum(f.blocking for f in marked)
    if blocking_count:
        rules = sorted({f.rule_id for f in marked if f.blocking})
        reason = "blocking: " + ", ".join(rules)
        if "NHI101" in rules:
            reason += (f"; identities created or changed by {_writers(marked)} need a human's "
                       "approval")
    elif by_people:
        reason = (f"nothing blocks: {by_people} finding(s) at --fail-on {fail_on} are on lines "
                  "people wrote, and identity rules gate only agent- and bot-written lines "
                  "(--all-authors gates every author)")
    elif marked:
        reason = f"nothing blocks at --fail-on {fail_on}"
    else:
        reason = "no identity findings"
    return Verdict(
        passed=blocking_count == 0,
        findings=tuple(marked),
        reason=reason,
        problems=tuple(sorted(problems, key=lambda p: (p.path, p.line, p.rule_id))),
    )
