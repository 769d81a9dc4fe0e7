"""The closure, second pass: values an identity reads from files Terraform does not load by
itself or that the parser did not follow. Each case is a real git repo with a human base; the
agent's widening blocks and names the input, the same change by a human does not block."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.cli import main

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
REQUESTED = [("Requested-by", "Alice Example <alice@example.com>")]
META = "# nhi-gate: owner=team-a ticket=OPS-1 expires=2027-01-01\n"

Found = list[tuple[str, int, bool, str]]


def _run(make_repo: Callable[..., GitRepo], capsys: Any, base: dict[str, str],
         head: dict[str, str], author: Identity) -> tuple[int, Found]:
    repo = make_repo()
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author, trailers=REQUESTED if author == CLAUDE else None)
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["start_line"], f["blocking"], f["message"])
                  for f in report["findings"]]


# --------------------------------------------------------------------------- B3: -var-file files

POLICY_VAR = META + """\
resource "aws_iam_role_policy" "p" {
  name   = "p"
  role   = "app"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = var.actions, Resource = "*" }]
  })
}
variable "actions" { type = list(string) }
"""
TRUST_VAR = META + """\
resource "aws_iam_role" "r" {
  name = "ci"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = {
        Federated = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
      }
      Condition = {
        StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
        StringLike   = { "token.actions.githubusercontent.com:sub" = var.sub }
      }
    }]
  })
}
variable "sub" { type = string }
"""
COUNT_VAR = """\
variable "breakglass" { type = bool }
""" + META + """\
resource "aws_iam_role_policy_attachment" "admin" {
  count      = var.breakglass ? 1 : 0
  role       = "ci"
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
"""
FOR_EACH_VAR = """\
variable "roles" { type = set(string) }
""" + META + """\
resource "google_project_iam_member" "m" {
  for_each = var.roles
  project  = "p"
  role     = each.value
  member   = "serviceAccount:ci@p.iam.gserviceaccount.com"
}
"""
DYNAMIC_VAR = META + """\
resource "aws_iam_policy" "p" {
  name   = "p"
  policy = data.aws_iam_policy_document.d.json
}
variable "stmts" { type = map(list(string)) }
data "aws_iam_policy_document" "d" {
  dynamic "statement" {
    for_each = var.stmts
    content {
      actions   = statement.value
      resources = ["*"]
    }
  }
}
"""

VAR_FILE_CASES = [
    pytest.param(POLICY_VAR, "prod.tfvars", 'actions = ["s3:GetObject"]\n',
                 'actions = ["iam:*"]\n', "var.actions (prod.tfvars:1)", id="actions"),
    pytest.param(POLICY_VAR, "envs/prod.tfvars", 'actions = ["s3:GetObject"]\n',
                 'actions = ["iam:*"]\n', "var.actions (envs/prod.tfvars:1)", id="envs-dir"),
    pytest.param(POLICY_VAR, "vars/ci.tfvars.json", '{"actions": ["s3:GetObject"]}\n',
                 '{"actions": ["iam:*"]}\n', "var.actions (vars/ci.tfvars.json:1)", id="json"),
    pytest.param(TRUST_VAR, "ci.tfvars", 'sub = "repo:org/app:ref:refs/heads/main"\n',
                 'sub = "*"\n', "var.sub (ci.tfvars:1)", id="oidc-sub"),
    pytest.param(COUNT_VAR, "prod.tfvars", "breakglass = false\n", "breakglass = true\n",
                 "var.breakglass (prod.tfvars:1)", id="count"),
    pytest.param(FOR_EACH_VAR, "prod.tfvars", 'roles = ["roles/viewer"]\n',
                 'roles = ["roles/viewer", "roles/owner"]\n', "var.roles (prod.tfvars:1)",
                 id="for-each"),
    pytest.param(DYNAMIC_VAR, "prod.tfvars", 'stmts = { a = ["s3:GetObject"] }\n',
                 'stmts = { a = ["iam:*"] }\n', "var.stmts (prod.tfvars:1)", id="dynamic"),
]


@pytest.mark.parametrize(("tf", "path", "before", "after", "via"), VAR_FILE_CASES)
def test_var_file_widening_by_an_agent_blocks_naming_the_file(
        make_repo: Callable[..., GitRepo], capsys: Any, tf: str, path: str, before: str,
        after: str, via: str) -> None:
    code, found = _run(make_repo, capsys, {"main.tf": tf, path: before}, {path: after}, CLAUDE)
    assert code == 1
    blocking = {rule for rule, _, block, _ in found if block}
    assert "NHI101" in blocking and blocking & {"NHI301", "NHI302"}
    assert all(via in message for _, _, block, message in found if block)


@pytest.mark.parametrize(("tf", "path", "before", "after", "via"), VAR_FILE_CASES)
def test_var_file_widening_by_a_human_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: Any, tf: str, path: str, before: str,
        after: str, via: str) -> None:
    code, found = _run(make_repo, capsys, {"main.tf": tf, path: before}, {path: after}, HUMAN)
    assert code == 0
    assert not [f for f in found if f[2]]


def test_var_file_of_another_module_is_not_read(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    """`other/prod.tfvars` belongs to `other/`, not to the root module."""
    code, found = _run(make_repo, capsys,
                       {"main.tf": POLICY_VAR, "other/prod.tfvars": 'actions = ["s3:Get"]\n'},
                       {"other/prod.tfvars": 'actions = ["iam:*"]\n'}, CLAUDE)
    assert (code, found) == (0, [])
