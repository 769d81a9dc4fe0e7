"""Swapping a role for a narrower one is a narrowing (DESIGN.md "narrowing never blocks"): when
the base grant covers everything the head grant can do (an admin/full-access built-in role on the
same or a wider scope), an agent's swap is a non-blocking note; the reverse swap still blocks.
A problem the base already had on an identity the change narrowed is a note, not a block."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

from checker.cli import main
from checker.policy.roles import role_covers

CLAUDE = ("Claude", "noreply@anthropic.com")
HEADER = "# nhi-gate: owner=team-ci ticket=OPS-1 expires=2027-01-01\n"

AWS = HEADER + """\
resource "aws_iam_role_policy_attachment" "ci" {
  role       = "ci"
  policy_arn = "arn:aws:iam::aws:policy/ROLE"
}
"""
AZURE = HEADER + """\
resource "azurerm_role_assignment" "ci" {
  scope                = "/subscriptions/0000/resourceGroups/rg"
  role_definition_name = "ROLE"
  principal_id         = "11111111-2222-3333-4444-555555555555"
}
"""
GCP = HEADER + """\
resource "google_project_iam_member" "ci" {
  project = "my-project"
  role    = "ROLE"
  member  = "serviceAccount:ci@my-project.iam.gserviceaccount.com"
}
"""
K8S = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ci
  annotations:
    nhi-gate/owner: team-ci
    nhi-gate/ticket: OPS-1
    nhi-gate/expires: "2027-01-01"
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: ROLE
subjects:
  - kind: ServiceAccount
    name: ci
    namespace: ci
"""

CASES = {
    "aws": ("infra/iam.tf", AWS, "AdministratorAccess", "ReadOnlyAccess"),
    "azure": ("infra/iam.tf", AZURE, "Owner", "Reader"),
    "azure-contributor": ("infra/iam.tf", AZURE, "Contributor", "Reader"),
    "gcp-editor": ("infra/iam.tf", GCP, "roles/editor", "roles/storage.objectViewer"),
    "gcp-owner": ("infra/iam.tf", GCP, "roles/owner", "roles/storage.objectViewer"),
    "k8s": ("k8s/binding.yaml", K8S, "cluster-admin", "view"),
}


def _swap(make_repo: Callable[..., GitRepo], capsys: Any, case: str, reverse: bool
          ) -> tuple[int, list[tuple[str, str, bool]]]:
    path, text, wide, narrow = CASES[case]
    old, new = (narrow, wide) if reverse else (wide, narrow)
    repo = make_repo()
    base = repo.commit({path: text.replace("ROLE", old)}, author=HUMAN)
    repo.commit({path: text.replace("ROLE", new)}, author=CLAUDE)
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["level"], f["blocking"]) for f in report["findings"]
                  if f["rule_id"] != "NHI103"]  # no requester trailer: a warning, not judged here


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_agent_swapping_a_role_for_a_narrower_one_gets_a_note(
        make_repo: Callable[..., GitRepo], capsys: Any, case: str) -> None:
    code, found = _swap(make_repo, capsys, case, reverse=False)
    assert (code, found) == (0, [("NHI302", "note", False)])


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_agent_swapping_a_role_for_a_wider_one_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any, case: str) -> None:
    code, found = _swap(make_repo, capsys, case, reverse=True)
    assert code == 1
    assert ("NHI302", "error", True) in found and ("NHI101", "error", True) in found


@pytest.mark.parametrize(("platform", "wide", "narrow", "covered"), [
    ("azure", "Contributor", "Storage Blob Data Reader", False),  # data actions: not Contributor's
    ("azure", "Contributor", "User Access Administrator", False),
    ("azure", "/providers/Microsoft.Authorization/roleDefinitions/"
     "8E3AF657-A8FF-443C-A75C-2FE8C4BCB635", "Storage Blob Data Reader", True),  # Owner by id
    ("gcp", "roles/editor", "roles/iam.serviceAccountTokenCreator", False),  # IAM: not editor's
    ("gcp", "roles/editor", "roles/iam.roleViewer", False),
    ("gcp", "roles/editor", "roles/owner", False),
    ("gcp", "roles/owner", "roles/iam.serviceAccountTokenCreator", True),
    ("kubernetes", "ClusterRole/admin", "ClusterRole/edit", True),
    ("kubernetes", "ClusterRole/admin", "ClusterRole/cluster-admin", False),
    ("kubernetes", "ClusterRole/view", "ClusterRole/edit", False),
    ("aws", "arn:aws:iam::aws:policy/AdministratorAccess", "${aws_iam_policy.x.arn}", False),
    ("aws", "arn:aws:iam::aws:policy/ReadOnlyAccess",
     "arn:aws:iam::aws:policy/AdministratorAccess", False),
])
def test_role_covers_keeps_access_management_out_of_partial_admin_roles(
        platform: str, wide: str, narrow: str, covered: bool) -> None:
    assert role_covers(platform, wide, narrow) is covered


@pytest.mark.parametrize(("old", "new", "blocks"), [
    (("Owner", "/subscriptions/0000"), ("Reader", "/subscriptions/0000/resourceGroups/rg"), False),
    (("Reader", "/subscriptions/0000/resourceGroups/rg"), ("Owner", "/subscriptions/0000"), True),
    (("Owner", "/subscriptions/0000/resourceGroups/rg"), ("Reader", "/subscriptions/0000"), True),
])
def test_an_azure_role_swap_is_a_narrowing_only_on_the_same_or_a_narrower_scope(
        make_repo: Callable[..., GitRepo], capsys: Any, old: tuple[str, str],
        new: tuple[str, str], blocks: bool) -> None:
    def text(role: str, scope: str) -> str:
        return AZURE.replace("ROLE", role).replace("/subscriptions/0000/resourceGroups/rg", scope)
    repo = make_repo()
    base = repo.commit({"infra/iam.tf": text(*old)}, author=HUMAN)
    repo.commit({"infra/iam.tf": text(*new)}, author=CLAUDE)
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json"])
    found = {(f["rule_id"], f["level"], f["blocking"])
             for f in json.loads(capsys.readouterr().out)["findings"]}
    assert code == (1 if blocks else 0)
    assert (("NHI302", "error", True) in found) is blocks
    assert (("NHI302", "note", False) in found) is not blocks


ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cfg-reader, namespace: apps}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch, update]
"""
#: `update` kept only on one named ConfigMap: within base's update on every ConfigMap.
ROLE_NAMED = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cfg-reader, namespace: apps}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [app-config]
  verbs: [update]
"""


def test_verb_moved_under_resource_names_is_a_narrowing(make_repo: Callable[..., GitRepo],
                                                         capsys: Any) -> None:
    """A verb on every ConfigMap limited to one (`resourceNames`) gains nothing: base's grant
    on the resource covers the named one (RBAC: resourceNames only restricts a rule,
    https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-resources)."""
    repo = make_repo()
    base = repo.commit({"k8s/role.yaml": ROLE}, author=HUMAN)
    repo.commit({"k8s/role.yaml": ROLE_NAMED}, author=CLAUDE)
    code, findings = check_findings(repo, base, capsys)
    assert code == 0, findings
    drift = [f for f in findings if f["rule_id"] == "NHI302"]
    assert [(f["level"], f["blocking"], f["path"]) for f in drift] == [
        ("note", False, "k8s/role.yaml")]
    assert "narrowed" in drift[0]["message"], drift[0]["message"]


def test_named_verb_base_lacked_still_gained(make_repo: Callable[..., GitRepo],
                                              capsys: Any) -> None:
    """`delete` on one named ConfigMap that base never allowed is gained, and the message
    lists every verb base allowed (grouped by resource), not the first two grants."""
    repo = make_repo()
    base = repo.commit({"k8s/role.yaml": ROLE}, author=HUMAN)
    repo.commit({"k8s/role.yaml": ROLE_NAMED.replace("verbs: [update]",
                                                     "verbs: [update, delete]")},
                author=CLAUDE)
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    drift = [f for f in findings if f["rule_id"] == "NHI302"]
    assert [(f["level"], f["blocking"], f["start_line"]) for f in drift] == [
        ("error", True, 8)]
    assert drift[0]["message"] == (
        "Role/apps/cfg-reader privileges widened: gains delete on core/configmaps:app-config "
        "(base allowed: get, list, watch, update on core/configmaps)")
