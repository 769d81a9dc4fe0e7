"""NHI315 gaps from the attacker pass (issue 12's principles on GitHub Actions): after a
`pull_request_target` job checks out the pull request's head at the workspace root, an action
that is handed no path but works in the workspace (a lint, build or test action; a setup
action told to install; an action nhi-gate does not know, failing closed) runs the pull
request's code; and a diff fetched from the REST API in one step, applied in a later one,
is the pull request's code too. An agent's change blocks; a person's is reported, not
blocked; actions documented to run nothing from the workspace pass. Real git repos."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity, check_findings

from checker.cli import main
from checker.model import SourceFile
from checker.secrets import scan

WF = ".github/workflows/pr.yml"
CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
HEAD_SHA = "${{ github.event.pull_request.head.sha }}"
CHECKOUT = f"""\
      - uses: actions/checkout@v4
        with:
          ref: {HEAD_SHA}
          persist-credentials: false
"""


def _workflow(steps: str) -> str:
    return ("on: pull_request_target\npermissions: {contents: read}\n"
            f"jobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n{steps}")


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            steps: str, author: Identity) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    first = repo.commit({"README.md": "# app\n"}, author=HUMAN)
    repo.commit({WF: _workflow(steps)}, author=author, message="ci: check pull requests")
    return check_findings(repo, first, capsys)


def _pwn(findings: list[dict[str, Any]]) -> list[tuple[int, str, bool, str]]:
    return [(f["start_line"], f["level"], f["blocking"], f["actor_kind"]) for f in findings
            if f["rule_id"] == "NHI315" and f["address"].endswith(".pr-head-code")]


#: The head checkout (lines 7-10), then an action handed nothing (line 11).
UNKNOWN_ACTION = CHECKOUT + "      - uses: some-org/check-pr@v3\n        with: {strict: true}\n"
LINT_ACTION = CHECKOUT + (
    "      - uses: wearerequired/lint-action@v2\n        with: {eslint: true}\n")
COMMENT_ACTION = CHECKOUT + (
    "      - uses: peter-evans/create-or-update-comment@v4\n"
    "        with: {issue-number: '${{ github.event.number }}', body: thanks}\n")


def test_an_agents_unknown_action_after_a_root_head_checkout_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, UNKNOWN_ACTION, CLAUDE)
    assert code == 1
    assert _pwn(findings) == [(11, "error", True, "agent")]
    [f] = [f for f in findings
           if f["rule_id"] == "NHI315" and f["address"].endswith(".pr-head-code")]
    assert ("steps[1] (`uses: some-org/check-pr`, an action nhi-gate does not read, working "
            "in the workspace, line 11) may run code from it") in f["message"]


def test_a_persons_unknown_action_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, UNKNOWN_ACTION, HUMAN)
    assert code == 0
    assert _pwn(findings) == [(11, "note", False, "human")]


@pytest.mark.parametrize(("author", "code", "found"), [
    (CLAUDE, 1, [(11, "error", True, "agent")]), (HUMAN, 0, [(11, "error", False, "human")])])
def test_a_lint_action_runs_the_head(
        author: Identity, code: int, found: list[tuple[int, str, bool, str]],
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    got, findings = _change(make_repo, capsys, LINT_ACTION, author)
    assert (got, _pwn(findings)) == (code, found)
    assert any("which lints the workspace" in f["message"] for f in findings
               if f["rule_id"] == "NHI315")


def test_a_comment_action_after_the_head_checkout_passes(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, COMMENT_ACTION, CLAUDE)
    assert (code, _pwn(findings)) == (0, [])


def test_scan_reports_an_unknown_action_as_a_note(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / ".github" / "workflows" / "pr.yml"
    path.parent.mkdir(parents=True)
    path.write_text(_workflow(UNKNOWN_ACTION))
    assert main(["scan", str(tmp_path), "--format", "text"]) == 0
    assert "L11  NHI315  note" in capsys.readouterr().out


def _runs(steps: str) -> list[tuple[int, str]]:
    objs = scan(SourceFile(WF, _workflow(steps).encode()), "github_actions").objects
    return [(o.attribute_lines["anchor"], o.secret_sinks[2]) for o in objs
            if o.type == "pr_head_code"]


@pytest.mark.parametrize(("steps", "found"), [
    # a setup action told to install the checkout's dependencies
    (CHECKOUT + "      - uses: ruby/setup-ruby@v1\n        with: {bundler-cache: true}\n",
     [(11, "runs:steps[1] `uses: ruby/setup-ruby`, which installs the workspace's "
           "dependencies (`bundler-cache: true`)")]),
    (CHECKOUT + "      - uses: actions/setup-python@v5\n        with: {pip-install: -e .}\n",
     [(11, "runs:steps[1] `uses: actions/setup-python`, which installs the workspace's "
           "dependencies (`pip-install: -e .`)")]),
    # github-script loading a file of the checkout
    (CHECKOUT + "      - uses: actions/github-script@v7\n        with:\n          script: |\n"
     "            const f = require('./scripts/label.js')\n",
     [(11, "runs:steps[1] `uses: actions/github-script`, which loads a workspace file in its "
           "script")]),
    # a docker image works in the workspace too
    (CHECKOUT + "      - uses: docker://golangci/golangci-lint:latest\n",
     [(11, "runs:steps[1] `uses: docker://golangci/golangci-lint:latest`, an action nhi-gate "
           "does not read, working in the workspace")]),
])
def test_actions_that_work_in_the_workspace(steps: str, found: list[tuple[int, str]]) -> None:
    assert _runs(steps) == found


@pytest.mark.parametrize("steps", [
    # setup without an install, a label, a cloud login, a changed-file list
    CHECKOUT + "      - uses: ruby/setup-ruby@v1\n        with: {bundler-cache: false}\n"
    "      - uses: actions/setup-node@v4\n        with: {cache: npm}\n"
    "      - uses: actions/labeler@v5\n      - uses: tj-actions/changed-files@v46\n"
    "      - uses: actions/github-script@v7\n        with: {script: 'console.log(1)'}\n",
    # the triggering run's artifact read by a later step; the downloading action itself
    # runs nothing (hashicorp/terraform-provider-azuread's pr-waiting-response-on-review)
    "      - uses: dawidd6/action-download-artifact@v9\n"
    "        with: {run_id: '${{ github.event.workflow_run.id }}'}\n"
    "      - run: echo \"n=$(cat artifact/n.txt)\" >> \"$GITHUB_OUTPUT\"\n",
    # the head in a subdirectory: an unknown action not handed it works in the base checkout
    "      - uses: actions/checkout@v4\n        with: {ref: '" + HEAD_SHA + "', path: pr}\n"
    "      - uses: some-org/check-pr@v3\n",
])
def test_actions_that_run_nothing_from_the_head(steps: str) -> None:
    assert _runs(steps) == []


#: The pull request's diff from the REST API (line 10) in one step, applied in the next, and
#: the tests run (line 12).
API_DIFF = """\
      - uses: actions/checkout@v4
        with: {persist-credentials: false}
      - run: |
          gh api "repos/${{ github.repository }}/pulls/${{ github.event.number }}" \\
            -H "Accept: application/vnd.github.diff" > pr.diff
      - run: git apply pr.diff
      - run: npm test
"""


@pytest.mark.parametrize(("author", "code", "blocking"), [(CLAUDE, 1, True), (HUMAN, 0, False)])
def test_a_diff_from_the_api_applied_later_is_the_head(
        author: Identity, code: int, blocking: bool,
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    got, findings = _change(make_repo, capsys, API_DIFF, author)
    assert got == code
    assert [(line, blocking_) for line, _, blocking_, _ in _pwn(findings)] == [(13, blocking)]
    [f] = [f for f in findings
           if f["rule_id"] == "NHI315" and f["address"].endswith(".pr-head-code")]
    assert ("steps[1] (a download of the pull request's diff from the API (`gh api`), line 10) "
            "fetches the pull request's code and steps[3] (`npm`, line 13)") in f["message"]


@pytest.mark.parametrize(("steps", "found"), [
    # curl, the media type before the URL, applied with patch
    ("      - run: |\n          curl -sSL -H 'Accept: application/vnd.github.v3.patch' "
     "-o pr.patch https://api.github.com/repos/o/r/pulls/${{ github.event.number }}\n"
     "      - run: patch -p1 < pr.patch && make\n",
     [(9, "runs:steps[1] `make`")]),
    # the `.diff` suffix of the API path, through an env variable
    ("      - run: gh api repos/o/r/pulls/$PR.diff > d && git am d\n"
     "        env: {PR: '${{ github.event.number }}'}\n      - run: ./build.sh\n",
     [(9, "runs:steps[1] `./build.sh`")]),
    # the pull request as JSON (no diff), then a build of the base
    ("      - uses: actions/checkout@v4\n"
     "      - run: gh api repos/o/r/pulls/${{ github.event.number }} > pr.json\n"
     "      - run: make\n", []),
])
def test_api_diff_downloads(steps: str, found: list[tuple[int, str]]) -> None:
    assert _runs(steps) == found
