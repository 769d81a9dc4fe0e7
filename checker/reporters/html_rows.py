"""Rows of the HTML report (`reporters/html.py`): a contract dict read into a `Row` once, and a
row or a ledger event as one escaped `<tr>`. Only the named fields are read, so a value the
contract does not list (metadata, a secret) never reaches the page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from html import escape


def text_of(row: Mapping[str, object], key: str) -> str | None:
    """`row[key]` as a non-empty string, else None (numbers are written out; other types are
    dropped)."""
    value = row.get(key)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, float)):
        return str(value) or None
    return None


def line_of(row: Mapping[str, object]) -> int | None:
    """The 1-based line of a row: `start_line` (inventory) or `line` (ledger), else None."""
    for key in ("start_line", "line"):
        value = row.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


@dataclass(frozen=True)
class Actor:
    """Who created or last changed an identity, as read from history."""

    kind: str
    agent: str | None
    commit: str | None
    date: str | None
    author: str | None


def _actor(value: object) -> Actor | None:
    if not isinstance(value, Mapping):
        return None
    kind = text_of(value, "actor_kind") or "unknown"
    return Actor(kind if kind in ("agent", "bot", "human") else "unknown",
                 text_of(value, "agent"), text_of(value, "commit"), text_of(value, "date"),
                 text_of(value, "author"))


@dataclass(frozen=True)
class Row:
    """One identity as the report shows it."""

    identity_id: str | None
    kind: str
    platform: str
    address: str
    path: str
    line: int | None
    environment: str | None
    owner: str | None
    ticket: str | None
    expiry: str | None
    days_left: int | None
    summary: str
    admin: bool
    wildcard: bool
    escalation: bool
    created: Actor | None
    changed: Actor | None
    approval: str | None
    approved: bool | None
    status: str | None

    @property
    def actor(self) -> str:
        """The creator's actor kind, `unknown` when not read from history."""
        return self.created.kind if self.created else "unknown"

    @property
    def created_date(self) -> str | None:
        """The creation date (ISO-8601) when read from history."""
        return self.created.date if self.created else None


def _days_left(row: Mapping[str, object], today: date | None) -> int | None:
    days = row.get("expiry_days_left")
    if isinstance(days, int) and not isinstance(days, bool):
        return days
    expiry = text_of(row, "expiry")
    if expiry and today:
        try:
            return (date.fromisoformat(expiry[:10]) - today).days
        except ValueError:
            return None
    return None


def _approval(row: Mapping[str, object]) -> str | None:
    value = row.get("approval")
    if not isinstance(value, Mapping):
        return None
    pr = value.get("pr")
    merge = text_of(value, "merge_commit")
    reviews = value.get("reviews")
    parts = [f"PR #{pr}" if isinstance(pr, int) and not isinstance(pr, bool) else "",
             f"merge {merge[:10]}" if merge else "",
             f"{len(reviews)} review(s)" if isinstance(reviews, list) and reviews else ""]
    return ", ".join(p for p in parts if p) or None


def read_row(row: Mapping[str, object], today: date | None) -> Row:
    """An inventory or ledger identity dict as a `Row`; `today` gives days left when the row
    carries an expiry date but no `expiry_days_left`."""
    priv = row.get("privileges")
    flags = priv if isinstance(priv, Mapping) else {}
    if isinstance(priv, Mapping):
        summary = text_of(priv, "summary") or ""
    elif isinstance(priv, list):
        summary = "; ".join(str(p) for p in priv if isinstance(p, str))
    else:
        summary = ""
    approved = row.get("approved")
    return Row(
        identity_id=text_of(row, "identity_id"),
        kind=text_of(row, "kind") or "",
        platform=text_of(row, "platform") or "",
        address=text_of(row, "address") or "",
        path=text_of(row, "path") or "",
        line=line_of(row),
        environment=text_of(row, "environment"),
        owner=text_of(row, "owner"),
        ticket=text_of(row, "ticket"),
        expiry=text_of(row, "expiry"),
        days_left=_days_left(row, today),
        summary=summary,
        admin=flags.get("admin") is True,
        wildcard=flags.get("wildcard") is True,
        escalation=flags.get("escalation") is True,
        created=_actor(row.get("created_by")),
        changed=_actor(row.get("last_changed_by")),
        approval=_approval(row),
        approved=approved if isinstance(approved, bool) else None,
        status=text_of(row, "status"),
    )


_NONE = '<span class="none">none</span>'


def _tag(text: str, cls: str = "") -> str:
    return f'<span class="tag {escape(cls)}">{escape(text)}</span>'


def _or_none(value: str | None) -> str:
    return escape(value) if value else _NONE


def _actor_cell(actor: Actor | None) -> str:
    if actor is None:
        return '<td class="actor" data-sort=""><span class="none">not from history</span></td>'
    bits = [_tag(actor.kind, actor.kind)]
    if actor.agent:
        bits.append(escape(actor.agent))
    if actor.date:
        bits.append(escape(actor.date[:10]))
    if actor.commit:
        bits.append(f"<code>{escape(actor.commit[:10])}</code>")
    title = f' title="{escape(actor.author)}"' if actor.author else ""
    return (f'<td class="actor" data-sort="{escape(actor.date or "")}"{title}>'
            f'{" ".join(bits)}</td>')


def _location(path: str, line: int | None, href: str) -> str:
    text = f"{path}:{line}" if line else path
    return (f'<td data-sort="{escape(path)}:{line or 0:09d}"><a href="{escape(href)}" '
            f'rel="noopener noreferrer">{escape(text)}</a></td>')


def identity_cells(r: Row, href: str, *, ledger: bool) -> str:
    """One identity as a `<tr>` with the filter attributes report.js reads (`data-actor`,
    `data-owner`, `data-expiry-days`) and one `<td>` per `identity_heads` column."""
    if r.days_left is None:
        expiry = f'<td data-sort="">{_or_none(r.expiry)}</td>'
    else:
        tone = "expired" if r.days_left < 0 else "soon" if r.days_left <= 30 else ""
        expiry = (f'<td data-sort="{r.days_left}">{escape(r.expiry or "")} '
                  f"{_tag(f'{r.days_left} d', tone)}</td>")
    flags = "".join(_tag(name, name) for name, on in (
        ("admin", r.admin), ("wildcard", r.wildcard), ("escalation", r.escalation)) if on)
    if ledger:
        approval = ("yes" if r.approved else "no" if r.approved is False else "") \
            + (f" ({escape(r.approval)})" if r.approval else "")
    else:
        approval = escape(r.approval) if r.approval else ""
    cells = [
        f"<td>{escape(r.kind)} {_tag(r.platform) if r.platform else ''}</td>",
        f'<td class="addr"{_title(r.identity_id)}>{escape(r.address)}</td>',
        _location(r.path, r.line, href),
        f"<td>{_or_none(r.environment)}</td>",
        f"<td>{_or_none(r.owner)}</td>",
        f"<td>{_or_none(r.ticket)}</td>",
        expiry,
        f"<td>{escape(r.summary)} {flags}</td>",
        _actor_cell(r.created),
        _actor_cell(r.changed),
        f"<td>{approval or _NONE}</td>",
    ]
    if ledger:
        cells.append(f"<td>{_or_none(r.status)}</td>")
    days = "" if r.days_left is None else str(r.days_left)
    return (f'<tr data-actor="{escape(r.actor)}" data-owner="{1 if r.owner else 0}" '
            f'data-expiry-days="{days}">{"".join(cells)}</tr>')


def _title(identity_id: str | None) -> str:
    return f' title="{escape(identity_id)}"' if identity_id else ""


def event_cells(event: Mapping[str, object], names: Mapping[str, str], href: str) -> str:
    """One ledger event as a `<tr>`: date, event, identity (its address when known), actor,
    evidence and strength, commit, location (a link to `href`) and detail."""
    ident = text_of(event, "identity_id") or ""
    kind = text_of(event, "actor_kind") or "unknown"
    agent = text_of(event, "agent")
    raw = event.get("evidence")
    said = ", ".join(str(x) for x in raw if isinstance(x, str)) if isinstance(raw, list) \
        else text_of(event, "evidence")
    evidence = " ".join(x for x in (said, text_of(event, "strength")) if x)
    when = text_of(event, "date") or ""
    commit = text_of(event, "commit") or ""
    path = text_of(event, "path")
    cells = [
        f'<td data-sort="{escape(when)}">{escape(when[:10])}</td>',
        f"<td>{escape(text_of(event, 'event') or '')}</td>",
        f'<td class="addr"{_title(ident)}>{escape(names.get(ident, ident))}</td>',
        f"<td>{_tag(kind, kind)} {escape(agent or '')}</td>",
        f"<td>{escape(evidence)}</td>",
        f"<td><code>{escape(commit[:10])}</code></td>",
        _location(path, line_of(event), href) if path else "<td></td>",
        f"<td>{escape(text_of(event, 'detail') or '')}</td>",
    ]
    return f'<tr data-actor="{escape(kind)}">{"".join(cells)}</tr>'
