"""`moved` blocks (Terraform 1.1+) -> the address each identity had before it was renamed.

`moved { from = kubernetes_service_account.main  to = kubernetes_service_account_v1.main }`
tells Terraform that the object it manages as `from` is now managed as `to`: it updates its
state instead of destroying one and creating the other. A rename keeps the type; a move to
another type is allowed when the provider of `to` supports it (the deprecated
`kubernetes_service_account` moved to `kubernetes_service_account_v1`). A `from`/`to` pair of
module calls (`module.a` -> `module.b`) moves every object inside the call.

So the identity at `to` is the one `from` was: `moved_in` records, on each identity of the file
that a `moved` block of the same file moves, `attribute_lines["moved.from=<address>"]` (the
block's `from` line) and, for a resource block, its digests computed as if it still had its old
labels (`IdentityObject.digest`, `frame_digest`, `untagged_digest`), so that an identity whose
body is unchanged digests as it did at base. `checks/engine.py` then judges it against the
identity at the old address.

Addresses are one namespace per module (one directory), so a `moved` block in any
configuration file of the module counts (`moved.tf`, and `.tf.json`/`.tofu.json` files:
`module_moves`, from `ModuleSources.sources`). A block that names a renamed address
(`role = aws_iam_role.app_v2.id` after `aws_iam_role.app` moved) is digested as if it named
the old one, and each such rename is recorded as `attribute_lines["moved.name=<old> <new>"]`
(`MOVED_NAME`), so `checks/moves.py` reads the base identity under the new names: the rename
changes nothing it means.

Source: https://developer.hashicorp.com/terraform/language/moved (and
https://developer.hashicorp.com/terraform/language/modules/develop/refactoring for cross-type
moves: "the provider must support it").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject, ModuleSources
from checker.parsers.terraform.nodes import Block, Doc, as_list, int_or, json_items
from checker.parsers.terraform.positions import JsonPath
from checker.parsers.terraform.siblings import module_data

#: The `attribute_lines` key prefix naming the old address: `moved.from=<address>` (read by
#: `checks/moves.py`).
MOVED_FROM = "moved.from="
#: The `attribute_lines` key prefix of a renamed address the block names:
#: `moved.name=<old> <new>` (read by `checks/moves.py`).
MOVED_NAME = "moved.name="
#: Terraform JSON configuration files (`.tofu.json` is OpenTofu's name for them).
_JSON = (".tf.json", ".tofu.json")

#: `type.name` or `module.a.module.b` (with optional `[...]` keys), as HCL references read.
_ADDRESS = lazy_compile(r"^(?:\$\{)?((?:[A-Za-z][\w-]*\.[\w-]+(?:\[[^\]]*\])?\.?)+?)\}?$")


def _address(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    match = _ADDRESS.match(value.strip())
    return match.group(1).rstrip(".") if match else None


def moves(data: Mapping[str, Any], spans: Mapping[JsonPath, tuple[int, int]] | None = None
          ) -> list[tuple[str, str, int]]:  # fmt: skip
    """The file's `moved` blocks as (from, to, line of `from`), in file order; a block whose
    `from` or `to` is not an address is skipped. `spans`: a `.tf.json` file's value lines
    (`positions.json_spans`), None for HCL (python-hcl2's markers)."""
    out: list[tuple[str, str, int]] = []
    found: Iterator[tuple[JsonPath, Any]] = (
        json_items(data.get("moved"), ("moved",)) if spans is not None
        else ((("moved",), body) for body in as_list(data.get("moved"))))
    for path, body in found:
        if not isinstance(body, dict):
            continue
        old, new = _address(body.get("from")), _address(body.get("to"))
        if old is None or new is None or old == new:
            continue
        line = (spans.get((*path, "from"), (1, 1))[0] if spans is not None
                else int_or(body.get("__start_line__"), 1) + 1)
        out.append((old, new, line))
    return out


def module_moves(doc: Doc, data: dict[str, Any], module: ModuleSources | None
                 ) -> list[tuple[str, str, int | None]]:  # fmt: skip
    """`moves` of the current file (`doc`, `data`), then those of every other configuration
    file of `module` (HCL and JSON), whose line is None: it is not a line of this file."""
    out: list[tuple[str, str, int | None]] = [*moves(data, doc.spans)]
    for other, other_doc in module_data(doc, data, module):
        if other_doc.path != doc.path:
            out.extend((old, new, None) for old, new, _ in moves(other))
    for src in module.sources if module is not None else ():
        if src.path != doc.path and src.path.lower().endswith(_JSON):
            out.extend((old, new, None) for old, new, _ in moves(_json_data(src.raw), {}))
    return out


def _json_data(raw: bytes) -> Mapping[str, Any]:
    """A `.tf.json` file's top-level object, or {} when it is not one."""
    try:
        data = json.loads(raw.decode("utf-8", "replace"))
    except (json.JSONDecodeError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _old_address(address: str, found: Sequence[tuple[str, str, int | None]]
                 ) -> tuple[str, int | None] | None:  # fmt: skip
    for old, new, line in found:
        if address == new:
            return old, line
        if new.startswith("module.") and address.startswith(new + "."):
            return old + address[len(new):], line
    return None


def _reference(address: str) -> re.Pattern[str]:
    """`address` as a whole reference in an expression (`aws_iam_role.app_v2.id`, not
    `aws_iam_role.app_v2x`)."""
    return re.compile(r"(?<![\w.-])" + re.escape(address) + r"(?![\w-])")


def _renamed(value: Any, names: Sequence[tuple[str, str]]) -> Any:
    """`value` (a block body) with each reference to a new address (`names`: (old, new))
    replaced by the old one, at any depth."""
    if isinstance(value, str):
        for old, new in names:
            value = _reference(new).sub(old.replace("\\", "\\\\"), value)  # literal
        return value
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return value


def moved_in(objects: Sequence[IdentityObject], blocks: Sequence[Block],
             found: Sequence[tuple[str, str, int | None]],
             build: Callable[[Block], Sequence[IdentityObject]]) -> tuple[IdentityObject, ...]:
    """`objects` with each moved identity, and each whose block names a moved address, marked
    and digested as before the move (see the module doc); `found`: `module_moves` (a line of
    None: in another file, recorded as the identity's first line). `build` turns one block
    into its identities (the parser's own build, with the module's values), called only for a
    resource block a `moved` block renames or whose body names a renamed address."""
    if not found:
        return tuple(objects)
    by_address = {".".join(b.labels): b for b in blocks if b.section == "resource"}
    out: list[IdentityObject] = []
    for obj in objects:
        block = by_address.get(obj.address) if obj.derived_from is None else None
        old = _old_address(obj.address, found) if obj.derived_from is None else None
        text = json.dumps(block.node.body, default=str) if block is not None else ""
        names = list(dict.fromkeys((o, n) for o, n, _ in found if _reference(n).search(text)))
        if old is None and not names:
            out.append(obj)
            continue
        first = obj.location.start_line
        lines = {**obj.attribute_lines, **{f"{MOVED_NAME}{o} {n}": first for o, n in names}}
        if old is not None:
            lines[MOVED_FROM + old[0]] = old[1] if old[1] is not None else first
        labels = tuple(old[0].split(".", 1)) if old is not None else ()
        relabel = len(labels) == 2 and labels[0] != "module"
        if block is not None and (relabel or names):
            before = replace(block, labels=labels if relabel else block.labels,
                             node=replace(block.node, body=_renamed(block.node.body, names)))
            want = old[0] if relabel and old is not None else obj.address
            rebuilt = next((o for o in build(before) if o.address == want), None)
            if rebuilt is not None:
                obj = replace(obj, digest=rebuilt.digest, frame_digest=rebuilt.frame_digest,
                              untagged_digest=rebuilt.untagged_digest)
        out.append(replace(obj, attribute_lines=lines))
    return tuple(out)
