"""Values files the repository's own deploy passes to Helm are chart inputs, whatever their name
(issue 12, slice fixT, attacker pass `chart-envfile`, `helmfile-vals`, `helmfile-valsnamed`):
a file a workflow passes with `helm upgrade -f` for a chart of this repository is rendered with
that chart; a file a `helmfile.yaml` release passes to a chart from elsewhere fails closed
(NHI107 naming the release and the chart) for an agent, and is a note for a person."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.cli import main
from checker.sources.render.helm_calls import HelmCall, cli_calls, helmfile_calls

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None,
    reason="helm is not installed (python scripts/install_helm.py .venv/bin installs it)",
)

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
WORKFLOW = """\
name: deploy
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
    - uses: actions/checkout@v4
    - run: helm upgrade --install app charts/app -f charts/app/env/prod.yaml
"""
RBAC = """\
{{- if .Values.rbac.clusterAdmin }}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ .Release.Name }}-admin
subjects:
- kind: ServiceAccount
  name: {{ .Release.Name }}
  namespace: {{ .Release.Namespace }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
{{- end }}
"""
HELMFILE = """\
repositories:
- name: prometheus-community
  url: https://prometheus-community.github.io/helm-charts
releases:
- name: ksm
  namespace: monitoring
  chart: prometheus-community/kube-state-metrics
  version: 5.27.0
  values:
  - values/{name}
"""
KSM = "rbac:\n  create: true\n  extraRules: []\n"
KSM_WIDE = ('rbac:\n  create: true\n  extraRules:\n  - apiGroups: ["*"]\n'
            '    resources: ["*"]\n    verbs: ["*"]\n')


def _check(make_repo: Callable[..., GitRepo], capsys: Any, base: dict[str, str],
           head: dict[str, str], author: Identity) -> tuple[int, list[tuple[str, str, bool]]]:
    repo = make_repo()
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author, trailers=[("Requested-by", "Alice <a@x.example>")])
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, sorted((f["rule_id"], f["address"] or f["path"], f["blocking"])
                        for f in report["findings"])


def _chart(admin: str) -> dict[str, str]:
    return {".github/workflows/deploy.yml": WORKFLOW,
            "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
            "charts/app/values.yaml": "rbac:\n  clusterAdmin: false\n",
            "charts/app/templates/rbac.yaml": RBAC,
            "charts/app/env/prod.yaml": f"rbac:\n  clusterAdmin: {admin}\n"}


@needs_helm
def test_a_values_file_the_deploy_workflow_passes_is_rendered_with_its_chart(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _check(make_repo, capsys, _chart("false"), _chart("true"), CLAUDE)
    assert code == 1
    assert found == [
        ("NHI101", "charts/app/env/prod.yaml:ClusterRoleBinding/release-name-admin", True),
        ("NHI301", "charts/app/env/prod.yaml:ClusterRoleBinding/release-name-admin", True)]


@needs_helm
def test_the_same_values_change_by_a_person_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _check(make_repo, capsys, _chart("false"), _chart("true"), HUMAN)
    assert code == 0
    assert found == [
        ("NHI301", "charts/app/env/prod.yaml:ClusterRoleBinding/release-name-admin", False)]


@needs_helm
def test_the_narrowing_of_a_passed_values_file_passes(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _check(make_repo, capsys, _chart("true"), _chart("false"), CLAUDE)
    assert (code, found) == (0, [])


@pytest.mark.parametrize("name", ["prod.yaml", "values-prod.yaml"])
@pytest.mark.parametrize(("author", "code", "blocking"), [(CLAUDE, 1, True),
                                                           (HUMAN, 0, False)])
def test_a_helmfile_release_values_file_for_a_remote_chart_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: Any, name: str, author: Identity,
        code: int, blocking: bool) -> None:
    files = {"helmfile.yaml": HELMFILE.format(name=name)}
    got, found = _check(make_repo, capsys, {**files, f"values/{name}": KSM},
                        {**files, f"values/{name}": KSM_WIDE}, author)
    assert (got, found) == (code, [("NHI107", f"values/{name}", blocking)])


def test_helm_calls_read_values_flags_and_helmfile_releases() -> None:
    text = ("helm template x ./charts/x \\\n  --values=a.yaml -fb.yaml --set k=v && echo\n"
            "helm upgrade -n ns rel oci://r/c -f ./deploy/../c.yaml,d.yaml\n"
            "helm install rel charts/y -f env/{{ .Env }}.yaml\n")
    assert cli_calls(text) == [
        HelmCall("helm template", "./charts/x", ("a.yaml", "b.yaml"), 1, "k: v\n",
                 ("--set k",)),
        HelmCall("helm upgrade", "oci://r/c", ("c.yaml", "d.yaml"), 3)]
    raw = b"releases:\n- name: a\n  chart: ../charts/a\n  values: [v.yaml, {x: 1}]\n"
    assert helmfile_calls("deploy/helmfile.d/a.yaml", raw) == [
        HelmCall("helmfile release a", "charts/a", ("deploy/v.yaml",), 2, "x: 1\n",
                 ("values[1]",))]


@needs_helm
def test_a_helmfile_release_values_file_for_a_chart_here_is_rendered_with_it(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    def files(admin: str) -> dict[str, str]:
        chart = _chart("false")
        del chart[".github/workflows/deploy.yml"], chart["charts/app/env/prod.yaml"]
        return {**chart, "deploy/helmfile.yaml": (
                    "releases:\n- name: app\n  chart: ../charts/app\n  values:\n"
                    "  - envs/prod.yaml\n"),
                "deploy/envs/prod.yaml": f"rbac:\n  clusterAdmin: {admin}\n"}
    code, found = _check(make_repo, capsys, files("false"), files("true"), CLAUDE)
    assert code == 1
    assert found == [
        ("NHI101", "deploy/envs/prod.yaml:ClusterRoleBinding/release-name-admin", True),
        ("NHI301", "deploy/envs/prod.yaml:ClusterRoleBinding/release-name-admin", True)]
