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
      "run": {"tool_version", "mode", "base", "head", "fail_on"}
    }

Absent values are `null`, never omitted, so every finding has the same keys. `findings` and
`problems` are reported exactly as the gate produced them (a problem may also appear as an
NHI9xx finding).
"""

from __future__ import annotations

import json

from checker.model import Finding, ParseProblem, Verdict
from checker.reporters import RunInfo, sorted_findings, sorted_problems


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


def render(verdict: Verdict, run: RunInfo) -> str:
    """The JSON report text: ASCII-only (non-ASCII as `\\uXXXX`), final newline, deterministic."""
    report = {
        "verdict": "pass" if verdict.passed else "fail",
        "reason": verdict.reason,
        "findings": [finding_dict(f) for f in sorted_findings(verdict.findings)],
        "problems": [problem_dict(p) for p in sorted_problems(verdict.problems)],
        "run": {
            "tool_version": run.tool_version,
            "mode": run.mode,
            "base": run.base,
            "head": run.head,
            "fail_on": run.fail_on,
        },
    }
    return json.dumps(report, indent=2) + "\n"
