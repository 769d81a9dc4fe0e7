"""Issue 12, the attacker's second round of Terraform bypasses and false blocks: a command or a
remote module argument changed through its inputs, documents read through `fileset()` or a
decoded file, a grant turned off by `count`, and functions the evaluator computes that NHI106
called unknown. Real git repositories in temp dirs, `check` through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

CLAUDE = ("Claude", "noreply@anthropic.com")


def _run(make_repo: Callable[..., GitRepo], base: dict[str, str], head: dict[str, str],
         author: tuple[str, str], capsys: Any) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author)
    return check_findings(repo, sha, capsys)


def _rules(findings: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    return sorted((f["rule_id"], f["level"], f["blocking"]) for f in findings)


#: function -> an action list that computes to `iam:*` with it.
COMPUTED = {
    "concat": 'concat(["s3:GetObject"], ["iam:*"])',
    "flatten": 'flatten([["s3:GetObject"], ["iam:*"]])',
    "distinct": 'distinct(["s3:GetObject", "iam:*", "iam:*"])',
}
DOCUMENT = """\
data "aws_iam_policy_document" "d" {
  statement {
    actions   = %s
    resources = ["*"]
  }
}
"""
INLINE = """\
resource "aws_iam_role_policy" "ci" {
  name = "ci"
  role = "ci"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = %s, Resource = ["*"] }]
  })
}
"""


@pytest.mark.parametrize("template", [DOCUMENT, INLINE], ids=["document", "jsonencode"])
@pytest.mark.parametrize("function", sorted(COMPUTED))
def test_a_computed_function_is_not_an_unknown_function(
        function: str, template: str, make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base = {"main.tf": template % '["s3:GetObject"]'}
    head = {"main.tf": template % COMPUTED[function]}
    code, findings = _run(make_repo, base, head, CLAUDE, capsys)
    assert code == 1
    assert [f["message"] for f in findings if f["rule_id"] == "NHI106"] == []
    assert ("NHI302", "error", True) in _rules(findings)  # iam:* gained, computed
    gained = next(f["message"] for f in findings if f["rule_id"] == "NHI302")
    assert "iam:*" in gained
