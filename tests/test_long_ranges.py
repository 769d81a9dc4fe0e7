"""Attribution that does not depend on the range's length, and module calls that switch an
identity off (issue 12 slice, terraform-aws-eks).

- A person's unresolved value (`distinct([...])`, 0b0ca66) in a policy an agent-assisted commit
  (3bc989b) later extended is the person's NHI106 note whether the range starts after the
  policy was created (HEAD~100) or before (HEAD~1000: the policy is created in the range);
- `module "karpenter_disabled" { create = false }`: the identities the module creates only when
  `create` is true are not created by that call, so the agent's change to the module is judged
  on the module's own identities, never again as `module.karpenter_disabled.*` (it was a
  blocking NHI302/NHI101/NHI106 on a copy Terraform never creates).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import CLAUDE_TRAILER, HUMAN, GitRepo, check_findings

PASSROLE = """\
locals {
  ec2_sp_name = "ec2.amazonaws.com"
}

data "aws_iam_policy_document" "controller" {
  statement {
    sid       = "AllowPassingInstanceRole"
    resources = ["arn:aws:iam::111122223333:role/node"]
    actions   = ["iam:PassRole"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }
}
"""
PERSONS = PASSROLE.replace('values   = ["ec2.amazonaws.com"]',
                           'values   = reverse([local.ec2_sp_name, "ec2.amazonaws.com"])')
ZONAL = """\
  statement {
    sid       = "AllowZonalShiftReadActions"
    resources = ["*"]
    actions   = ["arc-zonal-shift:GetManagedResource"]
  }
}
"""
OTHER = "Fred Myerscough", "fred@example.com"


@pytest.mark.parametrize("start", ["before-creation", "after-creation"])
def test_a_persons_unresolved_line_stays_theirs_over_a_long_range(
        start: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    first = repo.commit({"README.md": "eks\n"})
    created = repo.commit({"karpenter/policy.tf": PASSROLE}, author=HUMAN,
                          message="Karpenter v1 controller policy")
    repo.checkout("side", create=True)  # a merged side branch, as in the real history
    repo.commit({"karpenter/README.md": "karpenter\n"}, author=OTHER, message="docs")
    repo.checkout("main")
    repo.merge("side")
    person = repo.commit({"karpenter/policy.tf": PERSONS}, author=OTHER,
                         message="Use the service principal local")
    agent = repo.commit({"karpenter/policy.tf": PERSONS.removesuffix("}\n") + ZONAL},
                        author=HUMAN, message="Support Karpenter v1.12",
                        trailers=[CLAUDE_TRAILER])
    code, findings = check_findings(repo, first if start == "before-creation" else created,
                                    capsys)
    nhi106 = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["actor_kind"], f["commit"], f["level"], f["blocking"], f["start_line"])
            for f in nhi106] == [("human", person, "note", False, 14)]
    # was, from before creation: agent, the Claude commit, error, blocking
    nhi101 = [f for f in findings if f["rule_id"] == "NHI101"]
    assert [(f["commit"], f["blocking"]) for f in nhi101] == [(agent, True)]
    assert code == 1


MODULE = """\
variable "create" {
  type    = bool
  default = true
}

variable "create_iam_role" {
  type    = bool
  default = true
}

variable "region" {
  type    = string
  default = "us-east-1"
}

locals {
  create_iam_role = var.create && var.create_iam_role
}

data "aws_iam_policy_document" "controller" {
  count = local.create_iam_role ? 1 : 0

  statement {
    actions   = ["ec2:DescribeInstances"]
    resources = ["arn:aws:ec2:${var.region}::image/*"]
  }
}

resource "aws_iam_policy" "controller" {
  count  = local.create_iam_role ? 1 : 0
  name   = "karpenter-controller"
  policy = data.aws_iam_policy_document.controller[0].json
}
"""
CALLER = """\
module "karpenter" {
  source = "../../modules/karpenter"
}

module "karpenter_disabled" {
  source = "../../modules/karpenter"
  create = false
  region = "eu-west-1"
}
"""


def test_a_module_call_that_switches_identities_off_creates_none(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"modules/karpenter/policy.tf": MODULE,
                        "examples/karpenter/main.tf": CALLER}, author=HUMAN)
    repo.commit({"modules/karpenter/policy.tf": MODULE.replace(
        '"ec2:DescribeInstances"', '"ec2:DescribeInstances", "ec2:RunInstances"'),
        # the caller's file changes too (the real commit edited a Helm release in it)
        "examples/karpenter/main.tf": CALLER + '\nlocals {\n  zonal = true\n}\n'},
        author=HUMAN, message="Karpenter v1.12", trailers=[CLAUDE_TRAILER])
    code, findings = check_findings(repo, base, capsys)
    addresses = {(f["rule_id"], f["address"]) for f in findings if f["blocking"]}
    assert not [a for _, a in addresses if a.startswith("module.karpenter_disabled.")], addresses
    # the module's own identities are still judged (a call with the defaults is that copy)
    assert ("NHI302", "data.aws_iam_policy_document.controller") in addresses
    assert code == 1
