"""Every rule's pass/fail fixtures, line-exact (Semgrep style `# expect: NHIxxx` lines).

`# expect: A B` names the rules expected on the next line that is not itself an expect line.
A fixture folder's name is the rule under test; other rules' findings are ignored here.
CI files are read only at their real paths, so `<name>.gitlab-ci.yml` is checked as
`.gitlab-ci.yml` and any other `<name>.yml` as `.github/workflows/<name>.yml`. A fixture whose
name starts with `fail` must declare expectations; any other must declare none.

Each fixture also has a golden SARIF result, `fixtures/goldens/rules/<ID>/<file>.sarif.json`:
the exit code and the stable part of each result of `nhi-gate scan <file> --format sarif` run
from the repository root (rule, level, message, locations, fingerprints, suppressions).
Rewrite them with `python -m pytest --update-goldens` and review the diff.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from checker.change import ChangeSet
from checker.cli import main
from checker.model import SourceFile
from checker.pipeline import Parsed, parse_sources, run_rules
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "fixtures" / "rules").glob("NHI*/*.*"))
GOLDENS = ROOT / "fixtures" / "goldens" / "rules"
#: The SARIF result keys a golden keeps: everything else (rule index, properties) may move
#: when the catalogue grows without the result changing.
_STABLE = ("ruleId", "level", "message", "locations", "partialFingerprints", "suppressions")
_EXPECT = re.compile(r"#\s*expect:\s*((?:NHI\d{3}\s*)+)")


def expectations(text: str) -> set[tuple[str, int]]:
    """(rule id, 1-based line) pairs declared by `# expect:` comments."""
    out: set[tuple[str, int]] = set()
    pending: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        m = _EXPECT.search(line)
        if m:
            pending.extend(m.group(1).split())
            continue
        if pending and line.strip():
            out.update((rule, number) for rule in pending)
            pending = []
    return out


def virtual_path(path: Path) -> str:
    """The repository path a fixture is checked under (see the module docstring)."""
    if path.name.endswith(".gitlab-ci.yml"):
        return ".gitlab-ci.yml"
    if path.suffix == ".yml":
        return f".github/workflows/{path.name}"
    return path.relative_to(ROOT).as_posix()


def findings_for(path: Path) -> set[tuple[str, int]]:
    rel = virtual_path(path)
    config = Config()
    parsed = parse_sources([SourceFile(rel, path.read_bytes())], load_catalogue(), config)
    verdict, _ = run_rules(parsed, Parsed((), ()), mode="scan", config=config,
                           changeset=ChangeSet(None, None), provenance={})
    return {(f.rule_id, f.location.start_line) for f in verdict.findings}


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_expectations(fixture: Path) -> None:
    rule = fixture.parent.name
    expected = {e for e in expectations(fixture.read_text(encoding="utf-8")) if e[0] == rule}
    found = {f for f in findings_for(fixture) if f[0] == rule}
    if fixture.name.startswith("fail"):
        assert expected, f"{fixture} declares no `# expect: {rule}` line"
    else:
        assert not expected, f"{fixture} is a pass fixture but declares expectations"
    assert found == expected


def test_every_rule_with_fixtures_has_pass_and_fail() -> None:
    for folder in sorted((ROOT / "fixtures" / "rules").glob("NHI*")):
        stems = {p.name.split(".", 1)[0] for p in folder.iterdir()}
        assert "pass" in stems and any(s.startswith("fail") for s in stems), folder


def golden_path(fixture: Path) -> Path:
    """`fixtures/goldens/rules/<ID>/<file>.sarif.json` for `fixtures/rules/<ID>/<file>`."""
    return GOLDENS / fixture.parent.name / f"{fixture.name}.sarif.json"


def stable_sarif(log: dict[str, Any], code: int) -> dict[str, Any]:
    """The exit code and the `_STABLE` keys of each result of the one run in `log`."""
    [run] = log["runs"]
    results = [{k: r[k] for k in _STABLE if k in r} for r in run["results"]]
    return {"exit_code": code, "results": results}


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fixture_sarif_matches_its_golden(
    fixture: Path, golden: Callable[[Path, Any], None], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)
    code = main(["scan", fixture.relative_to(ROOT).as_posix(), "--format", "sarif"])
    golden(golden_path(fixture), stable_sarif(json.loads(capsys.readouterr().out), code))


def test_every_golden_has_its_fixture() -> None:
    orphans = sorted(p.relative_to(ROOT).as_posix() for p in GOLDENS.glob("*/*.sarif.json")
                     if not (ROOT / "fixtures" / "rules" / p.parent.name
                             / p.name.removesuffix(".sarif.json")).is_file())  # fmt: skip
    assert orphans == []
