"""A local composite action that is the gate (session 9, attack-gate-local-composite): the
workflow runs `uses: ./.github/actions/gate` and only the action's `run:` names nhi-gate. The
workflow is a gate workflow and the action a file its job runs, at any depth of local actions
using local actions: an agent's edit of either is NHI102; a person's is not reported; an edit
of an action no gate job uses is nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main

AGENT = ("Claude", "noreply@anthropic.com")
WORKFLOW = """\
name: gate
on: pull_request
permissions: {{contents: read}}
jobs:
  gate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
        with: {{fetch-depth: 0}}
      - uses: ./.github/actions/{action}
"""
GATE = """\
name: gate
runs:
  using: composite
  steps:
    - shell: bash
      run: pip install nhi-gate && nhi-gate check
"""
OUTER = """\
name: outer
runs:
  using: composite
  steps:
    - uses: ./.github/actions/setup
    - uses: ./.github/actions/gate
"""
SETUP = """\
name: setup
runs:
  using: composite
  steps:
    - shell: bash
      run: echo setting up
"""
LINT_WORKFLOW = WORKFLOW.replace("name: gate", "name: lint").replace("gate:", "lint:")
ACTION = ".github/actions/gate/action.yml"


def _files(action: str = "gate") -> dict[str, str]:
    return {".github/workflows/gate.yml": WORKFLOW.format(action=action), ACTION: GATE,
            ".github/actions/outer/action.yml": OUTER,
            ".github/actions/setup/action.yml": SETUP,
            ".github/workflows/lint.yml": LINT_WORKFLOW.format(action="lint"),
            ".github/actions/lint/action.yml": SETUP.replace("setup", "lint")}


def _nhi102(code: int, out: str) -> tuple[int, list[tuple[str, int, str, bool, str]]]:
    report: Any = json.loads(out)
    return code, [(f["path"], f["start_line"], f["level"], f["blocking"], f["message"])
                  for f in report["findings"] if f["rule_id"] == "NHI102"]


def _check(repo: GitRepo, base: str, capsys: pytest.CaptureFixture[str]
           ) -> tuple[int, list[tuple[str, int, str, bool, str]]]:  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", repo.sha(),
                 "--format", "json"])
    return _nhi102(code, capsys.readouterr().out)


#: (the action the workflow uses, path edited, its head text, line of the first change)
LOOSENED = [
    # /work/nu9/src/gate-local-composite
    ("gate", ACTION, GATE.replace("nhi-gate check", "nhi-gate check || echo skipped"), 6),
    ("gate", ACTION, GATE + "      continue-on-error: true\n", 7),
    ("gate", ACTION, GATE.replace("    - shell: bash\n", "    - shell: bash\n      if: false\n"),
     6),
    # the gate two levels down, and the action before it in the outer one
    ("outer", ACTION, GATE.replace("nhi-gate check", "true"), 6),
    ("outer", ".github/actions/setup/action.yml",
     SETUP.replace("echo setting up", 'echo "INPUT_FAIL-ON=never" >> "$GITHUB_ENV"'), 6),
    ("outer", ".github/actions/outer/action.yml",
     OUTER.replace("    - uses: ./.github/actions/gate\n", ""), 1),  # a deletion: line 1
    # the workflow itself no longer runs the action
    ("gate", ".github/workflows/gate.yml",
     WORKFLOW.format(action="gate").replace("./.github/actions/gate", "./.github/actions/lint"),
     10),
]


@pytest.mark.parametrize(("action", "path", "text", "line"), LOOSENED)
def test_an_agent_edit_of_a_local_gate_action_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], action: str,
        path: str, text: str, line: int) -> None:
    repo = make_repo()
    base = repo.commit(_files(action), author=HUMAN)
    repo.commit({path: text}, author=AGENT)
    code, found = _check(repo, base, capsys)
    assert [f[:4] for f in found] == [(path, line, "error", True)]
    assert code == 1
    what = ("a workflow that runs nhi-gate" if "workflows" in path else
            "a file the job that runs nhi-gate executes before its check")
    assert what in found[0][4]


@pytest.mark.parametrize(("action", "path", "text", "line"), LOOSENED)
def test_a_person_may_edit_a_local_gate_action(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], action: str,
        path: str, text: str, line: int) -> None:
    repo = make_repo()
    base = repo.commit(_files(action), author=HUMAN)
    repo.commit({path: text}, author=HUMAN)
    assert _check(repo, base, capsys) == (0, [])


def test_an_action_no_gate_job_uses_is_not_the_gate(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit(_files("gate"), author=HUMAN)
    # lint.yml runs ./.github/actions/lint, which runs no nhi-gate; outer is used by nobody
    repo.commit({".github/actions/lint/action.yml": SETUP.replace("setting up", "linting"),
                 ".github/workflows/lint.yml": LINT_WORKFLOW.format(action="lint") + "# x\n",
                 ".github/actions/outer/action.yml": OUTER + "    - uses: ./x\n"},
                author=AGENT)
    assert _check(repo, base, capsys) == (0, [])


def test_hook_blocks_an_agent_staging_a_local_gate_action_edit(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """/work/nu9/attack-hook-gate-local-composite-agent: the pre-commit stage, an agent's git
    identity staging the edit."""
    repo = make_repo()
    repo.commit(_files("gate"), author=HUMAN)
    (repo.path / ACTION).write_text(GATE.replace("nhi-gate check", "nhi-gate check || true"),
                                    encoding="utf-8")
    repo.git("add", ACTION)
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", AGENT[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", AGENT[1])
    code, found = _nhi102(main(["hook", "--format", "json"]), capsys.readouterr().out)
    assert [f[:4] for f in found] == [(ACTION, 6, "error", True)]
    assert code == 1
