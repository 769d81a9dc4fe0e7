"""Module values: `local.NAME` and `var.NAME` read as the literals a module directory sets.

`module_values` reads the `locals`, `variable` defaults and tfvars files of one module
directory (`checker.sources.modules.ModuleSources`). During one identity's grant extraction a
`resolver.Resolver` substitutes them into its attribute values, and records where each was
defined (`IdentityObject.inputs`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from checker.decode import as_utf8, decode
from checker.lazy_patterns import lazy_compile
from checker.model import Location, ModuleSources, ParseProblem, SourceFile
from checker.parsers.common import is_tfvars, is_var_file, tfvars_order
from checker.parsers.terraform.expressions import Unresolved, evaluate
from checker.parsers.terraform.hcl import load
from checker.parsers.terraform.json_values import merge_json_config
from checker.parsers.terraform.nodes import META, as_list, assignment_text, int_or
from checker.parsers.terraform.positions import json_spans, scan_block
from checker.parsers.terraform.type_defaults import Types, type_spec, type_text, typed
from checker.parsers.terraform.value_files import read_files

#: A whole `${local.NAME}` / `${var.NAME}` expression, as python-hcl2 writes `local.NAME`.
_VALUE_REF = lazy_compile(r"\$\{\s*(local|var)\.([A-Za-z_][\w-]*)\s*\}")
#: A `.tf` file holding neither word has no `locals`/`variable` block: not parsed for values.
_MAY_DEFINE = lazy_compile(rb"locals|variable")
_JSON_CONFIG = (".tf.json", ".tofu.json")  #: JSON syntax, whose values `json_values` reads
#: How far `local.a = local.b` chains (and nested lists/maps) are followed.
MAX_VALUE_DEPTH = 16
Inputs = tuple[tuple[str, Location], ...]


@dataclass(frozen=True)
class ModuleValue:
    """One resolved module value: `value` is a literal string, number, bool, or a list/map of
    them; `inputs` are (`local.NAME` or `var.NAME`, where it is defined) for the value itself
    first, then for every value it was read through (`local.a = local.b`)."""

    value: Any
    inputs: Inputs


@dataclass(frozen=True)
class ModuleValues:
    """`local.NAME` / `var.NAME` -> `ModuleValue`, for the values that are literals;
    `declared`: `var.NAME` -> its `variable` block, for every variable the module declares;
    `tfvars`: the `var.NAME`s an auto-loaded `.tfvars` file of the directory sets;
    `expressions`: `local.NAME`/`var.NAME` -> (raw value as python-hcl2 gives it, where it is
    defined) for the defined values that are not literals (read by `unresolved.py`)."""

    values: Mapping[str, ModuleValue]
    declared: Mapping[str, Location] = field(default_factory=dict)
    tfvars: frozenset[str] = frozenset()
    expressions: Mapping[str, tuple[Any, Location]] = field(default_factory=dict)


@functools.lru_cache(maxsize=128)
def module_values(module: ModuleSources) -> ModuleValues:
    """The literal values of one module directory, as Terraform would set them.

    `locals { NAME = ... }` and `variable "NAME" { default = ... }` of every `.tf`/`.tofu`
    source (override files, `override.tf` and `*_override.tf`, last: their definitions replace
    earlier ones, https://developer.hashicorp.com/terraform/language/files/override), then
    `terraform.tfvars`, `terraform.tfvars.json`, then `*.auto.tfvars` and `*.auto.tfvars.json`
    in file-name order, then the `-var-file` file `module.variant` names (if any), each
    replacing a variable's value
    (https://developer.hashicorp.com/terraform/language/values/variables#variable-definition-precedence).
    A value that is an expression is computed from its source text by
    `expressions.evaluate` (index and lookup, interpolation, the functions it knows, reading
    other module values, whose definitions join its inputs); one that does not evaluate (a
    resource attribute, an unknown function, a `for` expression) is left out, as is a file
    that cannot be read or parsed. Each value's
    location is its attribute's lines (the `default` line for a variable). Cached per process:
    the parse jobs of one directory share one `ModuleSources`.
    """
    defined: dict[str, tuple[Any, Location]] = {}
    texts: dict[str, str] = {}
    declared: dict[str, Location] = {}
    types: dict[str, tuple[Any, Location]] = {}
    set_by_tfvars: set[str] = set()
    configs = [s for s in module.sources if not is_tfvars(s.path) and not is_var_file(s.path)]
    configs.sort(key=lambda s: (_is_override(s.path), s.path))
    tfvars = [s for s in module.sources if is_tfvars(s.path)]
    tfvars.sort(key=lambda s: tfvars_order(s.path))
    tfvars += [s for s in module.sources if module.variant and s.path == module.variant]
    for src in configs:
        if not _MAY_DEFINE.search(as_utf8(src).raw):
            continue  # no `locals` or `variable` block: nothing to read, no parse
        if src.path.lower().endswith(_JSON_CONFIG):
            merge_json_config(src, _is_override(src.path), defined, declared, types, texts)
            continue
        loaded = load(src)
        if loaded.text is None or not isinstance(loaded.data, dict):
            continue
        lines = loaded.text.split("\n")
        override = _is_override(src.path)
        for name, span, type_raw in _variable_blocks(loaded.data):
            if override or name not in declared:
                declared[name] = Location(src.path, *span)
                typed = type_text(type_raw, lines, span)  # `optional()` defaults fill it
                if typed is None:
                    types.pop(name, None)
                else:
                    types[name] = (type_spec(typed[0]) or ("unknown",),
                                   Location(src.path, *typed[1]))
        for name, value, span in _definitions(loaded.data, lines):
            if override or name not in defined:
                defined[name] = (value, Location(src.path, *span))
                _set_text(texts, name, lines, span)
    for src in tfvars:
        text = None if src.path.lower().endswith(".json") else decode(src)
        lines = text.split("\n") if isinstance(text, str) else []
        for name, value, span in _tfvars(src):
            defined[f"var.{name}"] = (value, Location(src.path, *span))
            set_by_tfvars.add(f"var.{name}")
            _set_text(texts, f"var.{name}", lines, span)
    for name, value, where in module.arguments:  # a local module read as its caller calls it
        defined[f"var.{name}"] = (json.loads(value), where)
        texts.pop(f"var.{name}", None)  # a literal: the caller's value replaces the default
    _nulls(defined, root=bool(tfvars), explicit={*set_by_tfvars, *(
        f"var.{n}" for n, _, _ in module.arguments)})
    labels = {f"var.{n}": f"{module.caller} argument {n}" for n, _, _ in module.arguments}
    labels.update(read_files(texts, defined, module))
    out = _Values(defined, texts, labels, types)
    return ModuleValues(out, declared, frozenset(set_by_tfvars), _Expressions(defined, out))


#: A `null` definition that is the value (`_nulls`), in place of None in `defined`.
NULL = object()


def _nulls(defined: dict[str, tuple[Any, Location]], root: bool, explicit: set[str]) -> None:
    """Mark the `null` definitions that are the value Terraform uses as `NULL`: a local's, one
    a `.tfvars` file or a calling module sets, and a variable default of a root module (a
    directory with a `.tfvars` file: only a root module reads one). A reusable module's
    `default = null` stays None (unresolved: its caller, not shown, may set it)."""
    for key, (value, location) in defined.items():
        if value is None and (key.startswith("local.") or key in explicit or root):
            defined[key] = (NULL, location)


class _Values(Mapping[str, ModuleValue]):
    """`ModuleValues.values`, each computed when first asked for (`_value_of`) and kept: a
    module's locals can be large `for` expressions that no identity reads, and a called
    module's values are computed again for each caller."""

    def __init__(self, defined: Mapping[str, tuple[Any, Location]], texts: Mapping[str, str],
                 labels: Mapping[str, str], types: Types) -> None:  # fmt: skip
        self._defined, self._texts, self._labels, self._types = defined, texts, labels, types
        self._memo: dict[str, tuple[Any, Inputs] | None] = {}
        self._out: dict[str, ModuleValue | None] = {}

    def _lookup(self, key: str) -> ModuleValue | None:  # `get`, `in`: a miss raises nothing
        if key not in self._out:
            got = _value_of(key, self._defined, self._texts, self._memo, 0, self._types)
            self._out[key] = None if got is None else ModuleValue(
                got[0], tuple((self._labels.get(n, n), w) for n, w in got[1]))
        return self._out[key]

    def __getitem__(self, key: str) -> ModuleValue:
        found = self._lookup(key)
        if found is None:
            raise KeyError(key)
        return found

    def get(self, key: str, default: Any = None) -> Any:
        found = self._lookup(key)
        return default if found is None else found

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._lookup(key) is not None

    def __iter__(self) -> Iterator[str]:
        return (k for k in self._defined if k in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _Expressions(Mapping[str, tuple[Any, Location]]):
    """`ModuleValues.expressions`: the defined values that do not compute to a literal."""

    def __init__(self, defined: Mapping[str, tuple[Any, Location]], values: _Values) -> None:
        self._defined, self._values = defined, values

    def __getitem__(self, key: str) -> tuple[Any, Location]:
        if key in self._values:
            raise KeyError(key)
        return self._defined[key]

    def __iter__(self) -> Iterator[str]:
        return (k for k in self._defined if k not in self._values)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _set_text(texts: dict[str, str], name: str, lines: Sequence[str],
              span: tuple[int, int]) -> None:  # fmt: skip
    """Record the source text of `name`'s value (after `NAME =`), or forget a replaced one."""
    text = assignment_text(lines, span) if lines else None
    if text is None:
        texts.pop(name, None)
    else:
        texts[name] = text


def _value_of(key: str, defined: Mapping[str, tuple[Any, Location]], texts: Mapping[str, str],
              memo: dict[str, tuple[Any, Inputs] | None], depth: int, types: Types
              ) -> tuple[Any, Inputs] | None:  # fmt: skip
    """The literal value of module value `key` and its inputs (`key`'s definition first), or
    None: a literal, whole references followed (`_literal`), else its source text evaluated;
    a variable's value with its type's `optional()` defaults filled (`typed`)."""
    if key in memo:
        return memo[key]
    if key not in defined or depth > MAX_VALUE_DEPTH:
        return None
    raw, location = defined[key]
    got = _literal(f"${{{key}}}", defined, 0)
    if got is None and key in texts and has_expression(raw):
        used: list[tuple[str, Location]] = []

        def scope(name: str) -> Any:
            found = _value_of(name, defined, texts, memo, depth + 1, types)
            if found is None:
                raise Unresolved(name)
            used.extend(found[1])
            return found[0]

        memo[key] = None  # a cycle reads as unresolved
        try:
            got = (evaluate(texts[key], scope), ((key, location), *used))
        except (Unresolved, RecursionError):
            got = None
    if got is not None and key in types:
        got = typed(got, key, *types[key])
    memo[key] = got
    return got


def has_expression(value: Any) -> bool:
    """True when a `${`/`%{` string is anywhere in `value`."""
    if isinstance(value, str):
        return "${" in value or "%{" in value
    if isinstance(value, list):
        return any(has_expression(v) for v in value)
    if isinstance(value, dict):
        return any(has_expression(v) for v in value.values())
    return False


def _tfvars(src: SourceFile) -> Iterator[tuple[str, Any, tuple[int, int]]]:
    """(variable name, raw value, value lines) of one variable definitions file: native syntax
    (`.tfvars`, read by python-hcl2) or JSON (`.tfvars.json`: one object, name -> value,
    https://developer.hashicorp.com/terraform/language/values/variables#variable-definitions-tfvars-files).
    Nothing for a file that cannot be decoded or parsed."""
    if src.path.lower().endswith(".json"):
        text = decode(src)
        if isinstance(text, ParseProblem):
            return
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            return
        if not isinstance(data, dict):
            return
        spans = json_spans(text)
        for name, value in data.items():
            yield name, value, spans.get((name,), (1, 1))
        return
    loaded = load(src)
    if loaded.text is None or not isinstance(loaded.data, dict):
        return
    lines = loaded.text.split("\n")
    # A .tfvars file is a body without a block: scan it as the inside of one.
    body = scan_block(["{", *lines, "}"], 1, len(lines) + 2)
    for name, value in loaded.data.items():
        if name in META or not isinstance(name, str):
            continue
        first, last = body.get(name, (2, 2))
        yield name, value, _value_span(lines, (first - 1, last - 1))


def _file_name(path: str) -> str:
    return path.rsplit("/", 1)[-1].lower()


def _is_override(path: str) -> bool:
    stem = _file_name(path).removesuffix(".json").rsplit(".", 1)[0]
    return stem == "override" or stem.endswith("_override")


def _definitions(data: Mapping[str, Any], lines: Sequence[str]
                 ) -> Iterator[tuple[str, Any, tuple[int, int]]]:  # fmt: skip
    """(`local.NAME`/`var.NAME`, raw value, value lines) of one parsed `.tf` file."""
    for block in as_list(data.get("locals")):
        if not isinstance(block, dict) or "__start_line__" not in block:
            continue
        start = int_or(block.get("__start_line__"), 1)
        spans = scan_block(lines, start, int_or(block.get("__end_line__"), start))
        for name, value in block.items():
            if name not in META and isinstance(name, str):
                yield f"local.{name}", value, _value_span(lines, spans.get(name, (start, start)))
    for group in as_list(data.get("variable")):
        if not isinstance(group, dict):
            continue
        for name, body in group.items():
            if not isinstance(body, dict) or "default" not in body:
                continue
            start = int_or(body.get("__start_line__"), 1)
            spans = scan_block(lines, start, int_or(body.get("__end_line__"), start))
            span = _value_span(lines, spans.get("default", (start, start)))
            yield f"var.{name}", body["default"], span


def _variable_blocks(data: Mapping[str, Any]) -> Iterator[tuple[str, tuple[int, int], Any]]:
    """(`var.NAME`, block lines, its `type` as parsed) of every `variable` block of one
    parsed `.tf` file."""
    for group in as_list(data.get("variable")):
        if not isinstance(group, dict):
            continue
        for name, body in group.items():
            if isinstance(body, dict) and "__start_line__" in body:
                start = int_or(body.get("__start_line__"), 1)
                yield (f"var.{name}", (start, int_or(body.get("__end_line__"), start)),
                       body.get("type"))


def _value_span(lines: Sequence[str], span: tuple[int, int]) -> tuple[int, int]:
    """`span` without the blank and comment-only lines `scan_block` counts after a value."""
    first, last = span
    while last > first:
        text = lines[last - 1].strip() if last <= len(lines) else ""
        if text and not text.startswith(("#", "//")):
            break
        last -= 1
    return first, last


def _literal(value: Any, defined: Mapping[str, tuple[Any, Location]], depth: int
             ) -> tuple[Any, Inputs] | None:  # fmt: skip
    """`value` with whole `local.X`/`var.X` references replaced by their literal values, and
    the definitions used; None when any part is another expression (or nests too deep). A
    reference to a definition marked `NULL` (`_nulls`) is the value None (Terraform reads the
    attribute as unset: https://developer.hashicorp.com/terraform/language/expressions/types#null)."""
    if depth > MAX_VALUE_DEPTH or value is None:
        return None
    if isinstance(value, (bool, int, float)):
        return value, ()
    if isinstance(value, str):
        m = _VALUE_REF.fullmatch(value)
        if m is None:
            return None if "${" in value or "%{" in value else (value, ())
        key = f"{m.group(1)}.{m.group(2)}"
        if key not in defined:
            return None
        inner, location = defined[key]
        if inner is NULL:  # a null that is the value (`_nulls`): the attribute is unset
            return None, ((key, location),)
        got = _literal(inner, defined, depth + 1)
        return None if got is None else (got[0], ((key, location), *got[1]))
    used: list[tuple[str, Location]] = []
    if isinstance(value, list):
        items: list[Any] = []
        for item in value:
            got = _literal(item, defined, depth + 1)
            if got is None:
                return None
            items.append(got[0])
            used.extend(got[1])
        return items, tuple(used)
    if isinstance(value, dict):
        entries: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or "${" in key:
                return None
            got = _literal(item, defined, depth + 1)
            if got is None:
                return None
            entries[key] = got[0]
            used.extend(got[1])
        return entries, tuple(used)
    return None


@functools.lru_cache(maxsize=256)
def var_file_names(src: SourceFile) -> frozenset[str]:
    """The variable names a variable definitions file sets (empty when it cannot be read)."""
    return frozenset(name for name, _, _ in _tfvars(src))


def var_file_values(src: SourceFile) -> list[tuple[str, Any, int]]:
    """(name, raw value, first line) of each variable a variable definitions file sets."""
    return [(name, value, span[0]) for name, value, span in _tfvars(src)]
