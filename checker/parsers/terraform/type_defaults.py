"""Defaults of `optional()` object attributes in a variable's `type` constraint.

`variable "statements" { type = list(object({ actions = optional(list(string),
["s3:GetObject"]), resources = list(string) })) }`: when a value (the default, a `.tfvars`
file or a module call's argument) leaves `actions` out of an element, or sets it to null,
Terraform sets it to the type's default (null when `optional(T)` names none), in nested
objects too, after the value is chosen
(https://developer.hashicorp.com/terraform/language/expressions/type-constraints#optional-object-type-attributes).
So an agent that changes only that default changes every grant built from the element:
`checker.parsers.terraform.values` applies `with_defaults` to the variable's value, and the
variable block is then an input of what reads it. A default that is not a literal
(`optional(list(string), local.x)`, which Terraform rejects anyway) cannot be computed: a
value that needs it is unresolved (fail closed).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from checker.model import Location
from checker.parsers.terraform.expr_parse import Unresolved
from checker.parsers.terraform.expressions import evaluate_tree, parse_expression
from checker.parsers.terraform.nodes import assignment_text
from checker.parsers.terraform.positions import scan_block

#: A spec: ("object", ((name, spec, default), ...)), ("list"|"set"|"map", spec),
#: ("tuple", (spec, ...)) or ("any",). `default` is `NO_DEFAULT` (null) or `UNKNOWN`.
Spec = tuple[Any, ...]
NO_DEFAULT = object()
UNKNOWN = object()
_ANY: Spec = ("any",)
#: What an attribute left out gets when its `optional()` default is not a literal: an
#: expression no resolver computes, so what reads it is unresolved or names it as written.
UNKNOWN_TEXT = "${{optional({name}) default not computed}}"


def type_spec(raw: Any) -> Spec | None:
    """The spec of a variable's `type` (python-hcl2's `${...}` text), or None when it names no
    `optional()` attribute (nothing to fill). A type with one that does not parse is
    `("unknown",)`: `with_defaults` raises `Unresolved` for any value."""
    if not isinstance(raw, str) or "optional(" not in raw:
        return None
    text = raw.strip()
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    try:
        return _spec(parse_expression(text))
    except (Unresolved, ValueError, TypeError, IndexError):
        return ("unknown",)


def _spec(node: Any) -> Spec:
    """The spec of one type expression node (see `Spec`)."""
    if not isinstance(node, tuple) or node[0] != "call":
        return _ANY  # string, number, bool, any
    name, args = node[1], node[2]
    if name == "object" and args and args[0][0] == "object":
        attrs = []
        for key, value in args[0][1]:
            if key[0] not in ("lit", "ref"):
                raise Unresolved("object attribute name")
            if isinstance(value, tuple) and value[:2] == ("call", "optional"):
                inner = value[2]
                default = NO_DEFAULT if len(inner) < 2 else _default(inner[1])
                attrs.append((str(key[1]), _spec(inner[0]), default))
            else:
                attrs.append((str(key[1]), _spec(value), None))
        return ("object", tuple(attrs))
    if name in ("list", "set", "map") and len(args) == 1:
        return (name, _spec(args[0]))
    if name == "tuple" and args and args[0][0] == "tuple":
        return ("tuple", tuple(_spec(a) for a in args[0][1]))
    return _ANY


def _default(node: Any) -> Any:
    """A literal default's value, else `UNKNOWN`."""
    def scope(name: str) -> Any:
        raise Unresolved(name)
    try:
        return evaluate_tree(node, scope)
    except Unresolved:
        return UNKNOWN


def with_defaults(spec: Spec, value: Any) -> Any:
    """`value` with every attribute `spec` makes optional that it leaves out (or sets to null)
    filled with the default, at any depth; a copy, `value` unchanged. A default that is
    `UNKNOWN` fills `UNKNOWN_TEXT`; raises `Unresolved` when the type did not parse."""
    kind = spec[0]
    if kind == "unknown":
        raise Unresolved("a type constraint with optional() attributes nhi-gate cannot read")
    if kind == "object" and isinstance(value, dict):
        out = dict(value)
        for name, inner, default in spec[1]:
            if default is not None and out.get(name) is None:
                out[name] = (None if default is NO_DEFAULT else UNKNOWN_TEXT.format(name=name)
                             if default is UNKNOWN else copy.deepcopy(default))
            if out.get(name) is not None:
                out[name] = with_defaults(inner, out[name])
        return out
    if kind in ("list", "set") and isinstance(value, list):
        return [with_defaults(spec[1], v) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: with_defaults(spec[1], v) for k, v in value.items()}
    if kind == "tuple" and isinstance(value, list):
        known = len(spec[1])  # a value longer than the type keeps its extra elements as they are
        return [with_defaults(s, v) for s, v in zip(spec[1], value[:known], strict=False)] + (
            value[known:])
    return value


#: `var.NAME` -> (the `optional()` defaults of its type, the lines of its `type`).
Types = Mapping[str, tuple[Spec, Location]]
#: A module value's inputs (`values.Inputs`): (name, where it is defined), first use first.
_Inputs = tuple[tuple[str, Location], ...]


def typed(got: tuple[Any, _Inputs], key: str, spec: Spec, where: Location
          ) -> tuple[Any, _Inputs] | None:  # fmt: skip
    """`got` (variable `key`'s value and inputs) with the `optional()` defaults of its type
    filled in (`with_defaults`); when that changes the value, the type's lines are an input
    (`var.NAME type`: a change of only a default changes what reads the variable). None when
    the type did not parse (unresolved: fail closed)."""
    try:
        value = with_defaults(spec, got[0])
    except Unresolved:
        return None
    return got if value == got[0] else (value, (*got[1], (f"{key} type", where)))


def type_text(raw: Any, lines: Sequence[str], block: tuple[int, int]
              ) -> tuple[str, tuple[int, int]] | None:  # fmt: skip
    """(the source text of a `variable` block's `type`, its lines; `block` are the block's)
    when the type names an `optional()` attribute, else None. python-hcl2's rendering of a
    type drops the quotes of the string literals inside it, so the text is read from the
    lines; one that cannot be found is "" (`type_spec` then gives an unknown spec)."""
    if not isinstance(raw, str) or "optional(" not in raw:
        return None
    span = scan_block(lines, *block).get("type")
    if span is None:
        return ("", block)
    first, last = span
    while last > first and not lines[last - 1].strip().split("#", 1)[0].strip():
        last -= 1  # blank and comment lines after the value
    text = assignment_text(lines, (first, last))
    return (text or "", (first, last))
