"""GitHub Actions output: workflow-command annotations and a Markdown job summary.

Annotations work without code scanning (no GHAS needed) and appear on the PR's changed files:

    ::error file=infra/iam.tf,line=12,endLine=12,title=NHI101%3A aws_iam_user.deploy::message

Escaping (GitHub's workflow-command rules): in the message (data) `%`, `\\r`, `\\n` become `%25`,
`%0D`, `%0A`; in property values additionally `:` and `,` become `%3A` and `%2C`. This also
stops a crafted message from starting a new command on its own line.

GitHub shows at most 10 error and 10 warning annotations per step (50 per job), so we emit the
first 10 of each level (blocking first, then file order), then one `::notice::` counting the
rest. Approved findings are not annotated; they stay in SARIF as suppressed results.

The job summary (`$GITHUB_STEP_SUMMARY`) must stay under 1 MiB per step; `render_summary` caps
its tables at `MAX_ROWS` rows and cells at `MAX_CELL` characters, and the whole text at
`MAX_SUMMARY_BYTES`.
"""

from __future__ import annotations

from collections.abc import Mapping

from checker.model import LEVEL_RANK, Finding, Location, Verdict
from checker.policy.rule_docs import RuleDoc, help_uri
from checker.reporters import (
    RunInfo,
    evidence_text,
    finding_key,
    plural,
    problem_finding,
    short_sha,
    sorted_findings,
    unmirrored_problems,
)
from checker.reporters.text import safe_text

MAX_PER_LEVEL = 10
MAX_ROWS = 50
MAX_CELL = 200
MAX_SUMMARY_BYTES = 256 * 1024

_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def escape_data(value: str) -> str:
    """Escape a workflow-command message: `%` -> `%25`, CR -> `%0D`, LF -> `%0A`; other
    control and bidi characters (terminal escapes in a crafted path) as `\\xNN`/`\\uNNNN`."""
    escaped = value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return safe_text(escaped)


def escape_property(value: str) -> str:
    """Escape a workflow-command property value: as `escape_data`, plus `:` and `,`."""
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def _annotation(finding: Finding) -> str:
    line = max(1, finding.location.start_line)
    title = f"{finding.rule_id}: {finding.address}" if finding.address else finding.rule_id
    props = [
        f"file={escape_property(finding.location.path)}",
        f"line={line}",
        f"endLine={line}",
        f"title={escape_property(title)}",
    ]
    message = finding.message
    if finding.blocking and finding.rule_id.startswith(("NHI4", "NHI9")):
        message += " [blocking: must be fixed; approval cannot waive it]"
    elif finding.blocking:
        message += " [blocking: needs approval from a human who is not an author of the change]"
    return f"::{_COMMAND[finding.level]} {','.join(props)}::{escape_data(message)}"


def _input_annotation(finding: Finding, name: str, where: Location) -> str:
    """The annotation of `finding` on the changed input it came through (`Finding.related`),
    another file than the identity's, which GitHub shows inline only on a changed line."""
    line = max(1, where.start_line)
    title = f"{finding.rule_id} via {name}"
    props = [f"file={escape_property(where.path)}", f"line={line}", f"endLine={line}",
             f"title={escape_property(title)}"]
    message = (f"{finding.message} (the identity is at {finding.location.path}:"
               f"{finding.location.start_line})")
    return f"::{_COMMAND[finding.level]} {','.join(props)}::{escape_data(message)}"


def render_annotations(verdict: Verdict) -> str:
    """Workflow commands for the unapproved findings and unmirrored parse problems; a finding
    that came through a changed input in another file (`Finding.related`) is said on that
    input's line as well.

    At most `MAX_PER_LEVEL` per level; one `::notice::` counts what was left out. Returns ""
    when there is nothing to annotate, else lines ending with a newline.
    """
    candidates = [f for f in verdict.findings if not f.approved]
    candidates += [problem_finding(p) for p in unmirrored_problems(verdict)]
    candidates.sort(key=lambda f: (not f.blocking, -LEVEL_RANK[f.level], finding_key(f)))
    shown: dict[str, int] = {}
    lines: list[str] = []
    left_out = 0
    for finding in candidates:
        if shown.get(finding.level, 0) >= MAX_PER_LEVEL:
            left_out += 1
            continue
        shown[finding.level] = shown.get(finding.level, 0) + 1
        lines.append(_annotation(finding))
        inputs = [(n, w) for n, w in finding.related if w.path != finding.location.path]
        if inputs and shown[finding.level] < MAX_PER_LEVEL:
            # the identity's own file may be outside the diff: say it on the changed input too
            shown[finding.level] += 1
            lines.append(_input_annotation(finding, *inputs[0]))
    if left_out:
        lines.append(
            "::notice::"
            + escape_data(
                f"nhi-gate: {plural(left_out, 'more finding')} not shown as annotations "
                f"(GitHub shows at most {MAX_PER_LEVEL} per level per step); "
                "see the job summary or the SARIF report"
            )
        )
    return "".join(line + "\n" for line in lines)


def _cell(value: str) -> str:
    """Markdown-safe table text: HTML and Markdown punctuation escaped, one line, capped."""
    value = " ".join(value.split())
    if len(value) > MAX_CELL:
        value = value[: MAX_CELL - 1] + "…"
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = value.replace("\\", "\\\\")
    for char in "`*_[]|#~!":
        value = value.replace(char, "\\" + char)
    return value


def _code(value: str) -> str:
    """An inline code span safe inside a table cell (pipes escaped, fence longer than content)."""
    value = " ".join(value.split())
    if len(value) > MAX_CELL:
        value = value[: MAX_CELL - 1] + "…"
    fence = "`"
    while fence in value:
        fence += "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    value = value.replace("|", "\\|")
    return f"{fence}{pad}{value}{pad}{fence}"


def _actor(finding: Finding, run: RunInfo | None = None) -> str:
    if not finding.actor_kind:
        return "—"
    text = _cell(finding.actor_kind)
    if finding.agent:
        text += f" ({_cell(finding.agent)})"
    sha = short_sha(finding.commit)
    if sha:
        text += f" {_code(sha)}"
    listed = run.commit(finding.commit) if run is not None else None
    if listed is not None:
        text += f", {_cell(listed.strength or 'no')} evidence"
        if listed.logs_url:
            text += f", {_link('logs', listed.logs_url)}"
    return text


def _link(label: str, url: str) -> str:
    """A Markdown link to an https URL taken from a commit (anything else: the URL as code)."""
    if url.startswith("https://") and not any(c in url for c in "()<>[] \"|`"):
        return f"[{_cell(label)}]({url})"
    return _code(url)


def _who_must_approve(finding: Finding) -> str:
    if finding.rule_id.startswith("NHI9"):
        return "nobody: fix the file, or exclude it in the base branch's `.nhi-gate.yaml`"
    if finding.rule_id.startswith("NHI4"):
        return "nobody: remove the secret material (and rotate it if it was real)"
    return "a human reviewer who is not an author of the change, on the latest commit"


def _rule(finding: Finding, docs: Mapping[str, RuleDoc]) -> str:
    doc = docs.get(finding.rule_id)
    uri = doc.help_uri if doc else help_uri(finding.rule_id)
    name = f" {_cell(doc.name)}" if doc else ""
    return f"[{finding.rule_id}]({uri}){name}"


def _row(finding: Finding, docs: Mapping[str, RuleDoc], last: str,
         run: RunInfo | None = None) -> str:
    loc = _code(f"{finding.location.path}:{finding.location.start_line}")
    identity = _code(finding.address) if finding.address else "—"
    return f"| {loc} | {_rule(finding, docs)} | {identity} | {_actor(finding, run)} | {last} |"


def _commit_rows(run: RunInfo) -> list[str]:
    """The `Commits` section: every commit of the range with its actor, product, evidence
    strength and evidence (a Copilot coding-agent commit links its session log)."""
    commits = run.commits or ()
    lines = ["### Commits", "", "| Commit | Actor | Strength | Evidence |", "|---|---|---|---|"]
    for commit in commits[:MAX_ROWS]:
        who = _cell(commit.actor_kind) + (f" ({_cell(commit.agent)})" if commit.agent else "")
        shown = "; ".join(evidence_text(e) for e in commit.evidence)
        evidence = _cell(shown) if shown else "—"
        if commit.logs_url:
            evidence += f" · {_link('agent logs', commit.logs_url)}"
        lines.append(f"| {_code(short_sha(commit.sha) or '')} | {who} | "
                     f"{_cell(commit.strength or 'none')} | {evidence} |")
    if len(commits) > MAX_ROWS:
        more = plural(len(commits) - MAX_ROWS, "commit")
        lines += ["", f"…and {more} more; see the JSON report."]
    return [*lines, ""]


def _table(rows: list[str], header: str, total: int, what: str) -> list[str]:
    out = [header, "|---|---|---|---|---|", *rows[:MAX_ROWS]]
    if total > MAX_ROWS:
        out += ["", f"…and {plural(total - MAX_ROWS, what)} more; see the SARIF or JSON report."]
    return out


def render_summary(verdict: Verdict, docs: Mapping[str, RuleDoc], run: RunInfo) -> str:
    """Markdown for `$GITHUB_STEP_SUMMARY`: verdict, blocking findings, then the rest.

    Sections: a heading with PASS/FAIL and the gate's reason; a table of blocking findings
    (file:line, rule linked to its docs, identity, actor with its evidence strength, who must
    approve); files that could not be analysed; other findings (non-blocking and approved) in
    a collapsed block; in `check`, every commit of the range (actor, product, strength,
    evidence, the agent's session log); a footer
    with the tool version, mode, range and fail-on level. Always under `MAX_SUMMARY_BYTES`.
    """
    findings = sorted_findings(verdict.findings)
    blocking = [f for f in findings if f.blocking]
    others = [f for f in findings if not f.blocking]
    problems = unmirrored_problems(verdict)
    word = "✅ PASS" if verdict.passed else "❌ FAIL"
    lines = [f"## nhi-gate: {word}", ""]
    lead = f"**{plural(len(blocking), 'blocking finding')}**"
    if verdict.reason:
        lead += f" — {_cell(verdict.reason)}"
    lines += [lead, ""]

    if blocking:
        rows = [_row(f, docs, _who_must_approve(f), run) for f in blocking]
        header = "| Location | Rule | Identity | Actor | Who must approve |"
        lines += ["### Blocking findings", ""]
        lines += _table(rows, header, len(rows), "blocking finding")
        lines += [
            "",
            "Approval counts when a human who is not an author, committer or co-author of the "
            "change approves the pull request on its latest commit and is an allowed approver "
            "(configured approvers, else CODEOWNERS, else write access); policy is read from the "
            "base branch.",
            "",
        ]

    if problems:
        lines += ["### Files not analysed", ""]
        for problem in problems[:MAX_ROWS]:
            loc = _code(f"{problem.path}:{problem.line}")
            lines.append(
                f"- {loc} [{problem.rule_id}]({help_uri(problem.rule_id)}): "
                f"{_cell(problem.message)}"
            )
        if len(problems) > MAX_ROWS:
            lines.append(f"- …and {plural(len(problems) - MAX_ROWS, 'file')} more")
        lines.append("")

    if others:
        rows = []
        for f in others:
            status = "approved" if f.approved else f"{f.level}, non-blocking"
            rows.append(_row(f, docs, status, run))
        header = "| Location | Rule | Identity | Actor | Status |"
        lines += [
            "<details>",
            f"<summary>{plural(len(others), 'other finding')} (approved or non-blocking)</summary>",
            "",
        ]
        lines += _table(rows, header, len(rows), "finding")
        lines += ["", "</details>", ""]

    if not findings and not problems:
        lines += ["No identity or credential findings in this change.", ""]

    if run.commits is not None:
        lines += _commit_rows(run)

    span = f"{run.base or '—'}..{run.head or '—'}" if run.base or run.head else "files"
    lines.append(
        f"<sub>nhi-gate {_cell(run.tool_version)} · {_cell(run.mode)} · {_cell(span)} · "
        f"fail-on {_cell(run.fail_on)}</sub>"
    )
    text = "\n".join(lines) + "\n"
    return _cap(text)


def _cap(text: str) -> str:
    """Cut `text` at a line boundary so its UTF-8 size stays under `MAX_SUMMARY_BYTES`."""
    if len(text.encode("utf-8")) <= MAX_SUMMARY_BYTES:
        return text
    note = "\n…summary truncated; see the SARIF or JSON report.\n"
    budget = MAX_SUMMARY_BYTES - len(note.encode("utf-8"))
    kept: list[str] = []
    used = 0
    for line in text.splitlines(keepends=True):
        size = len(line.encode("utf-8"))
        if used + size > budget:
            break
        kept.append(line)
        used += size
    return "".join(kept) + note
