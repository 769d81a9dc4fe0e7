"""What a chart's offline render cannot show, found by the session-12 attack pass: a roleRef a
template picks by `.Release.Namespace` (`index`), whose map an agent widens for another
namespace, and RoleBindings made in a `range` over `lookup`. Both exited 0; both are NHI107
now (an error for an agent, a note for a person). Real temp git repos with a real `helm`."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo, check_findings, found_at

from checker.sources.render.helm_context import context_conditions

needs_helm = pytest.mark.skipif(shutil.which("helm") is None, reason="helm is not installed")

AGENT = ("Claude", "noreply@anthropic.com")
TRAILER = [("Requested-by", "Alice Example <alice@example.com>")]
CHART = "apiVersion: v2\nname: app\nversion: 1.0.0\n"
PICKED = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ .Release.Name }}-ops
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ index .Values.clusterRoleByNamespace .Release.Namespace | default "view" }}
subjects:
- kind: ServiceAccount
  name: ops
  namespace: {{ .Release.Namespace }}
"""
BASE_VALUES = "replicas: 1\nclusterRoleByNamespace:\n  default: view\n"
RANGED = """\
{{- range $ns := (lookup "v1" "Namespace" "" "").items }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ops-admin
  namespace: {{ $ns.metadata.name }}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: ops, namespace: default}]
{{- end }}
"""


def _picked(repo: GitRepo, values: str, author: tuple[str, str]) -> str:
    base = repo.commit({"charts/app/Chart.yaml": CHART, "charts/app/values.yaml": BASE_VALUES,
                        "charts/app/templates/crb.yaml": PICKED}, author=HUMAN)
    repo.checkout("ai/change", create=True)
    repo.commit({"charts/app/values.yaml": values}, author=author, message="values",
                trailers=TRAILER)
    return base


@needs_helm
def test_agent_widening_a_map_picked_by_release_namespace_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = _picked(repo, BASE_VALUES + "  prod: cluster-admin\n", AGENT)
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    assert found_at(findings) == {("NHI107", "charts/app/values.yaml", 2, True)}
    message = findings[0]["message"]
    assert "`.Values.clusterRoleByNamespace`" in message
    assert "`index` at charts/app/templates/crb.yaml:8" in message
    assert "`.Release.Namespace`" in message
    assert "cluster-admin" not in message  # never a value


@needs_helm
def test_human_widening_a_map_picked_by_release_namespace_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = _picked(repo, BASE_VALUES + "  prod: cluster-admin\n", HUMAN)
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    assert [(f["rule_id"], f["level"], f["blocking"]) for f in findings] == [
        ("NHI107", "note", False)]


@needs_helm
def test_agent_changing_other_values_of_that_chart_is_quiet(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = _picked(repo, BASE_VALUES.replace("replicas: 1", "replicas: 3"), AGENT)
    code, findings = check_findings(repo, base, capsys)
    assert (code, findings) == (0, [])


@needs_helm
@pytest.mark.parametrize("author", [AGENT, HUMAN])
def test_bindings_made_in_a_range_over_lookup_are_nhi107(
        author: tuple[str, str], make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"charts/app/Chart.yaml": CHART, "charts/app/values.yaml": "x: 1\n",
                        "charts/app/templates/sa.yaml": "apiVersion: v1\nkind: ServiceAccount\n"
                                                        "metadata: {name: ops}\n"})
    repo.checkout("ai/change", create=True)
    repo.commit({"charts/app/templates/rb.yaml": RANGED}, author=author, trailers=TRAILER)
    code, findings = check_findings(repo, base, capsys)
    blocking = author == AGENT
    assert code == int(blocking)
    assert found_at(findings) == {("NHI107", "charts/app/templates/rb.yaml", 1, blocking)}
    assert "a `range` at line 1 branches on `lookup`" in findings[0]["message"]


def test_release_fields_that_select_data_are_conditions_and_plain_ones_are_not() -> None:
    text = ('a: {{ .Release.Namespace }}\n'
            'b: {{ printf "%s-ops" .Release.Name }}\n'
            'c: {{ index .Values.m .Release.Namespace | default "view" }}\n'
            '{{- $m := .Values.roles.byName }}{{ $n := .Release.Name }}\n'
            'd: {{ get $m $n }}\n'
            'e: {{ .Release.Namespace | eq "prod" }}\n'
            '{{- with .Values.x }}f: {{ index . $.Release.Namespace }}{{ end }}\n'
            'g: {{ default .Release.Namespace .Values.namespaceOverride }}\n'
            'h: {{ printf "%s" (index .Values.a "b") }}-{{ .Release.Name }}\n'
            '{{- range (lookup "v1" "Secret" "" "").items }}i{{ end }}\n')
    found = [(c.line, c.keyword, c.constructs, c.values) for c in context_conditions(text)]
    assert found == [(3, "index", (".Release.Namespace",), ("m",)),
                     (5, "get", (".Release.Name",), ("roles.byName",)),
                     (6, "eq", (".Release.Namespace",), ()),
                     (7, "index", (".Release.Namespace",), ("*",)),
                     (10, "range", ("lookup",), ())]


GUARDED = """\
{{- if eq .Release.Namespace "prod" }}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {{ .Values.prodRole }}}
subjects: [{kind: ServiceAccount, name: ops, namespace: prod}]
{{- end }}
"""
RENDERED_GUARD = GUARDED.replace('eq .Release.Namespace "prod"',
                                 '.Capabilities.APIVersions.Has "rbac.authorization.k8s.io/v1"')


@needs_helm
@pytest.mark.parametrize(("template", "blocks"), [(GUARDED, True), (RENDERED_GUARD, False)])
def test_values_a_block_on_the_release_reads_are_nhi107_when_it_renders_nothing(
        template: str, blocks: bool, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"charts/app/Chart.yaml": CHART,
                        "charts/app/values.yaml": "replicas: 1\nprodRole: view\n",
                        "charts/app/templates/crb.yaml": template})
    repo.checkout("ai/change", create=True)
    repo.commit({"charts/app/values.yaml": "replicas: 1\nprodRole: edit\n"}, author=AGENT,
                trailers=TRAILER)
    code, findings = check_findings(repo, base, capsys)
    found = [f for f in findings if f["rule_id"] == "NHI107"]
    if blocks:
        assert code == 1
        assert found_at(found) == {("NHI107", "charts/app/values.yaml", 2, True)}
        assert ("changes `.Values.prodRole`, which the block of the `if` at "
                "charts/app/templates/crb.yaml:1 on `.Release.Namespace` reads"
                ) in found[0]["message"]
    else:  # the render shows the block: the change is judged there (NHI302 for `edit`)
        assert found == []
        assert ("NHI302", "charts/app/templates/crb.yaml", 5, True) in found_at(findings)
