"""Who wrote it, precision (issue 12 slice; findings against issue 14's area): wrong labels
and wrong attributions a new user found on real histories, each rebuilt as real commits.

- a module call's identities in the ledger: recorded with the caller, so a commit that changes
  the called module alone neither removes them nor, with the next one, "creates" them again
  (terraform-aws-eks `module.karpenter_disabled`, named Claude-created while its block is a
  person's).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.cli import main
from tests.conftest import CLAUDE_TRAILER, HUMAN, GitRepo

CONFIG = "budgets: {parse_seconds: 600}\n"  # a busy machine never turns a file into NHI903
MODULE = """\
variable "create" {
  default = true
}

data "aws_iam_policy_document" "controller" {
  count = var.create ? 1 : 0

  statement {
    actions   = ["ec2:DescribeInstances"]
    resources = ["*"]
  }
}
"""
CALLER = """\
locals {
  name = "ex-karpenter"
}

module "karpenter_disabled" {
  source = "../../modules/karpenter"
  create = false
}
"""


def test_a_module_calls_identities_are_the_callers_in_the_ledger(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    first = repo.commit({".nhi-gate.yaml": CONFIG, "modules/karpenter/policy.tf": MODULE,
                         "examples/karpenter/main.tf": CALLER}, author=HUMAN,
                        message="Add karpenter")
    # a person changes the module alone, then an agent-assisted commit changes both
    repo.commit({"modules/karpenter/policy.tf": MODULE.replace(
        '"ec2:DescribeInstances"', '"ec2:DescribeInstances", "ec2:DescribeSubnets"')},
        author=HUMAN, message="Describe subnets")
    agent = repo.commit({
        "modules/karpenter/policy.tf": MODULE.replace(
            '"ec2:DescribeInstances"',
            '"ec2:DescribeInstances", "ec2:DescribeSubnets", "ec2:DescribeInstanceStatus"'),
        "examples/karpenter/main.tf": CALLER.replace("  create = false\n",
                                                     "  create = false\n  zonal = true\n"),
    }, author=HUMAN, message="Support v1.12", trailers=[CLAUDE_TRAILER])
    db = tmp_path / "ledger.sqlite"
    assert main(["ledger", str(repo.path), "--db", str(db), "--format", "json",
                 "--include-removed"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["address"]: r for r in data["identities"]}
    instance = "module.karpenter_disabled.data.aws_iam_policy_document.controller"
    assert sorted(rows) == ["data.aws_iam_policy_document.controller", instance]
    for address, row in rows.items():
        assert (row["created_by"]["actor_kind"], row["created_by"]["commit"]) == (
            "human", first), address
        assert row["status"] == "live"
    events = [(e["event"], e["actor_kind"], e["commit"]) for e in data["events"]
              if e["identity_id"] == rows[instance]["identity_id"]]
    # was: created (human), removed (human, the module alone), created (agent)
    assert events == [("created", "human", first), ("widened", "agent", agent)]
