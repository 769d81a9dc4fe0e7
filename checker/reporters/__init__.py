"""Reporters turn a `Verdict` into text: `sarif`, `text`, `json_report`, `github`.

Each reporter is pure: it takes the verdict (plus rule docs and `RunInfo` where it needs them)
and returns a `str`; it never prints, reads files or decides pass/fail (DESIGN.md "Data flow").
The CLI writes the string (as UTF-8) and picks the exit code.

Helpers shared by the reporters live here: the one sort order every output uses, and the
`ParseProblem`s that no `Finding` mirrors. The engine normally turns each problem into an NHI9xx
finding; text and annotations list the remaining ones (e.g. a rule set to `off`) so an
unreadable file is never silent, and show each one once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from checker.change import Evidence
from checker.fingerprint import fingerprint
from checker.model import Finding, Location, ParseProblem, Verdict


@dataclass(frozen=True)
class CommitActor:
    """One commit of the range as every report lists it, finding or not (issue 14,
    "Invisible actors"): who made it (`actor_kind`, the agent or bot `agent` product), how
    strongly the evidence says so (`strength`: `strong`, `weak`, None for no evidence at
    all), the evidence itself, and the `Agent-Logs-Url:` of a Copilot coding-agent commit."""

    sha: str
    actor_kind: str
    agent: str | None = None
    strength: str | None = None
    evidence: tuple[Evidence, ...] = ()
    logs_url: str | None = None


@dataclass(frozen=True)
class RunInfo:
    """What was run, for output headers and SARIF `invocations[0].properties`.

    `tool_version` e.g. `0.1.0`; `mode` is `check`, `scan` or `hook`; `base`/`head` are the
    revisions compared (None in scan mode); `fail_on` is `error`, `warning`, `note` or `never`.
    `commits` lists each commit of the range (`check`), oldest first; None when the run has
    no range (`scan`, `hook`), and then no report shows a commits section.
    """

    tool_version: str
    mode: str
    base: str | None
    head: str | None
    fail_on: str
    commits: tuple[CommitActor, ...] | None = None

    def commit(self, sha: str | None) -> CommitActor | None:
        """The listed commit `sha`, or None."""
        return next((c for c in self.commits or () if c.sha == sha), None) if sha else None


def evidence_text(evidence: Evidence) -> str:
    """One piece of evidence for people: `strength field: value (signature)`."""
    return f"{evidence.strength} {evidence.field}: {evidence.value} ({evidence.signature})"


def commit_dict(commit: CommitActor) -> dict[str, object]:
    """One listed commit as JSON data (the JSON report's `commits`, SARIF `run.properties`)."""
    return {
        "sha": commit.sha,
        "actor_kind": commit.actor_kind,
        "agent": commit.agent,
        "strength": commit.strength,
        "evidence": [
            {"signature": e.signature, "field": e.field, "value": e.value,
             "strength": e.strength}
            for e in commit.evidence
        ],
        "logs_url": commit.logs_url,
    }


def finding_key(finding: Finding) -> tuple[object, ...]:
    """Total sort order for findings: path, start line, rule, then every other field.

    Every output sorts with this key, so equal inputs in any order render byte-identically.
    """
    loc = finding.location
    return (
        loc.path,
        loc.start_line,
        finding.rule_id,
        loc.end_line,
        finding.address or "",
        finding.attribute or "",
        finding.fingerprint,
        finding.message,
        finding.level,
        finding.kind or "",
        finding.platform or "",
        finding.actor_kind or "",
        finding.commit or "",
        finding.agent or "",
        finding.blocking,
        finding.approved,
    )


def problem_key(problem: ParseProblem) -> tuple[str, int, str, str]:
    """Sort order for parse problems: path, line, rule, message."""
    return (problem.path, problem.line, problem.rule_id, problem.message)


def sorted_findings(findings: Iterable[Finding]) -> list[Finding]:
    """`findings` in `finding_key` order."""
    return sorted(findings, key=finding_key)


def sorted_problems(problems: Iterable[ParseProblem]) -> list[ParseProblem]:
    """`problems` in `problem_key` order, exact duplicates dropped."""
    return sorted(set(problems), key=problem_key)


def unmirrored_problems(verdict: Verdict) -> list[ParseProblem]:
    """The verdict's problems that no finding reports (same rule id, path and start line).

    Sorted. When the gate already turned a problem into an NHI9xx finding this is empty for
    it, so no reporter shows the same unreadable file twice.
    """
    mirrored = {(f.rule_id, f.location.path, f.location.start_line) for f in verdict.findings}
    return [
        p for p in sorted_problems(verdict.problems) if (p.rule_id, p.path, p.line) not in mirrored
    ]


def problem_finding(problem: ParseProblem) -> Finding:
    """A parse problem that no finding mirrors, as a `Finding` (for annotations).

    Level error, location the problem's line, fingerprint over (rule id, path) as the engine
    computes it. `blocking` stays False: only the gate decides blocking.
    """
    return Finding(
        rule_id=problem.rule_id,
        level="error",
        message=problem.message,
        location=Location(problem.path, problem.line, problem.line),
        fingerprint=fingerprint(problem.rule_id, problem.path, None, None),
    )


def short_sha(commit: str | None) -> str | None:
    """The first 12 characters of a commit sha, or None."""
    return commit[:12] if commit else None


def plural(count: int, noun: str) -> str:
    """`1 finding`, `2 findings`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
