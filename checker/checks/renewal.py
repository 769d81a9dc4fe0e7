"""Lifetime drift for `checks/drift.py`: an identity that lives longer than at base (its
`expires` metadata moved later or removed), a renewable credential (certificate, key, token,
secret) renewed with broader usages or a longer lifetime, and an AWS role whose sessions may
last longer (`IdentityObject.session`, `max_session_duration`) or only shorter (`sessions`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from checker.checks import metadata
from checker.checks.api import Hit, Subject
from checker.model import IdentityObject, Lifetime

_RENEWABLE = frozenset({"certificate", "private_key", "access_key", "api_token", "secret"})


def expiry_later(subject: Subject, base: IdentityObject) -> str | None:
    """How the `expires` metadata moved later (or was removed): the identity lives longer."""
    aliases = subject.ctx.config.required_metadata["expires"].aliases
    old = metadata.lookup(base.metadata, aliases)
    new = metadata.lookup(subject.obj.metadata, aliases)
    if old is None or old == new:
        return None
    if new is None:
        return f"no longer declares an expiry (was {old})"
    a, b = end_date(Lifetime(expires=old)), end_date(Lifetime(expires=new))
    if a is None or b is None or b > a:
        return f"expires {new} (was {old})"
    return None


def end_date(life: Lifetime | None) -> dt.date | None:
    """The date `life` expires on (its first 10 characters as an ISO date), None when it
    declares none or it is no date."""
    if life is None or life.expires is None:
        return None
    try:
        return dt.date.fromisoformat(life.expires[:10])
    except ValueError:
        return None


def renewal(subject: Subject, base: IdentityObject) -> Iterator[Hit]:
    """NHI302 for an identity that lives longer than at `base` (its `expires` metadata later
    or gone, `expiry_later`) and, for a renewable credential, one renewed with broader usages
    or a longer lifetime."""
    obj = subject.obj
    if (later := expiry_later(subject, base)) is not None:
        yield Hit("NHI302", f"{obj.address} lives longer: {later}", "expires", at="expires")
    if (longer := sessions(obj, base)[0]) is not None:
        yield Hit("NHI302", f"{obj.address} {longer}", "max_session_duration",
                  at="max_session_duration")
    if obj.kind not in _RENEWABLE:
        return
    parts: list[str] = []
    usages = [u for u in obj.usages if u not in base.usages]
    if usages and (base.usages or obj.kind in ("certificate", "private_key")):
        parts.append(f"adds usages {', '.join(usages)}")
    old, new = base.lifetime, obj.lifetime
    attr = (new.attribute if new else None) or (old.attribute if old else None)
    if old is not None and (old.hours is not None or old.expires is not None) and (
        new is None or (new.hours is None and new.expires is None and new.attribute is None)
    ):
        parts.append(f"no longer declares a lifetime (base: {old.attribute})")
    elif old and new and old.hours is not None and new.hours is not None and new.hours > old.hours:
        parts.append(f"lives {new.hours / 24:g} days (was {old.hours / 24:g}) via {attr}")
    elif (a := end_date(old)) and (b := end_date(new)) and b > a:
        parts.append(f"expires {b.isoformat()} (was {a.isoformat()})")
    if not parts:
        return
    line = obj.attribute_lines.get("allowed_uses") if usages else None
    if line is None and attr:
        line = obj.attribute_lines.get(attr)
    if usages:
        what = f"was renewed with broader scope: {'; '.join(parts)}"
    else:  # only its lifetime: it lives longer
        what = "lives longer: " + "; ".join(p.removeprefix("lives ") for p in parts)
    yield Hit("NHI302", f"{obj.address} {what}", "renewal", line)


def _seconds(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:g}h"


def _was(base: IdentityObject) -> str:
    """Base's `max_session_duration` in words (AWS's default when the block set none)."""
    written = "max_session_duration" in base.attribute_lines
    return f"was {'' if written else 'the default '}{base.session}"


def sessions(obj: IdentityObject, base: IdentityObject) -> tuple[str | None, str | None]:
    """(widened, narrowed): how `obj`'s sessions may last longer than `base`'s, in words (a
    longer `max_session_duration`, or one not computed that base had otherwise), else None;
    how they only got shorter, else None. Credentials of a longer session stay valid longer
    after they leave the place they were issued to. Source:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_update-role-settings.html#id_roles_update-session-duration"""
    if obj.session == base.session or obj.session is None or base.session is None:
        return None, None
    new, old = _seconds(obj.session), _seconds(base.session)
    if new is None:
        return (f"max_session_duration {obj.session} is not known before apply, so its "
                f"sessions may last up to 12h ({_was(base)})"), None
    what = f"(max_session_duration {new}, {_was(base)})"
    if old is None or new > old:
        return f"sessions may last {_hours(new)} {what}", None
    return None, f"sessions last at most {_hours(new)} {what}" if new < old else None
