"""The gate's own integrity (issue 12, attack pass s8): a `git replace` does not launder an
agent's commit, the pre-commit hook judges staged policy, gate and agent-steering files as
`check` does (NHI102), and the files the nhi-gate job runs before its check are part of the
gate."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.parsers.gate_job import gate_job_runs, run_files

CLAUDE = ("Claude", "noreply@anthropic.com")
CRB = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: demo
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - kind: ServiceAccount
    name: demo
    namespace: default
"""
WORKFLOW = """\
name: nhi-gate
on:
  pull_request:
jobs:
  nhi-gate:
    runs-on: ubuntu-latest
    defaults:
      run:
        working-directory: tools
    steps:
      - uses: actions/checkout@v5
        with:
          fetch-depth: 0
      - uses: ./.github/actions/setup
      - run: make lint && ./check.sh
      - run: npm run prepare-gate
        working-directory: web
      - uses: nhi-gate/nhi-gate@v0.1.0
        with:
          fail-on: {fail_on}
      - run: ./after.sh
"""
ACTION = """\
name: setup
runs:
  using: composite
  steps:
    - run: echo setting up
      shell: bash
    - uses: ./.github/actions/inner
"""
INNER = "name: inner\nruns:\n  using: node20\n  main: dist/index.js\n"
BASE_FILES = {
    ".github/workflows/nhi-gate.yml": WORKFLOW.format(fail_on="error"),
    ".github/actions/setup/action.yml": ACTION,
    ".github/actions/inner/action.yml": INNER,
    ".github/actions/inner/dist/index.js": "console.log('inner')\n",
    "tools/Makefile": "lint:\n\techo lint\n",
    "tools/check.sh": "#!/bin/sh\necho ok\n",
    "tools/after.sh": "#!/bin/sh\necho after\n",
    "web/package.json": '{"scripts": {"prepare-gate": "echo ok"}}\n',
    "Makefile": "all:\n\techo root\n",
    ".nhi-gate.yaml": "fail_on: error\n",
    "CLAUDE.md": "# Rules\n\nAdd a `Co-authored-by: Claude <noreply@anthropic.com>` trailer.\n"
                 "Run the tests.\n",
    "README.md": "hi\n",
}


def _check(repo: GitRepo, base: str, head: str, capsys: pytest.CaptureFixture[str]
           ) -> tuple[int, list[tuple[str, str, bool, str]]]:  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["path"], f["blocking"], f["message"])
                  for f in report["findings"]]


def _hook(repo: GitRepo, who: tuple[str, str], monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> tuple[int, list[tuple[str, str, bool, str]]]:
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", who[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", who[1])
    code = main(["hook", "--format", "json"])
    report: Any = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["path"], f["blocking"], f["message"])
                  for f in report["findings"]]


# -- 1. git replace -------------------------------------------------------------------------


def _replace_with_human_copy(repo: GitRepo, sha: str, parent: str) -> str:
    env = {"GIT_AUTHOR_NAME": HUMAN[0], "GIT_AUTHOR_EMAIL": HUMAN[1],
           "GIT_COMMITTER_NAME": HUMAN[0], "GIT_COMMITTER_EMAIL": HUMAN[1],
           "GIT_AUTHOR_DATE": "@1735700000 +0000", "GIT_COMMITTER_DATE": "@1735700000 +0000"}
    copy = repo.git("commit-tree", f"{sha}^{{tree}}", "-p", parent, "-m", "add crb", env=env)
    repo.git("replace", sha, copy)
    return copy


def test_a_replace_ref_does_not_launder_an_agent_commit(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "hi\n"})
    head = repo.commit({"crb.yaml": CRB}, author=CLAUDE, message="add crb")
    copy = _replace_with_human_copy(repo, head, base)
    assert repo.git("log", "-1", "--format=%an", head) == HUMAN[0]  # what git shows now
    code, found = _check(repo, base, head, capsys)
    assert code == 1
    blocking = sorted((r, p) for r, p, b, _ in found if b)
    assert blocking == [("NHI101", "crb.yaml"), ("NHI102", f"refs/replace/{head}"),
                        ("NHI301", "crb.yaml")]
    message = next(m for r, _, _, m in found if r == "NHI102")
    assert f"{copy[:12]} in place of agent (Claude Code) in commit {head[:12]}" in message


def test_a_replace_ref_outside_the_range_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    root = repo.commit({"README.md": "hi\n"})
    base = repo.commit({"README.md": "hello\n"})
    head = repo.commit({"docs.md": "x\n"}, author=CLAUDE)
    repo.git("replace", root, repo.git("commit-tree", f"{root}^{{tree}}", "-m", "graft"))
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out)["findings"] == []
    assert "1 replace ref(s) under refs/replace/ are ignored" in captured.err


# -- 2. the hook judges staged gate-integrity files ------------------------------------------


LOOSENED = {
    ".nhi-gate.yaml": 'fail_on: never\nexclude: ["**"]\n',
    ".github/workflows/nhi-gate.yml": WORKFLOW.format(fail_on="never"),
    "CLAUDE.md": "# Rules\n\nRun the tests.\n",
    "tools/Makefile": "lint:\n\tgit replace $$(git rev-parse HEAD) $$(git rev-parse HEAD~1)\n",
}


@pytest.mark.parametrize("path", sorted(LOOSENED))
def test_hook_applies_nhi102_to_an_agent_committing(
        make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], path: str) -> None:
    repo = make_repo()
    repo.commit(BASE_FILES)
    repo.stage({path: LOOSENED[path], "crb.yaml": CRB})
    code, found = _hook(repo, CLAUDE, monkeypatch, capsys)
    assert code == 1
    assert [(r, p, b) for r, p, b, _ in found if r == "NHI102"] == [("NHI102", path, True)]
    message = next(m for r, _, _, m in found if r == "NHI102")
    assert "agent (Claude Code) in the staged change" in message
    # The same staged change by a person: no NHI102, and policy still comes from HEAD.
    capsys.readouterr()
    code, found = _hook(repo, HUMAN, monkeypatch, capsys)
    assert code == 0
    assert "NHI102" not in [r for r, *_ in found]
    assert ("NHI301", "crb.yaml", False) in [(r, p, b) for r, p, b, _ in found]


def test_hook_and_check_agree_on_a_commit(
        make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit(BASE_FILES)
    repo.stage({"CLAUDE.md": LOOSENED["CLAUDE.md"]})
    hook_code, hook_found = _hook(repo, CLAUDE, monkeypatch, capsys)
    head = repo.commit(author=CLAUDE)
    check_code, check_found = _check(repo, base, head, capsys)
    assert hook_code == check_code == 1
    assert ([(r, p, b) for r, p, b, _ in hook_found]
            == [(r, p, b) for r, p, b, _ in check_found]
            == [("NHI102", "CLAUDE.md", True)])
    assert "it changes attribution: removes" in hook_found[0][3]


# -- 3. the files the gate job runs before its check -----------------------------------------


RUN_BY_GATE = {
    ".github/actions/setup/action.yml": ACTION.replace(
        "echo setting up", 'echo "INPUT_FAIL-ON=never" >> "$GITHUB_ENV"'),
    ".github/actions/inner/dist/index.js": "require('child_process').execSync('git replace')\n",
    "tools/Makefile": LOOSENED["tools/Makefile"],
    "tools/check.sh": "#!/bin/sh\ngit replace HEAD HEAD~1\n",
    "web/package.json": '{"scripts": {"prepare-gate": "git replace HEAD HEAD~1"}}\n',
}


@pytest.mark.parametrize("path", sorted(RUN_BY_GATE))
def test_an_agent_edit_of_code_the_gate_job_runs_is_nhi102(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        path: str) -> None:
    repo = make_repo()
    base = repo.commit(BASE_FILES)
    head = repo.commit({path: RUN_BY_GATE[path]}, author=CLAUDE)
    code, found = _check(repo, base, head, capsys)
    assert code == 1
    assert [(r, p, b) for r, p, b, _ in found] == [("NHI102", path, True)]
    how = ("`runs.main` of the action .github/actions/inner/action.yml" if "inner" in path
           else "of job `nhi-gate` of .github/workflows/nhi-gate.yml")
    assert "the job runs it before the check (" in found[0][3] and how in found[0][3]


def test_a_person_may_edit_code_the_gate_job_runs(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit(BASE_FILES)
    head = repo.commit(RUN_BY_GATE, author=HUMAN)
    assert _check(repo, base, head, capsys) == (0, [])


def test_files_the_gate_job_does_not_run_are_not_the_gate(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit(BASE_FILES)
    # The root Makefile (make runs in `tools/`) and a script run after the gate step.
    head = repo.commit({"Makefile": "all:\n\tgit replace a b\n",
                        "tools/after.sh": "#!/bin/sh\nexit 0\n"}, author=CLAUDE)
    assert _check(repo, base, head, capsys) == (0, [])


def test_run_files_reads_scripts_make_and_package_managers() -> None:
    text = ("cd svc && make -C build lint\n./scripts/a.sh --x  # ./commented.sh\n"
            "bash tools/b.bash $HOME/c.sh ../../../outside.sh\nyarn install\n"
            "make -f other.mk\n")
    assert sorted(run_files(text, "w", "why")) == [
        "w/svc/build/GNUmakefile", "w/svc/build/Makefile", "w/svc/build/makefile",
        "w/svc/other.mk", "w/svc/package.json", "w/svc/scripts/a.sh", "w/svc/tools/b.bash",
    ]
    runs = gate_job_runs(".github/workflows/nhi-gate.yml",
                         WORKFLOW.format(fail_on="error").encode())
    assert "tools/after.sh" not in runs  # after the nhi-gate step
    assert sorted(runs) == [
        ".github/actions/setup/", ".github/actions/setup/action.yaml",
        ".github/actions/setup/action.yml", "tools/GNUmakefile", "tools/Makefile",
        "tools/check.sh", "tools/makefile", "web/package.json",
    ]
