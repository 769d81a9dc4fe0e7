"""Argo CD AppProject deny destinations (attacker pass, session 10): a destination whose
`server`, `name` or `namespace` starts with `!` denies what that field matches (Argo CD
refuses a destination any such entry fails, whatever the other entries allow), and allows
every other value. An agent that removes or changes a negation so that the project's other
destinations now reach what it denied widens the project (NHI302, blocking); adding one, or
removing one no head destination reaches, is a `narrowed` note. Real git repos: base by a
person, head by Claude. Source: https://argo-cd.readthedocs.io/en/stable/user-guide/projects/
(deny destinations; argo-cd `AppProject.isDestinationMatched`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

CLAUDE = ("Claude", "noreply@anthropic.com")

PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: team-a
  namespace: argocd
spec:
  sourceRepos: ["https://github.com/acme/team-a"]
  namespaceResourceWhitelist:
  - group: apps
    kind: Deployment
  destinations:
{destinations}"""


def project(*destinations: str) -> str:
    return PROJECT.format(destinations="".join(f"  - {d}\n" for d in destinations))


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            base: str, head: str, author: tuple[str, str] = CLAUDE
            ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    repo.commit({"README.md": "# app\n", "project.yaml": base}, author=HUMAN)
    repo.checkout("claude/change", create=True)
    repo.commit({"project.yaml": head}, author=author, message="chore: tidy project",
                trailers=[("Requested-by", "Alice Admin <alice@corp.example>")])
    return check_findings(repo, "main", capsys)


ANY_TEAM_A = "{server: '*', namespace: team-a}"
NOT_PROD = "{server: '!https://prod.example', namespace: team-a}"
NOT_PROD_EU = "{server: '!https://prod-eu.example', namespace: team-a}"
ANY_NAME = "{name: '*', namespace: team-a}"
NOT_PROD_NAME = "{name: '!prod', namespace: team-a}"
SVC = "https://kubernetes.default.svc"
TEAMS = "{server: '" + SVC + "', namespace: 'team-*'}"
NOT_SECRET = "{server: '" + SVC + "', namespace: '!team-secret'}"


@pytest.mark.parametrize(("base", "head", "dropped"), [
    ((ANY_TEAM_A, NOT_PROD), (ANY_TEAM_A,), "https://prod.example/*"),
    ((ANY_TEAM_A, NOT_PROD), (ANY_TEAM_A, NOT_PROD_EU), "https://prod.example/*"),
    ((ANY_NAME, NOT_PROD_NAME), (ANY_NAME,), "prod/*"),
    ((TEAMS, NOT_SECRET), (TEAMS,), "*/team-secret"),
    # a cluster name may name the denied server: not proven out of reach
    (("{name: 'prod-*', namespace: team-a}", NOT_PROD), ("{name: 'prod-*', namespace: team-a}",),
     "https://prod.example/*"),
])
def test_a_removed_or_changed_deny_destination_the_project_now_reaches_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        base: tuple[str, ...], head: tuple[str, ...], dropped: str) -> None:
    code, findings = _change(make_repo, capsys, project(*base), project(*head))
    assert code == 1
    drift = [f for f in findings if f["rule_id"] == "NHI302"]
    assert [(f["blocking"], f["level"]) for f in drift] == [(True, "error")]
    assert f"drops deny argocd:destination on {dropped}" in drift[0]["message"]
    assert ("NHI101", True) in {(f["rule_id"], f["blocking"]) for f in findings}


@pytest.mark.parametrize(("base", "head"), [
    ((ANY_TEAM_A,), (ANY_TEAM_A, NOT_PROD)),  # a deny destination added
    ((ANY_NAME,), (ANY_NAME, NOT_PROD_NAME)),
    ((TEAMS, NOT_SECRET), ("{server: '" + SVC + "', namespace: team-b}",)),  # not reached
])
def test_an_added_deny_destination_or_one_no_destination_reaches_is_a_narrowing_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        base: tuple[str, ...], head: tuple[str, ...]) -> None:
    code, findings = _change(make_repo, capsys, project(*base), project(*head))
    assert code == 0
    assert [(f["rule_id"], f["level"], f["blocking"]) for f in findings] == [
        ("NHI302", "note", False)]
    assert "narrowing" in findings[0]["message"]


def test_a_person_dropping_a_deny_destination_is_reported_not_blocking(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, project(ANY_TEAM_A, NOT_PROD),
                             project(ANY_TEAM_A), author=HUMAN)
    assert code == 0
    assert [(f["rule_id"], f["blocking"]) for f in findings] == [("NHI302", False)]
    assert "drops deny argocd:destination on https://prod.example/*" in findings[0]["message"]
