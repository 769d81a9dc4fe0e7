"""Credentials rotated by a `time_rotating` resource: its rotation period as their lifetime.

`end_date = time_rotating.r.rotation_rfc3339` on an `azuread_application_password`, or
`keepers = { rotation_time = time_rotating.r.rotation_rfc3339 }` on a
`google_service_account_key` (a new key each time the keeper changes), makes the credential
live until the `time_rotating` resource rotates: `rotation_minutes`, `rotation_hours`,
`rotation_days`, `rotation_months` and `rotation_years` after its base timestamp (added
together), https://registry.terraform.io/providers/hashicorp/time/latest/docs/resources/rotating.
`rotating_lifetimes` sets that period as the identity's `lifetime` (so NHI203 and NHI302
judge it) and the `time_rotating` block as one of its inputs (a change to the period alone
changes the identity). A month counts as 31 days and a year as 366 (the longest each can be);
a period that is not a literal number leaves the lifetime as the block declares it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject, Lifetime, Location
from checker.parsers.terraform.nodes import META, Block

#: `rotation_*` attribute -> hours per unit (upper bound for months and years).
_UNIT_HOURS: Mapping[str, float] = {
    "rotation_minutes": 1 / 60, "rotation_hours": 1.0, "rotation_days": 24.0,
    "rotation_months": 31 * 24.0, "rotation_years": 366 * 24.0,
}
#: Attributes of a credential that may take a `time_rotating` value: its end date, or the
#: `keepers` that replace it.
_ROTATED_BY = ("end_date", "expiration_date", "expires_at", "expire_time", "keepers")
_REFERENCE = lazy_compile(r"\btime_rotating\.([A-Za-z_][\w-]*)\.(?:rotation_\w+|id|unix)")


def rotating_lifetimes(blocks: Iterable[Block], objects: tuple[IdentityObject, ...]
                       ) -> tuple[IdentityObject, ...]:  # fmt: skip
    """`objects` with the lifetime of each credential whose block reads a `time_rotating`
    resource of the same file (see the module doc) set to its rotation period, and that
    block added to its inputs (`time_rotating.NAME`, its lines)."""
    blocks = list(blocks)
    periods: dict[str, tuple[float, Location]] = {}
    for b in blocks:
        if b.section == "resource" and len(b.labels) == 2 and b.labels[0] == "time_rotating":
            hours = _period(b.node.body)
            if hours is not None:
                periods[b.labels[1]] = (hours, Location(b.node.doc.path, b.node.start, b.node.end))
    if not periods:
        return objects
    by_address = {".".join(b.labels): b for b in blocks if b.section == "resource"
                  and len(b.labels) == 2}
    out: list[IdentityObject] = []
    for obj in objects:
        block = by_address.get(obj.address)
        found = _rotated(block.node.body, periods) if block is not None else None
        if found is not None:
            attr, name = found
            hours, where = periods[name]
            obj = replace(obj, lifetime=Lifetime(hours=hours, attribute=attr),
                          inputs=(*obj.inputs, (f"time_rotating.{name}", where)))
        out.append(obj)
    return tuple(out)


def _period(body: Mapping[str, Any]) -> float | None:
    """Hours between rotations of one `time_rotating` body; None when none is literal."""
    total, seen = 0.0, False
    for attr, unit in _UNIT_HOURS.items():
        value = body.get(attr)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return None
        try:
            total += float(value) * unit
        except ValueError:
            return None
        seen = True
    return total if seen else None


def _rotated(body: Mapping[str, Any], periods: Mapping[str, Any]) -> tuple[str, str] | None:
    """(attribute, time_rotating name) of the first `_ROTATED_BY` attribute that reads one of
    `periods`, else None."""
    for attr in _ROTATED_BY:
        value = body.get(attr)
        texts = ([str(v) for k, v in value.items() if k not in META]
                 if isinstance(value, dict) else [str(value)] if value is not None else [])
        for text in texts:
            for m in _REFERENCE.finditer(text):
                if m.group(1) in periods:
                    return attr, m.group(1)
    return None
