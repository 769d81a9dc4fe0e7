"""NHI107 on a file named like a Helm values file that no render reads is worded by what the
file is (issue 12 slice): `clusters/prod/web-values.yaml` holding a ConfigMap whose
`values.yaml` key a Flux HelmRelease's `valuesFrom` reads is no file `render.helm.values` can
name (the advice was to add it there); a plain manifest named like a values file is judged as
the object it is, with no NHI107. Real temp git repos through `cli.main`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from checker.cli import main
from tests.conftest import HUMAN, GitRepo

AGENT = ("Claude", "noreply@anthropic.com")
CHART = {
    "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "charts/web/values.yaml": "rbac:\n  clusterAdmin: false\n",
    "charts/web/templates/crb.yaml": "{{- if .Values.rbac.clusterAdmin }}\n"
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
    "metadata:\n  name: web-admin\nroleRef: {apiGroup: rbac.authorization.k8s.io, "
    "kind: ClusterRole, name: cluster-admin}\nsubjects:\n"
    "- {kind: ServiceAccount, name: web, namespace: web}\n{{- end }}\n",
}
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-values
  namespace: web
data:
  values.yaml: |
    rbac:
      clusterAdmin: {on}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: web
spec:
  replicas: {on}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
"""


def _findings(make_repo: Callable[..., GitRepo], path: str, text: str,
              capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    first = repo.commit({**CHART, path: text.format(on="false" if "ConfigMap" in text else 1)},
                        author=HUMAN)
    last = repo.commit({path: text.format(on="true" if "ConfigMap" in text else 2)},
                       author=AGENT, message="prod values")
    code = main(["check", "--repo", str(repo.path), "--base", first, "--head", last,
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def test_a_configmap_carrying_values_is_worded_as_one(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _findings(make_repo, "clusters/prod/web-values.yaml", CONFIGMAP, capsys)
    [nhi107] = [f for f in findings if f["rule_id"] == "NHI107"]
    assert (nhi107["path"], nhi107["blocking"], code) == (
        "clusters/prod/web-values.yaml", True, 1)  # still fails closed for an agent
    assert nhi107["message"].startswith(
        "clusters/prod/web-values.yaml: ConfigMap web-values holds Helm values in "
        "`values.yaml` (what a HelmRelease's `valuesFrom` passes to its chart)")
    assert "render: {helm:" not in nhi107["message"]  # was: add it under render.helm.values


def test_a_plain_manifest_named_like_values_is_no_values_file(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _findings(make_repo, "deploy/web-values.yaml", DEPLOYMENT, capsys)
    assert [f for f in findings if f["rule_id"] == "NHI107"] == []  # was a blocking NHI107
    assert code == 0
