"""Safe YAML loading for the Kubernetes, GitHub Actions and GitLab CI parsers.

The loader composes a YAML stream into PyYAML's node graph (`yaml.compose_all` with the C
`CSafeLoader` when the wheel bundles libyaml, else the pure-Python `SafeLoader`) and keeps it:
nodes carry 0-based marks, so line numbers stay beside the data instead of inside it. Helpers
read that graph: `get`/`get_path`/`items` look keys up by their *raw* scalar text (so the GitHub
Actions key `on`, which YAML 1.1 resolves to the boolean True, is found as `"on"`), `line_of` and
`end_line_of` give 1-based lines, and `to_python` builds plain Python values when a caller wants
them.

Bad input never raises out of `load_text`/`load_source`; it comes back as a `ParseProblem`:
- NHI901: a YAML syntax error (`<path>: YAML syntax error at line L: <problem>`), or a cyclic
  alias (a node that contains itself);
- NHI902: not text (NUL bytes, invalid UTF-8, control characters YAML forbids);
- NHI903: over a budget: the byte cap of `common.decode`, nesting deeper than `MAX_DEPTH`
  levels, or aliases that would expand past `MAX_NODES` nodes in one document (a "billion
  laughs" bomb) or `MAX_TOTAL_NODES` in the whole stream.

Why the depth check comes before libyaml sees the text: libyaml's composer recurses in C (a
100,000-level `[[[...]]]` crashes the interpreter with a segmentation fault) and its scanner is
quadratic in flow depth (100,000 levels take ~20 s). A cheap upper bound on nesting is computed
from the text; only when it exceeds 1,000 levels is the event stream scanned (iteratively, with
an early stop at `MAX_DEPTH`) before composing. When the text has an anchor (`&`), or its bound
is over `MAX_DEPTH`, each composed document is measured: expanded size and depth through
aliases, memoised by node identity, so a bomb costs as much as its text, not its expansion.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from checker.model import ParseProblem, SourceFile
from checker.parsers import common

#: The C loader when libyaml is bundled (5-7x faster), else the pure-Python one.
LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)

#: Up to this nesting bound libyaml composes directly (its C recursion is shallow enough); above
#: it, the event stream is scanned first and composing stops at `MAX_DEPTH`.
_COMPOSE_SAFE_DEPTH = 1000
#: Expanded nodes allowed in one document (aliases counted at every use).
MAX_NODES = 200_000
#: Expanded nodes allowed in one stream (all documents together).
MAX_TOTAL_NODES = 2_000_000
#: Nesting levels allowed, in the text and through aliases. Real manifests stay far below; the
#: bound keeps libyaml's C recursion and callers' recursive walks well inside their stacks.
MAX_DEPTH = 256

#: A Python value built by `to_python`: JSON-like; keys are the raw key text.
YValue: TypeAlias = bool | int | float | str | list["YValue"] | dict[str, "YValue"] | None

_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"

#: Used only for its stateless scalar converters (bool/int/float per YAML 1.1).
_SCALARS = SafeConstructor()

#: Start of a line up to its first token: indentation, block indicators (`-`, `?`, `:`),
#: document markers, anchors and tags. Its length bounds the block nesting a line can open.
_BLOCK_PREFIX = re.compile(r"^(?:[ \t]|[-?:](?=[ \t]|$)|---|[&!][^ \t]*)*", re.MULTILINE)
#: A character YAML does not accept in a stream (C0/C1 controls other than TAB/LF/CR/NEL...).
_FORBIDDEN_CHAR = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: Quoted fragments in a libyaml/PyYAML problem text may echo file content (an alias name, a
#: character); they are dropped, except quoted punctuation such as `','` or `'}'`.
_QUOTED = re.compile(r"""\s*('[^']*'|"[^"]*")""")
_PUNCTUATION = re.compile(r"""['"][^\w\s]{1,2}['"]""")
_COMMENT_OR_BLANK = re.compile(r"^\s*(?:#.*)?$")
_BLANK = re.compile(r"^\s*$")


class YamlLimitError(ValueError):
    """A node graph is cyclic, nests deeper than allowed, or expands past its node budget."""


@dataclass(frozen=True, eq=False)
class YamlStream:
    """One file composed into YAML nodes.

    `documents` holds the root node of every document composed before any error (empty
    documents are null `ScalarNode`s). `lines` is the decoded text split on `\\n` (index
    `i` is line `i + 1`), for comment lookups with `common.comment_metadata`. `problem` is set
    when the file (or its tail) could not be analysed; the documents before it are still usable.
    """

    path: str
    lines: list[str]
    documents: tuple[Node, ...]
    problem: ParseProblem | None = None


def load_source(source: SourceFile) -> YamlStream:
    """Decode `source` (UTF-8, BOM dropped, budget checked) and compose it with `load_text`."""
    text = common.decode(source)
    if isinstance(text, ParseProblem):
        return YamlStream(source.path, [], (), text)
    return load_text(text, source.path)


def load_text(
    text: str,
    path: str,
    *,
    max_nodes: int = MAX_NODES,
    max_total_nodes: int = MAX_TOTAL_NODES,
    max_depth: int = MAX_DEPTH,
) -> YamlStream:
    """Compose every document of `text` and check it against the budgets.

    Never raises on bad input: a syntax error, a forbidden character, a cycle or a budget overrun
    becomes `YamlStream.problem` (see the module docstring for the rule ids). Every returned
    document is acyclic, within `max_nodes` expanded nodes and `max_depth` levels, so any walk
    over it terminates and stays shallow.
    """
    lines = text.split("\n")
    bad = _FORBIDDEN_CHAR.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        return YamlStream(
            path,
            lines,
            (),
            ParseProblem(
                path,
                "NHI902",
                f"{path}: character U+{ord(bad.group()):04X} at line {line} is not allowed "
                "in YAML; not analysed as text",
                line,
            ),
        )
    bound = _nesting_bound(text)
    if bound > _COMPOSE_SAFE_DEPTH:
        deep = _event_depth(text, max_depth)
        if deep is not None:
            return YamlStream(path, lines, (), _depth_problem(path, max_depth, deep))
        depth_known = True
    else:
        depth_known = bound <= max_depth
    # Without an anchor there is no alias, so no cycle and no expansion beyond the text.
    must_measure = "&" in text or not depth_known
    documents: list[Node] = []
    problem: ParseProblem | None = None
    total = 0
    try:
        for root in yaml.compose_all(text, Loader=LOADER):
            if not must_measure:
                documents.append(root)
                continue
            try:
                size, _ = measure(root, max_nodes=max_nodes, max_depth=max_depth)
            except YamlLimitError as exc:
                problem = _limit_problem(path, exc, line_of(root))
                break
            total += size
            if total > max_total_nodes:
                problem = ParseProblem(
                    path,
                    "NHI903",
                    f"{path}: alias expansion over budget: the stream expands to more than "
                    f"{max_total_nodes} nodes",
                    line_of(root),
                )
                break
            documents.append(root)
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in str(exc.problem):  # libyaml >= 0.2.6's own depth limit
            mark = exc.problem_mark
            problem = _depth_problem(path, max_depth, int(mark.line) + 1 if mark else 1)
        else:
            problem = _syntax_problem(path, exc, lines)
    except yaml.YAMLError as exc:  # ReaderError and other unmarked errors
        problem = ParseProblem(path, "NHI901", f"{path}: YAML error: {_clean(str(exc))}")
    except RecursionError:
        problem = _depth_problem(path, max_depth, 1)
    return YamlStream(path, lines, tuple(documents), problem)


def measure(
    node: Node, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH
) -> tuple[int, int]:
    """Expanded size and depth of `node`: `(nodes, levels)`, every alias use counted.

    Iterative and memoised by node identity (an alias is the same object as its anchor), so the
    cost is the number of distinct nodes. Raises `YamlLimitError` on a cycle, on more than
    `max_nodes` expanded nodes, or on more than `max_depth` levels.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        current, finished = stack.pop()
        cid = id(current)
        kids = _children(current)
        if finished:
            on_path.discard(cid)
            total = 1 + sum(size[id(k)] for k in kids)
            if total > max_nodes:
                raise YamlLimitError(
                    f"alias expansion over budget: a document expands to more than "
                    f"{max_nodes} nodes"
                )
            size[cid] = total
            depth[cid] = 1 + max((depth[id(k)] for k in kids), default=0)
            continue
        if cid in size:
            continue
        on_path.add(cid)
        if len(on_path) > max_depth:
            raise YamlLimitError(f"nesting deeper than {max_depth} levels")
        stack.append((current, True))
        for kid in kids:
            kid_id = id(kid)
            if kid_id in on_path:
                raise YamlLimitError("cyclic alias: a node contains itself")
            if kid_id not in size:
                stack.append((kid, False))
    return size[id(node)], depth[id(node)]


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


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


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


def _nesting_bound(text: str) -> int:
    """An upper bound on the nesting depth of `text`, from characters alone.

    Flow nesting is at most the number of `[`/`{` characters; block nesting grows by at most
    two levels per column of a line's indentation-and-indicators prefix.
    """
    flow = text.count("[") + text.count("{")
    if flow > _COMPOSE_SAFE_DEPTH:
        return flow
    prefix = max((len(m.group()) for m in _BLOCK_PREFIX.finditer(text)), default=0)
    return flow + 2 * prefix + 4


def _event_depth(text: str, max_depth: int) -> int | None:
    """The line where nesting first exceeds `max_depth` in the event stream, else None."""
    depth = 0
    try:
        for event in _events(text):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    mark = event.start_mark
                    return int(mark.line) + 1 if mark is not None else 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in str(exc.problem):  # libyaml >= 0.2.6's own depth limit
            mark = exc.problem_mark
            return int(mark.line) + 1 if mark is not None else 1
        return None  # composing reports the error at the same place, with its line
    except yaml.YAMLError:
        return None
    return None


def _events(text: str) -> Iterator[yaml.Event]:
    return yaml.parse(text, Loader=LOADER)


def _depth_problem(path: str, max_depth: int, line: int) -> ParseProblem:
    return ParseProblem(
        path, "NHI903", f"{path}: nesting deeper than {max_depth} levels; not analysed", line
    )


def _limit_problem(path: str, exc: YamlLimitError, line: int) -> ParseProblem:
    message = str(exc)
    rule = "NHI901" if message.startswith("cyclic") else "NHI903"
    return ParseProblem(path, rule, f"{path}: {message}; not analysed", line)


def _syntax_problem(path: str, exc: yaml.MarkedYAMLError, lines: list[str]) -> ParseProblem:
    """NHI901 at the problem's line; an error found at the end of the stream (an unclosed
    bracket or quote) is placed on the last line with content."""
    mark = exc.problem_mark or exc.context_mark
    line = int(mark.line) + 1 if mark is not None else 1
    last = next((n for n in range(len(lines), 0, -1) if lines[n - 1].strip()), 1)
    line = max(1, min(line, last))
    problem = _clean(exc.problem or "invalid YAML")
    if exc.context:
        problem = f"{problem} ({_clean(exc.context)})"
    return ParseProblem(
        path, "NHI901", f"{path}: YAML syntax error at line {line}: {problem}", line
    )


def _clean(text: str) -> str:
    """A parser message without quoted fragments (which may echo file content), on one line."""
    first = text.strip().split("\n", 1)[0]
    kept = _QUOTED.sub(lambda m: m.group() if _PUNCTUATION.fullmatch(m.group(1)) else "", first)
    return " ".join(kept.split())
