"""GitOps and Kubernetes objects judged by meaning (issue 12, slice fixS, attacker re-check of
session 10): Argo CD AppProject deny lists and namespace allow list, a negated destination,
Flux sources, a Crossplane GCP condition in its list form, Config Connector conditions, Pod
Security Admission levels and ClusterRole aggregation labels. Real git repos: base by a
person, head by Claude (or a person); the reverse change is the narrowing twin."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings, found_at

from checker.cli import main

CLAUDE = ("Claude", "noreply@anthropic.com")

PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: team-a
  namespace: argocd
spec:
  sourceRepos: ["https://github.com/acme/team-a"]
  destinations:
  - server: https://kubernetes.default.svc
    namespace: {namespace}
{lists}"""
WILDCARD = """\
  clusterResourceWhitelist:
  - group: "*"
    kind: "*"
"""
BLACKLIST = """\
  clusterResourceBlacklist:
  - group: rbac.authorization.k8s.io
    kind: "*"
  - group: admissionregistration.k8s.io
    kind: "*"
"""
NS_BLACKLIST = """\
  namespaceResourceBlacklist:
  - group: ""
    kind: ResourceQuota
"""
NS_WHITELIST = """\
  namespaceResourceWhitelist:
  - group: apps
    kind: Deployment
  - group: ""
    kind: Service
"""


def project(lists: str, namespace: str = "team-a") -> str:
    return PROJECT.format(namespace=namespace, lists=lists)


_REPOS = itertools.count()


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            base: dict[str, str], head: dict[str, str], author: tuple[str, str] = CLAUDE
            ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo(f"repo{next(_REPOS)}")  # one test may build several repositories
    repo.commit({"README.md": "# app\n", **base}, author=HUMAN)
    repo.checkout("claude/change", create=True)
    repo.commit({**{p: None for p in base if p not in head}, **head}, author=author,
                message="chore: tidy config",
                trailers=[("Requested-by", "Alice Admin <alice@corp.example>")])
    return check_findings(repo, "main", capsys)


def _found(findings: list[dict[str, Any]]) -> set[tuple[str, int, str, bool]]:
    return {(f["rule_id"], f["start_line"], f["level"], f["blocking"]) for f in findings}


def _scan(tmp_path: Any, capsys: pytest.CaptureFixture[str], files: dict[str, str]
          ) -> list[dict[str, Any]]:  # fmt: skip
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    main(["scan", str(tmp_path), "--format", "json"])
    found: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["findings"]
    return found


# --------------------------------------------------------------------------- Argo CD


def test_a_wildcard_whitelist_whose_blacklist_refuses_rbac_is_not_admin(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    found = _scan(tmp_path, capsys, {"project.yaml": project(WILDCARD + BLACKLIST)})
    assert [f["rule_id"] for f in found if f["rule_id"] == "NHI301"] == []
    found = _scan(tmp_path, capsys, {"project.yaml": project(WILDCARD)})
    assert [(f["rule_id"], f["start_line"]) for f in found if f["rule_id"] == "NHI301"] == [
        ("NHI301", 12)]


def test_an_agent_removing_the_cluster_blacklist_blocks_naming_the_dropped_denies(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys,
                             {"project.yaml": project(WILDCARD + BLACKLIST + NS_BLACKLIST)},
                             {"project.yaml": project(WILDCARD + NS_BLACKLIST)})
    assert code == 1
    assert {(r, b) for r, _, _, b in _found(findings)} == {
        ("NHI101", True), ("NHI301", True), ("NHI302", True)}
    drift = next(f["message"] for f in findings if f["rule_id"] == "NHI302")
    assert "drops deny argocd:cluster-resource on rbac.authorization.k8s.io/*" in drift


def test_a_person_removing_the_cluster_blacklist_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {"project.yaml": project(WILDCARD + BLACKLIST)},
                             {"project.yaml": project(WILDCARD)}, author=HUMAN)
    assert code == 0
    assert not [f for f in findings if f["blocking"]]


def test_adding_a_cluster_blacklist_is_a_narrowing_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {"project.yaml": project(WILDCARD)},
                             {"project.yaml": project(WILDCARD + BLACKLIST)})
    assert code == 0
    assert _found(findings) == {("NHI302", 14, "note", False)}
    assert "now denies argocd:cluster-resource on admissionregistration.k8s.io/*" in (
        findings[0]["message"])


def test_removing_the_namespace_whitelist_blocks_an_agent_and_adding_it_narrows(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {"project.yaml": project(NS_WHITELIST)},
                             {"project.yaml": project("")})
    assert code == 1
    assert _found(findings) == {("NHI101", 1, "error", True), ("NHI302", 6, "error", True)}
    assert "gains argocd:namespace-resource on */*" in next(
        f["message"] for f in findings if f["rule_id"] == "NHI302")
    code, findings = _change(make_repo, capsys, {"project.yaml": project("")},
                             {"project.yaml": project(NS_WHITELIST)})
    assert code == 0
    assert _found(findings) == {("NHI302", 11, "note", False)}


def test_a_negated_destination_namespace_allows_every_other_namespace(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {"project.yaml": project("")},
                             {"project.yaml": project("", "'!team-b'")})
    assert code == 1
    assert ("NHI301", 10, "error", True) in _found(findings)
    assert "a negated namespace lets the project's applications deploy into every other" in (
        next(f["message"] for f in findings if f["rule_id"] == "NHI301"))
    code, findings = _change(make_repo, capsys, {"project.yaml": project("", "'!team-b'")},
                             {"project.yaml": project("")})
    assert code == 0
    assert _found(findings) == {("NHI302", 10, "note", False)}


# --------------------------------------------------------------------------- Flux sources

KUSTOMIZATION = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: platform
  namespace: flux-system
spec:
  interval: 10m
  serviceAccountName: platform-deployer
  targetNamespace: platform
  path: ./deploy
  prune: true
  sourceRef:
    kind: {kind}
    name: platform
"""
GIT = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: platform
  namespace: flux-system
spec:
  interval: {interval}
  url: https://github.com/acme/platform
  ref:
    {ref}
"""
OCI = """\
apiVersion: source.toolkit.fluxcd.io/v1beta2
kind: OCIRepository
metadata:
  name: platform
  namespace: flux-system
spec:
  interval: 5m
  url: oci://ghcr.io/{owner}/platform-manifests
  ref:
    {ref}
"""
HELM = """\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: prom
  namespace: flux-system
spec:
  interval: 1h
  url: {url}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: ksm
  namespace: monitoring
spec:
  interval: 10m
  serviceAccountName: monitoring-deployer
  targetNamespace: monitoring
  chart:
    spec:
      chart: kube-state-metrics
      version: 5.27.0
      sourceRef:
        kind: HelmRepository
        name: prom
        namespace: flux-system
"""
DIGEST = "digest: sha256:" + "3b1c7e9f" * 8
FLUX_CASES = [
    ({"source.yaml": GIT.format(interval="5m", ref="tag: v2.3.0"),
      "ks.yaml": KUSTOMIZATION.format(kind="GitRepository")},
     {"source.yaml": GIT.format(interval="5m", ref="branch: experimental"),
      "ks.yaml": KUSTOMIZATION.format(kind="GitRepository")},
     ("NHI106", 10), "GitRepository/flux-system/platform", "changed: spec.ref;"),
    ({"source.yaml": OCI.format(owner="acme", ref=DIGEST),
      "ks.yaml": KUSTOMIZATION.format(kind="OCIRepository")},
     {"source.yaml": OCI.format(owner="acme-contrib", ref="tag: latest"),
      "ks.yaml": KUSTOMIZATION.format(kind="OCIRepository")},
     ("NHI106", 8), "OCIRepository/flux-system/platform", "changed: spec.url, spec.ref;"),
    ({"ksm.yaml": HELM.format(url="https://prometheus-community.github.io/helm-charts")},
     {"ksm.yaml": HELM.format(url="https://charts.example-mirror.io/prom")},
     ("NHI106", 8), "HelmRepository/flux-system/prom", "changed: spec.url;"),
]


@pytest.mark.parametrize(("base", "head", "where", "address", "named"), FLUX_CASES)
def test_a_flux_source_change_fails_closed_for_an_agent_and_is_a_note_for_a_person(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        base: dict[str, str], head: dict[str, str], where: tuple[str, int], address: str,
        named: str) -> None:
    code, findings = _change(make_repo, capsys, base, head)
    assert code == 1
    assert _found(findings) == {(*where, "error", True)}
    assert findings[0]["address"] == address
    assert named in findings[0]["message"]
    code, findings = _change(make_repo, capsys, base, head, author=HUMAN)
    assert code == 0
    assert _found(findings) == {(*where, "note", False)}


def test_a_flux_source_change_that_fetches_the_same_thing_is_nothing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    ks = KUSTOMIZATION.format(kind="GitRepository")
    code, findings = _change(
        make_repo, capsys, {"source.yaml": GIT.format(interval="5m", ref="tag: v2.3.0"),
                            "ks.yaml": ks},
        {"source.yaml": GIT.format(interval="1m", ref="tag: v2.3.0"), "ks.yaml": ks})
    assert (code, findings) == (0, [])


# --------------------------------------------------------------------------- GCP conditions

XP_MEMBER = """\
apiVersion: cloudplatform.gcp.upbound.io/v1beta1
kind: ProjectIAMMember
metadata:
  name: ci-storage
  labels: {owner: team-data, ticket: DATA-12, expires: "2027-01-31"}
spec:
  forProvider:
    project: acme-prod
    member: serviceAccount:ci@acme-prod.iam.gserviceaccount.com
    role: roles/storage.admin
"""
XP_CONDITION = """\
    condition:
    - title: only-ci-cache
      expression: resource.name.startsWith("projects/_/buckets/ci-cache")
"""
KCC_MEMBER = """\
apiVersion: iam.cnrm.cloud.google.com/v1beta1
kind: IAMPolicyMember
metadata:
  name: ci-storage
  namespace: config-control
  labels: {owner: team-data, ticket: DATA-12, expires: "2027-01-31"}
spec:
  member: serviceAccount:ci@acme-prod.iam.gserviceaccount.com
  role: roles/storage.admin
  resourceRef:
    kind: Project
    external: projects/acme-prod
"""
KCC_CONDITION = """\
  condition:
    title: only-ci-cache
    expression: resource.name.startsWith("projects/_/buckets/ci-cache")
"""


def test_a_crossplane_condition_in_list_form_removed_is_a_widening(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {"iam.yaml": XP_MEMBER + XP_CONDITION},
                             {"iam.yaml": XP_MEMBER})
    assert code == 1
    assert ("NHI302", 10, "error", True) in _found(findings)
    assert "(condition only-ci-cache removed)" in next(
        f["message"] for f in findings if f["rule_id"] == "NHI302")


@pytest.mark.parametrize(("member", "condition", "line"), [
    (XP_MEMBER, XP_CONDITION, 11), (KCC_MEMBER, KCC_CONDITION, 10)])
def test_adding_a_condition_to_a_gcp_member_resource_is_a_narrowing_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], member: str,
        condition: str, line: int) -> None:
    head = (member + condition if member is XP_MEMBER else
            member.replace("  resourceRef:", condition + "  resourceRef:"))
    code, findings = _change(make_repo, capsys, {"iam.yaml": member}, {"iam.yaml": head})
    assert code == 0
    assert _found(findings) == {("NHI302", line, "note", False)}


# --------------------------------------------------------------------------- admission, RBAC

NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: apps
  labels:
{labels}"""
RESTRICTED = "    pod-security.kubernetes.io/enforce: restricted\n"


@pytest.mark.parametrize(("base", "head", "expected", "named"), [
    (RESTRICTED, "    team: apps\n", {("NHI302", 1, "error", True)},
     "Pod Security level `restricted` no longer enforced"),
    (RESTRICTED, RESTRICTED.replace("restricted", "baseline"), {("NHI302", 6, "error", True)},
     "Pod Security level `restricted` -> `baseline`"),
    (RESTRICTED.replace("restricted", "baseline"), RESTRICTED,
     {("NHI302", 6, "note", False)}, "tightened"),
    ("    team: apps\n", RESTRICTED, set(), ""),
])
def test_a_pod_security_level_lowered_or_removed_weakens_admission(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], base: str,
        head: str, expected: set[tuple[str, int, str, bool]], named: str) -> None:
    code, findings = _change(make_repo, capsys, {"ns.yaml": NAMESPACE.format(labels=base)},
                             {"ns.yaml": NAMESPACE.format(labels=head)})
    assert (code, _found(findings)) == (1 if any(e[3] for e in expected) else 0, expected)
    assert all(named in f["message"] for f in findings)


def test_a_person_removing_a_pod_security_level_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {"ns.yaml": NAMESPACE.format(labels=RESTRICTED)},
                             {"ns.yaml": NAMESPACE.format(labels="    team: apps\n")},
                             author=HUMAN)
    assert (code, _found(findings)) == (0, {("NHI302", 1, "note", False)})


CLUSTER_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: secrets-reader
  labels:
    team: platform
{label}rules:
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list"]
"""
AGGREGATE = '    rbac.authorization.k8s.io/aggregate-to-view: "true"\n'


def test_removing_an_aggregation_label_is_a_narrowing_note_and_adding_it_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {"rbac.yaml": CLUSTER_ROLE.format(label=AGGREGATE)},
                             {"rbac.yaml": CLUSTER_ROLE.format(label="")})
    assert (code, _found(findings)) == (0, {("NHI302", 1, "note", False)})
    assert "no longer binds holders of ClusterRole/view (aggregate-to-view)" in (
        findings[0]["message"])
    code, findings = _change(make_repo, capsys, {"rbac.yaml": CLUSTER_ROLE.format(label="")},
                             {"rbac.yaml": CLUSTER_ROLE.format(label=AGGREGATE)})
    assert code == 1
    assert {r for r, _, _, b in _found(findings) if b} == {"NHI101", "NHI301"}


def test_a_flux_source_moved_into_another_file_with_a_new_ref_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    ks = KUSTOMIZATION.format(kind="GitRepository")
    code, findings = _change(
        make_repo, capsys, {"source.yaml": GIT.format(interval="5m", ref="tag: v2.3.0"),
                            "ks.yaml": ks},
        {"ks.yaml": GIT.format(interval="5m", ref="branch: experimental") + "---\n" + ks})
    assert code == 1
    assert found_at(findings) == {("NHI106", "ks.yaml", 9, True)}
