"""Per-block salvage of a file python-hcl2 rejects: only the block that fails is lost.

python-hcl2 7.3.1 rejects some valid HCL (a for-expression `if` continued on the next line
with a leading `&&`, python-hcl2 issue #246; a line starting with `||` inside parentheses
after a call, #234: https://github.com/amplify-education/python-hcl2/issues/246 and /234).
When the whole file fails, `chunks` splits it into its top-level blocks and attributes with the
position lexer (`positions.depth_at_line_starts`), `checker.parsers.terraform.hcl` parses each
chunk alone, `shift_lines` moves the chunk's line markers back to the file's lines, and `merge`
joins the chunks that parsed into the shape a whole-file parse has. Pure: no `hcl2` here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.parsers.terraform.positions import depth_at_line_starts

_BLOCK_HEAD = lazy_compile(r"\s*([A-Za-z_][\w-]*)((?:\s+[A-Za-z_][\w-]*|\s*\"[^\"\n]*\")*)\s*\{")
_ATTR_HEAD = lazy_compile(r"\s*([A-Za-z_][\w-]*)\s*=(?!=)")
_LABEL = lazy_compile(r"\"([^\"\n]*)\"|([A-Za-z_][\w-]*)")


@dataclass(frozen=True)
class Chunk:
    """One top-level construct of a file: a block (`resource "T" "N" { ... }`) or an attribute.

    `start`/`end`: its 1-based first and last line holding code (trailing blank and comment
    lines are in `text` but not in `end`); `text`: its lines up to the next construct, for
    parsing alone; `label`: how a message names it (`resource "aws_iam_role" "ci"`,
    `attribute "name"`); `address`: its Terraform address (`aws_iam_role.ci`, `data.T.N`,
    `module.N`, `locals`, `variable.N`), or None for a line that is neither; `is_block`: True
    for a block.
    """

    start: int
    end: int
    text: str
    label: str
    address: str | None
    is_block: bool


def chunks(lines: Sequence[str]) -> list[Chunk]:
    """The top-level constructs of a file's `lines`, in order.

    A construct starts on a line that begins in code (not inside a string, heredoc or comment),
    is neither blank nor a comment, and is at a bracket depth no deeper than the start of the
    construct before it (so a stray `}` starts a construct of its own and the blocks after it
    still split). An unclosed bracket makes the rest of the file one construct.
    """
    if not lines:
        return []
    states = depth_at_line_starts(lines, 1, len(lines))
    starts: list[int] = []
    base = 0
    for number, (depth, code) in enumerate(states, start=1):
        stripped = lines[number - 1].strip()
        if not code or not stripped or stripped.startswith(("#", "//", "/*")):
            continue
        if not starts or depth <= base:
            starts.append(number)
            base = depth
    out: list[Chunk] = []
    for i, start in enumerate(starts):
        stop = starts[i + 1] - 1 if i + 1 < len(starts) else len(lines)
        end = stop
        while end > start:
            stripped = lines[end - 1].strip()
            if stripped and not stripped.startswith(("#", "//")):
                break
            end -= 1
        label, address, is_block = _name(lines[start - 1])
        text = "\n".join(lines[start - 1 : stop])
        out.append(Chunk(start, end, text, label, address, is_block))
    return out


def _name(first: str) -> tuple[str, str | None, bool]:
    """(label, address, is_block) of a construct from its first line."""
    block = _BLOCK_HEAD.match(first)
    if block:
        keyword = block.group(1)
        labels = [m.group(1) if m.group(1) is not None else m.group(2)
                  for m in _LABEL.finditer(block.group(2))]
        label = " ".join([keyword, *(f'"{x}"' for x in labels)])
        if keyword == "resource" and len(labels) == 2:
            address = f"{labels[0]}.{labels[1]}"
        else:
            address = ".".join([keyword, *labels])
        return label, address, True
    attr = _ATTR_HEAD.match(first)
    if attr:
        return f'attribute "{attr.group(1)}"', attr.group(1), False
    return "a construct that is neither a block nor an attribute", None, False


def shift_lines(data: Any, offset: int) -> Any:
    """`data` (a chunk's python-hcl2 output, modified in place) with every
    `__start_line__`/`__end_line__` marker moved down by `offset` lines; returns `data`."""
    if offset == 0:
        return data
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            for key in ("__start_line__", "__end_line__"):
                marker = value.get(key)
                if isinstance(marker, int) and not isinstance(marker, bool):
                    value[key] = marker + offset
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return data


def merge(parts: Iterable[tuple[Chunk, Any]]) -> dict[str, Any]:
    """The chunks' parses joined as python-hcl2 joins a whole file's blocks.

    A block chunk gives `{keyword: [one entry]}`; entries of the same keyword are appended in
    file order (`{"resource": [{T: {N: body}}, ...]}`). An attribute chunk gives `{name: value}`
    and a later definition replaces an earlier one. Non-dict parses are skipped.
    """
    out: dict[str, Any] = {}
    for chunk, data in parts:
        if not isinstance(data, dict):
            continue
        for key, value in data.items():
            if chunk.is_block and isinstance(value, list) and isinstance(out.get(key), list):
                out[key].extend(value)
            else:
                out[key] = list(value) if chunk.is_block and isinstance(value, list) else value
    return out
