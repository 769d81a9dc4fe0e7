"""`checker.sources.render.helm` against a real `helm` on real charts in temp dirs: values that
widen a ClusterRole, a binding to cluster-admin, dependencies (vendored, `file://`, remote),
broken templates, budgets; and the pure source mapping (no helm needed).

helm comes from `python scripts/install_helm.py .venv/bin` (what `.ci/run` does); without it
the rendering tests skip, saying so."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from checker.errors import ConfigError
from checker.policy.config import parse_config
from checker.sources.render.api import RenderLimits
from checker.sources.render.helm import (
    _sentences,
    chart_files,
    find_helm,
    render_chart,
    values_paths,
)
from checker.sources.render.helm_deps import disabled
from checker.sources.render.helm_sources import split_output, template_lines

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None,
    reason="helm is not installed (python scripts/install_helm.py .venv/bin installs it)",
)

CHART = "apiVersion: v2\nname: app\nversion: 0.1.0\n"
ROLE = """\
{{- if .Values.rbac.create }}
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}-reader
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: {{ toJson .Values.rbac.verbs }}
{{- end }}
"""
BINDING = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}-sa
---
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
    name: {{ .Release.Name }}-sa
    namespace: default
"""


def _write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def _listing(tree: Path) -> list[str]:
    return sorted(p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file())


def _app(tmp_path: Path) -> Path:
    return _write(tmp_path / "tree", {
        "charts/app/Chart.yaml": CHART,
        "charts/app/values.yaml": "rbac:\n  create: true\n  verbs: [get, list]\n",
        "charts/app/values-prod.yaml": "rbac:\n  verbs: ['*']\n",
        "charts/app/templates/role.yaml": ROLE,
        "charts/app/templates/binding.yaml": BINDING,
        "charts/app/templates/_helpers.tpl": '{{- define "app.x" -}}x{{- end }}\n',
        "README.md": "not part of the chart\n",
    })


@needs_helm
def test_values_file_widens_the_cluster_role_at_its_template_line(tmp_path: Path) -> None:
    tree = _app(tmp_path)
    default = render_chart(tree, "charts/app", [], RenderLimits())
    prod = render_chart(tree, "charts/app", ["charts/app/values-prod.yaml"], RenderLimits())
    assert default.failure is None and prod.failure is None
    (role,) = [d for d in default.documents if "\nkind: ClusterRole\n" in d.text]
    (wide,) = [d for d in prod.documents if "\nkind: ClusterRole\n" in d.text]
    assert 'verbs: ["get","list"]' in role.text and 'verbs: ["*"]' in wide.text
    assert (wide.source_path, wide.source_line) == ("charts/app/templates/role.yaml", 3)
    assert dict(wide.key_lines)["rules"] == 6
    # the template, then every file of the chart (`.Files.Get` may read any), values files
    assert wide.inputs == (
        "charts/app/templates/role.yaml", "charts/app/Chart.yaml",
        "charts/app/templates/_helpers.tpl", "charts/app/templates/binding.yaml",
        "charts/app/values-prod.yaml", "charts/app/values.yaml",
    )
    assert wide.text.startswith("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole")
    assert "# Source:" not in wide.text


@needs_helm
def test_binding_to_cluster_admin_maps_to_its_own_object_in_a_two_object_template(
        tmp_path: Path) -> None:
    tree = _app(tmp_path)
    rendered = render_chart(tree, "charts/app", [], RenderLimits())
    by_kind = {d.text.split("kind: ", 1)[1].split("\n", 1)[0]: d for d in rendered.documents}
    binding, account = by_kind["ClusterRoleBinding"], by_kind["ServiceAccount"]
    assert (binding.source_path, binding.source_line) == ("charts/app/templates/binding.yaml", 7)
    assert dict(binding.key_lines) == {"apiVersion": 6, "kind": 7, "metadata": 8,
                                       "roleRef": 10, "subjects": 14}
    assert "name: cluster-admin" in binding.text
    assert (account.source_path, account.source_line) == ("charts/app/templates/binding.yaml", 2)
    assert rendered.root == "charts/app" and rendered.tool == "helm"


@needs_helm
def test_values_that_turn_the_role_off_render_no_role(tmp_path: Path) -> None:
    tree = _app(tmp_path)
    _write(tree, {"charts/app/off.yaml": "rbac:\n  create: false\n"})
    rendered = render_chart(tree, "charts/app", ["charts/app/off.yaml"], RenderLimits())
    assert rendered.failure is None
    assert sorted(d.source_path for d in rendered.documents) == [
        "charts/app/templates/binding.yaml", "charts/app/templates/binding.yaml"]


@needs_helm
def test_unvendored_remote_dependency_is_a_failure_before_helm_runs(tmp_path: Path) -> None:
    tree = _write(tmp_path / "tree", {
        "chart/Chart.yaml": CHART + "dependencies:\n  - name: redis\n    version: 1.0.0\n"
                            "    repository: oci://registry.example/charts\n",
        "chart/templates/sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n",
    })
    rendered = render_chart(tree, "chart", [], RenderLimits())
    assert rendered.documents == ()
    assert rendered.failure == (
        "dependency redis (oci://registry.example/charts) is not vendored under chart/charts/: "
        "helm cannot render it offline (run `helm dependency build` and commit charts/)")


@needs_helm
def test_a_remote_dependency_its_values_switch_off_is_left_out(tmp_path: Path) -> None:
    """A dependency switched off by its `condition` renders nothing, so the chart renders
    without it (external-secrets' chart has such an OCI dependency); switched on by a values
    file, it must be vendored again."""
    chart = CHART + ("dependencies:\n  - name: sdk\n    version: 1.0.0\n"
                     "    repository: oci://registry.example/charts\n"
                     "    condition: sdk.enabled,global.sdk\n")
    tree = _write(tmp_path / "tree", {
        "chart/Chart.yaml": chart,
        "chart/values.yaml": "sdk:\n  enabled: false\n",
        "chart/values-on.yaml": "sdk:\n  enabled: true\n",
        "chart/templates/sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n",
    })
    rendered = render_chart(tree, "chart", [], RenderLimits())
    assert rendered.failure is None
    assert [d.source_path for d in rendered.documents] == ["chart/templates/sa.yaml"]
    assert (tree / "chart/Chart.yaml").read_text() == chart  # the user's file is untouched
    switched_on = render_chart(tree, "chart", ["chart/values-on.yaml"], RenderLimits())
    assert switched_on.failure is not None and "dependency sdk" in switched_on.failure


def test_dependency_conditions_and_tags_follow_helms_rules() -> None:
    chart: dict[str, object] = {"dependencies": [
        {"name": "a", "condition": "a.enabled,global.a"},
        {"name": "b", "tags": ["x", "y"]},
        {"name": "c"}]}
    assert disabled("a", chart, [{"a": {"enabled": False}}])
    assert not disabled("a", chart, [{"a": {"enabled": False}}, {"a": {"enabled": True}}])
    assert disabled("a", chart, [{"global": {"a": False}}])  # first path set decides
    assert not disabled("a", chart, [{}])
    assert disabled("b", chart, [{"tags": {"x": False, "y": False}}])
    assert not disabled("b", chart, [{"tags": {"x": False}}])
    assert not disabled("c", chart, [{"c": {"enabled": False}}])


@needs_helm
def test_vendored_and_file_dependencies_render_and_map_to_their_own_files(
        tmp_path: Path) -> None:
    sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {}\n"
    tree = _write(tmp_path / "tree", {
        "charts/app/Chart.yaml": CHART + "dependencies:\n"
        "  - name: redis\n    alias: cache\n    version: 1.0.0\n"
        "    repository: https://charts.example\n"
        "  - name: common\n    alias: shared\n    version: 0.1.0\n"
        "    repository: file://../../libs/common\n",
        "charts/app/charts/redis-chart/Chart.yaml": "apiVersion: v2\nname: redis\nversion: 1.0.0\n",
        "charts/app/charts/redis-chart/templates/sa.yaml": sa.format("redis"),
        "libs/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 0.1.0\n",
        "libs/common/values.yaml": "x: 1\n",
        "libs/common/templates/sa.yaml": "# a comment\n" + sa.format("common"),
        "libs/other/Chart.yaml": "apiVersion: v2\nname: other\nversion: 0.1.0\n",
    })
    rendered = render_chart(tree, "charts/app", [], RenderLimits())
    assert rendered.failure is None
    found = {(d.source_path, d.source_line) for d in rendered.documents}
    assert found == {("charts/app/charts/redis-chart/templates/sa.yaml", 2),
                     ("libs/common/templates/sa.yaml", 3)}
    common = next(d for d in rendered.documents if d.source_path.startswith("libs/"))
    assert common.inputs == (
        "libs/common/templates/sa.yaml", "charts/app/Chart.yaml",
        "charts/app/charts/redis-chart/Chart.yaml",
        "charts/app/charts/redis-chart/templates/sa.yaml", "libs/common/Chart.yaml",
        "libs/common/values.yaml")
    assert "libs/other/Chart.yaml" not in common.inputs
    assert not (tree / "charts/app/charts/common").exists()  # the tree is never written

    def read(path: str) -> bytes | None:
        return (tree / path).read_bytes() if (tree / path).is_file() else None

    assert chart_files("charts/app", _listing(tree), read) == [
        "charts/app/Chart.yaml", "charts/app/charts/redis-chart/Chart.yaml",
        "charts/app/charts/redis-chart/templates/sa.yaml", "libs/common/Chart.yaml",
        "libs/common/templates/sa.yaml", "libs/common/values.yaml"]
    assert chart_files("charts/app", _listing(tree)) == [
        "charts/app/Chart.yaml", "charts/app/charts/redis-chart/Chart.yaml",
        "charts/app/charts/redis-chart/templates/sa.yaml"]


@needs_helm
def test_template_error_names_the_template_and_line_but_no_value(tmp_path: Path) -> None:
    tree = _app(tmp_path)
    _write(tree, {
        "charts/app/values.yaml": "rbac: {create: false}\npassword: hunter2-s3cret\n",
        "charts/app/templates/bad.yaml": "a: 1\nb: {{ .Values.password | nosuchfunc }}\n",
    })
    rendered = render_chart(tree, "charts/app", [], RenderLimits())
    assert rendered.failure == (
        "helm template failed: error in charts/app/templates/bad.yaml at line 2")
    _write(tree, {"charts/app/templates/bad.yaml": "{{ fail .Values.password }}\n"})
    assert render_chart(tree, "charts/app", [], RenderLimits()).failure == (
        "helm template failed: error in charts/app/templates/bad.yaml at line 1")
    _write(tree, {"charts/app/templates/bad.yaml": "x: {{ .Values.password }}\n  y: [\n"})
    assert render_chart(tree, "charts/app", [], RenderLimits()).failure == (
        "helm template failed: charts/app/templates/bad.yaml does not render as valid YAML")


@needs_helm
def test_values_file_that_is_not_yaml_fails_without_quoting_it(tmp_path: Path) -> None:
    tree = _app(tmp_path)
    _write(tree, {"charts/app/bad.yaml": "token: 'hunter2-s3cret\n  : [\n"})
    failure = render_chart(tree, "charts/app", ["charts/app/bad.yaml"], RenderLimits()).failure
    assert failure is not None and failure.startswith("helm template failed: ")
    assert "hunter2" not in failure and "\n" not in failure and str(tmp_path) not in failure
    missing = render_chart(tree, "charts/app", ["charts/app/nope.yaml"], RenderLimits())
    assert missing.failure == "values file charts/app/nope.yaml not found"


@needs_helm
def test_output_over_the_byte_budget_is_a_failure(tmp_path: Path) -> None:
    rendered = render_chart(_app(tmp_path), "charts/app", [], RenderLimits(max_bytes=100))
    assert (rendered.failure, rendered.documents) == (
        "helm template: output over the 100-byte budget", ())


def test_helm_missing_is_a_failure_naming_what_to_do(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_helm() is None
    assert find_helm(str(tmp_path / "no-helm")) is None
    rendered = render_chart(_app(tmp_path), "charts/app", [], RenderLimits())
    assert rendered.failure == ('helm is not installed (install helm, or set '
                                'render.helm.binary; README "Helm charts")')


def test_find_helm_takes_the_configured_binary(tmp_path: Path) -> None:
    binary = _write(tmp_path, {"bin/helm4": "#!/bin/sh\n"}) / "bin/helm4"
    assert find_helm(str(binary)) is None  # not executable
    os.chmod(binary, 0o755)
    assert find_helm(str(binary)) == str(binary)


def test_chart_is_missing_its_chart_yaml(tmp_path: Path) -> None:
    tree = _write(tmp_path / "tree", {"chart/templates/x.yaml": "a: 1\n"})
    rendered = render_chart(tree, "chart", [], RenderLimits(), helm="/bin/false")
    assert rendered.failure == "chart/Chart.yaml is missing or not a YAML mapping"


def test_config_names_values_files_and_binary() -> None:
    config = parse_config("render:\n  helm:\n    binary: /opt/helm/bin/helm\n    values:\n"
                          "      charts/app/: [values-prod.yaml, ../shared/values.yaml]\n", "x")
    assert config.helm_values == {"charts/app": ("values-prod.yaml", "../shared/values.yaml")}
    assert config.helm_binary == "/opt/helm/bin/helm"
    assert values_paths("charts/app", config.helm_values["charts/app"]) == [
        "charts/app/values-prod.yaml", "charts/shared/values.yaml"]
    assert values_paths("app", ["../../etc/passwd"]) == []
    assert parse_config("", "x").helm_values == {}
    with pytest.raises(ConfigError, match="render/helm/binary"):
        parse_config("render: {helm: {binary: ./tools/helm}}", "x")
    with pytest.raises(ConfigError, match="render/helm/values/app/0"):
        parse_config("render: {helm: {values: {app: [/etc/values.yaml]}}}", "x")


def test_split_output_keeps_each_document_with_its_source() -> None:
    output = ("---\n# Source: app/templates/a.yaml\nkind: A\n---\n# Source: app/templates/b.yaml\n"
              "# only a comment\n---\n# Source: app/templates/c.yaml\nkind: C\nx: |\n  ---x\n")
    assert split_output(output) == [("app/templates/a.yaml", "kind: A\n"),
                                    ("app/templates/c.yaml", "kind: C\nx: |\n  ---x\n")]


def test_template_lines_skip_an_object_a_condition_left_out() -> None:
    template = ("{{- if .Values.a }}\nkind: ClusterRole\nmetadata:\n  name: {{ .Release.Name }}-a\n"
                "rules: []\n{{- end }}\n---\nkind: ClusterRole\nmetadata:\n"
                "  name: {{ .Release.Name }}-b\nrules:\n- verbs: ['*']\n")
    used: set[int] = set()
    assert template_lines(template, "ClusterRole", "rel-b", used, ["rules", "kind"]) == (
        8, (("kind", 8), ("rules", 11)))
    assert template_lines(template, "ClusterRole", "rel-a", used, ["rules"]) == (2, (("rules", 5),))
    assert template_lines("a: 1\n", "ClusterRole", "x", set(), ["a"]) == (1, ())


def _install_script() -> Any:
    spec = importlib.util.spec_from_file_location(
        "install_helm", Path(__file__).resolve().parent.parent / "scripts" / "install_helm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_install_script_keeps_a_working_helm_and_refuses_a_tampered_tarball(
        tmp_path: Path) -> None:
    script = _install_script()
    fake = _write(tmp_path, {"bin/helm": "#!/bin/sh\necho v9.9.9\n"}) / "bin/helm"
    os.chmod(fake, 0o755)
    assert script.install(tmp_path / "bin") == "v9.9.9"  # no npm call: it is there
    tarball = _write(tmp_path, {"x.tgz": "not the package"}) / "x.tgz"
    with pytest.raises(SystemExit, match="does not match the pinned integrity"):
        script._check_integrity(tarball)
    assert script.main([]) == 2


def test_install_script_optional_without_npm_says_so_and_succeeds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _install_script()
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm, no helm
    assert script.main(["--optional", str(tmp_path / "bin")]) == 0
    assert "npm is not installed" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="npm is not installed"):
        script.main([str(tmp_path / "bin")])


def test_a_renderer_over_its_cpu_budget_is_stopped_by_rlimit_cpu(tmp_path: Path) -> None:
    """The budget is CPU time (RLIMIT_CPU), so a busy loop stops after ~1 CPU second whatever
    the load; its reason names the budget."""
    import sys

    from checker.sources.render.run import run_bounded, run_limited

    spin = [sys.executable, "-c", "while True: pass"]
    assert run_bounded(spin, RenderLimits(cpu_seconds=1), tmp_path).stopped == "cpu"
    assert run_limited(spin, RenderLimits(cpu_seconds=1), tmp_path) == "over the 1 s CPU budget"
    done = run_bounded([sys.executable, "-c", "import os; print(os.environ['HTTPS_PROXY'])"],
                       RenderLimits(), tmp_path)
    assert (done.code, done.stdout) == (0, b"http://127.0.0.1:9\n")


def test_a_renderer_runs_with_the_go_collector_paced_by_a_memory_limit(tmp_path: Path) -> None:
    """Renderers are Go programs: their environment turns GC pacing off below a memory limit
    and runs them on one thread each (`checker.sources.render.run`)."""
    import sys

    from checker.sources.render.run import run_bounded

    show = "import os; print(*(os.environ.get(k) for k in ('GOGC','GOMEMLIMIT','GOMAXPROCS')))"
    done = run_bounded([sys.executable, "-c", show], RenderLimits(), tmp_path)
    assert (done.code, done.stdout) == (0, b"off 128MiB 1\n")  # RSS under 200 MB (argo-cd)


@needs_helm
def test_dependency_check_failure_gives_helms_whole_sentences(tmp_path: Path) -> None:
    """A vendored dependency under another name: helm's own dependency check fails, and the
    reason is its sentences, not cut mid-sentence (issue 13 C1), without the item it names."""
    tree = tmp_path / "tree"
    _write(tree, {
        "c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\ndependencies:\n"
                        "  - {name: sub, version: 2.0.0, repository: https://example.com/x}\n",
        "c/charts/sub/Chart.yaml": "apiVersion: v2\nname: other\nversion: 1.0.0\n",
    })
    assert render_chart(tree, "c", [], RenderLimits()).failure == (
        "helm template failed: an error occurred while checking for chart dependencies. You "
        "may need to run `helm dependency build` to fetch missing dependencies: found in "
        "Chart.yaml, but missing in charts/ directory")


def test_long_helm_errors_are_cut_at_a_sentence_and_quote_nothing() -> None:
    assert _sentences('cannot load "hunter2" here: detail') == 'cannot load "..." here'
    long = "First sentence is here. " * 20
    assert _sentences(long) == ("First sentence is here. " * 12).strip()
    assert _sentences("word " * 100) == ("word " * 60).strip() + " ..."
