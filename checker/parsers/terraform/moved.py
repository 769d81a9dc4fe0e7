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
identity at the old address. A `moved` block in another file of the module is not read (left
as created, fail closed).

Source: https://developer.hashicorp.com/terraform/language/moved (and
https://developer.hashicorp.com/terraform/language/modules/develop/refactoring for cross-type
moves: "the provider must support it").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject
from checker.parsers.terraform.nodes import Block, as_list, int_or

#: The `attribute_lines` key prefix naming the old address: `moved.from=<address>` (read by
#: `checks/moves.py`).
MOVED_FROM = "moved.from="

#: `type.name` or `module.a.module.b` (with optional `[...]` keys), as HCL references read.
_ADDRESS = lazy_compile(r"^(?:\$\{)?((?:[A-Za-z][\w-]*\.[\w-]+(?:\[[^\]]*\])?\.?)+?)\}?$")


def _address(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    match = _ADDRESS.match(value.strip())
    return match.group(1).rstrip(".") if match else None


def moves(data: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """The file's `moved` blocks as (from, to, line of `from`), in file order; a block whose
    `from` or `to` is not an address is skipped."""
    out: list[tuple[str, str, int]] = []
    for body in as_list(data.get("moved")):
        if not isinstance(body, dict):
            continue
        old, new = _address(body.get("from")), _address(body.get("to"))
        if old is None or new is None or old == new:
            continue
        out.append((old, new, int_or(body.get("__start_line__"), 1) + 1))
    return out


def _old_address(address: str, found: Sequence[tuple[str, str, int]]
                 ) -> tuple[str, int] | None:  # fmt: skip
    for old, new, line in found:
        if address == new:
            return old, line
        if new.startswith("module.") and address.startswith(new + "."):
            return old + address[len(new):], line
    return None


def moved_in(objects: Sequence[IdentityObject], blocks: Sequence[Block],
             found: Sequence[tuple[str, str, int]],
             build: Callable[[Block], Sequence[IdentityObject]]) -> tuple[IdentityObject, ...]:
    """`objects` with each moved identity marked (see the module doc). `build` turns one block
    into its identities (the parser's own build, with the module's values), called only for a
    resource block a `moved` block renames."""
    if not found:
        return tuple(objects)
    by_address = {".".join(b.labels): b for b in blocks if b.section == "resource"}
    out: list[IdentityObject] = []
    for obj in objects:
        old = _old_address(obj.address, found) if obj.derived_from is None else None
        if old is None:
            out.append(obj)
            continue
        lines = {**obj.attribute_lines, MOVED_FROM + old[0]: old[1]}
        block = by_address.get(obj.address)
        labels = tuple(old[0].split(".", 1))
        if block is not None and len(labels) == 2 and not old[0].startswith("module."):
            relabeled = next((o for o in build(replace(block, labels=labels))
                              if o.address == old[0]), None)
            if relabeled is not None:
                obj = replace(obj, digest=relabeled.digest, frame_digest=relabeled.frame_digest,
                              untagged_digest=relabeled.untagged_digest)
        out.append(replace(obj, attribute_lines=lines))
    return tuple(out)

