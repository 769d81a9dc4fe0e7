"""Terraform's decoding functions on a string the evaluator already knows (the text of a module
file read by `file()`: `values.module_values`), for `expressions.FUNCTIONS`.

- `yamldecode(text)`: one YAML document, read with `checker.safeyaml` (its depth and alias
  budgets): https://developer.hashicorp.com/terraform/language/functions/yamldecode
- `jsondecode(text)`: https://developer.hashicorp.com/terraform/language/functions/jsondecode
- `csvdecode(text)`: a header row, then one map (column -> string) per row, every row as many
  fields as the header: https://developer.hashicorp.com/terraform/language/functions/csvdecode

A text that does not decode raises `EvalError` (Terraform fails the plan), a YAML stream of
several documents too; nothing is guessed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Mapping
from typing import Any

from checker.parsers.terraform.expr_parse import EvalError
from checker.safeyaml.load import load_text
from checker.safeyaml.nodes import to_python


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise EvalError("not a string")
    return value


def _yaml(value: Any) -> Any:
    stream = load_text(_text(value), "<yamldecode>")
    if stream.problem is not None or len(stream.documents) != 1:
        raise EvalError("not one YAML document")
    return to_python(stream.documents[0])


def _json(value: Any) -> Any:
    try:
        return json.loads(_text(value))
    except (ValueError, RecursionError) as exc:
        raise EvalError("not JSON") from exc


def _csv(value: Any) -> list[dict[str, str]]:
    try:
        rows = list(csv.reader(io.StringIO(_text(value))))
    except csv.Error as exc:
        raise EvalError("not CSV") from exc
    if not rows or any(len(row) != len(rows[0]) for row in rows[1:]):
        raise EvalError("CSV rows of different lengths")
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


#: Function name -> (minimum, maximum arguments, implementation), as `expressions.FUNCTIONS`.
DECODERS: Mapping[str, tuple[int, int, Callable[[list[Any]], Any]]] = {
    "yamldecode": (1, 1, lambda a: _yaml(a[0])),
    "jsondecode": (1, 1, lambda a: _json(a[0])),
    "csvdecode": (1, 1, lambda a: _csv(a[0])),
}
