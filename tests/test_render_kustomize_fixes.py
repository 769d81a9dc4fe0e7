"""kustomize rendering in `check`: what a change touches (an object that renders the same at
base and head is not touched), which kustomizations are judged (every one whose closure the
change touches, not only the leaves), and the renders a scan skips. Real temp git repos, the
real `kubectl kustomize` (or `kustomize`), `nhi-gate check` through `cli.main`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.sources.render.kustomize import find_kustomize

pytestmark = pytest.mark.skipif(
    find_kustomize() is None, reason="neither kustomize nor kubectl is installed")

AGENT = ("Claude", "noreply@anthropic.com")
SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
  labels: {app: x}
type: Opaque
"""
TOKEN = """\
apiVersion: v1
kind: Secret
metadata: {name: app-token}
type: Opaque
data: {token: c2VjcmV0}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: false
      containers: [{name: c, image: "redis:8.10.0"}]
"""


def _check(repo: GitRepo, base: str, capsys: pytest.CaptureFixture[str]
           ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", repo.sha(),
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


@pytest.mark.parametrize("overlay", [False, True])
def test_unrelated_image_bump_does_not_touch_a_rendered_secret(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        overlay: bool) -> None:
    repo = make_repo()
    files = {"base/kustomization.yaml": "resources: [s.yaml, t.yaml, d.yaml]\n",
             "base/s.yaml": SECRET, "base/t.yaml": TOKEN, "base/d.yaml": DEPLOYMENT}
    if overlay:
        files["ov/kustomization.yaml"] = "resources: [../base]\nnamePrefix: prod-\n"
    base = repo.commit(files, author=HUMAN)
    repo.checkout("ai/bump", create=True)
    repo.commit({"base/d.yaml": DEPLOYMENT.replace("8.10.0", "8.10.1")}, author=AGENT,
                trailers=[("Requested-by", "Alice Example <alice@example.com>")])
    code, findings = _check(repo, base, capsys)
    assert code == 0
    assert [(f["rule_id"], f["address"]) for f in findings] == []


RBAC = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: app
  annotations: {owner: team-a, ticket: OPS-1}
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: app
  annotations: {owner: team-a, ticket: OPS-1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: app}
subjects: [{kind: ServiceAccount, name: app, namespace: default}]
"""
CI_K = """\
resources: [../overlays/prod]
patches:
- target: {kind: ClusterRole, name: app}
  patch: |-
    - op: replace
      path: /rules
      value: [{apiGroups: [""], resources: [pods], verbs: [get]}]
"""
WIDEN = """\
resources: [../../base]
patches:
- target: {kind: ClusterRole, name: app}
  patch: |-
    - op: replace
      path: /rules/0/verbs/0
      value: "*"
"""


def test_an_overlay_another_kustomization_uses_is_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"base/kustomization.yaml": "resources: [rbac.yaml]\n",
                        "base/rbac.yaml": RBAC,
                        "overlays/prod/kustomization.yaml": "resources: [../../base]\n",
                        "ci/kustomization.yaml": CI_K}, author=HUMAN)
    repo.checkout("ai/widen", create=True)
    repo.commit({"overlays/prod/kustomization.yaml": WIDEN}, author=AGENT,
                trailers=[("Requested-by", "Alice Example <alice@example.com>")])
    code, findings = _check(repo, base, capsys)
    assert code == 1
    blocking = {(f["rule_id"], f["address"], f["path"], f["start_line"])
                for f in findings if f["blocking"]}
    owner = "overlays/prod/kustomization.yaml"
    # the `- op: replace` line (5) of the inline patch; the ci overlay resets it (not judged
    # by the leaf alone), base's own render is its plain objects (collapsed, nothing new)
    assert ("NHI301", f"{owner}:ClusterRole/app", owner, 5) in blocking
    assert {a for _, a, _, _ in blocking} == {f"{owner}:ClusterRole/app"}


COMPONENT = """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
- path: p.yaml
"""
CM_PATCH = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {level: "%s"}
"""


def test_a_component_that_builds_only_within_its_users_is_no_nhi107(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({
        "app/kustomization.yaml": "resources: [cm.yaml, rbac.yaml]\ncomponents: [../comp]\n",
        "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n",
        "app/rbac.yaml": RBAC,
        "comp/kustomization.yaml": COMPONENT, "comp/p.yaml": CM_PATCH % "1"}, author=HUMAN)
    repo.checkout("ai/comp", create=True)
    repo.commit({"comp/p.yaml": CM_PATCH % "2"}, author=AGENT,
                trailers=[("Requested-by", "Alice Example <alice@example.com>")])
    code, findings = _check(repo, base, capsys)
    # `kubectl kustomize comp` alone fails (no resource matches the patch); app renders
    assert (code, [f["rule_id"] for f in findings]) == (0, [])
