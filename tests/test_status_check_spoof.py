"""A required status check is matched by name only, so a job of another workflow named
`nhi-gate` passes for the gate. A literal `name: nhi-gate` makes the file a gate workflow
(NHI102); a name that is an expression (/work/nu7/attack-off-fakejob2:
`name: ${{ format("{0}-{1}", "nhi", "gate") }}`) or spells it another way may evaluate to it:
an agent's new or changed such job, in a workflow run on pull requests, is NHI102 and blocks;
a person's is not reported (issue 12's principles). Real git repos."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.cli import main
from checker.parsers.status_checks import may_be

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
WF = ".github/workflows/lint.yml"
SPOOF = """\
on: pull_request
jobs:
  check:
    name: ${{ format("{0}-{1}", "nhi", "gate") }}
    runs-on: ubuntu-latest
    steps:
      - run: echo ok
"""
MATRIX = """\
on: pull_request
jobs:
  test:
    name: Test (${{ matrix.os }})
    strategy: {matrix: {os: [ubuntu-latest, macos-latest]}}
    runs-on: ${{ matrix.os }}
    steps:
      - run: make test
"""


def _nhi102(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            base: dict[str, str], head: dict[str, str], author: Identity
            ) -> tuple[int, list[tuple[str, str, bool, str]]]:  # fmt: skip
    repo = make_repo()
    first = repo.commit({"README.md": "# app\n", **base}, author=HUMAN)
    last = repo.commit(head, author=author, message="ci: lint")
    code = main(["check", "--repo", str(repo.path), "--base", first, "--head", last,
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["path"], f["level"], f["blocking"], f["message"])
                  for f in report["findings"] if f["rule_id"] == "NHI102"]


def test_an_agents_job_named_by_an_expression_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, found = _nhi102(make_repo, capsys, {}, {WF: SPOOF}, CLAUDE)
    assert code == 1
    [(path, level, blocking, message)] = found
    assert (path, level, blocking) == (WF, "error", True)
    assert ("(a workflow whose job may report the nhi-gate status check) was changed by "
            "agent (Claude Code)") in message
    assert ("it adds or changes job `check` (`name: ${{ format(\"{0}-{1}\", \"nhi\", "
            "\"gate\") }}`) in a workflow run on pull requests, whose name may evaluate to "
            "`nhi-gate`") in message


def test_a_persons_job_named_by_an_expression_is_not_reported(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    assert _nhi102(make_repo, capsys, {}, {WF: SPOOF}, HUMAN) == (0, [])


@pytest.mark.parametrize(("base", "head", "blocks"), [
    # an agent changing the steps of a person's expression-named job
    (SPOOF, SPOOF.replace("echo ok", "echo fine"), True),
    # the same name spelled with a YAML escape, or in capitals: no literal `nhi-gate`
    ("", SPOOF.replace('${{ format("{0}-{1}", "nhi", "gate") }}', '"nhi\\x2dgate"'), True),
    ("", SPOOF.replace('${{ format("{0}-{1}", "nhi", "gate") }}', "NHI-Gate"), True),
    # pull_request_target and push report checks on a pull request's commits too
    ("", SPOOF.replace("on: pull_request", "on: [push]"), True),
    # literal text around the expression that `nhi-gate` cannot hold
    ("", MATRIX, False),
    # an agent editing another job of a workflow whose expression-named job stays
    (SPOOF, SPOOF + "  other:\n    runs-on: ubuntu-latest\n    steps:\n      - run: ls\n", False),
    # a workflow no pull request runs
    ("", SPOOF.replace("on: pull_request", "on: workflow_dispatch"), False),
])
def test_which_agent_changes_of_a_job_name_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], base: str,
        head: str, blocks: bool) -> None:
    code, found = _nhi102(make_repo, capsys, {WF: base} if base else {}, {WF: head}, CLAUDE)
    assert [(p, level, blocking) for p, level, blocking, _ in found] == (
        [(WF, "error", True)] if blocks else [])
    assert (code == 1) == blocks


def test_a_name_may_be_the_gate_when_its_literal_text_fits() -> None:
    assert may_be("${{ matrix.name }}") and may_be("nhi-${{ x }}") and may_be("NHI-GATE")
    assert may_be("n${{ x }}e")
    assert not may_be("Test (${{ matrix.os }})") and not may_be("lint")
    assert not may_be("${{ a }} / build")
