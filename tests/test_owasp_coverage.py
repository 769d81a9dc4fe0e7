"""The OWASP NHI Top 10 (2025) coverage table: every item has a rule or a documented reason,
`nhi-gate rules --format markdown` prints it, and README.md shows the same table."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from checker.cli import main
from checker.errors import RulePackError
from checker.policy.rule_docs import (
    OWASP_NHI_TOP10,
    OWASP_NOT_STATIC,
    coverage_table,
    load_rule_docs,
    owasp_coverage,
)

ROOT = Path(__file__).resolve().parents[1]


def test_every_owasp_item_has_a_rule_or_a_reason() -> None:
    coverage = owasp_coverage(load_rule_docs())
    assert list(coverage) == [f"NHI{n}" for n in range(1, 11)]
    uncovered = {item for item, rules in coverage.items() if not rules}
    assert uncovered == set(OWASP_NOT_STATIC)
    assert coverage["NHI3"] == ("NHI324",)
    assert "NHI204" in coverage["NHI8"] and "NHI323" in coverage["NHI9"]
    assert {"NHI316", "NHI317", "NHI318", "NHI320"} <= set(coverage["NHI6"])
    assert "NHI303" in coverage["NHI7"]


def test_a_tag_naming_no_item_is_refused() -> None:
    docs = dict(load_rule_docs())
    doc = docs["NHI101"]
    docs["NHI101"] = dataclasses.replace(doc, tags=(*doc.tags, "owasp-nhi-top10:NHI11"))
    with pytest.raises(RulePackError, match="NHI11"):
        owasp_coverage(docs)


def test_rules_markdown_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert coverage_table(load_rule_docs()) in out
    row = next(line for line in out.splitlines() if line.startswith("| [NHI3 "))
    assert "[NHI324](#nhi324)" in row
    row = next(line for line in out.splitlines() if line.startswith("| [NHI10 "))
    assert "none: " in row and "audit logs" in row
    assert len([line for line in out.splitlines()
                if re.match(r"\| \[NHI\d+ ", line)]) == len(OWASP_NHI_TOP10)


def test_readme_shows_the_current_table() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = text.split("<!-- coverage: owasp-nhi-top10 -->\n", 1)[1].split(
        "\n<!-- /coverage -->", 1)[0]
    expected = coverage_table(load_rule_docs()).replace("](#nhi", "](docs/rules.md#nhi")
    assert shown == expected, "README.md's OWASP table is stale: copy `nhi-gate rules "\
        "--format markdown`'s coverage table (links to docs/rules.md)"
