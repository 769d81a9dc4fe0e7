"""Helm charts in real temp git repos through `cli.main`: the touched chart rendered with a real
`helm` at base and head, findings on the template line, levels by who changed it; helm missing
gives NHI107 (blocking for an agent, a note in `scan`).

helm comes from `python scripts/install_helm.py .venv/bin` (what `.ci/run` does); without it
the tests that render skip, saying so. The helm-missing tests run everywhere."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import HUMAN, GitRepo
from conftest import check_findings as _check
from conftest import found_at as _found

from checker.cli import main

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None,
    reason="helm is not installed (python scripts/install_helm.py .venv/bin installs it)",
)

AGENT = ("Claude", "noreply@anthropic.com")
CHART = "apiVersion: v2\nname: app\nversion: 0.1.0\n"
VALUES = "rbac:\n  verbs: [get, list]\nimage: nginx:1.0\n"
ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}-reader
  annotations:
    owner: team-a
    ticket: OPS-1
    expires: "2030-01-01"
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: {{ toJson .Values.rbac.verbs }}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: false
      containers:
        - name: web
          image: {{ .Values.image }}
"""
ADMIN = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ .Release.Name }}-admin
  annotations: {owner: team-a, ticket: OPS-1, expires: "2030-01-01"}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - kind: ServiceAccount
    name: default
    namespace: default
"""


def _base(repo: GitRepo) -> str:
    return repo.commit({
        "charts/app/Chart.yaml": CHART, "charts/app/values.yaml": VALUES,
        "charts/app/templates/role.yaml": ROLE,
        "charts/app/templates/deployment.yaml": DEPLOYMENT, "README.md": "x\n",
    }, author=HUMAN)


def _change(repo: GitRepo, files: dict[str, str], author: tuple[str, str]) -> None:
    repo.checkout("ai/change", create=True)
    repo.commit(files, author=author, message="chart",
                trailers=[("Requested-by", "Alice Example <alice@example.com>")])


WIDE = "rbac:\n  verbs: ['*']\nimage: nginx:1.0\n"


@needs_helm
def test_agent_values_change_widening_rbac_blocks_on_the_template_line(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = _base(repo)
    _change(repo, {"charts/app/values.yaml": WIDE}, AGENT)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    found = _found(findings)
    # rules: is line 9 of the template; the ClusterRole (its kind:) is line 2.
    assert ("NHI302", "charts/app/templates/role.yaml", 9, True) in found
    assert ("NHI301", "charts/app/templates/role.yaml", 9, True) in found
    addresses = {f["address"] for f in findings if f["rule_id"] == "NHI302"}
    assert addresses == {"charts/app/Chart.yaml:ClusterRole/release-name-reader"}
    assert not [f for f in findings if f["rule_id"] in ("NHI107", "NHI901")]


@needs_helm
def test_same_values_change_by_a_human_is_reported_not_blocking(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = _base(repo)
    _change(repo, {"charts/app/values.yaml": WIDE}, HUMAN)
    code, findings = _check(repo, base, capsys)
    assert code == 0
    assert ("NHI302", "charts/app/templates/role.yaml", 9, False) in _found(findings)
    assert all(not f["blocking"] for f in findings)


@needs_helm
def test_agent_template_adding_a_cluster_admin_binding_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = _base(repo)
    _change(repo, {"charts/app/templates/admin.yaml": ADMIN}, AGENT)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    found = _found(findings)
    assert ("NHI101", "charts/app/templates/admin.yaml", 2, True) in found
    assert ("NHI301", "charts/app/templates/admin.yaml", 6, True) in found  # roleRef:


@needs_helm
def test_configured_values_file_is_rendered_and_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    repo.commit({".nhi-gate.yaml":
                 "render:\n  helm:\n    values:\n      charts/app: [values-prod.yaml]\n",
                 "charts/app/values-prod.yaml": "image: nginx:2.0\n"}, author=HUMAN)
    base = _base(repo)
    _change(repo, {"charts/app/values-prod.yaml": "rbac:\n  verbs: [get, delete]\n"}, AGENT)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    assert ("NHI302", "charts/app/templates/role.yaml", 9, True) in _found(findings)
    (drift,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert "delete" in drift["message"]


@needs_helm
def test_human_template_change_with_no_identity_change_passes_without_nhi901(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = _base(repo)
    ports = "name: web\n          ports: [{containerPort: 80}]\n"
    _change(repo, {"charts/app/templates/deployment.yaml": DEPLOYMENT.replace("name: web\n", ports),
                   "charts/app/templates/role.yaml": "# reader role\n" + ROLE}, HUMAN)
    code, findings = _check(repo, base, capsys)
    assert code == 0
    assert [f["rule_id"] for f in findings] == []


def _no_helm_path(tmp_path: Path) -> str:
    """A PATH with git but no helm."""
    bin_dir = tmp_path / "nohelm-bin"
    bin_dir.mkdir()
    git = shutil.which("git")
    assert git is not None
    (bin_dir / "git").symlink_to(git)
    return str(bin_dir)


def test_agent_change_with_helm_missing_blocks_with_nhi107(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    repo = make_repo()
    base = _base(repo)
    _change(repo, {"charts/app/values.yaml": WIDE}, AGENT)
    monkeypatch.setenv("PATH", _no_helm_path(tmp_path))
    code, findings = _check(repo, base, capsys)
    assert code == 1
    assert [(f["rule_id"], f["path"], f["level"], f["blocking"]) for f in findings
            if f["rule_id"].startswith("NHI1")] == [
        ("NHI107", "charts/app/values.yaml", "error", True)]
    assert "helm is not installed" in findings[0]["message"]


def test_human_template_change_with_helm_missing_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    repo = make_repo()
    base = _base(repo)
    _change(repo, {"charts/app/templates/role.yaml": "# reader\n" + ROLE}, HUMAN)
    monkeypatch.setenv("PATH", _no_helm_path(tmp_path))
    code, findings = _check(repo, base, capsys)
    assert code == 0
    assert [(f["rule_id"], f["path"], f["level"]) for f in findings] == [
        ("NHI107", "charts/app/templates/role.yaml", "note")]


def test_scan_of_a_chart_with_helm_missing_is_a_note(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    chart = tmp_path / "app"
    for path, text in {"Chart.yaml": CHART, "values.yaml": VALUES,
                       "templates/role.yaml": ROLE}.items():
        (chart / path).parent.mkdir(parents=True, exist_ok=True)
        (chart / path).write_text(text, encoding="utf-8")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code = main(["scan", str(chart), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 0
    # The chart's render problem is folded into its template's NHI107: one finding, the reason.
    assert [(f["rule_id"], f["path"], f["level"]) for f in findings] == [
        ("NHI107", "templates/role.yaml", "note")]
    assert "helm is not installed" in findings[0]["message"]


@needs_helm
def test_scan_renders_the_chart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "app"
    for path, text in {"Chart.yaml": CHART, "values.yaml": VALUES,
                       "templates/admin.yaml": ADMIN}.items():
        (chart / path).parent.mkdir(parents=True, exist_ok=True)
        (chart / path).write_text(text, encoding="utf-8")
    code = main(["scan", str(chart), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert [(f["rule_id"], f["path"], f["start_line"], f["address"]) for f in findings
            if f["rule_id"] == "NHI301"] == [
        ("NHI301", "templates/admin.yaml", 6, "Chart.yaml:ClusterRoleBinding/release-name-admin")]
    assert not [f for f in findings if f["rule_id"] in ("NHI107", "NHI901")]


@needs_helm
def test_objects_a_values_change_does_not_change_are_not_touched(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({
        "charts/app/Chart.yaml": CHART, "charts/app/values.yaml": VALUES,
        "charts/app/templates/role.yaml": ROLE,
        "charts/app/templates/deployment.yaml": DEPLOYMENT.replace(
            "      automountServiceAccountToken: false\n", ""),
    }, author=HUMAN)
    _change(repo, {"charts/app/values.yaml": WIDE}, AGENT)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    # The deployment renders the same at base and head: no NHI322 on it, though it reads
    # values.yaml; the role it widened is judged.
    assert {(f["rule_id"], f["path"]) for f in findings} == {
        ("NHI101", "charts/app/templates/role.yaml"), ("NHI203", "charts/app/templates/role.yaml"),
        ("NHI301", "charts/app/templates/role.yaml"), ("NHI302", "charts/app/templates/role.yaml")}


def test_helm_missing_each_changed_file_gets_nhi107_by_its_author(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    repo = make_repo()
    base = _base(repo)
    repo.checkout("ai/change", create=True)
    repo.commit({"charts/app/templates/role.yaml": "# reader\n" + ROLE}, author=HUMAN)
    repo.commit({"charts/app/values.yaml": WIDE}, author=AGENT, message="widen",
                trailers=[("Requested-by", "Alice Example <alice@example.com>")])
    monkeypatch.setenv("PATH", _no_helm_path(tmp_path))
    code, findings = _check(repo, base, capsys)
    assert code == 1
    assert sorted((f["rule_id"], f["path"], f["level"]) for f in findings) == [
        ("NHI107", "charts/app/templates/role.yaml", "note"),
        ("NHI107", "charts/app/values.yaml", "error")]
