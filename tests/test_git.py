"""checker.git against real temporary repositories (see conftest.GitRepo)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import CLAUDE_TRAILER, COPILOT, HUMAN, WEB_FLOW, GitRepo

import checker.git as cg
from checker.change import ChangedFile
from checker.errors import GitError
from checker.git import diff, lineage, log
from checker.git.run import run_git

UNICODE = "my dir/ünï file.tf"
QUOTED = 'odd"name\\x.tf'


def _by_path(files: tuple[ChangedFile, ...]) -> dict[str, ChangedFile]:
    return {f.path: f for f in files}


@pytest.fixture
def three(git_repo: GitRepo) -> dict[str, str]:
    """main: base commit; branch copilot/add-sa: agent c1, human c2, human+Claude c3."""
    r = git_repo
    shas = {
        "base": r.commit(
            {
                "README.md": "hello\n",
                "infra/old.tf": "a\nb\nc\n",
                "infra/gone.tf": "x\n",
                "docs/a.txt": "".join(f"l{i}\n" for i in range(1, 11)),
            },
            message="base",
        )
    }
    r.checkout("copilot/add-sa", create=True)
    shas["c1"] = r.commit(
        {"infra/iam.tf": "1\n2\n3\n4\n5\n", "infra/old.tf": "a\nB\nc\nd\n"},
        author=COPILOT,
        committer=WEB_FLOW,
        message="Add service account\n\nBody line.",
        trailers=[
            ("Co-authored-by", "Alice Example <alice@example.com>"),
            ("Co-authored-by", "Bob Reviewer <bob@example.com>"),
            ("Co-authored-by", "Alice Example <alice@example.com>"),
        ],
    )
    shas["c2"] = r.commit(
        {
            "infra/iam.tf": "1\nTWO\n3\n4\n5\n6\n7\n",
            "docs/b.txt": "".join(f"l{i}\n" for i in range(1, 10)) + "L10\n",
            "infra/gone.tf": None,
        },
        renames={"docs/a.txt": "docs/b.txt"},
        message="Tweak",
    )
    shas["c3"] = r.commit(
        {UNICODE: "u1\nu2\n", QUOTED: "q\n"},
        message="Unicode\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)",
        trailers=[CLAUDE_TRAILER],
    )
    return shas


def test_build_changeset_commits(git_repo: GitRepo, three: dict[str, str]) -> None:
    with cg.repo_session(git_repo.path) as repo:
        cs = cg.build_changeset(repo, three["base"], three["c3"], branch="copilot/add-sa")
    assert (cs.base, cs.head, cs.branch) == (three["base"], three["c3"], "copilot/add-sa")
    assert [c.sha for c in cs.commits] == [three["c1"], three["c2"], three["c3"]]  # oldest first
    c1, c2, c3 = cs.commits
    assert c1.parents == (three["base"],)
    assert (c1.author_name, c1.author_email) == COPILOT
    assert (c1.committer_name, c1.committer_email) == WEB_FLOW
    assert c1.message.startswith("Add service account\n\nBody line.\n\nCo-authored-by: Alice")
    assert not c1.message.endswith("\n")
    assert c1.trailers == (
        ("Co-authored-by", "Alice Example <alice@example.com>"),
        ("Co-authored-by", "Bob Reviewer <bob@example.com>"),
        ("Co-authored-by", "Alice Example <alice@example.com>"),
    )
    assert c1.signature == "N"
    assert (c2.author_name, c2.author_email) == HUMAN
    assert c2.trailers == ()
    assert c3.trailers == (CLAUDE_TRAILER,)
    assert "Generated with [Claude Code]" in c3.message


def test_build_changeset_files_and_lines(git_repo: GitRepo, three: dict[str, str]) -> None:
    with cg.repo_session(git_repo.path) as repo:
        cs = cg.build_changeset(repo, three["base"], three["c3"])
    assert [f.path for f in cs.files] == sorted(f.path for f in cs.files)
    files = _by_path(cs.files)
    assert set(files) == {
        "docs/b.txt",
        "infra/gone.tf",
        "infra/iam.tf",
        "infra/old.tf",
        UNICODE,
        QUOTED,
    }
    c1, c2, c3 = three["c1"], three["c2"], three["c3"]

    b = files["docs/b.txt"]
    assert (b.status, b.old_path, b.added_lines) == ("R", "docs/a.txt", ((10, 10),))
    assert dict(b.line_commits) == {10: c2}

    gone = files["infra/gone.tf"]
    assert (gone.status, gone.old_path, gone.added_lines, dict(gone.line_commits)) == (
        "D",
        None,
        (),
        {},
    )

    iam = files["infra/iam.tf"]
    assert (iam.status, iam.added_lines) == ("A", ((1, 7),))
    # the human's later edit of line 2 and lines 6-7 does not steal the agent's lines
    assert dict(iam.line_commits) == {1: c1, 2: c2, 3: c1, 4: c1, 5: c1, 6: c2, 7: c2}

    old = files["infra/old.tf"]
    assert (old.status, old.added_lines) == ("M", ((2, 2), (4, 4)))
    assert dict(old.line_commits) == {2: c1, 4: c1}

    uni = files[UNICODE]
    assert (uni.status, uni.added_lines, dict(uni.line_commits)) == ("A", ((1, 2),), {1: c3, 2: c3})
    assert files[QUOTED].added_lines == ((1, 1),)
    assert dict(files[QUOTED].line_commits) == {1: c3}


def test_build_changeset_is_batched(
    git_repo: GitRepo, three: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def counting(repo: object, *args: str) -> bytes:
        calls.append(args[0])
        return run_git(repo, *args)  # type: ignore[arg-type]

    for module in (diff, lineage, log):  # every module of the package that runs git for it
        monkeypatch.setattr(module, "run_git", counting)
    with cg.repo_session(git_repo.path) as repo:
        cg.build_changeset(repo, three["base"], three["c3"])
    # one log for commits, two diffs, one `log -p` replayed for line origins: no blame
    # commits, per-file commits (for changes that add no line), and the replayed log -p
    assert sorted(calls) == ["diff", "diff", "log", "log", "log"]

    calls.clear()
    with cg.repo_session(git_repo.path) as repo:
        cs = cg.build_changeset(repo, three["c2"], three["c3"])
    assert sorted(calls) == ["diff", "diff", "log", "log"]  # single commit: no blame needed
    assert dict(_by_path(cs.files)[UNICODE].line_commits) == {1: three["c3"], 2: three["c3"]}

    calls.clear()
    with cg.repo_session(git_repo.path) as repo:
        cs = cg.build_changeset(
            repo, three["base"], three["c3"], blame_filter=lambda p: p.endswith("iam.tf")
        )
    assert dict(_by_path(cs.files)["infra/old.tf"].line_commits) == {}
    assert dict(_by_path(cs.files)["infra/iam.tf"].line_commits)[2] == three["c2"]

    calls.clear()
    with cg.repo_session(git_repo.path) as repo:
        cs = cg.build_changeset(repo, three["base"], three["c3"], blame_filter=lambda p: False)
    assert sorted(calls) == ["diff", "diff", "log", "log"]
    assert all(not f.line_commits for f in cs.files)


def test_pure_deletion_binary_and_header_lookalike(git_repo: GitRepo) -> None:
    base = git_repo.commit({"a.tf": "1\n2\n3\n4\n", "bin.dat": b"\x00\x01\x02"})
    head = git_repo.commit(
        {
            "a.tf": "1\n4\n",  # lines 2-3 deleted, nothing added
            "bin.dat": b"\x00\x01\x03\xff",
            "evil.tf": "++ b/other.tf\n@@ -1 +1,9 @@\ndiff --git a/x b/x\n",
            "no-eol.tf": "last",
        }
    )
    with cg.repo_session(git_repo.path) as repo:
        files = _by_path(cg.build_changeset(repo, base, head).files)
    assert (files["a.tf"].status, files["a.tf"].added_lines) == ("M", ())
    # diffed with `--text`: binary content has lines too (its parse is NHI902 anyway)
    assert (files["bin.dat"].status, files["bin.dat"].added_lines) == ("M", ((1, 1),))
    assert files["evil.tf"].added_lines == ((1, 3),)
    assert dict(files["evil.tf"].line_commits) == {1: head, 2: head, 3: head}
    assert files["no-eol.tf"].added_lines == ((1, 1),)
    assert set(files) == {"a.tf", "bin.dat", "evil.tf", "no-eol.tf"}


def test_merge_commit_in_range(git_repo: GitRepo) -> None:
    base = git_repo.commit({"a.tf": "1\n"})
    git_repo.checkout("feature", create=True)
    f1 = git_repo.commit({"b.tf": "b\n"}, author=COPILOT)
    git_repo.checkout("main")
    m1 = git_repo.commit({"c.tf": "c\n"})
    git_repo.checkout("feature")
    merge = git_repo.merge("main")
    with cg.repo_session(git_repo.path) as repo:
        cs = cg.build_changeset(repo, base, merge)
    shas = [c.sha for c in cs.commits]
    assert shas[-1] == merge and set(shas) == {f1, m1, merge}
    assert cs.commits[-1].parents == (f1, m1)
    files = _by_path(cs.files)
    assert dict(files["b.tf"].line_commits) == {1: f1}
    assert dict(files["c.tf"].line_commits) == {1: m1}


def test_control_character_in_message_fails_closed(git_repo: GitRepo) -> None:
    base = git_repo.commit({"a.tf": "1\n"})
    head = git_repo.commit({"a.tf": "2\n"}, message="spoof\x1fHUMAN\x1ehuman@example.com")
    with cg.repo_session(git_repo.path) as repo, pytest.raises(GitError, match="control"):
        cg.build_changeset(repo, base, head)


def test_read_blobs_and_entries(git_repo: GitRepo) -> None:
    git_repo.symlink("link.tf", "/etc/passwd")
    head = git_repo.commit({UNICODE: "ü\n", "a.tf": "A\n", "dup.tf": "A\n", "big.tf": "x" * 100})
    with cg.repo_session(git_repo.path) as repo:
        blobs = cg.read_blobs(repo, head, [UNICODE, "a.tf", "missing.tf", "link.tf", "my dir"])
        assert blobs == {
            UNICODE: "ü\n".encode(),
            "a.tf": b"A\n",
            "missing.tf": None,
            "link.tf": None,  # never the link text
            "my dir": None,  # a directory is not a file
        }
        entries = cg.read_entries(
            repo, "HEAD", ["link.tf", "a.tf", "dup.tf", "big.tf"], max_bytes=50
        )
        assert entries["link.tf"].is_symlink and entries["link.tf"].data is None
        assert entries["link.tf"].mode == cg.MODE_SYMLINK
        assert entries["a.tf"].is_file and entries["a.tf"].size == 2
        assert entries["dup.tf"].data == b"A\n" and entries["dup.tf"].sha == entries["a.tf"].sha
        assert entries["big.tf"].too_large and entries["big.tf"].data is None
        assert entries["big.tf"].size == 100
        with pytest.raises(GitError, match="unknown revision 'nope'"):
            cg.read_blobs(repo, "nope", ["a.tf"])


def test_staged_changeset_and_index_blobs(git_repo: GitRepo) -> None:
    base = git_repo.commit({"a.tf": "1\n2\n", "old name.tf": "o1\no2\no3\no4\n"})
    git_repo.stage({"a.tf": "1\nX\n2\n", UNICODE: "n\n"}, renames={"old name.tf": "new name.tf"})
    git_repo.write({"a.tf": "unstaged working tree\n"})
    with cg.repo_session(git_repo.path) as repo:
        cs = cg.staged_changeset(repo, None)
        assert (cs.base, cs.head, cs.commits, cs.branch) == (base, None, (), "main")
        files = _by_path(cs.files)
        assert (files["a.tf"].status, files["a.tf"].added_lines) == ("M", ((2, 2),))
        assert (files[UNICODE].status, files[UNICODE].added_lines) == ("A", ((1, 1),))
        renamed = files["new name.tf"]
        assert (renamed.status, renamed.old_path, renamed.added_lines) == ("R", "old name.tf", ())
        assert all(not f.line_commits for f in cs.files)

        only = cg.staged_changeset(repo, ["a.tf"])
        assert [f.path for f in only.files] == ["a.tf"]
        assert cg.staged_changeset(repo, []).files == ()

        staged = cg.read_index_entries(repo, ["a.tf", UNICODE, "missing.tf", "old name.tf"])
        assert {p: e.data for p, e in staged.items()} == {
            "a.tf": b"1\nX\n2\n",  # staged, not the working tree
            UNICODE: b"n\n",
        }


def test_staged_changeset_unborn_branch(git_repo: GitRepo) -> None:
    git_repo.stage({"a.tf": "1\n2\n", "*.tf": "glob\n"})
    git_repo.symlink("l.tf", "a.tf")
    git_repo.stage()
    with cg.repo_session(git_repo.path) as repo:
        cs = cg.staged_changeset(repo, None)
        assert cs.base is None
        files = _by_path(cs.files)
        assert files["a.tf"].added_lines == ((1, 2),)
        assert files["*.tf"].added_lines == ((1, 1),)
        # literal pathspecs: "*.tf" is a file name, not a glob
        assert [f.path for f in cg.staged_changeset(repo, ["*.tf"]).files] == ["*.tf"]
        assert cg.read_index_entries(repo, ["*.tf"])["*.tf"].data == b"glob\n"
        entries = cg.read_index_entries(repo, ["l.tf"])
        assert entries["l.tf"].is_symlink and entries["l.tf"].data is None
        with pytest.raises(GitError, match="the repository has no commits yet, so there is "
                                            "no change to check"):
            cg.resolve_range(repo, None, None)
        with pytest.raises(GitError, match="unknown revision 'HEAD'"):
            cg.resolve_range(repo, None, "HEAD")


def test_resolve_range_default_base_is_merge_base_with_main(git_repo: GitRepo) -> None:
    fork = git_repo.commit({"a.tf": "1\n"})
    git_repo.checkout("claude/x", create=True)
    head = git_repo.commit({"b.tf": "b\n"})
    git_repo.checkout("main")
    git_repo.commit({"c.tf": "c\n"})  # main moves on: base must stay the fork point
    git_repo.checkout("claude/x")
    with cg.repo_session(git_repo.path) as repo:
        assert cg.resolve_range(repo, None, None) == (fork, head)
        assert cg.resolve_range(repo, None, "claude/x") == (fork, head)
        # an explicit base that is not an ancestor of head: merge-base(base, head)
        assert cg.resolve_range(repo, "main", "HEAD") == (fork, head)
        assert cg.resolve_range(repo, fork, head) == (fork, head)
        assert cg.current_branch(repo) == "claude/x"


def test_resolve_range_prefers_origin_head(git_repo: GitRepo) -> None:
    first = git_repo.commit({"a.tf": "1\n"})
    second = git_repo.commit({"a.tf": "2\n"})
    git_repo.set_remote_default("trunk", first)  # origin/HEAD -> origin/trunk at `first`
    with cg.repo_session(git_repo.path) as repo:
        assert cg.resolve_range(repo, None, None) == (first, second)


def test_resolve_range_on_default_branch_asks_for_base(git_repo: GitRepo) -> None:
    git_repo.commit({"a.tf": "1\n"})
    with cg.repo_session(git_repo.path) as repo, pytest.raises(GitError, match="pass --base"):
        cg.resolve_range(repo, None, None)


def test_resolve_range_without_default_branch(make_repo: Callable[..., GitRepo]) -> None:
    r = make_repo(branch="trunk")
    r.commit({"a.tf": "1\n"})
    with cg.repo_session(r.path) as repo, pytest.raises(GitError, match="no default branch"):
        cg.resolve_range(repo, None, None)


def test_resolve_range_missing_ref(git_repo: GitRepo) -> None:
    git_repo.commit({"a.tf": "1\n"})
    with cg.repo_session(git_repo.path) as repo:
        for bad in ("xyz", "--output=/tmp/x", "main..HEAD\nfoo"):
            with pytest.raises(GitError) as info:
                cg.resolve_range(repo, bad, "HEAD")
            assert str(info.value) == (
                f"unknown revision '{bad}' (is the clone shallow? fetch with fetch-depth: 0)"
            )
        with pytest.raises(GitError, match="unknown revision 'xyz'"):
            cg.resolve_range(repo, "main", "xyz")


def test_resolve_range_unrelated_histories(git_repo: GitRepo) -> None:
    git_repo.commit({"a.tf": "1\n"})
    git_repo.git("checkout", "--quiet", "--orphan", "other")
    git_repo.git("rm", "-r", "--quiet", "--cached", ".")
    orphan = git_repo.commit({"z.tf": "z\n"})
    with (
        cg.repo_session(git_repo.path) as repo,
        pytest.raises(GitError, match="no common ancestor"),
    ):
        cg.resolve_range(repo, "main", orphan)


def test_open_repo_errors(tmp_path: Path, git_repo: GitRepo) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(GitError) as info:
        cg.open_repo(plain)
    assert str(info.value) == f"{plain}: not a git repository"
    with pytest.raises(GitError, match="no such directory"):
        cg.open_repo(tmp_path / "absent")
    sub = git_repo.path / "sub"
    sub.mkdir()
    with cg.open_repo(sub) as repo:  # parent directories are searched
        assert Path(repo.working_tree_dir or "") == git_repo.path


def test_current_branch_detached(git_repo: GitRepo) -> None:
    sha = git_repo.commit({"a.tf": "1\n"})
    git_repo.git("checkout", "--quiet", "--detach", sha)
    with cg.repo_session(git_repo.path) as repo:
        assert cg.current_branch(repo) is None


def test_git_identity(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    with cg.repo_session(git_repo.path) as repo:
        assert cg.git_identity(repo) == HUMAN  # from `git config user.*`
        monkeypatch.setenv("GIT_AUTHOR_NAME", COPILOT[0])
        monkeypatch.setenv("GIT_AUTHOR_EMAIL", COPILOT[1])
        assert cg.git_identity(repo) == COPILOT
        monkeypatch.delenv("GIT_AUTHOR_NAME")
        assert cg.git_identity(repo) == (HUMAN[0], COPILOT[1])


def test_parse_added_lines_unit() -> None:
    raw = (
        b"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,0 +2 @@\n+a\n@@ -5,2 +6,0 @@\n-b\n-c\n"
        b"@@ -9 +8,2 @@\n-d\n+e\n\\ No newline at end of file\n+f\n"
        b'diff --git "a/q\\"\\303\\274" "b/q\\"\\303\\274"\n--- "a/q\\"\\303\\274"\n'
        b'+++ "b/q\\"\\303\\274"\n@@ -0,0 +1,2 @@\n++++ b/fake\n+@@ -1 +1,99 @@\n'
        b"diff --git a/gone b/gone\n--- a/gone\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
        b"diff --git a/s p b/s p\n--- a/s p\t\n+++ b/s p\t\n@@ -1 +1 @@\n-1\n+2\n"
    )
    assert diff._parse_added_lines(raw) == {
        "x": ((2, 2), (8, 9)),
        'q"ü': ((1, 2),),
        "s p": ((1, 1),),
    }


def test_replay_agrees_with_blame(git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Line origins replayed from one `git log -p` equal `git blame` for every file."""
    import random

    rnd = random.Random(7)
    contents = {f"f{i}.tf": [f"base {i}.{j}\n" for j in range(8)] for i in range(5)}
    base = git_repo.commit({p: "".join(c) for p, c in contents.items()})
    git_repo.checkout("feature", create=True)
    for n in range(12):
        changed: dict[str, str | None] = {}
        renames: dict[str, str] = {}
        for path in rnd.sample(sorted(contents), rnd.choice((1, 1, 2))):
            lines = contents[path]
            lines.insert(rnd.randrange(len(lines) + 1), f"added {n}\n")
            if rnd.random() < 0.4:
                lines[rnd.randrange(len(lines))] = f"changed {n}\n"
            if rnd.random() < 0.15:
                new = f"moved{n}_{path}"
                renames[path] = new
                contents[new] = contents.pop(path)
                path = new
            changed[path] = "".join(contents[path])
        git_repo.commit(changed, renames=renames, author=COPILOT if n % 2 else HUMAN)
    head = git_repo.sha()
    with cg.repo_session(git_repo.path) as repo:
        fast = cg.build_changeset(repo, base, head)
        monkeypatch.setattr(lineage, "_replay", lambda raw: ({}, set()))  # force git blame
        slow = cg.build_changeset(repo, base, head)
    # blame gives no lineage (ChangedFile.line_lineage): compare everything else
    assert fast == replace(slow, files=tuple(
        replace(f, line_lineage=g.line_lineage) for f, g in zip(slow.files, fast.files,
                                                               strict=True)))  # fmt: skip
    assert any(f.line_commits for f in fast.files)


def test_replay_binary_empty_and_recreated_files(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = git_repo.commit({"bin.tf": "t1\nt2\n", "gone.tf": "g\n", "keep.tf": "k1\nk2\n"})
    git_repo.checkout("feature", create=True)
    c1 = git_repo.commit({"bin.tf": b"\x00\x01", "empty.tf": "", "gone.tf": None})
    c2 = git_repo.commit({"bin.tf": "t1\nnew\n", "empty.tf": "e1\n", "gone.tf": "again\n"})
    c3 = git_repo.commit(
        {"moved.tf": "t1\nnew\nmore\n", "keep.tf": "k0\nk1\nk2\n"},
        renames={"bin.tf": "moved.tf"},
        author=COPILOT,
    )
    with cg.repo_session(git_repo.path) as repo:
        fast = cg.build_changeset(repo, base, c3)
        monkeypatch.setattr(lineage, "_replay", lambda raw: ({}, set()))
        slow = cg.build_changeset(repo, base, c3)
    # blame gives no lineage: c2's lines of moved.tf replaced c1's (binary) line
    files = _by_path(fast.files)
    assert dict(files["moved.tf"].line_lineage) == {1: (c1,), 2: (c1,)}
    assert fast == replace(slow, files=tuple(
        replace(f, line_lineage=files[f.path].line_lineage) for f in slow.files))
    assert dict(files["empty.tf"].line_commits) == {1: c2}
    assert dict(files["gone.tf"].line_commits) == {1: c2}
    assert dict(files["keep.tf"].line_commits) == {1: c3}
    assert c1 not in {s for f in fast.files for s in f.line_commits.values()}


def test_gitattributes_in_the_change_cannot_hide_lines(git_repo: GitRepo) -> None:
    base = git_repo.commit({"README.md": "x\n"})
    head = git_repo.commit({
        ".gitattributes": "*.tf binary\n*.yaml -diff\n",
        "infra/sa.tf": 'resource "google_service_account" "x" {\n  account_id = "x"\n}\n',
        "k8s/sa.yaml": "kind: ServiceAccount\n",
    }, author=COPILOT)
    git_repo.write({".gitattributes": "*.tf binary\n*.yaml -diff\n"})
    with cg.repo_session(git_repo.path) as repo:
        files = _by_path(cg.build_changeset(repo, base, head).files)
    assert files["infra/sa.tf"].added_lines == ((1, 3),)
    assert dict(files["infra/sa.tf"].line_commits) == {1: head, 2: head, 3: head}
    assert files["k8s/sa.yaml"].added_lines == ((1, 1),)
