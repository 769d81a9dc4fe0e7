"""A var file in a folder with no module (`config/prod.tfvars`, passed with `-var-file` by a
workflow that runs Terraform in `infra/`) is judged by what its values feed, not by their
names (slice fixT of session 11): nhi-gate reads the modules that declare the variables it
sets, and an agent's change of a value that feeds a grant there blocks (NHI106 error naming
the identity), whatever the variable is called; a value that feeds no identity stays a note
unless it is named like a grant. A person's change is a note. Real git repositories."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo, check_findings

AGENT = ("Claude", "noreply@anthropic.com")

INFRA = """\
variable "items" { type = list(string) }
variable "size" { type = string }

resource "aws_iam_role_policy" "app" {
  name   = "app"
  role   = "app"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = var.items, Resource = "*" }]
  })
}

resource "aws_instance" "web" {
  ami           = "ami-1"
  instance_type = var.size
}
"""

WORKFLOW = """\
name: deploy
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  apply:
    runs-on: ubuntu-latest
    defaults: {run: {working-directory: infra}}
    steps:
      - uses: actions/checkout@v4
        with: {persist-credentials: false}
      - run: terraform init && terraform apply -auto-approve -var-file=../config/prod.tfvars
"""

VALUES = 'size  = "t3.micro"\nitems = ["s3:GetObject"]\n'


def _change(make_repo: Callable[..., GitRepo], old: str, new: str,
            author: tuple[str, str]) -> tuple[GitRepo, str]:
    repo = make_repo()
    base = repo.commit({"infra/main.tf": INFRA, "config/prod.tfvars": VALUES,
                        ".github/workflows/deploy.yml": WORKFLOW}, author=HUMAN)
    repo.checkout("ai/values", create=True)
    repo.commit({"config/prod.tfvars": VALUES.replace(old, new)}, author=author,
                message="prod values\n\nRequested-by: Alice <alice@example.com>")
    return repo, base


def test_agent_value_feeding_a_grant_blocks_whatever_its_name(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _change(make_repo, '["s3:GetObject"]', '["*"]', AGENT)
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    hits = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["path"], f["start_line"], f["level"], f["blocking"]) for f in hits] == [
        ("config/prod.tfvars", 2, "error", True)]
    assert "items feeds aws_iam_role_policy.app (infra/main.tf:4)" in hits[0]["message"]


def test_agent_value_feeding_no_identity_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _change(make_repo, '"t3.micro"', '"t3.large"', AGENT)
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    hits = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["path"], f["start_line"], f["level"], f["blocking"]) for f in hits] == [
        ("config/prod.tfvars", 1, "note", False)]
    assert "values changed: size" in hits[0]["message"]


def test_person_value_feeding_a_grant_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _change(make_repo, '["s3:GetObject"]', '["*"]', ("Bob B", "bob@example.com"))
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    hits = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["level"], f["blocking"]) for f in hits] == [("note", False)]
    assert "items feeds aws_iam_role_policy.app" in hits[0]["message"]
