"""A `pull_request_target` job that checks out the pull request's head and runs code from it
(a "pwn request") is NHI315 whatever its token's permissions, naming the step that checks out
and the step that runs; and NHI103 asks for a requester only when an agent's commit creates
or widens an identity (issue 12's principles on GitHub Actions). Real git repos, an agent
(Claude) and a person changing the same files."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity, check_findings, found_at

from checker.model import SourceFile
from checker.secrets import scan

WF = ".github/workflows/ci.yml"
CLAUDE: Identity = ("Claude", "noreply@anthropic.com")

#: The base of /work/nu6/attack-prt: a `pull_request` workflow that runs the PR's code, safe.
SAFE = """\
name: ci
on: pull_request
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
        with: {persist-credentials: false}
      - run: make test
"""
#: attack-prt: the trigger becomes `pull_request_target` and the checkout takes the PR head,
#: the token stays `contents: read`.
PWN = SAFE.replace("on: pull_request\n", "on: pull_request_target\n").replace(
    "with: {persist-credentials: false}",
    'with: {persist-credentials: false, ref: "${{ github.event.pull_request.head.sha }}"}')
#: attack-prt2: the permissions block goes too, and the checkout persists its token.
PWN2 = """\
name: ci
on: pull_request_target
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
        with: {ref: "${{ github.event.pull_request.head.sha }}"}
      - run: make test
"""


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            base: dict[str, str], head: dict[str, str], author: Identity
            ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    first = repo.commit({"README.md": "# app\n", **base}, author=HUMAN)
    repo.commit(head, author=author, message="ci: run the tests on pull requests")
    return check_findings(repo, first, capsys)


def _pwn(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f["rule_id"] == "NHI315"
            and f["address"].endswith(".pr-head-code")]


def test_agent_pwn_request_with_a_read_only_token_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {WF: SAFE}, {WF: PWN}, CLAUDE)
    assert code == 1
    [f] = _pwn(findings)
    assert (f["rule_id"], f["level"], f["start_line"], f["blocking"]) == (
        "NHI315", "error", 10, True)
    message = f["message"]
    assert "`pull_request_target` (line 2)" in message
    assert ("steps[0] (actions/checkout `ref: github.event.pull_request.head.sha`, line 9) "
            "fetches the pull request's code") in message
    assert "steps[1] (`make`, line 11) runs code from it" in message
    assert ".git/config" not in message  # persist-credentials: false
    # The agent's commit gave a pull request's code the job's credentials: it names no
    # requester, so NHI103 asks for one, on that finding.
    assert ("NHI103", WF, 10, False) in found_at(findings)


def test_a_persons_pwn_request_is_reported_not_blocked(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {WF: SAFE}, {WF: PWN}, HUMAN)
    assert code == 0
    assert [(f["rule_id"], f["level"], f["blocking"], f["actor_kind"]) for f in _pwn(findings)
            ] == [("NHI315", "error", False, "human")]


def test_agent_pwn_request_without_permissions_names_the_persisted_token(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {WF: SAFE}, {WF: PWN2}, CLAUDE)
    assert code == 1
    assert {("NHI315", WF, 8, True), ("NHI302", WF, 2, True)} <= found_at(findings)
    [f] = _pwn(findings)
    assert "steps[1] (`make`, line 9)" in f["message"]
    assert "leaves GITHUB_TOKEN in .git/config" in f["message"]


def test_changing_only_the_trigger_is_judged_through_it(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A `pull_request` workflow may run its head; turning it into `pull_request_target`
    (one line, outside the job) hands that code the base's credentials."""
    head_checkout = PWN.replace("on: pull_request_target\n", "on: pull_request\n")
    code, findings = _change(make_repo, capsys, {WF: head_checkout}, {WF: PWN}, CLAUDE)
    assert code == 1
    [f] = _pwn(findings)
    assert (f["start_line"], f["blocking"]) == (11, True)  # the running step
    assert f["message"].endswith("; via on: pull_request_target (.github/workflows/ci.yml:2)")


#: /work/nu6/attack-wfrun: a `workflow_run` workflow that runs a script from the triggering
#: run's artifact (a fork's pull request run uploads what it likes).
WFRUN = """\
name: post
on:
  workflow_run:
    workflows: [ci]
    types: [completed]
permissions:
  contents: read
jobs:
  t:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with:
          run-id: ${{ github.event.workflow_run.id }}
      - run: bash ./artifact/script.sh
"""


def test_agent_running_the_triggering_runs_artifact_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    post = ".github/workflows/post.yml"
    code, findings = _change(make_repo, capsys, {}, {post: WFRUN}, CLAUDE)
    assert code == 1
    [f] = _pwn(findings)
    assert (f["path"], f["start_line"], f["blocking"]) == (post, 15, True)
    assert ("steps[0] (`actions/download-artifact` of the triggering run's artifact, line 12) "
            "fetches the pull request's code and steps[1] (`bash`, line 15)") in f["message"]
    assert "`workflow_run` (line 3)" in f["message"]


def test_an_agent_editing_another_job_of_a_persons_pwn_request_is_not_blamed_for_it(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    lint = "  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo lint\n"
    code, findings = _change(make_repo, capsys, {WF: PWN + lint},
                             {WF: PWN + lint.replace("echo lint", "echo linted")}, CLAUDE)
    assert code == 0
    assert _pwn(findings) == []


#: How a job gets the pull request's code, and how it runs it: (workflow jobs text, the
#: running line, what the message names).
UNSAFE = {
    "gh-pr-checkout": ("""\
      - run: |
          gh pr checkout ${{ github.event.pull_request.number }}
          npm install
""", 12, "`npm`"),
    "git-fetch-pull-ref": ("""\
      - uses: actions/checkout@v4
      - run: git fetch origin pull/${{ github.event.number }}/head:pr && git checkout pr
      - run: ./scripts/build.sh
""", 12, "`./scripts/build.sh`"),
    "head-ref": ("""\
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.head_ref }}
      - uses: ./.github/actions/setup
""", 13, "`uses: ./.github/actions/setup`"),
    "merge-ref-through-env": ("""\
      - uses: actions/checkout@v4
        env:
          IGNORED: x
        with:
          ref: ${{ env.PR_REF }}
      - run: |
          echo "building"
          sudo -E make install
""", 17, "`make`"),
    "fork-repository": ("""\
      - uses: actions/checkout@v4
        with:
          repository: ${{ github.event.pull_request.head.repo.full_name }}
      - run: python -m pytest
""", 13, "`python`"),
    "same-repository-or-anything": ("""\
      - uses: actions/checkout@v4
        if: github.event.pull_request.head.repo.full_name == github.repository || true
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: make test
""", 14, "`make`"),
    "fork-only-condition": ("""\
      - uses: actions/checkout@v4
        if: github.event.pull_request.head.repo.full_name != github.repository
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: make test
""", 14, "`make`"),
    "env-file-injection": ("""\
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: cat .ci-env >> "$GITHUB_ENV"
""", 13, "a file's content into $GITHUB_ENV`"),
    "subdirectory-named": ("""\
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
          path: pr
      - run: echo ok
      - run: npm ci
        working-directory: pr
""", 15, "`npm`"),
}
SAFE_STEPS = {
    "base-checkout": """\
      - uses: actions/checkout@v4
      - run: make test
""",
    "head-read-only": """\
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: |
          git diff --stat origin/main...HEAD   # compare
          echo "files=$(git diff --name-only HEAD~1 | wc -l)" >> "$GITHUB_OUTPUT"
          cat <<EOF >> "$GITHUB_STEP_SUMMARY"
          make the world a better place
          EOF
      - run: gh pr comment ${{ github.event.number }} --body "thanks"
""",
    "head-in-subdirectory-unused": """\
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
          path: pr
      - run: ./scripts/label.sh
""",
    "same-repository-only": """\
      - uses: actions/checkout@v4
        if: github.event.pull_request.head.repo.full_name == github.repository
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: make test
""",
    "run-before-checkout": """\
      - run: make lint
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
""",
}


def _workflow(steps: str, trigger: str = "pull_request_target") -> SourceFile:
    text = (f"on: {trigger}\npermissions:\n  contents: read\nenv:\n"
            "  PR_REF: refs/pull/${{ github.event.number }}/merge\njobs:\n  test:\n"
            f"    runs-on: ubuntu-latest\n    steps:\n{steps}")
    return SourceFile(WF, text.encode())


@pytest.mark.parametrize("case", sorted(UNSAFE))
def test_each_way_of_running_the_head_is_found(case: str) -> None:
    steps, line, what = UNSAFE[case]
    facets = [o for o in scan(_workflow(steps), "github_actions").objects
              if o.type == "pr_head_code"]
    assert [(o.address, o.attribute_lines["anchor"]) for o in facets] == [
        (f"{WF}#jobs.test.pr-head-code", line)]
    assert any(s.endswith(what) for s in facets[0].secret_sinks), facets[0].secret_sinks


@pytest.mark.parametrize("case", sorted(SAFE_STEPS))
def test_a_job_that_does_not_run_the_head_is_not_a_pwn_request(case: str) -> None:
    assert [o for o in scan(_workflow(SAFE_STEPS[case]), "github_actions").objects
            if o.type == "pr_head_code"] == []


def test_a_reusable_workflow_handed_the_head_is_a_pwn_request() -> None:
    text = ("on: pull_request_target\njobs:\n  build:\n    uses: ./.github/workflows/build.yml\n"
            "    with:\n      ref: ${{ github.event.pull_request.head.sha }}\n"
            "    secrets: inherit\n")
    [facet] = [o for o in scan(SourceFile(WF, text.encode()), "github_actions").objects
               if o.type == "pr_head_code"]
    assert (facet.attribute_lines["anchor"], facet.secret_sinks[1:]) == (
        6, ("checkout:the call `with.ref`", "runs:the call `uses: ./.github/workflows/build.yml`"))


def test_a_merged_pull_requests_commit_is_trusted_through_needs() -> None:
    """argo-cd's cherry-pick: the calling job needs one that runs only for a merged pull
    request, whose merge commit is on the base branch."""
    text = ("on:\n  pull_request_target:\n    types: [closed]\njobs:\n  labels:\n"
            "    if: |\n      github.event.pull_request.merged == true && (\n"
            "        github.event.action == 'closed' || github.event.action == 'labeled')\n"
            "    runs-on: ubuntu-latest\n    steps:\n      - run: echo x\n"
            "  pick:\n    needs: labels\n    uses: ./.github/workflows/pick.yml\n"
            "    with:\n      sha: ${{ github.event.pull_request.merge_commit_sha }}\n")
    assert [o for o in scan(SourceFile(WF, text.encode()), "github_actions").objects
            if o.type == "pr_head_code"] == []
    evaded = text.replace("merged == true && (", "merged == true || (")
    assert [o.attribute_lines["anchor"] for o in scan(
        SourceFile(WF, evaded.encode()), "github_actions").objects
        if o.type == "pr_head_code"] == [16]


@pytest.mark.parametrize(("trigger", "ref", "line"), [
    ("workflow_run", "${{ github.event.workflow_run.head_sha }}", 13),
    ("issue_comment", "refs/pull/${{ github.event.issue.number }}/head", 13)])
def test_workflow_run_and_issue_comment_run_the_head_with_credentials_too(
        trigger: str, ref: str, line: int) -> None:
    steps = f"      - uses: actions/checkout@v4\n        with:\n          ref: {ref}\n" + (
        "      - run: make\n")
    [facet] = [o for o in scan(_workflow(steps, trigger), "github_actions").objects
               if o.type == "pr_head_code"]
    assert (facet.attribute_lines["anchor"], facet.secret_sinks[0]) == (line, f"trigger:{trigger}")


def test_a_pull_request_workflow_running_its_head_is_not_a_pwn_request() -> None:
    steps, _, _ = UNSAFE["gh-pr-checkout"]
    assert [o for o in scan(_workflow(steps, "pull_request"), "github_actions").objects
            if o.type == "pr_head_code"] == []


# -- NHI103: only for a commit that creates or widens an identity ----------------------------

NO_BLOCK = SAFE.replace("permissions:\n  contents: read\n", "")


def _nhi103(findings: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(f["address"], f["start_line"]) for f in findings if f["rule_id"] == "NHI103"]


def test_agent_adding_a_read_only_permissions_block_is_not_asked_for_a_requester(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {WF: NO_BLOCK}, {WF: SAFE}, CLAUDE)
    assert code == 0
    assert [(f["rule_id"], f["level"]) for f in findings] == [("NHI302", "note")]
    assert _nhi103(findings) == []


def test_agent_adding_a_write_permission_is_asked_for_a_requester(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    write = SAFE.replace("contents: read", "contents: write")
    code, findings = _change(make_repo, capsys, {WF: NO_BLOCK}, {WF: write}, CLAUDE)
    assert code == 1
    assert ("NHI101", WF, 3, True) in found_at(findings)
    assert _nhi103(findings) == [(f"{WF}#permissions", 3)]


def test_agent_writing_only_a_secret_is_not_asked_for_a_requester(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A secret with no identity around it is NHI401 for anyone; NHI103 is about identities."""
    env = "GITHUB_TOKEN=ghp_hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rES\n"
    code, findings = _change(make_repo, capsys, {}, {"deploy/.env": env}, CLAUDE)
    assert code == 1
    assert ("NHI401", "deploy/.env", 1, True) in found_at(findings)
    assert _nhi103(findings) == []
