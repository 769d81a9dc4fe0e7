"""Terraform leftovers of issue 12 found by the attacker's re-check of session 9: identity
switches the gate did not see (a Cloud Run v1 service's account from a local, an autoscaling
group moved to another launch template, a resource moved to another provider alias, a GitHub
ruleset switched off through a value it reads) block an agent's change and only warn on a
person's; narrowings (a permissions boundary added through a variable, a Deny SCP attached
higher up) are at most a note. Every case runs `nhi-gate check` on a real temporary git
repository: base by a person, head by an agent or another person."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.model import ModuleSources, SourceFile
from checker.parsers.terraform import parse
from checker.parsers.terraform.values import module_values
from checker.policy.catalogue import load_catalogue
from checker.sources.modules import group_modules

AGENT = ("Claude", "noreply@anthropic.com")
PERSON = ("Bob Builder", "bob@example.com")
BOTH = pytest.mark.parametrize(("author", "code", "level"), [(AGENT, 1, "error"),
                                                            (PERSON, 0, "warning")])


def check(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
          before: dict[str, str], after: dict[str, str], author: tuple[str, str]
          ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    """(exit code, findings) of `nhi-gate check` over one commit by `author` on a base."""
    repo = make_repo()
    base = repo.commit(before, author=HUMAN)
    head = repo.commit(after, author=author, message="change")
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def rows(findings: list[dict[str, Any]]) -> set[tuple[str, str, str, int, bool]]:
    return {(f["rule_id"], f["level"], f["address"], f["start_line"], f["blocking"])
            for f in findings if f["rule_id"] != "NHI103"}  # no trailer: not this slice's


def message(findings: list[dict[str, Any]], rule_id: str) -> str:
    return next(f["message"] for f in findings if f["rule_id"] == rule_id)


CLOUD_RUN_V1 = """\
locals { sa = "%s" }
resource "google_cloud_run_service" "api" {
  name     = "api"
  location = "us-central1"
  template {
    spec {
      service_account_name = local.sa
      containers { image = "gcr.io/p/api" }
    }
  }
}
"""


@BOTH
def test_cloud_run_v1_account_switched_through_a_local(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int, level: str) -> None:
    """A literal email that is no `*.iam.gserviceaccount.com` address (a short account id, the
    Compute Engine default account) is still the account the service runs as."""
    got, findings = check(make_repo, capsys,
                          {"run.tf": CLOUD_RUN_V1 % "run@p.iam.gserviceaccount.com"},
                          {"run.tf": CLOUD_RUN_V1 % "p-compute@developer.gserviceaccount.com"},
                          author)
    assert got == code
    expected = {("NHI302", level, "google_cloud_run_service.api", 7, author == AGENT)}
    if author == AGENT:
        expected.add(("NHI101", "error", "google_cloud_run_service.api", 7, True))
    assert rows(findings) == expected
    assert message(findings, "NHI302").startswith(
        "google_cloud_run_service.api now runs as "
        "gcp-sa:p-compute@developer.gserviceaccount.com (was gcp-sa:run@p.iam.gserviceaccount"
        ".com)")
    assert ("the Compute Engine default service account, which Google grants the Editor role "
            "on its project") in message(findings, "NHI302")


BOUNDARY_ROLE = """\
variable "boundary" { default = null }
resource "aws_iam_role" "ci" {
  name = "ci"
  permissions_boundary = var.boundary
  assume_role_policy = jsonencode({Version="2012-10-17",Statement=[{Effect="Allow",
    Action="sts:AssumeRole",Principal={Service="ec2.amazonaws.com"}}]})
  tags = { owner = "team-a", ticket = "OPS-1", expires = "2026-12-31" }
}
"""
NULL_BOUNDARY = {"main.tf": BOUNDARY_ROLE, "terraform.tfvars": "boundary = null\n"}
SET_BOUNDARY = {"terraform.tfvars": 'boundary = "arn:aws:iam::111122223333:policy/boundary"\n'}


@pytest.mark.parametrize("author", [AGENT, PERSON])
def test_boundary_added_through_a_null_variable_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str]) -> None:
    """`default = null` is a value (null: no boundary), not an unresolved one: setting it in
    `terraform.tfvars` adds a boundary, a narrowing."""
    got, findings = check(make_repo, capsys, NULL_BOUNDARY, SET_BOUNDARY, author)
    assert got == 0
    assert rows(findings) == {("NHI302", "note", "aws_iam_role.ci", 4, False)}
    assert message(findings, "NHI302").startswith(
        "aws_iam_role.ci gained permissions boundary arn:aws:iam::111122223333:policy/boundary "
        "(was none)")


def test_boundary_removed_through_a_null_tfvars_value_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The reverse (the tfvars value set back to null) removes the boundary: NHI302 names it."""
    before = {**NULL_BOUNDARY, **SET_BOUNDARY}
    got, findings = check(make_repo, capsys, before, {"terraform.tfvars": "boundary = null\n"},
                          AGENT)
    assert got == 1
    assert ("NHI302", "error", "aws_iam_role.ci", 4, True) in rows(findings)
    assert message(findings, "NHI302").startswith(
        "aws_iam_role.ci privileges widened: permissions boundary "
        "arn:aws:iam::111122223333:policy/boundary removed")


SCP = """\
resource "aws_organizations_policy" "guard" {
  name    = "guard"
  content = jsonencode({Version="2012-10-17",Statement=[{Effect="Deny",
    Action=["cloudtrail:StopLogging","iam:CreateUser"],Resource="*"}]})
}
resource "aws_organizations_policy_attachment" "root" {
  policy_id = aws_organizations_policy.guard.id
  target_id = "%s"
}
"""


@pytest.mark.parametrize("author", [AGENT, PERSON])
def test_scp_moved_from_an_ou_to_the_root_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str]) -> None:
    got, findings = check(make_repo, capsys, {"scp.tf": SCP % "ou-abcd-sandbox"},
                          {"scp.tf": SCP % "r-abcd"}, author)
    assert got == 0
    assert rows(findings) == {
        ("NHI302", "note", "aws_organizations_policy_attachment.root", 8, False)}
    assert "to the organization root r-abcd (was ou-abcd-sandbox)" in message(findings, "NHI302")


def test_scp_moved_from_the_root_to_an_ou_still_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The reverse takes the Deny away from every account outside the OU: a widening."""
    got, findings = check(make_repo, capsys, {"scp.tf": SCP % "r-abcd"},
                          {"scp.tf": SCP % "ou-abcd-sandbox"}, AGENT)
    assert got == 1
    assert ("NHI302", "error", "aws_organizations_policy_attachment.root", 8, True) in rows(
        findings)


ASG = """\
resource "aws_autoscaling_group" "web" {
  min_size = 1
  max_size = 2
  launch_template {
    id = aws_launch_template.%s.id
  }
}
"""
TEMPLATES = """\
resource "aws_launch_template" "app" {
  name = "app"
  iam_instance_profile { name = "app-profile" }
}
resource "aws_launch_template" "ops" {
  name = "ops"
  iam_instance_profile { name = "OrganizationAdminProfile" }
}
"""


@BOTH
def test_autoscaling_group_moved_to_another_launch_template(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int, level: str) -> None:
    """The group runs as its launch template's instance profile, read from the module's other
    file (unchanged): pointing it at the admin template is the switch."""
    got, findings = check(make_repo, capsys, {"asg.tf": ASG % "app", "main.tf": TEMPLATES},
                          {"asg.tf": ASG % "ops"}, author)
    assert got == code
    expected = {("NHI302", level, "aws_autoscaling_group.web", 5, author == AGENT)}
    if author == AGENT:
        expected.add(("NHI101", "error", "aws_autoscaling_group.web", 5, True))
    assert rows(findings) == expected
    assert message(findings, "NHI302").startswith(
        "aws_autoscaling_group.web now runs as aws-instance-profile:OrganizationAdminProfile "
        "(was aws-instance-profile:app-profile)")


def test_autoscaling_group_follows_its_template_when_only_the_template_changes(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """An agent that edits only the template's profile switches the group too (the template
    is an input of the group)."""
    got, findings = check(make_repo, capsys, {"asg.tf": ASG % "app", "main.tf": TEMPLATES},
                          {"main.tf": TEMPLATES.replace('"app-profile"', '"AdminProfile"')},
                          AGENT)
    assert got == 1
    assert {r for r in rows(findings) if r[2] == "aws_autoscaling_group.web"} == {
        ("NHI302", "error", "aws_autoscaling_group.web", 5, True),
        ("NHI101", "error", "aws_autoscaling_group.web", 5, True)}


PROVIDERS = """\
provider "aws" {
  region = "us-east-1"
  assume_role { role_arn = "arn:aws:iam::111122223333:role/terraform-deployer" }
}
provider "aws" {
  alias  = "admin"
  region = "us-east-1"
  assume_role { role_arn = "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole" }
}
"""
BUCKET = """\
resource "aws_s3_bucket" "logs" {
  provider = %s
  bucket   = "logs"
}
"""
ADMIN_ARN = "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole"
DEPLOYER_ARN = "arn:aws:iam::111122223333:role/terraform-deployer"


@BOTH
def test_resource_switched_to_an_admin_provider_alias(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int, level: str) -> None:
    """`provider = aws.admin` makes Terraform manage the bucket as the alias's assumed role
    (configured in another, unchanged file): a switch to an administrator role."""
    got, findings = check(make_repo, capsys,
                          {"providers.tf": PROVIDERS, "main.tf": BUCKET % "aws"},
                          {"main.tf": BUCKET % "aws.admin"}, author)
    assert got == code
    address = "aws_s3_bucket.logs#provider"
    expected = {("NHI302", level, address, 2, author == AGENT)}
    if author == AGENT:
        expected.add(("NHI101", "error", address, 2, True))
    assert rows(findings) == expected
    text = message(findings, "NHI302")
    assert text.startswith(f"{address} now runs as {ADMIN_ARN} (was {DEPLOYER_ARN})")
    assert "AWS Organizations creates in a member account with AdministratorAccess" in text


@pytest.mark.parametrize("author", [AGENT, PERSON])
def test_resource_switched_away_from_an_admin_provider_alias_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str]) -> None:
    got, findings = check(make_repo, capsys,
                          {"providers.tf": PROVIDERS, "main.tf": BUCKET % "aws.admin"},
                          {"main.tf": BUCKET % "aws"}, author)
    assert got == 0
    assert rows(findings) == {("NHI302", "note", "aws_s3_bucket.logs#provider", 2, False)}


def test_new_resource_on_a_provider_alias_needs_no_identity_approval(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Creating a bucket with an alias is no switch: the bucket is no identity."""
    got, findings = check(make_repo, capsys, {"providers.tf": PROVIDERS},
                          {"main.tf": BUCKET % "aws.admin"}, AGENT)
    assert got == 0
    assert rows(findings) == set()


RULESET = """\
resource "github_repository_ruleset" "main" {
  name        = "main"
  repository  = "app"
  target      = "branch"
  enforcement = var.mode
  conditions {
    ref_name {
      include = ["~DEFAULT_BRANCH"]
      exclude = []
    }
  }
  rules {
    required_status_checks {
      dynamic "required_check" {
        for_each = local.checks
        content { context = required_check.value }
      }
    }
    pull_request { required_approving_review_count = local.reviews }
  }
}
variable "mode" { default = "active" }
locals {
  checks = %s
  reviews = %s
}
"""
STRICT = RULESET % ('["nhi-gate", "build"]', "1")
LAX = RULESET % ('["build"]', "0")
COUNTED = """\
variable "protect" { default = true }
resource "github_repository_ruleset" "main" {
  count       = var.protect ? 1 : 0
  name        = "main"
  repository  = "app"
  target      = "branch"
  enforcement = "active"
  rules {
    required_status_checks {
      required_check { context = "nhi-gate" }
    }
  }
}
"""
RULESET_CASES = {
    # (base files, head files, the changed file, its line, what the message says is lost)
    "tfvars-enforcement": (
        {"gh.tf": STRICT, "terraform.tfvars": 'mode = "active"\n'},
        {"terraform.tfvars": 'mode = "disabled"\n'}, "terraform.tfvars", 1,
        "no longer `github_repository_ruleset.main: enforcement = active`"),
    "dynamic-required-check": (
        {"gh.tf": STRICT}, {"gh.tf": LAX}, "gh.tf", 24,
        "no longer `github_repository_ruleset.main: rules.required_status_checks."
        "required_check {context = nhi-gate}`"),
    "count-switched-off": (
        {"gh.tf": COUNTED, "terraform.tfvars": "protect = true\n"},
        {"terraform.tfvars": "protect = false\n"}, "terraform.tfvars", 1,
        "no longer `github_repository_ruleset.main: exists`"),
}


@pytest.mark.parametrize("case", sorted(RULESET_CASES))
@pytest.mark.parametrize(("author", "code", "level"), [(AGENT, 1, "error"),
                                                       (PERSON, 0, "note")])
def test_ruleset_weakened_through_a_value_it_reads(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], case: str,
        author: tuple[str, str], code: int, level: str) -> None:
    """A ruleset reads `enforcement`, its required checks (a `dynamic` block) and its `count`
    from module values: weakening it through them is NHI102 on the file that changed."""
    before, after, path, line, lost = RULESET_CASES[case]
    got, findings = check(make_repo, capsys, before, after, author)
    assert got == code
    assert {(f["rule_id"], f["level"], f["path"], f["start_line"], f["blocking"])
            for f in findings} == {("NHI102", level, path, line, author == AGENT)}
    assert lost in message(findings, "NHI102")


@pytest.mark.parametrize("case", sorted(RULESET_CASES))
def test_ruleset_tightened_through_a_value_it_reads_is_nothing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        case: str) -> None:
    """The reverse of each case (the same files, base and head swapped) weakens nothing."""
    before, after, _, _, _ = RULESET_CASES[case]
    got, findings = check(make_repo, capsys, {**before, **after}, before, AGENT)
    assert got == 0
    assert findings == []


IAM = """\
resource "aws_iam_role" "app" {
  name = "app"
  assume_role_policy = "{}"
  tags = { owner = "team-a", ticket = "OPS-1", expires = "2026-12-31" }
}
resource "aws_iam_role" "admin" {
  name = "admin"
  assume_role_policy = "{}"
  tags = { owner = "team-a", ticket = "OPS-1", expires = "2026-12-31" }
}
resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.admin.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
resource "aws_instance" "web" {
  ami                  = "ami-123"
  instance_type        = "t3.micro"
  iam_instance_profile = aws_iam_instance_profile.app.name
}
"""
PROFILE = """\
resource "aws_iam_instance_profile" "app" {
  name = "app"
  role = aws_iam_role.%s.name
}
"""


def test_instance_profile_role_switch_names_the_instances_that_run_as_it(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The instance lives in another, unchanged file of the module."""
    got, findings = check(make_repo, capsys, {"iam.tf": IAM, "profile.tf": PROFILE % "app"},
                          {"profile.tf": PROFILE % "admin"}, AGENT)
    assert got == 1
    assert message(findings, "NHI101").endswith(
        "without a human's approval; it changed line 3 (role); its role is now "
        "aws_iam_role.admin (was aws_iam_role.app): aws_instance.web (iam.tf:18) runs as it")


SERVICE_ACCOUNTS = """\
resource "google_service_account" "run" { account_id = "run" }
resource "google_service_account" "deployer" { account_id = "deployer" }
resource "google_project_iam_member" "deployer" {
  project = "p"
  role    = "roles/owner"
  member  = "serviceAccount:${google_service_account.deployer.email}"
}
"""
CLOUD_RUN = """\
resource "google_cloud_run_v2_service" "api" {
  name     = "api"
  location = "us-central1"
  template {
    service_account = google_service_account.%s.email
    containers { image = "gcr.io/p/api" }
  }
}
"""


@BOTH
def test_cloud_run_switch_reads_the_bindings_in_an_unchanged_file(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int, level: str) -> None:
    """The service account and its `roles/owner` binding are in `sa.tf`, which the change does
    not touch: the message says what the new account may do, not that it is unknown."""
    got, findings = check(make_repo, capsys,
                          {"sa.tf": SERVICE_ACCOUNTS, "run.tf": CLOUD_RUN % "run"},
                          {"run.tf": CLOUD_RUN % "deployer"}, author)
    assert got == code
    assert ("NHI302", level, "google_cloud_run_v2_service.api", 5, author == AGENT) in rows(
        findings)
    assert message(findings, "NHI302").startswith(
        "google_cloud_run_v2_service.api now runs as google_service_account.deployer (was "
        "google_service_account.run), which may do more: admin: roles/owner")


def test_provider_facets_only_for_configurations_that_name_an_identity() -> None:
    """An alias configured without `assume_role` (another region) names no identity: no
    facet; an alias the module does not configure (a caller's) is kept as written."""
    providers = PROVIDERS + 'provider "aws" {\n  alias  = "west"\n  region = "us-west-2"\n}\n'
    main_tf = (BUCKET % "aws.west") + (BUCKET % "aws.admin").replace('"logs"', '"admin"') + (
        BUCKET % "aws.caller").replace('"logs"', '"caller"')
    sources = (SourceFile("main.tf", main_tf.encode()), SourceFile("providers.tf",
                                                                   providers.encode()))
    module = group_modules(sources)[""]
    found = {o.address: o.principals for o in parse(sources[0], load_catalogue(),
                                                    module=module).objects}
    assert found == {"aws_s3_bucket.admin#provider": (ADMIN_ARN,),
                     "aws_s3_bucket.caller#provider": ("provider:aws.caller",)}


def test_a_null_is_a_value_only_where_terraform_uses_it() -> None:
    """`null` in a local, a `.tfvars` file or a root module's variable default is the value
    (None); a reusable module's `default = null` (no `.tfvars`: its caller sets it) stays
    unresolved, as before."""
    main_tf = (b'variable "boundary" { default = null }\nlocals { off = null }\n')
    reusable = module_values(ModuleSources("", (SourceFile("main.tf", main_tf),))).values
    assert "var.boundary" not in reusable
    assert reusable["local.off"].value is None
    root = module_values(ModuleSources("", (SourceFile("main.tf", main_tf), SourceFile(
        "terraform.tfvars", b'region = "x"\n')))).values
    assert root["var.boundary"].value is None
    assert root["var.boundary"].inputs[0][0] == "var.boundary"


@BOTH
def test_provider_alias_added_to_an_existing_resource(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int, level: str) -> None:
    """Base names no provider (the default configuration); adding `provider = aws.admin` to the
    existing block is the same switch."""
    plain = 'resource "aws_s3_bucket" "logs" {\n  bucket   = "logs"\n}\n'
    got, findings = check(make_repo, capsys, {"providers.tf": PROVIDERS, "main.tf": plain},
                          {"main.tf": BUCKET % "aws.admin"}, author)
    assert got == code
    address = "aws_s3_bucket.logs#provider"
    expected = {("NHI302", level, address, 2, author == AGENT)}
    if author == AGENT:
        expected.add(("NHI101", "error", address, 2, True))
    assert rows(findings) == expected
    assert message(findings, "NHI302").startswith(
        f"{address} now runs as {ADMIN_ARN} (was the default `aws` provider configuration)")
