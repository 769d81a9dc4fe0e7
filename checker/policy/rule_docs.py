"""Rule documentation: `rules/docs/*.yaml` as typed `RuleDoc`s, plus the docs/rules.md text.

Source: `rules/docs/*.yaml`, validated by `rules/schema/rules.schema.json` through
`catalogue.load_pack` (ids `NHI[1-4,9]xx`, slug names, descriptions within GitHub's 1024-character
limit, `security_severity` as a string number, `security`/`nhi` tags, and help with the sections
What it flags / Why it matters / Example / How to fix / References, in that order).

The same help Markdown feeds SARIF `rules[].help.markdown`, `nhi-gate rules` and docs/rules.md;
`help_text` is that Markdown with formatting stripped, for SARIF `help.text`.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker.errors import RulePackError
from checker.lazy_patterns import lazy_compile
from checker.policy.catalogue import load_pack, rules_dir

#: The help sections every rule has, in order (enforced by the schema).
SECTIONS = ("What it flags", "Why it matters", "Example", "How to fix", "References")

#: Where docs/rules.md is published; `help_uri` appends `#<id lowercased>`.
DOCS_URL = "https://github.com/nhi-gate/nhi-gate/blob/main/docs/rules.md"

_FENCE = lazy_compile(r"^\s*(```|~~~)")
_HEADING = lazy_compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_CODE_SPAN = lazy_compile(r"(`+)(.+?)\1")
_LINK = lazy_compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_AUTOLINK = lazy_compile(r"<(https?://[^>\s]+)>")
_EMPHASIS = lazy_compile(r"(\*\*|__)(.+?)\1")
_ESCAPE = lazy_compile(r"\\([\\`*_{}\[\]()#+\-.!|<>])")
_LIST_MARK = lazy_compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


@dataclass(frozen=True)
class RuleDoc:
    """One rule's metadata and help.

    Shapes: `id` `NHI101`; `name` slug `agent-created-identity-without-approval`; `short` one line
    (<= 1024 chars); `full` a paragraph (<= 1024 chars); `level` error|warning|note (the default
    level); `security_severity` a string such as `"8.8"`; `precision` very-high|high|medium|low;
    `tags` e.g. (`security`, `nhi`, `owasp-nhi-top10:NHI1`, `nist-csf:PR.AA-01`);
    `help_markdown` the five-section Markdown; `help_text` the same without formatting;
    `help_uri` the rule's anchor in docs/rules.md.
    """

    id: str
    name: str
    short: str
    full: str
    level: str
    security_severity: str
    precision: str
    tags: tuple[str, ...]
    help_markdown: str
    help_uri: str
    #: Named cases whose default level differs from `level` (variant -> level), e.g. NHI310's
    #: `repository-default` (warning) beside `write-all` (error); a check names the variant.
    variants: Mapping[str, str] = field(default_factory=dict)

    @functools.cached_property
    def help_text(self) -> str:
        """`help_markdown` without formatting (SARIF `help.text`); computed on first use, as
        only the SARIF reporter reads it."""
        return markdown_to_text(self.help_markdown)

    def level_of(self, variant: str | None) -> str:
        """The default level of `variant` (the rule's `level` when None or not a variant)."""
        return self.variants.get(variant, self.level) if variant else self.level

    def section(self, title: str) -> str:
        """The Markdown body of one help section (`"How to fix"`), stripped; "" when absent."""
        return markdown_section(self.help_markdown, title)

    @property
    def fix(self) -> str:
        """One line of plain text: the first paragraph of "How to fix", list marker removed."""
        paragraph: list[str] = []
        for line in self.section("How to fix").splitlines():
            if not line.strip():
                if paragraph:
                    break
                continue
            if _FENCE.match(line):
                break
            paragraph.append(_LIST_MARK.sub("", line, count=1).strip())
        return strip_inline(" ".join(paragraph))


def help_uri(rule_id: str) -> str:
    """`https://github.com/nhi-gate/nhi-gate/blob/main/docs/rules.md#nhi101` for `NHI101`."""
    return f"{DOCS_URL}#{rule_id.lower()}"


def strip_inline(text: str) -> str:
    """Remove inline Markdown from one line: code spans, links, `**`/`__` emphasis, escapes.

    Code span content is kept verbatim (so `service:*` and `snake_case` survive); links become
    `text (url)`. Single `*`/`_` emphasis is deliberately left alone: help text does not use it,
    and stripping it would damage IAM wildcards and identifiers.
    """
    out: list[str] = []
    pos = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_strip_prose(text[pos : match.start()]))
        content = match.group(2)
        out.append(content.strip() or content)
        pos = match.end()
    out.append(_strip_prose(text[pos:]))
    return "".join(out)


def _strip_prose(text: str) -> str:
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    return _ESCAPE.sub(r"\1", text)


def markdown_to_text(markdown: str) -> str:
    """Plain text for SARIF `help.text`: headings become bare lines, fences are dropped and
    their code indented by four spaces, inline formatting is removed (`strip_inline`).
    """
    lines: list[str] = []
    in_fence = False
    for line in markdown.strip("\n").splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            lines.append(("    " + line).rstrip())
            continue
        heading = _HEADING.match(line)
        if heading:
            lines.append(strip_inline(heading.group(2)))
            continue
        lines.append(strip_inline(line).rstrip())
    return "\n".join(lines) + "\n"


def markdown_section(markdown: str, title: str) -> str:
    """The body under `## <title>` up to the next `## ` heading (fences respected), stripped."""
    body: list[str] = []
    inside = False
    in_fence = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and line.startswith("## "):
            if inside:
                break
            inside = line[3:].strip() == title
            continue
        if inside:
            body.append(line)
    return "\n".join(body).strip("\n")


def _doc(item: Mapping[str, Any]) -> RuleDoc:
    """One schema-validated YAML entry as a `RuleDoc` (whitespace of `full` normalised)."""
    markdown = str(item["help"]).strip("\n") + "\n"
    return RuleDoc(
        id=str(item["id"]),
        name=str(item["name"]),
        short=str(item["short"]).strip(),
        full=" ".join(str(item["full"]).split()),
        level=str(item["level"]),
        security_severity=str(item["security_severity"]),
        precision=str(item["precision"]),
        tags=tuple(str(t) for t in item["tags"]),
        help_markdown=markdown,
        help_uri=help_uri(str(item["id"])),
        variants={str(k): str(v) for k, v in (item.get("variants") or {}).items()},
    )


@functools.lru_cache(maxsize=4)
def load_rule_docs(path: Path | None = None) -> Mapping[str, RuleDoc]:
    """Load every pack in `rules/docs/*.yaml` (or the one pack `path`), each validated against
    `rules.schema.json`. One pack per rule family keeps additions independent.

    Returns a read-only mapping id -> `RuleDoc`, iterating in id order. Raises `RulePackError`
    (exit 2) on a schema violation, a duplicate id or name, or an empty "How to fix" paragraph.
    """
    packs = [path] if path else sorted((rules_dir() / "docs").glob("*.yaml"))
    docs: dict[str, RuleDoc] = {}
    names: set[str] = set()
    for pack in packs:
        data = load_pack(pack, "rules")
        for item in data["rules"]:
            doc = _doc(item)
            if doc.id in docs:
                raise RulePackError(f"{pack}: rule {doc.id} is documented twice")
            if doc.name in names:
                raise RulePackError(f"{pack}: rule name {doc.name} is used twice")
            if not doc.fix:
                raise RulePackError(f"{pack}: {doc.id}: 'How to fix' must start with a sentence")
            docs[doc.id] = doc
            names.add(doc.name)
    return types.MappingProxyType(dict(sorted(docs.items())))


#: The OWASP Non-Human Identities Top 10 (2025), in order: id -> (title, page). A rule covers an
#: item with an `owasp-nhi-top10:<id>` tag. Source: https://owasp.org/www-project-non-human-identities-top-10/2025/
OWASP_NHI_TOP10: Mapping[str, tuple[str, str]] = types.MappingProxyType({
    f"NHI{n}": (title, f"https://owasp.org/www-project-non-human-identities-top-10/2025/{n}-{slug}/")
    for n, title, slug in (
        (1, "Improper Offboarding", "improper-offboarding"),
        (2, "Secret Leakage", "secret-leakage"),
        (3, "Vulnerable Third-Party NHI", "vulnerable-third-party-nhi"),
        (4, "Insecure Authentication", "insecure-authentication"),
        (5, "Overprivileged NHI", "overprivileged-nhi"),
        (6, "Insecure Cloud Deployment Configurations",
         "insecure-cloud-deployment-configurations"),
        (7, "Long-Lived Secrets", "long-lived-secrets"),
        (8, "Environment Isolation", "environment-isolation"),
        (9, "NHI Reuse", "nhi-reuse"),
        (10, "Human Use of NHI", "human-use-of-nhi"),
    )
})

#: Items no static check of a change can see, with the reason (the coverage table prints it).
OWASP_NOT_STATIC: Mapping[str, str] = types.MappingProxyType({
    "NHI10": "who logs in with a credential (a person using a service account's key or token "
             "from a laptop) happens at run time and shows only in the provider's audit logs "
             "and sign-in records, never in the files of a change",
})


def owasp_coverage(docs: Mapping[str, RuleDoc]) -> dict[str, tuple[str, ...]]:
    """OWASP NHI Top 10 item id -> the ids of the rules tagged `owasp-nhi-top10:<item>`, for
    every item of `OWASP_NHI_TOP10` in order (an empty tuple when no rule covers it). Raises
    `RulePackError` for a tag naming no item."""
    out: dict[str, list[str]] = {item: [] for item in OWASP_NHI_TOP10}
    for doc in sorted(docs.values(), key=lambda d: d.id):
        for tag in doc.tags:
            if not tag.startswith("owasp-nhi-top10:"):
                continue
            item = tag.split(":", 1)[1]
            if item not in out:
                raise RulePackError(f"{doc.id}: tag {tag} names no OWASP NHI Top 10 (2025) item")
            out[item].append(doc.id)
    return {item: tuple(dict.fromkeys(ids)) for item, ids in out.items()}


def coverage_table(docs: Mapping[str, RuleDoc]) -> str:
    """The Markdown table OWASP NHI Top 10 (2025) item -> rules (or why no static check can
    see it), as `nhi-gate rules --format markdown` and README.md print it."""
    rows = ["| OWASP NHI Top 10 (2025) | nhi-gate rules |", "|---|---|"]
    for item, ids in owasp_coverage(docs).items():
        title, url = OWASP_NHI_TOP10[item]
        rules = ", ".join(f"[{i}](#{i.lower()})" for i in ids)
        if not ids:
            rules = f"none: {OWASP_NOT_STATIC.get(item, 'not covered yet')}"
        rows.append(f"| [{item} {title}]({url}) | {rules} |")
    return "\n".join(rows)


def _demote(markdown: str) -> str:
    """Push every heading outside code fences one level down (`##` -> `###`)."""
    out: list[str] = []
    in_fence = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and _HEADING.match(line):
            line = "#" + line
        out.append(line)
    return "\n".join(out)


def render_markdown(docs: Mapping[str, RuleDoc] | Iterable[RuleDoc]) -> str:
    """The text of docs/rules.md: the OWASP NHI Top 10 coverage table (`coverage_table`), an
    index table, then one `## NHI…` section per rule.

    Each section's heading is the bare id so GitHub's anchor is `#nhi101`, matching
    `RuleDoc.help_uri`; the body is the rule's help Markdown (the same text SARIF carries) with
    its headings demoted one level. Deterministic: rules in id order, no dates.
    """
    items = sorted(docs.values() if isinstance(docs, Mapping) else docs, key=lambda d: d.id)
    parts = [
        "# nhi-gate rules",
        "",
        "<!-- Generated from rules/docs/*.yaml by `nhi-gate rules --format markdown`; "
        "edit that file, not this one. -->",
        "",
        "Ids are stable and never reused: NHI1xx approval and provenance, NHI2xx governance "
        "metadata, NHI3xx privilege and scope, NHI4xx secret material, NHI9xx files that could "
        "not be analysed. Security severity follows GitHub code scanning: above 9.0 "
        "critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.",
        "",
        "## OWASP NHI Top 10 coverage",
        "",
        "Each item of the OWASP Non-Human Identities Top 10 (2025) and the rules tagged with it "
        "(`owasp-nhi-top10:` tags), or why no static check of a change can see it.",
        "",
        coverage_table(docs if isinstance(docs, Mapping) else {d.id: d for d in items}),
        "",
        "## Rules",
        "",
        "| Id | Name | Default level | Security severity | Summary |",
        "|---|---|---|---|---|",
    ]
    for doc in items:
        summary = doc.short.replace("|", "\\|")
        parts.append(
            f"| [{doc.id}](#{doc.id.lower()}) | `{doc.name}` | {doc.level} "
            f"| {doc.security_severity} | {summary} |"
        )
    for doc in items:
        parts += [
            "",
            f"## {doc.id}",
            "",
            f"**`{doc.name}`** · default level **{doc.level}** · security severity "
            f"{doc.security_severity} · precision {doc.precision}",
            "",
            f"Tags: {', '.join(f'`{t}`' for t in doc.tags)}",
            "",
            doc.short,
            "",
            doc.full,
            "",
            _demote(doc.help_markdown.strip("\n")),
        ]
    return "\n".join(parts) + "\n"
