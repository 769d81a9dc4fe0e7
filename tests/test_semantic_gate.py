"""Judge meaning, not lines (DESIGN.md "What counts as a change"): an agent's change that leaves
an identity saying the same thing (`terraform fmt`, reordered attributes, a block moved to
another file of its module, a local renamed with the same value) produces no finding; the same
edits with a changed value still block."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main

CLAUDE = ("Claude", "noreply@anthropic.com")

USER = """\
# nhi-gate: owner=team-ci ticket=OPS-1 expires=2027-01-01
resource "aws_iam_user" "deploy" {
  name = "deploy"
  path = "/ci/"
}

resource "aws_iam_user_policy_attachment" "deploy" {
  user       = aws_iam_user.deploy.name
  policy_arn = local.deploy_policy
}
"""
LOCALS = 'locals {\n  deploy_policy = "arn:aws:iam::aws:policy/ReadOnlyAccess"\n}\n'

# The same two blocks, re-aligned the way `terraform fmt` does it, attributes reordered.
FORMATTED = """\
# nhi-gate: owner=team-ci ticket=OPS-1 expires=2027-01-01
resource "aws_iam_user" "deploy" {
  path = "/ci/"
  name = "deploy"
}

resource "aws_iam_user_policy_attachment" "deploy" {
  policy_arn    = local.deploy_policy
  user = aws_iam_user.deploy.name
}
"""


def _check(repo: GitRepo, base: str, capsys: Any) -> tuple[int, list[tuple[str, str, int]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["path"], f["start_line"]) for f in report["findings"]]


def _base(repo: GitRepo) -> str:
    return repo.commit({"infra/iam.tf": USER, "infra/locals.tf": LOCALS}, author=HUMAN)


def test_formatting_and_reordering_an_identity_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    base = _base(repo)
    repo.commit({"infra/iam.tf": FORMATTED}, author=CLAUDE)
    assert _check(repo, base, capsys) == (0, [])


def test_moving_an_identity_to_another_file_of_its_module_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    base = _base(repo)
    user, attachment = USER.split("\n\n")
    repo.commit({"infra/iam.tf": user + "\n", "infra/attachments.tf": attachment}, author=CLAUDE)
    assert _check(repo, base, capsys) == (0, [])


def test_renaming_a_local_with_the_same_value_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    base = _base(repo)
    repo.commit({
        "infra/iam.tf": USER.replace("local.deploy_policy", "local.ci_policy"),
        "infra/locals.tf": LOCALS.replace("deploy_policy", "ci_policy"),
    }, author=CLAUDE)
    assert _check(repo, base, capsys) == (0, [])


@pytest.mark.parametrize("where", ["same file", "another file of the module", "renamed local"])
def test_the_same_edits_with_a_wider_value_still_block(
        make_repo: Callable[..., GitRepo], capsys: Any, where: str) -> None:
    repo = make_repo()
    base = _base(repo)
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    if where == "same file":
        files = {"infra/iam.tf": FORMATTED.replace("local.deploy_policy", f'"{admin}"')}
        path, line = "infra/iam.tf", 8
    elif where == "another file of the module":
        user, attachment = USER.split("\n\n")
        files = {"infra/iam.tf": user + "\n",
                 "infra/attachments.tf": attachment.replace("local.deploy_policy", f'"{admin}"')}
        path, line = "infra/attachments.tf", 3
    else:
        files = {"infra/iam.tf": USER.replace("local.deploy_policy", "local.ci_policy"),
                 "infra/locals.tf": LOCALS.replace("deploy_policy", "ci_policy").replace(
                     "ReadOnlyAccess", "AdministratorAccess")}
        path, line = "infra/iam.tf", 9
    repo.commit(files, author=CLAUDE)
    code, found = _check(repo, base, capsys)
    assert code == 1, where
    assert {("NHI101", path), ("NHI301", path), ("NHI302", path)} <= {
        (r, p) for r, p, _ in found}, where
    assert ("NHI301", path, line) in found, where


def test_moving_an_identity_to_another_module_is_a_new_identity(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    base = _base(repo)
    user, attachment = USER.split("\n\n")
    repo.commit({"infra/iam.tf": attachment, "other/iam.tf": user + "\n"}, author=CLAUDE)
    code, found = _check(repo, base, capsys)
    assert code == 1
    assert ("NHI101", "other/iam.tf", 2) in found


POLICY = """\
# nhi-gate: owner=team-ci ticket=OPS-1 expires=2027-01-01
resource "aws_iam_policy" "ci" {
  name = "ci"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = ["s3:*"], Resource = "*" },
      { Effect = "Deny", Action = ["s3:DeleteBucket"], Resource = "*" },
    ]
  })
}
"""


def _policy_change(make_repo: Callable[..., GitRepo], capsys: Any, new: str
                   ) -> tuple[int, list[tuple[str, str, int, str, bool]]]:  # fmt: skip
    repo = make_repo()
    base = repo.commit({"infra/policy.tf": POLICY}, author=HUMAN)
    repo.commit({"infra/policy.tf": new}, author=CLAUDE,
                trailers=[("Requested-by", "Alice Example <alice@example.com>")])
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["path"], f["start_line"], f["level"], f["blocking"])
                  for f in report["findings"]]


def test_an_agent_narrowing_a_policy_gets_a_note_and_passes(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    narrowed = POLICY.replace('Action = ["s3:*"], Resource = "*"',
                              'Action = ["s3:GetObject"], Resource = "arn:aws:s3:::logs/*"')
    code, found = _policy_change(make_repo, capsys, narrowed)
    assert code == 0
    assert found == [("NHI302", "infra/policy.tf", 7, "note", False)]


@pytest.mark.parametrize("what", ["renamed too", "deny dropped", "action added"])
def test_a_change_that_is_not_only_a_narrowing_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any, what: str) -> None:
    narrowed = POLICY.replace('Action = ["s3:*"], Resource = "*"',
                              'Action = ["s3:GetObject"], Resource = "*"')
    new = {
        "renamed too": narrowed.replace('name = "ci"', 'name = "ci-admin"'),
        "deny dropped": narrowed.replace(
            '      { Effect = "Deny", Action = ["s3:DeleteBucket"], Resource = "*" },\n', ""),
        "action added": narrowed.replace('["s3:GetObject"]', '["s3:GetObject", "iam:PassRole"]'),
    }[what]
    code, found = _policy_change(make_repo, capsys, new)
    assert code == 1, what
    line = 3 if what == "renamed too" else 7  # the first line the agent wrote
    assert ("NHI101", "infra/policy.tf", line, "error", True) in found, (what, found)
    assert not any(level == "note" for *_, level, _ in found), what
