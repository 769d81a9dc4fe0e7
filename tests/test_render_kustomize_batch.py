"""Kustomizations built in batches (`checker.sources.render.kustomize_batch`): each member's
`Rendered` (objects, texts, source files and lines, inputs, failures) is the one its own build
gives (`render_files`), on every leaf kustomization of the shared corpus and on kustomizations
that use each kustomize feature; the fallbacks (duplicate ids, a broken member, a name
reference another member could capture, the output cap) end in lone builds; a scan of
independent kustomizations runs one kustomize process per batch. The real kustomize."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from conftest import HUMAN, GitRepo, check_findings, found_at

from checker.cli import main
from checker.commands.render_disk import _disk_paths
from checker.sources.render import kustomize_batch, leaf_closures, render_files
from checker.sources.render.api import Rendered, RenderLimits
from checker.sources.render.kustomize import find_kustomize
from checker.sources.render.kustomize_batch import alone, plan, render_batch

pytestmark = pytest.mark.skipif(
    find_kustomize() is None, reason="neither kustomize nor kubectl is installed")

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real-repos"
LIMITS = RenderLimits(20.0)
AGENT = ("Claude", "noreply@anthropic.com")
Job = tuple[str, Mapping[str, bytes]]


def _job(root: str, files: Mapping[str, str]) -> Job:
    return root, {p: t.encode() for p, t in files.items()}


def _lone(jobs: list[Job], limits: RenderLimits = LIMITS) -> list[Rendered]:
    return [render_files(root, files, limits) for root, files in jobs]


def _corpus_jobs() -> list[Job]:
    jobs: list[Job] = []
    for repo in sorted(CORPUS.iterdir()):
        paths = _disk_paths(repo)

        def read(path: str, repo: Path = repo) -> bytes | None:
            full = repo / path
            return full.read_bytes() if full.is_file() and not full.is_symlink() else None

        for directory, files in sorted(leaf_closures(paths, read).items()):
            jobs.append((directory, {p: b for p in files if (b := read(p)) is not None}))
    return jobs


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/real-repos is absent")
def test_every_corpus_leaf_renders_in_its_batch_as_alone() -> None:
    jobs = _corpus_jobs()
    assert len(jobs) >= 20
    lone = _lone(jobs)
    assert sum(1 for r in lone if not r.failure and r.documents) >= 20
    batches = plan(jobs, 2)
    assert len(batches) < len(jobs)
    got: dict[int, Rendered] = {}
    for group in batches:
        got.update(zip(group, render_batch([jobs[i] for i in group], LIMITS), strict=True))
    for i, (root, _) in enumerate(jobs):
        assert got[i] == lone[i], root
    # all of them in one batch: ids clash (the gemma overlays), so the fallbacks run
    assert render_batch(jobs, LIMITS) == lone


DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {team: a}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: runner
      containers:
      - name: c
        image: nginx
        envFrom: [{configMapRef: {name: settings}}]
        volumeMounts: [{name: s, mountPath: /s}]
      volumes: [{name: s, secret: {secretName: creds}}]
"""
ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: runner}\n"
ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: runner}]
"""
CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
"""
BASE = {
    "app/base/kustomization.yaml": (
        "resources: [deploy.yaml, account.yaml, role.yaml, crd.yaml]\n"
        "configMapGenerator:\n- name: settings\n  literals: [LEVEL=info]\n"
        "secretGenerator:\n- name: creds\n  literals: [token=abc]\n"),
    "app/base/deploy.yaml": DEPLOY,
    "app/base/account.yaml": ACCOUNT,
    "app/base/role.yaml": ROLE,
    "app/base/crd.yaml": CRD,
}


def _features() -> list[Job]:
    """Kustomizations using prefixes, suffixes, namespaces, generators with hash suffixes
    and the references to them, strategic-merge and JSON 6902 patches of RBAC, components,
    labels into templates, images, replicas, replacements, a CRD, one at the root."""
    prod = {**BASE,
            "app/prod/kustomization.yaml": (
                "namePrefix: prod-\nnamespace: prod\nresources: [../base]\n"
                "components: [../extra]\n"
                "labels:\n- pairs: {tier: prod}\n  includeTemplates: true\n"
                "images: [{name: nginx, newTag: '1.27'}]\nreplicas: [{name: web, count: 3}]\n"
                "patches:\n- path: wide.yaml\n"
                "- target: {kind: Role, name: reader}\n  patch: |-\n"
                "    - op: add\n      path: /rules/-\n"
                "      value: {apiGroups: [''], resources: [secrets], verbs: [list]}\n"),
            "app/prod/wide.yaml": (
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
                "metadata: {name: reader}\nsubjects:\n- {kind: ServiceAccount, name: runner}\n"
                "- {kind: Group, name: ops}\n"),
            "app/extra/kustomization.yaml": (
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                "configMapGenerator:\n- name: extra\n  literals: [A=1]\n"),
            }
    dev = {**BASE,
           "app/dev/kustomization.yaml": (
               "nameSuffix: -dev\nresources: [../base]\n"
               "commonAnnotations: {owner: team-dev}\n"
               "replacements:\n- source: {kind: ServiceAccount, name: runner}\n"
               "  targets:\n  - select: {kind: RoleBinding}\n"
               "    fieldPaths: [subjects.0.name]\n")}
    root = {"kustomization.yaml": "namespace: tools\nresources: [job.yaml]\n",
            "job.yaml": ("apiVersion: batch/v1\nkind: Job\nmetadata: {name: migrate}\n"
                         "spec: {template: {spec: {restartPolicy: Never, containers: "
                         "[{name: m, image: busybox}]}}}\n")}
    fifo = {"s/kustomization.yaml": "sortOptions: {order: fifo}\nresources: [r.yaml]\n",
            "s/r.yaml": ACCOUNT + "---\n" + ROLE}
    component = {"c/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [a.yaml]\n"),
        "c/a.yaml": ACCOUNT}
    return [_job("app/prod", prod), _job("app/dev", dev), _job("", root), _job("s", fifo),
            _job("c", component)]


def test_features_render_in_one_batch_as_alone() -> None:
    jobs = _features()
    lone = _lone(jobs)
    assert not any(r.failure for r in lone)  # a Component builds alone too
    prod = {d.source_path: d for d in lone[0].documents}
    assert "prod-web" in prod["app/base/deploy.yaml"].text
    assert plan(jobs, 1)[0] == [0, 1, 2]  # `sortOptions` and the Component alone
    assert render_batch(jobs, LIMITS) == lone
    assert alone(*jobs[3]) and alone(*jobs[4]) and not alone(*jobs[0])


def _spy_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    runs: list[str] = []
    real = kustomize_batch.run_limited

    def run(argv: list[str], limits: RenderLimits, home: Path) -> bytes | str:
        runs.append(argv[-1])
        return real(argv, limits, home)

    monkeypatch.setattr(kustomize_batch, "run_limited", run)
    return runs


def test_duplicate_ids_fall_back_to_lone_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    same = {"a/kustomization.yaml": "resources: [sa.yaml]\n", "a/sa.yaml": ACCOUNT}
    other = {"b/kustomization.yaml": "resources: [sa.yaml]\n", "b/sa.yaml": ACCOUNT}
    jobs = [_job("a", same), _job("b", other)]
    runs = _spy_runs(monkeypatch)
    got = render_batch(jobs, LIMITS)
    assert got == _lone(jobs)
    assert all(not r.failure and len(r.documents) == 1 for r in got)
    assert len(runs) == 1  # the batch failed; then each alone (`render_files`)


def test_one_broken_member_keeps_its_own_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    good = {"ok/kustomization.yaml": "resources: [sa.yaml]\n", "ok/sa.yaml": ACCOUNT}
    other = {"ok2/kustomization.yaml": "namePrefix: x-\nresources: [sa.yaml]\n",
             "ok2/sa.yaml": ACCOUNT}
    broken = {"bad/kustomization.yaml": (
        "resources: [sa.yaml]\npatches:\n- target: {kind: Role}\n  patch: |-\n"
        "    - op: replace\n      path: /rules/9/verbs\n      value: ['*']\n"),
        "bad/sa.yaml": ACCOUNT.replace("runner", "bad") + "---\n" + ROLE}
    jobs = [_job("ok", good), _job("bad", broken), _job("ok2", other)]
    runs = _spy_runs(monkeypatch)
    got = render_batch(jobs, LIMITS)
    lone = _lone(jobs)
    assert got == lone
    assert lone[1].failure and lone[1].failure.startswith("kustomize build failed: ")
    assert "nhi-gate-render" not in (got[1].failure or "")
    assert not got[0].failure and not got[2].failure
    # the batch, then the member the error names alone, and the other two again as a batch
    assert len(runs) == 2


CAPTURED = {
    "a/kustomization.yaml": "resources: [deploy.yaml]\n",
    "a/deploy.yaml": DEPLOY.replace("serviceAccountName: runner", "serviceAccountName: x"),
}
CAPTOR = {"b/kustomization.yaml": (
    "resources: [sa.yaml]\nconfigMapGenerator:\n- name: settings\n  literals: [K=v]\n"),
    "b/sa.yaml": ACCOUNT.replace("runner", "other")}


def test_a_reference_another_member_could_capture_is_built_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = [_job("a", CAPTURED), _job("b", CAPTOR)]
    lone = _lone(jobs)
    deploy = lone[0].documents[0].text
    assert "name: settings\n" in deploy  # alone: no ConfigMap `settings`, name kept
    assert render_batch(jobs, LIMITS) == lone
    # without the check, kustomize resolves a's reference to b's generated ConfigMap
    monkeypatch.setattr(kustomize_batch, "_suspects", lambda done, jobs: set())
    captured = render_batch(jobs, LIMITS)[0].documents[0].text
    assert "name: settings-" in captured and captured != deploy


def test_output_cap_is_each_members_own() -> None:
    big = {"big/kustomization.yaml": "resources: [r.yaml]\n",
           "big/r.yaml": "".join(ACCOUNT.replace("runner", f"account-{i:03}") + "---\n"
                                 for i in range(60))}
    mid = {"mid/kustomization.yaml": "resources: [r.yaml]\n",
           "mid/r.yaml": "".join(ACCOUNT.replace("runner", f"mid-{i:03}") + "---\n"
                                 for i in range(12))}
    small = {"small/kustomization.yaml": "resources: [sa.yaml]\n", "small/sa.yaml": ACCOUNT}
    jobs = [_job("big", big), _job("mid", mid), _job("small", small)]
    limits = RenderLimits(20.0, 3000)
    lone = _lone(jobs, limits)
    assert lone[0].failure == "kustomize build failed: output over the 3000-byte budget"
    assert not lone[1].failure and not lone[2].failure
    assert render_batch(jobs, limits) == lone


def _shim(tmp_path: Path) -> Path:
    """A `kubectl` on PATH that logs each call, then runs the real one."""
    real = find_kustomize()
    assert real is not None
    log = tmp_path / "calls.log"
    shim = tmp_path / "bin" / Path(real[0]).name
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real[0]} "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    return log


def test_scan_builds_independent_kustomizations_in_one_process_per_batch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = _shim(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr("checker.commands.render_disk.workers", lambda: 2)
    repo = tmp_path / "repo"
    for n in range(6):
        for path, text in {
            f"app{n}/kustomization.yaml": f"namePrefix: p{n}-\nresources: [../base{n}]\n",
            f"base{n}/kustomization.yaml": "resources: [rbac.yaml]\n",
            f"base{n}/rbac.yaml": ACCOUNT + "---\n" + ROLE.replace("[get]", "['*']"),
        }.items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
    assert main(["scan", str(repo), "--format", "json"]) == 1
    found = json.loads(capsys.readouterr().out)["findings"]
    wild = sorted((f["path"], f["start_line"]) for f in found if f["rule_id"] == "NHI301")
    assert wild == [(f"base{n}/rbac.yaml", 8) for n in range(6)]
    assert len(log.read_text().splitlines()) == 2  # six overlays, two batches (two cores)


def test_check_builds_the_touched_overlays_in_batches(
        make_repo: Callable[..., GitRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """An agent widens a Role in a base three overlays use: the base and the overlays,
    at head and at base, are built in two processes (head's four in one, base's in the
    other: the same ids at both sides), not eight; the findings are those of lone builds."""
    log = _shim(tmp_path)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr("checker.commands.render_sources.workers", lambda: 2)
    repo = make_repo()
    base = repo.commit({
        "k8s/base/kustomization.yaml": "resources: [rbac.yaml]\n",
        "k8s/base/rbac.yaml": ACCOUNT + "---\n" + ROLE,
        **{f"k8s/o{n}/kustomization.yaml": f"namePrefix: o{n}-\nresources: [../base]\n"
           for n in range(3)}}, author=HUMAN)
    repo.checkout("ai/change", create=True)
    repo.commit({"k8s/base/rbac.yaml": ACCOUNT + "---\n" + ROLE.replace("[get]", "['*']")},
                author=AGENT, message="rbac")
    code, batched = check_findings(repo, base, capsys)
    runs = len(log.read_text().splitlines())
    log.unlink()
    monkeypatch.setattr(kustomize_batch, "plan",
                        lambda jobs, groups: [[i] for i in range(len(jobs))])
    assert check_findings(repo, base, capsys) == (code, batched)
    assert code == 1
    assert ("NHI301", "k8s/base/rbac.yaml", 8, True) in found_at(batched)
    assert ("NHI302", "k8s/base/rbac.yaml", 8, True) in found_at(batched)
    assert len(log.read_text().splitlines()) == 8  # alone: four kustomizations, two sides
    assert runs == 2
