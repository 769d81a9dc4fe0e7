"""Terraform inputs set by CI through a local reusable workflow (`uses: ./.github/workflows/
tf.yml` with `with:`) or a local composite action (`uses: ./.github/actions/tf` with `with:`)
whose Terraform run reads them (`-var "x=${{ inputs.x }}"`, `TF_VAR_x: ${{ inputs.x }}`): the
caller's `with:` values are Terraform inputs like a workflow's own `-var` (issue 12, access
paths), so an agent's change of one is NHI106 on the `with:` line and a person's a note. A
composite action's own Terraform inputs are a facet too. Real git repos in temp dirs."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main

AGENT = ("Claude", "noreply@anthropic.com")
MAIN_TF = """\
variable "actions" { type = list(string) }
# nhi-gate: owner=platform ticket=OPS-1 expires=2027-01-31
resource "aws_iam_policy" "ci" {
  name   = "ci"
  policy = jsonencode({ Version = "2012-10-17", Statement = [
    { Effect = "Allow", Action = var.actions, Resource = ["*"] }] })
}
"""
REUSABLE = """\
name: tf
on:
  workflow_call:
    inputs:
      actions:
        type: string
        required: true
jobs:
  apply:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - run: terraform init && terraform apply -auto-approve -var "actions=${{ inputs.actions }}"
"""
CALLER = """\
name: deploy
on:
  push:
    branches: [main]
jobs:
  deploy:
    uses: ./.github/workflows/tf.yml
    with:
      actions: '{actions}'
"""
COMPOSITE = """\
name: tf
inputs:
  actions:
    required: true
runs:
  using: composite
  steps:
    - run: terraform init && terraform apply -auto-approve
      shell: bash
      env:
        TF_VAR_actions: ${{ inputs.actions }}
"""
COMPOSITE_VAR = COMPOSITE.replace(
    "terraform apply -auto-approve\n",
    'terraform apply -auto-approve -var "a=${{ inputs.actions }}"\n',
).replace("      env:\n        TF_VAR_actions: ${{ inputs.actions }}\n", "")
STEP_CALLER = """\
name: deploy
on:
  push:
    branches: [main]
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - uses: ./.github/actions/tf
        with:
          actions: '{actions}'
"""
NARROW, WIDE = '["s3:GetObject"]', '["*"]'


def _run(make_repo: Callable[..., GitRepo], base: Mapping[str, str], head: Mapping[str, str],
         author: tuple[str, str], capsys: pytest.CaptureFixture[str]
         ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    first = repo.commit({"main.tf": MAIN_TF, **base}, author=HUMAN)
    last = repo.commit(dict(head), author=author, message="deploy")
    code = main(["check", "--repo", str(repo.path), "--base", first, "--head", last,
                 "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert not [f for f in findings if f["blocking"] and f["rule_id"] != "NHI106"]
    return code, [f for f in findings if f["rule_id"] == "NHI106"]


def _found(findings: list[dict[str, Any]]) -> list[tuple[str, str, str, int, bool]]:
    return [(f["rule_id"], f["path"], f["address"], f["start_line"], f["blocking"])
            for f in findings]


REUSABLE_CASE = ({".github/workflows/tf.yml": REUSABLE,
                  ".github/workflows/deploy.yml": CALLER.format(actions=NARROW)},
                 {".github/workflows/deploy.yml": CALLER.format(actions=WIDE)})


def test_agent_changing_a_reusable_workflow_input_that_becomes_a_var_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, *REUSABLE_CASE, AGENT, capsys)
    assert code == 1
    assert _found(findings) == [
        ("NHI106", ".github/workflows/deploy.yml",
         ".github/workflows/deploy.yml#jobs.deploy.terraform-inputs", 9, True)]
    assert "with.actions (.github/workflows/tf.yml)" in findings[0]["message"]
    assert "s3:GetObject" not in findings[0]["message"]  # never the value


def test_person_changing_a_reusable_workflow_input_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, *REUSABLE_CASE, HUMAN, capsys)
    assert code == 0
    assert _found(findings) == [
        ("NHI106", ".github/workflows/deploy.yml",
         ".github/workflows/deploy.yml#jobs.deploy.terraform-inputs", 9, False)]


@pytest.mark.parametrize("action", [COMPOSITE, COMPOSITE_VAR], ids=["tf-var-env", "var-flag"])
def test_agent_changing_a_composite_action_input_that_becomes_a_var_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        action: str) -> None:
    base = {".github/actions/tf/action.yml": action,
            ".github/workflows/deploy.yml": STEP_CALLER.format(actions=NARROW)}
    head = {".github/workflows/deploy.yml": STEP_CALLER.format(actions=WIDE)}
    code, findings = _run(make_repo, base, head, AGENT, capsys)
    assert code == 1
    assert _found(findings) == [
        ("NHI106", ".github/workflows/deploy.yml",
         ".github/workflows/deploy.yml#jobs.deploy.terraform-inputs", 12, True)]
    assert "with.actions (.github/actions/tf/action.yml)" in findings[0]["message"]
    code, findings = _run(make_repo, base, head, HUMAN, capsys)
    assert code == 0
    assert [f["blocking"] for f in findings] == [False]


def test_an_input_the_callee_does_not_hand_to_terraform_is_nothing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A local action that runs no Terraform (`npm test`), or a `with:` value the reusable
    workflow never reads, is no Terraform input."""
    lint = COMPOSITE.replace("terraform init && terraform apply -auto-approve", "npm test")
    base = {".github/actions/tf/action.yml": lint,
            ".github/workflows/deploy.yml": STEP_CALLER.format(actions=NARROW)}
    head = {".github/workflows/deploy.yml": STEP_CALLER.format(actions=WIDE)}
    code, findings = _run(make_repo, base, head, AGENT, capsys)
    assert (code, findings) == (0, [])
    other = REUSABLE.replace("${{ inputs.actions }}", "${{ vars.ACTIONS }}")
    base = {".github/workflows/tf.yml": other,
            ".github/workflows/deploy.yml": CALLER.format(actions=NARROW)}
    head = {".github/workflows/deploy.yml": CALLER.format(actions=WIDE)}
    code, findings = _run(make_repo, base, head, AGENT, capsys)
    assert (code, findings) == (0, [])


def test_agent_adding_a_tf_var_to_a_composite_action_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The composite action's own `env:` sets a Terraform input, like a workflow step's."""
    plain = COMPOSITE.replace("${{ inputs.actions }}", "'[\"s3:GetObject\"]'")
    wide = COMPOSITE.replace("${{ inputs.actions }}", "'[\"*\"]'")
    path = ".github/actions/tf/action.yml"
    code, findings = _run(make_repo, {path: plain}, {path: wide}, AGENT, capsys)
    assert code == 1
    assert _found(findings) == [
        ("NHI106", path, f"{path}#runs.terraform-inputs", 11, True)]


def test_the_pre_commit_hook_reads_the_callee_from_the_index(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`hook` (the staged change) reads the unchanged reusable workflow from the index and
    HEAD, as `check` reads it from the range's revisions."""
    repo = make_repo()
    base, head = REUSABLE_CASE
    repo.commit({"main.tf": MAIN_TF, **base}, author=HUMAN)
    repo.stage(head)
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", AGENT[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", AGENT[1])
    code = main(["hook", "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert _found([f for f in findings if f["rule_id"] == "NHI106"]) == [
        ("NHI106", ".github/workflows/deploy.yml",
         ".github/workflows/deploy.yml#jobs.deploy.terraform-inputs", 9, True)]
    assert code == 1
