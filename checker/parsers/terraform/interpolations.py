"""The text of HCL expressions as `unresolved.py` reads them: the strings of a value that hold
`${`, the inner text of each top-level `${...}`, and a call's text shortened for a message."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from checker.parsers.terraform.nodes import META

_SHOWN = 80  # message width of a call's text


def strings(value: Any) -> Iterator[str]:
    """Every string at any depth of `value` holding `${` (map keys included, markers not)."""
    todo = [value]
    while todo:
        item = todo.pop(0)
        if isinstance(item, dict):
            for k, v in item.items():
                if k in META:
                    continue
                todo.extend([k, v])
        elif isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, str) and "${" in item:
            yield item


def interpolations(text: str) -> Iterator[str]:
    """The inner text of each top-level `${...}` of a string (balanced, quotes respected)."""
    i = text.find("${")
    while i >= 0:
        end = closing(text, i + 2)
        j = len(text) if end is None else end - 1
        yield text[i + 2:j].strip()
        i = text.find("${", j)


def closing(text: str, i: int) -> int | None:
    """The index after the bracket that closes one opened just before `i` (`(`, `[` or `{`;
    brackets nest, and double-quoted strings with `\\` escapes are skipped); None when it is
    never closed."""
    depth, quoted = 1, False
    while i < len(text):
        ch = text[i]
        if quoted:
            i += ch == "\\"
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def call_text(text: str, start: int) -> str:
    """The call starting at `start` up to its closing parenthesis, shortened for messages."""
    depth = 0
    for j in range(start, len(text)):
        if text[j] == "(":
            depth += 1
        elif text[j] == ")":
            depth -= 1
            if depth == 0:
                call = " ".join(text[start:j + 1].split())
                return call if len(call) <= _SHOWN else call[:_SHOWN - 4] + "...)"
    return " ".join(text[start:start + _SHOWN].split())
