"""A problem the base already had, on an identity the change narrowed, is a note, not a block
(DESIGN.md "narrowing never blocks"): an agent that only narrows an OIDC trust's `sub` is not
blocked for the missing `aud` condition that was already missing at base."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conftest import HUMAN, GitRepo

from checker.cli import main

CLAUDE = ("Claude", "noreply@anthropic.com")

ROLE = """\
# nhi-gate: owner=team-ci ticket=OPS-1 expires=2027-01-01
resource "aws_iam_role" "deploy" {
  name = "deploy"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect = "Allow"
      Principal = {
        Federated = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
      }
      Action = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringLike = {
          "token.actions.githubusercontent.com:sub" = "SUBJECT"
        }
      }
    }]
  })
}
"""


def _change(make_repo: Callable[..., GitRepo], capsys: Any, old: str, new: str
            ) -> tuple[int, list[tuple[str, str, bool]], str]:
    repo = make_repo()
    base = repo.commit({"infra/ci.tf": ROLE.replace("SUBJECT", old)}, author=HUMAN)
    repo.commit({"infra/ci.tf": ROLE.replace("SUBJECT", new)}, author=CLAUDE)
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json"])
    out = capsys.readouterr().out
    report = json.loads(out)
    return code, sorted((f["rule_id"], f["level"], f["blocking"]) for f in report["findings"]
                        if f["rule_id"] != "NHI103"), out  # NHI103: no requester, a warning


def test_narrowing_an_oidc_subject_does_not_block_on_the_audience_base_lacked(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found, out = _change(make_repo, capsys, "repo:org/*",
                               "repo:org/app:ref:refs/heads/main")
    assert code == 0, found
    assert ("NHI302", "note", False) in found
    assert ("NHI318", "note", False) in found  # still reported, as a note
    assert not [f for f in found if f[2]]
    assert "already so at base; this change only narrowed aws_iam_role.deploy" in out


def test_widening_an_oidc_subject_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found, _ = _change(make_repo, capsys, "repo:org/app:ref:refs/heads/main",
                             "repo:org/*")
    assert code == 1
    assert ("NHI302", "error", True) in found and ("NHI101", "error", True) in found


def test_narrowing_the_subject_while_dropping_the_audience_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    with_aud = ('"SUBJECT"\n        }\n        StringEquals = {\n'
                '          "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"')
    repo = make_repo()
    base = repo.commit({"infra/ci.tf": ROLE.replace('"SUBJECT"', with_aud).replace(
        "SUBJECT", "repo:org/*")}, author=HUMAN)
    repo.commit({"infra/ci.tf": ROLE.replace("SUBJECT", "repo:org/app:ref:refs/heads/main")},
                author=CLAUDE)
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json"])
    found = {(f["rule_id"], f["level"], f["blocking"])
             for f in json.loads(capsys.readouterr().out)["findings"]}
    assert code == 1
    assert {("NHI318", "error", True), ("NHI101", "error", True)} <= found
