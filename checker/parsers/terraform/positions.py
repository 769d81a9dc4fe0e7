"""Positions python-hcl2 does not give: an HCL mini-lexer, attribute lines, JSON value spans.

python-hcl2 7.3.1 gives block lines (`__start_line__`/`__end_line__`) but no attribute
positions, so `scan_block` finds a block's attributes and nested blocks in the text, using
`depth_at_line_starts` (the bracket depth at each line's start, and whether the line starts in
code rather than inside a string, heredoc or comment). `json_spans` gives every value of a
`.tf.json` file its lines. Positions live in these side tables, never inside parsed data.
"""

from __future__ import annotations

import bisect
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass

from checker.lazy_patterns import lazy_compile

#: A value's path in a JSON document: object keys and array indexes.
JsonPath = tuple[str | int, ...]
#: (bracket depth at the start of a line, True when the line starts in code).
LineStart = tuple[int, bool]

_ATTR_LINE = lazy_compile(r"\s*([A-Za-z_][\w-]*)\s*=(?!=)")
_BLOCK_LINE = lazy_compile(r"\s*([A-Za-z_][\w-]*)(?:\s+[A-Za-z_][\w-]*|\s*\"[^\"\n]*\")*\s*\{")
_HEREDOC = lazy_compile(r"<<-?([A-Za-z_][\w-]*)\s*$")
#: The next character the lexer acts on: in code (`#`, `/`, a quote, `<`, a bracket), and
#: inside a string (an escape, the closing quote, a template's `$`/`%`); the rest is skipped.
_CODE_STOP = lazy_compile(r'[#/"<{}\[\]()]')
_STRING_STOP = lazy_compile(r'[\\"$%]')


def depth_at_line_starts(lines: Sequence[str], start: int, end: int) -> list[LineStart]:
    """For each line `start..end` (1-based, inclusive): (bracket depth at its start, in code).

    A small HCL lexer: `{[(` / `)]}` count only outside strings, comments and heredocs;
    strings may hold `${...}`/`%{...}` templates with nested strings; `#`, `//` and `/* */`
    comments and `<<EOT`/`<<-EOT` heredocs are skipped. "In code" is False for lines that start
    inside a heredoc, a block comment or a string. Depth is relative to the first line.
    """
    out: list[LineStart] = []
    depth = 0
    stack: list[int] = []  # -1: inside a string; n > 0: inside a template, n open braces
    comment = False
    heredoc: str | None = None
    for ln in range(start, end + 1):
        text = lines[ln - 1] if 0 < ln <= len(lines) else ""
        if heredoc is not None:
            out.append((depth, False))
            if text.strip() == heredoc:
                heredoc = None
            continue
        out.append((depth, not comment and not stack))
        i, n = 0, len(text)
        while i < n:
            if comment:
                close = text.find("*/", i)
                if close < 0:
                    break
                comment = False
                i = close + 2
                continue
            if stack and stack[-1] < 0:
                found = _STRING_STOP.search(text, i)
                if found is None:
                    break
                i = found.start()
                c = text[i]
                if c == "\\":
                    i += 2
                elif c == '"':
                    stack.pop()
                    i += 1
                elif text.startswith(("$${", "%%{"), i):
                    i += 3
                elif text.startswith(("${", "%{"), i):
                    stack.append(1)
                    i += 2
                else:
                    i += 1
                continue
            found = _CODE_STOP.search(text, i)
            if found is None:
                break
            i = found.start()
            c = text[i]
            if c == "#" or text.startswith("//", i):
                break
            if text.startswith("/*", i):
                comment = True
                i += 2
                continue
            if c == '"':
                stack.append(-1)
            elif not stack:
                heredoc_start = _HEREDOC.match(text, i) if c == "<" else None
                if heredoc_start:
                    heredoc = heredoc_start.group(1)
                    break
                if c in "{[(":
                    depth += 1
                elif c in "}])":
                    depth -= 1
            elif c == "{":
                stack[-1] += 1
            elif c == "}":
                stack[-1] -= 1
                if stack[-1] == 0:
                    stack.pop()
            i += 1
    return out


def scan_block(lines: Sequence[str], start: int, end: int) -> dict[str, tuple[int, int]]:
    """Top-level attributes and nested blocks of the block spanning `start..end`.

    Returns name -> (first line, last line): the first line matching `^\\s*name\\s*=` or
    `^\\s*name ["label"...] {` at the block's own nesting depth (first occurrence wins for
    repeated nested blocks), the last line being the line before the next top-level line.
    python-hcl2 7.3.1 gives no attribute positions, hence the scan.
    """
    block = tuple(lines[ln - 1] if 0 < ln <= len(lines) else "" for ln in range(start, end + 1))
    return {name: (first + start - 1, last + start - 1)
            for name, (first, last) in _scan_lines(block).items()}


@functools.lru_cache(maxsize=4096)
def _scan_lines(lines: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    """`scan_block` of one block's own lines (positions 1-based within them). Cached: a local
    module's blocks are scanned again for each caller (`callees`). Read-only result."""
    start, end = 1, len(lines)
    states = depth_at_line_starts(lines, start, end)
    found: dict[str, int] = {}
    tops: list[int] = []  # lines starting at the block's depth (attribute or closing brace)
    for offset, (depth, code) in enumerate(states[1:], start=1):
        ln = start + offset
        text = lines[ln - 1] if ln <= len(lines) else ""
        stripped = text.strip()
        if not code or depth != 1 or not stripped or stripped.startswith(("#", "//", "/*")):
            continue
        tops.append(ln)
        m = _ATTR_LINE.match(text) or _BLOCK_LINE.match(text)
        if m and m.group(1) not in found:
            found[m.group(1)] = ln
    spans: dict[str, tuple[int, int]] = {}
    for name, ln in found.items():
        k = bisect.bisect_right(tops, ln)
        last = tops[k] - 1 if k < len(tops) else end
        spans[name] = (ln, max(ln, last))
    return spans


@dataclass
class _Frame:
    path: JsonPath
    start: int
    is_object: bool
    expect_key: bool = True
    key: str = ""
    key_line: int = 1
    index: int = 0


def json_spans(text: str) -> dict[JsonPath, tuple[int, int]]:
    """1-based (first, last) line of every value in a JSON text, keyed by its path.

    The first line of an object member is its key's line. Iterative (no recursion limit); the
    text has already been accepted by `json.loads`, so the scanner can be lenient.
    """
    spans: dict[JsonPath, tuple[int, int]] = {}
    stack: list[_Frame] = []
    i, n, line = 0, len(text), 1

    def where() -> tuple[JsonPath, int]:
        if not stack:
            return (), line
        top = stack[-1]
        if top.is_object:
            return (*top.path, top.key), top.key_line
        return (*top.path, top.index), line

    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r:":
            i += 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            if stack and stack[-1].is_object and stack[-1].expect_key:
                try:
                    key = json.loads(text[i:j])
                except ValueError:
                    key = text[i + 1 : j - 1]
                stack[-1].key, stack[-1].key_line, stack[-1].expect_key = str(key), line, False
            else:
                path, first = where()
                spans[path] = (first, line)
            i = j
        elif c in "{[":
            path, first = where()
            stack.append(_Frame(path, first, c == "{"))
            i += 1
        elif c in "}]":
            if stack:
                frame = stack.pop()
                spans[frame.path] = (frame.start, line)
            i += 1
        elif c == ",":
            if stack:
                if stack[-1].is_object:
                    stack[-1].expect_key = True
                else:
                    stack[-1].index += 1
            i += 1
        else:
            j = i
            while j < n and text[j] not in ",]}\n \t\r":
                j += 1
            path, first = where()
            spans[path] = (first, line)
            i = max(j, i + 1)
    return spans
