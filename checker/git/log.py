"""The commit log: commits of a range with their trailers, and the commits touching each
file, each in ONE batched `git log`.

Commits are returned **oldest first** (`--topo-order --reverse`: every parent before its
children), so "the commits before this one" is a prefix of the tuple.
"""

from __future__ import annotations

from collections.abc import Sequence

from checker.change import Commit
from checker.errors import GitError
from checker.git.repo import Repo
from checker.git.run import SHA_RE, decode, repo_label, run_git

#: `git log` fields, in order; the sha comes first and again last as a sentinel, so a message
#: or name that smuggles in a separator cannot shift another commit's fields unnoticed. No
#: `%G?`: to print it git verifies each signed commit (one gpg or ssh-keygen process per
#: commit: 14 of 20 CPU seconds of a 5,856-commit cert-manager range), and no decision may
#: trust this machine's keyring (`checker.git.signatures` verifies against the base revision).
_LOG_FORMAT = "%x1f".join(
    (
        "%H",
        "%P",
        "%an",
        "%ae",
        "%cn",
        "%ce",
        "%(trailers:only,unfold,separator=%x1d,key_value_separator=%x1c)",
        "%B",
        "%H",
    )
)
_LOG_FIELDS = 9


def _parse_trailers(field: str) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for item in field.split("\x1d"):
        if not item.strip():
            continue
        key, sep, value = item.partition("\x1c")
        if sep:
            out.append((key.strip(), value.strip()))
    return tuple(out)


def _read_commits(repo: Repo, rev_args: Sequence[str]) -> tuple[Commit, ...]:
    """Commits selected by `rev_args`, oldest first, from ONE `git log`.

    Raises `GitError` when a record does not parse (a control character U+001F inside a name,
    email or message): the commit cannot be attributed, so the run stops rather than guess.
    """
    out = run_git(
        repo,
        "log",
        "-z",
        "--topo-order",
        "--reverse",
        "--no-show-signature",
        "--no-color",
        f"--format={_LOG_FORMAT}",
        *rev_args,
        "--",
    )
    commits: list[Commit] = []
    for record in decode(out).split("\x00"):
        if not record.strip("\n"):
            continue
        fields = record.split("\x1f")
        sha = fields[0].lstrip("\n")
        if len(fields) != _LOG_FIELDS or not SHA_RE.fullmatch(sha) or fields[-1] != sha:
            raise GitError(
                f"{repo_label(repo)}: commit {sha[:40]!r} has a name, email or message with "
                "control characters (U+001F/U+0000) that nhi-gate refuses to attribute"
            )
        _, parents, an, ae, cn, ce, trailers, message, _ = fields
        commits.append(
            Commit(
                sha=sha,
                parents=tuple(parents.split()),
                author_name=an,
                author_email=ae,
                committer_name=cn,
                committer_email=ce,
                message=message.rstrip("\n"),
                trailers=_parse_trailers(trailers),
            )
        )
    return tuple(commits)


def read_commits(repo: Repo, base_sha: str | None, head_sha: str) -> tuple[Commit, ...]:
    """The commits of `base..head` (all ancestors of head when base is None), oldest first.

    Raises `GitError` when git fails or a commit's fields do not parse (see `_read_commits`).
    """
    return _read_commits(repo, [f"{base_sha}..{head_sha}" if base_sha else head_sha])


def file_commits(repo: Repo, base_sha: str, head_sha: str) -> dict[str, tuple[str, ...]]:
    """path -> shas of the commits in `base..head` that touch it (oldest first), in ONE
    `git log --name-only`; merge commits count for the files their first-parent diff changes.
    Used to attribute changes that add no line (a deleted tag, a removed statement).
    Raises `GitError` when git fails."""
    raw = run_git(
        repo, "log", "--topo-order", "--reverse", "--no-renames", "--name-only", "-z",
        "--first-parent", "-m", "--format=%x1e%H", f"{base_sha}..{head_sha}", "--",
    )
    out: dict[str, list[str]] = {}
    for record in raw.decode("utf-8", "surrogateescape").split("\x1e"):
        if not record.strip("\x00\n"):
            continue
        tokens = [t.strip("\n") for t in record.replace("\n", "\x00", 1).split("\x00")]
        tokens = [t for t in tokens if t]
        if not tokens:
            continue
        sha = tokens[0]
        for path in tokens[1:]:
            out.setdefault(path, []).append(sha)
    return {p: tuple(dict.fromkeys(shas)) for p, shas in out.items()}
