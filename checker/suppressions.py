"""Inline suppressions: `nhi-gate:ignore NHIxxx reason` comments, applied as an approval hook.

Syntax (DESIGN.md "Configuration"), in an HCL `#` or `//` comment or a YAML `#` comment:

    # nhi-gate:ignore NHI301 break-glass role, reviewed in SEC-12
    # nhi-gate:ignore NHI201,NHI203 -- owned by the platform team's vault module

- One or more rule ids (comma-separated), then a reason. The reason is mandatory.
- Placement: at the end of the finding's line, in the comment lines directly above the
  finding's line, in the comment lines directly above the identity block (no blank line in
  between), or on/above any line inside the identity block (it then covers that rule for the
  whole identity). A comment inside a string is not a suppression.
- A valid suppression marks the matching findings `approved`; they stay in every report, as
  SARIF results with a `suppressions` entry of kind `inSource` whose justification is the reason.

What is not a valid suppression, and what it gives instead (the finding is NOT suppressed):
- no reason, no rule id, an id that is not an nhi-gate rule, or a rule that cannot be
  suppressed inline (NHI1xx: lifted only by a human approval; NHI9xx: fix or `exclude` the file)
  -> NHI105 on the comment's line, with a message naming the problem;
- a suppression on a line that an AI agent or bot wrote in the change under review (commit
  provenance in `check`, the committer in `hook`) -> NHI102 "needs approval": an agent cannot
  waive the findings on its own change. Lines already in the base revision, and every line in
  `scan` mode, are trusted: they were reviewed when they merged.

The hook only reads text; it never parses HCL or YAML again. JSON (`*.tf.json`, `.json`)
has no comments, so it has no inline suppressions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Literal

from checker.change import ACTOR_RANK, ChangeSet, Provenance
from checker.fingerprint import fingerprint
from checker.model import Finding, IdentityObject, Location, SourceFile
from checker.parsers.common import decode

SyntaxKind = Literal["hcl", "yaml"]

#: The rule id for an invalid suppression (documented in rules/docs/surfaces.yaml).
INVALID_RULE = "NHI105"
#: The rule id for a suppression an agent or bot wrote (documented in rules/docs/approval.yaml).
NEEDS_APPROVAL_RULE = "NHI102"

_MARK = re.compile(r"nhi-gate\s*:\s*ignore\b(?P<rest>.*)$", re.IGNORECASE)
#: A token meant as a rule id (so a typo like `NHI2O1` is reported as an unknown id, not
#: read as the start of the reason): anything starting with NHI, or letters then digits.
_ID_LIKE = re.compile(r"^(?:NHI[^\s,]*|[A-Za-z]{2,}[0-9]+)$", re.IGNORECASE)
_RULE_ID = re.compile(r"^NHI[0-9]{3}$")
_REASON_TRIM = " \t-:—–,;."
_MIN_REASON = 3


@dataclass(frozen=True)
class Waiver:
    """Why an approved finding does not block, for SARIF `result.suppressions[]`.

    `kind` is SARIF's suppression kind: `inSource` for an inline comment, `external` for a
    baseline file or a review. `justification` is the human-written reason (or where the
    external decision lives); `location` names the file and line of the comment, or the
    baseline file.
    """

    kind: Literal["inSource", "external"]
    justification: str
    location: str


@dataclass(frozen=True)
class WaivedFinding(Finding):
    """A `Finding` that a suppression or baseline approved, carrying its `Waiver`.

    A subclass, so code that only knows `Finding` keeps working (`dataclasses.replace` keeps the
    class, and the gate uses it).
    """

    waiver: Waiver | None = None


def waive(finding: Finding, waiver: Waiver) -> WaivedFinding:
    """`finding` marked approved, with `waiver` attached (every other field unchanged)."""
    values = {f.name: getattr(finding, f.name) for f in fields(Finding)}
    values["approved"] = True
    if "approved_by" in values:  # shown by text and summary reporters
        how = "inline suppression at" if waiver.kind == "inSource" else "baseline"
        values["approved_by"] = f"{how} {waiver.location}"
    return WaivedFinding(**values, waiver=waiver)


@dataclass(frozen=True)
class Suppression:
    """One `nhi-gate:ignore` comment.

    `line` is the 1-based line of the comment; `target` the line it applies to (its own line
    for a trailing comment, else the first non-comment line below its comment run, or None at
    end of file); `rule_ids` as written (upper-cased); `reason` stripped ("" when missing);
    `text` the comment from `nhi-gate:ignore` on, for messages (never a secret: it is a comment
    the user wrote to be read).
    """

    path: str
    line: int
    target: int | None
    rule_ids: tuple[str, ...]
    reason: str
    text: str
    trailing: bool


def syntax_for(path: str) -> SyntaxKind | None:
    """Comment syntax by file name: `hcl` for .tf/.hcl/.tofu/.tfvars, `yaml` for .yaml/.yml."""
    lower = path.lower()
    if lower.endswith((".tf", ".hcl", ".tofu", ".tfvars")):
        return "hcl"
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    return None


def comment_start(line: str, syntax: SyntaxKind) -> int | None:
    """Index where a comment starts on `line`, or None.

    Quotes are tracked so `"a # b"` is not a comment: HCL strings are double-quoted with
    backslash escapes; YAML also has single-quoted scalars (`''` escapes a quote). HCL comments
    start with `#` or `//`; a YAML `#` starts a comment only at line start or after whitespace.
    """
    quote: str | None = None
    i = 0
    n = len(line)
    while i < n:
        ch = line[i]
        if quote is not None:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                if quote == "'" and i + 1 < n and line[i + 1] == "'":
                    i += 2
                    continue
                quote = None
            i += 1
            continue
        if ch == '"' or (ch == "'" and syntax == "yaml"):
            quote = ch
        elif ch == "#":
            if syntax == "hcl" or i == 0 or line[i - 1] in " \t":
                return i
        elif ch == "/" and syntax == "hcl" and line.startswith("//", i):
            return i
        i += 1
    return None


def _is_comment_line(line: str, syntax: SyntaxKind) -> bool:
    start = comment_start(line, syntax)
    return start is not None and not line[:start].strip()


def _parse_rest(rest: str) -> tuple[tuple[str, ...], str]:
    """`" NHI301,NHI203 -- why"` -> (("NHI301", "NHI203"), "why")."""
    rest = rest.strip()
    ids: list[str] = []
    while rest:
        m = re.match(r"([^\s,]+)\s*(,?)\s*", rest)
        if m is None or not _ID_LIKE.match(m.group(1)):
            break
        ids.append(m.group(1).upper())
        rest = rest[m.end() :]
        if not m.group(2) and not (rest and _ID_LIKE.match(rest.split()[0].rstrip(","))):
            break
    return tuple(ids), rest.strip(_REASON_TRIM)


def find_suppressions(path: str, text: str) -> list[Suppression]:
    """Every `nhi-gate:ignore` comment in `text` (LF line ends), in line order.

    Returns [] for files without comment syntax (JSON) or without markers.
    """
    syntax = syntax_for(path)
    if syntax is None or "ignore" not in text:
        return []
    lines = text.split("\n")
    out: list[Suppression] = []
    for idx, line in enumerate(lines):
        if "ignore" not in line.lower():
            continue
        start = comment_start(line, syntax)
        if start is None:
            continue
        m = _MARK.search(line, start)
        if m is None:
            continue
        rule_ids, reason = _parse_rest(m.group("rest"))
        trailing = bool(line[:start].strip())
        if trailing:
            target: int | None = idx + 1
        else:
            j = idx + 1
            while j < len(lines) and _is_comment_line(lines[j], syntax):
                j += 1
            target = j + 1 if j < len(lines) and lines[j].strip() else None
        out.append(
            Suppression(path, idx + 1, target, rule_ids, reason, m.group(0).strip(), trailing)
        )
    return out


def _problem(s: Suppression, known: Collection[str]) -> str | None:
    """Why `s` is invalid, or None when it is a usable suppression."""
    shown = f"`{s.text}` on line {s.line}"
    if not s.rule_ids:
        return (f"{shown} names no rule id; write `nhi-gate:ignore NHIxxx <reason>` "
                "(for example `# nhi-gate:ignore NHI301 break-glass role, approved in SEC-12`); "
                "not applied")
    for rule_id in s.rule_ids:
        if not _RULE_ID.match(rule_id) or rule_id not in known:
            return (f"{shown} names {rule_id}, which is not an nhi-gate rule (ids are NHI followed "
                    "by three digits; `nhi-gate rules` lists them); not applied")
        if rule_id.startswith("NHI1"):
            return (f"{shown} tries to suppress {rule_id}, which cannot be suppressed inline: "
                    "it is lifted only by a human's approval (a pull-request review, or a signed "
                    "commit with an `Approved-by:` trailer); not applied")
        if rule_id.startswith("NHI9"):
            return (f"{shown} tries to suppress {rule_id}, which cannot be suppressed inline: "
                    "fix the file, or add it to `exclude` in the base branch's .nhi-gate.yaml; "
                    "not applied")
    if len(s.reason) < _MIN_REASON or not re.search(r"[A-Za-z0-9]", s.reason):
        ids = ",".join(s.rule_ids)
        return (f"{shown} gives no reason; a suppression must say why, e.g. "
                f"`# nhi-gate:ignore {ids} <why this is acceptable, and who decided>`; "
                "not applied")
    return None


def _line_actor(
    path: str,
    line: int,
    changeset: ChangeSet,
    provenance: Mapping[str, Provenance],
    hook_actor: Provenance | None,
    mode: str,
) -> Provenance | None:
    """Who wrote `path:line` in the change under review (the most agent-like of its commit and
    its lineage); None when it predates the change."""
    if mode == "scan":
        return None
    for cf in changeset.files:
        if cf.path != path:
            continue
        if not cf.is_added(line):
            return None
        sha = cf.line_commits.get(line)
        if sha:
            # The most agent-like of the line's commit and the in-range commits whose lines it
            # replaced (`line_lineage`): a human re-edit does not launder an agent's comment.
            actors = [provenance.get(c) or Provenance(c, "unknown")
                      for c in (*cf.line_lineage.get(line, ()), sha)]  # fmt: skip
            return max(reversed(actors), key=lambda p: ACTOR_RANK[p.actor_kind])
        if mode == "hook":
            return hook_actor
        # Added but not attributed (diff and blame aligned differently): assume the most
        # agent-like author in the range wrote it, so an agent's comment never slips through.
        known = [provenance[c.sha] for c in changeset.commits if c.sha in provenance]
        return max(known, key=lambda p: ACTOR_RANK[p.actor_kind], default=None)
    return None


def _applies(
    s: Suppression, f: Finding, spans: Mapping[tuple[str, str], tuple[int, int]]
) -> bool:
    """Same file and rule, and the comment sits on/above the finding's line, directly above
    the identity block, or on/above any line inside it (findings move to the first added line
    of an identity in `check`, so a comment above an attribute still covers its identity)."""
    if f.location.path != s.path or f.rule_id not in s.rule_ids or s.target is None:
        return False
    if f.location.start_line == s.target:
        return True
    span = spans.get((f.location.path, f.address)) if f.address is not None else None
    return span is not None and span[0] <= s.target <= span[1]


def _target_address(
    s: Suppression, objects: Sequence[IdentityObject]
) -> str | None:
    for obj in objects:
        loc = obj.location
        if loc.path == s.path and s.target is not None and (
            loc.start_line == s.target or (s.trailing and loc.start_line <= s.line <= loc.end_line)
        ):
            return obj.address
    return None


def suppression_approver(
    sources: Sequence[SourceFile],
    objects: Sequence[IdentityObject],
    *,
    known_rules: Collection[str],
    mode: str,
    changeset: ChangeSet,
    provenance: Mapping[str, Provenance] | None = None,
    hook_actor: Provenance | None = None,
    rule_levels: Mapping[str, str] | None = None,
) -> Callable[[list[Finding]], list[Finding]]:
    """An `pipeline.Approver` that applies the inline suppressions found in `sources`.

    `sources` are the head versions of the files (their text is scanned for comments);
    `objects` the identities parsed from them (for "directly above the identity block");
    `known_rules` every rule id that exists (`load_rule_docs()` keys); `mode` is `check`,
    `hook` or `scan`; `changeset`/`provenance`/`hook_actor` say who wrote each comment line;
    `rule_levels` is config `rules:` (a level for NHI102/NHI105, or `off`).

    The returned function keeps every finding: valid suppressions mark the matching findings
    approved (`WaivedFinding` with an `inSource` waiver), and it appends one NHI105 finding per
    invalid suppression and one NHI102 finding per suppression an agent or bot wrote.
    """
    found: list[Suppression] = []
    for src in sources:
        text = decode(src)
        if isinstance(text, str):
            found.extend(find_suppressions(src.path, text))
    spans = {(o.location.path, o.address): (o.location.start_line, o.location.end_line)
             for o in objects}
    prov = provenance or {}
    levels = rule_levels or {}

    def approve(findings: list[Finding]) -> list[Finding]:
        extra: list[Finding] = []
        usable: list[Suppression] = []
        for s in found:
            actor = _line_actor(s.path, s.line, changeset, prov, hook_actor, mode)
            address = _target_address(s, objects)
            problem = _problem(s, known_rules)
            if problem is not None:
                extra.append(_meta_finding(INVALID_RULE, "warning", problem, s, address, actor))
                continue
            if actor is not None and actor.actor_kind in ("agent", "bot"):
                who = actor.agent or actor.actor_kind
                where = f" in commit {actor.commit[:12]}" if actor.commit else ""
                extra.append(_meta_finding(
                    NEEDS_APPROVAL_RULE, "error",
                    f"`{s.text}` on line {s.line} was written by {actor.actor_kind} ({who})"
                    f"{where}; a suppression an agent or bot adds does not apply until a human "
                    f"approves the change, so {', '.join(s.rule_ids)} still count",
                    s, address, actor,
                ))
                continue
            usable.append(s)
        out: list[Finding] = []
        for f in findings:
            match = next((s for s in usable if _applies(s, f, spans)), None)
            if match is None or f.approved:
                out.append(f)
                continue
            out.append(waive(f, Waiver("inSource", match.reason, f"{match.path}:{match.line}")))
        kept = [f for f in extra if levels.get(f.rule_id) != "off"]
        return out + [
            f if f.rule_id not in levels else replace(f, level=levels[f.rule_id])  # type: ignore[arg-type]
            for f in kept
        ]

    return approve


def _meta_finding(
    rule_id: str,
    level: Literal["error", "warning"],
    message: str,
    s: Suppression,
    address: str | None,
    actor: Provenance | None,
) -> Finding:
    attribute = " ".join(s.text.split())  # the comment itself: stable when lines move
    return Finding(
        rule_id=rule_id,
        level=level,
        message=message,
        location=Location(s.path, s.line, s.line),
        address=address,
        attribute=attribute,
        actor_kind=actor.actor_kind if actor else None,
        commit=(actor.commit or None) if actor else None,
        agent=actor.agent if actor else None,
        fingerprint=fingerprint(rule_id, s.path, address, attribute),
    )
