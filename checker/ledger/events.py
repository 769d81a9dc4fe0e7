"""What one commit did to the identities of the files it changed: lifecycle events.

`file_events` compares the identities of the changed files before the commit (its first
parent) and after it, matched by path and address, and names each difference:

- `created` / `removed`: an address that appears / disappears;
- `moved`: a removed and a created identity of the same commit that are the same identity
  (same kind, platform and address, or the same non-empty `digest`: a rename of the block or
  of its file), whatever their paths; it keeps its identity id;
- for an identity at the same path and address whose meaning changed (`digest` differs; equal
  digests are a cosmetic change and no event): `widened` when `checks/drift.py` reports NHI302
  (grants, trust, boundary, lifetime grew), `metadata_changed` when drift's `narrows` calls it a
  metadata-only change, `narrowed` when it calls it a narrowing, and `changed` otherwise (its
  meaning changed, neither provably wider nor narrower: e.g. a renamed account).

The comparison is the gate's own (`checks.drift.check` / `narrows` on a `Subject` with the
identity at the parent as `base`), so the ledger and `nhi-gate check` never disagree on what a
change did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from checker.change import ChangeSet
from checker.checks import drift
from checker.checks.api import Context, Subject
from checker.model import IdentityObject
from checker.policy.catalogue import Catalogue
from checker.policy.config import Config
from checker.provenance.attribution import Touch

#: The event names, in the order a report lists them.
EVENTS = ("created", "widened", "narrowed", "metadata_changed", "changed", "moved", "removed")


@dataclass(frozen=True)
class Change:
    """One lifecycle event of one identity in one commit.

    `obj` is the identity after the commit (before it for `removed`); `before` the identity
    at the parent (None for `created`); `detail` one sentence for people (drift's message, the
    old location of a move).
    """

    event: str
    obj: IdentityObject
    before: IdentityObject | None
    detail: str


@dataclass(frozen=True)
class Judge:
    """What the comparison reads besides the identities: the run's config, catalogue and
    admin table (`policy.privileges.load_admin_table`), and the date expiry checks use."""

    config: Config
    catalogue: Catalogue
    admin_table: Mapping[tuple[str, str], str]
    today: dt.date


def _key(obj: IdentityObject) -> tuple[str, str, str]:
    return (obj.kind, obj.platform, obj.address)


def compare(before: IdentityObject, after: IdentityObject, judge: Judge) -> Change | None:
    """The event of an identity present before and after a commit at the same path and
    address, or None when its meaning did not change (equal non-empty digests)."""
    if before.digest and before.digest == after.digest:
        return None
    ctx = Context(mode="check", config=judge.config, catalogue=judge.catalogue,
                  admin_table=judge.admin_table, changeset=ChangeSet(None, None),
                  provenance={}, today=judge.today)
    touch = Touch(lines=(), actor_kind=None, commit=None, agent=None)
    subject = Subject(obj=after, touch=touch, ctx=ctx, base=before)
    wider = [h for h in drift.check(subject) if h.variant is None and h.rule_id == "NHI302"]
    if wider:
        return Change("widened", after, before, "; ".join(h.message for h in wider))
    for hit in drift.narrows(subject):
        if hit.variant == "metadata-only":
            return Change("metadata_changed", after, before, hit.message)
        if hit.variant == "narrowed":
            return Change("narrowed", after, before, hit.message)
    if not before.digest and _plain(before) == _plain(after):
        return None  # no digest: compare what was parsed, positions aside
    return Change("changed", after, before,
                  f"{after.address} changed; nothing it may do or trust grew")


def _plain(obj: IdentityObject) -> tuple[object, ...]:
    return (obj.type, tuple(sorted(obj.metadata.items())), obj.privileges, obj.trust,
            obj.lifetime, obj.references, obj.principals, obj.boundary, obj.usages)


def file_events(before: Sequence[IdentityObject], after: Sequence[IdentityObject],
                judge: Judge) -> list[Change]:
    """The events of one commit over the identities of the files it changed: `before` at its
    parent, `after` at the commit (each identity once; of the secret scan's facets the caller
    keeps CI credentials only). Ordered created/changed by path and line, then moves, then
    removals."""
    old = {(o.location.path, o.address): o for o in before}
    new = {(o.location.path, o.address): o for o in after}
    out: list[Change] = []
    created = [o for k, o in new.items() if k not in old]
    removed = [o for k, o in old.items() if k not in new]
    for k, obj in new.items():
        if k in old and (change := compare(old[k], obj, judge)) is not None:
            out.append(change)
    moved_from: dict[int, IdentityObject] = {}
    for i, obj in enumerate(created):
        twin = next((r for r in removed if _key(r) == _key(obj)), None) or next(
            (r for r in removed if obj.digest and r.digest == obj.digest
             and (r.kind, r.platform) == (obj.kind, obj.platform)), None)
        if twin is not None:
            removed.remove(twin)
            moved_from[i] = twin
    for i, obj in enumerate(created):
        twin = moved_from.get(i)
        if twin is None:
            out.append(Change("created", obj, None, f"{obj.address} created"))
            continue
        out.append(Change("moved", obj, twin,
                          f"moved from {twin.location.path}:{twin.location.start_line}"
                          + (f" ({twin.address})" if twin.address != obj.address else "")))
        if _key(twin) == _key(obj) and (change := compare(twin, obj, judge)) is not None:
            out.append(change)
    out.extend(Change("removed", o, None, f"{o.address} removed") for o in removed)
    order = {name: i for i, name in enumerate(("created", "moved", *EVENTS[1:5], "removed"))}
    out.sort(key=lambda c: (c.obj.location.path, c.obj.location.start_line, c.obj.address,
                            order[c.event]))
    return out
