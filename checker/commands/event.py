"""Which range and pull request `check` judges when none is given: the GitHub event
(`GITHUB_EVENT_PATH`), `--pr`, and the pre-push range pre-commit passes."""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from checker import git
from checker.errors import GitError, NhiGateError
from checker.git.repo import GitCommandError, Repo
from checker.provenance.channels import PullRequestFacts, pull_request_facts


def github_event() -> Mapping[str, object]:
    """The event payload at `GITHUB_EVENT_PATH`; {} when unset or not a JSON object.

    Raises `NhiGateError` naming the file when it cannot be read or parsed.
    """
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise NhiGateError(f"GITHUB_EVENT_PATH {path}: cannot read event: {exc}") from exc
    return data if isinstance(data, dict) else {}


def event_range() -> tuple[str | None, str | None]:
    """(base sha, head sha) of the `pull_request` event, (None, None) for other events.

    Raises `NhiGateError` when a sha in the event is not a commit sha.
    """
    event = github_event()
    pr = event.get("pull_request")
    if not isinstance(pr, dict):
        return None, None
    shas: list[str | None] = []
    for side in ("base", "head"):
        ref = pr.get(side)
        sha = ref.get("sha") if isinstance(ref, dict) else None
        if sha is not None and not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{7,64}", sha)):
            raise NhiGateError(
                f"GITHUB_EVENT_PATH: pull_request.{side}.sha is not a commit sha"
            )
        shas.append(sha)
    return shas[0], shas[1]


def event_pull_request(head: str | None) -> PullRequestFacts | None:
    """The author and body of the `pull_request` event whose head is the checked `head`
    (`provenance.channels`), read offline from `GITHUB_EVENT_PATH`; None for other events or
    another head (a run with `--head` naming some other commit is not that PR)."""
    pr = github_event().get("pull_request")
    if not isinstance(pr, dict):
        return None
    pr_head = pr.get("head")
    sha = pr_head.get("sha") if isinstance(pr_head, dict) else None
    if head is None or not isinstance(sha, str) or not head.startswith(sha):
        return None
    return pull_request_facts(pr)


def pre_push_range(repo: Repo) -> tuple[str | None, str | None]:
    """`--pre-push`: pre-commit's PRE_COMMIT_FROM_REF/PRE_COMMIT_TO_REF, else the whole branch.

    Without the variables (pre-commit omits them when a push reaches the root commit), the base
    is the merge-base with the default branch; when there is none (the first push of a new
    repository, or pushing the default branch itself) it is the root commit, whose own lines
    are then the only ones not judged.
    """
    from_ref = os.environ.get("PRE_COMMIT_FROM_REF") or None
    # The pushed branch, not whatever is checked out: pre-commit names it even when it omits
    # the refs (`git push origin feature` while on `main`).
    to_ref = (os.environ.get("PRE_COMMIT_TO_REF")
              or os.environ.get("PRE_COMMIT_LOCAL_BRANCH") or None)
    if from_ref and to_ref:
        return from_ref, to_ref
    try:
        git.resolve_range(repo, None, to_ref)
        return None, to_ref
    except GitError:
        try:
            roots = str(repo.git.rev_list("--max-parents=0", to_ref or "HEAD")).split()
        except GitCommandError:
            return None, to_ref  # resolve_range below reports the unknown revision
        return (roots[-1] if roots else None), to_ref


def pr_target(args: argparse.Namespace, head: str | None) -> tuple[str, int] | None:
    """(OWNER/NAME, PR number) to read reviews from: `--pr`, else the `pull_request` event
    whose head is the checked head. Raises `NhiGateError` when the repository is unknown."""
    number: int | None = getattr(args, "pr", None)
    event = github_event()
    if number is None:
        pr = event.get("pull_request")
        if not isinstance(pr, dict) or not isinstance(pr.get("number"), int):
            return None
        pr_head = pr.get("head")
        if not isinstance(pr_head, dict) or pr_head.get("sha") != head:
            return None
        number = int(pr["number"])
    repository = event.get("repository")
    event_repo = repository.get("full_name") if isinstance(repository, dict) else None
    name = (
        getattr(args, "github_repo", None)
        or os.environ.get("GITHUB_REPOSITORY")
        or (event_repo if isinstance(event_repo, str) else None)
    )
    if not name:
        raise NhiGateError("usage: --pr needs --github-repo OWNER/NAME (or GITHUB_REPOSITORY)")
    return name, number
