"""Issue 16: a range's ChangeSet costs the same number of git processes whatever its number of
commits (merges included), line origins are computed only for files nhi-gate reads (no
`git blame` of a `.go` file), and the merge-aware replay agrees with `git blame`.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, GitRepo

from checker import git as cg
from checker.cli import main
from checker.commands.git_sources import may_be_read
from checker.git import lineage
from checker.git import repo as git_repo


def grow(repo: GitRepo, rounds: int, first: int = 0) -> None:
    """`rounds` pull requests (numbered from `first`): an agent branch editing a Terraform
    file, a manifest and Go code, a person's commit on `main` meanwhile, then a merge."""
    for n in range(first, first + rounds):
        repo.checkout(f"pr{n}", create=True, start="main")
        repo.commit({
            "infra/iam.tf": "".join(f'resource "aws_iam_user" "u{k}" {{ name = "u{k}" }}\n'
                                    for k in range(n + 1)),
            "k8s/sa.yaml": f"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa{n}\n",
            "cmd/main.go": f"package main\n\nfunc main() {{ println({n}) }}\n",
        }, author=COPILOT, message=f"agent {n}")
        repo.checkout("main")
        repo.commit({"cmd/util.go": f"package main\n\nvar v = {n}\n",
                     "docs/notes.md": f"round {n}\n"}, author=HUMAN, message=f"human {n}")
        repo.merge(f"pr{n}", message=f"Merge pr{n}")


def git_commands(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every git command started from now on (`checker.git.repo.Git.execute`, the one method
    that runs a command to completion; the `cat-file` readers are one process each)."""
    calls: list[list[str]] = []
    execute = git_repo.Git.execute

    def counting(self: git_repo.Git, command: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append([str(c) for c in command])
        return execute(self, command, *args, **kwargs)

    monkeypatch.setattr(git_repo.Git, "execute", counting)
    return calls


def run_check(repo: GitRepo, base: str, capsys: pytest.CaptureFixture[str]
              ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", repo.sha(),
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def _verb(cmd: list[str]) -> str:
    return next(c for c in cmd[1:] if not c.startswith("-") and "=" not in c
                and c not in ("core.quotePath=false", "blame.ignoreRevsFile="))


def test_git_processes_do_not_grow_with_commits(
    make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "hi\n"})
    grow(repo, 12)
    short_base = repo.sha()
    grow(repo, 3, first=12)
    with cg.repo_session(repo.path) as r:
        assert len(cg.read_commits(r, base, repo.sha())) == 45  # 15 PRs of 3 commits
        assert len(cg.read_commits(r, short_base, repo.sha())) == 9
    calls = git_commands(monkeypatch)
    code_short, short_findings = run_check(repo, short_base, capsys)
    short = Counter(_verb(c) for c in calls)
    calls.clear()
    code_long, long_findings = run_check(repo, base, capsys)
    long = Counter(_verb(c) for c in calls)
    assert (code_short, code_long) == (1, 1)
    assert {f["rule_id"] for f in long_findings if f["actor_kind"] == "agent"} >= {"NHI101"}
    assert short_findings
    # no more git commands for 45 commits than for 9, one of them the replay of every commit
    # and merge
    assert long - short == Counter() and long["diff-tree"] == 1
    assert "blame" not in long  # merges replayed, never blamed


def test_blame_only_for_files_nhi_gate_reads(
    make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """History that is not line-based (a copy) still needs `git blame`: only for a file
    nhi-gate reads, never for Go code beside it."""
    repo = make_repo()
    base = repo.commit({"README.md": "hi\n"})
    grow(repo, 2)
    body = "".join(f'resource "aws_iam_user" "c{k}" {{ name = "c{k}" }}\n' for k in range(9))
    code = "".join(f"func f{k}() int {{ return {k} }}\n" for k in range(9))
    repo.commit({"infra/src.tf": body, "cmd/src.go": code}, author=COPILOT)
    monkeypatch.setattr(lineage, "DIFF_OPTS", (*lineage.DIFF_OPTS, "-C", "-C"))
    repo.commit({"infra/copy.tf": body + "# copied\n", "cmd/copy.go": code + "// copied\n"},
                author=HUMAN)
    calls = git_commands(monkeypatch)
    run_check(repo, base, capsys)
    blamed = [c[-1] for c in calls if "blame" in c]
    assert blamed == ["infra/copy.tf"]
    assert not may_be_read("cmd/copy.go") and may_be_read("infra/copy.tf")
    with cg.repo_session(repo.path) as r:
        cs = cg.build_changeset(r, base, repo.sha(), blame_filter=may_be_read)
    files = {f.path: f for f in cs.files}
    assert (files["cmd/copy.go"].attributed, dict(files["cmd/copy.go"].line_commits)) == (
        False, {})
    assert files["infra/copy.tf"].attributed and files["infra/copy.tf"].line_commits


def merge(repo: GitRepo, branch: str, side: str) -> None:
    """Merge `branch` with `-X side`; a conflict that option does not settle (a file renamed
    on one side and edited on the other) is dropped."""
    try:
        repo.git("merge", "--no-ff", "-X", side, "-m", f"merge {branch}", branch,
                 env=repo._env(HUMAN, None))
    except AssertionError:
        repo.git("merge", "--abort")


def test_merge_replay_agrees_with_blame(make_repo: Callable[..., GitRepo]) -> None:
    """Random branches, edits, renames and merges (`-X ours`/`-X theirs`): the replayed origin
    of every added head line equals `git blame base..head`'s."""
    rnd = random.Random(16)
    repo = make_repo()
    base = repo.commit({f"f{i}.tf": "".join(f"base {i}.{j}\n" for j in range(10))
                        for i in range(4)})
    branches = ["main"]
    for n in range(40):
        name = rnd.choice(branches)
        repo.checkout(name)
        roll = rnd.random()
        if roll < 0.25 and len(branches) > 1:
            other = rnd.choice([b for b in branches if b != name])
            merge(repo, other, rnd.choice(("ours", "theirs")))
            continue
        if roll < 0.4:
            name = f"b{n}"
            repo.checkout(name, create=True)
            branches.append(name)
        path = rnd.choice(repo.git("ls-files").split())
        lines = (repo.path / path).read_text().splitlines(keepends=True)
        lines.insert(rnd.randrange(len(lines) + 1), f"added {n}\n")
        if rnd.random() < 0.5:
            lines[rnd.randrange(len(lines))] = f"changed {n}\n"
        if rnd.random() < 0.3 and len(lines) > 2:
            del lines[rnd.randrange(len(lines))]
        renames = {path: f"m{n}_{path}"} if rnd.random() < 0.1 else {}
        repo.commit({renames.get(path, path): "".join(lines)}, renames=renames,
                    author=COPILOT if n % 2 else HUMAN, allow_empty=True)
    repo.checkout("main")
    for name in branches[1:]:
        merge(repo, name, "theirs")
    head = repo.sha()
    with cg.repo_session(repo.path) as r:
        assert sum(len(c.parents) > 1 for c in cg.read_commits(r, base, head)) >= 5
        cs = cg.build_changeset(r, base, head)
        compared = 0
        for cf in cs.files:
            if cf.added_lines:
                assert dict(cf.line_commits) == lineage._blame(
                    r, base, head, cf.path, cf.added_lines), cf.path
                compared += 1
    assert compared >= 3
