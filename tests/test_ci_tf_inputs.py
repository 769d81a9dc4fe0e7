"""Terraform inputs set in a GitHub Actions or GitLab CI job that runs Terraform (`-var`,
`-var-file`, `TF_VAR_*`, `TF_CLI_ARGS*`: issue 12, access paths) are inputs of every identity
reading the variable, which nhi-gate does not compute: an agent's change of one is NHI106 (an
error), a person's a note, a job that only formats or validates has none. Real git repos in
temp dirs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.model import SourceFile
from checker.parsers.ci_tf_inputs import TYPE
from checker.parsers.github_actions import parse
from checker.policy.catalogue import load_catalogue

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
WORKFLOW = """\
name: apply
on:
  push:
    branches: [main]
jobs:
  apply:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - run: terraform init && terraform apply -auto-approve{flags}
{env}"""
PATH = ".github/workflows/apply.yml"


def _workflow(flags: str = "", env: str = "") -> str:
    return WORKFLOW.format(flags=flags, env=env)


def _run(make_repo: Callable[..., GitRepo], base: str, head: str, author: tuple[str, str],
         capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    first = repo.commit({"main.tf": MAIN_TF, PATH: base}, author=HUMAN)
    last = repo.commit({PATH: head}, author=author, message="apply")
    code = main(["check", "--repo", str(repo.path), "--base", first, "--head", last,
                 "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert not [f for f in findings if f["blocking"] and f["rule_id"] != "NHI106"]
    return code, [f for f in findings if f["rule_id"] == "NHI106"]


ENV = "        env:\n          TF_VAR_actions: '[\"iam:*\"]'\n"


def test_agent_adding_a_var_and_tf_var_to_terraform_apply_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = _workflow(" -var 'actions=[\"*\"]'", ENV)
    code, findings = _run(make_repo, _workflow(), head, AGENT, capsys)
    assert code == 1
    assert [(f["rule_id"], f["address"], f["start_line"], f["blocking"]) for f in findings] == [
        ("NHI106", f"{PATH}#jobs.apply.terraform-inputs", 10, True)]
    assert "Terraform inputs set in CI changed: -var actions, TF_VAR_actions" in (
        findings[0]["message"])
    assert "iam:*" not in findings[0]["message"]  # never the value


def test_agent_changing_a_tf_var_value_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = _workflow(env=ENV.replace("iam:*", "s3:GetObject"))
    code, findings = _run(make_repo, base, _workflow(env=ENV), AGENT, capsys)
    assert code == 1
    assert [(f["rule_id"], f["start_line"], f["blocking"]) for f in findings] == [
        ("NHI106", 12, True)]


def test_person_adding_a_var_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = _workflow(" -var-file=prod.tfvars")
    code, findings = _run(make_repo, _workflow(), head, HUMAN, capsys)
    assert code == 0
    assert [(f["rule_id"], f["level"]) for f in findings] == [("NHI106", "note")]
    assert "-var-file prod.tfvars" in findings[0]["message"]


def test_agent_unrelated_change_beside_unchanged_inputs_is_nothing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = _workflow(" -var 'actions=[\"s3:GetObject\"]'")
    head = base.replace("name: apply", "name: apply prod")
    code, findings = _run(make_repo, base, head, AGENT, capsys)
    assert code == 0
    assert findings == []


def test_only_jobs_running_terraform_on_the_configuration_have_inputs() -> None:
    text = _workflow(env=ENV).replace("terraform init && terraform apply -auto-approve",
                                      "terraform fmt -check")
    parsed = parse(SourceFile(PATH, text.encode()), load_catalogue())
    assert [o for o in parsed.objects if o.type == TYPE] == []
    text = ("env:\n  TF_VAR_region: eu-west-1\n  TF_CLI_ARGS_plan: -var=x=1\n" +
            _workflow(env=ENV).replace("- run: terraform init && terraform apply -auto-approve",
                                       "- run: |\n          terraform init\n          terraform "
                                       "plan -var=\"actions=[]\" --var-file vars/prod.tfvars"))
    (facet,) = [o for o in parse(SourceFile(PATH, text.encode()), load_catalogue()).objects
                if o.type == TYPE]
    assert [(u.attribute, u.line) for u in facet.unresolved] == [
        ("-var actions", 15), ("-var-file vars/prod.tfvars", 15), ("TF_VAR_actions", 17),
        ("TF_VAR_region", 2), ("TF_CLI_ARGS_plan", 3)]


GITLAB = """\
variables:
  TF_IN_AUTOMATION: "true"
apply:
  stage: deploy
  script:
    - terraform init
    - terraform apply -auto-approve{flags}
"""


def test_agent_adding_a_var_to_a_gitlab_terraform_job_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    first = repo.commit({"main.tf": MAIN_TF, ".gitlab-ci.yml": GITLAB.format(flags="")},
                        author=HUMAN)
    last = repo.commit({".gitlab-ci.yml": GITLAB.format(flags=" -var 'actions=[\"*\"]'")},
                       author=AGENT, message="apply")
    code = main(["check", "--repo", str(repo.path), "--base", first, "--head", last,
                 "--format", "json"])
    findings = [f for f in json.loads(capsys.readouterr().out)["findings"] if f["blocking"]]
    assert code == 1
    assert [(f["rule_id"], f["address"], f["start_line"]) for f in findings] == [
        ("NHI106", ".gitlab-ci.yml#apply.terraform-inputs", 7)]
    assert "-var actions" in findings[0]["message"]


def test_gitlab_variables_of_a_terraform_job_are_inputs() -> None:
    from checker.parsers.gitlab_ci import parse as parse_gitlab

    text = GITLAB.format(flags="").replace(
        'TF_IN_AUTOMATION: "true"', "TF_VAR_admin: {value: 'true', description: x}") + (
        "  variables:\n    TF_CLI_ARGS_apply: -var-file=prod.tfvars\n"
        "lint:\n  script: [terraform fmt -check]\n  variables: {TF_VAR_x: '1'}\n")
    objects = parse_gitlab(SourceFile(".gitlab-ci.yml", text.encode()), load_catalogue()).objects
    (facet,) = [o for o in objects if o.type == TYPE]
    assert facet.address == ".gitlab-ci.yml#apply.terraform-inputs"
    assert [(u.attribute, u.line) for u in facet.unresolved] == [
        ("TF_CLI_ARGS_apply", 9), ("TF_VAR_admin", 2)]


MATRIX = """\
name: apply
on:
  push:
    branches: [main]
jobs:
  apply:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        acts: ['ACTS']
    steps:
      - run: terraform apply -auto-approve -var "actions=${{ matrix.acts }}"
"""


@pytest.mark.parametrize(("author", "code", "level"), [(AGENT, 1, "error"), (HUMAN, 0, "note")])
def test_a_matrix_value_handed_to_terraform_is_an_input(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int, level: str) -> None:
    """`-var "x=${{ matrix.x }}"`: changing only the matrix value changes the input."""
    got, findings = _run(make_repo, MATRIX.replace("ACTS", '["s3:GetObject"]'),
                         MATRIX.replace("ACTS", '["*"]'), author, capsys)
    assert got == code
    assert [(f["start_line"], f["level"]) for f in findings] == [(10, level)]
    assert "strategy.matrix" in findings[0]["message"]
