"""Terraform `moved` blocks read across the module (attacker pass, session 10, fixA): a `moved`
block may live in any file of the module (`moved.tf`, or a `.tf.json` file), a block that
names the renamed address follows it (`role = aws_iam_role.app_v2.id`), and a Deny renamed
with a `moved` block is the same Deny. A rename that says the same is no change; a rename that
also widens, one that hides a deleted Deny, or a `moved` block onto an address base already had
(Terraform does not move onto an existing object) is still judged. Real git repos in temp
dirs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo
from test_ci_job_credentials import CLAUDE, _check

ROLE = """\
# nhi-gate: owner=team-app ticket=OPS-1 expires=2027-01-01
resource "aws_iam_role" "%s" {
  name = "app"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole",
                   Principal = { Service = "ec2.amazonaws.com" } }]
  })
}
"""

MOVED_HCL = """\
moved {
  from = %s
  to   = %s
}
"""


def _moved_json(old: str, new: str) -> str:
    return json.dumps({"moved": [{"from": old, "to": new}]}, indent=2) + "\n"


def _role_json(name: str) -> str:
    return json.dumps({"resource": {"aws_iam_role": {name: {
        "name": "app",
        "assume_role_policy": json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"Service": "ec2.amazonaws.com"}}]}),
        "tags": {"owner": "team-app", "ticket": "OPS-1", "expires": "2027-01-01"}}}}},
        indent=2) + "\n"


def _summary(findings: list[dict[str, Any]]) -> set[tuple[str, str, int, bool]]:
    return {(f["rule_id"], f["path"], f["start_line"], f["blocking"]) for f in findings}


@pytest.mark.parametrize(("base", "head"), [
    ({"main.tf": ROLE % "app"},
     {"main.tf": ROLE % "app_v2", "moved.tf": MOVED_HCL % ("aws_iam_role.app",
                                                           "aws_iam_role.app_v2")}),
    ({"main.tf": ROLE % "app"},
     {"main.tf": ROLE % "app_v2", "moved.tf.json": _moved_json("aws_iam_role.app",
                                                                "aws_iam_role.app_v2")}),
    ({"main.tf.json": _role_json("app")},
     {"main.tf.json": _role_json("app_v2"), "moved.tf.json": _moved_json(
         "aws_iam_role.app", "aws_iam_role.app_v2")}),
    ({"main.tf.json": _role_json("app")},
     {"main.tf.json": _role_json("app_v2"), "moved.tf": MOVED_HCL % ("aws_iam_role.app",
                                                                    "aws_iam_role.app_v2")}),
], ids=["hcl-moved.tf", "hcl-moved.tf.json", "json-moved.tf.json", "json-moved.tf"])
@pytest.mark.parametrize("author", [CLAUDE, HUMAN])
def test_a_moved_block_in_another_file_of_the_module_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        base: dict[str, str], head: dict[str, str], author: tuple[str, str]) -> None:
    code, findings = _check(make_repo, capsys, base, head, author=author)
    assert (code, _summary(findings)) == (0, set())


def test_a_moved_block_in_the_same_json_file_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = json.loads(_role_json("app_v2"))
    head["moved"] = [{"from": "aws_iam_role.app", "to": "aws_iam_role.app_v2"}]
    code, findings = _check(make_repo, capsys, {"main.tf.json": _role_json("app")},
                            {"main.tf.json": json.dumps(head, indent=2) + "\n"})
    assert (code, _summary(findings)) == (0, set())


POLICY = """\
# nhi-gate: owner=team-app ticket=OPS-1 expires=2027-01-01
resource "aws_iam_policy" "%s" {
  name = "app"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "%s", Resource = "%s" }]
  })
}
"""


def test_a_rename_in_another_file_that_widens_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = {"main.tf": POLICY % ("app_v2", "s3:*", "*"),
            "moved.tf": MOVED_HCL % ("aws_iam_policy.app", "aws_iam_policy.app_v2")}
    code, findings = _check(make_repo, capsys,
                            {"main.tf": POLICY % ("app", "s3:GetObject", "arn:aws:s3:::app/*")},
                            head)
    assert code == 1
    by_rule = {f["rule_id"]: f for f in findings}
    assert "was changed (moved from aws_iam_policy.app" in by_rule["NHI101"]["message"]
    assert by_rule["NHI302"]["blocking"]
    assert "gains s3:* on *" in by_rule["NHI302"]["message"]


INLINE_DENY = """\
resource "aws_iam_role_policy" "%s" {
  name = "deny-prod"
  role = aws_iam_role.%s.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Deny", Action = "s3:*", Resource = "arn:aws:s3:::prod-*" }]
  })
}
"""

DENY_POLICY = """\
# nhi-gate: owner=team-app ticket=OPS-1 expires=2027-01-01
resource "aws_iam_policy" "%s" {
  name = "deny-prod"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Deny", Action = "s3:*", Resource = "arn:aws:s3:::prod-*" }]
  })
}

resource "aws_iam_role_policy_attachment" "%s" {
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.%s.arn
}
"""


@pytest.mark.parametrize(("base", "head"), [
    # the inline Deny renamed, its `moved` block in moved.tf
    ({"main.tf": ROLE % "app" + "\n" + INLINE_DENY % ("deny", "app")},
     {"main.tf": ROLE % "app" + "\n" + INLINE_DENY % ("deny_v2", "app"),
      "moved.tf": MOVED_HCL % ("aws_iam_role_policy.deny", "aws_iam_role_policy.deny_v2")}),
    # the denying policy renamed, its attachment names the new address
    ({"main.tf": ROLE % "app" + "\n" + DENY_POLICY % ("deny", "deny", "deny")},
     {"main.tf": ROLE % "app" + "\n" + DENY_POLICY % ("deny_v2", "deny", "deny_v2"),
      "moved.tf": MOVED_HCL % ("aws_iam_policy.deny", "aws_iam_policy.deny_v2")}),
    # the policy and its attachment renamed
    ({"main.tf": ROLE % "app" + "\n" + DENY_POLICY % ("deny", "deny", "deny")},
     {"main.tf": ROLE % "app" + "\n" + DENY_POLICY % ("deny_v2", "deny_v2", "deny_v2")
      + MOVED_HCL % ("aws_iam_policy.deny", "aws_iam_policy.deny_v2")
      + MOVED_HCL % ("aws_iam_role_policy_attachment.deny",
                     "aws_iam_role_policy_attachment.deny_v2")}),
    # the role renamed, the inline Deny names the new address
    ({"main.tf": ROLE % "app" + "\n" + INLINE_DENY % ("deny", "app")},
     {"main.tf": ROLE % "app_v2" + "\n" + INLINE_DENY % ("deny", "app_v2")
      + MOVED_HCL % ("aws_iam_role.app", "aws_iam_role.app_v2")}),
], ids=["inline-deny", "deny-policy", "policy-and-attachment", "role"])
@pytest.mark.parametrize("author", [CLAUDE, HUMAN])
def test_a_deny_renamed_with_a_moved_block_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        base: dict[str, str], head: dict[str, str], author: tuple[str, str]) -> None:
    code, findings = _check(make_repo, capsys, base, head, author=author)
    assert (code, _summary(findings)) == (0, set())


@pytest.mark.parametrize("author", [CLAUDE, HUMAN])
def test_a_role_renamed_while_its_deny_is_deleted_widens_it(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str]) -> None:
    """The role moved, so it is still there: the Deny deleted with the rename widens it."""
    code, findings = _check(
        make_repo, capsys, {"main.tf": ROLE % "app" + "\n" + INLINE_DENY % ("deny", "app")},
        {"main.tf": ROLE % "app_v2" + MOVED_HCL % ("aws_iam_role.app", "aws_iam_role.app_v2")},
        author=author)
    (nhi302,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert (nhi302["path"], nhi302["start_line"], nhi302["address"]) == (
        "main.tf", 2, "aws_iam_role.app_v2")
    assert ("no longer denied s3:* on arn:aws:s3:::prod-* (aws_iam_role_policy.deny removed)"
            in nhi302["message"])
    assert (code, nhi302["blocking"], nhi302["level"]) == (
        (1, True, "error") if author == CLAUDE else (0, False, "warning"))


ATTACHED = """\
resource "aws_iam_role_policy_attachment" "app" {
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.app.arn
}
"""


def test_a_moved_block_to_an_address_base_had_is_no_rename(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Terraform does not move onto an existing object: the attachment now attaches the other
    policy, which is judged (not read as the old one under a new name)."""
    readonly = POLICY % ("readonly", "s3:GetObject", "arn:aws:s3:::app/*")
    admin = POLICY % ("admin", "*", "*")
    attach = ATTACHED.replace("aws_iam_policy.app", "aws_iam_policy.%s")
    code, findings = _check(
        make_repo, capsys,
        {"main.tf": ROLE % "app" + "\n" + readonly + "\n" + admin + "\n" + attach % "readonly"},
        {"main.tf": ROLE % "app" + "\n" + admin + "\n" + attach % "admin"
         + MOVED_HCL % ("aws_iam_policy.readonly", "aws_iam_policy.admin")})
    assert code == 1
    nhi302 = [f for f in findings if f["rule_id"] == "NHI302"
              and f["address"] == "aws_iam_role_policy_attachment.app"]
    assert nhi302 and all(f["blocking"] for f in nhi302)
    assert any("gains ${aws_iam_policy.admin.arn}" in f["message"] for f in nhi302)


def test_a_moved_block_base_already_had_is_not_this_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A `moved` block kept from an earlier refactor (Terraform's advice) moves nothing now:
    the change of the policy is "changed", not "moved from"."""
    moved = {"moved.tf": MOVED_HCL % ("aws_iam_policy.old", "aws_iam_policy.app")}
    code, findings = _check(
        make_repo, capsys,
        {"main.tf": POLICY % ("app", "s3:GetObject", "arn:aws:s3:::app/*"), **moved},
        {"main.tf": POLICY % ("app", "s3:*", "*")})
    assert code == 1
    (nhi101,) = [f for f in findings if f["rule_id"] == "NHI101"]
    assert "aws_iam_policy.app (aws policy) was changed by agent" in nhi101["message"]


def test_a_block_naming_an_address_an_old_moved_block_renamed_compares_as_before(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Base and head both read the attachment through the kept `moved` block: its metadata
    alone changing is still a metadata-only note, not a change to approve."""
    moved = {"moved.tf": MOVED_HCL % ("aws_iam_policy.old", "aws_iam_policy.app")}
    policy = POLICY % ("app", "s3:GetObject", "arn:aws:s3:::app/*")
    attach = "# nhi-gate: owner=team-app ticket=OPS-%d expires=2027-01-01\n" + ATTACHED
    code, findings = _check(
        make_repo, capsys, {"main.tf": ROLE % "app" + "\n" + policy + "\n" + attach % 1,
                            **moved},
        {"main.tf": ROLE % "app" + "\n" + policy + "\n" + attach % 2})
    assert (code, [(f["rule_id"], f["level"], f["address"]) for f in findings]) == (
        0, [("NHI302", "note", "aws_iam_role_policy_attachment.app")])
    assert "only its metadata changed (ticket)" in findings[0]["message"]


def test_a_renamed_block_that_is_no_identity_is_not_confirmed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A bucket renamed with a `moved` block: nhi-gate does not read buckets, so it cannot
    confirm Terraform makes the move; the policy naming the new address is judged."""
    bucket = 'resource "aws_s3_bucket" "%s" {\n  bucket = "data"\n}\n'
    policy = POLICY % ("app", "s3:GetObject", "${aws_s3_bucket.%s.arn}/*")
    code, findings = _check(
        make_repo, capsys, {"main.tf": bucket % "a" + "\n" + policy % "a"},
        {"main.tf": bucket % "b" + "\n" + policy % "b"
         + MOVED_HCL % ("aws_s3_bucket.a", "aws_s3_bucket.b")})
    assert code == 1
    assert {f["rule_id"] for f in findings if f["blocking"]} >= {"NHI101", "NHI302"}


# --------------------------------------------------------------------------- into a local module
#: Session 12 (fixTF): a role moved unchanged into `./modules/iam` with `moved { from =
#: aws_iam_role.app  to = module.iam.aws_iam_role.app }` is the same role (Terraform moves it
#: in its state: https://developer.hashicorp.com/terraform/language/modules/develop/refactoring).
CALL_ONE_LINE = 'module "iam" { source = "./modules/iam" }\n'
CALL = 'module "iam" {\n  source = "./modules/iam"\n}\n'
INTO = MOVED_HCL % ("aws_iam_role.app", "module.iam.aws_iam_role.app")


@pytest.mark.parametrize("call", [CALL, CALL_ONE_LINE], ids=["call", "one-line-call"])
@pytest.mark.parametrize("author", [CLAUDE, HUMAN])
def test_a_role_moved_unchanged_into_a_local_module_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        call: str, author: tuple[str, str]) -> None:
    code, findings = _check(make_repo, capsys, {"main.tf": ROLE % "app"},
                            {"main.tf": call + INTO, "modules/iam/main.tf": ROLE % "app"},
                            author=author)
    assert (code, _summary(findings)) == (0, set())


def test_a_role_moved_into_a_local_module_and_widened_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    wider = (ROLE % "app").replace('Principal = { Service = "ec2.amazonaws.com" }',
                                   'Principal = { AWS = "*" }')
    code, findings = _check(make_repo, capsys, {"main.tf": ROLE % "app"},
                            {"main.tf": CALL + INTO, "modules/iam/main.tf": wider})
    assert code == 1
    assert ("NHI302", "modules/iam/main.tf", 7, True) in _summary(findings)
    widened = next(f["message"] for f in findings if f["rule_id"] == "NHI302")
    assert widened.startswith("module.iam.aws_iam_role.app trusts more principals")


def test_a_role_copied_into_a_local_module_without_a_moved_block_is_created(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _check(make_repo, capsys, {"main.tf": ROLE % "app"},
                            {"main.tf": CALL, "modules/iam/main.tf": ROLE % "app"})
    assert code == 1
    assert ("NHI101", "modules/iam/main.tf", 2, True) in _summary(findings)
