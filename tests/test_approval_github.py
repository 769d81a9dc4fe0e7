"""GitHub PR approval, end to end: a real git repo, `nhi-gate check --pr`, the real PyGithub
client talking to a loopback fake GitHub (tests/fake_github.py). No mocks of PyGithub.

Each test builds: base (human) -> one or two agent commits adding a service account, and a
PR on the fake whose reviews decide the exit code.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, GitRepo
from fake_github import FakeGitHub, FakePull, serve
from test_check_e2e import validate_sarif

from checker.approval.github_api import GitHubClient
from checker.approval.reviews import PullRequest, Review, effective_reviews, noreply_login
from checker.cli import main
from checker.errors import GitHubError

SA = """\
# nhi-gate: owner=team-data ticket=DATA-1
resource "google_service_account" "etl" {
  account_id = "etl"
}
"""
SA2 = SA + """
# nhi-gate: owner=team-data ticket=DATA-2
resource "google_service_account" "etl2" {
  account_id = "etl2"
}
"""
_ENV = ("GITHUB_EVENT_PATH", "GITHUB_REPOSITORY", "GITHUB_API_URL", "GITHUB_HEAD_REF",
        "GITHUB_STEP_SUMMARY", "GITHUB_TOKEN")


@pytest.fixture
def gh(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    for var in _ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token-value")
    yield from serve(FakeGitHub())


class Scenario:
    """A repo with base (human) and agent commits, and PR #5 on the fake for base..head."""

    def __init__(self, repo: GitRepo, gh: FakeGitHub, *, two_commits: bool = False,
                 coauthor: str | None = None, files: dict[str, str] | None = None,
                 requester: str | None = None) -> None:
        self.repo, self.gh = repo, gh
        self.base = repo.commit({"README.md": "infra\n", **(files or {})}, message="base")
        repo.checkout("copilot/add-sa", create=True)
        trailers = [("Co-authored-by", coauthor)] if coauthor else []
        if requester:
            trailers.append(("Requested-by", requester))
        self.first = repo.commit({"infra/sa.tf": SA}, author=COPILOT, message="Add SA",
                                 trailers=trailers)
        self.head = (
            repo.commit({"infra/sa.tf": SA2}, author=COPILOT, message="Add SA 2")
            if two_commits else self.first
        )
        self.copilot = gh.user("Copilot", "Bot")
        self.bob = gh.user("bob", "User", "bob@example.com")
        gh.permissions.update({"bob": "write", "carol": "write"})
        commits: list[tuple[str, str | None, str | None, str, bool]] = [
            (self.first, "Copilot", None, COPILOT[1], False)]
        if two_commits:
            commits.append((self.head, "Copilot", None, COPILOT[1], False))
        self.pr = FakePull(5, self.copilot, self.head, self.base, commits=commits,
                           files=["infra/sa.tf"])
        gh.pulls[5] = self.pr

    def review(self, login: str, state: str = "APPROVED", sha: str | None = None,
               type: str = "User") -> None:
        user = self.gh.users.get(login) or self.gh.user(login, type)
        self.pr.reviews.append((user, state, sha or self.head))

    def check(self, tmp_path: Path, capsys: pytest.CaptureFixture[str],
              *extra: str) -> tuple[int, dict[str, Any], str]:
        sarif = tmp_path / "out.sarif"
        code = main(["check", "--repo", str(self.repo.path), "--base", self.base,
                     "--head", self.head, "--format", "json", "--sarif", str(sarif),
                     "--github-repo", self.gh.full_name, "--pr", "5",
                     "--github-api-url", self.gh.url, *extra])
        out, err = capsys.readouterr()
        report = json.loads(out) if out.strip() else {}
        self.sarif = validate_sarif(sarif) if sarif.exists() else {}
        return code, report, err


def nhi101(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["rule_id"] == "NHI101"]


@pytest.fixture
def scenario(make_repo: Callable[..., GitRepo], gh: FakeGitHub) -> Callable[..., Scenario]:
    return lambda **kw: Scenario(make_repo(), gh, **kw)


def test_approval_on_head_by_allowed_human_passes(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    s.review("bob")
    code, report, err = s.check(tmp_path, capsys)
    assert code == 0, err
    assert report["verdict"] == "pass"
    [f] = nhi101(report)
    assert (f["approved"], f["blocking"], f["start_line"]) == (True, False, 2)
    assert f["commit"] == s.head
    result = next(r for r in s.sarif["runs"][0]["results"] if r["ruleId"] == "NHI101")
    assert result["suppressions"] == [{
        "kind": "external", "status": "accepted",
        "justification": f"Approved by @bob (PR review on {s.head[:12]})",
    }]
    # real requests, authenticated, reviews and commits read, token never printed
    assert "/repos/octo/infra/pulls/5/reviews?per_page=100" in s.gh.requests
    assert "/repos/octo/infra/collaborators/bob/permission" in s.gh.requests
    assert set(s.gh.auth_headers) == {"token test-token-value"}
    assert "test-token-value" not in err + json.dumps(report)


def test_approval_on_older_sha_blocks(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario(two_commits=True)
    s.review("bob", sha=s.first)
    code, report, err = s.check(tmp_path, capsys)
    assert code == 1
    assert [f["approved"] for f in nhi101(report)] == [False, False]
    assert f"approved {s.first[:12]}, not the PR head {s.head[:12]}" in err


def test_approval_by_bot_account_blocks(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    s.gh.permissions["deploy-helper"] = "admin"
    s.review("deploy-helper", type="Bot")
    code, report, err = s.check(tmp_path, capsys)
    assert code == 1
    assert not nhi101(report)[0]["approved"]
    assert "@deploy-helper not counted: the reviewer is a Bot account, not a User" in err


def test_approval_by_agent_login_blocks(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    s.gh.permissions["Copilot"] = "write"
    s.gh.user("Copilot", "User")
    s.review("Copilot")  # even if the API said User, the login is an agent
    code, _, err = s.check(tmp_path, capsys)
    assert code == 1
    assert "@Copilot not counted: the reviewer matches the GitHub Copilot" in err


def test_approval_by_pr_author_blocks(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    s.pr.author = s.gh.user("carol", "User")
    s.review("carol")
    code, report, err = s.check(tmp_path, capsys)
    assert code == 1
    assert not nhi101(report)[0]["approved"]
    assert "@carol not counted: the reviewer opened the pull request" in err


@pytest.mark.parametrize(
    "coauthor",
    ["Bob Reviewer <bob@example.com>", "Bob <4242+bob@users.noreply.github.com>"],
    ids=["public-email", "noreply-login"],
)
def test_approval_by_coauthor_of_agent_commit_blocks(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    coauthor: str,
) -> None:
    s = scenario(coauthor=coauthor)
    s.review("bob")
    code, report, err = s.check(tmp_path, capsys)
    assert code == 1
    assert not nhi101(report)[0]["approved"]
    assert "@bob not counted: the reviewer authored, committed or co-authored" in err


def test_approval_by_the_human_who_requested_the_agent_change_blocks(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario(requester="Bob Reviewer <bob@example.com>")
    s.review("bob")
    code, report, err = s.check(tmp_path, capsys)
    assert code == 1
    assert not nhi101(report)[0]["approved"]
    assert "@bob not counted: the reviewer authored, committed or co-authored" in err


def test_approval_by_commit_author_login_blocks(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    s.pr.commits[0] = (s.first, "Copilot", "bob", COPILOT[1], False)  # bob committed it
    s.review("bob")
    code, _, err = s.check(tmp_path, capsys)
    assert code == 1
    assert "@bob not counted: the reviewer authored, committed or co-authored" in err


def test_dismissed_approval_blocks(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    s.review("bob", state="DISMISSED")
    code, report, err = s.check(tmp_path, capsys)
    assert code == 1
    assert not nhi101(report)[0]["approved"]
    assert "@bob not counted: the approval was dismissed" in err


def test_changes_requested_after_approval_blocks(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    s.review("bob")
    s.review("bob", state="COMMENTED")
    s.review("bob", state="CHANGES_REQUESTED")
    code, report, err = s.check(tmp_path, capsys)
    assert code == 1
    assert not nhi101(report)[0]["approved"]
    assert "@bob not counted: requested changes after approving" in err


def test_valid_approval_on_second_page_passes(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    s.gh.max_per_page = 2
    s.review("carol", state="COMMENTED")
    s.review("dave", state="COMMENTED")
    s.review("bob")
    code, report, err = s.check(tmp_path, capsys)
    assert code == 0, err
    assert nhi101(report)[0]["approved"] is True
    pages = [r for r in s.gh.requests if r.startswith("/repos/octo/infra/pulls/5/reviews")]
    assert pages == ["/repos/octo/infra/pulls/5/reviews?per_page=100",
                     "/repos/octo/infra/pulls/5/reviews?page=2&per_page=2"]


def test_only_first_page_without_pagination_would_block(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Control for the test above: the same reviews minus page two block."""
    s = scenario()
    s.gh.max_per_page = 2
    s.review("carol", state="COMMENTED")
    s.review("dave", state="COMMENTED")
    code, _, _ = s.check(tmp_path, capsys)
    assert code == 1


def test_api_unreachable_exits_2(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    s.gh.url = f"http://127.0.0.1:{port}"
    code, report, err = s.check(tmp_path, capsys)
    assert code == 2
    assert report == {}
    assert f"cannot reach the GitHub API at http://127.0.0.1:{port}" in err
    assert "pull request octo/infra#5" in err


def test_unknown_pr_exits_2(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    del s.gh.pulls[5]
    code, _, err = s.check(tmp_path, capsys)
    assert code == 2
    assert "pull request octo/infra#5: not found (404)" in err


def test_reviewer_without_write_access_blocks(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    s.gh.permissions["bob"] = "read"
    s.review("bob")
    code, _, err = s.check(tmp_path, capsys)
    assert code == 1
    assert "@bob not counted: has no write access to the repository" in err


def test_configured_team_approver(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = "approval:\n  approvers: [octo/security]\n"
    s = scenario(files={".nhi-gate.yaml": config})
    s.gh.teams[("octo", "security")] = {"dave"}
    s.gh.permissions["dave"] = "read"  # team membership, not write access, decides
    s.review("bob")
    s.review("dave")
    code, report, err = s.check(tmp_path, capsys)
    assert code == 0, err
    assert nhi101(report)[0]["approved"]
    assert "@bob not counted: is not listed in approval.approvers" in err
    assert "/orgs/octo/teams/security/memberships/dave" in s.gh.requests


def test_codeowners_at_base_decides(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario(files={".github/CODEOWNERS": "*       @carol\n/infra/ @erin\n"})
    s.gh.user("erin")
    s.gh.permissions["erin"] = "write"
    s.review("bob")  # write access, but infra/ has an owner
    code, _, err = s.check(tmp_path, capsys)
    assert "/users/erin" not in s.gh.requests
    assert code == 1
    assert "@bob not counted: is not a code owner" in err
    s.review("erin")
    code, report, err = s.check(tmp_path, capsys)
    assert code == 0, err
    assert nhi101(report)[0]["approved"] is True
    result = next(r for r in s.sarif["runs"][0]["results"] if r["ruleId"] == "NHI101")
    assert result["suppressions"][0]["justification"] == (
        f"Approved by @erin (PR review on {s.head[:12]})")


def test_code_owner_without_write_access_does_not_count(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """GitHub counts a code owner's approval only with write access; so do we."""
    s = scenario(files={".github/CODEOWNERS": "/infra/ @erin\n"})
    s.gh.user("erin")
    s.gh.permissions["erin"] = "read"
    s.review("erin")
    code, report, err = s.check(tmp_path, capsys)
    assert code == 1
    assert not nhi101(report)[0]["approved"]
    assert "@erin not counted: has no write access to the repository" in err


def test_codeowners_changed_by_agent_is_not_trusted(
    make_repo: Callable[..., GitRepo], gh: FakeGitHub, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The agent makes bob the owner of infra/: base CODEOWNERS (erin) still decides for the
    identity, and the CODEOWNERS change is NHI102 (which bob, with write access, may approve:
    no base rule owns .github/CODEOWNERS)."""
    s = Scenario(make_repo(), gh, files={".github/CODEOWNERS": "/infra/ @erin\n"})
    s.head = s.repo.commit({".github/CODEOWNERS": "/infra/ @bob\n"}, author=COPILOT,
                           message="owners")
    s.pr.head_sha = s.head
    s.pr.commits.append((s.head, "Copilot", None, COPILOT[1], False))
    code, report, _ = s.check(tmp_path, capsys)
    assert code == 1
    [trust] = [f for f in report["findings"] if f["rule_id"] == "NHI102"]
    assert (trust["path"], trust["start_line"], trust["blocking"]) == (
        ".github/CODEOWNERS", 1, True)
    assert trust["commit"] == s.head
    s.review("bob")
    code, report, _ = s.check(tmp_path, capsys)
    assert code == 1
    [identity] = nhi101(report)
    assert (identity["path"], identity["approved"], identity["blocking"]) == (
        "infra/sa.tf", False, True)
    [trust] = [f for f in report["findings"] if f["rule_id"] == "NHI102"]
    assert (trust["approved"], trust["blocking"]) == (True, False)


def test_pr_head_not_the_checked_head_blocks(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    s.pr.head_sha = "f" * 40
    s.review("bob", sha="f" * 40)
    code, _, err = s.check(tmp_path, capsys)
    assert code == 1
    assert f"the PR head ffffffffffff is not the checked head {s.head[:12]}" in err


def test_human_pr_author_satisfies_requester(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scenario()
    code, report, _ = s.check(tmp_path, capsys)
    assert code == 1
    assert [f["rule_id"] for f in report["findings"] if f["rule_id"] == "NHI103"] == ["NHI103"]
    s.pr.author = s.gh.user("carol", "User")
    code, report, _ = s.check(tmp_path, capsys)
    assert code == 1
    assert not [f for f in report["findings"] if f["rule_id"] == "NHI103"]


def test_event_file_supplies_the_pr(
    scenario: Callable[..., Scenario], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = scenario()
    s.review("bob")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({
        "pull_request": {"number": 5, "base": {"sha": s.base}, "head": {"sha": s.head}},
        "repository": {"full_name": "octo/infra"},
    }), encoding="utf-8")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("GITHUB_API_URL", s.gh.url)
    code = main(["check", "--repo", str(s.repo.path), "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert nhi101(json.loads(out))[0]["approved"]


def test_hooks_do_not_import_pygithub() -> None:
    import subprocess
    import sys

    probe = ("import sys, checker.cli, checker.commands.approvals, checker.approval.reviews, "
             "checker.approval.signed_commits; print('github' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_client_reads_contents_and_pages(gh: FakeGitHub) -> None:
    gh.contents[(".github/CODEOWNERS", "abc")] = b"* @erin\n"
    gh.user("bob", email="Bob@Example.com")
    client = GitHubClient(gh.url, "x", "octo/infra", timeout=5)
    assert client.file_at(".github/CODEOWNERS", "abc") == b"* @erin\n"
    assert client.file_at("CODEOWNERS", "abc") is None
    assert client.public_email("bob") == "bob@example.com"
    assert client.public_email("nobody") is None
    assert client.permission("nobody") == "none"
    assert client.in_team("octo", "missing", "bob") is False
    with pytest.raises(GitHubError, match="expected OWNER/NAME"):
        GitHubClient(gh.url, "x", "no-slash")


def test_effective_reviews_and_noreply() -> None:
    reviews = [
        Review("bob", "User", "APPROVED", "a"),
        Review("bob", "User", "COMMENTED", "a"),
        Review("carol", "User", "APPROVED", "a"),
        Review("carol", "User", "CHANGES_REQUESTED", "a"),
        Review("carol", "User", "APPROVED", "b"),
    ]
    assert [(r.login, r.state, r.commit_id) for r in effective_reviews(reviews)] == [
        ("bob", "APPROVED", "a"), ("carol", "APPROVED", "b")]
    assert noreply_login("4242+Bob@users.noreply.github.com") == "bob"
    assert noreply_login("bob@users.noreply.github.com") == "bob"
    assert noreply_login("bob@example.com") is None
    assert PullRequest(1, "a", "User", "h", "b").reviews == ()


def test_human_author_only_commit_needs_no_approval(
    make_repo: Callable[..., GitRepo], gh: FakeGitHub, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    head = repo.commit({"infra/sa.tf": SA}, author=HUMAN)
    gh.pulls[5] = FakePull(5, gh.user("alice"), head, base)
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json", "--github-repo", "octo/infra", "--pr", "5",
                 "--github-api-url", gh.url])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert not nhi101(report)


@pytest.mark.parametrize(
    ("path", "owners"),
    [
        ("README.md", ("@octo/everyone",)),
        ("infra/sa.tf", ("@erin",)),
        ("infra/prod/sa.tf", ("@erin",)),
        ("apps/infra/x.tf", ("@octo/everyone",)),  # /infra/ is anchored at the root
        ("docs/a.md", ("@docs",)),
        ("docs/deep/a.md", ("@octo/everyone",)),  # docs/* owns direct children only
        ("src/app.js", ("js@example.com",)),
        ("build/logs/x.txt", ()),  # a rule without owners makes the path unowned
    ],
)
def test_codeowners_semantics(path: str, owners: tuple[str, ...]) -> None:
    from checker.policy.codeowners import parse

    text = ("# comment\n*  @octo/everyone\n/infra/ @erin\ndocs/* @docs\n*.js js@example.com\n"
            "build/logs/\n!neg @x\n")
    co = parse(text, "base:CODEOWNERS")
    assert co.owners(path) == owners
    assert co.problems == ((7, "pattern '!neg' uses syntax GitHub does not support"),)
    assert parse("", "x").owners("a") is None
