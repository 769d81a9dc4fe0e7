"""A small, safe evaluator for Terraform (HCL native syntax) expressions on literal values.

`evaluate(text, scope)` parses one expression as written in the source (`local.roles[0]`,
`lookup(local.m, "ci", "x")`, `"arn:aws:iam::aws:policy/${local.policy}"`, a heredoc holding
`${jsonencode(local.doc)}`, `var.enabled ? 1 : 0`) and computes its value from `scope`, which
answers the references (`local.X`, `var.X`, `each`, `count`, a `dynamic` block's iterator,
`data.aws_iam_policy_document.X`). Nothing is guessed: any construct outside the subset below,
a reference `scope` does not know, or a value Terraform only knows after apply raises
`Unresolved`, and the caller keeps the expression as written.

The subset (https://developer.hashicorp.com/terraform/language/expressions, and the syntax
spec https://github.com/hashicorp/hcl/blob/main/hclsyntax/spec.md): literals (numbers, `true`,
`false`, `null`, quoted templates with `${...}` interpolations and `$${` escapes, heredocs
`<<EOT`/`<<-EOT` without `%{` directives), tuples `[...]`, objects `{k = v}`/`{"k": v}`,
attribute access `.name`, index `[expr]`, the operators `!`, `-`, `* / %`, `+ -`,
`< > <= >=`, `== !=`, `&&`, `||`, the conditional `c ? a : b` and parentheses, and the functions
in `FUNCTIONS` (https://developer.hashicorp.com/terraform/language/functions), and `for`
expressions without grouping (`[for v in c : x if p]`, `{for k, v in c : k => x}`). Splats
and template directives are not evaluated.

Sets (`toset`) are lists, sorted and without repeats (Terraform orders a set of strings
lexically). Errors Terraform would report on known values (a missing key, an index out of
range, a type mismatch) raise `EvalError`, which `try(...)` and `lookup`'s default catch;
`Unresolved` is never caught.
"""

from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from checker.parsers.terraform.decoders import DECODERS
from checker.parsers.terraform.expr_parse import EvalError, Parser, Unresolved

__all__ = ["FUNCTIONS", "EvalError", "Scope", "Unresolved", "evaluate", "evaluate_template"]


#: A reference -> its value, or raise `Unresolved`: `local.X`, `var.X`, `data.T.N` whole,
#: any other root (`each`, `count`, an iterator) by its name alone.
Scope = Callable[[str], Any]

_MAX_DEPTH = 64

def evaluate(text: str, scope: Scope) -> Any:
    """The value of the expression `text` (HCL native syntax), its references answered by
    `scope`; raises `Unresolved` when any part cannot be computed (never a partial value)."""
    try:
        return _Eval(scope).run(_parsed(text, False), 0)
    except (ValueError, OverflowError, RecursionError) as exc:  # e.g. int() of infinity
        raise Unresolved(str(exc)) from exc


def evaluate_template(text: str, scope: Scope) -> Any:
    """The value of a string as python-hcl2 gives it (a quoted template's content, quotes
    removed): `${x}` alone is x's value, anything else a string; raises `Unresolved`."""
    try:
        return _Eval(scope).run(_parsed(text, True), 0)
    except (ValueError, OverflowError, RecursionError) as exc:
        raise Unresolved(str(exc)) from exc


def parse_expression(text: str) -> Any:
    """The parse tree of expression `text` (`expr_parse` documents its nodes); raises
    `Unresolved` for what the parser does not read."""
    return _parsed(text, False)


def evaluate_tree(node: Any, scope: Scope) -> Any:
    """The value of parse tree `node` (`parse_expression`), reading references from `scope`;
    raises `Unresolved` as `evaluate` does."""
    try:
        return _Eval(scope).run(node, 0)
    except (ValueError, OverflowError, RecursionError) as exc:
        raise Unresolved(str(exc)) from exc


def _parsed(text: str, template: bool) -> Any:
    """The parse tree of `text` (an expression, or a template when `template`); raises what
    the parser raises. Parsed once per process (`_parse`): the same value text is evaluated
    again for each identity, instance and caller that reads it."""
    node, error = _parse(text, template)
    if error is not None:
        raise error[0](*error[1])
    return node


@functools.lru_cache(maxsize=16384)
def _parse(text: str, template: bool
           ) -> tuple[Any, tuple[type[Exception], tuple[Any, ...]] | None]:  # fmt: skip
    try:
        if template:
            return Parser(text).template_until(None), None
        parser = Parser(text)
        node = parser.expression()
        parser.end()
        return node, None
    except (Unresolved, ValueError, OverflowError, RecursionError) as exc:
        return None, (type(exc), exc.args)


# --------------------------------------------------------------------------- evaluation


def _text(value: Any) -> str:
    """A primitive value as Terraform converts it to a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number_text(value)
    if isinstance(value, str):
        return value
    raise EvalError("not a string")


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise EvalError("not a number")
    try:
        return float(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise EvalError("not a number") from exc


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    raise EvalError("not a bool")


def _set(value: Any) -> list[Any]:
    items = _seq(value)
    if all(isinstance(v, str) for v in items):
        return sorted(set(items))
    out: list[Any] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _seq(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise EvalError("not a list")
    return value


def _map(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EvalError("not a map")
    return value


def _flatten(value: Any) -> list[Any]:
    out: list[Any] = []
    for item in _seq(value):
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _one(value: Any) -> Any:
    items = _seq(value)
    if len(items) > 1:
        raise EvalError("more than one element")
    return items[0] if items else None


def _element(items: Any, index: Any) -> Any:
    seq = _seq(items)
    if not seq:
        raise EvalError("empty list")
    return seq[int(_number(index)) % len(seq)]


def _lookup(args: list[Any]) -> Any:
    table = _map(args[0])
    key = _text(args[1])
    if key in table:
        return table[key]
    if len(args) > 2:
        return args[2]
    raise EvalError("missing key")


#: Function name -> (minimum, maximum arguments or -1, implementation on evaluated arguments).
FUNCTIONS: Mapping[str, tuple[int, int, Callable[[list[Any]], Any]]] = {
    "element": (2, 2, lambda a: _element(a[0], a[1])),
    "lookup": (2, 3, _lookup),
    "one": (1, 1, lambda a: _one(a[0])),
    "concat": (0, -1, lambda a: [v for seq in a for v in _seq(seq)]),
    "merge": (0, -1, lambda a: {k: v for m in a if m is not None for k, v in _map(m).items()}),
    "flatten": (1, 1, lambda a: _flatten(a[0])),
    "toset": (1, 1, lambda a: _set(a[0])),
    "tolist": (1, 1, lambda a: list(_seq(a[0]))),
    "tomap": (1, 1, lambda a: dict(_map(a[0]))),
    "tostring": (1, 1, lambda a: _text(a[0])),
    "distinct": (1, 1, lambda a: [v for i, v in enumerate(_seq(a[0])) if v not in a[0][:i]]),
    "compact": (1, 1, lambda a: [v for v in _seq(a[0]) if v not in ("", None)]),
    "keys": (1, 1, lambda a: sorted(_map(a[0]))),
    "values": (1, 1, lambda a: [a[0][k] for k in sorted(_map(a[0]))]),
    "length": (1, 1, lambda a: len(a[0]) if isinstance(a[0], (list, dict, str)) else _bad()),
    "contains": (2, 2, lambda a: a[1] in _seq(a[0])),
    "coalesce": (1, -1, lambda a: next((v for v in a if v not in (None, "")), None)),
    "format": (1, -1, lambda a: _format(a)),
    "join": (2, 2, lambda a: _text(a[0]).join(_text(v) for v in _seq(a[1]))),
    "lower": (1, 1, lambda a: _text(a[0]).lower()),
    "upper": (1, 1, lambda a: _text(a[0]).upper()),
    "jsonencode": (1, 1, lambda a: json.dumps(a[0], separators=(",", ":"))),
    **DECODERS,  # yamldecode, jsondecode, csvdecode: of a module file's text (`values`)
}


def _bad() -> Any:
    raise EvalError("bad argument")


def _format(args: list[Any]) -> str:
    spec = _text(args[0])
    if re.search(r"%(?!%|[sdv])", spec) or (re.search(r"%[sdv]", spec) is None and len(args) > 1):
        raise Unresolved("format verb not evaluated")
    rest = iter(args[1:])
    try:
        return re.sub(r"%%|%[sdv]", lambda m: "%" if m.group(0) == "%%" else _text(next(rest)),
                      spec)
    except StopIteration as exc:
        raise EvalError("too few arguments") from exc


class _Eval:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def run(self, node: tuple[Any, ...], depth: int) -> Any:
        if depth > _MAX_DEPTH:
            raise Unresolved("too deep")
        d = depth + 1
        tag = node[0]
        if tag == "lit":
            return node[1]
        if tag == "ref":
            return self.scope(node[1])
        if tag == "get":
            name = _qualified(node)
            if name is not None:
                return self.scope(name)
            return _index(self.run(node[1], d), self.run(node[2], d))
        if tag == "tuple":
            return [self.run(n, d) for n in node[1]]
        if tag == "object":
            return {_text(self.run(k, d)): self.run(v, d) for k, v in node[1]}
        if tag == "tpl":
            parts = node[1]
            if len(parts) == 1 and not isinstance(parts[0], str):
                return self.run(parts[0], d)
            return "".join(p if isinstance(p, str) else _text(self.run(p, d)) for p in parts)
        if tag == "not":
            return not _bool(self.run(node[1], d))
        if tag == "neg":
            return -_number(self.run(node[1], d))
        if tag == "cond":
            return self.run(node[2] if _bool(self.run(node[1], d)) else node[3], d)
        if tag == "op":
            return self._op(node[1], node[2], node[3], d)
        if tag == "for":
            return self._for(node, d)
        return self._call(node[1], node[2], d)

    def _for(self, node: tuple[Any, ...], d: int) -> Any:
        """A `for` expression: a map iterates in key order, a list in index order; the one
        name is the element, two are key (index) and element. A repeated object key fails."""
        _, names, coll, key, value, cond = node
        items = self.run(coll, d)
        if isinstance(items, dict):
            pairs = sorted(items.items())
        elif isinstance(items, list):
            pairs = list(enumerate(items))
        else:
            raise EvalError("for over a value that is not a collection")
        out_list: list[Any] = []
        out_map: dict[str, Any] = {}
        for k, v in pairs:
            bound = {names[0]: v} if len(names) == 1 else {names[0]: k, names[1]: v}
            inner = _Eval(_layered(bound, self.scope))
            if cond is not None and not _bool(inner.run(cond, d)):
                continue
            if key is None:
                out_list.append(inner.run(value, d))
                continue
            name = _text(inner.run(key, d))
            if name in out_map:
                raise EvalError(f"duplicate key {name!r}")
            out_map[name] = inner.run(value, d)
        return out_list if key is None else out_map

    def _op(self, op: str, left: tuple[Any, ...], right: tuple[Any, ...], d: int) -> Any:
        a, b = self.run(left, d), self.run(right, d)  # both sides, as HCL does
        if op in ("&&", "||"):
            return _bool(a) and _bool(b) if op == "&&" else _bool(a) or _bool(b)
        if op == "==":
            return (a == b and type(a) is type(b)) or _numbers_equal(a, b)
        if op == "!=":
            return not ((a == b and type(a) is type(b)) or _numbers_equal(a, b))
        x, y = _number(a), _number(b)
        if op in ("<", ">", "<=", ">="):
            return {"<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]
        if op in ("/", "%") and y == 0:
            raise EvalError("division by zero")
        out = _ARITHMETIC[op](x, y)
        return int(out) if float(out).is_integer() else out

    def _call(self, name: str, args: tuple[tuple[Any, ...], ...], d: int) -> Any:
        if name == "try":
            for arg in args:
                try:
                    return self.run(arg, d)
                except EvalError:
                    continue
            raise EvalError("no argument of try() succeeded")
        if name == "can":
            try:
                self.run(args[0], d)
            except EvalError:
                return False
            return True
        if name not in FUNCTIONS:
            raise Unresolved(f"function {name}() is not evaluated")
        low, high, impl = FUNCTIONS[name]
        if len(args) < low or (high >= 0 and len(args) > high):
            raise EvalError(f"{name}(): wrong number of arguments")
        values = [self.run(a, d) for a in args]
        return impl(values)


def _layered(bound: Mapping[str, Any], outer: Scope) -> Scope:
    """A scope answering `bound` names first, then `outer`."""
    def scope(name: str) -> Any:
        return bound[name] if name in bound else outer(name)
    return scope


_ARITHMETIC: Mapping[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "%": operator.mod,
}


def _qualified(node: tuple[Any, ...]) -> str | None:
    """`local.X`/`var.X` (two parts) or `data.T.N` (three) for a `get` node naming one
    module value or data source, else None."""
    names: list[str] = []
    while node[0] == "get" and node[2][0] == "lit" and isinstance(node[2][1], str):
        names.append(node[2][1])
        node = node[1]
    if node[0] != "ref":
        return None
    names.append(node[1])
    names.reverse()
    if names[0] in ("local", "var") and len(names) == 2:
        return ".".join(names)
    if names[0] == "data" and len(names) == 3:
        return ".".join(names)
    return None


def _numbers_equal(a: Any, b: Any) -> bool:
    return (isinstance(a, (int, float)) and isinstance(b, (int, float))
            and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        name = _text(key)
        if name not in value:
            raise EvalError(f"no key {name!r}")
        return value[name]
    if isinstance(value, list):
        i = _number(key)
        if not float(i).is_integer() or not 0 <= i < len(value):
            raise EvalError("index out of range")
        return value[int(i)]
    raise EvalError("not indexable")
