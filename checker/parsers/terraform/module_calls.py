"""Where a Terraform file's `module` calls come from and where its blocks are, read from the
text alone (`unresolved.py` needs them for blocks it does not parse): `module_calls` (call name
-> literal `source`) and `block_span` (the lines of one `data`/`resource` block)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from checker.lazy_patterns import lazy_compile
from checker.model import ModuleSources

#: `module "NAME" {` at the start of a line, and a `source = "..."` argument.
_MODULE_START = lazy_compile(r'^\s*module\s+"([^"]+)"\s*\{', re.MULTILINE)
_SOURCE_ARG = lazy_compile(r'^\s*source\s*=\s*"([^"]*)"', re.MULTILINE)
#: A double-quoted literal without an interpolation (its braces are not the block's).
_QUOTED = lazy_compile(r'"(?:[^"\\$]|\\.|\$(?!\{))*"')


def block_span(lines: list[str], section: str, type_: str, name: str) -> tuple[int, int] | None:
    """1-based (first, last) lines of `section "type_" "name" {` in `lines`, else None."""
    start = re.compile(rf'^\s*{section}\s+"{re.escape(type_)}"\s+"{re.escape(name)}"\s*\{{')
    for i, text in enumerate(lines):
        if start.match(text):
            return i + 1, _block_end(lines, i) + 1
    return None


def _block_end(lines: list[str], start: int) -> int:
    """The 0-based line closing the block opened on line `start`, else `start`."""
    depth = 0
    for i in range(start, len(lines)):
        for part in _QUOTED.sub('""', lines[i]).split("#")[0]:
            if part == "{":
                depth += 1
            elif part == "}":
                depth -= 1
                if depth == 0:
                    return i
    return start


def module_calls(lines: tuple[str, ...], module: ModuleSources | None
                 ) -> Mapping[str, str]:  # fmt: skip
    """`module "NAME"` -> its literal `source`, for the calls of the file (`lines`) and of the
    module's other value files (HCL text only)."""
    found = dict(_module_calls_in("\n".join(lines)))
    if module is not None:
        for name, source in _module_sources_of(module).items():
            found.setdefault(name, source)
    return found


@functools.lru_cache(maxsize=32)
def _module_sources_of(module: ModuleSources) -> Mapping[str, str]:
    texts = [s.raw.decode("utf-8", "replace") for s in module.sources if s.path.endswith(".tf")]
    return dict(call for text in reversed(texts) for call in _module_calls_in(text))


@functools.lru_cache(maxsize=64)
def _module_calls_in(text: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for m in _MODULE_START.finditer(text):
        rest = text[m.end():]
        close = re.search(r"^\}", rest, re.MULTILINE)
        body = rest[:close.start()] if close else rest
        src = _SOURCE_ARG.search(body)
        out.append((m.group(1), src.group(1).strip() if src else ""))
    return tuple(out)
