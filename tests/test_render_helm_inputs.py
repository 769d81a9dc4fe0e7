"""Every file under a chart is an input of its render (issue 13 A1/A2): a file a template reads
with `.Files.Get` (under `files/` or `ci/`) and `.helmignore` make the chart render, and an
agent that changes only them is the author of the objects that change. Real temp git repos
through `cli.main`, with a real `helm` (skipped when it is absent)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.model import SourceFile
from checker.sources.templates import helm_ignored

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None,
    reason="helm is not installed (python scripts/install_helm.py .venv/bin installs it)",
)

AGENT = ("Claude", "noreply@anthropic.com")
CHART = "apiVersion: v2\nname: app\nversion: 0.1.0\n"
FILES_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}-ci
rules:
{{ .Files.Get "ci/rules.yaml" | indent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}-files
rules:
{{ .Files.Get "files/rules.yaml" | indent 2 }}
"""
NARROW = "- apiGroups: [\"\"]\n  resources: [pods]\n  verbs: [get]\n"
WIDE = "- apiGroups: [\"*\"]\n  resources: [\"*\"]\n  verbs: [\"*\"]\n"
ADMIN = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: app-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: default, namespace: app}]
"""
CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {a: b}\n"


def _change(repo: GitRepo, base_files: dict[str, str], head_files: dict[str, str],
            author: tuple[str, str] = AGENT) -> tuple[str, str]:
    base = repo.commit(base_files, author=HUMAN)
    repo.checkout("ai/change", create=True)
    head = repo.commit(head_files, author=author, message="chart",
                       trailers=[("Requested-by", "Alice Example <alice@example.com>")])
    return base, head


def _check(repo: GitRepo, base: str, head: str, capsys: pytest.CaptureFixture[str]
           ) -> tuple[int, set[tuple[str, str, str, bool]]]:  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    findings: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["findings"]
    return code, {(f["rule_id"], f["path"], f["address"], f["blocking"]) for f in findings}


def _files_chart() -> dict[str, str]:
    return {"chart/Chart.yaml": CHART, "chart/values.yaml": "{}\n",
            "chart/templates/role.yaml": FILES_ROLE,
            "chart/files/rules.yaml": NARROW, "chart/ci/rules.yaml": NARROW}


@needs_helm
@pytest.mark.parametrize("read", ["files/rules.yaml", "ci/rules.yaml"])
def test_agent_change_to_a_file_read_with_files_get_blocks(
        read: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base, head = _change(repo, _files_chart(), {f"chart/{read}": WIDE})
    code, found = _check(repo, base, head, capsys)
    assert code == 1
    name = "release-name-files" if read.startswith("files/") else "release-name-ci"
    address = f"chart/Chart.yaml:ClusterRole/{name}"
    assert ("NHI302", "chart/templates/role.yaml", address, True) in found
    # the other ClusterRole did not change: no finding on it
    assert not [f for f in found if f[2].endswith("-ci" if name.endswith("-files") else "-files")]


@needs_helm
def test_human_change_to_a_file_read_with_files_get_is_not_blocking(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base, head = _change(repo, _files_chart(), {"chart/files/rules.yaml": WIDE}, HUMAN)
    code, found = _check(repo, base, head, capsys)
    assert code == 0
    assert ("NHI302", "chart/templates/role.yaml",
            "chart/Chart.yaml:ClusterRole/release-name-files", False) in found


@needs_helm
@pytest.mark.parametrize("ignore", ["# nothing ignored\n", ""])
def test_agent_emptying_helmignore_switches_on_a_binding_and_blocks(
        ignore: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base, head = _change(repo, {
        "chart/Chart.yaml": CHART, "chart/values.yaml": "{}\n",
        "chart/.helmignore": "templates/admin.yaml\n",
        "chart/templates/admin.yaml": ADMIN, "chart/templates/cm.yaml": CONFIG,
    }, {"chart/.helmignore": ignore})  # "": only a deleted line, none added
    code, found = _check(repo, base, head, capsys)
    assert code == 1
    assert ("NHI101", "chart/templates/admin.yaml",
            "chart/Chart.yaml:ClusterRoleBinding/app-admin", True) in found


def test_template_left_out_by_helmignore_is_read_as_a_plain_manifest(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A plain `templates/` folder made a chart whose `.helmignore` hides a binding: helm never
    renders it, `kubectl apply -f deploy/templates/` would create it (no helm needed)."""
    repo = make_repo()
    base, head = _change(repo, {"deploy/templates/cm.yaml": CONFIG}, {
        "deploy/Chart.yaml": CHART, "deploy/.helmignore": "# generated\ntemplates/crb.yaml\n",
        "deploy/templates/crb.yaml": ADMIN,
    })
    code, found = _check(repo, base, head, capsys)
    assert code == 1
    assert ("NHI101", "deploy/templates/crb.yaml",
            "ClusterRoleBinding/app-admin", True) in found
    assert not [f for f in found if f[0] == "NHI107" and f[1] == "deploy/templates/crb.yaml"]


def test_helmignore_globs_match_as_helm_does() -> None:
    files = [SourceFile(p, raw, None) for p, raw in [
        ("c/Chart.yaml", CHART.encode()),
        ("c/.helmignore", b"# comment\n*.bak.yaml\ntmp/\n/templates/x?.yaml\n!keep.bak.yaml\n"),
        ("c/templates/a.bak.yaml", b""), ("c/templates/keep.bak.yaml", b""),
        ("c/templates/tmp/b.yaml", b""), ("c/templates/tmp.yaml", b""),
        ("c/templates/x1.yaml", b""), ("c/templates/x12.yaml", b""),
        ("c/templates/ok.yaml", b""), ("plain/templates/a.bak.yaml", b""),
    ]]
    assert helm_ignored(files) == {"c/templates/a.bak.yaml", "c/templates/tmp/b.yaml",
                                   "c/templates/x1.yaml"}


@pytest.mark.parametrize("target", ["deploy", "deploy/templates/crb.yaml"])
def test_scan_reads_a_template_helmignore_leaves_out_as_a_plain_manifest(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        target: str) -> None:
    """`scan` reads the chart's `.helmignore` from disk too (the walk never yields it), also
    when the template is scanned alone: the hidden binding is judged, not an NHI107 note."""
    for path, text in {"deploy/Chart.yaml": CHART, "deploy/templates/crb.yaml": ADMIN,
                       "deploy/.helmignore": "templates/crb.yaml\n"}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # no helm: the chart itself is only a note
    main(["scan", target, "--format", "json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    crb = [f["rule_id"] for f in found if f["path"].endswith("templates/crb.yaml")]
    assert "NHI301" in crb and "NHI107" not in crb
