"""The pull-request reviews of the inventory's and ledger's `approval` objects, read from the
GitHub API (`approval.github_api`) only when a token and the repository are given: one
request set per pull request, each pull request read once per run. Imported only then
(PyGithub)."""

from __future__ import annotations

from collections.abc import Sequence

from checker.approval.github_api import GitHubClient


def add_reviews(rows: Sequence[dict[str, object]], api_url: str, token: str, repo: str) -> int:
    """Fill `approval.reviews` of `rows` whose approval names a pull request with its reviews
    (`{"login", "user_type", "state", "commit_id"}`, chronological), in place. Returns the
    number of pull requests read. Raises `GitHubError` when the API cannot be read."""
    client = GitHubClient(api_url, token, repo)
    read: dict[int, list[dict[str, str]]] = {}
    for row in rows:
        approval = row.get("approval")
        if not isinstance(approval, dict) or not isinstance(approval.get("pr"), int):
            continue
        number = int(approval["pr"])
        if number not in read:
            pr = client.pull_request(number)
            read[number] = [{"login": r.login, "user_type": r.user_type, "state": r.state,
                             "commit_id": r.commit_id} for r in pr.reviews]
        approval["reviews"] = read[number]
    return len(read)
