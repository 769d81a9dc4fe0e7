"""What a change does to GitHub merge protection managed in Terraform, for NHI102
(`checker.checks.policy_files`): the facts of `checker.parsers.merge_protection` at base and
head (gathered by `checker.commands.protection_files`).

A change weakens merge protection when a guard of base is gone at head (a required status
check, review or rule removed, a review count lowered, `enforcement` no longer `active`, the
resource deleted or pointed at another repository or branch) or a hole is new at head (a
bypass actor, an excluded branch, `allows_force_pushes = true`). Anything else (a guard
added, a hole removed, a setting nhi-gate does not read changed) does not weaken it: no
finding. A file unreadable on one side weakens it (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable

Sides = tuple[frozenset[str] | None, frozenset[str] | None]
_SHOWN = 3
_WIDTH = 160


def weakened(sides: Sides | None) -> str | None:
    """What the change weakens, in words (`it weakens merge protection: ...`), or None when it
    does not weaken it (module docstring)."""
    base, head = sides if sides is not None else (None, None)
    if base is None or head is None:
        side = "base" if base is None else "head"
        return f"it weakens merge protection: the file could not be read at {side}"
    lost = _first_the_gate(f for f in base - head if f.startswith("guard:"))
    gained = _first_the_gate(f for f in head - base if f.startswith("hole:"))
    if not lost and not gained:
        return None
    parts = ([f"no longer {_shown(lost)}"] if lost else []) + (
        [f"now {_shown(gained)}"] if gained else [])
    return ("it weakens merge protection: " + "; ".join(parts)
            + " (a pull request may then merge without the nhi-gate check or a review)")


def _first_the_gate(facts: Iterable[str]) -> list[str]:
    """The facts without their kind: a resource gone first, then those naming nhi-gate, then
    the rest, sorted."""
    return sorted((f.split(":", 1)[1] for f in facts),
                  key=lambda t: (not t.endswith(": exists"), "nhi-gate" not in t, t))


def _shown(items: list[str]) -> str:
    text = ", ".join(f"`{i[:_WIDTH]}`" for i in items[:_SHOWN])
    return text + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")
