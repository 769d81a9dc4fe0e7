"""Inline `nhi-gate:ignore` suppressions: syntax, placement, reasons, and who wrote them.

Scan-mode cases run `nhi-gate scan` on real files; check/hook cases use real git repos. The
fixtures in fixtures/suppressions carry `# expect: NHIxxx` lines (as fixtures/rules do) for
the findings that must remain unsuppressed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, GitRepo
from test_rule_fixtures import expectations

from checker.cli import main
from checker.parsers.suppressions import comment_start, find_suppressions

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "suppressions"

ADMIN = """\
# nhi-gate: owner=team-ops ticket=OPS-10
resource "aws_iam_role_policy_attachment" "admin" {
  role       = "ci"
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
"""


def scan_json(path: Path, capsys: pytest.CaptureFixture[str], *extra: str
              ) -> tuple[int, dict[str, Any]]:
    code = main(["scan", str(path), "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def summary(report: dict[str, Any]) -> set[tuple[str, int, bool]]:
    return {(f["rule_id"], f["start_line"], f["approved"]) for f in report["findings"]}


# -- syntax ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "syntax", "expected"),
    [
        ('  role = "x" # nhi-gate:ignore NHI301 why', "hcl", 13),
        ('  role = "x" // nhi-gate:ignore NHI301 why', "hcl", 13),
        ('  description = "# nhi-gate:ignore NHI301 in a string"', "hcl", None),
        ('  description = "a \\" # still a string"', "hcl", None),
        ("name: a#b", "yaml", None),
        ("name: 'it''s # not' # but this is", "yaml", 20),
        ("# top", "yaml", 0),
    ],
)
def test_comment_start(line: str, syntax: str, expected: int | None) -> None:
    assert comment_start(line, syntax) == expected  # type: ignore[arg-type]


def test_find_suppressions_parses_ids_reason_and_target() -> None:
    text = (
        "# nhi-gate:ignore NHI201, NHI203 -- owned by the vault module\n"
        "# another comment\n"
        'resource "a" "b" {\n'
        '  x = 1 # nhi-gate: ignore NHI301\n'
        "}\n"
    )
    found = find_suppressions("m.tf", text)
    assert [(s.line, s.target, s.rule_ids, s.reason, s.trailing) for s in found] == [
        (1, 3, ("NHI201", "NHI203"), "owned by the vault module", False),
        (4, 4, ("NHI301",), "", True),
    ]
    assert find_suppressions("m.tf.json", '{"a": "# nhi-gate:ignore NHI301 x"}') == []


# -- scan mode: fixtures -----------------------------------------------------------------------


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.*")), ids=lambda p: p.name)
def test_fixture_leaves_only_expected_findings(
    fixture: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, report = scan_json(fixture, capsys)
    unsuppressed = {(f["rule_id"], f["start_line"]) for f in report["findings"]
                    if not f["approved"]}
    assert unsuppressed == expectations(fixture.read_text(encoding="utf-8"))
    assert any(f["approved"] for f in report["findings"]), "fixture suppresses nothing"


def test_valid_suppression_approves_and_keeps_the_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tf = tmp_path / "admin.tf"
    tf.write_text(ADMIN.replace('  policy_arn', '  # nhi-gate:ignore NHI301 break-glass, SEC-12\n'
                                '  policy_arn'), encoding="utf-8")
    code, report = scan_json(tf, capsys)
    assert code == 0
    [finding] = [f for f in report["findings"] if f["rule_id"] == "NHI301"]
    assert finding["approved"] is True and finding["blocking"] is False
    assert finding["start_line"] == 5
    sarif = tmp_path / "out.sarif"
    assert main(["scan", str(tf), "--format", "sarif", "--output", str(sarif)]) == 0
    [result] = [r for r in json.loads(sarif.read_text())["runs"][0]["results"]
                if r["ruleId"] == "NHI301"]
    assert result["suppressions"] == [
        {"kind": "inSource", "status": "accepted", "justification": "break-glass, SEC-12"}
    ]


def test_suppression_above_identity_block(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    tf = tmp_path / "admin.tf"
    tf.write_text("# nhi-gate:ignore NHI301 approved by security in SEC-1\n" + ADMIN,
                  encoding="utf-8")
    code, report = scan_json(tf, capsys)
    assert code == 0 and summary(report) == {("NHI301", 5, True)}


def test_suppression_after_a_blank_line_does_not_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tf = tmp_path / "admin.tf"
    tf.write_text("# nhi-gate:ignore NHI301 approved by security in SEC-1\n\n" + ADMIN,
                  encoding="utf-8")
    code, report = scan_json(tf, capsys)
    assert code == 1 and summary(report) == {("NHI301", 6, False)}


# -- invalid suppressions: NHI105 --------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "message_part"),
    [
        ("# nhi-gate:ignore NHI301", "gives no reason"),
        ("# nhi-gate:ignore NHI301 --", "gives no reason"),
        ("# nhi-gate:ignore NHI999 typo in the id", "names NHI999, which is not an nhi-gate rule"),
        ("# nhi-gate:ignore legacy stuff", "names no rule id"),
        ("# nhi-gate:ignore NHI101 we trust the bot", "NHI101, which cannot be suppressed inline"),
        ("# nhi-gate:ignore NHI901 parser bug", "NHI901, which cannot be suppressed inline"),
    ],
)
def test_invalid_suppression_is_nhi105_and_suppresses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], comment: str, message_part: str
) -> None:
    tf = tmp_path / "admin.tf"
    tf.write_text(ADMIN.replace("  policy_arn", f"  {comment}\n  policy_arn"), encoding="utf-8")
    code, report = scan_json(tf, capsys)
    assert code == 1
    assert summary(report) == {("NHI105", 4, False), ("NHI301", 5, False)}
    [nhi105] = [f for f in report["findings"] if f["rule_id"] == "NHI105"]
    assert message_part in nhi105["message"]
    assert nhi105["message"].startswith(f"`{comment[2:]}` on line 4")
    assert nhi105["level"] == "warning"


def test_nhi105_can_be_switched_off(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "admin.tf").write_text(
        ADMIN.replace("  policy_arn", "  # nhi-gate:ignore NHI301\n  policy_arn"),
        encoding="utf-8")
    (tmp_path / ".nhi-gate.yaml").write_text('rules: {NHI105: {level: "off"}}\n', encoding="utf-8")
    _, report = scan_json(tmp_path, capsys)
    assert summary(report) == {("NHI301", 5, False)}


# -- who wrote it: NHI102 ----------------------------------------------------------------------


def check_json(repo: GitRepo, base: str, head: str, capsys: pytest.CaptureFixture[str]
               ) -> tuple[int, dict[str, Any]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_agent_written_suppression_needs_approval(
    make_repo: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    head = repo.commit(
        {"infra/admin.tf": ADMIN.replace(
            "  policy_arn", "  # nhi-gate:ignore NHI301 needed for the deploy\n  policy_arn")},
        author=COPILOT, message="admin")
    code, report = check_json(repo, base, head, capsys)
    assert code == 1
    by_rule = {f["rule_id"]: f for f in report["findings"]}
    nhi102 = by_rule["NHI102"]
    assert (nhi102["start_line"], nhi102["actor_kind"], nhi102["commit"]) == (4, "agent", head)
    assert nhi102["blocking"] is True
    assert "was written by agent" in nhi102["message"]
    assert "NHI301 still count" in nhi102["message"]
    assert by_rule["NHI301"]["approved"] is False and by_rule["NHI301"]["blocking"] is True


def test_agent_suppression_reworded_by_a_human_is_still_the_agents(
    make_repo: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A later human commit that rewords the agent's comment line (lineage, ChangedFile.
    # line_lineage) does not turn it into a human's suppression.
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    agent = repo.commit(
        {"infra/admin.tf": ADMIN.replace(
            "  policy_arn", "  # nhi-gate:ignore NHI301 needed for the deploy\n  policy_arn")},
        author=COPILOT, message="admin")
    head = repo.commit(
        {"infra/admin.tf": ADMIN.replace(
            "  policy_arn", "  # nhi-gate:ignore NHI301 needed for the deploy job\n  policy_arn")},
        author=HUMAN, message="wording")
    code, report = check_json(repo, base, head, capsys)
    assert code == 1
    by_rule = {f["rule_id"]: f for f in report["findings"]}
    assert (by_rule["NHI102"]["start_line"], by_rule["NHI102"]["actor_kind"]) == (4, "agent")
    assert by_rule["NHI102"]["commit"] == agent
    assert by_rule["NHI301"]["approved"] is False and by_rule["NHI301"]["blocking"] is True


def test_human_suppression_on_base_covers_agent_change(
    make_repo: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    repo = make_repo()
    suppressed = ADMIN.replace(
        "  policy_arn", "  # nhi-gate:ignore NHI301 break-glass, SEC-12\n  policy_arn")
    base = repo.commit({"infra/admin.tf": suppressed}, author=HUMAN)
    head = repo.commit({"infra/admin.tf": suppressed.replace('"ci"', '"ci-2"')},
                       author=COPILOT, message="rename role")
    _, report = check_json(repo, base, head, capsys)
    found = {f["rule_id"]: f for f in report["findings"]}
    assert "NHI102" not in found
    assert found["NHI301"]["approved"] is True and found["NHI301"]["start_line"] == 3
    assert found["NHI101"]["approved"] is False  # never suppressible inline


def test_hook_with_agent_committer_gives_nhi102(
    make_repo: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo()
    repo.commit({"README.md": "x\n"})
    repo.git("config", "user.name", COPILOT[0])
    repo.git("config", "user.email", COPILOT[1])
    repo.stage({"admin.tf": ADMIN.replace(
        "  policy_arn", "  # nhi-gate:ignore NHI301 needed\n  policy_arn")})
    monkeypatch.chdir(repo.path)
    code = main(["hook", "admin.tf", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {(f["rule_id"], f["start_line"], f["actor_kind"]) for f in report["findings"]
            if f["rule_id"] in ("NHI102", "NHI301")} == {("NHI102", 4, "agent"),
                                                          ("NHI301", 5, "agent")}
