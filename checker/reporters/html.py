"""The HTML report of `nhi-gate inventory --format html` and `nhi-gate ledger --format html`.

One static page: inline stylesheet and script (package data in `html_assets/`), a Content
Security Policy that allows only those two by hash, so nothing is fetched from the network and a
value that escaped into the page could not run. Every value is escaped with `html.escape`; only
the fields of the contract below are shown (never `metadata`, never a secret value).

Input rows are the machine-readable contract shared with the ledger (README "Identity ledger"):
an inventory row has `kind`, `platform`, `address`, `path`, `start_line`, `owner`, `ticket`,
`environment`, `expiry` (ISO date or None), `expiry_days_left` (int or None), `privileges`
(`{"summary", "admin", "wildcard", "escalation"}`, or the older list of strings), `created_by`
and `last_changed_by` (`{"actor_kind", "agent", "commit", "date", "author"}` or None) and
`approval` (`{"merge_commit", "pr", "reviews"}` or None). A ledger identity row has `line`
instead of `start_line`, `identity_id`, `status` and `approved`; a ledger event row has
`identity_id`, `event`, `commit`, `date`, `actor_kind`, `agent`, `evidence`, `strength`,
`path`, `line` and `detail`. Missing fields show as empty.

`meta` keys (all optional): `title`; `repository_url` (an `https://` URL) and `commit` (hex)
make each location a GitHub blob link, otherwise links are relative, prefixed by `link_base`;
`problems` (`[{"path", "rule_id", "message"}]`, files not read); `today` (ISO date: days left
for rows without `expiry_days_left`); `tool_version`; `source` (what was read, one line) or
`paths` (the paths read).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape
from importlib import resources
from urllib.parse import quote

from checker.lazy_patterns import lazy_compile
from checker.reporters import html_charts as charts
from checker.reporters.html_rows import Row, event_cells, identity_cells, read_row
from checker.reporters.html_rows import line_of as _line
from checker.reporters.html_rows import text_of as _text

_HEX = lazy_compile(r"[0-9a-fA-F]{7,64}")


def _asset(name: str) -> str:
    return (resources.files("checker.reporters") / "html_assets" / name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def link_for(path: str, line: int | None, meta: Mapping[str, object]) -> str:
    """The href of a file and line: `<repository_url>/blob/<commit>/<path>#L<line>` when meta
    holds an https repository URL and a hex commit, else `<link_base><path>` (percent-encoded,
    so a path can never become a `javascript:` URL)."""
    anchor = f"#L{line}" if line else ""
    repo, commit = meta.get("repository_url"), meta.get("commit")
    if (isinstance(repo, str) and repo.startswith("https://") and isinstance(commit, str)
            and _HEX.fullmatch(commit)):
        return f"{repo.rstrip('/')}/blob/{commit}/{quote(path.lstrip('/'))}{anchor}"
    base = meta.get("link_base")
    prefix = quote(base) if isinstance(base, str) else ""
    return f"{prefix}{quote(path)}{anchor}"


def _today(meta: Mapping[str, object]) -> date | None:
    today = meta.get("today")
    try:
        return date.fromisoformat(today) if isinstance(today, str) else None
    except ValueError:
        return None


def _card(label: str, n: int, tone: str = "") -> str:
    cls = f"card {tone}" if tone and n else "card"
    return (f'<div class="{cls}"><span class="n">{n}</span>'
            f'<span class="l">{escape(label)}</span></div>')


def _totals(rows: Sequence[Row], problems: int, extra: Sequence[tuple[str, int, str]]) -> str:
    cards = [
        _card("identities", len(rows)),
        _card("created by agents", sum(r.actor == "agent" for r in rows), "warn"),
        _card("without owner", sum(not r.owner for r in rows), "bad"),
        _card("without ticket", sum(not r.ticket for r in rows), "warn"),
        _card("expired", sum(r.days_left is not None and r.days_left < 0 for r in rows), "bad"),
        _card("expiring within 30 days",
              sum(r.days_left is not None and 0 <= r.days_left <= 30 for r in rows), "warn"),
        _card("without expiry", sum(r.expiry is None for r in rows)),
        _card("admin", sum(r.admin for r in rows), "bad"),
        _card("wildcard", sum(r.wildcard for r in rows), "warn"),
        _card("escalation", sum(r.escalation for r in rows), "bad"),
        *(_card(label, n, tone) for label, n, tone in extra),
        _card("files not read", problems, "bad"),
    ]
    return '<section><h2>Totals</h2><div class="cards">' + "".join(cards) + "</div></section>"


def _charts(rows: Sequence[Row]) -> str:
    total = len(rows)
    coverage = charts.hbars("Owner and ticket coverage", [
        ("owner", sum(bool(r.owner) for r in rows), "#1a7f37"),
        ("ticket", sum(bool(r.ticket) for r in rows), "#1a7f37"),
        ("expiry", sum(r.expiry is not None for r in rows), "#1a7f37"),
    ], total)
    buckets = {label: 0 for label, _, _ in charts.EXPIRY_BUCKETS}
    for r in rows:
        if r.days_left is not None:
            buckets[charts.expiry_bucket(r.days_left)] += 1
    timeline = charts.hbars("Expiry timeline", [
        *((label, buckets[label], colour) for label, _, colour in charts.EXPIRY_BUCKETS),
        ("no expiry", sum(r.expiry is None for r in rows), "#818b98"),
    ], total)
    months: dict[str, dict[str, int]] = {}
    for r in rows:
        if r.created_date:
            per = months.setdefault(r.created_date[:7], {})
            per[r.actor] = per.get(r.actor, 0) + 1
    periods = sorted(months)
    if len(periods) > 36:  # by year, so the chart stays readable
        years: dict[str, dict[str, int]] = {}
        for month, per in months.items():
            into = years.setdefault(month[:4] + "  ", {})
            for kind, n in per.items():
                into[kind] = into.get(kind, 0) + n
        months, periods = years, sorted(years)
    unread = sum(not r.created_date for r in rows)
    created = (charts.stacked_columns("Identities created, by actor kind", periods, months)
               + charts.legend(charts.ACTOR_KINDS)
               + (f'<p class="none">{unread} not read from history</p>' if unread else ""))
    return ('<section class="charts">'
            f'<div class="chart" id="coverage"><h3>Owner, ticket and expiry coverage</h3>'
            f"{coverage}</div>"
            f'<div class="chart" id="expiry"><h3>Expiry timeline</h3>{timeline}</div>'
            f'<div class="chart" id="created"><h3>Created by agents vs humans over time</h3>'
            f"{created}</div></section>")


def _problems(meta: Mapping[str, object]) -> tuple[int, str]:
    raw = meta.get("problems")
    items = [p for p in raw if isinstance(p, Mapping)] if isinstance(raw, list) else []
    if not items:
        return 0, ""
    lis = "".join(
        f"<li>{escape(str(p.get('rule_id', '')))} {escape(str(p.get('path', '')))}: "
        f"{escape(str(p.get('message', '')))}</li>" for p in items)
    return len(items), (f'<section id="problems"><h2>Files not read ({len(items)})</h2>'
                        f'<p>This inventory is incomplete: these files were not analysed.</p>'
                        f'<ul class="problems">{lis}</ul></section>')


_ID_CONTROLS = (
    '<div class="controls"><input type="search" data-filter="text" id="{key}-filter" '
    'placeholder="Filter: address, owner, agent, path..." aria-label="Filter rows">'
    '<label>Created by <select data-filter="actor" id="{key}-actor"><option value="">any'
    '</option><option>agent</option><option>bot</option><option>human</option>'
    '<option>unknown</option></select></label>'
    '<label>Expiry <select data-filter="expiry" id="{key}-expiry"><option value="">any</option>'
    '<option value="expired">expired</option><option value="30">within 30 days</option>'
    '<option value="90">within 90 days</option><option value="none">no expiry</option>'
    '</select></label><label><input type="checkbox" data-filter="no-owner" '
    'id="{key}-no-owner"> without owner only</label><span class="count" data-count></span></div>')


def _table(key: str, heading: str, heads: Sequence[tuple[str, bool]], body: Sequence[str],
           controls: str) -> str:
    num_attr = ' data-type="num"'
    ths = "".join(f'<th scope="col"{num_attr if num else ""}>{escape(h)}</th>'
                  for h, num in heads)
    return (f'<section class="table-block" id="{key}"><h2>{escape(heading)} ({len(body)})</h2>'
            f'{controls}<div class="scroll"><table><thead><tr>{ths}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div></section>")


def _page(title: str, meta: Mapping[str, object], sections: Sequence[str]) -> str:
    css, js = _asset("report.css"), _asset("report.js")
    csp = (f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    sub = [str(meta[k]) for k in ("source", "repository_url") if isinstance(meta.get(k), str)]
    paths = meta.get("paths")
    if "source" not in meta and isinstance(paths, list) and paths:
        sub.insert(0, "read from " + " ".join(str(p) for p in paths))
    if isinstance(meta.get("commit"), str):
        sub.append(f"commit {meta['commit']}")
    version = meta.get("tool_version")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{css}</style></head><body>"
        f'<header><h1>{escape(title)}</h1><p class="sub">{escape(" · ".join(sub))}</p></header>'
        + "".join(sections)
        + "<footer>Generated by nhi-gate"
        + (f" {escape(str(version))}" if version else "")
        + ". Static page: no network access; secret values are never included.</footer>"
        f"<script>{js}</script></body></html>\n")


def render_inventory_html(rows: list[dict[str, object]], meta: dict[str, object]) -> str:
    """The inventory as one static HTML page: totals, coverage, expiry timeline, creations by
    actor kind over time, and the sortable, filterable identity table (one `<tr>` per row, in
    the order given). `rows` are `inventory --format json` identities; see the module doc."""
    today = _today(meta)
    read = [read_row(r, today) for r in rows]
    n_problems, problems = _problems(meta)
    body = [identity_cells(r, link_for(r.path, r.line, meta), ledger=False) for r in read]
    table = _table("identities", "Identities", identity_heads(ledger=False), body,
                   _ID_CONTROLS.format(key="identities"))
    title = str(meta.get("title") or "nhi-gate inventory")
    return _page(title, meta, [_totals(read, n_problems, ()), _charts(read), problems, table])


def render_ledger_html(identities: list[dict[str, object]], events: list[dict[str, object]],
                       meta: dict[str, object]) -> str:
    """The ledger as one static HTML page: the inventory page's parts over the ledger's
    identity rows (with status and approval), then the lifecycle events table. `identities`
    and `events` are `ledger --format jsonl` rows of each table; see the module doc."""
    today = _today(meta)
    read = [read_row(r, today) for r in identities]
    n_problems, problems = _problems(meta)
    names = {r.identity_id: r.address for r in read if r.identity_id}
    extra = (("removed", sum(r.status == "removed" for r in read), ""),
             ("agent-created, never approved",
              sum(r.actor == "agent" and r.approved is False for r in read), "bad"),
             ("events", len(events), ""))
    id_body = [identity_cells(r, link_for(r.path, r.line, meta), ledger=True) for r in read]
    ev_body = [event_cells(e, names, link_for(_text(e, "path") or "", _line(e), meta))
               for e in events]
    sections = [
        _totals(read, n_problems, extra), _charts(read), problems,
        _table("identities", "Identities", identity_heads(ledger=True), id_body,
               _ID_CONTROLS.format(key="identities")),
        _table("events", "Lifecycle events", EVENT_HEADS, ev_body,
               '<div class="controls"><input type="search" data-filter="text" '
               'id="events-filter" placeholder="Filter events..." aria-label="Filter events">'
               '<span class="count" data-count></span></div>'),
    ]
    title = str(meta.get("title") or "nhi-gate ledger")
    return _page(title, meta, sections)


def identity_heads(*, ledger: bool) -> list[tuple[str, bool]]:
    """The identity table's column headings and whether each sorts as a number."""
    heads = [("Kind", False), ("Address", False), ("Location", False), ("Environment", False),
             ("Owner", False), ("Ticket", False), ("Expiry (days left)", True),
             ("Privileges", False), ("Created by", False), ("Last changed by", False),
             ("Approval", False)]
    return [*heads, ("Status", False)] if ledger else heads


EVENT_HEADS = [("Date", False), ("Event", False), ("Identity", False), ("Actor", False),
               ("Evidence", False), ("Commit", False), ("Location", False), ("Detail", False)]
