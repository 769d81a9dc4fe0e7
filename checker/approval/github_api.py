"""Read what approval needs from the GitHub REST API with PyGithub.

Imported only when a pull request is being checked (`--pr`, or a `pull_request` event in
`GITHUB_EVENT_PATH`), so hooks and offline runs never load PyGithub. Requests made for one PR
(../shared/research/ecosystem.md §7, anchors.md §4b):
`GET /repos/{o}/{r}`, `/pulls/{n}`, `/pulls/{n}/reviews` (every page, following `Link`),
`/pulls/{n}/commits`; then per candidate reviewer as needed `/users/{login}`,
`/repos/{o}/{r}/collaborators/{login}/permission`, `/orgs/{org}/teams/{slug}/memberships/{login}`.

Every failure is a `GitHubError` (exit 2, never a pass) whose message names the API URL and
what was being read; the token is never printed. Connection refusals fail at once (no connect
retries); 5xx answers are retried twice with a short backoff.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import requests
from github import Auth, Github, GithubException, UnknownObjectException
from urllib3.util.retry import Retry

from checker.approval.reviews import PullRequest, Review
from checker.errors import GitHubError
from checker.provenance.classify import WEB_FLOW_EMAILS

DEFAULT_API_URL = "https://api.github.com"
_T = TypeVar("_T")


def _retry() -> Retry:
    return Retry(
        total=2,
        connect=0,
        read=1,
        status=2,
        backoff_factor=0.5,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        raise_on_status=False,
    )


class GitHubClient:
    """A PyGithub session on one repository; satisfies `checker.approval.reviews.Directory`.

    `api_url` is the REST root (`https://api.github.com`, `https://ghe.example/api/v3`, or a
    loopback test server); `token` may be None (anonymous, public repositories only);
    `repo` is `owner/name`; `timeout` is seconds per request. Lookups are cached per login.
    """

    def __init__(
        self, api_url: str, token: str | None, repo: str, *, timeout: float = 15.0
    ) -> None:
        if repo.count("/") != 1 or not all(repo.split("/")):
            raise GitHubError(f"--github-repo {repo!r}: expected OWNER/NAME")
        self.api_url = api_url.rstrip("/")
        self.repo_name = repo
        def client(lazy: bool) -> Github:
            return Github(
                base_url=self.api_url,
                auth=Auth.Token(token) if token else None,
                timeout=int(timeout),
                retry=_retry(),
                seconds_between_requests=None,
                seconds_between_writes=None,
                per_page=100,
                lazy=lazy,
            )

        self._lazy = client(lazy=True)
        self._gh = client(lazy=False)
        self._permissions: dict[str, str] = {}
        self._teams: dict[tuple[str, str, str], bool] = {}
        self._emails: dict[str, str | None] = {}

    def _call(self, what: str, fn: Callable[[], _T]) -> _T:
        """Run one API read; map PyGithub and transport errors to `GitHubError`."""
        try:
            return fn()
        except UnknownObjectException as exc:
            raise GitHubError(
                f"GitHub API {self.api_url}: {what}: not found (404); check --github-repo, "
                "--pr and that GITHUB_TOKEN can read the repository"
            ) from exc
        except GithubException as exc:
            raise GitHubError(
                f"GitHub API {self.api_url}: {what}: HTTP {exc.status}"
                + (" (is GITHUB_TOKEN valid?)" if exc.status in (401, 403) else "")
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise GitHubError(
                f"cannot reach the GitHub API at {self.api_url} while reading {what} "
                f"({type(exc).__name__}); no verdict without the reviews"
            ) from exc

    def pull_request(self, number: int) -> PullRequest:
        """The PR's author, head and base, every review (all pages) and its commits' logins
        and signature verdicts. Raises `GitHubError`."""

        def read() -> PullRequest:
            repo = self._gh.get_repo(self.repo_name)
            pr = repo.get_pull(number)
            reviews = tuple(
                Review(
                    login=r.user.login if r.user is not None else "",
                    user_type=(r.user.type or "User") if r.user is not None else "Unknown",
                    state=r.state or "",
                    commit_id=r.commit_id or "",
                )
                for r in pr.get_reviews()
            )
            logins: set[str] = set()
            verified: dict[str, bool] = {}
            for c in pr.get_commits():
                if c.author is not None and c.author.login:
                    logins.add(c.author.login.lower())
                committer_email = (c.commit.committer.email or "").lower()
                if (
                    c.committer is not None
                    and c.committer.login
                    and committer_email not in WEB_FLOW_EMAILS
                ):
                    logins.add(c.committer.login.lower())
                verification = c.commit.verification
                if verification is not None and verification.verified is not None:
                    verified[c.sha] = bool(verification.verified)
            return PullRequest(
                number=number,
                author_login=pr.user.login,
                author_type=pr.user.type or "User",
                head_sha=pr.head.sha,
                base_sha=pr.base.sha,
                reviews=reviews,
                commit_logins=frozenset(logins),
                verified=verified,
            )

        return self._call(f"pull request {self.repo_name}#{number}", read)

    def permission(self, login: str) -> str:
        """Collaborator permission of `login` (`none` when not a collaborator)."""
        if login not in self._permissions:

            def read() -> str:
                try:
                    repo = self._lazy.get_repo(self.repo_name)
                    return str(repo.get_collaborator_permission(login))
                except UnknownObjectException:
                    return "none"

            self._permissions[login] = self._call(f"permission of @{login}", read)
        return self._permissions[login]

    def in_team(self, org: str, slug: str, login: str) -> bool:
        """True when `login` is an active member of team `org/slug` (404 means no)."""
        key = (org.lower(), slug.lower(), login.lower())
        if key not in self._teams:

            def read() -> bool:
                try:
                    team = self._lazy.get_organization(org).get_team_by_slug(slug)
                    return team.get_team_membership(login).state == "active"
                except UnknownObjectException:
                    return False

            self._teams[key] = self._call(f"membership of @{login} in {org}/{slug}", read)
        return self._teams[key]

    def public_email(self, login: str) -> str | None:
        """The public email of `login`, lower-cased, or None."""
        if login not in self._emails:

            def read() -> str | None:
                try:
                    email = self._gh.get_user(login).email
                except UnknownObjectException:
                    return None
                return email.strip().lower() if email else None

            self._emails[login] = self._call(f"user @{login}", read)
        return self._emails[login]
