"""A chart template change that branches on what an offline render cannot know (`lookup`,
`.Capabilities`, `.Release.*`) is NHI107 at its line (issue 13 A3): an error for an agent, a
note for a person. Real temp git repos through `cli.main` with a real `helm`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.sources.render.helm_context import added_conditions, context_conditions

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None,
    reason="helm is not installed (python scripts/install_helm.py .venv/bin installs it)",
)

AGENT = ("Claude", "noreply@anthropic.com")
CHART = "apiVersion: v2\nname: app\nversion: 0.1.0\n"
BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {{{{ .Release.Name }}}}-app}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {role}}}
subjects: [{{kind: ServiceAccount, name: app, namespace: default}}]
"""
LOOKUP = '{{ if (lookup "v1" "Namespace" "" "kube-system") }}cluster-admin{{ else }}view{{ end }}'
RELEASE = ('{{ if or .Release.IsUpgrade (ne .Release.Namespace "default") '
           '(ne .Release.Name "release-name") }}cluster-admin{{ else }}view{{ end }}')
CAPABILITIES = """\
{{- if .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: extra}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: Group, name: "system:serviceaccounts", apiGroup: rbac.authorization.k8s.io}]
{{- end }}
"""


def _run(repo: GitRepo, head_binding: str, author: tuple[str, str],
         capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    base = repo.commit({"chart/Chart.yaml": CHART, "chart/values.yaml": "{}\n",
                        "chart/templates/r.yaml": BINDING.format(role="view")}, author=HUMAN)
    repo.checkout("ai/change", create=True)
    head = repo.commit({"chart/templates/r.yaml": head_binding}, author=author,
                       message="chart",
                       trailers=[("Requested-by", "Alice Example <alice@example.com>")])
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    return code, [f for f in findings if f["rule_id"] == "NHI107"]


@needs_helm
@pytest.mark.parametrize(("head", "line", "construct"), [
    (BINDING.format(role=LOOKUP), 4, "`lookup`"),
    (BINDING.format(role=RELEASE), 4, "`.Release.IsUpgrade`"),
    (BINDING.format(role="view") + CAPABILITIES, 6, "`.Capabilities.APIVersions.Has`"),
    # through a template variable (found by the session-11 attack pass: exit 0 before)
    ('{{- $ns := .Release.Namespace }}\n{{- if eq $ns "prod" }}\n'
     + BINDING.format(role="cluster-admin") + "{{- end }}\n", 2, "`.Release.Namespace`"),
])
def test_agent_condition_on_release_context_blocks_with_nhi107(
        head: str, line: int, construct: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    code, found = _run(make_repo(), head, AGENT, capsys)
    assert code == 1
    assert [(f["path"], f["start_line"], f["blocking"]) for f in found] == [
        ("chart/templates/r.yaml", line, True)]
    assert construct in found[0]["message"]
    assert "kube-system" not in found[0]["message"]  # never a value of the template


@needs_helm
def test_human_condition_on_release_context_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, found = _run(make_repo(), BINDING.format(role=LOOKUP), HUMAN, capsys)
    assert code == 0
    assert [(f["start_line"], f["level"], f["blocking"]) for f in found] == [(4, "note", False)]


@needs_helm
def test_release_name_in_a_name_is_not_a_finding(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = BINDING.format(role="view").replace("-app}", "-app-{{ .Release.Namespace }}}")
    _, found = _run(make_repo(), head, AGENT, capsys)
    assert found == []


def test_conditions_found_and_compared_by_text() -> None:
    text = ('a: {{ .Release.Name }}\n'
            'b: {{ default .Release.Name .Values.name }}\n'
            '{{- with $.Capabilities.KubeVersion }}x{{ end }}\n'
            'c: {{ ternary "a" "b" .Release.IsInstall }}\n'
            '{{/* if lookup */}}\n'
            'd: {{ include "lookup" . }}\n'
            '{{- else if\n  .Release.IsUpgrade -}}\n')
    found = [(c.line, c.keyword, c.constructs) for c in context_conditions(text)]
    assert found == [(3, "with", (".Capabilities.KubeVersion",)),
                     (4, "ternary", (".Release.IsInstall",)),
                     (7, "else if", (".Release.IsUpgrade",))]
    assert added_conditions(text, text.replace("{{- with", "{{ with")) == []
    assert [c.line for c in added_conditions(text, text.replace("IsInstall", "IsUpgrade"))] == [4]


def test_a_condition_through_a_template_variable_is_one_on_its_source() -> None:
    text = ('{{- $ns := .Release.Namespace }}\n'
            '{{- if eq $ns "prod" }}x{{ end }}\n'
            '{{- $a := .Values.enabled }}{{ if $a }}y{{ end }}\n'
            '{{- $r := .Release }}{{ $n := $r.Namespace }}{{ with $n }}z{{ end }}\n'
            '{{- $t := now }}{{ if $t }}w{{ end }}\n'
            '{{- $name := default .Release.Name .Values.name }}{{ default $name .Values.x }}\n'
            '{{- if eq $ns "prod" }}again{{ end }}\n')
    found = [(c.line, c.keyword, c.constructs) for c in context_conditions(text)]
    assert found == [(2, "if", (".Release.Namespace",)),
                     (4, "with", (".Release",)),
                     (5, "if", ("now",)),
                     (7, "if", (".Release.Namespace",))]
