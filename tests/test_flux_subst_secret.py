"""A person's change to a Flux `substituteFrom` Secret (attacker re-check, session 9:
`flux-subst-secret-b64`, `nar-flux-subst-secret-b64`). The substitution is computed from the
Secret's base64 `data`, so the binding it feeds is judged by meaning: turning `cluster-admin`
back into `view` is a narrowing note, turning it on is NHI301/NHI302 (blocking an agent, a
note-level report for a person). Identity metadata (owner, ticket, expiry: NHI201-NHI203) never
blocks a person. What blocks a person is NHI404 alone: a Secret manifest with literal `data`
committed is secret material (base64 is an encoding, not a protection), gated for every
author, as before. Real git repos in temp dirs."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo
from test_gitops_renders import AGENT, _rows
from test_gitops_renders import _run as run

KUSTOMIZATION = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: web
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/web
  prune: true
  serviceAccountName: web-deployer
  targetNamespace: web
  sourceRef: {kind: GitRepository, name: repo}
  postBuild:
    substituteFrom:
    - kind: Secret
      name: web-secret
"""
CRB = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: web
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: ${ROLE}
subjects:
- kind: ServiceAccount
  name: web
  namespace: web
"""
VARS = "clusters/prod/vars.yaml"
BINDING = "clusters/prod/web.yaml:ClusterRoleBinding/web"
SECRET = "Secret/flux-system/web-secret"


def _secret(role: str) -> str:
    data = base64.b64encode(role.encode()).decode()
    return ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: web-secret\n"
            f"  namespace: flux-system\ndata:\n  ROLE: {data}\n")


FILES = {"clusters/prod/web.yaml": KUSTOMIZATION, "apps/web/crb.yaml": CRB}


@pytest.mark.parametrize(("was", "now"), [("cluster-admin", "view"),
                                          ("view", "cluster-admin")])
def test_a_persons_substitution_secret_change_blocks_only_for_its_literal_data(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        was: str, now: str) -> None:
    code, findings = run(make_repo, {**FILES, VARS: _secret(was)}, {VARS: _secret(now)},
                         HUMAN, capsys)
    assert code == 1
    blocking = {(f["rule_id"], f["address"]) for f in findings if f["blocking"]}
    assert blocking == {("NHI404", SECRET)}
    assert {f["rule_id"] for f in findings if f["address"] == SECRET} >= {"NHI201", "NHI202"}
    widened = now == "cluster-admin"
    assert (("NHI302", BINDING, "apps/web/crb.yaml", 8, False) in _rows(findings)) is True
    assert any(f["rule_id"] == "NHI301" for f in findings) is widened


def test_an_agents_narrowing_of_a_substitution_secret_is_a_note_on_the_binding(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = run(make_repo, {**FILES, VARS: _secret("cluster-admin")},
                         {VARS: _secret("view")}, AGENT, capsys)
    assert code == 1  # the agent changed secret material (NHI101/NHI404 on the Secret)
    assert {f["address"] for f in findings if f["blocking"]} == {SECRET}
    (note,) = [f for f in findings if f["address"] == BINDING]
    assert (note["rule_id"], note["level"]) == ("NHI302", "note")
