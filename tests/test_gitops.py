"""GitOps objects that grant access (Argo CD RBAC ConfigMap, AppProject, Application and
ApplicationSet; Flux Kustomization and HelmRelease): parser shapes, NHI301, and NHI101/NHI302
on real git repositories (an agent widens: blocks; a person's same change: no block; a
narrowing: a note)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.model import IdentityObject, SourceFile
from checker.pipeline import parse_sources
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config
from checker.policy.privileges import admin_grants, load_admin_table
from checker.sources.prefilter import build_tokens, may_define_identity

CLAUDE = ("Claude", "noreply@anthropic.com")


def objects(text: str, path: str = "argocd/rbac.yaml") -> list[IdentityObject]:
    parsed = parse_sources([SourceFile(path, text.encode())], load_catalogue(), Config())
    assert not parsed.problems, parsed.problems
    return [o for o in parsed.objects if o.derived_from is None]


def rbac_cm(csv: str, default: str = "role:readonly") -> str:
    body = "".join(f"    {line}\n" for line in csv.splitlines())
    return ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-rbac-cm\n"
            f"  namespace: argocd\ndata:\n  policy.default: {default}\n"
            f"  policy.csv: |\n{body}")


TEAM = ("p, role:team, applications, sync, team-a/*, allow\n"
        "g, my-org:team-alpha, role:team")


def project(destinations: str = "  - {namespace: team-a, server: https://kubernetes.default.svc}\n",
            whitelist: str = "", roles: str = "") -> str:
    return ("apiVersion: argoproj.io/v1alpha1\nkind: AppProject\nmetadata:\n  name: team-a\n"
            "  namespace: argocd\nspec:\n  sourceRepos:\n  - https://github.com/acme/team-a\n"
            f"  destinations:\n{destinations}{whitelist}{roles}")


def application(project_name: str = "team-a", namespace: str = "team-a",
                kind: str = "Application") -> str:
    spec = (f"  project: {project_name}\n  source:\n    repoURL: https://github.com/acme/team-a\n"
            f"    path: deploy\n  destination:\n    server: https://kubernetes.default.svc\n"
            f"    namespace: {namespace}\n")
    if kind == "ApplicationSet":
        spec = "  generators: [{list: {elements: []}}]\n  template:\n    spec:\n" + "".join(
            f"    {line}\n" for line in spec.splitlines())
    return (f"apiVersion: argoproj.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: guestbook\n"
            f"  namespace: argocd\nspec:\n{spec}")


def flux(account: str | None = "team-a", target: str | None = "team-a",
         kind: str = "Kustomization") -> str:
    api = ("kustomize.toolkit.fluxcd.io/v1" if kind == "Kustomization"
           else "helm.toolkit.fluxcd.io/v2")
    lines = [f"apiVersion: {api}", f"kind: {kind}", "metadata:", "  name: apps",
             "  namespace: team-a", "spec:", "  interval: 10m"]
    if account:
        lines.append(f"  serviceAccountName: {account}")
    if target:
        lines.append(f"  targetNamespace: {target}")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- shapes


def test_argocd_rbac_lines_become_grants_with_members_inheriting_their_role() -> None:
    (obj,) = objects(rbac_cm(TEAM + "\np, role:ops, *, *, */*, allow\ng, alice, role:ops\n"
                             "p, bob, clusters, get, *, deny"))
    assert (obj.address, obj.kind, obj.type) == (
        "ConfigMap/argocd/argocd-rbac-cm", "policy", "ConfigMap:argocd-rbac-cm")
    assert [(g.action, g.resource, g.effect, g.line) for g in obj.privileges] == [
        ("argocd:applications/sync", "team-a/* for role:team", "allow", 9),
        ("argocd:*/*", "*/* for role:ops", "allow", 11),
        ("argocd:clusters/get", "* for bob", "deny", 13),
        ("argocd:role:team", "member my-org:team-alpha", "allow", 10),
        ("argocd:applications/sync", "team-a/* for my-org:team-alpha", "allow", 10),
        ("argocd:role:ops", "member alice", "allow", 12),
        ("argocd:*/*", "*/* for alice", "allow", 12),
        ("argocd:role:readonly", "member (every authenticated user)", "allow", 7),
    ]


def test_only_the_named_configmap_with_policy_is_an_identity_and_the_prefilter_keeps_it() -> None:
    other = rbac_cm(TEAM).replace("argocd-rbac-cm", "argocd-cm")
    assert objects(other) == []
    empty = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-rbac-cm\n"
             "data:\n  scopes: '[groups]'\n")
    assert objects(empty) == []
    tokens = build_tokens(load_catalogue())
    assert may_define_identity("kubernetes", rbac_cm(TEAM).encode(), tokens, 1 << 20)
    plain = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: b\n"
    assert not may_define_identity("kubernetes", plain.encode(), tokens, 1 << 20)


def nhi301(text: str) -> str:
    parsed = objects(text)
    out = []
    for obj in parsed:
        out.extend(f"{a.grant.action} on {a.grant.resource}"
                   for a in admin_grants(obj, load_admin_table()))
    return "; ".join(out)


@pytest.mark.parametrize(("text", "expected"), [
    (rbac_cm(TEAM), ""),
    (rbac_cm(TEAM, default="role:admin"),
     "argocd:role:admin on member (every authenticated user)"),
    (rbac_cm("g, my-org:ops, role:admin"), "argocd:role:admin on member my-org:ops"),
    (rbac_cm("p, role:ci, applications, *, */*, allow"),
     "argocd:applications/* on */* for role:ci"),
    (rbac_cm("p, role:ci, applications, *, team-a/*, allow"), ""),
    (rbac_cm("p, role:ci, clusters, *, *, allow"), "argocd:clusters/* on * for role:ci"),
    (rbac_cm("p, role:ro, *, get, */*, allow"), ""),
    (rbac_cm("p, role:ci, applications, .*, .*/.*, allow").replace(
        "data:\n", "data:\n  policy.matchMode: regex\n"),
     "argocd:applications/* on */* for role:ci"),
    (rbac_cm("p, role:ci, applications, .*, .*/.*, allow"), ""),
    (project(), ""),
    (project("  - {namespace: '*', server: '*'}\n"), "argocd:destination on */*"),
    (project(whitelist="  clusterResourceWhitelist:\n  - {group: '*', kind: '*'}\n"),
     "argocd:cluster-resource on */*"),
    (project(whitelist="  clusterResourceWhitelist:\n  - {group: '', kind: Namespace}\n"), ""),
    (application(), ""),
    (application(namespace="kube-system"),
     "argocd:project/team-a on https://kubernetes.default.svc/kube-system"),
    (flux(), ""),
    (flux(account=None), "flux:apply-as/controller on team-a"),
    (flux(account="kustomize-controller").replace("namespace: team-a", "namespace: flux-system"),
     "flux:apply-as/ServiceAccount/flux-system/kustomize-controller on team-a"),
])
def test_admin_and_escalation_grants_of_gitops_objects(text: str, expected: str) -> None:
    assert nhi301(text) == expected


def test_project_roles_application_set_and_helm_release_shapes() -> None:
    roles = ("  roles:\n  - name: ci\n    policies:\n"
             "    - p, proj:team-a:ci, applications, sync, team-a/*, allow\n"
             "    groups: [my-org:ci]\n")
    (proj,) = objects(project(roles=roles))
    assert [(g.action, g.resource) for g in proj.privileges] == [
        ("argocd:destination", "https://kubernetes.default.svc/team-a"),
        ("argocd:namespace-resource", "*/*"),
        ("argocd:source", "https://github.com/acme/team-a"),
        ("argocd:applications/sync", "team-a/* for proj:team-a:ci"),
        ("argocd:proj:team-a:ci", "member my-org:ci"),
        ("argocd:applications/sync", "team-a/* for my-org:ci"),
    ]
    (tokens,) = objects(project(roles=ROLE + "    - {iat: 1700000000, exp: 1800000000}\n"))
    assert [(g.resource, g.line) for g in tokens.privileges
            if g.action == "argocd:jwt-token"] == [
        ("proj:team-a:ci id=ci-1 iat=1600000000 exp=never", 16),
        ("proj:team-a:ci iat=1700000000 exp=1800000000", 17)]
    (appset,) = objects(application(kind="ApplicationSet"))
    assert [(g.action, g.resource) for g in appset.privileges] == [
        ("argocd:project/team-a", "https://kubernetes.default.svc/team-a")]
    (release,) = objects(flux(kind="HelmRelease", target=None))
    assert (release.type, [(g.action, g.resource, g.line) for g in release.privileges]) == (
        "helm.toolkit.fluxcd.io/HelmRelease",
        [("flux:apply-as/ServiceAccount/team-a/team-a", "*", 8)])


def test_a_kustomize_kustomization_is_no_flux_object() -> None:
    text = ("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            "resources: [a.yaml]\n")
    assert objects(text, "kustomization.yaml") == []


def test_inventory_lists_gitops_objects(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.yaml").write_text("---\n".join([rbac_cm(TEAM), project(), application(),
                                                    flux()]))
    assert main(["inventory", str(tmp_path), "--format", "json"]) == 0
    found = {(i["address"], i["kind"]) for i in json.loads(capsys.readouterr().out)["identities"]}
    assert found == {("ConfigMap/argocd/argocd-rbac-cm", "policy"),
                     ("AppProject/argocd/team-a", "policy"),
                     ("Application/argocd/guestbook", "role_binding"),
                     ("Kustomization/team-a/apps", "role_binding")}


# ----------------------------------------------------------------------------- changes


def check(repo: GitRepo, base: str, head: str,
          capsys: pytest.CaptureFixture[str]) -> tuple[int, set[tuple[str, int, str, bool]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    findings: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["findings"]
    return code, {(f["rule_id"], f["start_line"], f["level"], f["blocking"]) for f in findings
                  if f["rule_id"] not in ("NHI103", "NHI201", "NHI202", "NHI203")}


def change(make_repo: Callable[..., GitRepo], path: str, before: str, after: str,
           author: tuple[str, str]) -> tuple[GitRepo, str, str]:
    repo = make_repo()
    base = repo.commit({path: before}, author=HUMAN)
    repo.checkout("agent/change", create=True)
    head = repo.commit({path: after}, author=author, message="widen",
                       trailers=[("Requested-by", "alice")])
    return repo, base, head


ROLE = ("  roles:\n  - name: ci\n    policies:\n"
        "    - p, proj:team-a:ci, applications, sync, team-a/*, allow\n"
        "    jwtTokens:\n    - {iat: 1600000000, id: ci-1}\n")

#: (file, base text, widened text, narrowed text, line of the widening in the widened text)
CASES = {
    "rbac-admin-member": ("argocd/rbac.yaml", rbac_cm(TEAM),
                          rbac_cm(TEAM + "\ng, my-org:contractors, role:admin"),
                          rbac_cm("p, role:team, applications, sync, team-a/*, allow"), 11),
    "rbac-default-admin": ("argocd/rbac.yaml", rbac_cm(TEAM), rbac_cm(TEAM, "role:admin"),
                           rbac_cm(TEAM, "''"), 7),
    "project-whitelist": ("argocd/project.yaml", project(),
                          project(whitelist="  clusterResourceWhitelist:\n"
                                            "  - {group: '*', kind: '*'}\n"),
                          project(destinations="    []\n"), 12),
    "project-jwt-token": ("argocd/project.yaml", project(roles=ROLE),
                          project(roles=ROLE + "    - {iat: 1700000000, id: ci-2}\n"),
                          project(roles=ROLE.replace("    - {iat: 1600000000, id: ci-1}\n",
                                                     "")), 17),
    "project-destination": ("argocd/project.yaml", project(),
                            project("  - {namespace: '*', server: '*'}\n"),
                            project(destinations="    []\n"), 10),
    "application-project": ("argocd/app.yaml", application(), application("default"),
                            application(project_name="team-b-readonly"), 7),
    "application-kube-system": ("argocd/app.yaml", application("default"),
                                application("default", "kube-system"),
                                application("team-a"), 13),
    "applicationset-project": ("argocd/appset.yaml", application(kind="ApplicationSet"),
                               application("default", kind="ApplicationSet"),
                               application("team-b", kind="ApplicationSet"), 10),
    "flux-kustomization-sa": ("flux/apps.yaml", flux(account=None), flux(account=None,
                                                                          target=None),
                              flux(), 6),
    "flux-sa-removed": ("flux/apps.yaml", flux(), flux(account=None), flux(target="team-a"),
                        6),
    "helmrelease-sa-removed": ("flux/release.yaml", flux(kind="HelmRelease"),
                               flux(account=None, kind="HelmRelease"),
                               flux(account="team-a", kind="HelmRelease"), 6),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_agent_widening_a_gitops_grant_blocks_with_nhi302(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    path, before, after, _, line = CASES[case]
    repo, base, head = change(make_repo, path, before, after, CLAUDE)
    code, found = check(repo, base, head, capsys)
    assert code == 1
    assert ("NHI302", line, "error", True) in found, found


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_person_widening_a_gitops_grant_does_not_block(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    path, before, after, _, line = CASES[case]
    repo, base, head = change(make_repo, path, before, after, ("Bob Person", "bob@example.com"))
    code, found = check(repo, base, head, capsys)
    assert ("NHI302", line, "error", False) in found, found
    assert not any(blocking for _, _, _, blocking in found)
    assert code == 0


NARROWED = {"rbac-admin-member", "project-jwt-token", "rbac-default-admin", "project-whitelist",
            "project-destination", "application-kube-system", "flux-kustomization-sa"}


@pytest.mark.parametrize("case", sorted(NARROWED))
def test_an_agent_narrowing_a_gitops_grant_gets_a_note(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    path, before, _, narrowed, _ = CASES[case]
    repo, base, head = change(make_repo, path, before, narrowed, CLAUDE)
    code, found = check(repo, base, head, capsys)
    assert code == 0, found
    assert {(rule, level) for rule, _, level, _ in found} == {("NHI302", "note")}, found


def test_an_agent_creating_an_admin_project_blocks_with_nhi101_and_nhi301(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"}, author=HUMAN)
    head = repo.commit({"argocd/project.yaml": project("  - {namespace: '*', server: '*'}\n")},
                       author=CLAUDE, trailers=[("Requested-by", "alice")])
    code, found = check(repo, base, head, capsys)
    assert code == 1
    assert {("NHI101", 1, "error", True), ("NHI301", 10, "error", True)} <= found, found
