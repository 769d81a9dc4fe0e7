"""kustomize overlays rendered at base and head (`checker.sources.render`): real temp git repos,
the real `kubectl kustomize` (or `kustomize`), `nhi-gate check` through `cli.main`."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import HUMAN, GitRepo
from conftest import check_findings as _check
from conftest import found_at as _found

from checker.cli import main
from checker.sources.render.kustomize import find_kustomize, kustomization_files

pytestmark = pytest.mark.skipif(
    find_kustomize() is None, reason="neither kustomize nor kubectl is installed")

AGENT = ("Claude", "noreply@anthropic.com")
BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: deployer
  annotations:
    owner: team-a
    ticket: OPS-1
    expires: "2030-01-01"
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
subjects:
- kind: ServiceAccount
  name: deployer
  namespace: apps
"""
ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: reader
  namespace: apps
  annotations:
    owner: team-a
    ticket: OPS-1
    expires: "2030-01-01"
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get]
"""
BASE_K = "resources:\n- role.yaml\n"
OVERLAY_K = "resources:\n- ../../base\n"
PATCH = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: deployer
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
"""


def _base(repo: GitRepo, extra: dict[str, str] | None = None) -> str:
    return repo.commit({
        "k8s/base/kustomization.yaml": "resources:\n- role.yaml\n- binding.yaml\n",
        "k8s/base/role.yaml": ROLE, "k8s/base/binding.yaml": BINDING,
        "k8s/overlays/prod/kustomization.yaml": OVERLAY_K, "README.md": "x\n", **(extra or {}),
    }, author=HUMAN)


def _change(repo: GitRepo, files: dict[str, str], author: tuple[str, str]) -> None:
    repo.checkout("ai/change", create=True)
    repo.commit(files, author=author, message="rbac")


def test_agent_patch_to_cluster_admin_blocks_on_the_patch_line(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = _base(repo)
    _change(repo, {"k8s/overlays/prod/binding-patch.yaml": PATCH,
                   "k8s/overlays/prod/kustomization.yaml":
                       OVERLAY_K + "patches:\n- path: binding-patch.yaml\n"}, AGENT)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    found = _found(findings)
    # `name: cluster-admin` is line 8 of the patch: the widened value is reported there.
    assert ("NHI301", "k8s/overlays/prod/binding-patch.yaml", 8, True) in found
    assert ("NHI302", "k8s/overlays/prod/binding-patch.yaml", 8, True) in found
    addresses = {f["address"] for f in findings if f["rule_id"] == "NHI302"}
    assert addresses == {"k8s/overlays/prod/kustomization.yaml:ClusterRoleBinding/deployer"}


def test_same_patch_by_a_human_is_reported_not_blocking(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = _base(repo)
    _change(repo, {"k8s/overlays/prod/binding-patch.yaml": PATCH,
                   "k8s/overlays/prod/kustomization.yaml":
                       OVERLAY_K + "patches:\n- path: binding-patch.yaml\n"}, HUMAN)
    code, findings = _check(repo, base, capsys)
    assert code == 0
    found = _found(findings)
    assert ("NHI302", "k8s/overlays/prod/binding-patch.yaml", 8, False) in found
    assert all(not f["blocking"] for f in findings)


def test_inline_json6902_wildcard_rule_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = _base(repo)
    inline = OVERLAY_K + """\
patches:
- target:
    kind: Role
    name: reader
  patch: |-
    - op: add
      path: /rules/-
      value: {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
"""
    _change(repo, {"k8s/overlays/prod/kustomization.yaml": inline}, AGENT)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    found = _found(findings)
    # The `- op: add` line (8) of the inline patch in kustomization.yaml.
    assert ("NHI301", "k8s/overlays/prod/kustomization.yaml", 8, True) in found
    assert ("NHI302", "k8s/overlays/prod/kustomization.yaml", 8, True) in found


def test_resources_including_an_unused_binding_file_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    admin = BINDING.replace("name: deployer\n  annotations", "name: root\n  annotations"
                            ).replace("name: view", "name: cluster-admin")
    base = _base(repo, {"k8s/extra/admin.yaml": admin,
                        "k8s/overlays/prod/admin.yaml": admin})
    _change(repo, {"k8s/overlays/prod/kustomization.yaml": OVERLAY_K + "- admin.yaml\n"},
            AGENT)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    found = _found(findings)
    assert ("NHI101", "k8s/overlays/prod/admin.yaml", 1, True) in found
    assert ("NHI301", "k8s/overlays/prod/admin.yaml", 12, True) in found


@pytest.mark.parametrize(("author", "level", "code"), [(AGENT, "error", 1),
                                                     (HUMAN, "note", 0)])
def test_remote_base_is_unrendered_without_network(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], level: str, code: int) -> None:
    repo = make_repo()
    base = _base(repo)
    _change(repo, {"k8s/overlays/prod/kustomization.yaml":
                   OVERLAY_K + "- https://github.com/org/repo//deploy?ref=v1\n"}, author)
    got_code, findings = _check(repo, base, capsys)  # refused before kustomize runs
    got = [f for f in findings if f["rule_id"] == "NHI107"]
    assert [(f["path"], f["start_line"], f["level"]) for f in got] == [
        ("k8s/overlays/prod/kustomization.yaml", 1, level)]
    assert "remote resource or base https://github.com/org/repo//deploy?ref=v1" in (
        got[0]["message"])
    assert got_code == code


def test_unchanged_overlay_and_cosmetic_reorder_yield_nothing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = _base(repo, {"k8s/overlays/prod/kustomization.yaml":
                        "resources:\n- ../../base\nnamespace: apps\ncommonLabels: {a: b}\n"})
    _change(repo, {"README.md": "y\n",
                   "k8s/overlays/prod/kustomization.yaml":
                       "commonLabels: {a: b}\nnamespace: apps\nresources:\n  - ../../base\n"},
            AGENT)
    code, findings = _check(repo, base, capsys)
    assert [f["rule_id"] for f in findings if f["rule_id"] != "NHI103"] == []
    assert code == 0


def test_kustomization_files_follow_local_bases() -> None:
    files = {
        "o/kustomization.yaml": b"resources: [../b, extra.yaml]\npatches: [{path: p.yaml}]\n"
                                b"configMapGenerator: [{name: c, files: [k=cfg.txt]}]\n",
        "b/kustomization.yaml": b"resources: [r.yaml]\ncomponents: [../c]\n",
        "c/kustomization.yaml": b"kind: Component\npatchesStrategicMerge: [s.yaml]\n",
        "o/extra.yaml": b"", "o/p.yaml": b"", "o/cfg.txt": b"", "b/r.yaml": b"",
        "c/s.yaml": b"", "unused.yaml": b"",
    }
    got = kustomization_files("o", files, files.get)
    assert sorted(got) == sorted(p for p in files if p != "unused.yaml")


def test_scan_renders_leaf_overlays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for path, text in {"base/kustomization.yaml": "resources: [binding.yaml]\n",
                       "base/binding.yaml": BINDING,
                       "prod/kustomization.yaml": "resources: [../base]\n"
                                                  "patches: [{path: patch.yaml}]\n",
                       "prod/patch.yaml": PATCH}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    code = main(["scan", str(tmp_path), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    admin = [(f["path"], f["start_line"], f["address"]) for f in findings
             if f["rule_id"] == "NHI301"]
    assert admin == [("prod/patch.yaml", 8, "prod/kustomization.yaml:ClusterRoleBinding/deployer")]
    assert code == 1


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_timing_is_reported(make_repo: Callable[..., GitRepo],
                            capsys: pytest.CaptureFixture[str]) -> None:
    """Not an assertion on time (budgets are CPU, not wall-clock): prints both costs."""
    repo = make_repo()
    base = _base(repo)
    _change(repo, {"README.md": "changed\n"}, AGENT)
    t0 = time.perf_counter()
    _check(repo, base, capsys)
    t1 = time.perf_counter()
    repo.commit({"k8s/overlays/prod/kustomization.yaml": OVERLAY_K + "namespace: x\n"},
                author=AGENT)
    _check(repo, base, capsys)
    t2 = time.perf_counter()
    print(f"untouched {t1 - t0:.3f}s touched {t2 - t1:.3f}s")


def test_hook_renders_the_staged_overlay(
        make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    _base(repo)
    repo.stage({"k8s/overlays/prod/binding-patch.yaml": PATCH,
                "k8s/overlays/prod/kustomization.yaml":
                    OVERLAY_K + "patches:\n- path: binding-patch.yaml\n"})
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", AGENT[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", AGENT[1])
    code = main(["hook", "--format", "json"])
    found = _found(json.loads(capsys.readouterr().out)["findings"])
    assert ("NHI302", "k8s/overlays/prod/binding-patch.yaml", 8, True) in found
    assert code == 1


def test_two_overlays_of_one_base_are_two_deployments(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Alternative overlays that both rename a base's workload and account to the same names
    are not one account shared by two workloads (NHI323), and a base object the overlays do
    not change is reported once, on the base file (not once per overlay)."""
    deployment = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      serviceAccountName: web
      containers:
      - name: web
        image: nginx
"""
    account = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n"
    files = {"base/kustomization.yaml": "resources: [deploy.yaml, sa.yaml]\n",
             "base/deploy.yaml": deployment, "base/sa.yaml": account,
             "a/kustomization.yaml": "resources: [../base]\nnameSuffix: -x\n",
             "b/kustomization.yaml": "resources: [../base]\nnameSuffix: -x\n"
                                     "commonLabels: {tier: b}\n"}
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    main(["scan", str(tmp_path), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [f for f in findings if f["rule_id"] == "NHI323"] == []
    rendered = {(f["rule_id"], f["path"], f["start_line"]) for f in findings
                if ":" in (f["address"] or "")}
    plain = {(f["rule_id"], f["path"], f["start_line"]) for f in findings
             if ":" not in (f["address"] or "")}
    assert rendered.isdisjoint(plain)
    assert ("NHI201", "base/sa.yaml", 1) in plain


def test_missing_renderer_is_unrendered_for_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    repo = make_repo()
    base = _base(repo)
    _change(repo, {"k8s/overlays/prod/binding-patch.yaml": PATCH,
                   "k8s/overlays/prod/kustomization.yaml":
                       OVERLAY_K + "patches:\n- path: binding-patch.yaml\n"}, AGENT)
    tools = tmp_path / "bin"  # git only: neither kustomize nor kubectl
    tools.mkdir()
    (tools / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    monkeypatch.setenv("PATH", str(tools))
    code, findings = _check(repo, base, capsys)
    got = [(f["rule_id"], f["path"], f["level"], f["blocking"]) for f in findings
           if f["rule_id"] == "NHI107"]
    # Every changed file of the closure gets its own NHI107, at its own author's level.
    assert sorted(got) == [("NHI107", "k8s/overlays/prod/binding-patch.yaml", "error", True),
                           ("NHI107", "k8s/overlays/prod/kustomization.yaml", "error", True)]
    assert "kustomize not installed" in next(
        f["message"] for f in findings if f["rule_id"] == "NHI107")
    assert code == 1


def test_agent_deleting_a_restricting_patch_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A change that only deletes lines (an overlay's patch that kept the base binding at
    `view`) widens the rendered binding although no line was added: its author is whoever
    changed the closure."""
    repo = make_repo()
    admin = BINDING.replace("name: view", "name: cluster-admin")
    narrowing = OVERLAY_K + """\
patches:
- target:
    kind: ClusterRoleBinding
    name: deployer
  patch: |-
    - op: replace
      path: /roleRef/name
      value: view
"""
    base = repo.commit({
        "k8s/base/kustomization.yaml": "resources:\n- binding.yaml\n",
        "k8s/base/binding.yaml": admin,
        "k8s/overlays/prod/kustomization.yaml": narrowing, "README.md": "x\n",
    }, author=HUMAN)
    _change(repo, {"k8s/overlays/prod/kustomization.yaml": OVERLAY_K}, AGENT)
    code, findings = _check(repo, base, capsys)
    widened = [(f["path"], f["blocking"], f["actor_kind"]) for f in findings
               if f["rule_id"] == "NHI302"]
    assert widened == [("k8s/base/binding.yaml", True, "agent")]
    assert code == 1
