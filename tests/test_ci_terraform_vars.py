"""Terraform variables a workflow step sets (`-var`, `-var-file`, `TF_VAR_*`) override every
tfvars file, so an agent's change of one named like a grant fails closed (NHI106,
`checker.parsers.ci_terraform`); the /work/nu8 attacker pass widened `var.actions` this way."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import CLAUDE_TRAILER, HUMAN, GitRepo

from checker.cli import main

BASE = """\
on: push
jobs:
  apply:
    runs-on: ubuntu-latest
    env:
      TF_VAR_region: eu-west-1
    steps:
      - uses: actions/checkout@v4
      - run: |
          terraform init
          terraform apply -auto-approve ARGS
"""
WF = ".github/workflows/deploy.yml"


def _check(repo: GitRepo, capsys: pytest.CaptureFixture[str]
           ) -> tuple[int, list[tuple[int, bool, str]]]:  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", "HEAD~1", "--head", "HEAD",
                 "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    return code, [(f["start_line"], f["blocking"], f["message"]) for f in findings
                  if f["rule_id"] == "NHI106"]


def _repo(make_repo: Callable[..., GitRepo], head: str, agent: bool) -> GitRepo:
    repo = make_repo()
    repo.commit({WF: BASE.replace(" ARGS", "")}, author=HUMAN, message="deploy")
    repo.commit({WF: head}, author=HUMAN, message="widen",
                trailers=[CLAUDE_TRAILER] if agent else [])
    return repo


@pytest.mark.parametrize("agent", [True, False])
def test_a_grant_like_var_on_the_command_line(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], agent: bool,
) -> None:
    repo = _repo(make_repo, BASE.replace("ARGS", """-var 'actions=["*"]'"""), agent)
    code, found = _check(repo, capsys)
    assert [(line, blocking) for line, blocking, _ in found] == [(11, agent)]
    assert "var.actions" in found[0][2] and "override every tfvars file" in found[0][2]
    assert code == (1 if agent else 0)


def test_a_grant_like_tf_var_in_the_job_env(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
) -> None:
    head = BASE.replace(" ARGS", "").replace(
        "      TF_VAR_region: eu-west-1\n",
        "      TF_VAR_region: eu-west-1\n      TF_VAR_admin_principals: '[\"*\"]'\n")
    code, found = _check(_repo(make_repo, head, True), capsys)
    assert code == 1 and [(line, blocking) for line, blocking, _ in found] == [(7, True)]


def test_another_var_is_a_note_and_an_unchanged_step_nothing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
) -> None:
    code, found = _check(_repo(make_repo, BASE.replace("ARGS", "-var instance_type=t3.large"),
                               True), capsys)
    assert code == 0 and [(line, blocking) for line, blocking, _ in found] == [(11, False)]
    repo = _repo(make_repo, BASE.replace(" ARGS", "") + "# a comment\n", True)
    assert _check(repo, capsys) == (0, [])
