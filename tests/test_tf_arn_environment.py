"""The run's partition, region and account id inside an ARN (session 12, fixTF): written
literally or as `data.aws_partition`, `data.aws_region`, `data.aws_caller_identity`, an ARN says
the same, so an agent swapping one for the other gets no finding (README "What fails closed":
they are not unknown). Another account id, or a real widening beside the swap, is still judged.
Real git repos: a human base, then the agent's (or a person's) commit."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.cli import main

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
ROLE = """\
resource "aws_iam_role" "app" {
  name = "app"
  assume_role_policy = jsonencode({Version="2012-10-17",Statement=[{Effect="Allow",\
Action="sts:AssumeRole",Principal={Service="lambda.amazonaws.com"}}]})
  tags = { owner = "team-a", ticket = "OPS-1", expires = "2027-01-01" }
}
"""
DATA = """\
data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
"""
PARTITION = "${data.aws_partition.current.partition}"
REGION = "${data.aws_region.current.name}"
ACCOUNT = "${data.aws_caller_identity.current.account_id}"


def _attachment(partition: str) -> str:
    return ROLE + f"""\
resource "aws_iam_role_policy_attachment" "p" {{
  role       = aws_iam_role.app.name
  policy_arn = "arn:{partition}:iam::aws:policy/ReadOnlyAccess"
}}
"""


def _policy(partition: str, region: str, account: str, actions: str = '"ssm:GetParameter"'
            ) -> str:
    return ROLE + f"""\
resource "aws_iam_role_policy" "p" {{
  role   = aws_iam_role.app.id
  policy = jsonencode({{Version="2012-10-17",Statement=[{{Effect="Allow",Action=[{actions}],\
Resource="arn:{partition}:ssm:{region}:{account}:parameter/app/*"}}]}})
}}
"""


def _run(make_repo: Callable[..., GitRepo], capsys: Any, base: str, head: str,
         author: Identity = CLAUDE) -> tuple[int, list[tuple[str, int, bool, str]]]:
    repo = make_repo()
    sha = repo.commit({"main.tf": base}, author=HUMAN)
    repo.commit({"main.tf": head}, author=author)
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    return code, [(f["rule_id"], f["start_line"], f["blocking"], f["message"])
                  for f in json.loads(capsys.readouterr().out)["findings"]]


SAME = [
    pytest.param(_attachment("aws"), DATA + _attachment(PARTITION), id="partition-attachment"),
    pytest.param(_policy("aws", "us-east-1", "111122223333"),
                 DATA + _policy("aws", "us-east-1", ACCOUNT), id="account"),
    pytest.param(_policy("aws", "us-east-1", "111122223333"),
                 DATA + _policy(PARTITION, REGION, ACCOUNT), id="all-three"),
    pytest.param(DATA + _policy(PARTITION, "us-east-1", ACCOUNT),
                 _policy("aws", "us-east-1", "111122223333"), id="back-to-literals"),
]


@pytest.mark.parametrize(("base", "head"), SAME)
@pytest.mark.parametrize("author", [CLAUDE, HUMAN], ids=["agent", "human"])
def test_the_same_arn_with_its_environment_data_sources_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: Any, base: str, head: str,
        author: Identity) -> None:
    assert _run(make_repo, capsys, base, head, author) == (0, [])


def test_another_account_id_is_still_a_change(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, _policy("aws", "us-east-1", "111122223333"),
                       _policy("aws", "us-east-1", "444455556666"))
    assert code == 1
    assert {(r, line) for r, line, b, _ in found if b} == {("NHI101", 8), ("NHI302", 8)}
    widened = next(m for r, _, _, m in found if r == "NHI302")
    assert "gains ssm:GetParameter on arn:aws:ssm:us-east-1:444455556666:parameter/app/*" in (
        widened)


def test_a_widening_beside_the_swap_names_only_the_gain(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, _policy("aws", "us-east-1", "111122223333"),
                       DATA + _policy("aws", "us-east-1", ACCOUNT,
                                      '"ssm:GetParameter","ssm:PutParameter"'))
    assert code == 1
    widened = next((line, b, m) for r, line, b, m in found if r == "NHI302")
    assert widened[:2] == (11, True)
    assert (f"gains ssm:PutParameter on arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/app/* "
            "(1 action, up to Write)") in widened[2]
    assert "not known before apply" not in widened[2]
    assert "GetParameter on" not in widened[2].split("(base allowed")[0]
