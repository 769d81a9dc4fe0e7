"""GitHub repository access in Terraform (integrations/github, slice fixT of session 11): a
collaborator or team given a repository role, an organisation membership and a deploy key are
grants. An agent that adds a collaborator with `permission = "admin"` is blocked (NHI101 and
NHI301 naming the admin role); an agent that raises a team's or collaborator's role, or makes a
deploy key writable (`read_only = false`), widens it (NHI302, blocking); lowering a role is a
narrowed note. A person's same change exits 0. Real git repositories in temp dirs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

AGENT = ("Claude", "noreply@anthropic.com")
PERSON = ("Bob Builder", "bob@example.com")
META = "# nhi-gate: owner=team-a ticket=OPS-1 expires=2027-01-01\n"

COLLABORATOR = META + """\
resource "github_repository_collaborator" "ext" {
  repository = "app"
  username   = "contractor"
  permission = "admin"
}
"""

TEAM = META + """\
resource "github_team_repository" "ops" {
  team_id    = "ops"
  repository = "app"
  permission = "pull"
}
"""

DEPLOY_KEY = META + """\
resource "github_repository_deploy_key" "ci" {
  title      = "ci"
  repository = "app"
  key        = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
  read_only  = true
}
"""

MEMBERSHIP = META + """\
resource "github_membership" "bot" {
  username = "release-bot"
  role     = "member"
}
"""


def _change(make_repo: Callable[..., GitRepo], base_files: dict[str, str],
            head_files: dict[str, str], author: tuple[str, str]
            ) -> tuple[GitRepo, str]:  # fmt: skip
    repo = make_repo()
    base = repo.commit(base_files, author=HUMAN)
    repo.checkout("ai/access", create=True)
    repo.commit(head_files, author=author,
                message="access\n\nRequested-by: Alice <alice@example.com>")
    return repo, base


def _rows(findings: list[dict[str, Any]], *rules: str) -> list[tuple[str, int, bool]]:
    return sorted((f["rule_id"], f["start_line"], f["blocking"]) for f in findings
                  if f["rule_id"] in rules and f["path"] == "github.tf")


def test_agent_admin_collaborator_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _change(make_repo, {"README.md": "x\n"}, {"github.tf": COLLABORATOR}, AGENT)
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    assert _rows(findings, "NHI101", "NHI301") == [("NHI101", 2, True), ("NHI301", 5, True)]
    admin = next(f for f in findings if f["rule_id"] == "NHI301")
    assert "admin" in admin["message"] and "repository:app" in admin["message"]


@pytest.mark.parametrize(("files", "old", "new", "line"), [
    (TEAM, 'permission = "pull"', 'permission = "maintain"', 5),
    (DEPLOY_KEY, "read_only  = true", "read_only  = false", 6),
    (COLLABORATOR.replace('"admin"', '"pull"'), 'permission = "pull"', 'permission = "push"', 5),
])
def test_agent_raised_role_widens(
        files: str, old: str, new: str, line: int, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _change(make_repo, {"github.tf": files},
                         {"github.tf": files.replace(old, new)}, AGENT)
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    drift = [f for f in findings if f["rule_id"] == "NHI302" and f["path"] == "github.tf"]
    assert [(f["start_line"], f["blocking"]) for f in drift] == [(line, True)]
    assert "push on repository:app" in drift[0]["message"] or (
        "maintain on repository:app" in drift[0]["message"])


def test_agent_org_owner_membership_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _change(make_repo, {"github.tf": MEMBERSHIP},
                         {"github.tf": MEMBERSHIP.replace('"member"', '"admin"')}, AGENT)
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    drift = [f for f in findings if f["rule_id"] == "NHI302" and f["path"] == "github.tf"]
    assert [(f["start_line"], f["blocking"]) for f in drift] == [(4, True)]
    assert "admin" in drift[0]["message"]


def test_lowered_role_is_a_narrowed_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _change(make_repo, {"github.tf": COLLABORATOR},
                         {"github.tf": COLLABORATOR.replace('"admin"', '"push"')}, AGENT)
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    drift = [f for f in findings if f["rule_id"] == "NHI302" and f["path"] == "github.tf"]
    assert [(f["start_line"], f["level"], f["blocking"]) for f in drift] == [(5, "note", False)]
    assert "narrowed" in drift[0]["message"]


def test_person_admin_collaborator_exits_0(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _change(make_repo, {"README.md": "x\n"}, {"github.tf": COLLABORATOR}, PERSON)
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    assert ("NHI301", 5, False) in _rows(findings, "NHI301")
