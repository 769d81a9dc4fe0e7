"""Human-readable report: findings grouped by file, each with why and how to fix.

Shape (colour only when asked; never any secret value, since findings carry none and nothing
else is read):

    infra/iam.tf
      L12  NHI101  error  BLOCKING  aws_iam_user.deploy
           aws_iam_user.deploy was added by an agent without a human approval
           by: agent (claude-code) in 1a2b3c4d5e6f
           why: An AI agent or bot created or changed an identity or credential, ...
           fix: Ask a human who did not author the change to review the identity ...

    commits (check only: every commit of the range, finding or not):
      1a2b3c4d5e6f  agent (Claude Code)  strong
           strong trailer: Co-Authored-By: Claude <noreply@anthropic.com> (claude-code)

    3 findings: 2 error, 1 warning, 0 note; 2 blocking, 1 approved (fail-on: error)
    nhi-gate: FAIL — 2 blocking findings (agent-introduced identities need human approval)

In `check` the `by:` line also gives the strength of the commit's evidence and its
`Agent-Logs-Url:`.

The status column is `BLOCKING`, `approved` or `non-blocking`; parse problems that no finding
mirrors are listed in their file's group with status `NOT-ANALYSED`. Every value taken from the
input is passed through `safe_text`, so a crafted path or message cannot emit terminal escapes or
bidirectional-override characters.
"""

from __future__ import annotations

from collections.abc import Mapping

from checker.lazy_patterns import lazy_compile
from checker.model import LEVEL_RANK, Verdict
from checker.policy.rule_docs import RuleDoc
from checker.reporters import (
    RunInfo,
    evidence_text,
    plural,
    short_sha,
    sorted_findings,
    unmirrored_problems,
)

_RESET = "\x1b[0m"
_STYLES: Mapping[str, str] = {
    "error": "\x1b[31m",
    "warning": "\x1b[33m",
    "note": "\x1b[36m",
    "BLOCKING": "\x1b[1;31m",
    "NOT-ANALYSED": "\x1b[1;31m",
    "approved": "\x1b[32m",
    "non-blocking": "\x1b[2m",
    "path": "\x1b[1m",
    "label": "\x1b[2m",
    "FAIL": "\x1b[1;31m",
    "PASS": "\x1b[1;32m",
}
#: Bidirectional controls (Trojan Source) and other format characters that reorder or hide text.
_INVISIBLE = frozenset(
    "\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
#: Any character `safe_text` escapes: most values hold none, and are returned as they are.
_UNSAFE = lazy_compile("[\\x00-\\x1f\\x7f-\\x9f" + "".join(
    f"\\u{ord(c):04x}" for c in sorted(_INVISIBLE)) + "]")
_INDENT = "       "


def safe_text(value: str) -> str:
    """`value` with control and bidi characters shown as `\\xNN` / `\\uNNNN` escapes."""
    if _UNSAFE.search(value) is None:
        return value
    out: list[str] = []
    for char in value:
        code = ord(char)
        if code < 0x20 or 0x7F <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        elif char in _INVISIBLE:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_STYLES[style]}{text}{_RESET}" if color and style in _STYLES else text


def _explain(rule_id: str, docs: Mapping[str, RuleDoc], color: bool) -> list[str]:
    doc = docs.get(rule_id)
    if doc is None:
        return []
    return [
        f"{_INDENT}{_paint('why:', 'label', color)} {doc.short}",
        f"{_INDENT}{_paint('fix:', 'label', color)} {doc.fix}",
    ]


def render(verdict: Verdict, docs: Mapping[str, RuleDoc], run: RunInfo, color: bool) -> str:
    """The text report, ending with a newline. ANSI colour only when `color` is True."""
    groups: dict[str, list[list[str]]] = {}
    for finding in sorted_findings(verdict.findings):
        if finding.blocking:
            status = "BLOCKING"
        elif finding.approved:
            status = "approved"
        else:
            status = "non-blocking"
        head = [
            f"L{finding.location.start_line}",
            finding.rule_id,
            _paint(finding.level, finding.level, color),
            _paint(status, status, color),
        ]
        if finding.address:
            head.append(safe_text(finding.address))
        entry = ["  " + "  ".join(head), f"{_INDENT}{safe_text(finding.message)}"]
        if finding.actor_kind:
            by: str = finding.actor_kind
            if finding.agent:
                by += f" ({safe_text(finding.agent)})"
            if finding.commit:
                by += f" in {short_sha(safe_text(finding.commit))}"
            listed = run.commit(finding.commit)
            if listed is not None:
                by += f", {listed.strength or 'no'} evidence"
                if listed.logs_url:
                    by += f", logs {safe_text(listed.logs_url)}"
            entry.append(f"{_INDENT}{_paint('by:', 'label', color)} {by}")
        entry += _explain(finding.rule_id, docs, color)
        groups.setdefault(finding.location.path, []).append(entry)

    problems = unmirrored_problems(verdict)
    for problem in problems:
        head = [
            f"L{problem.line}",
            problem.rule_id,
            _paint("error", "error", color),
            _paint("NOT-ANALYSED", "NOT-ANALYSED", color),
        ]
        entry = ["  " + "  ".join(head), f"{_INDENT}{safe_text(problem.message)}"]
        entry += _explain(problem.rule_id, docs, color)
        groups.setdefault(problem.path, []).append(entry)

    lines: list[str] = []
    for path in sorted(groups):
        lines.append(_paint(safe_text(path), "path", color))
        for entry in groups[path]:
            lines += entry
        lines.append("")
    if not groups:
        lines += ["No identity findings.", ""]

    if run.commits is not None:
        lines += _commits(run, color)
    counts = {level: 0 for level in sorted(LEVEL_RANK, key=LEVEL_RANK.__getitem__, reverse=True)}
    for finding in verdict.findings:
        counts[finding.level] = counts.get(finding.level, 0) + 1
    blocking = sum(1 for f in verdict.findings if f.blocking)
    approved = sum(1 for f in verdict.findings if f.approved)
    by_level = ", ".join(f"{n} {level}" for level, n in counts.items())
    tally = f"{plural(len(verdict.findings), 'finding')}: {by_level}; {blocking} blocking"
    tally += f", {approved} approved"
    unreadable = len({p.path for p in verdict.problems})
    if unreadable:
        tally += f"; {plural(unreadable, 'file')} not analysed"
    lines.append(f"{tally} (fail-on: {run.fail_on})")

    word = "PASS" if verdict.passed else "FAIL"
    summary = f"nhi-gate: {_paint(word, word, color)} — {plural(blocking, 'blocking finding')}"
    if verdict.reason:
        summary += f" ({safe_text(verdict.reason)})"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def _commits(run: RunInfo, color: bool) -> list[str]:
    """The `commits` section: one line per commit of the range (short sha, actor kind and
    product, strength), then its evidence and `Agent-Logs-Url:`, indented."""
    lines = [_paint(f"commits ({len(run.commits or ())}):", "path", color)]
    for commit in run.commits or ():
        who = commit.actor_kind + (f" ({safe_text(commit.agent)})" if commit.agent else "")
        lines.append(f"  {short_sha(commit.sha)}  {who}  {commit.strength or 'no evidence'}")
        lines += [f"{_INDENT}{safe_text(evidence_text(e))}" for e in commit.evidence]
        if commit.logs_url:
            lines.append(f"{_INDENT}logs: {safe_text(commit.logs_url)}")
    return [*lines, ""]
