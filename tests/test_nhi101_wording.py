"""NHI101 words what happened when the change did not write an identity whole (attacker
re-check, session 10: `tf-override`, `tg-include`): an `_override.tf` file changes the block of
the same address in another file of the module; a root `terragrunt.hcl` whose `inputs` now
name an admin grant changes that call. Neither says "was created". Real git repos."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import GitRepo
from test_ci_job_credentials import _check

MAIN = """\
# nhi-gate: owner=team-plat ticket=PLAT-7 expires=2027-01-31
resource "google_project_iam_member" "ci" {
  project = "acme-prod"
  role    = "roles/storage.objectViewer"
  member  = "serviceAccount:ci@acme-prod.iam.gserviceaccount.com"
}
"""
OVERRIDE = """\
resource "google_project_iam_member" "ci" {
  role = "roles/owner"
}
"""
ROOT = """\
inputs = {
  role = "%s"
}
"""
CHILD = """\
include "root" {
  path = find_in_parent_folders()
}

terraform {
  source = "../../../modules/iam"
}

inputs = {
  member = "serviceAccount:ci@acme-prod.iam.gserviceaccount.com"
}
"""
MODULE = """\
variable "role" { type = string }
variable "member" { type = string }

resource "google_project_iam_member" "this" {
  project = "acme-prod"
  role    = var.role
  member  = var.member
}
"""


def _nhi101(findings: list[dict[str, object]]) -> str:
    (hit,) = [f for f in findings if f["rule_id"] == "NHI101"]
    assert hit["blocking"]
    return str(hit["message"])


@pytest.mark.parametrize("name", ["ci_override.tf", "override.tf"])
def test_an_override_file_changes_the_block_it_overrides(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, findings = _check(make_repo, capsys, {"main.tf": MAIN}, {name: OVERRIDE})
    assert code == 1
    message = _nhi101(findings)
    assert "was changed by agent" in message and "was created" not in message
    assert f"the override file {name} changes the block google_project_iam_member.ci" in message


def test_a_root_terragrunt_input_change_is_a_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    files = {"live/prod/iam/terragrunt.hcl": CHILD, "modules/iam/main.tf": MODULE}
    code, findings = _check(make_repo, capsys,
                            {"live/terragrunt.hcl": ROOT % "roles/viewer", **files},
                            {"live/terragrunt.hcl": ROOT % "roles/owner"})
    assert code == 1
    message = _nhi101(findings)
    assert "module.terragrunt (gcp role_binding) was changed by agent" in message
    assert "its Terragrunt `inputs` now name an admin-equivalent" in message


def test_a_new_override_free_block_is_still_created(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    _, findings = _check(make_repo, capsys, {"README.md": "# x\n"}, {"main.tf": MAIN})
    assert "was created by agent" in _nhi101(findings)
