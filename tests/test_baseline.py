"""`nhi-gate baseline create|check` and the config `baseline:` file, on real files and repos."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import COPILOT, HUMAN

from checker.cli import main
from checker.errors import ConfigError
from checker.policy.baseline import loads

ADMIN = """\
# nhi-gate: owner=team-ops ticket=OPS-10
resource "aws_iam_role_policy_attachment" "admin" {
  role       = "ci"
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
"""
NEW_ADMIN = ADMIN.replace('"admin"', '"admin2"')


def test_create_then_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "iam.tf").write_text(ADMIN, encoding="utf-8")
    assert main(["baseline", "create", "--repo", str(tmp_path)]) == 0
    assert "wrote 1 fingerprints" in capsys.readouterr().err
    data = json.loads((tmp_path / ".nhi-gate-baseline.json").read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert [(e["rule_id"], e["path"], e["address"]) for e in data["findings"]] == [
        ("NHI301", "iam.tf", "aws_iam_role_policy_attachment.admin")
    ]
    assert main(["baseline", "check", "--repo", str(tmp_path), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(f["rule_id"], f["approved"]) for f in report["findings"]] == [("NHI301", True)]
    # lines moved above: still baselined (fingerprints hold no line numbers)
    (tmp_path / "iam.tf").write_text("# a\n# b\n\n" + ADMIN + "\n" + NEW_ADMIN, encoding="utf-8")
    assert main(["baseline", "check", "--repo", str(tmp_path), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert {(f["address"], f["start_line"], f["approved"]) for f in report["findings"]} == {
        ("aws_iam_role_policy_attachment.admin", 7, True),
        ("aws_iam_role_policy_attachment.admin2", 13, False),
    }


def test_stale_entries_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "iam.tf").write_text(ADMIN, encoding="utf-8")
    main(["baseline", "create", "--repo", str(tmp_path), "--baseline", str(tmp_path / "b.json")])
    (tmp_path / "iam.tf").write_text("", encoding="utf-8")
    capsys.readouterr()
    code = main(["baseline", "check", "--repo", str(tmp_path), "--baseline",
                 str(tmp_path / "b.json")])
    assert code == 0
    assert "baseline entry NHI301 iam.tf aws_iam_role_policy_attachment.admin no longer " \
        "matches" in capsys.readouterr().err


def test_scan_uses_config_baseline_and_sarif_marks_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "iam.tf").write_text(ADMIN, encoding="utf-8")
    (tmp_path / ".nhi-gate.yaml").write_text("baseline: adopt.json\n", encoding="utf-8")
    assert main(["baseline", "create", "--repo", str(tmp_path)]) == 0
    assert (tmp_path / "adopt.json").is_file()
    sarif = tmp_path / "o.sarif"
    assert main(["scan", str(tmp_path), "--format", "sarif", "--output", str(sarif)]) == 0
    [result] = json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["results"]
    assert result["suppressions"][0]["kind"] == "external"
    assert "adopt.json" in result["suppressions"][0]["justification"]


def test_configured_baseline_missing_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "iam.tf").write_text(ADMIN, encoding="utf-8")
    (tmp_path / ".nhi-gate.yaml").write_text("baseline: nope.json\n", encoding="utf-8")
    assert main(["scan", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "baseline: nope.json not found" in err and ".nhi-gate.yaml" in err


def test_check_reads_baseline_from_base_not_from_the_change(
    make_repo: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    repo = make_repo()
    base = repo.commit({"iam.tf": ADMIN}, author=HUMAN)
    # the change itself adds a baseline covering its own new finding: must not count
    main(["baseline", "create", "--repo", str(repo.path)])
    capsys.readouterr()
    repo.write({"iam.tf": ADMIN + "\n" + NEW_ADMIN})
    main(["baseline", "create", "--repo", str(repo.path)])
    head = repo.commit({}, author=COPILOT, message="admin2 + baseline")
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    nhi301 = [f for f in report["findings"] if f["rule_id"] == "NHI301"]
    assert [(f["address"], f["approved"]) for f in nhi301] == [
        ("aws_iam_role_policy_attachment.admin2", False)]
    # once the baseline is on the base branch, an agent's later edit of admin is baselined
    base2 = head
    head2 = repo.commit({"iam.tf": (ADMIN + "\n" + NEW_ADMIN).replace('"ci"', '"ci-x"', 1)},
                        author=COPILOT, message="edit")
    main(["check", "--repo", str(repo.path), "--base", base2, "--head", head2,
          "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    nhi301 = [f for f in report["findings"] if f["rule_id"] == "NHI301"]
    assert [(f["address"], f["approved"]) for f in nhi301] == [
        ("aws_iam_role_policy_attachment.admin", True)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "x.json: baseline is not valid JSON"),
        ('{"version": 2, "findings": []}', "x.json: baseline version: 1 was expected"),
        ('{"version": 1, "findings": [{"fingerprint": "zz", "rule_id": "NHI301", "path": "a"}]}',
         "x.json: baseline findings/0/fingerprint: 'zz' does not match"),
    ],
)
def test_bad_baseline_names_file_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        loads(text, "x.json")
    assert str(info.value).startswith(message)
