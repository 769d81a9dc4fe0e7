"""Precise messages for what users get wrong: config, and suppressions in their files.

An invalid `.nhi-gate.yaml` stops the run with exit 2 and names the file and the key path;
an unknown rule id or a missing reason in an inline suppression is an NHI105 finding on the
comment's line that names the problem (the rest of the change is still checked).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.cli import main

SA = 'resource "google_service_account" "sa" {\n  account_id = "x"\n}\n'


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("fail_on: sometimes\n", ".nhi-gate.yaml: fail_on: 'sometimes' is not one of"),
        ("rules: {NHI9999: {level: error}}\n", ".nhi-gate.yaml: rules: 'NHI9999' does not match"),
        ("rules: {NHI301: {level: loud}}\n", ".nhi-gate.yaml: rules/NHI301/level: 'loud' is not"),
        ("rules: {NHI999: {level: off}}\n",
         ".nhi-gate.yaml: rules/NHI999: no such rule (`nhi-gate rules` lists them)"),
        ("max_lifetime_days: 0\n", ".nhi-gate.yaml: max_lifetime_days: 0 is less than"),
        ("agents: {emails: bot@x}\n", ".nhi-gate.yaml: agents/emails: 'bot@x' is not of type"),
        ("unknown_key: 1\n", ".nhi-gate.yaml: (top level): Additional properties are not allowed"),
        ("baseline: ''\n", ".nhi-gate.yaml: baseline: '' should be non-empty"),
        ("fail_on: [\n", ".nhi-gate.yaml: YAML syntax error at line"),
    ],
)
def test_invalid_config_names_key_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str, message: str
) -> None:
    (tmp_path / "sa.tf").write_text(SA, encoding="utf-8")
    (tmp_path / ".nhi-gate.yaml").write_text(config, encoding="utf-8")
    assert main(["scan", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nhi-gate: error: ") and err.count("\n") == 1
    assert f"{tmp_path / '.nhi-gate.yaml'}" in err
    assert message.split(": ", 1)[1] in err, err


def test_unknown_rule_in_suppression(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sa.tf").write_text("# nhi-gate:ignore NHI2O1 owned elsewhere\n" + SA,
                                    encoding="utf-8")
    assert main(["scan", str(tmp_path), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    [nhi105] = [f for f in report["findings"] if f["rule_id"] == "NHI105"]
    assert (nhi105["path"], nhi105["start_line"]) == ("sa.tf", 1)
    assert nhi105["message"] == (
        "`nhi-gate:ignore NHI2O1 owned elsewhere` on line 1 names NHI2O1, which is not an "
        "nhi-gate rule (ids are NHI followed by three digits; `nhi-gate rules` lists them); "
        "not applied"
    )
    assert {f["rule_id"] for f in report["findings"] if not f["approved"]} >= {"NHI201"}


def test_suppression_without_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sa.tf").write_text("# nhi-gate:ignore NHI201\n" + SA, encoding="utf-8")
    main(["scan", str(tmp_path), "--format", "text"])
    out = capsys.readouterr().out
    assert "L1  NHI105  warning  non-blocking" in out
    assert ("`nhi-gate:ignore NHI201` on line 1 gives no reason; a suppression must say why, "
            "e.g. `# nhi-gate:ignore NHI201 <why this is acceptable, and who decided>`; "
            "not applied") in out
    assert "L2  NHI201  error  BLOCKING" in out
