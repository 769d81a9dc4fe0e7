"""A loopback fake of the GitHub REST endpoints nhi-gate reads, for the real PyGithub client.

Started per test on 127.0.0.1 with a random port (stdlib `http.server` in a thread); every
`url` it returns and every `Link` header points at itself, as PyGithub requires
(../shared/research/ecosystem.md §7). It records each request path (with query string) in
`FakeGitHub.requests` and the `Authorization` headers in `FakeGitHub.auth_headers`.

Served (GET only):
    /repos/{o}/{r}                                   repository
    /repos/{o}/{r}/pulls/{n}                         pull request (user, head, base)
    /repos/{o}/{r}/pulls/{n}/reviews                 paginated: `per_page` capped at
                                                     `max_per_page`, `Link` rel="next"/"last"
    /repos/{o}/{r}/pulls/{n}/commits                 paginated the same way
    /repos/{o}/{r}/pulls/{n}/files                   paginated the same way
    /repos/{o}/{r}/collaborators/{login}/permission  {"permission": ...} (404 when unknown)
    /repos/{o}/{r}/contents/{path}?ref=              base64 file content (404 when absent)
    /orgs/{org}, /orgs/{org}/teams/{slug}            organisation and team
    /orgs/{org}/teams/{slug}/memberships/{login}     {"state": "active"} or 404
    /users/{login}                                   user (type, public email)
Anything else is a 404 with GitHub's JSON error body.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class FakeUser:
    """An account: `type` is `User`, `Bot` or `Organization`; `email` is the public email."""

    login: str
    type: str = "User"
    email: str | None = None
    id: int = 0


@dataclass
class FakePull:
    """A pull request: author, head/base shas, reviews (chronological), commits and files."""

    number: int
    author: FakeUser
    head_sha: str
    base_sha: str
    head_ref: str = "feature"
    base_ref: str = "main"
    #: (reviewer, state, commit_id)
    reviews: list[tuple[FakeUser, str, str]] = field(default_factory=list)
    #: (sha, author login or None, committer login or None, author email, verified)
    commits: list[tuple[str, str | None, str | None, str, bool]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


@dataclass
class FakeGitHub:
    """State of the fake; mutate it in a test, then point nhi-gate at `url`."""

    owner: str = "octo"
    name: str = "infra"
    pulls: dict[int, FakePull] = field(default_factory=dict)
    users: dict[str, FakeUser] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)
    teams: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    contents: dict[tuple[str, str], bytes] = field(default_factory=dict)
    max_per_page: int = 100
    url: str = ""
    requests: list[str] = field(default_factory=list)
    auth_headers: list[str] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def user(self, login: str, type: str = "User", email: str | None = None) -> FakeUser:
        """Register (or replace) an account and return it."""
        u = FakeUser(login, type, email, id=1000 + len(self.users))
        self.users[login] = u
        return u

    # -- JSON shapes -----------------------------------------------------------------------

    def user_json(self, u: FakeUser) -> dict[str, Any]:
        return {
            "login": u.login,
            "id": u.id,
            "type": u.type,
            "site_admin": False,
            "email": u.email,
            "url": f"{self.url}/users/{u.login}",
            "html_url": f"https://github.example/{u.login}",
        }

    def repo_json(self) -> dict[str, Any]:
        owner = self.users.get(self.owner) or FakeUser(self.owner, "Organization", id=1)
        return {
            "id": 42,
            "name": self.name,
            "full_name": self.full_name,
            "private": False,
            "owner": self.user_json(owner),
            "url": f"{self.url}/repos/{self.full_name}",
            "default_branch": "main",
        }

    def pull_json(self, pr: FakePull) -> dict[str, Any]:
        base = f"{self.url}/repos/{self.full_name}"
        return {
            "id": 7000 + pr.number,
            "number": pr.number,
            "state": "open",
            "title": f"PR {pr.number}",
            "user": self.user_json(pr.author),
            "url": f"{base}/pulls/{pr.number}",
            "head": {"sha": pr.head_sha, "ref": pr.head_ref, "repo": self.repo_json()},
            "base": {"sha": pr.base_sha, "ref": pr.base_ref, "repo": self.repo_json()},
        }

    def review_json(self, pr: FakePull, i: int) -> dict[str, Any]:
        user, state, commit_id = pr.reviews[i]
        return {
            "id": 9000 + i,
            "user": self.user_json(user),
            "state": state,
            "commit_id": commit_id,
            "body": "",
            "submitted_at": f"2025-01-02T00:{i // 60:02d}:{i % 60:02d}Z",
            "pull_request_url": f"{self.url}/repos/{self.full_name}/pulls/{pr.number}",
            "url": f"{self.url}/repos/{self.full_name}/pulls/{pr.number}/reviews/{9000 + i}",
        }

    def commit_json(self, entry: tuple[str, str | None, str | None, str, bool]) -> dict[str, Any]:
        sha, author, committer, email, verified = entry
        base = f"{self.url}/repos/{self.full_name}"
        person = {"name": email.split("@")[0], "email": email, "date": "2025-01-01T00:00:00Z"}
        return {
            "sha": sha,
            "url": f"{base}/commits/{sha}",
            "author": self.user_json(self.users[author]) if author in self.users else None,
            "committer": (
                self.user_json(self.users[committer]) if committer in self.users else None
            ),
            "commit": {
                "url": f"{base}/git/commits/{sha}",
                "message": "change",
                "author": person,
                "committer": person,
                "verification": {
                    "verified": verified,
                    "reason": "valid" if verified else "unsigned",
                    "signature": None,
                    "payload": None,
                },
            },
            "parents": [],
        }

    # -- routing ---------------------------------------------------------------------------

    def route(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any, dict[str, str]]:
        """(status, JSON body, extra headers) for one GET."""
        repo = f"/repos/{self.full_name}"
        if path == repo:
            return 200, self.repo_json(), {}
        m = re.fullmatch(re.escape(repo) + r"/pulls/(\d+)(?:/(reviews|commits|files))?", path)
        if m:
            pr = self.pulls.get(int(m.group(1)))
            if pr is None:
                return _not_found()
            if m.group(2) is None:
                return 200, self.pull_json(pr), {}
            if m.group(2) == "reviews":
                items = [self.review_json(pr, i) for i in range(len(pr.reviews))]
            elif m.group(2) == "commits":
                items = [self.commit_json(c) for c in pr.commits]
            else:
                items = [
                    {"filename": f, "status": "modified", "additions": 1, "deletions": 0,
                     "changes": 1, "sha": "0" * 40}
                    for f in pr.files
                ]
            return self._page(path, query, items)
        m = re.fullmatch(re.escape(repo) + r"/collaborators/([^/]+)/permission", path)
        if m:
            login = m.group(1)
            if login not in self.permissions:
                return _not_found()
            user = self.users.get(login) or FakeUser(login)
            return 200, {"permission": self.permissions[login],
                         "user": self.user_json(user)}, {}
        m = re.fullmatch(re.escape(repo) + r"/contents/(.+)", path)
        if m:
            ref = query.get("ref", ["main"])[0]
            data = self.contents.get((m.group(1), ref))
            if data is None:
                return _not_found()
            return 200, {
                "type": "file", "encoding": "base64", "name": m.group(1).rsplit("/", 1)[-1],
                "path": m.group(1), "sha": "1" * 40, "size": len(data),
                "content": base64.b64encode(data).decode("ascii"),
                "url": f"{self.url}{path}?ref={ref}",
            }, {}
        m = re.fullmatch(r"/orgs/([^/]+)(?:/teams/([^/]+)(?:/memberships/([^/]+))?)?", path)
        if m:
            org, slug, login = m.groups()
            if slug is None:
                return 200, {"login": org, "id": 5, "url": f"{self.url}/orgs/{org}"}, {}
            members = self.teams.get((org, slug))
            if members is None:
                return _not_found()
            if login is None:
                return 200, {"id": 77, "slug": slug, "name": slug,
                             "url": f"{self.url}/orgs/{org}/teams/{slug}"}, {}
            if login not in members:
                return _not_found()
            return 200, {"state": "active", "role": "member",
                         "url": f"{self.url}/orgs/{org}/teams/{slug}/memberships/{login}"}, {}
        m = re.fullmatch(r"/users/([^/]+)", path)
        if m:
            found = self.users.get(m.group(1))
            return (200, self.user_json(found), {}) if found else _not_found()
        return _not_found()

    def _page(
        self, path: str, query: dict[str, list[str]], items: list[dict[str, Any]]
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", ["30"])[0]), self.max_per_page)
        page = int(query.get("page", ["1"])[0])
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []
        if page < last:
            links.append(f'<{self.url}{path}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{self.url}{path}?per_page={per_page}&page={last}>; rel="last"')
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})


def _not_found() -> tuple[int, Any, dict[str, str]]:
    return 404, {"message": "Not Found",
                 "documentation_url": "https://docs.github.com/rest"}, {}


def _handler(state: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            state.requests.append(self.path)
            state.auth_headers.append(self.headers.get("Authorization", ""))
            status, body, headers = state.route(unquote(parts.path), parse_qs(parts.query))
            raw = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

    return Handler


def serve(state: FakeGitHub) -> Iterator[FakeGitHub]:
    """Run `state` on 127.0.0.1:<random port> until the generator is closed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
