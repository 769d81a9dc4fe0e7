"""Soundness of the change classification (issue 12): a narrowing is only what is proven
narrower. Each case is a real git repo with a human base; the head is committed by an agent
(blocks, or a narrowing note with exit 0) and, for the widenings, by a human (does not block)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.cli import main

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
REQUESTED = [("Requested-by", "Alice Example <alice@example.com>")]
META = "# nhi-gate: owner=team-ci ticket=OPS-1 expires=2027-01-01\n"

Found = list[tuple[str, int, str, bool, str]]


def _run(make_repo: Callable[..., GitRepo], capsys: Any, base: str, head: str,
         author: Identity = CLAUDE) -> tuple[int, Found]:
    repo = make_repo()
    sha = repo.commit({"main.tf": base}, author=HUMAN)
    repo.commit({"main.tf": head}, author=author,
                trailers=REQUESTED if author == CLAUDE else None)
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["start_line"], f["level"], f["blocking"], f["message"])
                  for f in report["findings"]]


def _blocking(found: Found) -> list[str]:
    return sorted({r for r, _, _, blocking, _ in found if blocking})


def _nhi302(found: Found) -> list[str]:
    return [m for r, _, _, _, m in found if r == "NHI302"]


# --------------------------------------------------------------------------- 1: trust operators

TRUST = META + """\
resource "aws_iam_role" "ci" {
  name = "ci"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = "PROVIDER" }
      Condition = {
        StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
        StringLike   = { "token.actions.githubusercontent.com:sub" = "SUBJECT" }
      }
    }]
  })
}
""".replace(
    "PROVIDER", "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
).replace("SUBJECT", "repo:org/app:ref:refs/heads/main")
SUB = "token.actions.githubusercontent.com:sub"


@pytest.mark.parametrize(("operator", "line"), [("StringNotLike", 12),
                                                ("StringLikeIfExists", 12)])
def test_trust_subject_operator_change_is_a_widening(
        make_repo: Callable[..., GitRepo], capsys: Any, operator: str, line: int) -> None:
    head = TRUST.replace("StringLike   =", f"{operator} =")
    code, found = _run(make_repo, capsys, TRUST, head)
    assert code == 1
    assert _blocking(found) == ["NHI101", "NHI302"]
    assert (f"condition StringLike:{SUB} changed to {operator}:{SUB}") in _nhi302(found)[0]
    assert [ln for r, ln, *_ in found if r == "NHI302"] == [line]
    code, found = _run(make_repo, capsys, TRUST, head, author=HUMAN)
    assert code == 0 and not _blocking(found)


ROLE_A = '{ AWS = "arn:aws:iam::111111111111:role/a" }'
PRINCIPAL = TRUST.replace(
    '{ Federated = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" }',
    ROLE_A).replace(
    '      Condition = {\n        StringEquals = { "token.actions.githubusercontent.com:aud" = '
    '"sts.amazonaws.com" }\n        StringLike   = { "token.actions.githubusercontent.com:sub"'
    ' = "repo:org/app:ref:refs/heads/main" }\n      }\n', "")


def test_not_principal_is_a_widening(make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = PRINCIPAL.replace(f"Principal = {ROLE_A}", f"NotPrincipal = {ROLE_A}")
    assert head != PRINCIPAL
    code, found = _run(make_repo, capsys, PRINCIPAL, head)
    assert code == 1
    assert _blocking(found) == ["NHI101", "NHI302"]
    assert ("every principal but AWS:arn:aws:iam::111111111111:role/a can now assume it "
            "(NotPrincipal)") in _nhi302(found)[0]


DOCUMENT = META + """\
resource "aws_iam_role" "ci" {
  name               = "ci"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"]
    }
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:org/app:ref:refs/heads/main"]
    }
  }
}
"""


def test_document_subject_operator_change_widens_the_role_too(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = DOCUMENT.replace('"StringLike"', '"StringNotLike"')
    code, found = _run(make_repo, capsys, DOCUMENT, head)
    assert code == 1
    by_address = {(r, m.split(" ", 1)[0]) for r, _, _, blocking, m in found if blocking}
    assert ("NHI302", "aws_iam_role.ci") in by_address
    assert ("NHI302", "data.aws_iam_policy_document.trust") in by_address
    assert not any(m for m in _nhi302(found) if "narrowed" in m)
