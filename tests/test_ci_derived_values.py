"""Values a job computes at run time and hands on (slice fixG, the attack pass's repros
gha-prt-checkout-via-step-output, gha-workflow-run-gh-download and
gha-injection-via-step-output): a step output, a `$GITHUB_ENV` variable or a job output
computed from the pull request's head names its code as much as
`github.event.pull_request.head.sha` (NHI315); one computed from an outsider's text is their
text (NHI325, as zizmor's template-injection reads step outputs); `gh run download` (or the
REST API) of the triggering run's artifact in a `workflow_run` job is that run's code (NHI315).
A value computed from anything else gives nothing. An agent's change blocks; a person's is
reported, not blocked. Real git repos."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity, check_findings

from checker.model import SourceFile
from checker.secrets import scan

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
WF = ".github/workflows/w.yml"


def _workflow(jobs: str, trigger: str = "pull_request_target") -> str:
    return f"on: {trigger}\npermissions: {{contents: read}}\njobs:\n{jobs}"


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            text: str, author: Identity = CLAUDE) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    first = repo.commit({"README.md": "# app\n"}, author=HUMAN)
    repo.commit({WF: text}, author=author, message="ci: triage pull requests")
    return check_findings(repo, first, capsys)


def _rule(findings: list[dict[str, Any]], rule: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["rule_id"] == rule]


# NHI315: a head checkout through a computed value

GH_VIEW = """\
  label:
    runs-on: ubuntu-latest
    steps:
      - id: pr
        env:
          PR: ${{ github.event.number }}
        run: echo "sha=$(gh pr view $PR --json headRefOid -q .headRefOid)" >> "$GITHUB_OUTPUT"
      - uses: actions/checkout@v4
        with:
          ref: ${{ steps.pr.outputs.sha }}
      - run: npm ci && npm test
"""
JOB_OUTPUT = """\
  pr:
    runs-on: ubuntu-latest
    outputs:
      sha: ${{ steps.get.outputs.sha }}
    steps:
      - id: get
        run: |
          SHA=$(jq -r .pull_request.head.sha "$GITHUB_EVENT_PATH")
          echo "sha=$SHA" >> "$GITHUB_OUTPUT"
  test:
    needs: pr
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ needs.pr.outputs.sha }}
          persist-credentials: false
      - run: make test
"""
GITHUB_ENV = """\
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo "PR_REF=$(gh api repos/o/r/pulls/$PR --jq .head.ref)" >> $GITHUB_ENV
      - uses: actions/checkout@v4
        with:
          ref: ${{ env.PR_REF }}
          persist-credentials: false
      - run: ./build.sh
"""
SCRIPT_RESULT = """\
  test:
    if: github.event.issue.pull_request
    runs-on: ubuntu-latest
    steps:
      - uses: actions/github-script@v7
        id: pr
        with:
          result-encoding: string
          script: |
            const pr = await github.rest.pulls.get({owner: context.repo.owner,
              repo: context.repo.repo, pull_number: context.issue.number})
            return pr.data.head.sha
      - uses: actions/checkout@v4
        with:
          ref: ${{ steps.pr.outputs.result }}
          persist-credentials: false
      - run: pip install -e . && pytest
"""


@pytest.mark.parametrize(("jobs", "trigger", "line", "ref", "runs"), [
    (GH_VIEW, "pull_request_target", 14, "steps.pr.outputs.sha", "`npm`"),
    (JOB_OUTPUT, "pull_request_target", 21, "needs.pr.outputs.sha", "`make`"),
    (GITHUB_ENV, "pull_request_target", 12, "env.PR_REF", "`./build.sh`"),
    (SCRIPT_RESULT, "issue_comment", 20, "steps.pr.outputs.result", "`pip`"),
], ids=["gh-pr-view-output", "job-output", "github-env", "github-script-result"])
def test_an_agents_checkout_of_a_value_computed_from_the_head_blocks(
        jobs: str, trigger: str, line: int, ref: str, runs: str,
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, _workflow(jobs, trigger))
    assert code == 1
    [f] = [f for f in _rule(findings, "NHI315") if f["address"].endswith(".pr-head-code")]
    assert (f["path"], f["start_line"], f["blocking"], f["actor_kind"]) == (
        WF, line, True, "agent")
    assert f"actions/checkout `ref: ${{{{ {ref} }}}}` (a value computed from the pull " \
           "request's head)" in f["message"]
    assert f"({runs}, line {line}) runs code from it" in f["message"]


def test_a_persons_checkout_of_a_step_output_from_the_head_is_reported_not_blocked(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, _workflow(GH_VIEW), HUMAN)
    assert code == 0
    assert [(f["start_line"], f["blocking"], f["actor_kind"])
            for f in _rule(findings, "NHI315")] == [(14, False, "human")]


@pytest.mark.parametrize("source", [
    'echo "sha=$(git rev-parse HEAD)" >> "$GITHUB_OUTPUT"',  # the base's own commit
    'echo "sha=$(gh pr view ${{ github.event.number }} --json baseRefOid -q .baseRefOid)"'
    ' >> "$GITHUB_OUTPUT"',
    'echo "sha=${{ github.event.pull_request.base.sha }}" >> "$GITHUB_OUTPUT"',
])
def test_a_checkout_of_a_step_output_not_from_the_head_passes(
        source: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    jobs = GH_VIEW.replace(GH_VIEW.splitlines()[6].split("run: ", 1)[1], source)
    code, findings = _change(make_repo, capsys, _workflow(jobs))
    assert _rule(findings, "NHI315") == []
    assert code == 0


# NHI315: the triggering run's artifact through the gh CLI or the REST API

GH_RUN_DOWNLOAD = """\
  comment:
    runs-on: ubuntu-latest
    steps:
      - env:
          GH_TOKEN: ${{ github.token }}
        run: |
          gh run download ${{ github.event.workflow_run.id }} -n report -D report
          bash report/post.sh
"""
API_ARTIFACTS = """\
  comment:
    runs-on: ubuntu-latest
    env:
      RUN_ID: ${{ github.event.workflow_run.id }}
    steps:
      - run: |
          url=$(gh api "repos/o/r/actions/runs/$RUN_ID/artifacts" -q .artifacts[0].url)
          curl -sSL -H "Authorization: Bearer $GH_TOKEN" -o report.zip "$url"
          unzip report.zip && node post.js
"""
WORKFLOW_RUN = "\n  workflow_run:\n    workflows: [ci]\n    types: [completed]"


@pytest.mark.parametrize(("jobs", "fetch_line", "line", "how", "runs"), [
    (GH_RUN_DOWNLOAD, 13, 14, "`gh run download` of the triggering run's artifact", "`bash`"),
    (API_ARTIFACTS, 13, 15, "a download of the triggering run's artifact (`gh api`)",
     "`node`"),
], ids=["gh-run-download", "api-artifacts"])
def test_an_agents_workflow_run_job_running_the_triggering_runs_artifact_blocks(
        jobs: str, fetch_line: int, line: int, how: str, runs: str,
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, _workflow(jobs, WORKFLOW_RUN))
    assert code == 1
    [f] = _rule(findings, "NHI315")
    assert (f["start_line"], f["blocking"], f["actor_kind"]) == (line, True, "agent")
    assert f"steps[0] ({how}, line {fetch_line}) fetches the pull request's code and " \
           f"steps[0] ({runs}, line {line}) runs code from it" in f["message"]


@pytest.mark.parametrize("fetch", [
    "gh run download ${{ github.run_id }} -n report -D report",  # this run's own artifact
    "gh run view ${{ github.event.workflow_run.id }} --json conclusion > status.json",
])
def test_a_workflow_run_job_not_fetching_the_triggering_runs_artifact_passes(
        fetch: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    jobs = GH_RUN_DOWNLOAD.replace(GH_RUN_DOWNLOAD.splitlines()[6].strip(), fetch)
    code, findings = _change(make_repo, capsys, _workflow(jobs, WORKFLOW_RUN))
    assert (code, _rule(findings, "NHI315")) == (0, [])


# NHI325: an outsider's text expanded through a computed value

TITLE_OUTPUT = """\
  triage:
    runs-on: ubuntu-latest
    steps:
      - id: t
        run: echo "title=$(jq -r .pull_request.title "$GITHUB_EVENT_PATH")" >> "$GITHUB_OUTPUT"
      - run: echo "triage ${{ steps.t.outputs.title }}"
"""
COMMENT_RESULT = """\
  reply:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/github-script@v7
        id: c
        with:
          result-encoding: string
          script: return context.payload.comment.body
      - run: echo "you said ${{ steps.c.outputs.result }}"
"""
JOB_OUTPUT_TEXT = """\
  read:
    runs-on: ubuntu-latest
    outputs:
      body: ${{ steps.b.outputs.body }}
    steps:
      - id: b
        run: |
          {
            echo "body<<EOF"
            gh issue view ${{ github.event.issue.number }} --json body -q .body
            echo "EOF"
          } >> "$GITHUB_OUTPUT"
  post:
    needs: read
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ needs.read.outputs.body }}" | ./classify
"""
ENV_TEXT = """\
  triage:
    runs-on: ubuntu-latest
    steps:
      - env:
          HEAD: ${{ github.head_ref }}
        run: echo "BRANCH=$HEAD" >> "$GITHUB_ENV"
      - run: ./deploy-preview "${{ env.BRANCH }}"
"""


@pytest.mark.parametrize(("jobs", "trigger", "line", "expr"), [
    (TITLE_OUTPUT, "pull_request_target", 9, "steps.t.outputs.title"),
    (COMMENT_RESULT, "issue_comment", 12, "steps.c.outputs.result"),
    (JOB_OUTPUT_TEXT, "issues", 20, "needs.read.outputs.body"),
    (ENV_TEXT, "pull_request_target", 10, "env.BRANCH"),
], ids=["event-file-title", "github-script-comment", "job-output-multiline", "github-env"])
def test_an_agent_expanding_a_value_computed_from_outsider_text_blocks(
        jobs: str, trigger: str, line: int, expr: str,
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, _workflow(jobs, trigger))
    assert code == 1
    [f] = _rule(findings, "NHI325")
    assert (f["path"], f["start_line"], f["blocking"], f["actor_kind"]) == (
        WF, line, True, "agent")
    computed = " (an output the workflow computes from outsider text)" if (
        ".outputs." in expr) else ""
    assert f"expands `${{{{ {expr} }}}}`{computed} into its script" in f["message"]


def test_a_persons_expansion_of_a_step_output_from_a_title_is_reported_not_blocked(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, _workflow(TITLE_OUTPUT), HUMAN)
    assert code == 0
    assert [(f["start_line"], f["blocking"], f["actor_kind"])
            for f in _rule(findings, "NHI325")] == [(9, False, "human")]


@pytest.mark.parametrize(("jobs", "trigger"), [
    # a number from the event file, not text
    (TITLE_OUTPUT.replace(".pull_request.title", ".pull_request.number"),
     "pull_request_target"),
    # the script reads the comment only to decide; it returns the number
    (COMMENT_RESULT.replace(
        "script: return context.payload.comment.body",
        "script: |\n            const body = context.payload.comment.body\n"
        "            if (!body.startsWith('/size')) return 0\n"
        "            return context.issue.number"), "issue_comment"),
    # gh's view of fields nobody outside chose
    (JOB_OUTPUT_TEXT.replace("--json body -q .body", "--json number,state -q .state"),
     "issues"),
    # the outsider's text read through `env:` as "$T": the safe form
    (TITLE_OUTPUT.replace('      - run: echo "triage ${{ steps.t.outputs.title }}"',
                          "      - env:\n          T: ${{ steps.t.outputs.title }}\n"
                          '        run: echo "triage $T"'), "pull_request_target"),
], ids=["number", "comment-only-tested", "gh-trusted-fields", "through-env"])
def test_an_expansion_of_a_value_not_from_outsider_text_passes(
        jobs: str, trigger: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, _workflow(jobs, trigger))
    assert _rule(findings, "NHI325") == []
    assert code == 0


# How a value is handed on, read at the facet level

def _expanded(steps: str, trigger: str = "issue_comment") -> list[str]:
    """The injected expressions of a one-job workflow's `template_injection` facet."""
    text = _workflow(f"  j:\n    runs-on: ubuntu-latest\n    steps:\n{steps}", trigger)
    objs = scan(SourceFile(WF, text.encode()), "github_actions").objects
    return [s.split(" ", 2)[2] for o in objs if o.type == "template_injection"
            for s in o.secret_sinks if s.startswith("injects:")]


@pytest.mark.parametrize(("steps", "expanded"), [
    # a here-document written to $GITHUB_OUTPUT
    ("      - id: a\n        run: |\n          cat <<EOF >> \"$GITHUB_OUTPUT\"\n"
     "          n=1\n          body=${{ github.event.comment.body }}\n          EOF\n"
     "      - run: echo ${{ steps.a.outputs.n }} ${{ steps.a.outputs.body }}\n",
     ["github.event.comment.body", "steps.a.outputs.body"]),
    # the deprecated set-output command, from a variable the script assigned
    ("      - id: a\n        run: |\n          B=$(jq -r .comment.body $GITHUB_EVENT_PATH)\n"
     "          echo \"::set-output name=b::$B\"\n"
     "      - run: echo ${{ steps.a.outputs.b }}\n", ["steps.a.outputs.b"]),
    # github-script: a destructured body, set as a named output; the number is not text
    ("      - id: a\n        uses: actions/github-script@v7\n        with:\n          script: |\n"
     "            const { body, id } = context.payload.comment\n"
     "            core.setOutput('text', body)\n            core.setOutput('id', id)\n"
     "      - run: echo ${{ steps.a.outputs.text }} ${{ steps.a.outputs.id }}\n",
     ["steps.a.outputs.text"]),
    # a step output read before the step that writes it is not yet tainted
    ("      - run: echo ${{ steps.a.outputs.t }}\n      - id: a\n"
     "        run: echo \"t=${{ github.event.issue.title }}\" >> $GITHUB_OUTPUT\n",
     ["github.event.issue.title"]),
    # an output written from a script file is not read: not assumed tainted
    ("      - id: a\n        run: ./scripts/summary.sh >> \"$GITHUB_OUTPUT\"\n"
     "      - run: echo ${{ steps.a.outputs.summary }}\n", []),
], ids=["heredoc", "set-output", "github-script-destructured", "order", "script-file"])
def test_which_outputs_carry_outsider_text(steps: str, expanded: list[str]) -> None:
    assert _expanded(steps) == expanded
