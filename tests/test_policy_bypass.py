"""A pull request cannot switch off the gate that judges it (issue 14, "Policy a PR can switch
off"): `--fail-on` and the Action's `fail-on` input only tighten the base revision's policy, so
an agent that edits the nhi-gate workflow or `.nhi-gate.yaml` to `fail-on: never` still blocks
in that same run, on NHI102 among others."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import COPILOT, HUMAN, WEB_FLOW, GitRepo

from checker import action
from checker.cli import main

KEY = 'resource "aws_iam_access_key" "ci" {\n  user = "ci"\n}\n'
WORKFLOW = """\
name: nhi-gate
on:
  pull_request:
permissions:
  contents: read
jobs:
  nhi-gate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
        with:
          fetch-depth: 0
      - uses: nhi-gate/nhi-gate@v0.1.0
        with:
          fail-on: {level}
"""
FLOW = ".github/workflows/nhi-gate.yml"


def _switch_off(repo: GitRepo) -> tuple[str, str]:
    """Base: the gate workflow and config at `error`; head: an agent sets both to `never` and
    adds an access key. Returns (base, head)."""
    base = repo.commit({FLOW: WORKFLOW.format(level="error"), ".nhi-gate.yaml": "fail_on: error\n"},
                       author=HUMAN)
    head = repo.commit({FLOW: WORKFLOW.format(level="never"), ".nhi-gate.yaml": "fail_on: never\n",
                        "iam.tf": KEY}, author=COPILOT, committer=WEB_FLOW)
    return base, head


def test_fail_on_never_from_an_agent_pr_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base, head = _switch_off(repo)
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--fail-on", "never", "--format", "json"])
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert code == 1
    assert report["run"]["fail_on"] == "error"
    blocking = {(f["rule_id"], f["path"]) for f in report["findings"] if f["blocking"]}
    assert {("NHI102", FLOW), ("NHI102", ".nhi-gate.yaml"), ("NHI101", "iam.tf")} <= blocking
    assert "--fail-on never is looser than the base policy's fail_on error" in out.err


def test_fail_on_may_tighten_the_base_policy(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({".nhi-gate.yaml": "fail_on: never\n"}, author=HUMAN)
    head = repo.commit({"iam.tf": KEY}, author=COPILOT, committer=WEB_FLOW)
    argv = ["check", "--repo", str(repo.path), "--base", base, "--head", head, "--format", "json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["run"]["fail_on"] == "never"
    assert main([*argv, "--fail-on", "error"]) == 1
    assert json.loads(capsys.readouterr().out)["run"]["fail_on"] == "error"


def test_action_input_fail_on_never_still_blocks(
        make_repo: Callable[..., GitRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base, head = _switch_off(repo)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"base": {"sha": base},
                                                  "head": {"sha": head, "ref": "copilot/x"}}}))
    for name in ("GITHUB_TOKEN", "NHI_GATE_BASE", "NHI_GATE_HEAD", "NHI_GATE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(repo.path))
    monkeypatch.setenv("RUNNER_TEMP", str(tmp_path))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out.txt"))
    monkeypatch.setenv("NHI_GATE_FAIL_ON", "never")
    assert action.main() == 1
    capsys.readouterr()
    assert "verdict=fail" in (tmp_path / "out.txt").read_text(encoding="utf-8")
