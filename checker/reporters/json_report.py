"""Machine-readable report (DESIGN.md "Machine-readable contract"; scripts and tests rely on it).

Shape, 2-space indented, keys in this order, findings and problems sorted like every output:

    {
      "verdict": "pass" | "fail",
      "reason": str,
      "findings": [
        {"rule_id", "level", "path", "start_line", "end_line", "address", "attribute", "kind",
         "platform", "blocking", "approved", "actor_kind", "commit", "agent", "message",
         "fingerprint"}, ...
      ],
      "problems": [{"rule_id", "level": "error", "path", "line", "message"}, ...],
      "commits": [{"sha", "actor_kind", "agent", "strength", "logs_url",
                   "evidence": [{"signature", "field", "value", "strength"}, ...]}, ...],
      "run": {"tool_version", "mode", "base", "head", "fail_on"}
    }

`commits` (every commit of the range, finding or not, oldest first) and each finding's
`strength` and `logs_url` (of its commit: how strongly the evidence says who wrote it, and a
Copilot coding agent's session log) are there when the run has a range (`check`); a `scan`
or `hook` report has neither.

Absent values are `null`, never omitted, so every finding has the same keys. `findings` and
`problems` are reported exactly as the gate produced them (a problem may also appear as an
NHI9xx finding).
"""

from __future__ import annotations

import json

from checker.model import Finding, ParseProblem, Verdict
from checker.reporters import RunInfo, commit_dict, sorted_findings, sorted_problems


def finding_dict(finding: Finding) -> dict[str, object]:
    """One finding in contract key order."""
    return {
        "rule_id": finding.rule_id,
        "level": finding.level,
        "path": finding.location.path,
        "start_line": finding.location.start_line,
        "end_line": finding.location.end_line,
        "address": finding.address,
        "attribute": finding.attribute,
        "kind": finding.kind,
        "platform": finding.platform,
        "blocking": finding.blocking,
        "approved": finding.approved,
        "actor_kind": finding.actor_kind,
        "commit": finding.commit,
        "agent": finding.agent,
        "message": finding.message,
        "fingerprint": finding.fingerprint,
    }


def problem_dict(problem: ParseProblem) -> dict[str, object]:
    """One parse problem: always error level (it blocks unless excluded)."""
    return {
        "rule_id": problem.rule_id,
        "level": "error",
        "path": problem.path,
        "line": problem.line,
        "message": problem.message,
    }


def _with_commit(finding: Finding, run: RunInfo) -> dict[str, object]:
    out = finding_dict(finding)
    if run.commits is not None:
        listed = run.commit(finding.commit)
        out["strength"] = listed.strength if listed else None
        out["logs_url"] = listed.logs_url if listed else None
    return out


def render(verdict: Verdict, run: RunInfo) -> str:
    """The JSON report text: ASCII-only (non-ASCII as `\\uXXXX`), final newline, deterministic."""
    report: dict[str, object] = {
        "verdict": "pass" if verdict.passed else "fail",
        "reason": verdict.reason,
        "findings": [_with_commit(f, run) for f in sorted_findings(verdict.findings)],
        "problems": [problem_dict(p) for p in sorted_problems(verdict.problems)],
    }
    if run.commits is not None:
        report["commits"] = [commit_dict(c) for c in run.commits]
    report.update({
        "run": {
            "tool_version": run.tool_version,
            "mode": run.mode,
            "base": run.base,
            "head": run.head,
            "fail_on": run.fail_on,
        },
    })
    return json.dumps(report, indent=2) + "\n"
