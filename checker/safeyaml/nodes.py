"""The node API over a composed YAML graph: a small yamlpath-like reader.

`get`/`get_path`/`items` look keys up by their *raw* scalar text (so the GitHub Actions key
`on`, which YAML 1.1 resolves to the boolean True, is found as `"on"`), `line_of` and
`end_line_of` give 1-based lines, and `to_python` builds plain Python values when a caller wants
them.
"""

from __future__ import annotations

from typing import TypeAlias

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from checker.lazy_patterns import lazy_compile
from checker.safeyaml.limits import MAX_NODES, measure

#: A Python value built by `to_python`: JSON-like; keys are the raw key text.
YValue: TypeAlias = bool | int | float | str | list["YValue"] | dict[str, "YValue"] | None

_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"

#: Used only for its stateless scalar converters (bool/int/float per YAML 1.1).
_SCALARS = SafeConstructor()
_COMMENT_OR_BLANK = lazy_compile(r"^\s*(?:#.*)?$")
_BLANK = lazy_compile(r"^\s*$")


def line_of(node: Node) -> int:
    """1-based line where `node` starts.

    For a block mapping that is its first key; for an alias use, the line of the anchor it
    refers to (aliases share the anchored node).
    """
    return int(node.start_mark.line) + 1


def end_line_of(node: Node, lines: list[str]) -> int:
    """1-based last line holding content of `node` (trailing blank and comment lines excluded).

    A block collection's end mark is the start of the next token, which can be on the next
    item's `- ` line or several comment or blank lines later; those are skipped back over, but
    never past the end of the last scalar inside `node` (so a block scalar whose text ends in
    `# ...` lines keeps them).
    """
    leaf = node
    while isinstance(leaf, (MappingNode, SequenceNode)) and leaf.value and not leaf.flow_style:
        last = leaf.value[-1]
        leaf = last[1] if isinstance(leaf, MappingNode) else last
    floor = _mark_line(leaf, lines)
    if isinstance(leaf, ScalarNode) and leaf.style in ("|", ">"):
        while floor > line_of(leaf) and _BLANK.match(_line(lines, floor)):
            floor -= 1
    floor = max(floor, line_of(node))
    end = _mark_line(node, lines)
    while end > floor and _COMMENT_OR_BLANK.match(_line(lines, end)):
        end -= 1
    return max(end, floor)


def scalar(node: Node | None) -> str | None:
    """The raw text of a scalar node (`"on"`, `"0755"`, `"true"`), else None."""
    if isinstance(node, ScalarNode):
        return str(node.value)
    return None


def scalar_text(node: Node | None) -> str | None:
    """A scalar's text (`""` for null, written or empty), else None."""
    if isinstance(node, ScalarNode) and node.tag == _NULL_TAG:
        return ""
    return scalar(node)


def items(node: Node | None) -> list[tuple[str, Node, Node]]:
    """The effective entries `(key text, key node, value node)` of a mapping, in order.

    Keys are compared as raw scalar text; non-scalar keys are skipped. Merge keys (`<<: *base`)
    are applied as YAML 1.1 defines them: keys written in the mapping win over merged ones, and
    earlier mappings in a merged sequence win over later ones. A duplicate key keeps its last
    value. Returns `[]` for anything that is not a mapping.
    """
    if not isinstance(node, MappingNode):
        return []
    merged: dict[str, tuple[Node, Node]] = {}
    direct: dict[str, tuple[Node, Node]] = {}
    for key, value in node.value:
        if not isinstance(key, ScalarNode):
            continue
        if key.tag == _MERGE_TAG:
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for source in sources:
                for name, k, v in items(source):
                    merged.setdefault(name, (k, v))
            continue
        direct.pop(str(key.value), None)
        direct[str(key.value)] = (key, value)
    out = [(name, k, v) for name, (k, v) in merged.items() if name not in direct]
    out.extend((name, k, v) for name, (k, v) in direct.items())
    return out


def get(node: Node | None, key: str) -> Node | None:
    """The value node of `key` in mapping `node` (raw key text; merges applied), else None."""
    entry = get_entry(node, key)
    return entry[1] if entry else None


def get_entry(node: Node | None, key: str) -> tuple[Node, Node] | None:
    """`(key node, value node)` for `key` in mapping `node`, else None. See `items`."""
    if not isinstance(node, MappingNode):
        return None
    found: tuple[Node, Node] | None = None
    merges = False
    for k, v in node.value:
        if k.tag == _MERGE_TAG:
            merges = True
        elif k.value == key and isinstance(k, ScalarNode):
            found = (k, v)
    if found is not None or not merges:
        return found
    for name, k, v in items(node):
        if name == key:
            return (k, v)
    return None


def get_path(node: Node | None, *path: str | int) -> Node | None:
    """Follow mapping keys (str) and sequence indexes (int) from `node`; None when absent.

    >>> get_path(root, "metadata", "labels", "app")  # doctest: +SKIP
    """
    current = node
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, SequenceNode) or not -len(current.value) <= step < len(
                current.value
            ):
                return None
            current = current.value[step]
        else:
            current = get(current, step)
        if current is None:
            return None
    return current


def key_line(node: Node | None, key: str) -> int | None:
    """1-based line of the key `key` itself in mapping `node` (where `key:` is written)."""
    entry = get_entry(node, key)
    return line_of(entry[0]) if entry else None


def sequence(node: Node | None) -> list[Node]:
    """The items of a sequence node, else `[]`."""
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def to_python(node: Node, budget: int = MAX_NODES) -> YValue:
    """Build plain Python values from `node`: dict/list/str/int/float/bool/None.

    Mapping keys are the raw key text (`on` stays `"on"`); merge keys are applied; scalars are
    resolved per YAML 1.1 for null/bool/int/float and kept as their raw text otherwise
    (timestamps, binary, custom tags such as GitLab's `!reference`). Shared (aliased) nodes
    become shared Python objects, so the work is the number of distinct nodes. Raises
    `YamlLimitError` when the graph is cyclic or expands past `budget` nodes or `MAX_DEPTH`
    levels; documents from `load_text` are already within those bounds.
    """
    measure(node, max_nodes=budget)
    memo: dict[int, YValue] = {}
    return _build(node, memo)


def _build(node: Node, memo: dict[int, YValue]) -> YValue:
    nid = id(node)
    if nid in memo:
        return memo[nid]
    out: YValue
    if isinstance(node, ScalarNode):
        out = _scalar_value(node)
    elif isinstance(node, SequenceNode):
        out = [_build(item, memo) for item in node.value]
    elif isinstance(node, MappingNode):
        out = {name: _build(value, memo) for name, _, value in items(node)}
    else:  # pragma: no cover - compose never yields other node types
        out = None
    memo[nid] = out
    return out


def _scalar_value(node: ScalarNode) -> YValue:
    try:
        if node.tag == _NULL_TAG:
            return None
        if node.tag == _BOOL_TAG:
            return _SCALARS.construct_yaml_bool(node)
        if node.tag == _INT_TAG:
            return _SCALARS.construct_yaml_int(node)
        if node.tag == _FLOAT_TAG:
            return _SCALARS.construct_yaml_float(node)
    except (KeyError, ValueError, yaml.YAMLError):
        pass  # an explicit tag on text it cannot hold (`!!int abc`): keep the text
    return str(node.value)


def _mark_line(node: Node, lines: list[str]) -> int:
    """1-based last line touched by `node` according to its end mark.

    The end mark is just past the node's last character, or at the start of the next token;
    when only indentation or indicators (`-`, `?`, `:`) precede it on its line, the node ended
    on an earlier line.
    """
    mark = node.end_mark
    before = _line(lines, int(mark.line) + 1)[: int(mark.column)]
    line = int(mark.line) + (1 if before.strip(" \t-?:") else 0)
    return max(line, line_of(node))


def _line(lines: list[str], number: int) -> str:
    return lines[number - 1] if 0 < number <= len(lines) else ""



def key_paths(node: Node | None, offset: int = 0, limit: int = 10_000) -> dict[str, int]:
    """Every mapping key under `node` as a dotted path (`spec.template.spec`, a sequence item
    as `[i]`: `rules.[1].verbs`) -> its 1-based line plus `offset`; at most `limit` keys, an
    alias's keys once (a path seen again keeps its first line)."""
    out: dict[str, int] = {}
    todo: list[tuple[Node, str]] = [(node, "")] if node is not None else []
    while todo and len(out) < limit:
        here, prefix = todo.pop()
        if isinstance(here, MappingNode):
            for key, value in here.value:
                if isinstance(key, ScalarNode):
                    path = f"{prefix}.{key.value}" if prefix else str(key.value)
                    out.setdefault(path, key.start_mark.line + 1 + offset)
                    todo.append((value, path))
        elif isinstance(here, SequenceNode):
            for i, item in enumerate(here.value):
                todo.append((item, f"{prefix}.[{i}]" if prefix else f"[{i}]"))
    return out


def parent_path(path: str) -> str:
    """`spec.template` for `spec.template.spec`; "" for a top-level key."""
    return path.rpartition(".")[0]
