"""NHI325 beyond a workflow's own `run:` (issue 12, slice fixH): outsider text reaching a
script through a local composite action's or reusable workflow's input, through a
`strategy.matrix` value, or through an action that runs a script given as an input
(`appleboy/ssh-action` `script`, `addnab/docker-run-action` `run`, `nick-fields/retry`
`command`). An agent's change blocks at the line it created (the caller's `with:` or the
callee's `run:`, the other file in SARIF relatedLocations); the safe form (`env:` and
`"$VAR"`) passes; a person's same change does not block. Real git repos."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity, check_findings, check_sarif_related

from checker.cli import main

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
WF = ".github/workflows/triage.yml"
ACTION = ".github/actions/greet/action.yml"
CALLED = ".github/workflows/greet.yml"

CALLER = """\
on:
  issues:
    types: [opened]
permissions:
  issues: write
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - uses: ./.github/actions/greet
        with:
          who: {who}
"""
COMPOSITE = """\
name: greet
inputs:
  who:
    description: whom to greet
runs:
  using: composite
  steps:
    - shell: bash
{step}"""
UNSAFE_STEP = """\
      run: echo "Hello ${{ inputs.who }}"
"""
SAFE_STEP = """\
      env:
        WHO: ${{ inputs.who }}
      run: echo "Hello $WHO"
"""
TITLE = "${{ github.event.issue.title }}"

REUSABLE_CALLER = """\
on:
  issue_comment:
    types: [created]
jobs:
  greet:
    uses: ./.github/workflows/greet.yml
    with:
      who: {who}
"""
REUSABLE = """\
on:
  workflow_call:
    inputs:
      who:
        type: string
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
{step}"""
REUSABLE_UNSAFE = """\
      - run: echo "Hello ${{ inputs.who }}"
"""
REUSABLE_SAFE = """\
      - env:
          WHO: ${{ inputs.who }}
        run: echo "Hello $WHO"
"""
COMMENT = "${{ github.event.comment.body }}"


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            base: Mapping[str, str], head: Mapping[str, str], author: Identity,
            sarif: bool = False) -> tuple[int, list[dict[str, Any]]]:
    """`check` of a human base and `author`'s change: (exit code, findings); with `sarif`,
    each NHI325 finding is the SARIF result's `related` (path, line) list instead."""
    repo = make_repo("sarif" if sarif else "repo")
    first = repo.commit({"README.md": "# app\n", **base}, author=HUMAN)
    repo.commit(dict(head), author=author, message="ci: greet")
    if not sarif:
        return check_findings(repo, first, capsys)
    return check_sarif_related(repo, first, capsys)


def _nhi325(findings: list[dict[str, Any]]) -> list[tuple[str, int, bool, str]]:
    return [(f["path"], f["start_line"], f["blocking"], f["actor_kind"]) for f in findings
            if f["rule_id"] == "NHI325"]


def _related(findings: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [tuple(r) for f in findings if f["rule_id"] == "NHI325" for r in f["related"]]


# -- 1. composite actions and reusable workflows -----------------------------------------


def test_an_agent_passing_outsider_text_to_a_composite_action_blocks_at_the_with_line(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {WF: CALLER.format(who="octocat"), ACTION: COMPOSITE.format(step=UNSAFE_STEP)}
    code, findings = _change(make_repo, capsys, base, {WF: CALLER.format(who=TITLE)}, CLAUDE)
    assert code == 1
    assert _nhi325(findings) == [(WF, 13, True, "agent")]
    [f] = [f for f in findings if f["rule_id"] == "NHI325"]
    assert "with.who passes" in f["message"] and "${{ inputs.who }}" in f["message"]
    assert ACTION in f["message"]
    _, sarif = _change(make_repo, capsys, base, {WF: CALLER.format(who=TITLE)}, CLAUDE, True)
    assert _related(sarif) == [(ACTION, 9)]


def test_an_agent_expanding_an_input_outsiders_fill_blocks_at_the_actions_run_line(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {WF: CALLER.format(who=TITLE), ACTION: COMPOSITE.format(step=SAFE_STEP)}
    code, findings = _change(make_repo, capsys, base,
                             {ACTION: COMPOSITE.format(step=UNSAFE_STEP)}, CLAUDE)
    assert code == 1
    assert _nhi325(findings) == [(ACTION, 9, True, "agent")]
    _, sarif = _change(make_repo, capsys, base, {ACTION: COMPOSITE.format(step=UNSAFE_STEP)},
                       CLAUDE, True)
    assert _related(sarif) == [(WF, 13)]


def test_a_composite_action_reading_the_input_through_env_passes(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {WF: CALLER.format(who="octocat"), ACTION: COMPOSITE.format(step=SAFE_STEP)}
    code, findings = _change(make_repo, capsys, base, {WF: CALLER.format(who=TITLE)}, CLAUDE)
    assert (code, _nhi325(findings)) == (0, [])


def test_a_persons_composite_action_flow_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {WF: CALLER.format(who="octocat"), ACTION: COMPOSITE.format(step=UNSAFE_STEP)}
    code, findings = _change(make_repo, capsys, base, {WF: CALLER.format(who=TITLE)}, HUMAN)
    assert code == 0
    assert _nhi325(findings) == [(WF, 13, False, "human")]


def test_an_agent_adding_a_reusable_workflow_call_with_outsider_text_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {CALLED: REUSABLE.format(step=REUSABLE_UNSAFE)}
    head = {WF: REUSABLE_CALLER.format(who=COMMENT)}
    code, findings = _change(make_repo, capsys, base, head, CLAUDE)
    assert code == 1
    assert _nhi325(findings) == [(WF, 8, True, "agent")]
    _, sarif = _change(make_repo, capsys, base, head, CLAUDE, True)
    # the called workflow's line, then the new file's own trigger line (a changed input)
    assert _related(sarif) == [(CALLED, 10), (WF, 2)]


def test_an_agent_expanding_a_reusable_workflows_input_blocks_at_its_run_line(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {WF: REUSABLE_CALLER.format(who=COMMENT), CALLED: REUSABLE.format(step=REUSABLE_SAFE)}
    code, findings = _change(make_repo, capsys, base,
                             {CALLED: REUSABLE.format(step=REUSABLE_UNSAFE)}, CLAUDE)
    assert code == 1
    assert _nhi325(findings) == [(CALLED, 10, True, "agent")]
    _, sarif = _change(make_repo, capsys, base, {CALLED: REUSABLE.format(step=REUSABLE_UNSAFE)},
                       CLAUDE, True)
    assert _related(sarif) == [(WF, 8)]


def test_a_reusable_workflow_reading_the_input_through_env_passes(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {CALLED: REUSABLE.format(step=REUSABLE_SAFE)}
    code, findings = _change(make_repo, capsys, base,
                             {WF: REUSABLE_CALLER.format(who=COMMENT)}, CLAUDE)
    assert (code, _nhi325(findings)) == (0, [])


def test_a_persons_reusable_workflow_flow_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {CALLED: REUSABLE.format(step=REUSABLE_UNSAFE)}
    code, findings = _change(make_repo, capsys, base,
                             {WF: REUSABLE_CALLER.format(who=COMMENT)}, HUMAN)
    assert code == 0
    assert _nhi325(findings) == [(WF, 8, False, "human")]


# -- 2. matrix values built from outsider text -------------------------------------------

MATRIX = """\
on:
  issue_comment:
    types: [created]
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        target: {target}
    steps:
{step}"""
MATRIX_UNSAFE = """\
      - run: echo "building ${{ matrix.target }}"
"""
MATRIX_SAFE = """\
      - env:
          TARGET: ${{ matrix.target }}
        run: echo "building $TARGET"
"""
FROM_JSON = "${{ fromJSON(github.event.comment.body) }}"


@pytest.mark.parametrize("target", [FROM_JSON, "['${{ github.event.issue.title }}']"])
def test_an_agents_matrix_of_outsider_text_expanded_in_a_script_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        target: str) -> None:
    base = {WF: MATRIX.format(target="[a, b]", step=MATRIX_UNSAFE)}
    code, findings = _change(make_repo, capsys, base,
                             {WF: MATRIX.format(target=target, step=MATRIX_UNSAFE)}, CLAUDE)
    assert code == 1
    assert _nhi325(findings) == [(WF, 11, True, "agent")]
    [f] = [f for f in findings if f["rule_id"] == "NHI325"]
    assert "matrix.target" in f["message"]


def test_a_matrix_value_read_through_env_passes(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {WF: MATRIX.format(target="[a, b]", step=MATRIX_SAFE)}
    code, findings = _change(make_repo, capsys, base,
                             {WF: MATRIX.format(target=FROM_JSON, step=MATRIX_SAFE)}, CLAUDE)
    assert (code, _nhi325(findings)) == (0, [])


def test_a_persons_matrix_of_outsider_text_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {WF: MATRIX.format(target="[a, b]", step=MATRIX_UNSAFE)}
    code, findings = _change(make_repo, capsys, base,
                             {WF: MATRIX.format(target=FROM_JSON, step=MATRIX_UNSAFE)}, HUMAN)
    assert code == 0
    assert _nhi325(findings) == [(WF, 11, False, "human")]


# -- 3. actions that run a script given as an input --------------------------------------

SCRIPTED = """\
on:
  issues:
    types: [opened]
jobs:
  notify:
    runs-on: ubuntu-latest
    steps:
      - uses: {action}
{inputs}"""


def _inputs(name: str, value: str, env: bool = False) -> str:
    if env:
        return (f"        env:\n          TITLE: {TITLE}\n        with:\n"
                f"          {name}: echo \"$TITLE\"\n")
    return f"        with:\n          {name}: echo \"{value}\"\n"


SCRIPT_ACTIONS = [("appleboy/ssh-action@v1", "script"),
                  ("addnab/docker-run-action@v3", "run"),
                  ("nick-fields/retry@v3", "command")]


@pytest.mark.parametrize(("action", "name"), SCRIPT_ACTIONS)
def test_an_agents_outsider_text_in_an_actions_script_input_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        action: str, name: str) -> None:
    base = {WF: SCRIPTED.format(action=action, inputs=_inputs(name, "hello"))}
    head = {WF: SCRIPTED.format(action=action, inputs=_inputs(name, TITLE))}
    code, findings = _change(make_repo, capsys, base, head, CLAUDE)
    assert code == 1
    assert _nhi325(findings) == [(WF, 10, True, "agent")]
    [f] = [f for f in findings if f["rule_id"] == "NHI325"]
    assert f"steps[0].with.{name}" in f["message"]


@pytest.mark.parametrize(("action", "name"), SCRIPT_ACTIONS)
def test_an_actions_script_input_reading_env_passes(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        action: str, name: str) -> None:
    base = {WF: SCRIPTED.format(action=action, inputs=_inputs(name, "hello"))}
    head = {WF: SCRIPTED.format(action=action, inputs=_inputs(name, TITLE, env=True))}
    code, findings = _change(make_repo, capsys, base, head, CLAUDE)
    assert (code, _nhi325(findings)) == (0, [])


def test_a_persons_outsider_text_in_an_actions_script_input_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    action, name = SCRIPT_ACTIONS[0]
    base = {WF: SCRIPTED.format(action=action, inputs=_inputs(name, "hello"))}
    head = {WF: SCRIPTED.format(action=action, inputs=_inputs(name, TITLE))}
    code, findings = _change(make_repo, capsys, base, head, HUMAN)
    assert code == 0
    assert _nhi325(findings) == [(WF, 10, False, "human")]


def test_an_unlisted_actions_input_is_not_a_script(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {WF: SCRIPTED.format(action="actions/labeler@v5", inputs=_inputs("script", "x"))}
    head = {WF: SCRIPTED.format(action="actions/labeler@v5", inputs=_inputs("script", TITLE))}
    code, findings = _change(make_repo, capsys, base, head, CLAUDE)
    assert (code, _nhi325(findings)) == (0, [])


def test_scan_reports_a_flow_once_on_the_call(tmp_path: Any,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    for path, text in {WF: CALLER.format(who=TITLE),
                       ACTION: COMPOSITE.format(step=UNSAFE_STEP)}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    main(["scan", str(tmp_path), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["path"], f["start_line"]) for f in findings if f["rule_id"] == "NHI325"] == [
        (WF, 13)]


def test_hook_blocks_an_agents_staged_call_of_an_unchanged_action(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo()
    repo.commit({"README.md": "# app\n", WF: CALLER.format(who="octocat"),
                 ACTION: COMPOSITE.format(step=UNSAFE_STEP)}, author=HUMAN)
    (repo.path / WF).write_text(CALLER.format(who=TITLE))
    repo.git("add", WF)  # the action is not staged: read from the index as it is
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", CLAUDE[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", CLAUDE[1])
    code = main(["hook", "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert (code, _nhi325(findings)) == (1, [(WF, 13, True, "agent")])
