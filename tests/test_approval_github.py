"""GitHub PR approval: the real PyGithub client talking to a loopback fake GitHub
(tests/fake_github.py), no mocks of PyGithub.

The end-to-end runs (a real git repo, `nhi-gate check --pr`, reviews on the fake deciding the
exit code) are data: `fixtures/scenarios/approval-*/` (run by tests/test_scenarios.py). Here:
the client, review folding, CODEOWNERS semantics and the hooks' imports.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fake_github import FakeGitHub, serve

from checker.approval.github_api import GitHubClient
from checker.approval.reviews import PullRequest, Review, effective_reviews, noreply_login
from checker.errors import GitHubError

_ENV = ("GITHUB_EVENT_PATH", "GITHUB_REPOSITORY", "GITHUB_API_URL", "GITHUB_HEAD_REF",
        "GITHUB_STEP_SUMMARY", "GITHUB_TOKEN")


@pytest.fixture
def gh(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    for var in _ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token-value")
    yield from serve(FakeGitHub())


def test_hooks_do_not_import_pygithub() -> None:
    import subprocess
    import sys

    probe = ("import sys, checker.cli, checker.commands.approvals, checker.approval.reviews, "
             "checker.approval.signed_commits; print('github' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def test_client_reads_users_permissions_and_pages(gh: FakeGitHub) -> None:
    gh.user("bob", email="Bob@Example.com")
    client = GitHubClient(gh.url, "x", "octo/infra", timeout=5)
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
