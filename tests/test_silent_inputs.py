"""Issue 12, the new-user and attacker passes of session 8: inputs of an identity that were
read silently (a grant's resource a variable no one sets, a decoded or templated file, a
`fileset()` over a variable's directory, a script a command runs) must never pass an agent's
change without a finding. Real git repositories in temp dirs, `check` through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

CLAUDE = ("Claude", "noreply@anthropic.com")


def _run(make_repo: Callable[..., GitRepo], base: dict[str, str | None],
         head: dict[str, str | None], author: tuple[str, str], capsys: Any
         ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author)
    return check_findings(repo, sha, capsys)


def _found(findings: list[dict[str, Any]], rule: str) -> list[tuple[str, int, str, bool]]:
    return [(f["address"], f["start_line"], f["level"], f["blocking"]) for f in findings
            if f["rule_id"] == rule]


RESOURCE_VAR = """\
variable "arn" {
  type = string
}
resource "aws_iam_role_policy" "ci" {
  name   = "ci"
  role   = "ci"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["s3:GetObject"], Resource = %s }]
  })
}
"""


@pytest.mark.parametrize("author, level, blocking", [(CLAUDE, "error", True),
                                                     (HUMAN, "error", False)])
def test_a_resource_changed_to_a_variable_no_one_sets_is_named(
        author: tuple[str, str], level: str, blocking: bool,
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base = {"main.tf": RESOURCE_VAR % '"arn:aws:s3:::b/*"'}
    head = {"main.tf": RESOURCE_VAR % "var.arn"}
    code, findings = _run(make_repo, base, head, author, capsys)
    assert code == (1 if blocking else 0)
    assert _found(findings, "NHI302") == [("aws_iam_role_policy.ci", 9, level, blocking)]
    message = next(f["message"] for f in findings if f["rule_id"] == "NHI302")
    assert "gains s3:GetObject on ${var.arn} (var.arn not known before apply" in message


def test_a_wildcard_resource_changed_to_a_variable_is_still_a_narrowing(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base = {"main.tf": RESOURCE_VAR % '"*"'}
    head = {"main.tf": RESOURCE_VAR % "var.arn"}
    code, findings = _run(make_repo, base, head, CLAUDE, capsys)
    assert code == 0
    assert [(f["rule_id"], f["level"]) for f in findings] == [("NHI302", "note")]
