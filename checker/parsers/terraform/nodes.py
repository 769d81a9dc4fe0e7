"""One decoded Terraform file as blocks and nodes: raw values with their lines.

`Doc` is one file (its lines, and the value spans of a `.tf.json` file), `Node` one block body
with its attribute lines (`positions.scan_block` for HCL, `positions.json_spans` for JSON) and
`Block` one top-level `resource`/`data`/`module` block; `hcl_blocks` and `json_blocks` walk
python-hcl2's and the json module's output. Also the small helpers every reader of raw values
shares (`strings`, `as_list`, `is_expr`, `find_line`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from checker.lazy_patterns import lazy_compile
from checker.parsers.terraform.positions import JsonPath, scan_block

#: python-hcl2's line markers, set on every block body by `loads(text, with_meta=True)`.
META = ("__start_line__", "__end_line__")


class ValueResolver(Protocol):
    """What a `Node` needs to substitute module values (met by `values.Resolver`)."""

    def resolve(self, value: Any, text: str | None = None) -> Any:
        """`value` with its expressions computed (from its source `text` when given)."""
        ...

    def resolve_deep(self, value: Any, depth: int = 0) -> Any:
        """`value` with every whole reference at any depth substituted."""
        ...


@dataclass(frozen=True)
class Doc:
    """One decoded file: its path, its text lines, and (for `.tf.json`) value positions.

    `spans` maps a JSON path (`("resource", "aws_iam_user", "deploy")`) to the 1-based
    (first line, last line) of that value, the first line being its key's line; None for HCL.
    """

    path: str
    lines: list[str]
    spans: Mapping[JsonPath, tuple[int, int]] | None
    #: Set (per identity) only on the nodes handed to a grant extractor: `Node.get` then
    #: substitutes module values (see `values.Resolver`).
    resolver: ValueResolver | None = field(default=None, compare=False, repr=False)

    def node(self, body: Mapping[str, Any], json_path: JsonPath, start: int, end: int) -> Node:
        """Wrap one block body, computing its attribute lines."""
        if self.spans is None:
            attrs = scan_block(self.lines, start, end)
            clean = {k: v for k, v in body.items() if k not in META}
            if start == end and not attrs:  # a one-line block: `assume_role { role_arn = x }`
                attrs = {k: (start, start) for k in clean}
        else:
            attrs = {}
            for key in body:
                span = self.spans.get((*json_path, key))
                if span is not None:
                    attrs[key] = span
            clean = dict(body)
        return Node(body=clean, start=start, end=end, attrs=attrs, doc=self, path=json_path)

    def json_node(self, body: Mapping[str, Any], json_path: JsonPath) -> Node:
        """A `.tf.json` block at `json_path` (lines 1..1 when the scanner has no span)."""
        start, end = (self.spans or {}).get(json_path, (1, 1))
        return self.node(body, json_path, start, end)


@dataclass(frozen=True)
class Node:
    """One block body with positions.

    `body`: attribute / nested-block name -> raw value as python-hcl2 or json gave it (markers
    removed); `start`/`end`: 1-based block lines; `attrs`: top-level name -> (first, last) line.
    """

    body: Mapping[str, Any]
    start: int
    end: int
    attrs: Mapping[str, tuple[int, int]]
    doc: Doc = field(repr=False)
    path: JsonPath = ()

    def get(self, name: str) -> Any:
        """The raw value of attribute `name`, or None; with a resolver (grant extraction), its
        expressions computed from module values where they evaluate (`resolver.Resolver`)."""
        value = self.body.get(name)
        resolver = self.doc.resolver
        if resolver is None or value is None:
            return value
        return resolver.resolve(value, self.text(name))

    def text(self, name: str) -> str | None:
        """The source text of attribute `name`'s value (HCL only; None in JSON or unknown)."""
        if self.doc.spans is not None or name not in self.attrs:
            return None
        return assignment_text(self.doc.lines, self.attrs[name])

    def line(self, *names: str) -> int:
        """Line of the first of `names` present in the block, else the block's start line."""
        for name in names:
            if name in self.attrs:
                return self.attrs[name][0]
        return self.start

    def blocks(self, name: str) -> list[Node]:
        """Nested blocks called `name` (`statement`, `rule`, `metadata`, ...), in order.

        HCL: python-hcl2 gives a list of dicts carrying line markers (plain maps have none, so
        `tags = {...}` is never mistaken for a block). JSON: an object or a list of objects.
        """
        value = self.body.get(name)
        out: list[Node] = []
        if self.doc.spans is None:
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, dict) and "__start_line__" in item:
                        start = int_or(item.get("__start_line__"), self.start)
                        end = int_or(item.get("__end_line__"), start)
                        out.append(self.doc.node(item, (), start, end))
            return out
        if isinstance(value, dict):
            out.append(self.doc.json_node(value, (*self.path, name)))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    out.append(self.doc.json_node(item, (*self.path, name, i)))
        return out


@dataclass(frozen=True)
class Block:
    """A top-level block: `section` is `resource`, `data` or `module`; `labels` its labels."""

    section: Literal["resource", "data", "module"]
    labels: tuple[str, ...]
    node: Node


def hcl_blocks(data: Mapping[str, Any], doc: Doc) -> Iterator[Block]:
    """Top-level `resource`/`data` (two labels) and `module` (one label) blocks of hcl2 output."""
    for section in ("resource", "data"):
        for group in as_list(data.get(section)):
            if not isinstance(group, dict):
                continue
            for type_, named in group.items():
                if not isinstance(named, dict):
                    continue
                for name, body in named.items():
                    if isinstance(body, dict) and "__start_line__" in body:
                        yield Block(section, (str(type_), str(name)), _hcl_node(body, doc))
    for group in as_list(data.get("module")):
        if not isinstance(group, dict):
            continue
        for name, body in group.items():
            if isinstance(body, dict) and "__start_line__" in body:
                yield Block("module", (str(name),), _hcl_node(body, doc))


def _hcl_node(body: Mapping[str, Any], doc: Doc) -> Node:
    start = int_or(body.get("__start_line__"), 1)
    return doc.node(body, (), start, int_or(body.get("__end_line__"), start))


def json_blocks(data: Mapping[str, Any], doc: Doc) -> Iterator[Block]:
    """Top-level blocks of Terraform JSON syntax.

    Accepts both `{"resource": {"T": {"N": {...}}}}` and the array forms Terraform also allows
    (`"resource": [{"T": ...}]`, `"N": [{...}]`). `"//"` comment keys are skipped.
    """
    for section in ("resource", "data"):
        for sec_path, group in json_items(data.get(section), (section,)):
            for type_, named in group.items():
                if type_ == "//":
                    continue
                for type_path, names in json_items(named, (*sec_path, type_)):
                    for name, body in names.items():
                        if name == "//":
                            continue
                        for body_path, obj in json_items(body, (*type_path, name)):
                            node = doc.json_node(obj, body_path)
                            yield Block(section, (type_, name), node)
    for sec_path, group in json_items(data.get("module"), ("module",)):
        for name, body in group.items():
            if name == "//":
                continue
            for body_path, obj in json_items(body, (*sec_path, name)):
                yield Block("module", (name,), doc.json_node(obj, body_path))


def json_items(value: Any, path: JsonPath) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    """An object, or each object of an array, with its JSON path."""
    if isinstance(value, dict):
        yield path, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield (*path, i), item


# --------------------------------------------------------------------------- raw values


def int_or(value: Any, default: int) -> int:
    """`value` when it is an int (a bool is not), else `default`: for line markers."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def without_markers(value: Any) -> Any:
    """`value` (python-hcl2's dicts and lists) without its line markers (`META`) at any depth:
    what a block means, not where it sits."""
    if isinstance(value, dict):
        return {k: without_markers(v) for k, v in value.items() if k not in META}
    if isinstance(value, list):
        return [without_markers(v) for v in value]
    return value


def as_list(value: Any) -> list[Any]:
    """`value` when it is a list, `[]` for None, else `[value]` (python-hcl2 repeats blocks
    as lists; a single one may come bare)."""
    return value if isinstance(value, list) else [value] if value is not None else []


def strings(value: Any) -> list[str]:
    """A string or the strings of a list (other items dropped); anything else -> []."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def is_expr(value: str) -> bool:
    """True when `value` is one whole `${...}` expression (not a template with literal text)."""
    if not value.startswith("${"):
        return False
    depth = 0
    for i, c in enumerate(value):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i == len(value) - 1
    return False


#: `NAME = value` (the name may be quoted), the value's text in group 1.
_ASSIGNMENT = lazy_compile(r'\s*"?[A-Za-z_][\w-]*"?\s*=(?!=)\s*(.*\S)\s*\Z', re.DOTALL)
_ONE_LINE_BLOCK = lazy_compile(r'\s*[A-Za-z_][\w-]*(?:\s+"[^"]*")*\s*\{(.*)\}\s*')


def assignment_text(lines: Sequence[str], span: tuple[int, int]) -> str | None:
    """The value text of the `NAME = value` attribute on 1-based lines `span`, else None; in
    a one-line block (`locals { cfg = yamldecode(...) }`), the text inside its braces."""
    first, last = span
    text = "\n".join(lines[first - 1:last])
    m = _ASSIGNMENT.match(text)
    one_line = _ONE_LINE_BLOCK.fullmatch(text) if m is None and first == last else None
    m = _ASSIGNMENT.match(one_line.group(1)) if one_line is not None else m
    return m.group(1) if m is not None else None


def find_line(node: Node, attr: str, needle: str) -> int:
    """The line inside attribute `attr`'s span holding `needle`, else the attribute's line."""
    first, last = node.attrs.get(attr, (node.line(attr), node.line(attr)))
    for ln in range(first, min(last, len(node.doc.lines)) + 1):
        if needle and needle in node.doc.lines[ln - 1]:
            return ln
    return first


#: Map (or list-of-"k=v") attributes holding governance tags.
TAG_FIELDS = ("tags", "tags_all", "labels")


def attribute_lines(node: Node) -> dict[str, int]:
    """Top-level names -> line, plus `block.attr` for attributes of nested blocks.

    For repeated nested blocks (`statement`, `rule`) the first block's attributes are recorded.
    Tag maps are not blocks (in `.tf.json` both are objects) and `"//"` comments are dropped.
    """
    out = {name: span[0] for name, span in node.attrs.items() if name != "//"}
    for name, value in node.body.items():
        if not isinstance(value, (list, dict)) or name in TAG_FIELDS:
            continue
        for child in node.blocks(name)[:1]:
            for attr, span in child.attrs.items():
                out.setdefault(f"{name}.{attr}", span[0])
    return out
