"""NHI201/NHI202/NHI203: the owner, ticket and expiry that an identity's catalogue entry
requires, read from tags, labels, annotations, a description's `key=value` pairs or an
`# nhi-gate:` comment (DESIGN.md "Configuration"); expiry also from the resource's own
validity (`IdentityObject.lifetime`), at most `max_lifetime_days` ahead.

Inside a reusable module whose tag maps come only from variables its caller sets
(`IdentityObject.metadata_from`: `tags = var.tags`), a missing owner or ticket is the caller's
to supply: `check_all` reports it once per module directory and rule, on the first such
identity, naming the variable, instead of once per identity.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections.abc import Iterator, Mapping, Sequence

from checker.checks.api import Context, Hit, Subject
from checker.model import IdentityObject
from checker.provenance.attribution import Touch

_METADATA_RULES = (("owner", "NHI201"), ("ticket", "NHI202"))


def lookup(metadata: Mapping[str, str], aliases: Sequence[str]) -> str | None:
    """The first non-blank value of `aliases` in `metadata` (keys compared case-insensitively),
    stripped; None when none is set."""
    lowered = {k.lower(): v for k, v in metadata.items()}
    for alias in aliases:
        value = lowered.get(alias.lower())
        if value is not None and value.strip():
            return value.strip()
    return None


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def check(subject: Subject) -> Iterator[Hit]:
    """NHI201/NHI202/NHI203: owner, ticket and expiry the catalogue entry requires."""
    obj, ctx = subject.obj, subject.ctx
    entry = ctx.catalogue.find(obj.type)
    requires = entry.requires if entry else ()
    where = None  # metadata findings sit on the identity's first line (or first added line)
    for key, rule_id in _METADATA_RULES:
        if key not in requires:
            continue
        spec = ctx.config.required_metadata[key]
        value = lookup(obj.metadata, spec.aliases)
        aliases = ", ".join(spec.aliases[:3])
        if value is None and obj.metadata_from:
            continue  # the module's caller supplies it: `check_all`, once per module
        if value is None:
            yield Hit(rule_id,
                      f"{obj.address} has no {key} (looked for {aliases} in tags, labels, "
                      "annotations, description and an `# nhi-gate:` comment)", key, where)
        elif spec.pattern is not None and not spec.pattern.search(value):
            yield Hit(rule_id,
                      f"{obj.address} has a {key} that does not match the required pattern "
                      f"{spec.pattern.pattern}", key, where)
    yield from _expiry(subject, "expires" in requires, where)


def check_changed(subject: Subject, base: IdentityObject) -> Iterator[Hit]:
    """NHI201-NHI203 for an identity whose meaning did not change (a metadata-only change):
    only the hits `check` gives at head and not for `base` (an owner or ticket the change
    removed or made invalid), so a label a chart bump rewrote never newly blocks an identity
    that lacked an owner before it."""
    before = {(h.rule_id, h.message) for h in check(Subject(base, subject.touch, subject.ctx))}
    yield from (h for h in check(subject) if (h.rule_id, h.message) not in before)


def _expiry(subject: Subject, required: bool, where: int | None) -> Iterator[Hit]:
    obj, ctx = subject.obj, subject.ctx
    max_days = ctx.config.max_lifetime_days
    spec = ctx.config.required_metadata["expires"]
    value = lookup(obj.metadata, spec.aliases)
    native = obj.lifetime
    if native is not None and native.hours is not None and native.hours / 24 > max_days:
        line = obj.attribute_lines.get(native.attribute or "")
        yield Hit("NHI203",
                  f"{obj.address} is valid for {native.hours / 24:g} days "
                  f"({native.attribute}), over the {max_days}-day maximum", "expires", line)
        return
    expires = value or (native.expires if native else None)
    if expires is None and native is not None and native.hours is not None:
        return  # a native validity period within the maximum is a declared expiry
    if expires is None and native is not None and native.attribute and required:
        yield Hit("NHI203",
                  f"{obj.address} sets its expiry ({native.attribute}) from an expression "
                  "nhi-gate cannot evaluate before apply, so it cannot be checked against the "
                  f"{max_days}-day maximum "
                  "(write a date, a duration, or timeadd(timestamp(), \"<hours>h\"))",
                  "expires", obj.attribute_lines.get(native.attribute))
        return
    if expires is None:
        if required:
            yield Hit("NHI203",
                      f"{obj.address} declares no expiry (set an expires tag/label or the "
                      f"resource's own end date; at most {max_days} days)", "expires", where)
        return
    date = _parse_date(expires)
    if date is None:
        if value is not None and not value.rstrip("hdms").isdigit():
            yield Hit("NHI203",
                      f"{obj.address} has an expiry that is not an ISO date (YYYY-MM-DD)",
                      "expires", where)
        return
    if date < ctx.today:
        yield Hit("NHI203", f"{obj.address} expired on {date.isoformat()}",
                  "expires", where)
    elif (date - ctx.today).days > max_days:
        yield Hit("NHI203",
                  f"{obj.address} expires on {date.isoformat()}, more than {max_days} days "
                  "from now", "expires", where)


def check_all(judged: Sequence[IdentityObject], touched: Mapping[tuple[str, str], Touch],
              ctx: Context) -> Iterator[tuple[IdentityObject, Hit]]:
    """NHI201/NHI202 once per module directory for the touched identities whose tag maps only
    a caller's variables fill (`IdentityObject.metadata_from`) and that lack the owner or
    ticket their catalogue entry requires. The finding sits on the first of them (by path and
    line) at its tag attribute, and names the variable and how many identities it covers."""
    groups: dict[tuple[str, str], list[IdentityObject]] = {}
    for obj in judged:
        if not obj.metadata_from or (obj.location.path, obj.address) not in touched:
            continue
        entry = ctx.catalogue.find(obj.type)
        for key, _ in _METADATA_RULES:
            spec = ctx.config.required_metadata[key]
            if entry and key in entry.requires and lookup(obj.metadata, spec.aliases) is None:
                groups.setdefault((posixpath.dirname(obj.location.path), key), []).append(obj)
    for (directory, key), objs in sorted(groups.items()):
        objs.sort(key=lambda o: (o.location.path, o.location.start_line, o.address))
        first = objs[0]
        rule_id = dict(_METADATA_RULES)[key]
        aliases = ", ".join(ctx.config.required_metadata[key].aliases[:3])
        names = ", ".join(o.address for o in objs[:3]) + (", ..." if len(objs) > 3 else "")
        variables = ", ".join(f"{name} ({posixpath.basename(where.path)}:{where.start_line})"
                              for name, where in first.metadata_from)
        at = next((a for a in ("tags", "tags_all", "labels") if a in first.attribute_lines),
                  None)
        count = "1 identity" if len(objs) == 1 else f"{len(objs)} identities"
        takes = "takes its" if len(objs) == 1 else "take their"
        yield first, Hit(
            rule_id,
            f"{count} in module {directory or '.'} ({names}) {takes} tags only from "
            f"{variables}, which the "
            f"module's caller sets: the caller supplies the {key}, and none is set here "
            f"(looked for {aliases}); set it in the tags every call of this module passes",
            key, at=at)
