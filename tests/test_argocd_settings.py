"""Argo CD server settings that open access (`argocd-cmd-params-cm` `server.disable.auth`,
`application.namespaces`; `argocd-cm` `exec.enabled`) are grants: an agent
turning them on blocks (NHI301 at the key's line), a person's change does not, turning one back
off is a narrowing note. Real temp git repos through `cli.main`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main

AGENT = ("Claude", "noreply@anthropic.com")
PARAMS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cmd-params-cm
  namespace: argocd
data:
  server.insecure: "false"
"""
CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
data:
  url: https://argocd.corp.example
"""
NOAUTH = 'server.disable.auth: "true"\n  application.namespaces: "*"\n'
EXEC = 'exec.enabled: "true"\n  admin.enabled: "true"\n'


def _run(make_repo: Callable[..., GitRepo], base: Mapping[str, str], head: Mapping[str, str],
         author: tuple[str, str], capsys: pytest.CaptureFixture[str]
         ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    first = repo.commit(dict(base), author=HUMAN)
    last = repo.commit(dict(head), author=author, message="argo settings",
                       trailers=[("Requested-by", "Alice Example <alice@example.com>")])
    code = main(["check", "--repo", str(repo.path), "--base", first, "--head", last,
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def _rows(findings: list[dict[str, Any]]) -> set[tuple[str, str, int, bool]]:
    return {(f["rule_id"], f["path"], f["start_line"], f["blocking"]) for f in findings}


def test_agent_disabling_argocd_auth_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, {"cm.yaml": PARAMS}, {"cm.yaml": PARAMS + "  " + NOAUTH},
                          AGENT, capsys)
    assert code == 1
    assert ("NHI301", "cm.yaml", 8, True) in _rows(findings)
    (admin,) = [f for f in findings if f["rule_id"] == "NHI301"]
    assert "argocd:auth-disabled on (everyone who reaches the server)" in admin["message"]
    assert "argocd:application-namespaces on *" in admin["message"]


def test_person_disabling_argocd_auth_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, {"cm.yaml": PARAMS}, {"cm.yaml": PARAMS + "  " + NOAUTH},
                          HUMAN, capsys)
    assert code == 0
    assert ("NHI301", "cm.yaml", 8, False) in _rows(findings)


def test_agent_turning_on_exec_in_an_existing_argocd_cm_is_a_widening(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = CM + '  exec.enabled: "false"\n'
    code, findings = _run(make_repo, {"cm.yaml": base}, {"cm.yaml": CM + "  " + EXEC},
                          AGENT, capsys)
    assert code == 1
    rows = _rows(findings)
    assert ("NHI302", "cm.yaml", 8, True) in rows
    assert ("NHI301", "cm.yaml", 8, True) in rows
    (drift,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert "gains argocd:exec on (pods of every application" in drift["message"]


def test_agent_turning_argocd_auth_back_on_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, {"cm.yaml": PARAMS + '  server.disable.auth: "true"\n'},
                          {"cm.yaml": PARAMS + '  server.disable.auth: "false"\n'},
                          AGENT, capsys)
    assert code == 0
    assert [(f["rule_id"], f["level"], f["blocking"]) for f in findings
            if f["rule_id"].startswith("NHI3")] == [("NHI302", "note", False)]
