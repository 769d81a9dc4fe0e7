"""Where a document of `helm template` output came from: its `# Source:` template, and the
line of that template that wrote the object (`kind:`) and each of its top-level keys.

Best effort, from the template's text alone: a template's top-level `kind:` lines are the
objects it can write; the one whose `metadata.name` (its literal pieces between `{{ }}`
actions) can render as the object's name is chosen, each used once in output order. Anything
else is line 1 of the template, never a guess at another file.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from checker.lazy_patterns import lazy_compile

#: Where a rendered document says which template produced it.
SOURCE = lazy_compile(r"^# Source: (.+?)\s*$", re.M)
SEPARATOR = lazy_compile(r"^---[ \t]*(?:#.*)?$", re.M)
_TOP_KIND = lazy_compile(r"^kind:[ \t]*[\"']?([^\s\"'#]*)", re.M)
_TOP_KEY = lazy_compile(r"^([A-Za-z][\w-]*):")
_META_NAME = lazy_compile(r"^  name:[ \t]*(.*?)[ \t]*$")
_ACTION = lazy_compile(r"\{\{.*?\}\}")


def split_output(output: str) -> list[tuple[str, str]]:
    """(source as helm names it, document text) for each non-empty rendered document."""
    docs: list[tuple[str, str]] = []
    for chunk in SEPARATOR.split(output):
        match = SOURCE.search(chunk)
        body = SOURCE.sub("", chunk, count=1).strip("\n")
        if match and any(ln.strip() and not ln.lstrip().startswith("#")
                         for ln in body.splitlines()):
            docs.append((match.group(1), body + "\n"))
    return docs


def _segment(lines: list[str], at: int) -> tuple[int, int]:
    """The first and last 0-based line of the `---`-separated part of a template holding
    line `at`."""
    first = at
    while first > 0 and not SEPARATOR.match(lines[first - 1]):
        first -= 1
    last = at
    while last + 1 < len(lines) and not SEPARATOR.match(lines[last + 1]):
        last += 1
    return first, last


def _names_match(lines: list[str], span: tuple[int, int], name: str) -> bool:
    """Whether the template part `span`'s `metadata.name` could render as `name`: each of
    its literal pieces (the text between `{{ }}` actions) appears in `name`, in order."""
    for line in lines[span[0]:span[1] + 1]:
        found = _META_NAME.match(line)
        if found:
            pieces = [p.strip("\"' ") for p in _ACTION.split(found.group(1))]
            at = 0
            for piece in filter(None, pieces):
                at = name.find(piece, at)
                if at < 0:
                    return False
                at += len(piece)
            return True
    return True


def template_lines(template: str, kind: str, name: str, used: set[int],
                   keys: Collection[str]) -> tuple[int, tuple[tuple[str, int], ...]]:
    """Best effort: the 1-based line in the `template` text where the object of `kind` named
    `name` it rendered starts (a top-level `kind:` line, literal or templated, whose part of
    the template has a `metadata.name` that can render as `name`; the first such line not in
    `used`, which is then added to it), and the line of each top-level key among `keys` in
    that part. (1, ()) when the template has no top-level `kind:`."""
    lines = template.split("\n")
    kinds = [(template.count("\n", 0, m.start()), m.group(1))
             for m in _TOP_KIND.finditer(template)]
    candidates = [at for at, k in kinds if k == kind] or [at for at, _ in kinds]
    if not candidates:
        return 1, ()
    named = [at for at in candidates if _names_match(lines, _segment(lines, at), name)]
    pool = named or candidates
    at = next((a for a in pool if a + 1 not in used), pool[0])
    used.add(at + 1)
    first, last = _segment(lines, at)
    found: dict[str, int] = {}
    for number in range(first, last + 1):
        key = _TOP_KEY.match(lines[number])
        if key and key.group(1) in keys and key.group(1) not in found:
            found[key.group(1)] = number + 1
    return at + 1, tuple(sorted(found.items()))


def kind_name_keys(text: str) -> tuple[str, str, list[str]]:
    """A rendered document's kind, `metadata.name` (first indented `name:`) and top-level
    keys, read from its text."""
    keys = [m.group(1) for m in (_TOP_KEY.match(ln) for ln in text.split("\n")) if m]
    kind = next((m.group(1) for m in _TOP_KIND.finditer(text)), "")
    name = next((m.group(1).strip("\"'") for m in map(_META_NAME.match, text.split("\n"))
                 if m), "")
    return kind, name, keys
