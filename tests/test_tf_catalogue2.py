"""Resource types catalogued for issue 12 (second part): `kubernetes_manifest` judged as the
Kubernetes object it holds, GCP resource-level and billing-account IAM (and `allUsers`
members), AKS cluster identity blocks, Entra directory roles and `azapi_resource` bodies. An
agent's change blocks with the rule the same object would get elsewhere; a human's does not.
Real git repositories in temp dirs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo
from test_tf_catalogue import added, rows, run_check

from checker.checks.cross_environment import identity_keys
from checker.cli import main
from checker.model import IdentityObject, Location

CLAUDE = ("Claude", "noreply@anthropic.com")

MANIFEST = """\
resource "kubernetes_manifest" "agent_admin" {
  manifest = {
    apiVersion = "rbac.authorization.k8s.io/v1"
    kind       = "ClusterRoleBinding"
    metadata = {
      name = "agent-admin"
    }
    roleRef = {
      apiGroup = "rbac.authorization.k8s.io"
      kind     = "ClusterRole"
      name     = "cluster-admin"
    }
    subjects = [
      { kind = "ServiceAccount", name = "deployer", namespace = "ci" },
    ]
  }
}
"""

SAME_AS_YAML = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: agent-admin
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - kind: ServiceAccount
    name: deployer
    namespace: ci
"""

MANIFEST_YAMLDECODE = """\
resource "kubernetes_manifest" "wide_role" {
  manifest = yamldecode(<<-EOT
    apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata:
      name: everything
    rules:
      - apiGroups: ["*"]
        resources: ["*"]
        verbs: ["*"]
    EOT
  )
}
"""

PUBLIC_TOKEN_CREATOR = """\
resource "google_service_account_iam_member" "public" {
  service_account_id = "projects/acme/serviceAccounts/ci@acme.iam.gserviceaccount.com"
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "allUsers"
}
"""

BUCKET_READER = """\
resource "google_storage_bucket_iam_member" "site" {
  bucket = "acme-site"
  role   = "roles/storage.objectViewer"
  member = "group:web@acme.example"
}
"""

BILLING = """\
resource "google_billing_account_iam_member" "ci" {
  billing_account_id = "00AA00-000AAA-00AA0A"
  role               = "roles/billing.user"
  member             = "serviceAccount:ci@acme.iam.gserviceaccount.com"
}

resource "google_pubsub_topic_iam_binding" "ci" {
  topic   = "events"
  role    = "roles/owner"
  members = ["serviceAccount:ci@acme.iam.gserviceaccount.com"]
}
"""

AKS = """\
resource "azurerm_kubernetes_cluster" "main" {
  name       = "aks"
  node_count = 3
  identity {
    type = "SystemAssigned"
  }
}
"""

AKS_ADMIN_GROUP = """\
  azure_active_directory_role_based_access_control {
    admin_group_object_ids = ["33333333-3333-3333-3333-333333333333"]
  }
}
"""

DIRECTORY_ROLE = """\
resource "azuread_directory_role_assignment" "ga" {
  role_id             = "62e90394-69f5-4237-9190-012177145e10"
  principal_object_id = "44444444-4444-4444-4444-444444444444"
}
"""

AZAPI_OWNER = """\
resource "azapi_resource" "owner" {
  type      = "microsoft.authorization/roleassignments@2022-04-01"
  name      = "55555555-5555-5555-5555-555555555555"
  parent_id = "/subscriptions/00000000-0000-0000-0000-000000000000"
  body = {
    properties = {
      roleDefinitionId = "OWNER"
      principalId      = "66666666-6666-6666-6666-666666666666"
    }
  }
}
""".replace("OWNER", "/providers/Microsoft.Authorization/roleDefinitions/"
            "8e3af657-a8ff-443c-a75c-2fe8c4bcb635")  # the Owner built-in role


def test_agent_kubernetes_manifest_cluster_admin_binding_blocks_like_the_yaml(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = added(make_repo, {"k8s.tf": MANIFEST})
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert rows(findings, "NHI101", "NHI301") == {
        ("NHI101", "kubernetes_manifest.agent_admin", 1, True),
        ("NHI301", "kubernetes_manifest.agent_admin", 11, True),
    }
    (nhi301,) = [f for f in findings if f["rule_id"] == "NHI301"]
    assert "ClusterRole/cluster-admin on *" in nhi301["message"]
    # The same object as YAML gets the same rules.
    repo2, base2, head2 = added(lambda: make_repo("yaml"), {"crb.yaml": SAME_AS_YAML})
    code2, yaml_findings = run_check(repo2, base2, head2, capsys)
    assert code2 == 1
    assert {f["rule_id"] for f in yaml_findings} == {f["rule_id"] for f in findings}


def test_human_kubernetes_manifest_binding_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = added(make_repo, {"k8s.tf": MANIFEST}, author=HUMAN)
    code, findings = run_check(repo, base, head, capsys)
    assert code == 0
    assert rows(findings, "NHI101", "NHI301") == {
        ("NHI301", "kubernetes_manifest.agent_admin", 11, False)}


def test_agent_kubernetes_manifest_yamldecode_wildcard_role_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = added(make_repo, {"k8s.tf": MANIFEST_YAMLDECODE})
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert rows(findings, "NHI101", "NHI301") == {
        ("NHI101", "kubernetes_manifest.wide_role", 1, True),
        ("NHI301", "kubernetes_manifest.wide_role", 8, True),
    }


def test_agent_manifest_binding_switched_to_cluster_admin_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    viewer = MANIFEST.replace('"cluster-admin"', '"view"')
    base = repo.commit({"k8s.tf": viewer}, author=HUMAN)
    head = repo.commit({"k8s.tf": MANIFEST}, author=CLAUDE, message="Widen")
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert ("NHI301", "kubernetes_manifest.agent_admin", 11, True) in rows(findings, "NHI301")
    assert rows(findings, "NHI302") == {
        ("NHI302", "kubernetes_manifest.agent_admin", 11, True)}


def test_agent_granting_token_creator_to_all_users_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = added(make_repo, {"iam.tf": PUBLIC_TOKEN_CREATOR})
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert rows(findings, "NHI101", "NHI301") == {
        ("NHI101", "google_service_account_iam_member.public", 1, True),
        ("NHI301", "google_service_account_iam_member.public", 3, True),
    }
    (nhi301,) = [f for f in findings if f["rule_id"] == "NHI301"]
    assert "granted to allUsers" in nhi301["message"]


def test_agent_opening_a_bucket_binding_to_all_users_is_a_new_principal(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"iam.tf": BUCKET_READER}, author=HUMAN)
    head = repo.commit({"iam.tf": BUCKET_READER.replace("group:web@acme.example", "allUsers")},
                       author=CLAUDE, message="Public site")
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert rows(findings, "NHI301") == set()  # a public viewer role is not admin
    (nhi302,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert "subject gcp-public:allUsers" in nhi302["message"] and nhi302["blocking"]


def test_agent_billing_and_resource_iam_bindings_are_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = added(make_repo, {"iam.tf": BILLING})
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert rows(findings, "NHI101", "NHI301") == {
        ("NHI101", "google_billing_account_iam_member.ci", 1, True),
        ("NHI101", "google_pubsub_topic_iam_binding.ci", 7, True),
        ("NHI301", "google_pubsub_topic_iam_binding.ci", 9, True),
    }


def test_agent_adding_an_aks_admin_group_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"aks.tf": AKS}, author=HUMAN)
    head = repo.commit({"aks.tf": AKS[: -len("}\n")] + AKS_ADMIN_GROUP}, author=CLAUDE,
                       message="Admin group")
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert ("NHI301", "azurerm_kubernetes_cluster.main", 8, True) in rows(findings, "NHI301")
    assert ("NHI101", "azurerm_kubernetes_cluster.main", 7, True) in rows(findings, "NHI101")


def test_agent_resizing_an_aks_cluster_is_no_identity_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"aks.tf": AKS}, author=HUMAN)
    head = repo.commit({"aks.tf": AKS.replace("node_count = 3", "node_count = 5")},
                       author=CLAUDE, message="Scale")
    code, findings = run_check(repo, base, head, capsys)
    assert code == 0
    assert findings == []


def test_agent_switching_the_aks_identity_needs_approval(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"aks.tf": AKS}, author=HUMAN)
    head = repo.commit({"aks.tf": AKS.replace(
        'type = "SystemAssigned"',
        'type         = "UserAssigned"\n'
        '    identity_ids = [azurerm_user_assigned_identity.admin.id]')},
        author=CLAUDE, message="Identity")
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert rows(findings, "NHI101") == {("NHI101", "azurerm_kubernetes_cluster.main", 5, True)}


@pytest.mark.parametrize(("author", "code", "blocking"), [(CLAUDE, 1, True), (HUMAN, 0, False)],
                         ids=["agent", "human"])
def test_global_administrator_directory_role_assignment(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int, blocking: bool) -> None:
    repo, base, head = added(make_repo, {"aad.tf": DIRECTORY_ROLE}, author=author)
    exit_code, findings = run_check(repo, base, head, capsys)
    assert exit_code == code
    assert rows(findings, "NHI301") == {
        ("NHI301", "azuread_directory_role_assignment.ga", 2, blocking)}
    (nhi301,) = [f for f in findings if f["rule_id"] == "NHI301"]
    assert "Global Administrator" in nhi301["message"]


def test_agent_azapi_owner_assignment_blocks_whatever_the_type_case(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base, head = added(make_repo, {"azapi.tf": AZAPI_OWNER})
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert rows(findings, "NHI101", "NHI301") == {
        ("NHI101", "azapi_resource.owner", 1, True),
        ("NHI301", "azapi_resource.owner", 7, True),
    }


def test_public_members_are_not_an_identity_shared_across_environments() -> None:
    obj = IdentityObject(kind="role_binding", platform="gcp",
                         type="google_storage_bucket_iam_member", address="a.b",
                         location=Location("x.tf", 1, 4),
                         principals=("gcp-public:allUsers",
                                     "gcp-sa:ci@acme.iam.gserviceaccount.com"))
    assert identity_keys(obj) == ("gcp-sa:ci@acme.iam.gserviceaccount.com",)


def test_aks_admin_groups_from_an_unset_module_input_are_no_grant(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    module = AKS[: -len("}\n")] + AKS_ADMIN_GROUP.replace(
        '["33333333-3333-3333-3333-333333333333"]', "var.admin_groups")
    (tmp_path / "aks.tf").write_text(
        module + 'variable "admin_groups" {\n  type    = list(string)\n  default = null\n}\n')
    assert main(["scan", str(tmp_path), "--format", "json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [f for f in findings if f["rule_id"] == "NHI301"] == []
