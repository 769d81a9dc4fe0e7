"""python-hcl2 7.3.1's rules for writing values (its `DictTransformer`), for the fast HCL path
(`hcl_fast`): a string literal is kept in quotes with its escapes unprocessed while it is part
of an expression; as an attribute, list item or map value (`dollar`) it loses them and its
escapes are processed; other expression text is wrapped in `${...}`; inside an expression a
list or map is written inline (`inline`). Pure: no `hcl2`, no lark.
"""

from __future__ import annotations

import json
from typing import Any

#: Type names python-hcl2 leaves bare as a value (`type = string`), not `${string}`.
TYPE_NAMES = frozenset(("bool", "number", "string"))


def escapes(value: str) -> str:
    """python-hcl2's escape processing of a quoted string's text, in its order."""
    if "\\" not in value:
        return value
    value = value.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t")
    return value.replace('\\"', '"').replace("\\\\", "\\")


def dollar(value: Any) -> Any:
    """An expression's value as an attribute, list item or map value: a string literal
    unquoted, `bool`/`number`/`string` bare, other text wrapped in `${...}`."""
    if not isinstance(value, str) or (value.startswith("${") and value.endswith("}")):
        return value
    if value.startswith('"') and value.endswith('"'):
        return escapes(value[1:-1])
    return value if value in TYPE_NAMES else "${" + value + "}"


def unquote(value: str) -> str:
    """A label or map key: a string literal unquoted (escapes processed), else as is."""
    if value.startswith('"') and value.endswith('"'):
        return escapes(value[1:-1])
    return value


def inline(value: Any) -> str:
    """A value written inside an expression, as python-hcl2 writes it (`to_tf_inline`)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(inline(item) for item in value) + "]"
    if isinstance(value, dict):
        text = json.dumps(value)
        begin, end = text.find("${"), text.rfind("}")
        if begin < 0 or end < begin + 2:
            return text
        return text[:begin] + text[begin:end + 1].replace('\\"', '"') + text[end + 1:]
    return "None"


def nulls(value: Any) -> Any:
    """None as python-hcl2 writes it in an operation, a call or a conditional."""
    return "null" if value is None else value


def unwrap(value: str) -> str:
    """`${x}` as `x` (an operand of a binary operation)."""
    return value[2:-1] if value.startswith("${") and value.endswith("}") else value
