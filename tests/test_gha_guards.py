"""What guards a GitHub Actions job's OIDC cloud credentials (attacker re-check, session 10:
`gha-env`, `gha-if`, `gha-branches`, `gha-trigger`): a job with `id-token: write` and
`google-github-actions/auth` for a deployer service account. Leaving its environment, losing
its `if:`, a wider branch filter or a new trigger makes the credentials reachable from more refs
or events: an agent's change blocks (NHI302, naming the guard that went), a person's does not;
a job that keeps its environment gets a note saying its protection rules may still apply; the
reverse changes are narrowing notes. Real git repos in temp dirs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo
from test_ci_job_credentials import _check

WF = ".github/workflows/deploy.yml"
DEPLOY = """\
name: deploy
on:
  push:
    branches: %(branches)s
%(extra)spermissions:
  contents: read
  id-token: write
jobs:
  deploy:
%(cond)s    runs-on: ubuntu-latest
%(env)s    steps:
    - uses: actions/checkout@v4
    - uses: google-github-actions/auth@6fc4af4b145ae7821d527454aa9bd537d1f2dc5f # v2
      with:
        workload_identity_provider: projects/1/locations/global/workloadIdentityPools/gh/providers/p
        service_account: deployer@acme-prod.iam.gserviceaccount.com
    - run: gcloud storage ls
"""
GUARDED = {"branches": "[main]", "extra": "", "cond": "    if: github.ref == 'refs/heads/main'\n",
           "env": "    environment: prod\n"}
LOOSER = {
    "environment": {"env": ""},
    "if": {"cond": ""},
    "branches": {"branches": '["**"]'},
    "trigger": {"extra": "  pull_request:\n"},
}
SAID = {
    "environment": "no longer runs in environment `prod`",
    "if": "its `if: github.ref == 'refs/heads/main'` was removed",
    "branches": "`on.push` runs for branches: [**] (was branches: [main])",
    "trigger": "a new trigger `pull_request`",
}


def _workflow(**changes: str) -> str:
    return DEPLOY % {**GUARDED, **changes}


def _nhi302(findings: list[dict[str, object]]) -> list[dict[str, object]]:
    return [f for f in findings if f["rule_id"] == "NHI302"]


@pytest.mark.parametrize("what", ["if", "branches", "trigger"])
def test_a_looser_guard_in_a_job_without_environment_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], what: str) -> None:
    base = _workflow(env="")
    head = _workflow(**{"env": "", **LOOSER[what]})
    code, findings = _check(make_repo, capsys, {WF: base}, {WF: head})
    assert code == 1
    (hit,) = _nhi302(findings)
    assert hit["blocking"] and SAID[what] in str(hit["message"])
    assert "no environment's protection rules gate the job now" in str(hit["message"])
    assert {f["rule_id"] for f in findings if f["blocking"]} >= {"NHI101", "NHI302"}


def test_leaving_the_environment_blocks_an_agent_and_not_a_person(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _check(make_repo, capsys, {WF: _workflow()}, {WF: _workflow(env="")})
    assert code == 1
    (hit,) = _nhi302(findings)
    assert hit["blocking"] and SAID["environment"] in str(hit["message"])


def test_a_person_leaving_the_environment_is_a_warning(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _check(make_repo, capsys, {WF: _workflow()}, {WF: _workflow(env="")},
                            author=HUMAN)
    assert code == 0
    (hit,) = _nhi302(findings)
    assert (hit["level"], hit["blocking"]) == ("warning", False)


@pytest.mark.parametrize("what", ["if", "branches", "trigger"])
def test_a_looser_guard_in_a_job_that_keeps_its_environment_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], what: str) -> None:
    code, findings = _check(make_repo, capsys, {WF: _workflow()},
                            {WF: _workflow(**LOOSER[what])})
    assert code == 0
    (hit,) = _nhi302(findings)
    assert hit["level"] == "note" and SAID[what] in str(hit["message"])
    assert "still runs in environment `prod`" in str(hit["message"])
    assert not [f for f in findings if f["rule_id"] == "NHI101"]


@pytest.mark.parametrize("what", ["environment", "if", "branches", "trigger"])
def test_a_tighter_guard_is_a_narrowing_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], what: str) -> None:
    code, findings = _check(make_repo, capsys, {WF: _workflow(**LOOSER[what])},
                            {WF: _workflow()})
    assert code == 0
    assert [(f["rule_id"], f["level"]) for f in findings] == [("NHI302", "note")]
    assert "none of it is looser" in str(findings[0]["message"])


def test_a_step_with_a_static_key_gets_no_guards(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    static = _workflow().replace(
        "        workload_identity_provider: projects/1/locations/global/"
        "workloadIdentityPools/gh/providers/p\n",
        "        credentials_json: ${{ secrets.GCP_KEY }}\n")
    _, findings = _check(make_repo, capsys, {WF: static},
                            {WF: static.replace("    if: github.ref == 'refs/heads/main'\n", "")})
    assert not _nhi302(findings)
