"""Cloud workloads in Terraform and the identity they run as (the workload -> identity link of
issue 12): an agent that points an EC2 instance, a launch template, a CodeBuild project or a
GCE instance at a wider role or service account is blocked (NHI302 error and NHI101); a
person's same change is a warning and exits 0; a re-aligned line or an unrelated attribute is
no change. Every case runs `nhi-gate check` on a real temporary git repository."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, human_base_then

from checker.cli import main

AGENT = ("Claude", "noreply@anthropic.com")
PERSON = ("Bob Builder", "bob@example.com")

EC2 = """\
# nhi-gate: owner=team-a ticket=OPS-3
resource "aws_iam_role" "admin" {
  name               = "admin"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.admin.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

# nhi-gate: owner=team-a ticket=OPS-3
resource "aws_iam_role" "web" {
  name               = "web"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "web" {
  role   = aws_iam_role.web.id
  policy = jsonencode({
    Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }]
  })
}

# nhi-gate: owner=team-a ticket=OPS-3
resource "aws_iam_instance_profile" "admin" {
  name = "admin"
  role = aws_iam_role.admin.name
}

# nhi-gate: owner=team-a ticket=OPS-3
resource "aws_iam_instance_profile" "web" {
  name = "web"
  role = aws_iam_role.web.name
}

resource "aws_instance" "web" {
  ami                  = "ami-123"
  instance_type        = "t3.micro"
  iam_instance_profile = aws_iam_instance_profile.web.name
}

resource "aws_launch_template" "web" {
  name = "web"
  iam_instance_profile {
    name = aws_iam_instance_profile.web.name
  }
}

resource "aws_codebuild_project" "build" {
  name         = "build"
  service_role = aws_iam_role.web.arn
}
"""

GCE = """\
# nhi-gate: owner=team-a ticket=OPS-3
resource "google_service_account" "web" {
  account_id = "web"
}

# nhi-gate: owner=team-a ticket=OPS-3
resource "google_service_account" "ops" {
  account_id = "ops"
}

resource "google_project_iam_member" "ops" {
  project = "shop"
  role    = "roles/owner"
  member  = "serviceAccount:${google_service_account.ops.email}"
}

resource "google_compute_instance" "web" {
  name         = "web"
  machine_type = "e2-small"
  service_account {
    email  = google_service_account.web.email
    scopes = ["cloud-platform"]
  }
}
"""


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], old: str,
           new: str, author: tuple[str, str]) -> tuple[int, list[dict[str, Any]]]:
    return human_base_then(make_repo, capsys, {"main.tf": old}, {"main.tf": new}, author,
                           "deploy web")


def picked(findings: list[dict[str, Any]]) -> set[tuple[str, str, str, int, bool]]:
    return {(f["rule_id"], f["level"], f["address"], f["start_line"], f["blocking"])
            for f in findings if f["rule_id"] in ("NHI101", "NHI302")}


@pytest.mark.parametrize(("old", "new", "address"), [
    ("iam_instance_profile = aws_iam_instance_profile.web.name",
     "iam_instance_profile = aws_iam_instance_profile.admin.name", "aws_instance.web"),
    ("    name = aws_iam_instance_profile.web.name",
     "    name = aws_iam_instance_profile.admin.name", "aws_launch_template.web"),
    ("service_role = aws_iam_role.web.arn", "service_role = aws_iam_role.admin.arn",
     "aws_codebuild_project.build"),
], ids=["ec2-instance-profile", "launch-template-block", "codebuild-service-role"])
@pytest.mark.parametrize(("author", "code", "level"), [(AGENT, 1, "error"),
                                                       (PERSON, 0, "warning")])
def test_workload_switched_to_an_admin_role(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], old: str,
        new: str, address: str, author: tuple[str, str], code: int, level: str) -> None:
    assert old in EC2
    edited = EC2.replace(old, new)
    got, findings = change(make_repo, capsys, EC2, edited, author)
    line = line_of(edited, new.strip())
    assert got == code
    expected = {("NHI302", level, address, line, author == AGENT)}
    if author == AGENT:
        expected.add(("NHI101", "error", address, line, True))
    assert picked(findings) == expected
    drift = next(f for f in findings if f["rule_id"] == "NHI302")
    assert "AdministratorAccess" in drift["message"]


def test_instance_profile_switch_names_the_role_behind_the_profile(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    edited = EC2.replace("iam_instance_profile = aws_iam_instance_profile.web.name",
                         "iam_instance_profile = aws_iam_instance_profile.admin.name")
    _, findings = change(make_repo, capsys, EC2, edited, AGENT)
    drift = next(f for f in findings
                 if f["rule_id"] == "NHI302" and f["address"] == "aws_instance.web")
    assert drift["message"].startswith(
        "aws_instance.web now runs as aws_iam_instance_profile.admin (was "
        "aws_iam_instance_profile.web), which may do more: admin: "
        "arn:aws:iam::aws:policy/AdministratorAccess (")


@pytest.mark.parametrize(("author", "code", "level"), [(AGENT, 1, "error"),
                                                       (PERSON, 0, "warning")])
def test_gce_instance_switched_to_an_owner_service_account(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int, level: str) -> None:
    edited = GCE.replace("email  = google_service_account.web.email",
                         "email  = google_service_account.ops.email")
    got, findings = change(make_repo, capsys, GCE, edited, author)
    line = line_of(edited, "email  = google_service_account.ops.email")
    assert got == code
    expected = {("NHI302", level, "google_compute_instance.web", line, author == AGENT)}
    if author == AGENT:
        expected.add(("NHI101", "error", "google_compute_instance.web", line, True))
    assert picked(findings) == expected
    drift = next(f for f in findings if f["rule_id"] == "NHI302")
    assert "roles/owner" in drift["message"]
    if author == AGENT:
        approval = next(f for f in findings if f["rule_id"] == "NHI101")
        assert approval["message"].endswith(
            "the workload gets every privilege of that service account")


@pytest.mark.parametrize(("old", "new"), [
    ("iam_instance_profile = aws_iam_instance_profile.web.name",
     "iam_instance_profile =     aws_iam_instance_profile.web.name"),
    ('instance_type        = "t3.micro"', 'instance_type        = "t3.large"'),
    ('machine_type = "e2-small"', 'machine_type = "e2-medium"'),
], ids=["realigned-profile-line", "instance-type", "gce-machine-type"])
def test_agent_change_that_keeps_the_identity_is_no_finding(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], old: str,
        new: str) -> None:
    text = EC2 + "\n" + GCE.split("\n", 1)[1].replace("# nhi-gate", "\n# nhi-gate")
    assert old in text
    code, findings = change(make_repo, capsys, text, text.replace(old, new), AGENT)
    assert code == 0
    assert picked(findings) == set()


def test_agent_creating_an_instance_with_a_profile_needs_approval(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    without = EC2.split('resource "aws_instance"')[0]
    code, findings = change(make_repo, capsys, without, EC2, AGENT)
    assert code == 1
    rows = {(f["rule_id"], f["address"], f["start_line"]) for f in findings
            if f["rule_id"] == "NHI101"}
    assert rows == {
        ("NHI101", "aws_instance.web", line_of(EC2, "iam_instance_profile = aws_iam")),
        ("NHI101", "aws_launch_template.web", line_of(EC2, "    name = aws_iam_instance")),
        ("NHI101", "aws_codebuild_project.build", line_of(EC2, "service_role = aws_iam")),
    }


THROUGH_VALUES = {
    # (base files, head files, address, the line of the role attribute in main.tf)
    "variable-default": (
        {"main.tf": 'variable "profile" { default = "app-profile" }\n'
                    'resource "aws_instance" "web" {\n  ami = "ami-1"\n'
                    '  iam_instance_profile = var.profile\n}\n'},
        {"main.tf": 'variable "profile" { default = "OrganizationAdminProfile" }\n'
                    'resource "aws_instance" "web" {\n  ami = "ami-1"\n'
                    '  iam_instance_profile = var.profile\n}\n'},
        "aws_instance.web", 4),
    "tfvars": (
        {"main.tf": 'variable "profile" {}\nresource "aws_instance" "web" {\n'
                    '  iam_instance_profile = var.profile\n}\n',
         "terraform.tfvars": 'profile = "app-profile"\n'},
        {"terraform.tfvars": 'profile = "OrganizationAdminProfile"\n'},
        "aws_instance.web", 3),
    "local-one-line-block": (
        {"main.tf": 'locals { prof = "app-profile" }\nresource "aws_launch_template" "app" {\n'
                    '  name = "app"\n  iam_instance_profile { name = local.prof }\n}\n'},
        {"main.tf": 'locals { prof = "OrganizationAdminProfile" }\n'
                    'resource "aws_launch_template" "app" {\n'
                    '  name = "app"\n  iam_instance_profile { name = local.prof }\n}\n'},
        "aws_launch_template.app", 4),
    "lambda-local-arn": (
        {"main.tf": 'locals { role = "arn:aws:iam::123456789012:role/app" }\n'
                    'resource "aws_lambda_function" "fn" {\n  function_name = "fn"\n'
                    '  role          = local.role\n}\n'},
        {"main.tf": 'locals { role = "arn:aws:iam::123456789012:role/OrganizationAccountAccess'
                    'Role" }\nresource "aws_lambda_function" "fn" {\n  function_name = "fn"\n'
                    '  role          = local.role\n}\n'},
        "aws_lambda_function.fn", 4),
}


@pytest.mark.parametrize("case", sorted(THROUGH_VALUES))
@pytest.mark.parametrize(("author", "code", "level"), [(AGENT, 1, "error"),
                                                       (PERSON, 0, "warning")])
def test_a_workload_switched_through_a_value_it_reads(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], case: str,
        author: tuple[str, str], code: int, level: str) -> None:
    """The identity a workload runs as is the value its attribute reads (a variable default,
    `terraform.tfvars`, a local), not the expression: the value changing is the switch, even
    on a one-line nested block."""
    before, after, address, line = THROUGH_VALUES[case]
    repo = make_repo()
    base = repo.commit(before, author=HUMAN)
    head = repo.commit(after, author=author, message="deploy web")
    got = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert got == code
    expected = {("NHI302", level, address, line, author == AGENT)}
    if author == AGENT:
        expected.add(("NHI101", "error", address, line, True))
    assert picked(findings) == expected
