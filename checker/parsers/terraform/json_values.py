"""Module values written in Terraform JSON syntax (`locals.tf.json`, `variables.tf.json`).

Terraform loads a `.tf.json`/`.tofu.json` file like a `.tf` file, so its `locals` and its
`variable` defaults are module values as much as those of `locals.tf`. In JSON syntax a local's
string is a template (`"${var.x}"`, as python-hcl2 gives an HCL reference) and a variable's
`default` is a literal JSON value. A top-level `locals` or `variable` value is an object or an
array of objects. Source:
https://developer.hashicorp.com/terraform/language/syntax/json#locals-blocks and
https://developer.hashicorp.com/terraform/language/syntax/json#variable-blocks
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from checker.decode import decode
from checker.model import Location, ParseProblem, SourceFile
from checker.parsers.terraform.positions import JsonPath, json_spans
from checker.parsers.terraform.type_defaults import type_spec

__all__ = ["JsonConfig", "json_config", "merge_json_config"]

Span = tuple[int, int]


@dataclass(frozen=True)
class JsonConfig:
    """What one JSON configuration file declares: `variables` are (`var.NAME`, block lines,
    its `type` string or None) for every `variable`; `definitions` are (`local.NAME` or
    `var.NAME`, raw value, value lines) for every local and variable default."""

    variables: tuple[tuple[str, Span, Any], ...]
    definitions: tuple[tuple[str, Any, Span], ...]


def json_config(src: SourceFile) -> JsonConfig | None:
    """The locals and variables of `src`, a `.tf.json`/`.tofu.json` file; None when it cannot
    be decoded or is not a JSON object (its parse problem is reported by the identity parser)."""
    text = decode(src)
    if isinstance(text, ParseProblem):
        return None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    spans = json_spans(text)
    variables: list[tuple[str, Span, Any]] = []
    definitions: list[tuple[str, Any, Span]] = []
    for path, body in _bodies(data, "locals"):
        for name, value in body.items():
            if name != "//":
                definitions.append((f"local.{name}", value, _span(spans, (*path, name))))
    for path, body in _bodies(data, "variable"):
        for name, block in body.items():
            if name == "//" or not isinstance(block, dict):
                continue
            where = (*path, name)
            kind = block.get("type")
            variables.append((f"var.{name}", _span(spans, where),
                              kind if isinstance(kind, str) else None))
            if "default" in block:
                definitions.append((f"var.{name}", block["default"],
                                    _span(spans, (*where, "default"))))
    return JsonConfig(tuple(variables), tuple(definitions))


def merge_json_config(src: SourceFile, override: bool,
                      defined: dict[str, tuple[Any, Location]], declared: dict[str, Location],
                      types: dict[str, tuple[Any, Location]], texts: dict[str, str]) -> None:
    """Add the locals and variables of JSON configuration file `src` to `values.module_values`'
    tables (`local.NAME`/`var.NAME` -> raw value and where; variable blocks; types with
    `optional()` attributes; source texts). A name already defined is kept unless `src` is an
    override file. A JSON value has no HCL source text: only whole references are followed."""
    found = json_config(src)
    for name, span, kind in found.variables if found else ():
        if override or name not in declared:
            declared[name] = Location(src.path, *span)
            types.pop(name, None)
            if kind is not None and "optional(" in kind:
                types[name] = (type_spec(kind) or ("unknown",), Location(src.path, *span))
    for name, value, span in found.definitions if found else ():
        if override or name not in defined:
            defined[name] = (value, Location(src.path, *span))
            texts.pop(name, None)


def _bodies(data: dict[str, Any], key: str) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    """(JSON path, object) of each `key` body: one object, or an array of objects."""
    value = data.get(key)
    if isinstance(value, dict):
        yield (key,), value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield (key, i), item


def _span(spans: dict[JsonPath, Span], path: JsonPath) -> Span:
    return spans.get(path, spans.get(path[:1], (1, 1)))
