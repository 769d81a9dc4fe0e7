"""Denies that live in a block of their own (issue 12, attacker pass s9): a role's effective
permissions are its allows minus every deny applied to it, so deleting a deny policy, the
attachment of a deny policy, a `removed {}` block for one, or the attachment of a Deny service
control policy widens what it denied (NHI302, blocking for an agent, a warning for a person);
adding one, in a policy or as a block of its own, is a narrowing note.
Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

CLAUDE = ("Claude", "noreply@anthropic.com")
TRAILER = [("Requested-by", "Alice Admin <alice@corp.example>")]
ROLE = (
    'resource "aws_iam_role" "ci" {\n'
    '  name               = "ci"\n'
    '  assume_role_policy = jsonencode({ Version = "2012-10-17", '
    'Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", '
    'Principal = { Service = "ec2.amazonaws.com" } }] })\n'
    '  tags = { owner = "alice", ticket = "SEC-1", expires = "2027-01-01" }\n'
    '}\n'
)
ALLOW = (
    'resource "aws_iam_role_policy" "allow" {\n'
    '  name   = "allow"\n'
    '  role   = aws_iam_role.ci.id\n'
    '  policy = jsonencode({ Version = "2012-10-17", '
    'Statement = [{ Effect = "Allow", Action = "s3:*", Resource = "*" }] })\n'
    '}\n'
)
DENY = (
    'resource "aws_iam_role_policy" "deny_prod" {\n'
    '  name   = "deny-prod"\n'
    '  role   = aws_iam_role.ci.id\n'
    '  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Deny", '
    'Action = "s3:*", Resource = "arn:aws:s3:::prod-*" }] })\n'
    '}\n'
)
REMOVED = """\
removed {
  from = aws_iam_role_policy.deny_prod
  lifecycle {
    destroy = true
  }
}
"""
POWER = (
    'resource "aws_iam_role_policy_attachment" "power" {\n'
    '  role       = aws_iam_role.ci.name\n'
    '  policy_arn = "arn:aws:iam::aws:policy/PowerUserAccess"\n'
    '}\n'
    'resource "aws_iam_policy" "deny_iam" {\n'
    '  name   = "deny-iam"\n'
    '  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Deny", '
    'Action = "iam:*", Resource = "*" }] })\n'
    '}\n'
)
ATTACH = """\
resource "aws_iam_role_policy_attachment" "deny_iam" {
  role       = aws_iam_role.ci.name
  policy_arn = aws_iam_policy.deny_iam.arn
}
"""
SCP = (
    'resource "aws_organizations_policy" "deny_leave" {\n'
    '  name    = "deny-iam-users"\n'
    '  content = jsonencode({ Version = "2012-10-17", '
    'Statement = [{ Effect = "Deny", Action = ["iam:CreateUser", '
    '"iam:CreateAccessKey"], Resource = "*" }] })\n'
    '}\n'
)
SCP_ATTACH = """\
resource "aws_organizations_policy_attachment" "root" {
  policy_id = aws_organizations_policy.deny_leave.id
  target_id = "r-abcd"
}
"""
WEAK_SCP = SCP.replace('["iam:CreateUser", "iam:CreateAccessKey"]', '["iam:CreateUser"]')
IN_POLICY = (
    'resource "aws_iam_role_policy" "allow" {\n'
    '  name   = "allow"\n'
    '  role   = "ci"\n'
    '  policy = jsonencode({ Version = "2012-10-17", '
    'Statement = [{ Effect = "Allow", Action = "s3:*", Resource = "*" }] })\n'
    '}\n'
)
IN_POLICY_DENY = IN_POLICY.replace('"*" }] })', '"*" }, { Effect = "Deny", Action = "s3:*", '
                                   'Resource = "arn:aws:s3:::prod-*" }] })')


def _run(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], base: str,
         head: str, author: tuple[str, str] = CLAUDE) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    first = repo.commit({"main.tf": base}, author=HUMAN)
    repo.commit({"main.tf": head}, author=author, trailers=TRAILER)
    return check_findings(repo, first, capsys)


def _summary(findings: list[dict[str, Any]]) -> list[tuple[str, str, int, str, bool]]:
    return sorted((f["rule_id"], f["address"], f["start_line"], f["level"], f["blocking"])
                  for f in findings)


#: (base, head, address reported, what the message names)
WIDENINGS = {
    "deny-policy-deleted": (ROLE + ALLOW + DENY, ROLE + ALLOW, "aws_iam_role.ci",
                            "no longer denied s3:* on arn:aws:s3:::prod-* "
                            "(aws_iam_role_policy.deny_prod removed)"),
    "removed-block": (ROLE + ALLOW + DENY, ROLE + ALLOW + REMOVED, "aws_iam_role.ci",
                      "no longer denied s3:* on arn:aws:s3:::prod-*"),
    "deny-attachment-deleted": (ROLE + POWER + ATTACH, ROLE + POWER, "aws_iam_role.ci",
                                "no longer denied iam:* on * (aws_iam_role_policy_attachment."
                                "deny_iam removed, which attached aws_iam_policy.deny_iam)"),
    "scp-detached": (SCP + SCP_ATTACH, SCP, "aws_organizations_policy.deny_leave",
                     "detached from r-abcd: every account under it is no longer denied "
                     "iam:CreateUser on *, iam:CreateAccessKey on *"),
}


@pytest.mark.parametrize("case", sorted(WIDENINGS))
def test_an_agent_removing_a_deny_block_widens_what_it_denied(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], case: str
) -> None:
    base, head, address, named = WIDENINGS[case]
    code, findings = _run(make_repo, capsys, base, head)
    assert code == 1
    assert _summary(findings) == [("NHI302", address, 1, "error", True)]
    assert named in findings[0]["message"]


@pytest.mark.parametrize("case", sorted(WIDENINGS))
def test_a_person_removing_a_deny_block_is_a_warning(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], case: str
) -> None:
    base, head, address, _ = WIDENINGS[case]
    code, findings = _run(make_repo, capsys, base, head, author=HUMAN)
    assert code == 0
    assert _summary(findings) == [("NHI302", address, 1, "warning", False)]


def test_a_deny_removed_with_its_role_widens_nobody(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, capsys, ROLE + ALLOW + DENY, "# nothing\n")
    assert code == 0
    assert [f for f in findings if f["rule_id"] == "NHI302"] == []


def test_an_agent_weakening_a_service_control_policy_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, capsys, SCP + SCP_ATTACH, WEAK_SCP + SCP_ATTACH)
    assert code == 1
    drift = [f for f in findings if f["rule_id"] == "NHI302"]
    assert [(f["address"], f["start_line"], f["blocking"]) for f in drift] == [
        ("aws_organizations_policy.deny_leave", 3, True)]
    assert "drops deny iam:CreateAccessKey on *" in drift[0]["message"]


#: (base, head, address of the note, line, what the note names)
NARROWINGS = {
    "deny-statement-added": (IN_POLICY, IN_POLICY_DENY, "aws_iam_role_policy.allow", 4,
                             "now denies s3:* on arn:aws:s3:::prod-*"),
    "deny-policy-added": (ROLE + ALLOW, ROLE + ALLOW + DENY, "aws_iam_role_policy.deny_prod", 14,
                          "only denies to aws_iam_role.ci: s3:* on arn:aws:s3:::prod-*"),
    "deny-attachment-added": (ROLE + POWER, ROLE + POWER + ATTACH,
                              "aws_iam_role_policy_attachment.deny_iam", 16,
                              "attaches a policy that only denies, to aws_iam_role.ci: iam:* on *"),
    "scp-added": (ROLE, ROLE + SCP + SCP_ATTACH, None, 0, ""),
}


@pytest.mark.parametrize("case", sorted(NARROWINGS))
def test_an_agent_adding_a_deny_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], case: str
) -> None:
    base, head, address, line, named = NARROWINGS[case]
    code, findings = _run(make_repo, capsys, base, head)
    assert code == 0
    assert not any(f["blocking"] for f in findings)
    if address is None:  # the policy and its attachment: both notes
        assert {(f["rule_id"], f["level"]) for f in findings} == {("NHI302", "note")}
        assert len(findings) == 2
        return
    assert _summary(findings) == [("NHI302", address, line, "note", False)]
    assert named in findings[0]["message"]


def test_an_agent_deleting_the_file_of_a_deny_policy_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The role lives in an unchanged file: the finding is where the deny was."""
    repo = make_repo()
    first = repo.commit({"iam.tf": ROLE + ALLOW, "deny.tf": DENY}, author=HUMAN)
    repo.commit({"deny.tf": None}, author=CLAUDE, trailers=TRAILER)
    code, findings = check_findings(repo, first, capsys)
    assert code == 1
    assert [(f["rule_id"], f["path"], f["start_line"], f["blocking"]) for f in findings] == [
        ("NHI302", "deny.tf", 1, True)]
    assert ("aws_iam_role_policy.deny_prod removed: aws_iam_role.ci is no longer denied "
            "s3:* on arn:aws:s3:::prod-*") in findings[0]["message"]


def test_the_hook_sees_a_staged_deletion_of_a_deny_policy_file(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from checker.cli import main

    repo = make_repo()
    repo.commit({"iam.tf": ROLE + ALLOW, "deny.tf": DENY}, author=HUMAN)
    repo.stage({"deny.tf": None})
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", CLAUDE[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", CLAUDE[1])
    code = main(["hook", "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert [(f["rule_id"], f["path"], f["start_line"], f["blocking"]) for f in findings] == [
        ("NHI302", "deny.tf", 1, True)]


DENY_COUNTED = """\
resource "aws_iam_role" "ci" {
  name               = "ci"
  assume_role_policy = "{}"
}
variable "enforce_deny" { default = true }
resource "aws_iam_role_policy_attachment" "s3" {
  role       = aws_iam_role.ci.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
}
resource "aws_iam_policy" "deny_prod" {
  name   = "deny-prod"
  policy = jsonencode({ Statement = [{ Effect = "Deny", Action = "s3:*", Resource = "*" }] })
}
resource "aws_iam_role_policy_attachment" "deny" {
  count      = var.enforce_deny ? 1 : 0
  role       = aws_iam_role.ci.name
  policy_arn = aws_iam_policy.deny_prod.arn
}
"""


@pytest.mark.parametrize(("author", "code"), [(CLAUDE, 1), (HUMAN, 0)])
def test_a_deny_switched_off_through_tfvars_is_judged_not_a_crash(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int) -> None:
    """The removal's actor is looked up among the changed files (here only the tfvars file):
    that lookup once hashed the changed files and ended the run with exit 2 for everyone."""
    repo = make_repo()
    first = repo.commit({"main.tf": DENY_COUNTED, "terraform.tfvars": "enforce_deny = true\n"},
                        author=HUMAN)
    repo.commit({"terraform.tfvars": "enforce_deny = false\n"}, author=author, trailers=TRAILER)
    got, findings = check_findings(repo, first, capsys)
    assert got == code
    assert ("NHI302", "aws_iam_role.ci", 1, "error" if author == CLAUDE else "warning",
            author == CLAUDE) in _summary(findings)


@pytest.mark.parametrize(("policy", "blocks"), [("deny_prod", False), ("admin", True)])
def test_a_dormant_attachment_switched_on_through_tfvars(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], policy: str,
        blocks: bool) -> None:
    """`count = var.x ? 1 : 0` turned on: a deny-only attachment is a narrowing (a note), an
    attachment that grants needs approval like a new one."""
    text = DENY_COUNTED.replace("enforce_deny", "on") + (
        'resource "aws_iam_policy" "admin" {\n  name   = "admin"\n  policy = jsonencode({ '
        'Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })\n}\n')
    text = text.replace("aws_iam_policy.deny_prod.arn", f"aws_iam_policy.{policy}.arn")
    repo = make_repo()
    first = repo.commit({"main.tf": text, "terraform.tfvars": "on = false\n"}, author=HUMAN)
    repo.commit({"terraform.tfvars": "on = true\n"}, author=CLAUDE, trailers=TRAILER)
    code, findings = check_findings(repo, first, capsys)
    assert code == (1 if blocks else 0)
    rules = {(f["rule_id"], f["blocking"]) for f in findings
             if f["address"] == "aws_iam_role_policy_attachment.deny"}
    assert (("NHI101", True) in rules) == blocks
    if not blocks:
        assert rules == {("NHI302", False)}


ROLE_WITH_DENIES = """\
# nhi-gate: owner=alice ticket=SEC-1 expires=2027-01-01
resource "aws_iam_role" "ci" {
  name               = "ci"
  assume_role_policy = jsonencode({
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole",
                   Principal = { Service = "ec2.amazonaws.com" } }]
  })
  managed_policy_arns = [
    "arn:aws:iam::aws:policy/AmazonS3FullAccess",
    aws_iam_policy.deny_prod.arn,
  ]
%s}
resource "aws_iam_policy" "deny_prod" {
  name   = "deny-prod"
  policy = jsonencode({
    Statement = [{ Effect = "Deny", Action = "s3:*", Resource = "arn:aws:s3:::prod-*" }]
  })
}
"""
INLINE_DENY = """\
  inline_policy {
    name   = "deny-iam"
    policy = jsonencode({ Statement = [{ Effect = "Deny", Action = "iam:*", Resource = "*" }] })
  }
"""


def test_a_dropped_deny_lists_only_what_base_allowed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The role attaches a managed policy and a policy of the change that only denies; an
    agent drops its inline Deny. "base allowed" names the managed policy, not the deny
    policy's attachment (`${aws_iam_policy.deny_prod.arn}` denies: it allows nothing)."""
    repo = make_repo()
    first = repo.commit({"main.tf": ROLE_WITH_DENIES % INLINE_DENY}, author=HUMAN)
    repo.commit({"main.tf": ROLE_WITH_DENIES % ""}, author=CLAUDE, trailers=TRAILER)
    code, findings = check_findings(repo, first, capsys)
    assert code == 1
    (drift,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert (drift["address"], drift["start_line"], drift["blocking"]) == (
        "aws_iam_role.ci", 2, True)
    assert drift["message"] == (
        "aws_iam_role.ci privileges widened: drops deny iam:* on * (base allowed: "
        "arn:aws:iam::aws:policy/AmazonS3FullAccess on *)")
