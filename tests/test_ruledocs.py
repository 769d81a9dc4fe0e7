"""rules/docs/*.yaml: schema-valid, unique ids, fixed help sections, anchors that resolve."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from checker.errors import RulePackError
from checker.policy import rule_docs as ruledocs
from checker.policy.catalogue import rules_dir
from checker.policy.rule_docs import SECTIONS, load_rule_docs, markdown_to_text, render_markdown

REQUIRED = {
    "NHI101": ("agent-created-identity-without-approval", "error"),
    "NHI201": ("missing-owner", "error"),
    "NHI202": ("missing-ticket", "error"),
    "NHI203": ("missing-or-past-expiry", "warning"),
    "NHI301": ("wildcard-or-admin-privilege", "error"),
    "NHI901": ("unparseable-file", "error"),
    "NHI902": ("unreadable-file", "error"),
    "NHI903": ("file-over-budget", "error"),
}


def _github_anchor(heading: str) -> str:
    """GitHub's heading slug: lower-case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_required_rules_documented() -> None:
    docs = load_rule_docs()
    for rule_id, (name, level) in REQUIRED.items():
        assert docs[rule_id].name == name
        assert docs[rule_id].level == level


def test_ids_unique_and_sorted() -> None:
    items = [
        item
        for pack in sorted((rules_dir() / "docs").glob("*.yaml"))
        for item in yaml.safe_load(pack.read_text(encoding="utf-8"))["rules"]
    ]
    ids = [item["id"] for item in items]
    names = [item["name"] for item in items]
    assert len(ids) == len(set(ids))
    assert len(names) == len(set(names))
    assert list(load_rule_docs()) == sorted(ids)


def test_every_doc_has_all_sections_in_order() -> None:
    for doc in load_rule_docs().values():
        headings = [line[3:] for line in doc.help_markdown.splitlines() if line.startswith("## ")]
        assert tuple(headings) == SECTIONS, doc.id
        for title in SECTIONS:
            assert doc.section(title).strip(), (doc.id, title)
        assert "owasp.org/www-project-non-human-identities-top-10/2025/" in doc.section(
            "References"
        ) or doc.id.startswith("NHI9"), doc.id
        assert "](https://" in doc.section("References"), doc.id


def test_metadata_within_github_limits() -> None:
    for doc in load_rule_docs().values():
        assert 0 < len(doc.short) <= 1024 and "\n" not in doc.short
        assert 0 < len(doc.full) <= 1024
        assert len(doc.name) <= 255
        assert isinstance(doc.security_severity, str)
        assert 0.0 < float(doc.security_severity) <= 10.0
        assert doc.precision in ("very-high", "high", "medium", "low")
        assert {"security", "nhi"} <= set(doc.tags) and len(doc.tags) <= 20
        if not doc.id.startswith("NHI9"):
            assert any(t.startswith("owasp-nhi-top10:NHI") for t in doc.tags), doc.id
            assert any(t.startswith("nist-csf:") for t in doc.tags), doc.id


def test_help_text_is_markdown_free_and_fix_is_one_line() -> None:
    for doc in load_rule_docs().values():
        assert "```" not in doc.help_text
        assert "## " not in doc.help_text
        assert "](" not in doc.help_text
        assert doc.help_text.startswith("What it flags\n")
        assert doc.fix and "\n" not in doc.fix and "`" not in doc.fix
        assert doc.fix.endswith(".")


def test_help_uri_anchors_resolve_in_rendered_markdown() -> None:
    docs = load_rule_docs()
    rendered = render_markdown(docs)
    anchors = {
        _github_anchor(line.lstrip("#")) for line in rendered.splitlines() if line.startswith("#")
    }
    for doc in docs.values():
        assert doc.help_uri == (
            "https://github.com/nhi-gate/nhi-gate/blob/main/docs/rules.md#" + doc.id.lower()
        )
        assert doc.help_uri.split("#", 1)[1] in anchors


def test_rendered_markdown_carries_the_same_help() -> None:
    docs = load_rule_docs()
    rendered = render_markdown(docs)
    assert rendered.startswith("# nhi-gate rules\n")
    assert render_markdown(list(docs.values())) == rendered  # deterministic, any input order
    for doc in docs.values():
        section = rendered.split(f"\n## {doc.id}\n", 1)[1].split("\n## NHI", 1)[0]
        for title in SECTIONS:
            assert f"\n### {title}\n" in section
        # same words as SARIF help: only heading levels differ
        assert section.replace("\n### ", "\n## ").count(doc.section("How to fix")) == 1


def test_markdown_to_text() -> None:
    md = (
        "## How to fix\n"
        "Grant `service:*` only via **narrow** roles; see [AWS docs](https://aws.example/x).\n"
        "\n"
        "```hcl\n"
        'resource "a" "b" {}\n'
        "```\n"
    )
    assert markdown_to_text(md) == (
        "How to fix\n"
        "Grant service:* only via narrow roles; see AWS docs (https://aws.example/x).\n"
        "\n"
        '    resource "a" "b" {}\n'
    )


def _write_pack(tmp_path: Path, rules: list[dict[str, object]]) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"rules": rules}, sort_keys=False), encoding="utf-8")
    return path


def _raw_rules() -> list[dict[str, object]]:
    data = yaml.safe_load((rules_dir() / "docs" / "core.yaml").read_text(encoding="utf-8"))
    rules: list[dict[str, object]] = data["rules"]
    return rules


def test_duplicate_id_is_fatal(tmp_path: Path) -> None:
    first = _raw_rules()[0]
    twin = dict(first, name="another-name")
    with pytest.raises(RulePackError, match="NHI101 is documented twice"):
        load_rule_docs(_write_pack(tmp_path, [first, twin]))


def test_missing_section_is_fatal(tmp_path: Path) -> None:
    broken = dict(_raw_rules()[0])
    broken["help"] = str(broken["help"]).replace("## Example\n", "## Examples\n")
    with pytest.raises(RulePackError, match="rules/0/help"):
        load_rule_docs(_write_pack(tmp_path, [broken]))


def test_numeric_security_severity_is_fatal(tmp_path: Path) -> None:
    broken = dict(_raw_rules()[0], security_severity=8.8)
    with pytest.raises(RulePackError, match="security_severity"):
        load_rule_docs(_write_pack(tmp_path, [broken]))


def test_docs_url_constant() -> None:
    assert ruledocs.help_uri("NHI203") == ruledocs.DOCS_URL + "#nhi203"
