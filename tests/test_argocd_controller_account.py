"""Argo CD's application controller account as an AppProject's sync account (attacker re-check,
session 9: `nar-argo-proj-dsa`, `argo-proj-dsa`). Without impersonation Argo CD syncs with its
application controller's account, bound to a ClusterRole of every verb on every resource, so a
destination synced as `argocd:argocd-application-controller` is admin-equivalent (NHI301) and
covers syncing it as any other account: switching from it to a namespace's own account is a
narrowing note, never a block; the reverse blocks an agent. Real git repos in temp dirs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import GitRepo
from test_argocd_impersonation import PERSON, project
from test_gitops import CLAUDE, change, check, nhi301

from checker.policy.roles import role_covers

CONTROLLER = "argocd:argocd-application-controller"


def test_the_controller_account_is_an_admin_grant_and_covers_every_sync_account() -> None:
    assert nhi301(project(CONTROLLER)) == (
        f"argocd:sync-as/{CONTROLLER} on https://kubernetes.default.svc/team-a")
    assert role_covers("kubernetes", f"argocd:sync-as/{CONTROLLER}",
                       "argocd:sync-as/team-a:deployer")
    assert not role_covers("kubernetes", "argocd:sync-as/team-a:deployer",
                           f"argocd:sync-as/{CONTROLLER}")
    assert not role_covers("kubernetes", f"argocd:sync-as/{CONTROLLER}",
                           "argocd:destination")


@pytest.mark.parametrize("author", [CLAUDE, PERSON])
def test_leaving_the_controller_account_for_a_namespace_account_is_a_note(
        author: tuple[str, str], make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = change(make_repo, "argocd/project.yaml", project(CONTROLLER),
                              project("team-a-deployer"), author)
    code, found = check(repo, base, head, capsys)
    assert (code, found) == (0, {("NHI302", 14, "note", False)})


def test_an_agent_switching_to_the_controller_account_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = change(make_repo, "argocd/project.yaml", project("team-a-deployer"),
                              project(CONTROLLER), CLAUDE)
    code, found = check(repo, base, head, capsys)
    assert code == 1
    assert {("NHI101", 14, "error", True), ("NHI301", 14, "error", True),
            ("NHI302", 14, "error", True)} <= found, found
