"""Local module calls followed more than one level (slice fixT of session 11): root ->
`modules/app` -> `modules/role`, and an agent that widens the actions in the root call is
blocked (NHI302 on the nested module's policy, reached through the root's argument line); a
person's same change exits 0; a chain deeper than nhi-gate follows is NHI106 naming the call it
did not follow (fail closed). Real git repositories in temp dirs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo, check_findings

from checker.parsers.common import MAX_MODULE_DEPTH as MAX_DEPTH

AGENT = ("Claude", "noreply@anthropic.com")

ROLE = """\
variable "name" {}
variable "actions" { type = list(string) }
resource "aws_iam_role" "this" {
  name               = var.name
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [{
    Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "lambda.amazonaws.com" }
  }] })
  tags               = { owner = "team-a", ticket = "OPS-1", expires = "2027-01-01" }
}
resource "aws_iam_role_policy" "this" {
  role   = aws_iam_role.this.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = var.actions, Resource = "*" }]
  })
}
"""


def _link(inner: str) -> str:
    return f"""\
variable "actions" {{ type = list(string) }}
module "next" {{
  source  = "../{inner}"
  name    = "app"
  actions = var.actions
}}
"""


ROOT = """\
module "app" {
  source  = "./modules/l1"
  actions = ["s3:GetObject"]
}
"""


def _chain(levels: int) -> dict[str, str]:
    """root -> modules/l1 -> ... -> modules/l<levels> -> modules/role."""
    files = {"main.tf": ROOT, "modules/role/main.tf": ROLE}
    for i in range(1, levels + 1):
        files[f"modules/l{i}/main.tf"] = _link(f"l{i + 1}" if i < levels else "role")
    return files


def _change(make_repo: Callable[..., GitRepo], levels: int, author: tuple[str, str]
            ) -> tuple[GitRepo, str]:  # fmt: skip
    repo = make_repo()
    base = repo.commit(_chain(levels), author=HUMAN)
    repo.checkout("ai/widen", create=True)
    repo.commit({"main.tf": ROOT.replace('["s3:GetObject"]', '["*"]')}, author=author,
                message="widen app\n\nRequested-by: Alice <alice@example.com>")
    return repo, base


@pytest.mark.parametrize("levels", [1, 2])
def test_agent_widening_through_nested_calls_blocks(
        levels: int, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _change(make_repo, levels, AGENT)
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    address = "module.app." + "module.next." * levels + "aws_iam_role_policy.this"
    drift = [f for f in findings if f["rule_id"] == "NHI302" and f["address"] == address]
    assert [(f["path"], f["blocking"]) for f in drift] == [("modules/role/main.tf", True)]
    assert "*" in drift[0]["message"]


def test_person_widening_through_nested_calls_exits_0(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _change(make_repo, 2, ("Bob B", "bob@example.com"))
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    address = "module.app.module.next.module.next.aws_iam_role_policy.this"
    drift = [f for f in findings if f["rule_id"] == "NHI302" and f["address"] == address]
    assert [f["blocking"] for f in drift] == [False]


def test_chain_deeper_than_followed_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _change(make_repo, MAX_DEPTH + 1, AGENT)
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    unread = [f for f in findings if f["rule_id"] == "NHI106"]
    assert len(unread) == 1 and unread[0]["blocking"]
    assert unread[0]["address"].startswith("module.app.module.next")
    assert "not followed" in unread[0]["message"]
