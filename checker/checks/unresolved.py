"""NHI106 unresolved-identity-input: fail closed where nhi-gate cannot compute what a change means.

An identity check. It reads `IdentityObject.unresolved` (the parser's facts: values of grant-,
trust-, role- or principal-bearing attributes that cannot be computed, each with its reason) and
reports, on a touched identity:
- created by the change: every unresolved entry;
- changed: the entries base did not have (compared without lines), and the entries whose inputs
  the change touched (a non-literal `local.NAME` or a data source block they read, named in the
  entry's expression and in `Touch.via`).

Facets of what Terraform runs or fetches that nhi-gate cannot read (`model.UNREAD`: a
provisioner's command, a remote module call, a var file no module reads) are judged by
`checks/unread.py`.

Levels (the `variants` in rules/docs/approval.yaml): error for an agent, a bot or an unknown
actor (fail closed, DESIGN.md "What counts as a change"); `human` (note) when a person wrote
it; `scan` (note) in `scan` mode, where there is no change and no author, so an unresolved value
is information, not a verdict. Never for an identity the change did not touch (the engine does
not call checks for those).
"""

from __future__ import annotations

from collections.abc import Iterator

from checker.checks.api import Hit, Subject
from checker.checks.unread import hits, is_unread
from checker.model import Unresolved

RULE = "NHI106"


def check(subject: Subject) -> Iterator[Hit]:
    """NHI106: one hit per attribute whose unresolved values the change created or touched."""
    obj, base = subject.obj, subject.base
    if is_unread(obj.type):  # a command, remote module or var file nhi-gate cannot read
        yield from hits(subject)
        return
    if not obj.unresolved:
        return
    if base is None:
        chosen = list(obj.unresolved)
    else:
        before = {_unplaced(u) for u in base.unresolved}
        changed = [name.split(" (", 1)[0] for name in subject.touch.via]
        chosen = [u for u in obj.unresolved if _unplaced(u) not in before
                  or any(_reads(u, name) for name in changed)]
    if subject.ctx.mode == "scan":
        variant: str | None = "scan"
    elif subject.touch.actor_kind == "human":
        variant = "human"
    else:
        variant = None
    by_attribute: dict[str, list[Unresolved]] = {}
    for entry in chosen:
        by_attribute.setdefault(entry.attribute, []).append(entry)
    for attribute, entries in by_attribute.items():
        shown = "; ".join(f"`{u.expression}` ({u.reason})" for u in entries)
        yield Hit(RULE, f"{obj.address}: nhi-gate cannot compute `{attribute}`: "
                  f"{shown}; a human must review what it grants", attribute,
                  entries[0].line, variant=variant)


def _unplaced(entry: Unresolved) -> tuple[str, str, str]:
    return entry.attribute, entry.expression, entry.reason


def _reads(entry: Unresolved, name: str) -> bool:
    """True when `entry` reads the input `name` (`local.x`, `data.t.n`) on its way."""
    return any(part == name or part.startswith(name + ".")
               for part in entry.expression.split(" -> "))
