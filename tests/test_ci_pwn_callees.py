"""NHI315 through a local composite action or reusable workflow (slice fixG, the attack
pass's repro gha-prt-pwn-in-local-action): a `pull_request_target` (`workflow_run`,
`issue_comment`) job that calls a local action or workflow which checks out the pull
request's head and runs code from it is a pwn request, though the callee's own file has no
trigger. The change is blamed on the half it created (the callee's running line, or the
caller's `uses:` line), the other file in SARIF relatedLocations; a callee only a harmless
workflow calls, or one that checks out the base, passes; a person's change is reported, not
blocked. Real git repos."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity, check_findings, check_sarif_related

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
WF = ".github/workflows/prt.yml"
ACTION = ".github/actions/setup/action.yml"
CALLED = ".github/workflows/reusable.yml"

CALLER = """\
name: prt
on:
  {trigger}:
    types: [opened, synchronize]
permissions:
  contents: read
jobs:
  a:
    runs-on: ubuntu-latest{guard}
    env:
      LABEL_TOKEN: ${{{{ secrets.LABEL_TOKEN }}}}
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: ./.github/actions/setup
  b:
    uses: ./.github/workflows/reusable.yml
"""
COMPOSITE = """\
name: setup
runs:
  using: composite
  steps:
{steps}"""
COMPOSITE_QUIET = "    - run: echo setup\n      shell: bash\n"
COMPOSITE_PWN = """\
    - uses: actions/checkout@v4
      with:
        ref: ${{ github.event.pull_request.head.sha }}
        path: pr
        persist-credentials: false
    - run: cd pr && npm install
      shell: bash
"""
COMPOSITE_BASE = """\
    - uses: actions/checkout@v4
      with:
        persist-credentials: false
    - run: npm install
      shell: bash
"""
REUSABLE = """\
name: reusable
on:
  workflow_call:
jobs:
  r:
    runs-on: ubuntu-latest
    steps:
{steps}"""
REUSABLE_QUIET = "      - run: echo hi\n"
REUSABLE_PWN = """\
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
          persist-credentials: false
      - run: make test
"""


def _caller(trigger: str = "pull_request_target", guard: str = "") -> str:
    return CALLER.format(trigger=trigger, guard=guard)


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            base: Mapping[str, str], head: Mapping[str, str], author: Identity = CLAUDE,
            sarif: bool = False) -> tuple[int, list[dict[str, Any]]]:
    """`check` of a human base and `author`'s change: (exit code, findings); with `sarif`,
    each finding is the SARIF result's rule and `related` (path, line) list instead."""
    repo = make_repo("sarif" if sarif else "repo")
    first = repo.commit({"README.md": "# app\n", **base}, author=HUMAN)
    repo.commit(dict(head), author=author, message="ci: install deps in setup")
    if not sarif:
        return check_findings(repo, first, capsys)
    return check_sarif_related(repo, first, capsys)


def _nhi315(findings: list[dict[str, Any]]) -> list[tuple[str, int, bool, str]]:
    return sorted((f["path"], f["start_line"], f["blocking"], f["actor_kind"])
                  for f in findings if f["rule_id"] == "NHI315")


QUIET = {WF: _caller(), ACTION: COMPOSITE.format(steps=COMPOSITE_QUIET),
         CALLED: REUSABLE.format(steps=REUSABLE_QUIET)}
PWN = {ACTION: COMPOSITE.format(steps=COMPOSITE_PWN), CALLED: REUSABLE.format(steps=REUSABLE_PWN)}


def test_an_agent_making_the_callees_of_a_pull_request_target_job_run_its_code_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, QUIET, PWN)
    assert code == 1
    assert _nhi315(findings) == [(ACTION, 10, True, "agent"), (CALLED, 12, True, "agent")]
    by_path = {f["path"]: f["message"] for f in findings if f["rule_id"] == "NHI315"}
    assert by_path[ACTION].startswith(
        "runs.steps[0] (actions/checkout `ref: github.event.pull_request.head.sha`, line 5) "
        "fetches the pull request's code and runs.steps[1] (`npm`, line 10) runs code from "
        f"it, and {WF} (line 16) runs it in a workflow that `pull_request_target` (line 3) "
        "runs for pull requests from forks: the pull request's author runs code with the "
        "base repository's GITHUB_TOKEN")
    assert f"and {WF} (line 18) runs it" in by_path[CALLED]
    assert "jobs.r.steps[1] (`make`, line 12) runs code from it" in by_path[CALLED]
    _, sarif = _change(make_repo, capsys, QUIET, PWN, sarif=True)
    assert sorted(r for f in sarif if f["rule_id"] == "NHI315" for r in f["related"]) == [
        (WF, 16), (WF, 18)]


def test_an_agent_calling_an_existing_pwn_callee_from_a_pull_request_target_job_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    push = _caller("push").replace("    types: [opened, synchronize]\n", "")
    base = {".github/workflows/ci.yml": push, **PWN}
    code, findings = _change(make_repo, capsys, base, {WF: _caller()})
    assert code == 1
    assert _nhi315(findings) == [(WF, 16, True, "agent"), (WF, 18, True, "agent")]
    [msg] = [f["message"] for f in findings
             if f["rule_id"] == "NHI315" and f["start_line"] == 16]
    assert msg.startswith(
        f"jobs.a.steps[1] runs {ACTION}, whose runs.steps[0] (actions/checkout `ref: "
        "github.event.pull_request.head.sha`, line 5) fetches the pull request's code and "
        "runs.steps[1] (`npm`, line 10) runs code from it, in a workflow that "
        "`pull_request_target` (line 3) runs for pull requests from forks")


def test_a_persons_pwn_callee_is_reported_not_blocked(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, QUIET, PWN, HUMAN)
    assert code == 0
    assert _nhi315(findings) == [(ACTION, 10, False, "human"), (CALLED, 12, False, "human")]


@pytest.mark.parametrize(("base", "head"), [
    # the callers are `pull_request` workflows: a fork's run gets no secrets
    ({**QUIET, WF: _caller("pull_request")}, PWN),
    # the callees check out the base branch, not the pull request
    (QUIET, {ACTION: COMPOSITE.format(steps=COMPOSITE_BASE),
             CALLED: REUSABLE.format(steps=REUSABLE_PWN.replace(
                 "          ref: ${{ github.event.pull_request.head.sha }}\n", ""))}),
    # the calling jobs run only for pull requests from the repository itself
    ({**QUIET, WF: _caller(guard="\n    if: github.event.pull_request.head.repo.full_name"
                                 " == github.repository").replace(
        "  b:\n", "  b:\n    if: github.event.pull_request.head.repo.fork == false\n")}, PWN),
], ids=["pull-request-caller", "base-checkout", "same-repository-only"])
def test_a_callee_that_runs_no_strangers_code_with_credentials_passes(
        base: Mapping[str, str], head: Mapping[str, str],
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, base, head)
    assert (code, _nhi315(findings)) == (0, [])


COMPOSITE_PARAM = """\
name: build
inputs:
  ref:
    required: true
  label:
    required: false
runs:
  using: composite
  steps:
    - uses: actions/checkout@v4
      with:
        ref: ${{ inputs.ref }}
        persist-credentials: false
    - run: make test
      shell: bash
"""
PARAM_ACTION = ".github/actions/build/action.yml"
PARAM_CALLER = """\
name: prt
on: {trigger}
permissions:
  contents: read
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: ./.github/actions/build
        with:
          ref: {ref}
          label: ${{{{ github.event.pull_request.head.ref }}}}
"""


def _param_caller(ref: str, trigger: str = "pull_request_target") -> str:
    return PARAM_CALLER.format(trigger=trigger, ref=ref)


@pytest.mark.parametrize(("author", "blocking"), [(CLAUDE, True), (HUMAN, False)])
def test_a_head_ref_handed_to_a_local_action_that_checks_out_its_input_is_a_pwn_request(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: Identity, blocking: bool) -> None:
    """The attack pass's limit of session 11: the head ref reaches the checkout through the
    composite action's `with:` input, not an expression of its own."""
    base = {WF: _param_caller("${{ github.sha }}", "pull_request"),
            PARAM_ACTION: COMPOSITE_PARAM}
    head = {WF: _param_caller("${{ github.event.pull_request.head.sha }}")}
    code, findings = _change(make_repo, capsys, base, head, author=author)
    assert code == (1 if blocking else 0)
    assert _nhi315(findings) == [(WF, 9, blocking, "agent" if blocking else "human")]
    message = next(f["message"] for f in findings if f["rule_id"] == "NHI315")
    assert "`with.ref`" in message and PARAM_ACTION in message


def test_a_head_value_in_an_input_the_action_does_not_check_out_is_no_pwn_request(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {WF: _param_caller("${{ github.sha }}", "pull_request"),
            PARAM_ACTION: COMPOSITE_PARAM}
    head = {WF: _param_caller("${{ github.event.pull_request.base.sha }}")}
    _, findings = _change(make_repo, capsys, base, head)
    assert _nhi315(findings) == []  # `label` carries the head ref, but only `ref` is checked out
