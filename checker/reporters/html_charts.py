"""Inline SVG charts for the HTML report (`reporters/html.py`): pure functions from counts to
markup, every label escaped, no script and no style attribute (the page's Content Security
Policy allows only its own hashed stylesheet)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

#: Colours of the actor kinds (the same as `.sw.<kind>` in report.css).
ACTOR_COLOURS = {"agent": "#8250df", "bot": "#bc4c00", "human": "#1a7f37", "unknown": "#818b98"}
ACTOR_KINDS = ("agent", "bot", "human", "unknown")

#: Expiry buckets in time order: (label, upper bound in days left or None, colour).
EXPIRY_BUCKETS: tuple[tuple[str, int | None, str], ...] = (
    ("expired", -1, "#cf222e"),
    ("0-30 days", 30, "#bf8700"),
    ("31-90 days", 90, "#0969da"),
    ("91-365 days", 365, "#0969da"),
    ("over a year", None, "#0969da"),
)


def expiry_bucket(days_left: int) -> str:
    """The label of the `EXPIRY_BUCKETS` entry for `days_left` (negative: expired)."""
    for label, bound, _ in EXPIRY_BUCKETS:
        if bound is None or days_left <= bound:
            return label
    return EXPIRY_BUCKETS[-1][0]  # pragma: no cover - the last bound is None


def hbars(title: str, bars: Sequence[tuple[str, int, str]], total: int, width: int = 420) -> str:
    """A horizontal bar chart: one bar per (label, count, colour), scaled to `total` (at least
    1), with the count and its share of `total` after each bar. Returns an `<svg>` element."""
    label_w, bar_w, row_h = 120, width - 120 - 80, 22
    scale = max(total, 1)
    parts = [f'<svg role="img" width="{width}" height="{row_h * len(bars) + 4}" '
             f'aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (label, count, colour) in enumerate(bars):
        y = i * row_h + 2
        w = round(bar_w * count / scale)
        share = round(100 * count / scale)
        parts.append(
            f'<text x="0" y="{y + 14}">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="14" fill="#eaeef2"/>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="14" fill="{colour}"/>'
            f'<text x="{label_w + bar_w + 6}" y="{y + 14}">{count} ({share}%)</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked_columns(title: str, periods: Sequence[str],
                    counts: dict[str, dict[str, int]], height: int = 160) -> str:
    """Stacked columns over time: `periods` in order (e.g. `2025-01`), `counts[period][kind]`
    for each of `ACTOR_KINDS`. Returns an `<svg>` element (a note when there is no period)."""
    if not periods:
        return '<p class="none">No creation dates read from history.</p>'
    col_w, gap, top, bottom = 26, 10, 14, 34
    peak = max(sum(counts[p].values()) for p in periods) or 1
    width = max(len(periods) * (col_w + gap) + 30, 200)
    plot_h = height - top - bottom
    parts = [f'<svg role="img" width="{width}" height="{height}" aria-label="{escape(title)}">'
             f'<title>{escape(title)}</title>'
             f'<text x="0" y="10">{peak}</text>'
             f'<line x1="24" y1="{top}" x2="{width}" y2="{top}" stroke="#eaeef2"/>'
             f'<line x1="24" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" '
             f'stroke="#d1d9e0"/>']
    for i, period in enumerate(periods):
        x = 30 + i * (col_w + gap)
        y = top + plot_h
        for kind in ACTOR_KINDS:
            n = counts[period].get(kind, 0)
            if not n:
                continue
            h = max(round(plot_h * n / peak), 1)
            y -= h
            parts.append(f'<rect x="{x}" y="{y}" width="{col_w}" height="{h}" '
                         f'fill="{ACTOR_COLOURS[kind]}"><title>{escape(period)}: {n} '
                         f'{kind}</title></rect>')
        parts.append(f'<text x="{x}" y="{top + plot_h + 14}">{escape(period[2:])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def legend(kinds: Sequence[str]) -> str:
    """A legend line of colour swatches, one per actor kind (classes from report.css)."""
    return '<p class="legend">' + "".join(
        f'<span><i class="sw {escape(k)}"></i>{escape(k)}</span>' for k in kinds) + "</p>"
