"""AWS roles reached through another block (attacker pass, session 10, fixA): an EC2 instance
profile switched to an administrator role is a widening (NHI302: blocking for an agent, a
warning for a person, as for a Lambda's or ECS task's role), and a customer-managed policy
widened while its attachment is in an unchanged file of the module names the role it is
attached to. Real git repos in temp dirs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo, check_findings
from test_ci_job_credentials import CLAUDE, _check
from test_tf_moved_module import ATTACHED, POLICY, ROLE

ADMIN = """\
# nhi-gate: owner=team-app ticket=OPS-1 expires=2027-01-01
resource "aws_iam_role" "admin" {
  name = "admin"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole",
                   Principal = { Service = "ec2.amazonaws.com" } }]
  })
}

resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.admin.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
"""

PROFILE = """\
# nhi-gate: owner=team-app ticket=OPS-1 expires=2027-01-01
resource "aws_iam_instance_profile" "web" {
  name = "web"
  role = aws_iam_role.%s.name
}

resource "aws_instance" "web" {
  ami                  = "ami-123"
  instance_type        = "t3.micro"
  iam_instance_profile = aws_iam_instance_profile.web.name
}
"""


@pytest.mark.parametrize("author", [CLAUDE, HUMAN])
def test_an_instance_profile_switched_to_an_admin_role_is_a_widening(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str]) -> None:
    iam = ROLE % "app" + "\n" + ADMIN + "\n"
    code, findings = _check(make_repo, capsys, {"main.tf": iam + PROFILE % "app"},
                            {"main.tf": iam + PROFILE % "admin"}, author=author)
    (nhi302,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert (nhi302["path"], nhi302["start_line"], nhi302["address"]) == (
        "main.tf", 29, "aws_iam_instance_profile.web")
    assert nhi302["message"] == (
        "aws_iam_instance_profile.web now hands out aws_iam_role.admin (was aws_iam_role.app), "
        "which may do more: admin: arn:aws:iam::aws:policy/AdministratorAccess (AWS managed "
        "policy granting every action on every resource); arn:aws:iam::aws:policy/"
        "AdministratorAccess on *: aws_instance.web (main.tf:35) runs as it")
    assert (code, nhi302["blocking"], nhi302["level"]) == (
        (1, True, "error") if author == CLAUDE else (0, False, "warning"))


def test_an_instance_profile_switched_to_a_role_in_an_unchanged_file_is_not_checked(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Fail closed, as for a Lambda's role: the unchanged file is not read."""
    code, findings = _check(make_repo, capsys,
                            {"iam.tf": ROLE % "app" + "\n" + ADMIN, "ec2.tf": PROFILE % "app"},
                            {"ec2.tf": PROFILE % "admin"}, author=HUMAN)
    (nhi302,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert (code, nhi302["path"], nhi302["start_line"], nhi302["blocking"]) == (
        0, "ec2.tf", 4, False)
    assert ("nhi-gate could not check what aws_iam_role.admin may do: the role is not defined "
            "in the change" in nhi302["message"])


def test_an_instance_profile_switched_to_a_narrower_role_is_no_widening(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    iam = ROLE % "app" + "\n" + ADMIN + "\n"
    code, findings = _check(make_repo, capsys, {"main.tf": iam + PROFILE % "admin"},
                            {"main.tf": iam + PROFILE % "app"}, author=HUMAN)
    assert (code, [f for f in findings if f["rule_id"] == "NHI302"]) == (0, [])


def test_a_policy_widened_names_the_role_an_unchanged_file_attaches_it_to(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    repo.commit({"policy.tf": POLICY % ("app", "s3:GetObject", "arn:aws:s3:::app/*"),
                 "iam.tf": ROLE % "app" + "\n" + ATTACHED}, author=HUMAN)
    repo.checkout("claude/widen", create=True)
    repo.commit({"policy.tf": POLICY % ("app", "s3:*", "*")}, author=CLAUDE,
                message="widen", trailers=[("Requested-by", "Alice <alice@corp.example>")])
    code, findings = check_findings(repo, "main", capsys)
    assert code == 1
    (nhi302,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert (nhi302["path"], nhi302["start_line"], nhi302["blocking"]) == ("policy.tf", 6, True)
    assert "gains s3:* on *" in nhi302["message"]
    assert ("attached to aws_iam_role.app by aws_iam_role_policy_attachment.app (iam.tf:11)"
            in nhi302["message"])
