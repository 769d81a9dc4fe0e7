"""A GitHub Actions job that no longer runs in the environment it did at base (attacker
re-check, session 9: `gha-env-remove`, `nar-gha-env-add`): `secrets.<NAME>` can no longer be
that environment's secret, only the repository's or organisation's secret of that name, which
every job without an environment already reads; the reference itself did not change. A
narrowing: an NHI302 note, no NHI101, for an agent and a person alike. A job that leaves its
environment and gains a secret reference is still judged. Real git repos in temp dirs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo
from test_ci_job_credentials import CLAUDE, ENV_BASE, WF, _check, _found

PRODUCTION = ENV_BASE % "    environment: production\n"
NONE = ENV_BASE % ""


@pytest.mark.parametrize("author", [CLAUDE, HUMAN])
def test_a_job_leaving_its_environment_is_a_narrowing_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str]) -> None:
    code, findings = _check(make_repo, capsys, {WF: PRODUCTION}, {WF: NONE}, author=author)
    assert (code, _found(findings)) == (0, {("NHI302", 11, False)})
    (note,) = findings
    assert note["level"] == "note"
    assert "no longer runs in environment `production`" in note["message"]


def test_a_job_leaving_its_environment_and_reading_another_secret_is_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = NONE.replace("KUBECONFIG_DATA: ${{ secrets.KUBECONFIG_DATA }}",
                        "KUBECONFIG_DATA: ${{ secrets.KUBECONFIG_DATA }}\n"
                        "          ADMIN: ${{ secrets.CLUSTER_ADMIN }}")
    code, findings = _check(make_repo, capsys, {WF: PRODUCTION}, {WF: head})
    assert code == 1
    assert ("NHI101", 12, True) in _found(findings)
