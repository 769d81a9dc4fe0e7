"""Argo CD AppProject sync impersonation and source namespaces (issue 12, GitOps leftovers):
`spec.destinationServiceAccounts` says which service account a destination's applications are
synced with, `spec.sourceNamespaces` which namespaces' Applications may use the project. A
mapping to a kube-system account or to the account of that name in every namespace (`*`), and
a `*` source namespace, are admin-equivalent (NHI301) and, added to a project, a widening
(NHI302): an agent's change blocks, a person's does not, and the reverse is a narrowing note.
Real git repos in temp dirs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import GitRepo
from test_gitops import CLAUDE, change, check, nhi301, objects

from checker.cli import main

PERSON = ("Bob Person", "bob@example.com")

PROJECT = """\
apiVersion: argoproj.io/v1alpha1
kind: AppProject
metadata:
  name: team-a
  namespace: argocd
spec:
  sourceRepos:
  - https://github.com/acme/team-a
  destinations:
  - {{namespace: team-a, server: https://kubernetes.default.svc}}
  destinationServiceAccounts:
  - server: https://kubernetes.default.svc
    namespace: {namespace}
    defaultServiceAccount: {account}
{extra}"""


def project(account: str = "team-a-deployer", namespace: str = "team-a",
            extra: str = "") -> str:
    return PROJECT.format(account=account, namespace=namespace, extra=extra)


SOURCES = "  sourceNamespaces:\n  - {}\n"


def test_shapes_of_sync_accounts_and_source_namespaces() -> None:
    (proj,) = objects(project(extra=SOURCES.format("team-a-apps")), "argocd/project.yaml")
    assert [(g.action, g.resource, g.line) for g in proj.privileges] == [
        ("argocd:destination", "https://kubernetes.default.svc/team-a", 10),
        ("argocd:namespace-resource", "*/*", 6),
        ("argocd:source", "https://github.com/acme/team-a", 8),
        ("argocd:sync-as/team-a:team-a-deployer", "https://kubernetes.default.svc/team-a", 12),
        ("argocd:source-namespace", "team-a-apps", 16)]
    (named,) = objects(project("ops:deployer", "'*'"), "argocd/project.yaml")
    assert named.privileges[-1].action == "argocd:sync-as/ops:deployer"


@pytest.mark.parametrize(("text", "expected"), [
    (project(), ""),
    (project("kube-system:argocd-manager"),
     "argocd:sync-as/kube-system:argocd-manager on https://kubernetes.default.svc/team-a"),
    (project("argocd-manager", "kube-system"),
     "argocd:sync-as/kube-system:argocd-manager on https://kubernetes.default.svc/kube-system"),
    (project("deployer", "'*'"), "argocd:sync-as/*:deployer on https://kubernetes.default.svc/*"),
    (project("team-a:deployer", "'*'"), ""),
    (project(extra=SOURCES.format("'*'")), "argocd:source-namespace on *"),
    (project(extra=SOURCES.format("team-*")), ""),
])
def test_privileged_sync_accounts_and_any_source_namespace_are_admin_grants(
        text: str, expected: str) -> None:
    assert nhi301(text) == expected


#: case -> (base text, widened text, line of the widening); the reverse change narrows
CASES = {
    "sync-as-kube-system": (project(), project("kube-system:argocd-manager"), 14),
    "sync-as-every-namespace": (project(), project("deployer", "'*'"), 13),
    "source-namespace-any": (project(extra=SOURCES.format("team-a-apps")),
                             project(extra=SOURCES.format("'*'")), 16),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_agent_widening_sync_impersonation_blocks(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    before, after, line = CASES[case]
    repo, base, head = change(make_repo, "argocd/project.yaml", before, after, CLAUDE)
    code, found = check(repo, base, head, capsys)
    assert code == 1
    assert {("NHI302", line, "error", True), ("NHI301", line, "error", True)} <= found, found


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_person_widening_sync_impersonation_does_not_block(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    before, after, line = CASES[case]
    repo, base, head = change(make_repo, "argocd/project.yaml", before, after, PERSON)
    code, found = check(repo, base, head, capsys)
    assert ("NHI302", line, "error", False) in found, found
    assert not any(blocking for _, _, _, blocking in found), found
    assert code == 0


KUBE_SYSTEM = ("  - server: https://kubernetes.default.svc\n    namespace: kube-system\n"
               "    defaultServiceAccount: argocd-manager\n")
#: case -> (base text, narrowed text): an account or source namespace the base allowed is gone
NARROWINGS = {
    "sync-as-kube-system-removed": (project(extra=KUBE_SYSTEM), project()),
    "sync-as-one-namespace": (project("deployer", "'*'"), project("deployer", "team-a")),
    "source-namespace-any-removed": (project(extra=SOURCES.format("'*'")),
                                     project(extra=SOURCES.format("team-a-apps"))),
}


@pytest.mark.parametrize("case", sorted(NARROWINGS))
def test_an_agent_narrowing_sync_impersonation_gets_a_note(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    before, after = NARROWINGS[case]
    repo, base, head = change(make_repo, "argocd/project.yaml", before, after, CLAUDE)
    code, found = check(repo, base, head, capsys)
    assert code == 0, found
    assert {(rule, level) for rule, _, level, _ in found} == {("NHI302", "note")}, found


def test_an_agent_creating_a_project_open_to_every_namespace_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    head = repo.commit({"argocd/project.yaml": project(extra=SOURCES.format("'*'"))},
                       author=CLAUDE, trailers=[("Requested-by", "alice")])
    code, found = check(repo, base, head, capsys)
    assert code == 1
    assert {("NHI101", 1, "error", True), ("NHI301", 16, "error", True)} <= found, found


BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: deployer-admin
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: deployer, namespace: team-a}
"""


@pytest.mark.parametrize(("author", "blocks"), [(CLAUDE, True), (PERSON, False)])
def test_a_sync_account_the_change_binds_to_cluster_admin_is_an_admin_grant(
        author: tuple[str, str], blocks: bool, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"argocd/project.yaml": project()})
    repo.checkout("agent/change", create=True)
    head = repo.commit({"argocd/project.yaml": project("deployer"), "rbac/admin.yaml": BINDING},
                       author=author, trailers=[("Requested-by", "alice")])
    code, found = check(repo, base, head, capsys)
    assert ("NHI301", 14, "error", blocks) in found, found
    assert code == (1 if blocks else 0)
    main(["check", "--repo", str(repo.path), "--base", base, "--head", head, "--format", "json"])
    (admin,) = [f for f in json.loads(capsys.readouterr().out)["findings"]
                if f["rule_id"] == "NHI301" and f["path"] == "argocd/project.yaml"]
    assert "synced as team-a:deployer, which the repository binds to ClusterRole/cluster-admin" \
        in admin["message"]


def test_scan_names_a_sync_account_bound_to_cluster_admin(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "project.yaml").write_text(project("deployer"))
    (tmp_path / "binding.yaml").write_text(BINDING)
    main(["scan", str(tmp_path), "--format", "json"])
    found = [(f["path"], f["start_line"]) for f in json.loads(capsys.readouterr().out)["findings"]
             if f["rule_id"] == "NHI301"]
    assert ("project.yaml", 12) in found, found
    (tmp_path / "binding.yaml").write_text(BINDING.replace("name: deployer,", "name: other,"))
    main(["scan", str(tmp_path), "--format", "json"])
    found = [(f["path"], f["start_line"]) for f in json.loads(capsys.readouterr().out)["findings"]
             if f["rule_id"] == "NHI301"]
    assert ("project.yaml", 12) not in found, found
