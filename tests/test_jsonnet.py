"""A Jsonnet program is not read as YAML: it is NHI107 like a template, so an agent's
`.jsonnet` that yields a ClusterRoleBinding does not pass unread (the /work/nu8 attacker pass:
Argo CD evaluates `.jsonnet` files of a directory application itself)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import CLAUDE_TRAILER, HUMAN, GitRepo

from checker.cli import main

RBAC = """\
{
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRoleBinding',
  metadata: { name: 'web' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole',
             name: 'cluster-' + 'admin' },
  subjects: [{ kind: 'ServiceAccount', name: 'web', namespace: 'web' }],
}
"""
IMPORTS = "local k = import 'k.libsonnet';\nk.app('web')\n"
DASHBOARD = "{ dashboards: [{ title: 'latency' }] }\n"


def _check(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, bool]]:
    code = main(["check", "--repo", str(repo.path), "--base", "HEAD~1", "--head", "HEAD",
                 "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    return code, {f["path"]: f["blocking"] for f in findings if f["rule_id"] == "NHI107"}


@pytest.mark.parametrize("agent", [True, False])
def test_an_agents_jsonnet_that_may_yield_an_identity_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], agent: bool,
) -> None:
    repo = make_repo()
    repo.commit({"README.md": "x\n"}, author=HUMAN)
    repo.commit({"apps/web/rbac.jsonnet": RBAC, "apps/web/main.jsonnet": IMPORTS,
                 "apps/web/dash.jsonnet": DASHBOARD}, author=HUMAN, message="web app",
                trailers=[CLAUDE_TRAILER] if agent else [])
    code, found = _check(repo, capsys)
    # a kind named, or an import (what it yields may be defined elsewhere): not inert
    assert found == {"apps/web/rbac.jsonnet": agent, "apps/web/main.jsonnet": agent,
                     "apps/web/dash.jsonnet": False}
    assert code == (1 if agent else 0)
