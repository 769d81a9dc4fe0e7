"""The static HTML report (`reporters/html.py`): one `<tr>` per row, every value escaped, no
secret value, no network, links to file and line (issue 17 "An HTML report")."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from checker.cli import main
from checker.commands.html_report import report_meta
from checker.reporters.html import link_for, render_inventory_html, render_ledger_html

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "html"
SHA = "0123456789abcdef0123456789abcdef01234567"


def inventory_sample() -> tuple[list[dict[str, object]], dict[str, object]]:
    doc = json.loads((SAMPLES / "inventory.json").read_text())
    return doc["identities"], {"problems": doc["problems"], "today": "2026-12-06"}


def ledger_sample() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    rows = [json.loads(line) for line in (SAMPLES / "ledger.jsonl").read_text().splitlines()]
    return ([r for r in rows if r["table"] == "identity"],
            [r for r in rows if r["table"] == "event"])


def tbody(page: str, section: str) -> str:
    block = page.split(f'<section class="table-block" id="{section}">', 1)[1]
    return block.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def card(page: str, label: str) -> int:
    found = re.search(r'<span class="n">(\d+)</span><span class="l">' + re.escape(label), page)
    assert found, label
    return int(found.group(1))


def test_inventory_page_has_one_row_per_identity_and_the_totals() -> None:
    rows, meta = inventory_sample()
    page = render_inventory_html(rows, meta)
    assert tbody(page, "identities").count("<tr ") == len(rows) == 12
    assert card(page, "identities") == 12
    assert card(page, "created by agents") == 6
    assert card(page, "without owner") == 5
    assert card(page, "without ticket") == 6
    assert card(page, "expired") == 1
    assert card(page, "expiring within 30 days") == 2
    assert card(page, "admin") == 3
    assert card(page, "files not read") == 1
    assert "infra/broken.tf" in page and "This inventory is incomplete" in page
    # the expiry timeline and the creations chart are drawn from the rows
    assert ">expired</text>" in page and "1 (8%)" in page
    assert "2025-05: 2 agent" in page


def test_script_in_an_address_is_inert_and_only_the_hashed_script_runs() -> None:
    rows, meta = inventory_sample()
    page = render_inventory_html(rows, meta)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script") == 1
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp and f"script-src 'sha256-{digest}'" in csp.group(1)
    assert "default-src 'none'" in csp.group(1)


def test_no_secret_value_and_no_network_reference() -> None:
    rows, meta = inventory_sample()
    page = render_inventory_html(rows, meta)
    assert "hunter2-SECRET-VALUE" not in page
    identities, events = ledger_sample()
    assert "hunter2" not in render_ledger_html(identities, events, {})
    assert not re.search(r"<(link|img|iframe|object)\b|\bsrc=|@import|url\(", page)
    assert "http://" not in page and "https://" not in page


def test_locations_link_to_github_blobs_or_relative_paths() -> None:
    rows, meta = inventory_sample()
    page = render_inventory_html(
        rows, {**meta, "repository_url": "https://github.com/acme/infra", "commit": SHA})
    assert (f'href="https://github.com/acme/infra/blob/{SHA}/infra/aws/deploy.tf#L3"'
            in page)
    page = render_inventory_html(rows, {**meta, "link_base": "../"})
    assert 'href="../infra/aws/deploy.tf#L3"' in page
    # neither a scheme in a path nor a non-https repository URL makes a live link
    assert link_for("javascript:alert(1)", 2, {}) == "javascript%3Aalert%281%29#L2"
    assert link_for("a.tf", 1, {"repository_url": "javascript:x//", "commit": SHA}) == "a.tf#L1"


def test_ledger_page_lists_identities_and_events() -> None:
    identities, events = ledger_sample()
    page = render_ledger_html(identities, events, {"today": "2026-12-06"})
    assert tbody(page, "identities").count("<tr ") == len(identities) == 13
    assert tbody(page, "events").count("<tr ") == len(events) == 15
    assert card(page, "removed") == 1
    assert card(page, "agent-created, never approved") == 7
    assert card(page, "expired") == 1  # days left from `today` and the expiry date
    # evidence is a list in the ledger's rows
    assert "<td>agent:co-authored-by strong</td>" in page
    # an event names its identity by address
    assert '<td class="addr" title="id-0099">aws_iam_user.old_bot</td>' in page


def test_rows_without_the_new_columns_still_render() -> None:
    row = {"kind": "user", "platform": "aws", "address": "aws_iam_user.x", "path": "a.tf",
           "start_line": 4, "privileges": ["iam:*"], "metadata": {}}
    page = render_inventory_html([row], {})
    assert tbody(page, "identities").count("<tr ") == 1
    assert "not from history" in page and "iam:*" in page


def test_cli_inventory_html_has_as_many_rows_as_json(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"):
        monkeypatch.delenv(k, raising=False)
    src = tmp_path / "src"
    src.mkdir()
    (src / "iam.tf").write_text(
        'resource "aws_iam_user" "ci" {\n  name = "ci"\n}\n\n'
        'resource "aws_iam_access_key" "ci" {\n  user = aws_iam_user.ci.name\n}\n')
    (src / "sa.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: '<script>x</script>'\n")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "reports" / "inventory.html"
    out.parent.mkdir()
    assert main(["inventory", "src", "--format", "json"]) == 0
    count = len(json.loads(capsys.readouterr().out)["identities"])
    assert count == 3
    assert main(["inventory", "src", "--format", "html", "--output", str(out)]) == 0
    page = out.read_text()
    assert tbody(page, "identities").count("<tr ") == count
    assert 'href="../src/iam.tf#L1"' in page
    assert '<p class="sub">read from src</p>' in page
    assert "<script>x</script>" not in page


def test_report_meta_links_to_the_commit_in_github_actions() -> None:
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/infra",
           "GITHUB_SHA": SHA}
    meta = report_meta("t", None, ".", env)
    assert meta["repository_url"] == "https://github.com/acme/infra"
    assert meta["commit"] == SHA
    assert "repository_url" not in report_meta("t", None, ".", {})
