"""Inline suppression comments: find every `nhi-gate:ignore NHIxxx reason` comment in a file.

Syntax (DESIGN.md "Configuration"), in an HCL `#` or `//` comment or a YAML `#` comment:

    # nhi-gate:ignore NHI301 break-glass role, reviewed in SEC-12
    # nhi-gate:ignore NHI201,NHI203 -- owned by the platform team's vault module

One or more rule ids (comma-separated), then a reason. A comment inside a string is not a
suppression. A YAML comment cannot sit inside a block scalar (it would be part of the string),
so a YAML suppression reaches the whole node it sits on (`reach`): on a key whose value is a
block (`stringData:`, `app.ini: |`), every line of that block; at the top of a document (before
its first key), the whole document. This module only reads text; it never parses HCL or YAML
again. JSON (`*.tf.json`, `.json`) has no comments, so it has no inline suppressions. Whether
a suppression is valid is `checker.checks.suppressions` (NHI105, NHI102); applying it is
`checker.approval.apply`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from checker.decode import decode
from checker.lazy_patterns import lazy_compile
from checker.model import SourceFile, Suppression

SyntaxKind = Literal["hcl", "yaml"]

_MARK = lazy_compile(r"nhi-gate\s*:\s*ignore\b(?P<rest>.*)$", re.IGNORECASE)
#: A token meant as a rule id (so a typo like `NHI2O1` is reported as an unknown id, not
#: read as the start of the reason): anything starting with NHI, or letters then digits.
_ID_LIKE = lazy_compile(r"^(?:NHI[^\s,]*|[A-Za-z]{2,}[0-9]+)$", re.IGNORECASE)
_REASON_TRIM = " \t-:—–,;."


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
        reach = (_reach(lines, idx, target, syntax) if target is not None and not trailing
                 else None)  # fmt: skip
        out.append(Suppression(path, idx + 1, target, rule_ids, reason, m.group(0).strip(),
                               trailing, reach))
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _reach(lines: list[str], idx: int, target: int, syntax: SyntaxKind) -> int | None:
    """The last line of the YAML node a suppression on line `idx + 1` sits on (its `target`):
    the document when the comment opens it, else the lines indented below the target line;
    None for HCL or a one-line node."""
    if syntax != "yaml":
        return None
    start = idx
    while start > 0 and (not lines[start - 1].strip()
                         or _is_comment_line(lines[start - 1], syntax)):
        start -= 1
    if start == 0 or lines[start - 1].startswith("---"):
        end = target
        while end < len(lines) and not lines[end].startswith(("---", "...")):
            end += 1
        while end > target and not lines[end - 1].strip():
            end -= 1
        return end if end > target else None
    indent = _indent(lines[target - 1])
    last = target
    for j in range(target, len(lines)):
        if not lines[j].strip():
            continue
        if _indent(lines[j]) <= indent:
            break
        last = j + 1
    return last if last > target else None


def suppressions_in(sources: Sequence[SourceFile]) -> list[Suppression]:
    """Every `nhi-gate:ignore` comment in `sources` (files that cannot be decoded have none)."""
    found: list[Suppression] = []
    for src in sources:
        text = decode(src)
        if isinstance(text, str):
            found.extend(find_suppressions(src.path, text))
    return found
