"""Argo CD's `argocd-cm` ConfigMap declares local accounts (`accounts.<name>: apiKey, login`:
an account that holds API tokens is a non-human identity) and anonymous access
(`users.anonymous.enabled`): both are read (`checker.parsers.kubernetes.gitops`), so an agent
adding either blocks (the /work/nu8 attacker pass: both passed `check`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import CLAUDE_TRAILER, HUMAN, GitRepo

from checker.cli import main
from checker.model import SourceFile
from checker.pipeline import parse_sources
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config

BASE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
data:
  url: https://argocd.corp.example
  admin.enabled: "true"
"""
ACCOUNT = '  accounts.ci-bot: apiKey, login\n'
ANONYMOUS = '  users.anonymous.enabled: "true"\n'


def _objects(text: str) -> list[Any]:
    parsed = parse_sources([SourceFile("argocd-cm.yaml", text.encode())], load_catalogue(),
                           Config())
    return [o for o in parsed.objects if o.derived_from is None]


def test_accounts_and_anonymous_access_are_grants() -> None:
    assert _objects(BASE) == []  # settings only: Argo CD's defaults, nothing granted here
    (obj,) = _objects(BASE + ACCOUNT + ANONYMOUS + '  accounts.old: apiKey\n'
                      '  accounts.old.enabled: "false"\n')
    assert (obj.type, obj.kind) == ("ConfigMap:argocd-cm", "user")
    assert [(g.action, g.resource, g.line) for g in obj.privileges] == [
        ("argocd:account/apiKey,login", "ci-bot", 9),
        ("argocd:anonymous", "(every unauthenticated user)", 10),
    ]


def _check(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> tuple[int, set[tuple[str, bool]]]:
    code = main(["check", "--repo", str(repo.path), "--base", "HEAD~1", "--head", "HEAD",
                 "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    return code, {(f["rule_id"], f["blocking"]) for f in findings
                  if f["rule_id"] in ("NHI101", "NHI301", "NHI302")}


@pytest.mark.parametrize("agent", [True, False])
@pytest.mark.parametrize("added", [ACCOUNT, ANONYMOUS])
def test_an_agent_adding_an_account_or_anonymous_access_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], agent: bool,
        added: str,
) -> None:
    repo = make_repo()
    repo.commit({"argocd/argocd-cm.yaml": BASE}, author=HUMAN, message="argocd")
    repo.commit({"argocd/argocd-cm.yaml": BASE + added}, author=HUMAN, message="access",
                trailers=[CLAUDE_TRAILER] if agent else [])
    code, found = _check(repo, capsys)
    assert ("NHI101", True) in found if agent else not any(b for _, b in found)
    assert code == (1 if agent else 0)


def test_turning_an_account_off_is_no_widening(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    repo.commit({"argocd/argocd-cm.yaml": BASE + ACCOUNT + ANONYMOUS}, author=HUMAN)
    repo.commit({"argocd/argocd-cm.yaml": BASE + ACCOUNT + '  accounts.ci-bot.enabled: "false"\n'},
                author=HUMAN, message="off", trailers=[CLAUDE_TRAILER])
    code, found = _check(repo, capsys)
    assert code == 0 and not any(blocking for _, blocking in found)
