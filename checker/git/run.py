"""Running git: the one place that starts a git process, and opening a repository.

Every command runs with `core.quotePath=false` and `--literal-pathspecs` (`run_git_glob` is
the one exception, for `:(glob)` pathspecs), and every failure becomes a `GitError` whose
message names the repository and carries git's own stderr.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from checker.errors import GitError
from checker.git.repo import (
    GIT,
    GitCommandError,
    GitCommandNotFound,
    InvalidGitRepositoryError,
    NoSuchPathError,
    Repo,
)
from checker.lazy_patterns import lazy_compile

#: `-c` options for every call: raw UTF-8 paths; no blame ignore list from the repo config.
_CONFIG = (
    "-c",
    "core.quotePath=false",
    "-c",
    "blame.ignoreRevsFile=",
    "--literal-pathspecs",
)
#: A full object id (SHA-1 or SHA-256), lower-case hex.
SHA_RE = lazy_compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def decode(raw: bytes) -> str:
    """Raw git output (paths, names) as text: UTF-8 with `surrogateescape`, so a non-UTF-8
    name round-trips back to git unchanged."""
    return raw.decode("utf-8", "surrogateescape")


def _git_exe() -> str:
    return GIT


def run_git(repo: Repo, *args: str, istream: BinaryIO | None = None) -> bytes:
    """Run one git command in `repo` and return its raw stdout (`istream`: its stdin).

    Raises `GitError` with git's own stderr when the command fails or git is missing.
    """
    cmd = [_git_exe(), *_CONFIG, *args]
    try:
        out = repo.git.execute(
            cmd, istream=istream, stdout_as_string=False, strip_newline_in_stdout=False
        )
    except GitCommandNotFound as exc:
        raise GitError(f"git executable not found: {exc}") from exc
    except GitCommandError as exc:
        raise GitError(_command_error(repo, args, exc)) from exc
    return out


def _command_error(repo: Repo, args: Sequence[str], exc: GitCommandError) -> str:
    stderr = exc.stderr
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else str(stderr)
    text = text.strip()
    text = text.removeprefix("stderr:").strip().strip("'").strip()
    where = repo.working_tree_dir or repo.git_dir
    return f"{where}: git {args[0]} failed: {text or f'exit status {exc.status}'}"


def repo_label(repo: Repo) -> str:
    """The repository's work tree (its git directory when bare), for error messages."""
    return str(repo.working_tree_dir or repo.git_dir)


def run_git_glob(repo: Repo, *args: str) -> bytes:
    """`run_git` with `:(glob)` pathspec magic allowed (`_CONFIG` makes every pathspec literal,
    so that a file named `*.tf` is never a pattern; callers escape their literal parts)."""
    config = [c for c in _CONFIG if c != "--literal-pathspecs"]
    try:
        return repo.git.execute(
            [_git_exe(), *config, *args], stdout_as_string=False, strip_newline_in_stdout=False
        )
    except GitCommandNotFound as exc:
        raise GitError(f"git executable not found: {exc}") from exc
    except GitCommandError as exc:
        raise GitError(_command_error(repo, args, exc)) from exc


def open_repo(path: Path) -> Repo:
    """Open the git repository containing `path` (parent directories are searched).

    The returned `Repo` (`checker.git.repo`) is a context manager: `with open_repo(p) as
    repo:` closes its
    persistent git processes on exit. Raises `GitError("<path>: not a git repository")` when
    there is none, `GitError("<path>: no such directory")` when the path does not exist, and
    `GitError` when the git executable is missing.
    """
    try:
        return Repo(path, search_parent_directories=True)
    except NoSuchPathError as exc:
        raise GitError(f"{path}: no such directory") from exc
    except InvalidGitRepositoryError as exc:
        raise GitError(f"{path}: not a git repository") from exc
    except GitCommandNotFound as exc:
        raise GitError(f"git executable not found: {exc}") from exc


@contextlib.contextmanager
def repo_session(path: Path) -> Iterator[Repo]:
    """`open_repo(path)` for the duration of a `with` block, then `repo.close()`."""
    repo = open_repo(path)
    try:
        yield repo
    finally:
        repo.close()
