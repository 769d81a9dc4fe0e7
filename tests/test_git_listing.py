"""`checker.git.preload_listing`: one whole-tree listing answers every later lookup of that tree
exactly as the per-call git commands do (the `hook` preloads the index and HEAD)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import GitRepo

import checker.git as cg
from checker.git.repo import Repo

BASE = {
    "main.tf": 'resource "aws_iam_user" "u" { name = "u" }\n',
    "UPPER.TF": "# an upper-case suffix\n",
    "iam/roles.tf": "# roles\n",
    "iam/vars.tfvars": "x = 1\n",
    "iam/deep/nested.tf": "# a subdirectory's file\n",
    "my dir/ünï file.tf": "# unicode path\n",
    "k8s/sa.yaml": "kind: ServiceAccount\n",
    "bin/run.sh": "#!/bin/sh\n",
}
STAGED = {
    "iam/roles.tf": "# roles, edited\n",
    "iam/new.tf": "# added\n",
    "k8s/sa.yaml": None,
    "big.tf": "#" * 5000 + "\n",
}
DIRECTORIES = ["", "iam", "iam/deep", "my dir", "k8s", "missing"]
SUFFIXES = [".tf", ".tfvars"]


@pytest.fixture
def repo(make_repo: object) -> GitRepo:
    r: GitRepo = make_repo()  # type: ignore[operator]
    r.write(BASE)
    (r.path / "bin/run.sh").chmod(0o755)
    r.symlink("link.tf", "main.tf")
    r.symlink("iam/link.tf", "../main.tf")
    r.commit()
    r.stage(STAGED)
    return r


def _answers(repo: Repo, head: str) -> dict[str, object]:
    """Every lookup the hook makes, for the index and for `head`."""
    paths = [*BASE, *STAGED, "link.tf", "iam/link.tf", "iam", "nope.tf"]
    return {
        "index": cg.read_index_entries(repo, paths, max_bytes=1000),
        "head": cg.read_entries(repo, head, paths, max_bytes=1000),
        "blobs": cg.read_blobs(repo, head, paths),
        "dirs-index": cg.read_directory_entries(repo, None, DIRECTORIES, SUFFIXES,
                                                exclude=["main.tf"], max_bytes=1000),
        "dirs-head": cg.read_directory_entries(repo, head, DIRECTORIES, SUFFIXES,
                                               exclude=["iam/roles.tf"]),
        "files-index": cg.list_files(repo, None),
        "files-head": cg.list_files(repo, head),
    }


def test_a_preloaded_listing_answers_as_git_does(repo: GitRepo) -> None:
    head = repo.sha()
    with Repo(repo.path) as plain:
        expected = _answers(plain, head)
    with Repo(repo.path) as preloaded:
        cg.preload_listing(preloaded, None)
        cg.preload_listing(preloaded, "HEAD")
        assert set(preloaded.listings) == {None, head}
        assert _answers(preloaded, head) == expected
    # The lookups saw what the fixture made: not vacuous.
    assert set(expected["dirs-index"]) == {  # type: ignore[call-overload]
        "big.tf", "link.tf", "iam/roles.tf", "iam/new.tf", "iam/link.tf", "iam/vars.tfvars",
        "iam/deep/nested.tf", "my dir/ünï file.tf"}
    head_entries = expected["head"]
    assert head_entries["link.tf"].is_symlink and head_entries["link.tf"].size == 7  # type: ignore[index]
    assert "iam" not in head_entries  # type: ignore[operator]  # a directory is no entry
    assert head_entries["bin/run.sh"].mode == cg.MODE_EXECUTABLE  # type: ignore[index]
    assert expected["index"]["big.tf"].too_large  # type: ignore[index]
    assert "k8s/sa.yaml" not in expected["index"]  # type: ignore[operator]


def test_an_unmerged_path_is_listed_as_ls_files_lists_it(repo: GitRepo, tmp_path: Path) -> None:
    repo.git("commit", "--quiet", "--no-verify", "-m", "staged")
    repo.checkout("other", create=True, start="HEAD~1")
    repo.commit({"iam/roles.tf": "# roles, the other way\n"})
    repo.checkout("main")
    result = repo.path / "merge.out"
    try:
        repo.git("merge", "--quiet", "other")
    except AssertionError:
        result.write_text("conflict")
    assert result.read_text() == "conflict"
    with Repo(repo.path) as plain:
        expected = (cg.list_files(plain, None), cg.read_index_entries(plain, ["iam/roles.tf"]))
    with Repo(repo.path) as preloaded:
        cg.preload_listing(preloaded, None)
        got = (cg.list_files(preloaded, None), cg.read_index_entries(preloaded, ["iam/roles.tf"]))
    assert got == expected
    assert expected[0].count("iam/roles.tf") == 3 and expected[1] == {}


#: (needles, suffixes) the callers ask `grep_files`: names, a fixed string seen in a symlink's
#: target and in a binary file, an upper-case suffix, a needle in no file, a non-ASCII needle.
GREPS = [
    (["roles"], [".tf"]),
    (["main.tf"], [".tf"]),
    (["aws_iam_user", "added"], [".tf", ".TF"]),
    (["upper-case"], [".TF"]),
    (["kind:"], [".yaml", ".yml", ".bin"]),
    (["nowhere"], [".tf"]),
    (["unicode"], [".tf"]),
    (["ünï"], [".tf"]),
    (["#!/bin/sh"], [".sh"]),
]


def _greps(repo: Repo, head: str) -> list[object]:
    return [cg.grep_files(repo, rev, needles, suffixes)
            for rev in (None, head) for needles, suffixes in GREPS]  # fmt: skip


def test_grep_from_a_preloaded_listing_answers_as_git_grep(repo: GitRepo) -> None:
    repo.write({"data.bin": b"kind: x\x00binary\n", "k8s/other.yaml": "kind: Role\n"})
    repo.stage({})
    head = repo.sha()
    with Repo(repo.path) as plain:
        expected = _greps(plain, head)
    with Repo(repo.path) as preloaded:
        cg.preload_listing(preloaded, None)
        cg.preload_listing(preloaded, "HEAD")
        calls: list[tuple[str, ...]] = []
        import checker.git.grep as grep_module

        real = grep_module.run_git_glob

        def counting(r: Repo, *args: str) -> bytes:
            calls.append(args)
            return real(r, *args)

        grep_module.run_git_glob = counting  # type: ignore[assignment]
        try:
            got = _greps(preloaded, head)
        finally:
            grep_module.run_git_glob = real  # type: ignore[assignment]
    assert got == expected
    assert calls == []  # every answer came from the listing, no `git grep`
    # Not vacuous: what the fixture holds was found, the binary file was not.
    assert expected[0] == ["iam/roles.tf"]
    assert expected[1] == []  # git grep never reads a symbolic link's target ("main.tf")
    assert expected[4] == ["k8s/other.yaml"]  # k8s/sa.yaml is deleted in the index
    assert expected[len(GREPS) + 4] == ["k8s/sa.yaml"]  # still at HEAD; data.bin never


def test_grep_asks_git_when_the_tree_has_gitattributes(repo: GitRepo) -> None:
    repo.stage({".gitattributes": "*.tf binary\n"})
    with Repo(repo.path) as plain:
        expected = cg.grep_files(plain, None, ["roles"], [".tf"])
    with Repo(repo.path) as preloaded:
        cg.preload_listing(preloaded, None)
        assert cg.grep_files(preloaded, None, ["roles"], [".tf"]) == expected == []
