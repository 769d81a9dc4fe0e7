"""Files a GitOps object reads (issue 12, GitOps inputs): an Argo CD Application's values
file, an ApplicationSet git-files generator's file, a Flux HelmRelease's `valuesFrom` ConfigMap
and a Kustomization's `substituteFrom` ConfigMap. The agent change that turns on a
cluster-admin binding through one of them blocks (rule, address, path, line; the message names
the input), a person's does not, turning it back off does not block. Real temp git repos
through `cli.main`, with a real `helm` where a chart is rendered."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.sources.render.flux_subst import substitute
from checker.sources.render.gitops import Generator, application_uses, matches

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None,
    reason="helm is not installed (python scripts/install_helm.py .venv/bin installs it)",
)

AGENT = ("Claude", "noreply@anthropic.com")
CRB = """\
{{- if .Values.rbac.clusterAdmin }}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ .Release.Name }}-admin
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - kind: ServiceAccount
    name: web
    namespace: web
{{- end }}
"""
CHART = {"charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
         "charts/web/templates/crb.yaml": CRB,
         "charts/web/values.yaml": "rbac:\n  clusterAdmin: false\n"}
OFF = "replicas: 2\nrbac:\n  clusterAdmin: false\n"
ON = "replicas: 2\nrbac:\n  clusterAdmin: true\n"
APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
spec:
  project: web
  source:
    repoURL: https://github.com/corp/deploy.git
    targetRevision: main
    path: charts/web
    helm:
      valueFiles:
        - {values}
  destination:
    server: https://kubernetes.default.svc
    namespace: web
"""
APPSET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: apps
  namespace: argocd
spec:
  goTemplate: true
  generators:
    - git:
        repoURL: https://github.com/corp/deploy.git
        revision: main
        files:
          - path: apps/*/config.json
  template:
    metadata:
      name: '{{.name}}'
    spec:
      project: web
      source:
        repoURL: https://github.com/corp/deploy.git
        targetRevision: main
        path: charts/web
        helm:
          parameters:
            - name: rbac.clusterAdmin
              value: '{{.clusterAdmin}}'
      destination:
        server: https://kubernetes.default.svc
        namespace: '{{.namespace}}'
"""
RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: web
spec:
  interval: 10m
  serviceAccountName: web-deployer
  targetNamespace: web
  chart:
    spec:
      chart: ./charts/web
      sourceRef:
        kind: GitRepository
        name: deploy
        namespace: flux-system
  valuesFrom:
    - kind: ConfigMap
      name: web-values
"""
VALUES_CM = """\
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
BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: web-reader
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: ${WEB_ROLE}
subjects:
  - kind: ServiceAccount
    name: web
    namespace: web
"""
VARS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: cluster-vars
  namespace: flux-system
data:
  WEB_ROLE: {role}
"""
FLUX_KS = """\
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
  sourceRef:
    kind: GitRepository
    name: deploy
  postBuild:
    substituteFrom:
      - kind: ConfigMap
        name: cluster-vars
"""


def _run(make_repo: Callable[..., GitRepo], base: Mapping[str, str], head: Mapping[str, str],
         author: tuple[str, str], capsys: pytest.CaptureFixture[str]
         ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    first = repo.commit(dict(base), author=HUMAN)
    last = repo.commit(dict(head), author=author, message="gitops input",
                       trailers=[("Requested-by", "Alice Example <alice@example.com>")])
    code = main(["check", "--repo", str(repo.path), "--base", first, "--head", last,
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def _rows(findings: list[dict[str, Any]]) -> set[tuple[str, str | None, str, int, bool]]:
    return {(f["rule_id"], f["address"], f["path"], f["start_line"], f["blocking"])
            for f in findings}


def _message(findings: list[dict[str, Any]], rule: str) -> str:
    (found,) = [f["message"] for f in findings if f["rule_id"] == rule]
    return str(found)


ENV = "envs/prod/web.yaml"
APP_ADMIN = "apps/web.yaml:ClusterRoleBinding/release-name-admin"
TEMPLATE = "charts/web/templates/crb.yaml"


@needs_helm
def test_agent_turning_on_admin_in_an_argocd_application_values_file_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    app = {**CHART, "apps/web.yaml": APP.format(values="../../envs/prod/web.yaml")}
    code, findings = _run(make_repo, {**app, ENV: OFF}, {ENV: ON}, AGENT, capsys)
    assert code == 1
    assert {("NHI101", APP_ADMIN, TEMPLATE, 3, True),
            ("NHI301", APP_ADMIN, TEMPLATE, 6, True)} <= _rows(findings)
    assert f"via rendered input ({ENV}:1)" in _message(findings, "NHI301")


@needs_helm
def test_person_turning_on_admin_in_an_argocd_application_values_file_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    app = {**CHART, "apps/web.yaml": APP.format(values="../../envs/prod/web.yaml")}
    code, findings = _run(make_repo, {**app, ENV: OFF}, {ENV: ON}, HUMAN, capsys)
    assert code == 0
    assert ("NHI301", APP_ADMIN, TEMPLATE, 6, False) in _rows(findings)


@needs_helm
def test_agent_turning_admin_back_off_in_an_argocd_values_file_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    app = {**CHART, "apps/web.yaml": APP.format(values="../../envs/prod/web.yaml")}
    code, findings = _run(make_repo, {**app, ENV: ON}, {ENV: OFF}, AGENT, capsys)
    assert code == 0
    assert not [f for f in findings if f["blocking"]]


@needs_helm
def test_agent_turning_on_admin_in_a_values_file_inside_the_chart_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    prod = "charts/web/prod.yaml"
    app = {**CHART, "apps/web.yaml": APP.format(values="prod.yaml")}
    code, findings = _run(make_repo, {**app, prod: OFF}, {prod: ON}, AGENT, capsys)
    assert code == 1
    assert ("NHI301", APP_ADMIN, TEMPLATE, 6, True) in _rows(findings)
    assert f"via rendered input ({prod}:1)" in _message(findings, "NHI301")


@needs_helm
def test_an_application_whose_values_cannot_be_computed_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    app = APP.format(values="../../envs/prod/web.yaml")
    files = {**CHART, "apps/web.yaml": app.replace(
        "      valueFiles:", "      parameters:\n        - name: 'a[0]'\n          value: x\n"
        "      valueFiles:")}
    code, findings = _run(make_repo, {**files, ENV: OFF}, {ENV: ON}, AGENT, capsys)
    assert code == 1
    assert ("NHI107", None, ENV, 1, True) in _rows(findings)
    assert "parameter `a[0]` is not computed" in _message(findings, "NHI107")


CONFIG = "apps/web/config.json"
SET_ADMIN = f"{CONFIG}:ClusterRoleBinding/release-name-admin"


def _config(on: str) -> str:
    return json.dumps({"name": "web", "namespace": "web", "clusterAdmin": on})


@needs_helm
def test_agent_editing_an_applicationset_generator_file_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {**CHART, "argocd/appset.yaml": APPSET, CONFIG: _config("false")}
    code, findings = _run(make_repo, base, {CONFIG: _config("true")}, AGENT, capsys)
    assert code == 1
    assert ("NHI301", SET_ADMIN, TEMPLATE, 6, True) in _rows(findings)
    assert f"via rendered input ({CONFIG}:1)" in _message(findings, "NHI301")


@needs_helm
def test_person_editing_an_applicationset_generator_file_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {**CHART, "argocd/appset.yaml": APPSET, CONFIG: _config("false")}
    code, findings = _run(make_repo, base, {CONFIG: _config("true")}, HUMAN, capsys)
    assert code == 0
    assert ("NHI301", SET_ADMIN, TEMPLATE, 6, False) in _rows(findings)


@needs_helm
def test_an_applicationset_template_that_is_not_computed_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    appset = APPSET.replace("'{{.clusterAdmin}}'", "'{{.clusterAdmin | lower}}'")
    base = {**CHART, "argocd/appset.yaml": appset, CONFIG: _config("false")}
    code, findings = _run(make_repo, base, {CONFIG: _config("true")}, AGENT, capsys)
    assert code == 1
    assert ("NHI107", None, CONFIG, 1, True) in _rows(findings)
    message = _message(findings, "NHI107")
    assert "ApplicationSet argocd/apps (argocd/appset.yaml)" in message
    assert "{{.clusterAdmin | lower}}" in message


HR_ADMIN = "clusters/prod/hr.yaml:ClusterRoleBinding/release-name-admin"
WEB_CONFIG = "clusters/prod/web-config.yaml"


@needs_helm
def test_agent_editing_a_helmrelease_values_from_configmap_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {**CHART, "clusters/prod/hr.yaml": RELEASE, WEB_CONFIG: VALUES_CM.format(on="false")}
    code, findings = _run(make_repo, base, {WEB_CONFIG: VALUES_CM.format(on="true")}, AGENT,
                          capsys)
    assert code == 1
    assert ("NHI301", HR_ADMIN, TEMPLATE, 6, True) in _rows(findings)
    assert f"via rendered input ({WEB_CONFIG}:1)" in _message(findings, "NHI301")


@needs_helm
def test_person_editing_a_helmrelease_values_from_configmap_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    base = {**CHART, "clusters/prod/hr.yaml": RELEASE, WEB_CONFIG: VALUES_CM.format(on="false")}
    code, findings = _run(make_repo, base, {WEB_CONFIG: VALUES_CM.format(on="true")}, HUMAN,
                          capsys)
    assert code == 0
    assert ("NHI301", HR_ADMIN, TEMPLATE, 6, False) in _rows(findings)


@needs_helm
def test_a_values_from_configmap_named_like_a_values_file_is_rendered_not_unrendered(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    named = "clusters/prod/web-values.yaml"
    base = {**CHART, "clusters/prod/hr.yaml": RELEASE, named: VALUES_CM.format(on="false")}
    code, findings = _run(make_repo, base, {named: VALUES_CM.format(on="true")}, AGENT, capsys)
    assert code == 1
    assert ("NHI301", HR_ADMIN, TEMPLATE, 6, True) in _rows(findings)
    assert not [f for f in findings if f["rule_id"] == "NHI107"]


SUBST = {"apps/web/rb.yaml": BINDING, "clusters/prod/web.yaml": FLUX_KS}
VARS_PATH = "clusters/prod/vars.yaml"
KS_READER = "clusters/prod/web.yaml:ClusterRoleBinding/web-reader"


def test_agent_editing_a_substituted_variable_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, {**SUBST, VARS_PATH: VARS.format(role="view")},
                          {VARS_PATH: VARS.format(role="cluster-admin")}, AGENT, capsys)
    assert code == 1
    rows = _rows(findings)
    assert {("NHI301", KS_READER, "apps/web/rb.yaml", 8, True),
            ("NHI302", KS_READER, "apps/web/rb.yaml", 8, True)} <= rows
    message = _message(findings, "NHI302")
    assert "gains ClusterRole/cluster-admin on *" in message
    assert "base allowed: ClusterRole/view on *" in message
    assert f"via rendered input ({VARS_PATH}:1)" in message


def test_person_editing_a_substituted_variable_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, {**SUBST, VARS_PATH: VARS.format(role="view")},
                          {VARS_PATH: VARS.format(role="cluster-admin")}, HUMAN, capsys)
    assert code == 0
    assert ("NHI302", KS_READER, "apps/web/rb.yaml", 8, False) in _rows(findings)


def test_agent_setting_a_substituted_variable_back_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, {**SUBST, VARS_PATH: VARS.format(role="cluster-admin")},
                          {VARS_PATH: VARS.format(role="view")}, AGENT, capsys)
    assert code == 0
    assert not [f for f in findings if f["blocking"]]
    assert ("NHI302", "note") in {(f["rule_id"], f["level"]) for f in findings}


def test_a_substitution_into_a_kustomize_overlay_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    overlay = {**SUBST, "apps/web/kustomization.yaml": "resources:\n  - rb.yaml\n"}
    code, findings = _run(make_repo, {**overlay, VARS_PATH: VARS.format(role="view")},
                          {VARS_PATH: VARS.format(role="cluster-admin")}, AGENT, capsys)
    assert code == 1
    assert ("NHI106", "ConfigMap/flux-system/cluster-vars:WEB_ROLE", VARS_PATH, 7,
            True) in _rows(findings)
    message = _message(findings, "NHI106")
    assert "key `WEB_ROLE`" in message
    assert "Flux Kustomization flux-system/web (clusters/prod/web.yaml:1" in message


def test_substitute_forms() -> None:
    text = "a: ${A}\nb: ${B:=dflt}\nc: ${C:-x}\nd: $${A}\ne: ${A:1:2}\n"
    out, unknown = substitute(text, {"A": "one", "C": ""})
    assert out == "a: one\nb: dflt\nc: x\nd: ${A}\ne: ${A:1:2}\n"
    assert unknown == ["${A:1:2}"]


def test_application_parameters_are_typed_and_layered() -> None:
    spec: dict[str, Any] = {"source": {"path": "./charts/web", "helm": {
        "valueFiles": ["../../envs/a.yaml", "$values/b.yaml"],
        "values": "rbac:\n  clusterAdmin: false\n  x: 1\n",
        "parameters": [{"name": "rbac.clusterAdmin", "value": "true"},
                       {"name": "port", "value": "80", "forceString": True}]}}}
    (use,) = application_uses("apps/web.yaml", 1, "Application a/web", spec,
                              {"charts/web/Chart.yaml"})
    assert use.chart == "charts/web/Chart.yaml"
    assert use.values == ("envs/a.yaml",)
    assert use.inline == "rbac:\n  clusterAdmin: true\n  x: 1\nport: '80'\n"
    assert use.problem == "value file `$values/b.yaml` names no source `ref: values`"


def test_generator_globs() -> None:
    gen = Generator("a.yaml", 1, "ApplicationSet a/b", ("apps/*/config.json",
                                                        "!apps/skip/config.json"), {}, True)
    assert matches(gen, "apps/web/config.json")
    assert not matches(gen, "apps/skip/config.json")
    assert not matches(gen, "other/web/config.json")


def test_agent_changing_an_inline_substitution_is_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    inline = FLUX_KS.replace("  postBuild:\n", "  postBuild:\n    substitute:\n"
                             "      WEB_ROLE: {role}\n")
    base = {"apps/web/rb.yaml": BINDING, VARS_PATH: VARS.format(role="edit"),
            "clusters/prod/web.yaml": inline.format(role="view")}
    code, findings = _run(make_repo, base,
                          {"clusters/prod/web.yaml": inline.format(role="cluster-admin")},
                          AGENT, capsys)
    assert code == 1
    assert ("NHI302", KS_READER, "apps/web/rb.yaml", 8, True) in _rows(findings)
    message = _message(findings, "NHI302")
    assert "base allowed: ClusterRole/view on *" in message
    assert "via rendered input (clusters/prod/web.yaml:1)" in message


@needs_helm
def test_hook_on_a_staged_argocd_values_file_blocks_an_agent(
        make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    repo.commit({**CHART, "apps/web.yaml": APP.format(values="../../envs/prod/web.yaml"),
                 ENV: OFF}, author=HUMAN)
    repo.stage({ENV: ON})
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", AGENT[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", AGENT[1])
    code = main(["hook", "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert ("NHI301", APP_ADMIN, TEMPLATE, 6, True) in _rows(findings)
