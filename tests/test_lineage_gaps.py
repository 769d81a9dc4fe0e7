"""Issue 14, "lineage gaps": a person's commit that moves or re-applies an agent's lines does
not launder them. Lines are followed by content (`checker.git.replay`): two consecutive added
lines that repeat two consecutive lines an in-range agent commit wrote and the range deleted
keep that agent in their lineage, whatever git's rename threshold says; merges included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, GitRepo, check_findings

from checker import git as cg

#: An IAM user with no approval: NHI101 blocks when an agent wrote it.
USER = """\
# nhi-gate: owner=team-data ticket=DATA-1 expires=2099-01-01
resource "aws_iam_user" "deployer" {
  name = "ci-deployer"
  path = "/ci/"
  tags = {
    team = "data"
  }
}
"""
#: The 20-line header a person adds on top when moving the file (well under 50% similar).
HEADER = "".join(f"# Section {n}: deployment identities for the data platform.\n"
                 for n in range(1, 21))


def nhi101(findings: list[dict[str, Any]]) -> list[tuple[str, int, int, str, str]]:
    return sorted((f["path"], f["start_line"], f["end_line"], f["actor_kind"], f["commit"])
                  for f in findings if f["rule_id"] == "NHI101")


@pytest.fixture
def repo(make_repo: Callable[..., GitRepo]) -> GitRepo:
    r = make_repo()
    r.commit({"README.md": "hi\n", "infra/main.tf": 'terraform {}\n'})
    r.checkout("feature", create=True)
    return r


def test_move_under_rename_threshold_keeps_the_agent(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = repo.commit({"infra/a.tf": USER}, author=COPILOT, message="add deployer")
    human = repo.commit({"infra/a.tf": None, "infra/b.tf": HEADER + USER}, author=HUMAN,
                        message="move the deployer under a header")
    with cg.repo_session(repo.path) as r:
        cs = cg.build_changeset(r, repo.sha("main"), human)
    [cf] = cs.files
    assert (cf.path, cf.status) == ("infra/b.tf", "A")  # git saw no rename
    assert set(cf.line_commits.values()) == {human}
    # the header is the person's; the closing `}` after `  }` is too short to follow
    assert dict(cf.line_lineage) == {n: (agent,) for n in range(21, 28)}
    code, findings = check_findings(repo, "main", capsys)
    assert code == 1
    assert nhi101(findings) == [("infra/b.tf", 22, 22, "agent", agent)]


def test_revert_then_reapply_keeps_the_agent(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = repo.commit({"infra/iam.tf": USER}, author=COPILOT, message="add deployer")
    repo.git("revert", "--no-edit", agent)
    repo.commit({"infra/iam.tf": USER}, author=HUMAN, message="re-apply the deployer")
    code, findings = check_findings(repo, "main", capsys)
    assert code == 1
    assert nhi101(findings) == [("infra/iam.tf", 2, 2, "agent", agent)]


def test_reapply_through_a_merge_keeps_the_agent(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same laundering with a merge in the range (replayed, not blamed)."""
    agent = repo.commit({"infra/iam.tf": USER}, author=COPILOT, message="add deployer")
    repo.commit({"infra/iam.tf": None}, author=HUMAN, message="drop it")
    repo.checkout("side", create=True, start="main")
    repo.commit({"docs.txt": "x\n"}, author=HUMAN)
    repo.checkout("feature")
    repo.merge("side")
    repo.commit({"infra/moved.tf": HEADER + USER}, author=HUMAN, message="bring it back")
    code, findings = check_findings(repo, "main", capsys)
    assert code == 1
    assert nhi101(findings) == [("infra/moved.tf", 22, 22, "agent", agent)]


def test_shared_single_lines_are_no_move(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """Content is matched two lines at a time: a person's new identity that repeats single
    lines of a deleted agent identity (`tags = {`, closing braces) stays the person's."""
    repo.commit({"infra/a.tf": USER}, author=COPILOT)
    other = (USER.replace("deployer", "reader").replace("ci-", "ro-").replace("/ci/", "/ro/")
             .replace("data", "ops"))
    human = repo.commit({"infra/a.tf": None, "infra/b.tf": other}, author=HUMAN)
    with cg.repo_session(repo.path) as r:
        [cf] = cg.build_changeset(r, repo.sha("main"), human).files
    assert (set(cf.line_commits.values()), dict(cf.line_lineage)) == ({human}, {})
    _code, findings = check_findings(repo, "main", capsys)
    assert nhi101(findings) == []
