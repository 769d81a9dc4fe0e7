"""`checker.git.repo`: the repository object nhi-gate reads git through, on real repositories:
discovery, bare and linked worktrees, HEAD, commands, the object reader, and every error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import GitRepo

from checker.git import repo as git_repo


def test_repository_is_found_from_a_subdirectory(make_repo: Callable[..., GitRepo]) -> None:
    r = make_repo()
    sha = r.commit({"infra/main.tf": "x\n"})
    with git_repo.Repo(r.path / "infra") as repo:
        assert Path(repo.working_tree_dir or "") == r.path.resolve()
        assert Path(repo.git_dir) == (r.path / ".git").resolve()
        assert Path(repo.common_dir) == (r.path / ".git").resolve()
        assert repo.head.is_valid() and repo.head.commit.hexsha == sha
        assert repo.git.rev_parse("--abbrev-ref", "HEAD") == "main"
        blob = repo.git.rev_parse(f"{sha}:infra/main.tf")
        assert repo.git.get_object_header(blob) == (blob, "blob", 2)
        assert repo.git.get_object_data(blob) == (blob, "blob", 2, b"x\n")
        assert repo.git.get_object_data(sha)[1] == "commit"  # the reader stays in step
        with pytest.raises(ValueError):
            repo.git.get_object_data("0" * 40)
        assert repo.git.get_object_data(blob)[3] == b"x\n"  # and after a missing object


def test_bare_repository_and_linked_worktree(make_repo: Callable[..., GitRepo],
                                             tmp_path: Path) -> None:
    r = make_repo()
    r.commit({"a.txt": "a\n"})
    r.git("clone", "--quiet", "--bare", str(r.path), str(tmp_path / "bare.git"))
    with git_repo.Repo(tmp_path / "bare.git") as bare:
        assert bare.working_tree_dir is None
        assert Path(bare.git_dir) == (tmp_path / "bare.git").resolve()
        assert bare.head.is_valid()
    r.git("worktree", "add", "--quiet", str(tmp_path / "wt"), "-b", "side")
    with git_repo.Repo(tmp_path / "wt") as linked:
        assert Path(linked.working_tree_dir or "") == (tmp_path / "wt").resolve()
        assert Path(linked.common_dir) == (r.path / ".git").resolve()
        assert Path(linked.git_dir) != Path(linked.common_dir)


def test_unborn_branch_has_no_head_commit(make_repo: Callable[..., GitRepo]) -> None:
    with git_repo.Repo(make_repo().path) as repo:
        assert not repo.head.is_valid()
        with pytest.raises(ValueError):
            repo.head.commit  # noqa: B018


def test_errors(make_repo: Callable[..., GitRepo], tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(git_repo.NoSuchPathError):
        git_repo.Repo(tmp_path / "absent")
    (tmp_path / "plain").mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(git_repo.InvalidGitRepositoryError):
        git_repo.Repo(tmp_path / "plain")
    with git_repo.Repo(make_repo().path) as repo:
        with pytest.raises(git_repo.GitCommandError) as err:
            repo.git.execute(["git", "rev-parse", "--verify", "nope"], stdout_as_string=False)
        assert err.value.status != 0 and err.value.stderr
        status, _, _ = repo.git.execute(["git", "rev-parse", "--verify", "nope"],
                                        with_extended_output=True, with_exceptions=False)
        assert status != 0
        with pytest.raises(git_repo.GitCommandNotFound):
            repo.git.execute(["/nonexistent/git", "status"], stdout_as_string=False)
        with pytest.raises(ValueError):
            repo.git.get_object_header("HEAD\nHEAD")
