"""One commit's lifecycle events written to the ledger: identity ids matched and assigned,
locations and governance columns kept current, who changed what recorded."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from checker.ledger.events import Change, Judge
from checker.ledger.rows import governance, identity_id
from checker.ledger.store import Actor, Ledger
from checker.model import IdentityObject


def record(led: Ledger, changes: Sequence[Change], after: Sequence[IdentityObject],
           actor: Callable[[], Actor], judge: Judge) -> int:
    """Write `changes` (one commit's, `events.file_events`) and the current location and
    columns of every identity in `after` (the changed files at the commit, so a cosmetic move
    of a block updates its line). `actor` is called once, only when there is an event.
    Returns the number of events written."""
    who: Actor | None = None
    ident: str
    for change in changes:
        who = who or actor()
        obj = change.obj
        columns = governance(obj, judge.config, judge.admin_table, judge.today)
        if change.event == "created":
            ident = led.new_id(obj, identity_id(obj))
            led.create(ident, obj, who, columns)
        elif change.event == "moved" and change.before is not None:
            ident = led.live_id(change.before) or led.new_id(obj, identity_id(obj))
            led.unplace(change.before)
            led.place(ident, obj, columns)
        else:
            found: str | None = led.live_id(obj)
            if found is None:  # not seen created (a walk started mid-history): created now
                ident = led.new_id(obj, identity_id(obj))
                led.create(ident, obj, who, columns)
            else:
                ident = found
            if change.event == "removed":
                led.unplace(obj)
        led.touched(ident, who, removed=change.event == "removed")
        led.event(ident, change.event, who, obj, change.detail)
    for obj in after:
        current = led.live_id(obj)
        if current is not None:
            led.place(current, obj, governance(obj, judge.config, judge.admin_table, judge.today))
    return len(changes)
