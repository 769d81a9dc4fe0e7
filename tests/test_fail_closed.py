"""Fail closed for agents, stay quiet for people (NHI106, DESIGN.md "What counts as a change"):
where nhi-gate cannot compute what a grant value is (an unknown function, a remote module's
output, a data source, a provider-computed value), an agent's change blocks with a finding that
names the expression and why; a human's is a note; an identity the change did not touch gets
nothing. Real git repositories in temp dirs, `check` through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.model import SourceFile
from checker.parsers.terraform import parse
from checker.policy.catalogue import load_catalogue
from checker.sources.modules import group_modules

CLAUDE = ("Claude", "noreply@anthropic.com")
ROOT = Path(__file__).resolve().parent.parent

BASE = """\
# nhi-gate: owner=team-ci ticket=OPS-1 expires=2027-01-31
resource "aws_iam_role" "deployer" {
  name               = "deployer"
  assume_role_policy = "{}"
}

module "policies" {
  source = "git::https://example.com/org/iam-policies.git?ref=v1"
}

data "aws_ssm_parameter" "deployer_policy" {
  name = "/iam/deployer-policy-arn"
}

resource "aws_cloudformation_stack" "iam" {
  name          = "iam"
  template_body = "{}"
}
"""

ATTACHMENT = """
# nhi-gate: owner=team-ci ticket=OPS-1 expires=2027-01-31
resource "aws_iam_role_policy_attachment" "extra" {
  role       = aws_iam_role.deployer.name
  policy_arn = {value}
}
"""
#: The attachment's `policy_arn` line in `BASE + ATTACHMENT`.
LINE = BASE.count("\n") + 5

#: (value as written, expression in the message, reason in the message), one per source.
SOURCES = {
    # An agent hiding the ARN behind a function nhi-gate does not evaluate.
    "unknown-function": ('base64decode("YXJuOmF3czppYW06OmF3czpwb2xpY3kvQWRt'
                         'aW5pc3RyYXRvckFjY2Vzcw==")',
                         'base64decode("...")', "unknown function base64decode()"),
    "remote-module": ("module.policies.admin_arn", "module.policies.admin_arn",
                      "output of remote module policies "
                      "(git::https://example.com/org/iam-policies.git?ref=v1)"),
    "data-source": ("data.aws_ssm_parameter.deployer_policy.value",
                    "data.aws_ssm_parameter.deployer_policy.value",
                    "data source aws_ssm_parameter.deployer_policy"),
    "provider-computed": ('aws_cloudformation_stack.iam.outputs["PolicyArn"]',
                          'aws_cloudformation_stack.iam.outputs["..."]',
                          "computed by the provider: aws_cloudformation_stack.iam.outputs"),
}


def _check(repo: GitRepo, base: str, capsys: Any) -> tuple[int, list[dict[str, Any]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def _nhi106(findings: list[dict[str, Any]]) -> list[tuple[str, int, str, bool]]:
    return [(f["level"], f["start_line"], f["address"], f["blocking"])
            for f in findings if f["rule_id"] == "NHI106"]


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_an_agent_adding_an_unresolvable_grant_value_is_blocked(
        source: str, make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    value, expression, reason = SOURCES[source]
    repo = make_repo()
    base = repo.commit({"iam.tf": BASE}, author=HUMAN)
    repo.commit({"iam.tf": BASE + ATTACHMENT.replace("{value}", value)}, author=CLAUDE)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    assert _nhi106(findings) == [
        ("error", LINE, "aws_iam_role_policy_attachment.extra", True)]
    message = next(f["message"] for f in findings if f["rule_id"] == "NHI106")
    assert f"`{expression}` ({reason})" in message
    assert message.endswith("a human must review what it grants")
    assert "AdministratorAccess" not in message  # literals are never shown


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_the_same_change_by_a_human_is_a_note(
        source: str, make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    base = repo.commit({"iam.tf": BASE}, author=HUMAN)
    repo.commit({"iam.tf": BASE + ATTACHMENT.replace("{value}", SOURCES[source][0])},
                author=HUMAN)
    code, findings = _check(repo, base, capsys)
    assert code == 0
    assert _nhi106(findings) == [
        ("note", LINE, "aws_iam_role_policy_attachment.extra", False)]


def test_an_untouched_identity_with_an_unresolvable_value_gets_nothing(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    old = ATTACHMENT.replace("{value}", SOURCES["data-source"][0])
    assert _unresolved(BASE + old)["aws_iam_role_policy_attachment.extra"] == [(
        "policy_arn", *SOURCES["data-source"][1:])]  # it has one: the change did not touch it
    base = repo.commit({"iam.tf": BASE + old}, author=HUMAN)
    repo.commit({"iam.tf": BASE + old, "README.md": "infra\n"}, author=CLAUDE)
    assert _check(repo, base, capsys) == (0, [])
    # an agent's change elsewhere in the file (the role's name) leaves the attachment alone
    repo.commit({"iam.tf": BASE.replace('"deployer"\n', '"deployer-2"\n', 1) + old},
                author=CLAUDE)
    _, findings = _check(repo, base, capsys)
    assert _nhi106(findings) == []
    assert {f["address"] for f in findings} == {"aws_iam_role.deployer"}


def test_an_agent_changing_the_data_source_an_unresolved_value_reads_is_blocked(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    old = ATTACHMENT.replace("{value}", SOURCES["data-source"][0])
    base = repo.commit({"iam.tf": BASE + old}, author=HUMAN)
    repo.commit({"iam.tf": BASE.replace("/iam/deployer-policy-arn", "/iam/admin-policy-arn")
                 + old}, author=CLAUDE)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    assert _nhi106(findings) == [
        ("error", LINE, "aws_iam_role_policy_attachment.extra", True)]
    message = next(f["message"] for f in findings if f["rule_id"] == "NHI106")
    assert "via data.aws_ssm_parameter.deployer_policy (iam.tf:11)" in message


def test_an_agent_changing_a_non_literal_local_in_another_file_is_blocked(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    uses_local = ATTACHMENT.replace("{value}", "local.policy_arn")
    locals_tf = "locals {\n  policy_arn = data.aws_ssm_parameter.deployer_policy.value\n}\n"
    base = repo.commit({"iam.tf": BASE + uses_local, "locals.tf": locals_tf}, author=HUMAN)
    repo.commit({"locals.tf": locals_tf.replace("value", "insecure_value")}, author=CLAUDE)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    message = next(f["message"] for f in findings if f["rule_id"] == "NHI106")
    assert ("`local.policy_arn -> data.aws_ssm_parameter.deployer_policy.insecure_value` "
            "(data source aws_ssm_parameter.deployer_policy)") in message
    assert "via local.policy_arn (locals.tf:2)" in message


def _unresolved(text: str) -> dict[str, list[tuple[str, str, str]]]:
    src = SourceFile("main.tf", text.encode())
    result = parse(src, load_catalogue(), module=group_modules([src]).get(""))
    return {o.address: [u[:3] for u in o.unresolved] for o in result.objects}


def test_what_is_not_unresolved() -> None:
    text = (ROOT / "fixtures/rules/NHI106/pass.tf").read_text(encoding="utf-8")
    text += """
module "local_policies" {
  source = "./policies"
}

resource "aws_iam_role_policy_attachment" "local_module" {
  role       = aws_iam_role.deployer.name
  policy_arn = module.local_policies.arn
}

resource "google_project_iam_member" "sink_writer" {
  project = "p"
  role    = "roles/logging.bucketWriter"
  member  = google_logging_project_sink.sink.writer_identity
}

resource "google_project_iam_member" "caller_lookup" {
  for_each = var.roles
  project  = "p"
  role     = lookup(var.custom_roles, each.key, each.key)
  member   = "serviceAccount:ci@p.iam.gserviceaccount.com"
}
"""
    assert all(found == [] for found in _unresolved(text).values())


def test_unresolved_records_attribute_expression_and_reason() -> None:
    text = """\
data "aws_ssm_parameter" "actions" {
  name = "/iam/actions"
}

locals {
  actions = split(",", data.aws_ssm_parameter.actions.value)
}

resource "aws_iam_policy" "p" {
  policy = jsonencode({
    Statement = [{
      Effect   = "Allow"
      Action   = local.actions
      Resource = aws_s3_bucket.b.arn
    }]
  })
}

resource "google_project_iam_member" "m" {
  project = "p"
  role    = google_project_iam_custom_role.r.id
  member  = "group:${reverse(["a", "b"])[0]}@example.com"
}
"""
    assert _unresolved(text) == {
        "aws_iam_policy.p": [(
            "policy", "local.actions -> data.aws_ssm_parameter.actions.value",
            "data source aws_ssm_parameter.actions")],
        "google_project_iam_member.m": [(
            "member", "reverse([a, b])", "unknown function reverse()")],
    }


def test_readme_says_what_fails_closed() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### What fails closed", 1)[1].split("\n#", 1)[0]
    assert "NHI106" in section
    for reason in ("unknown function", "remote module", "data source", "computed by the provider"):
        assert reason in section
    assert "note" in section and "blocks" in section
