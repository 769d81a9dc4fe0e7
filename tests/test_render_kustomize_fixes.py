"""kustomize rendering in `check`: what a change touches (an object that renders the same at
base and head is not touched), which kustomizations are judged (every one whose closure the
change touches, not only the leaves), and the renders a scan skips. Real temp git repos, the
real `kubectl kustomize` (or `kustomize`), `nhi-gate check` through `cli.main`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import HUMAN, GitRepo
from conftest import check_findings as _check

from checker.cli import main
from checker.model import IdentityObject, SourceFile
from checker.parsers import kubernetes
from checker.parsers.rendered import INPUT, combined, rendered_objects
from checker.policy.catalogue import load_catalogue
from checker.sources.render import render_files
from checker.sources.render.api import RenderLimits
from checker.sources.render.kustomize import find_kustomize, listed_files

pytestmark = pytest.mark.skipif(
    find_kustomize() is None, reason="neither kustomize nor kubectl is installed")

AGENT = ("Claude", "noreply@anthropic.com")
SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: app-secret
  labels: {app: x}
type: Opaque
"""
TOKEN = """\
apiVersion: v1
kind: Secret
metadata: {name: app-token}
type: Opaque
data: {token: c2VjcmV0}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: false
      containers: [{name: c, image: "redis:8.10.0"}]
"""


@pytest.mark.parametrize("overlay", [False, True])
def test_unrelated_image_bump_does_not_touch_a_rendered_secret(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        overlay: bool) -> None:
    repo = make_repo()
    files = {"base/kustomization.yaml": "resources: [s.yaml, t.yaml, d.yaml]\n",
             "base/s.yaml": SECRET, "base/t.yaml": TOKEN, "base/d.yaml": DEPLOYMENT}
    if overlay:
        files["ov/kustomization.yaml"] = "resources: [../base]\nnamePrefix: prod-\n"
    base = repo.commit(files, author=HUMAN)
    repo.checkout("ai/bump", create=True)
    repo.commit({"base/d.yaml": DEPLOYMENT.replace("8.10.0", "8.10.1")}, author=AGENT,
                trailers=[("Requested-by", "Alice Example <alice@example.com>")])
    code, findings = _check(repo, base, capsys)
    assert code == 0
    assert [(f["rule_id"], f["address"]) for f in findings] == []


RBAC = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: app
  annotations: {owner: team-a, ticket: OPS-1}
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: app
  annotations: {owner: team-a, ticket: OPS-1}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: app}
subjects: [{kind: ServiceAccount, name: app, namespace: default}]
"""
CI_K = """\
resources: [../overlays/prod]
patches:
- target: {kind: ClusterRole, name: app}
  patch: |-
    - op: replace
      path: /rules
      value: [{apiGroups: [""], resources: [pods], verbs: [get]}]
"""
WIDEN = """\
resources: [../../base]
patches:
- target: {kind: ClusterRole, name: app}
  patch: |-
    - op: replace
      path: /rules/0/verbs/0
      value: "*"
"""


def test_an_overlay_another_kustomization_uses_is_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"base/kustomization.yaml": "resources: [rbac.yaml]\n",
                        "base/rbac.yaml": RBAC,
                        "overlays/prod/kustomization.yaml": "resources: [../../base]\n",
                        "ci/kustomization.yaml": CI_K}, author=HUMAN)
    repo.checkout("ai/widen", create=True)
    repo.commit({"overlays/prod/kustomization.yaml": WIDEN}, author=AGENT,
                trailers=[("Requested-by", "Alice Example <alice@example.com>")])
    code, findings = _check(repo, base, capsys)
    assert code == 1
    blocking = {(f["rule_id"], f["address"], f["path"], f["start_line"])
                for f in findings if f["blocking"]}
    owner = "overlays/prod/kustomization.yaml"
    # the `- op: replace` line (5) of the inline patch; the ci overlay resets it (not judged
    # by the leaf alone), base's own render is its plain objects (collapsed, nothing new)
    assert ("NHI301", f"{owner}:ClusterRole/app", owner, 5) in blocking
    assert {a for _, a, _, _ in blocking} == {f"{owner}:ClusterRole/app"}


COMPONENT = """\
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
- path: p.yaml
"""
CM_PATCH = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {level: "%s"}
"""


def test_a_component_that_builds_only_within_its_users_is_no_nhi107(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({
        "app/kustomization.yaml": "resources: [cm.yaml, rbac.yaml]\ncomponents: [../comp]\n",
        "app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n",
        "app/rbac.yaml": RBAC,
        "comp/kustomization.yaml": COMPONENT, "comp/p.yaml": CM_PATCH % "1"}, author=HUMAN)
    repo.checkout("ai/comp", create=True)
    repo.commit({"comp/p.yaml": CM_PATCH % "2"}, author=AGENT,
                trailers=[("Requested-by", "Alice Example <alice@example.com>")])
    code, findings = _check(repo, base, capsys)
    # `kubectl kustomize comp` alone fails (no resource matches the patch); app renders
    assert (code, [f["rule_id"] for f in findings]) == (0, [])


LISTED = {"app/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\n"
                                    "kind: Kustomization\nresources: [rbac.yaml, d.yaml]\n",
          "app/rbac.yaml": RBAC, "app/d.yaml": DEPLOYMENT}


def test_a_listing_kustomization_renders_exactly_its_plain_files(tmp_path: Path) -> None:
    """The proof behind skipping it in `scan`: every object of its real render is one of the
    plain files' objects (`combined` collapses all of them), and `listed_files` names them."""
    for path, text in LISTED.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    catalogue = load_catalogue()
    paths = set(LISTED)

    def read(path: str) -> bytes | None:
        return (tmp_path / path).read_bytes()

    assert listed_files("app", paths, read) == ["app/rbac.yaml", "app/d.yaml"]
    out = render_files("app", {p: read(p) or b"" for p in paths}, RenderLimits())
    assert out.failure is None and len(out.documents) == 3
    rendered, bad = rendered_objects(out.documents, out.owner, catalogue)
    plain = [o for p in ("app/rbac.yaml", "app/d.yaml")
             for o in kubernetes.parse(SourceFile(p, read(p) or b"", None), catalogue).objects]
    assert bad == [] and len(rendered) == len(plain) == 3
    # identities with a digest (the RBAC pair, and the Deployment's workload facet, whose
    # digest is the whole object's) collapse into the plain ones ...
    assert combined(plain, rendered, frozenset()) == plain
    # ... and each one, the Deployment too, is its plain twin under the kustomization's name
    # (the `kind:` line aside: kustomize writes it first, so it is placed on the object line)
    def unrendered(obj: IdentityObject) -> IdentityObject:
        def bare(name: str | None) -> str | None:
            return name.removeprefix("app/kustomization.yaml:") if name else name
        return replace(obj, address=bare(obj.address) or "", rendered_by="",
                       derived_from=bare(obj.derived_from),
                       references=tuple(bare(r) or "" for r in obj.references),
                       inputs=tuple(i for i in obj.inputs if i[0] != INPUT),
                       attribute_lines={k: v for k, v in obj.attribute_lines.items()
                                        if k != "kind"})
    assert [unrendered(o) for o in rendered] == [unrendered(o) for o in plain]


@pytest.mark.parametrize("extra", [
    "namespace: x\n", "namePrefix: p-\n", "labels: [{pairs: {a: b}}]\n",
    "commonLabels: {a: b}\n", "patches: [{path: d.yaml}]\n", "components: [../c]\n",
    "configMapGenerator: [{name: c, literals: [a=b]}]\n", "images: [{name: redis}]\n",
    "transformers: [t.yaml]\n", "replacements: [{path: r.yaml}]\n", "resources: [../base]\n",
    "resources: [https://example.com/x.yaml]\n", "resources: [missing.yaml]\n",
    "kind: Component\n",
])
def test_anything_but_local_files_is_rendered(extra: str) -> None:
    text = ("resources: [rbac.yaml]\n" + extra) if not extra.startswith("resources") else extra
    files = {"app/kustomization.yaml": text, "app/rbac.yaml": RBAC,
             "base/kustomization.yaml": "resources: []\n"}
    assert listed_files("app", set(files), lambda p: files[p].encode()) is None


def test_scan_runs_no_renderer_for_a_listing_kustomization(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    admin = {**LISTED, "app/rbac.yaml": RBAC.replace("ClusterRole, name: app", "ClusterRole, "
                                                      "name: cluster-admin")}
    for path, text in admin.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    monkeypatch.setenv("PATH", str(tools))  # git only: no kustomize, no kubectl
    main(["scan", str(tmp_path), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    # the plain files are judged; no NHI107 "kustomize not installed" for what renders as is
    assert "NHI107" not in {f["rule_id"] for f in findings}
    assert ("NHI301", "app/rbac.yaml", 16, "ClusterRoleBinding/app") in {
        (f["rule_id"], f["path"], f["start_line"], f["address"]) for f in findings}
