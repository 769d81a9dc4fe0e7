"""Privilege tables (NHI301): coverage added after a new-user test: GCP organization/folder
roles, Azure built-in roles named by role definition id, and IAM Identity Center permission sets.

Unit checks of `role_key`, then `nhi-gate check` on a real agent commit (conftest.make_repo).
Sources: https://cloud.google.com/iam/docs/understanding-roles and
https://learn.microsoft.com/en-us/azure/role-based-access-control/built-in-roles
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import COPILOT, HUMAN, GitRepo

from checker.cli import main
from checker.policy.privileges import load_admin_table, role_key

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


@pytest.mark.parametrize(("platform", "action", "key"), [
    ("azure", OWNER, OWNER),
    ("azure", OWNER.upper(), OWNER),
    ("azure", f"/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
              f"Microsoft.Authorization/roleDefinitions/{OWNER}", OWNER),
    ("azure", f"/providers/microsoft.authorization/ROLEDEFINITIONS/{OWNER.upper()}", OWNER),
    ("azure", f" {OWNER} ", OWNER),
    # Not a role definition id: left as written.
    ("azure", f"/providers/Microsoft.Authorization/roleAssignments/{OWNER}",
     f"/providers/Microsoft.Authorization/roleAssignments/{OWNER}"),
    ("azure", "Owner", "Owner"),
    ("azure", f"{OWNER}x", f"{OWNER}x"),
    ("gcp", OWNER.upper(), OWNER.upper()),
])
def test_role_key(platform: str, action: str, key: str) -> None:
    assert role_key(platform, action) == key


def test_every_azure_admin_guid_is_lower_case() -> None:
    """`role_key` lower-cases the grant, so an upper-case table key could never match."""
    guids = [a for p, a in load_admin_table() if p == "azure" and role_key(p, a) != a]
    assert guids == []
    assert ("azure", OWNER) in load_admin_table()
    assert ("azure", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9") in load_admin_table()


READER_ID = ("/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
             "Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7")
BASE_TF = """\
# nhi-gate: owner=team-ci ticket=OPS-1
resource "google_organization_iam_member" "ci" {
  org_id = "123456789012"
  role   = "roles/resourcemanager.organizationViewer"
  member = "serviceAccount:ci@p.iam.gserviceaccount.com"
}

# nhi-gate: owner=team-ci ticket=OPS-1
resource "azurerm_role_assignment" "ci" {
  scope              = "/subscriptions/00000000-0000-0000-0000-000000000000"
  role_definition_id = "READER_ID"
  principal_id       = "11111111-1111-1111-1111-111111111111"
}
""".replace("READER_ID", READER_ID)

HEAD_TF = BASE_TF.replace(
    "roles/resourcemanager.organizationViewer", "roles/resourcemanager.organizationAdmin"
).replace("acdd72a7-3385-48ef-bd42-f606fba81ae7", OWNER.upper()) + """
# nhi-gate: owner=team-ci ticket=OPS-1
resource "aws_ssoadmin_managed_policy_attachment" "ci" {
  instance_arn       = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
  managed_policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
  permission_set_arn = "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef"
}
"""


def test_agent_widening_org_role_and_azure_role_id_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"infra/iam.tf": BASE_TF}, author=HUMAN)
    repo.checkout("copilot/widen", create=True)
    head = repo.commit({"infra/iam.tf": HEAD_TF}, author=COPILOT, message="Widen CI access")
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    got = {(f["rule_id"], f["address"], f["start_line"]) for f in report["findings"]
           if f["rule_id"] == "NHI301"}
    assert got == {
        ("NHI301", "google_organization_iam_member.ci", 4),
        ("NHI301", "azurerm_role_assignment.ci", 11),
        ("NHI301", "aws_ssoadmin_managed_policy_attachment.ci", 18),
    }
    messages = {f["address"]: f["message"] for f in report["findings"]
                if f["rule_id"] == "NHI301"}
    assert "can set the IAM policy of the organization" in messages[
        "google_organization_iam_member.ci"]
    assert "the Owner built-in role definition id" in messages["azurerm_role_assignment.ci"]
    assert all(f["blocking"] for f in report["findings"] if f["rule_id"] == "NHI301")
