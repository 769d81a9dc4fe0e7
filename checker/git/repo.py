"""A git repository as nhi-gate reads it: where it is, its HEAD, and the git processes it runs.

nhi-gate asks git through a handful of plumbing commands (`checker.git.run.run_git`) and reads
objects through one long-lived `git cat-file --batch` (and `--batch-check`) process per
repository. This is the whole of what it needed from GitPython, whose import alone cost the
pre-commit hook about a fifth of its run (benchmarks/RESULTS.md, "Import cost"): `Repo` keeps
the names GitPython gives them (`working_tree_dir`, `git_dir`, `common_dir`, `head`,
`git.execute`, `git.get_object_data`, `git.get_object_header`, and `git.<command>(...)`), so
callers read the same. Every process runs with `LC_ALL=C`/`LANGUAGE=C` (untranslated output, as
GitPython runs them), no terminal prompt, stdin closed unless given, and replace refs off
(`GIT_NO_REPLACE_OBJECTS=1`): a `refs/replace/` entry would show a commit git does not hold
under that id (a human-authored copy of an agent's commit), so nhi-gate always reads the real
objects (https://git-scm.com/docs/git-replace; `checker.git.refs.replaced_objects` lists them).

Errors: `InvalidGitRepositoryError`/`NoSuchPathError` from `Repo(path)`, `GitCommandError` (the
command, its exit status and stderr) from a failing command, `GitCommandNotFound` when git
cannot be started, `ValueError` for an object name git does not know (`cat-file`'s `missing`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Literal, overload

#: The git executable (`GIT_PYTHON_GIT_EXECUTABLE` is honoured, as GitPython honours it).
GIT = os.environ.get("GIT_PYTHON_GIT_EXECUTABLE") or "git"


class GitCommandError(Exception):
    """A git command exited non-zero: `command` (argv), `status`, `stderr` (bytes)."""

    def __init__(self, command: Sequence[str], status: int, stderr: bytes) -> None:
        super().__init__(f"{' '.join(command)}: exit status {status}: "
                         f"{stderr.decode('utf-8', 'replace').strip()}")
        self.command = list(command)
        self.status = status
        self.stderr = stderr


class GitCommandNotFound(OSError):
    """The git executable could not be started."""


class InvalidGitRepositoryError(Exception):
    """The path is in no git repository."""


class NoSuchPathError(OSError):
    """The path does not exist."""


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "LANGUAGE": "C", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0",
           "GIT_NO_REPLACE_OBJECTS": "1"}
    return {**env, **extra} if extra else env


class _Batch:
    """One `git cat-file --batch[-check]` process, answering one object name at a time."""

    def __init__(self, cwd: str, option: str) -> None:
        self._argv = [GIT, "cat-file", option]
        self._cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    def ask(self, name: str) -> tuple[str, str, int, IO[bytes]]:
        if "\n" in name.rstrip("\n"):
            raise ValueError(f"object name {name!r} contains a line feed")
        if self._proc is None or self._proc.poll() is not None:
            try:
                self._proc = subprocess.Popen(self._argv, cwd=self._cwd, env=_env(),
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            except OSError as exc:
                raise GitCommandNotFound(exc.errno, f"{GIT}: {exc.strerror}") from exc
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(name.rstrip("\n").encode("utf-8", "surrogateescape") + b"\n")
        self._proc.stdin.flush()
        header = self._proc.stdout.readline().decode("utf-8", "replace").split()
        if len(header) != 3 or not header[2].isdigit():
            raise ValueError(f"object {name} could not be read: git returned "
                             f"{' '.join(header) or 'nothing'}")
        return header[0], header[1], int(header[2]), self._proc.stdout

    def close(self) -> None:
        if self._proc is not None:
            for pipe in (self._proc.stdin, self._proc.stdout):
                if pipe is not None:
                    pipe.close()
            self._proc.wait()
            self._proc = None


class Git:
    """The git commands of one repository (`Repo.git`), run in its work tree (or git dir)."""

    def __init__(self, cwd: str) -> None:
        self._cwd = cwd
        self._lock = threading.Lock()
        self._data = _Batch(cwd, "--batch")
        self._header = _Batch(cwd, "--batch-check")

    @overload
    def execute(self, command: Sequence[str], *, istream: IO[bytes] | None = None,
                stdout_as_string: Literal[False], strip_newline_in_stdout: bool = True,
                ) -> bytes: ...
    @overload
    def execute(self, command: Sequence[str], *, with_extended_output: Literal[True],
                with_exceptions: bool = True) -> tuple[int, str, str]: ...

    def execute(self, command: Sequence[str], *, istream: IO[bytes] | None = None,
                stdout_as_string: bool = True, strip_newline_in_stdout: bool = True,
                with_extended_output: bool = False, with_exceptions: bool = True,
                ) -> bytes | tuple[int, str, str]:
        """Run `command` (argv, git first) to completion. Its stdout as bytes (the
        `stdout_as_string=False` form), or `(status, stdout, stderr)` as text with
        `with_extended_output`. Raises `GitCommandError` on a non-zero exit (unless
        `with_exceptions=False`), `GitCommandNotFound` when git cannot start."""
        try:
            proc = subprocess.run(list(command), cwd=self._cwd, env=_env(),
                                  stdin=istream if istream is not None else subprocess.DEVNULL,
                                  capture_output=True, check=False)
        except OSError as exc:
            raise GitCommandNotFound(exc.errno, f"{command[0]}: {exc.strerror}") from exc
        if proc.returncode != 0 and with_exceptions:
            raise GitCommandError(command, proc.returncode, proc.stderr)
        out = proc.stdout
        if strip_newline_in_stdout and out.endswith(b"\n"):
            out = out[:-1]
        if with_extended_output:
            return (proc.returncode, out.decode("utf-8", "replace"),
                    proc.stderr.decode("utf-8", "replace").rstrip("\n"))
        return out

    def __getattr__(self, name: str) -> _Command:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Command(self, name.replace("_", "-"))

    def get_object_header(self, name: str) -> tuple[str, str, int]:
        """(object id, type, size in bytes) of object `name`; `ValueError` when unknown."""
        with self._lock:
            sha, kind, size, _ = self._header.ask(name)
        return sha, kind, size

    def get_object_data(self, name: str) -> tuple[str, str, int, bytes]:
        """(object id, type, size, content bytes) of object `name`; `ValueError` when
        unknown."""
        with self._lock:
            sha, kind, size, out = self._data.ask(name)
            data = out.read(size)
            out.read(1)  # the newline after the content
        return sha, kind, size, data

    def close(self) -> None:
        """Stop the `cat-file` processes (started again if used after)."""
        with self._lock:
            self._data.close()
            self._header.close()


class _Command:
    """`repo.git.rev_parse("--verify", "HEAD")`: `git rev-parse --verify HEAD`, its stdout as
    text without the last newline."""

    def __init__(self, git: Git, name: str) -> None:
        self._git = git
        self._name = name

    def __call__(self, *args: str) -> str:
        out = self._git.execute([GIT, self._name, *args], stdout_as_string=False)
        return out.decode("utf-8", "surrogateescape")


class _Commit:
    def __init__(self, hexsha: str) -> None:
        self.hexsha = hexsha


class Head:
    """`repo.head`: whether HEAD names a commit (`is_valid()`), and that commit
    (`commit.hexsha`; `ValueError` when there is none, as on an unborn branch)."""

    def __init__(self, git: Git) -> None:
        self._git = git

    def sha(self) -> str | None:
        """The commit HEAD names, None when there is none (asked of the repository's
        persistent `cat-file --batch-check` session, which every run starts anyway)."""
        try:
            sha, kind, _ = self._git.get_object_header("HEAD^{commit}")
        except ValueError:  # "missing": an unborn branch
            return None
        return sha if kind == "commit" else None

    def is_valid(self) -> bool:
        return self.sha() is not None

    @property
    def commit(self) -> _Commit:
        sha = self.sha()
        if sha is None:
            raise ValueError("HEAD does not name a commit (an unborn branch)")
        return _Commit(sha)


class Repo:
    """The git repository containing `path` (parent directories are searched).

    Attributes as GitPython names them: `working_tree_dir` (None when bare), `git_dir`,
    `common_dir` (the main repository's git dir for a linked worktree), `git` (`Git`), `head`
    (`Head`). A context manager; `close()` stops its `cat-file` processes.
    """

    def __init__(self, path: Path | str, search_parent_directories: bool = True) -> None:
        start = Path(path)
        if not start.exists():
            raise NoSuchPathError(2, f"{start}: no such directory")
        where = start if start.is_dir() else start.parent
        try:
            proc = subprocess.run(
                [GIT, "rev-parse", "--absolute-git-dir", "--git-common-dir",
                 "--is-bare-repository", "--show-toplevel"],
                cwd=where, env=_env(), stdin=subprocess.DEVNULL, capture_output=True,
                check=False)
        except OSError as exc:
            raise GitCommandNotFound(exc.errno, f"{GIT}: {exc.strerror}") from exc
        lines = proc.stdout.decode("utf-8", "surrogateescape").split("\n")
        if len(lines) < 3 or not lines[0]:
            raise InvalidGitRepositoryError(str(start))
        self.git_dir = lines[0]
        common = Path(lines[1])
        self.common_dir = str(common if common.is_absolute() else (where / common).resolve())
        bare = lines[2] == "true"
        self.working_tree_dir: str | None = (
            None if bare or len(lines) < 4 or not lines[3] else lines[3])
        if not search_parent_directories and Path(self.working_tree_dir or self.git_dir
                                                  ).resolve() != where.resolve():
            raise InvalidGitRepositoryError(str(start))
        self.git = Git(self.working_tree_dir or self.git_dir)
        self.head = Head(self.git)
        #: Whole-tree listings kept for the run (`git.objects.preload_listing`): a commit's
        #: full sha, or None for the index -> path -> (mode, object id).
        self.listings: dict[str | None, dict[str, tuple[str, str]]] = {}
        #: Paths with unmerged (stage 1-3) index entries, once per entry, when the index is
        #: preloaded.
        self.unmerged: list[str] = []
        #: A preloaded listing's paths by parent directory, built when first asked for.
        self.listing_dirs: dict[str | None, dict[str, list[str]]] = {}
        #: A preloaded listing's regular files by the name endings asked (`git.grep`), None
        #: when the tree has a `.gitattributes` file; built when first asked for.
        self.listing_suffixes: dict[tuple[str | None, tuple[str, ...]],
                                    list[tuple[str, str]] | None] = {}

    def close(self) -> None:
        """Stop the repository's `cat-file` processes."""
        self.git.close()

    def __enter__(self) -> Repo:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit, modules may be gone
            self.close()
