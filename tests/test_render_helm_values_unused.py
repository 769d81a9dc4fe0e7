"""A Helm values file the change touches that no configured render reads (issue 12, access
paths): inside a chart, the chart is rendered with it as well and its objects judged (an agent
turning on a cluster-admin binding in `values-prod.yaml` blocks); outside every chart it is
NHI107 naming the file and how to configure it (an error for an agent, a note for a person).
Real temp git repos through `cli.main` with a real `helm`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.commands.render_values import ExtraRender, is_values_name, unused_values
from checker.policy.config import Config

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
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: default, namespace: {{ .Release.Namespace }}}
{{- end }}
"""
OFF = "rbac:\n  clusterAdmin: false\n"
ON = "rbac:\n  clusterAdmin: true\n"
CHART = {"charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
         "charts/app/templates/crb.yaml": CRB, "charts/app/values.yaml": OFF}


def _run(make_repo: Callable[..., GitRepo], base: Mapping[str, str], head: Mapping[str, str],
         author: tuple[str, str], capsys: pytest.CaptureFixture[str]
         ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    first = repo.commit({**CHART, **base}, author=HUMAN)
    last = repo.commit(dict(head), author=author, message="prod values")
    code = main(["check", "--repo", str(repo.path), "--base", first, "--head", last,
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def _rows(findings: list[dict[str, Any]]) -> set[tuple[str, str | None, str, int, bool]]:
    return {(f["rule_id"], f["address"], f["path"], f["start_line"], f["blocking"])
            for f in findings}


PROD = "charts/app/values-prod.yaml"
ADDRESS = f"{PROD}:ClusterRoleBinding/release-name-admin"


@needs_helm
def test_agent_turning_on_admin_in_a_chart_values_file_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, {PROD: OFF}, {PROD: ON}, AGENT, capsys)
    assert code == 1
    assert {("NHI101", ADDRESS, "charts/app/templates/crb.yaml", 3, True),
            ("NHI301", ADDRESS, "charts/app/templates/crb.yaml", 6, True)} <= _rows(findings)
    (admin,) = [f for f in findings if f["rule_id"] == "NHI301"]
    assert f"via rendered input ({PROD}:1)" in admin["message"]


@needs_helm
def test_person_turning_on_admin_in_a_chart_values_file_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, {PROD: OFF}, {PROD: ON}, HUMAN, capsys)
    assert code == 0
    assert ("NHI301", ADDRESS, "charts/app/templates/crb.yaml", 6, False) in _rows(findings)


@needs_helm
def test_agent_turning_admin_off_in_a_chart_values_file_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, {PROD: ON}, {PROD: OFF}, AGENT, capsys)
    assert code == 0
    assert not [f for f in findings if f["blocking"]]


@needs_helm
def test_a_configured_values_file_is_rendered_once(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    config = {".nhi-gate.yaml":
              'render:\n  helm:\n    values: {"charts/app": ["values-prod.yaml"]}\n'}
    code, findings = _run(make_repo, {PROD: OFF, **config}, {PROD: ON}, AGENT, capsys)
    assert code == 1
    assert {f["address"] for f in findings if f["rule_id"] == "NHI301"} == {
        "charts/app/Chart.yaml:ClusterRoleBinding/release-name-admin"}


@needs_helm
def test_agent_values_file_outside_every_chart_is_nhi107(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    outside = "deploy/prod/app-values.yaml"
    code, findings = _run(make_repo, {outside: OFF}, {outside: ON}, AGENT, capsys)
    assert code == 1
    assert _rows(findings) == {("NHI107", None, outside, 1, True)}
    assert '"charts/app": ["../../deploy/prod/app-values.yaml"]' in findings[0]["message"]


@needs_helm
def test_person_values_file_outside_every_chart_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    outside = "deploy/prod/app-values.yaml"
    code, findings = _run(make_repo, {outside: OFF}, {outside: ON}, HUMAN, capsys)
    assert code == 0
    assert [(f["rule_id"], f["level"]) for f in findings] == [("NHI107", "note")]


def test_which_values_files_are_unused() -> None:
    paths = ["charts/app/Chart.yaml", "charts/app/values.yaml", "charts/app/values-prod.yaml",
             "charts/app/templates/values-x.yaml", "charts/app/prod.values.yml",
             "charts/app/charts/sub/Chart.yaml", "charts/app/charts/sub/values-dev.yaml",
             "deploy/app-values.yaml", "deploy/used-values.yaml", "kz/values.yaml",
             "deploy/settings.yaml"]
    closures = {"charts/app/Chart.yaml": paths[:7],
                "kz": ["kz/kustomization.yaml", "kz/values.yaml"]}
    config = Config(helm_values={"charts/app": ("../../deploy/used-values.yaml",)})
    extra, outside = unused_values(paths, paths, closures, config)
    assert extra == [ExtraRender("charts/app/Chart.yaml", "charts/app/prod.values.yml"),
                     ExtraRender("charts/app/Chart.yaml", "charts/app/values-prod.yaml")]
    assert outside == ["deploy/app-values.yaml"]
    assert unused_values(paths, ["deploy/app-values.yaml"], {}, Config()) == ([], [])
    assert [is_values_name(p) for p in ("a/values_prod.yaml", "a/my-values.yml", "a/vals.yaml")
            ] == [True, True, False]
