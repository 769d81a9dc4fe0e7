"""Refs: resolving revisions and the `base..head` range, the default branch, the merge-base,
shallow-clone hints, the current branch and the author identity of the next commit.

Every failure is a `GitError` whose message names the repository or the revision.
"""

from __future__ import annotations

import os
from pathlib import Path

from checker.errors import GitError
from checker.git.repo import Repo
from checker.git.run import SHA_RE, decode, repo_label, run_git
from checker.lazy_patterns import lazy_compile

_IDENT_RE = lazy_compile(r"^(.*?) <(.*)> \d+ [+-]\d{4}$")
_REMOTE_DEFAULTS = ("refs/remotes/origin/main", "refs/remotes/origin/master")
_LOCAL_DEFAULTS = ("refs/heads/main", "refs/heads/master")
_MISSING_REF_HINT = "(is the clone shallow? fetch with fetch-depth: 0)"


def rev_parse(repo: Repo, rev: str) -> str:
    """The full sha of commit `rev`; `GitError("unknown revision ...")` when it does not exist."""
    if not rev or rev.startswith("-") or "\n" in rev:
        raise GitError(f"unknown revision '{rev}' {_MISSING_REF_HINT}")
    try:
        out = run_git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except GitError:
        raise GitError(f"unknown revision '{rev}' {_MISSING_REF_HINT}") from None
    sha = decode(out).strip()
    if not SHA_RE.fullmatch(sha):
        raise GitError(f"unknown revision '{rev}' {_MISSING_REF_HINT}")
    return sha


def _ref_exists(repo: Repo, ref: str) -> str | None:
    try:
        return rev_parse(repo, ref)
    except GitError:
        return None


def _merge_base(repo: Repo, a: str, b: str, labels: tuple[str, str]) -> str:
    try:
        out = run_git(repo, "merge-base", a, b)
    except GitError:
        hint = " (the clone is shallow: fetch with fetch-depth: 0)" if _is_shallow(repo) else ""
        raise GitError(
            f"'{labels[0]}' and '{labels[1]}' have no common ancestor{hint}; pass --base"
        ) from None
    return decode(out).strip()


def _is_shallow(repo: Repo) -> bool:
    return Path(repo.git_dir, "shallow").exists()


def _default_branch_refs(repo: Repo) -> list[str]:
    """Candidate default branches, best first: origin/HEAD's target, origin/main,
    origin/master, then local main and master."""
    refs: list[str] = []
    try:
        out = run_git(repo, "symbolic-ref", "--quiet", "refs/remotes/origin/HEAD")
        target = decode(out).strip()
    except GitError:
        target = ""
    if target:
        refs.append(target)
    refs.extend(r for r in (*_REMOTE_DEFAULTS, *_LOCAL_DEFAULTS) if r not in refs)
    return refs


def _short_ref(ref: str) -> str:
    for prefix in ("refs/heads/", "refs/remotes/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def resolve_range(repo: Repo, base: str | None, head: str | None) -> tuple[str, str]:
    """Resolve `base` and `head` to full commit shas `(base_sha, head_sha)`.

    - `head` defaults to `HEAD`.
    - `base` defaults to the merge-base of head with the default branch: the target of
      `refs/remotes/origin/HEAD`, else `origin/main`, `origin/master`, else local `main`,
      `master` (the first that exists).
    - A given `base` that is not an ancestor of head is replaced by `merge-base(base, head)`,
      like `git diff base...head`, so the range holds only the change's own commits.

    Raises `GitError`:
    - `unknown revision 'xyz' (is the clone shallow? fetch with fetch-depth: 0)` for a ref
      that does not resolve to a commit; `... has no commits yet ...` when `head` is not given
      and the repository has no commits;
    - when no default branch exists, or head is already on it (the default range would be
      empty), with a message telling the user to pass `--base`;
    - when base and head share no history.
    """
    head_rev = head or "HEAD"
    if head is None and not repo.head.is_valid():
        raise GitError(f"{repo_label(repo)}: the repository has no commits yet, so there is "
                       "no change to check (commit first, or use `nhi-gate scan`)")  # fmt: skip
    head_sha = rev_parse(repo, head_rev)
    if base is not None:
        base_sha = rev_parse(repo, base)
        return _merge_base(repo, base_sha, head_sha, (base, head_rev)), head_sha
    for ref in _default_branch_refs(repo):
        tip = _ref_exists(repo, ref)
        if tip is None:
            continue
        name = _short_ref(ref)
        merge_base = _merge_base(repo, tip, head_sha, (name, head_rev))
        if merge_base == head_sha:
            raise GitError(
                f"{repo_label(repo)}: '{head_rev}' is already on the default branch "
                f"'{name}', so there is nothing to compare; pass --base REF"
            )
        return merge_base, head_sha
    raise GitError(
        f"{repo_label(repo)}: no default branch found (origin/HEAD, origin/main, "
        "origin/master, main, master); pass --base REF"
    )


def current_branch(repo: Repo) -> str | None:
    """The checked-out branch name (`feature/x`), or None when HEAD is detached.

    In GitHub Actions pull-request checkouts HEAD is detached: the caller should take the
    branch from `GITHUB_HEAD_REF` there.
    """
    # HEAD is read from the repository's files (no git process on the hook path); git itself
    # answers when that fails.
    try:
        head = (Path(repo.git_dir) / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref:"):
            return None  # detached: HEAD holds a commit id
        ref = head.removeprefix("ref:").strip()
        if ref.startswith("refs/heads/"):
            return ref.removeprefix("refs/heads/") or None
    except (OSError, UnicodeDecodeError):
        pass
    try:
        out = run_git(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    except GitError:
        return None
    name = decode(out).strip()
    return name or None


def git_identity(repo: Repo) -> tuple[str, str]:
    """`(name, email)` of the author the next commit will carry.

    `GIT_AUTHOR_NAME`/`GIT_AUTHOR_EMAIL` from the environment (git exports them to hooks when
    `--author` is given) win; the rest comes from `git var GIT_AUTHOR_IDENT`, which applies
    git's own order (`author.*`, `user.*`, `EMAIL`). Parts git cannot determine are `""`.
    """
    name = os.environ.get("GIT_AUTHOR_NAME")
    email = os.environ.get("GIT_AUTHOR_EMAIL")
    if name is not None and email is not None:
        return name, email
    git_name, git_email = "", ""
    try:
        ident = decode(run_git(repo, "var", "GIT_AUTHOR_IDENT")).strip()
    except GitError:
        ident = ""
    match = _IDENT_RE.match(ident)
    if match:
        git_name, git_email = match.group(1), match.group(2)
    return (name if name is not None else git_name, email if email is not None else git_email)


def head_commit_sha(repo: Repo) -> str | None:
    """HEAD's commit sha, None on an unborn branch (`Repo.head.sha`)."""
    return repo.head.sha()



def replaced_objects(repo: Repo) -> dict[str, str]:
    """Every replace ref (`refs/replace/<sha>`, and under `GIT_REPLACE_REF_BASE` when set) as
    replaced object sha -> the sha that replaces it (one `git for-each-ref`).

    nhi-gate never reads through them (`checker.git.repo` runs git with
    `GIT_NO_REPLACE_OBJECTS=1`), but a replacement of a commit under review means someone
    showed git a different history than the one judged (https://git-scm.com/docs/git-replace).
    """
    bases = sorted({"refs/replace/", (os.environ.get("GIT_REPLACE_REF_BASE") or "refs/replace/"
                                      ).rstrip("/") + "/"})
    out = decode(run_git(repo, "for-each-ref", "--format=%(refname) %(objectname)", *bases))
    found: dict[str, str] = {}
    for line in out.splitlines():
        ref, _, target = line.partition(" ")
        name = ref.rsplit("/", 1)[-1]
        if SHA_RE.fullmatch(name) and SHA_RE.fullmatch(target):
            found[name] = target
    return found
