"""The wheel ships the rule packs and schemas, and the installed CLI runs from it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contains_rule_packs(tmp_path: Path) -> None:
    pytest.importorskip("build", reason="the `build` package is in the test extra")
    pytest.importorskip("hatchling", reason="hatchling is in the test extra")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    wheels = list(tmp_path.glob("nhi_gate-*.whl"))
    assert len(wheels) == 1
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    for pack in sorted((ROOT / "rules").rglob("*")):
        if pack.is_file():
            assert f"checker/_rules/{pack.relative_to(ROOT / 'rules').as_posix()}" in names
    assert "checker/schemas/config.schema.json" in names
    assert "checker/_rules/catalogue/terraform.yaml" in names
    assert "checker/_rules/agents.yaml" in names
    # the HTML report's stylesheet and script (read with importlib.resources)
    assert "checker/reporters/html_assets/report.css" in names
    assert "checker/reporters/html_assets/report.js" in names
