"""`optional(type, default)` attributes of a variable's object type (slice fixT of session 11):
Terraform fills an attribute the value leaves out with the type's default, so an agent that
changes only that default (`["s3:GetObject"]` -> `["*"]`) widens every grant built from it:
NHI302, blocking, in a called module and in the root module (through a `for` expression and
a `dynamic` block). A default nhi-gate cannot compute fails closed. Real git repositories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

from checker.parsers.terraform.type_defaults import type_spec, with_defaults

AGENT = ("Claude", "noreply@anthropic.com")
OLD = 'optional(list(string), ["s3:GetObject"])'
NEW = 'optional(list(string), ["*"])'

MODULE_VARIABLES = f"""\
variable "name" {{ type = string }}
variable "statements" {{
  type = list(object({{
    actions   = {OLD}
    resources = list(string)
  }}))
}}
"""

MODULE_MAIN = """\
resource "aws_iam_role" "this" {
  name               = var.name
  assume_role_policy = "{}"
  tags               = { owner = "team-a", ticket = "OPS-1", expires = "2027-01-01" }
}
data "aws_iam_policy_document" "this" {
  dynamic "statement" {
    for_each = var.statements
    content {
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}
resource "aws_iam_role_policy" "this" {
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}
"""

CALLER = """\
module "app" {
  source     = "./modules/role"
  name       = "app"
  statements = [{ resources = ["*"] }]
}
"""

ROOT = f"""\
variable "statements" {{
  type = list(object({{
    actions   = {OLD}
    resources = list(string)
  }}))
  default = [{{ resources = ["*"] }}]
}}
resource "aws_iam_role_policy" "app" {{
  name   = "app"
  role   = "app"
  policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [for s in var.statements : {{
      Effect = "Allow", Action = s.actions, Resource = s.resources
    }}]
  }})
}}
"""


def _change(make_repo: Callable[..., GitRepo], files: dict[str, str], path: str,
            new: str = NEW) -> tuple[GitRepo, str]:
    repo = make_repo()
    base = repo.commit(files, author=HUMAN)
    repo.checkout("ai/defaults", create=True)
    repo.commit({path: files[path].replace(OLD, new)}, author=AGENT,
                message="default actions\n\nRequested-by: Alice <alice@example.com>")
    return repo, base


def _blocking(findings: list[dict[str, Any]], rule: str) -> list[tuple[str, str]]:
    return sorted((f["address"], f["message"]) for f in findings
                  if f["rule_id"] == rule and f["blocking"])


def test_changed_optional_default_in_a_called_module_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    files = {"main.tf": CALLER, "modules/role/variables.tf": MODULE_VARIABLES,
             "modules/role/main.tf": MODULE_MAIN}
    repo, base = _change(make_repo, files, "modules/role/variables.tf")
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    drift = _blocking(findings, "NHI302")
    assert [a for a, _ in drift] == ["module.app.aws_iam_role_policy.this",
                                     "module.app.data.aws_iam_policy_document.this"]
    assert all("*" in message for _, message in drift)


def test_changed_optional_default_in_the_root_module_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _change(make_repo, {"main.tf": ROOT}, "main.tf")
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    drift = _blocking(findings, "NHI302")
    assert [a for a, _ in drift] == ["aws_iam_role_policy.app"]
    assert "*" in drift[0][1]


def test_default_nhi_gate_cannot_compute_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _change(make_repo, {"main.tf": ROOT}, "main.tf",
                         new="optional(list(string), local.wide)")
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    assert [f for f in findings if f["blocking"] and f["path"] == "main.tf"]


def test_with_defaults_fills_left_out_attributes_only() -> None:
    spec = type_spec('${list(object({ a = optional(list(string), ["x"]), b = optional(number),'
                     ' c = optional(object({ d = optional(string, "y") }), {}) }))}')
    assert with_defaults(spec, [{"a": ["z"]}, {}]) == [
        {"a": ["z"], "b": None, "c": {"d": "y"}}, {"a": ["x"], "b": None, "c": {"d": "y"}}]
    assert type_spec("${list(string)}") is None
