"""Terraform resource types and AWS managed policies catalogued for issue 12: an agent's change
blocks with NHI301 (admin grant) or NHI101 (identity or workload role change) at the right
line; the same change by a human does not block. Real git repositories in temp dirs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.model import Grant, IdentityObject, Location
from checker.policy.privileges import admin_grants, load_admin_table, load_managed_policies

CLAUDE = ("Claude", "noreply@anthropic.com")

EKS = """\
resource "aws_eks_access_entry" "ops" {
  cluster_name  = "prod"
  principal_arn = "arn:aws:iam::123456789012:role/ops"
}

resource "aws_eks_access_policy_association" "ops" {
  cluster_name  = "prod"
  policy_arn    = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
  principal_arn = "arn:aws:iam::123456789012:role/ops"
  access_scope {
    type = "cluster"
  }
}
"""

EXCLUSIVE = """\
resource "aws_iam_role_policy_attachments_exclusive" "ci" {
  role_name = "ci"
  policy_arns = [
    "arn:aws:iam::aws:policy/ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AdministratorAccess",
  ]
}

resource "aws_iam_user_policy_attachments_exclusive" "bot" {
  user_name   = "bot"
  policy_arns = ["arn:aws:iam::aws:policy/AdministratorAccess"]
}
"""

S3_FULL = """\
resource "aws_iam_role_policy_attachment" "s3" {
  role       = "app"
  policy_arn = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
}
"""

GROUP_MEMBER = """\
resource "azuread_group_member" "sp_admins" {
  group_object_id  = "11111111-1111-1111-1111-111111111111"
  member_object_id = "22222222-2222-2222-2222-222222222222"
}
"""

WORKLOADS = """\
resource "aws_iam_role" "app" {
  name = "app"
  tags = { owner = "team-app", ticket = "APP-1" }
}

resource "aws_iam_role" "admin" {
  name = "admin"
  tags = { owner = "team-ops", ticket = "OPS-1" }
}

resource "aws_lambda_function" "worker" {
  function_name = "worker"
  role          = aws_iam_role.app.arn
  runtime       = "python3.11"
}

resource "aws_ecs_task_definition" "api" {
  family             = "api"
  task_role_arn      = aws_iam_role.app.arn
  execution_role_arn = aws_iam_role.app.arn
}

resource "aws_iam_instance_profile" "web" {
  name = "web"
  role = aws_iam_role.app.name
  tags = { owner = "team-app", ticket = "APP-1" }
}
"""


def run_check(repo: GitRepo, base: str, head: str,
              capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def rows(findings: list[dict[str, Any]], *rules: str) -> set[tuple[str, str, int, bool]]:
    return {(f["rule_id"], f["address"], f["start_line"], f["blocking"]) for f in findings
            if f["rule_id"] in rules}


def added(make_repo: Callable[..., GitRepo], files: dict[str, str],
          author: tuple[str, str] = CLAUDE) -> tuple[GitRepo, str, str]:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    head = repo.commit(files, author=author, message="Add access")
    return repo, base, head


def test_agent_eks_cluster_admin_association_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = added(make_repo, {"eks.tf": EKS})
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert rows(findings, "NHI101", "NHI301") == {
        ("NHI101", "aws_eks_access_entry.ops", 1, True),
        ("NHI101", "aws_eks_access_policy_association.ops", 6, True),
        ("NHI301", "aws_eks_access_policy_association.ops", 8, True),
    }
    (nhi301,) = [f for f in findings if f["rule_id"] == "NHI301"]
    assert "AmazonEKSClusterAdminPolicy on prod" in nhi301["message"]


def test_human_eks_cluster_admin_association_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = added(make_repo, {"eks.tf": EKS}, author=HUMAN)
    code, findings = run_check(repo, base, head, capsys)
    assert code == 0
    assert rows(findings, "NHI301") == {
        ("NHI301", "aws_eks_access_policy_association.ops", 8, False)}


def test_agent_exclusive_attachments_with_administrator_access_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = added(make_repo, {"iam.tf": EXCLUSIVE})
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert rows(findings, "NHI301") == {
        ("NHI301", "aws_iam_role_policy_attachments_exclusive.ci", 3, True),
        ("NHI301", "aws_iam_user_policy_attachments_exclusive.bot", 11, True),
    }


def test_agent_attaching_s3_full_access_blocks_like_a_service_wildcard(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = added(make_repo, {"iam.tf": S3_FULL})
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert rows(findings, "NHI301") == {
        ("NHI301", "aws_iam_role_policy_attachment.s3", 3, True)}
    (nhi301,) = [f for f in findings if f["rule_id"] == "NHI301"]
    assert "s3:*" in nhi301["message"] and "every resource" in nhi301["message"]


def test_managed_policy_table_judges_service_wide_access_only() -> None:
    table = load_admin_table()
    managed = load_managed_policies()
    assert managed["arn:aws:iam::aws:policy/AmazonS3FullAccess"] == ("s3:*", "s3-object-lambda:*")

    def obj(*arns: str) -> IdentityObject:
        return IdentityObject(kind="role_binding", platform="aws",
                              type="aws_iam_role_policy_attachment", address="a.b",
                              location=Location("x.tf", 1, 4),
                              privileges=tuple(Grant(action=a, line=3) for a in arns))

    found = admin_grants(obj("arn:aws:iam::aws:policy/AmazonS3FullAccess",
                             "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"), table)
    assert [a.grant.action for a in found] == ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]
    assert admin_grants(obj("arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"), table) == []


def test_agent_adding_a_group_member_needs_approval(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = added(make_repo, {"aad.tf": GROUP_MEMBER})
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert rows(findings, "NHI101") == {("NHI101", "azuread_group_member.sp_admins", 1, True)}


def test_human_adding_a_group_member_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = added(make_repo, {"aad.tf": GROUP_MEMBER}, author=HUMAN)
    code, findings = run_check(repo, base, head, capsys)
    assert code == 0
    assert rows(findings, "NHI101") == set()


def workload_change(make_repo: Callable[..., GitRepo], old: str, new: str,
                    author: tuple[str, str] = CLAUDE) -> tuple[GitRepo, str, str]:
    repo = make_repo()
    base = repo.commit({"app.tf": WORKLOADS}, author=HUMAN)
    assert old in WORKLOADS
    head = repo.commit({"app.tf": WORKLOADS.replace(old, new)}, author=author,
                       message="Change workload")
    return repo, base, head


@pytest.mark.parametrize(("old", "new", "address", "line"), [
    ("role          = aws_iam_role.app.arn", "role          = aws_iam_role.admin.arn",
     "aws_lambda_function.worker", 13),
    ("task_role_arn      = aws_iam_role.app.arn", "task_role_arn      = aws_iam_role.admin.arn",
     "aws_ecs_task_definition.api", 19),
    ("execution_role_arn = aws_iam_role.app.arn",
     'execution_role_arn = "arn:aws:iam::123456789012:role/admin"',
     "aws_ecs_task_definition.api", 20),
    ("role = aws_iam_role.app.name", "role = aws_iam_role.admin.name",
     "aws_iam_instance_profile.web", 25),
], ids=["lambda-role", "ecs-task-role", "ecs-execution-role", "instance-profile-role"])
def test_agent_switching_a_workload_role_needs_approval(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        old: str, new: str, address: str, line: int) -> None:
    repo, base, head = workload_change(make_repo, old, new)
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert rows(findings, "NHI101") == {("NHI101", address, line, True)}


def test_agent_bumping_a_lambda_runtime_needs_no_identity_approval(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = workload_change(make_repo, '"python3.11"', '"python3.12"')
    code, findings = run_check(repo, base, head, capsys)
    assert code == 0
    assert rows(findings, "NHI101", "NHI301", "NHI302") == set()


def test_human_switching_a_lambda_role_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = workload_change(
        make_repo, "role          = aws_iam_role.app.arn",
        "role          = aws_iam_role.admin.arn", author=HUMAN)
    code, findings = run_check(repo, base, head, capsys)
    assert code == 0
    assert rows(findings, "NHI101") == set()


def test_agent_realigning_a_lambda_role_line_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = workload_change(
        make_repo, "role          = aws_iam_role.app.arn", "role = aws_iam_role.app.arn")
    code, findings = run_check(repo, base, head, capsys)
    assert code == 0
    assert rows(findings, "NHI101") == set()


def test_agent_pointing_a_lambda_at_a_variable_role_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = workload_change(
        make_repo, "role          = aws_iam_role.app.arn", "role          = var.role_arn")
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert rows(findings, "NHI101") == {("NHI101", "aws_lambda_function.worker", 13, True)}
