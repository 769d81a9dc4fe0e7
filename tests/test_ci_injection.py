"""NHI325: a workflow that outsiders trigger expands text they wrote (an issue title, a
comment, a branch name) into a job's script: code execution with the job's token and secrets
(GitHub, "Script injections"). An agent's new injection blocks at the expression's line; the
safe form (`env:` and `"$VAR"`) passes; a person's is reported, not blocked; an existing one
the change leaves alone is not blamed on it. Real git repos."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity, check_findings, found_at

from checker.model import SourceFile
from checker.secrets import scan

WF = ".github/workflows/triage.yml"
CLAUDE: Identity = ("Claude", "noreply@anthropic.com")

BASE = """\
on:
  issues:
    types: [opened]
permissions:
  issues: write
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: echo "triage"
"""
#: The injection: line 11 expands the issue's title into the shell script.
INJECTED = BASE.replace('      - run: echo "triage"\n', """\
      - run: |
          echo "triage"
          echo "New issue: ${{ github.event.issue.title }}"
""")
SAFE = BASE.replace('      - run: echo "triage"\n', """\
      - env:
          TITLE: ${{ github.event.issue.title }}
        run: |
          echo "triage"
          echo "New issue: $TITLE"
""")


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            base: str, head: str, author: Identity) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    first = repo.commit({"README.md": "# app\n", WF: base}, author=HUMAN)
    repo.commit({WF: head}, author=author, message="ci: greet new issues")
    return check_findings(repo, first, capsys)


def _nhi325(findings: list[dict[str, Any]]) -> list[tuple[int, str, bool, str]]:
    return [(f["start_line"], f["level"], f["blocking"], f["actor_kind"]) for f in findings
            if f["rule_id"] == "NHI325"]


def test_an_agents_injection_blocks_at_the_expression(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, BASE, INJECTED, CLAUDE)
    assert code == 1
    assert _nhi325(findings) == [(12, "error", True, "agent")]
    [f] = [f for f in findings if f["rule_id"] == "NHI325"]
    assert f["address"] == f"{WF}#jobs.triage.template-injection"
    assert "steps[0].run expands `${{ github.event.issue.title }}`" in f["message"]
    assert "`issues` (line 2)" in f["message"]
    # it gave outsiders the job's credentials: the commit names no requester (NHI103)
    assert ("NHI103", WF, 12, False) in found_at(findings)


def test_the_env_variable_form_passes(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, BASE, SAFE, CLAUDE)
    assert (code, _nhi325(findings)) == (0, [])


def test_a_persons_injection_is_reported_not_blocked(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, BASE, INJECTED, HUMAN)
    assert code == 0
    assert _nhi325(findings) == [(12, "error", False, "human")]


def test_an_agent_editing_beside_an_existing_injection_is_not_blamed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A person's injection at base; the agent adds a line inside the same script and moves
    the expression down one line: the same injection, not the agent's."""
    edited = INJECTED.replace('echo "triage"\n', 'echo "triage"\n          date\n')
    code, findings = _change(make_repo, capsys, INJECTED, edited, CLAUDE)
    assert (code, _nhi325(findings)) == (0, [])


def test_an_agent_adding_a_second_injection_is_judged_on_the_new_one_only(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    more = INJECTED.replace(
        'title }}"\n', 'title }}"\n          echo "${{ github.event.issue.body }}"\n')
    code, findings = _change(make_repo, capsys, INJECTED, more, CLAUDE)
    assert code == 1
    assert _nhi325(findings) == [(13, "error", True, "agent")]


def test_an_outsider_trigger_added_to_an_existing_injection_widens_it(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """`pull_request` (a fork's run has no secrets) -> `pull_request_target` (it has them): the
    same `${{ github.event.pull_request.title }}` now runs a stranger's text with credentials."""
    base = ("on: pull_request\npermissions: {pull-requests: write}\njobs:\n  t:\n"
            "    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: echo \"${{ github.event.pull_request.title }}\"\n")
    code, findings = _change(make_repo, capsys, base,
                             base.replace("on: pull_request\n", "on: pull_request_target\n"),
                             CLAUDE)
    assert code == 1
    [f] = [f for f in findings if f["rule_id"] == "NHI325"]
    assert (f["start_line"], f["blocking"]) == (7, True)
    assert "a workflow that `pull_request_target` (line 1) runs for outsiders" in f["message"]


def test_another_outsider_trigger_widens_an_existing_injection(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Issues only people with an account open -> also every comment on any pull request."""
    wider = INJECTED.replace("    types: [opened]\n", "    types: [opened]\n  issue_comment:\n")
    code, findings = _change(make_repo, capsys, INJECTED, wider, CLAUDE)
    assert code == 1
    [f] = [f for f in findings if f["rule_id"] == "NHI325"]
    assert (f["start_line"], f["blocking"], f["actor_kind"]) == (13, True, "agent")
    assert "the change adds `issue_comment` (line 4)" in f["message"]


def _injected(steps: str, trigger: str = "issue_comment") -> list[tuple[int, str]]:
    text = (f"on: {trigger}\nenv:\n  WF_TITLE: ${{{{ github.event.issue.title }}}}\njobs:\n"
            f"  j:\n    runs-on: ubuntu-latest\n    steps:\n{steps}")
    objs = scan(SourceFile(WF, text.encode()), "github_actions").objects
    return [(int(s.split(" ", 1)[0].removeprefix("injects:")), s.split(" ", 2)[2])
            for o in objs if o.type == "template_injection" for s in o.secret_sinks
            if s.startswith("injects:")]


@pytest.mark.parametrize(("steps", "found"), [
    # a folded scalar: the value joins the lines, the finding stays on the source line
    ("      - run: >\n          echo start\n          ${{ github.event.comment.body }}\n",
     [(10, "github.event.comment.body")]),
    # the pull request's branch, a commit's author, the head branch of the triggering run
    ("      - run: git push origin HEAD:${{ github.event.pull_request.head.ref }}\n"
     "      - run: echo ${{ github.event.commits[0].author.name }} ${{ github.head_ref }}\n",
     [(8, "github.event.pull_request.head.ref"), (9, "github.event.commits[0].author.name"),
      (9, "github.head_ref")]),
    # a string literal's `>` is text, not a comparison
    ("      - run: echo ${{ format('> {0}', github.event.issue.body) }}\n",
     [(8, "format('> {0}', github.event.issue.body)")]),
    # through the workflow's env, and a whole object serialised
    ("      - run: |\n          echo \"${{ env.WF_TITLE }}\"\n"
     "          echo '${{ toJSON(github.event.issue) }}' | jq .\n",
     [(9, "env.WF_TITLE"), (10, "toJSON(github.event.issue)")]),
    # not text an outsider wrote: numbers, logins, the base branch, booleans, `$VAR`, `with:`
    ("      - run: |\n"
     "          echo ${{ github.event.issue.number }} ${{ github.event.sender.login }}\n"
     "          git fetch origin ${{ github.event.pull_request.base.ref }}\n"
     "          echo ${{ contains(github.event.comment.body, '/ok') }} \"$WF_TITLE\"\n"
     "          echo ${{ github.event.comment.body == 'ok' }}\n"
     "      - uses: some/action@v1\n        with: {text: '${{ github.event.comment.body }}'}\n"
     "      - {run: echo hi, env: {B: '${{ github.event.comment.body }}'}}\n", []),
])
def test_what_is_an_injection(steps: str, found: list[tuple[int, str]]) -> None:
    assert _injected(steps) == found


def test_a_trigger_outsiders_cannot_cause_has_no_injection() -> None:
    """`push` and `pull_request` runs: the pusher has write access; a fork's pull request run
    has no secrets and a read-only token."""
    steps = "      - run: echo \"${{ github.event.head_commit.message }}\"\n"
    assert _injected(steps, "push") == []
    assert _injected(steps, "pull_request") == []
    steps = "      - run: echo \"${{ github.event.workflow_run.head_commit.message }}\"\n"
    assert _injected(steps, "workflow_run") == [
        (8, "github.event.workflow_run.head_commit.message")]
