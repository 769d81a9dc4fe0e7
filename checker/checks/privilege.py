"""NHI301: wildcard, admin-equivalent or escalation grants (the tables in
`rules/privileges.yaml`, read through `checker.policy.privileges`)."""

from __future__ import annotations

from collections.abc import Iterator

from checker.checks.api import Hit, Subject
from checker.policy.privileges import admin_grants


def check(subject: Subject) -> Iterator[Hit]:
    """NHI301: wildcard or admin-equivalent grants, one finding per identity."""
    obj = subject.obj
    found = admin_grants(obj, subject.ctx.admin_table)
    if not found:
        return
    shown = "; ".join(f"{a.grant} ({a.why})" for a in found[:3])
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    yield Hit("NHI301",
              f"{obj.address} grants wildcard or admin privileges: {shown}{more}",
              "privileges", found[0].grant.line)
