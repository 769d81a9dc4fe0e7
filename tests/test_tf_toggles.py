"""Terraform identities switched off in place (attacker re-check, session 10: `tf-toggles`): a
GCP custom role's `stage = "DISABLED"`, a service account's `disabled = true` and an AWS
access key's `status = "Inactive"` grant or authenticate nothing. Switching one off is a
narrowing (an NHI302 note, for an agent too); switching it back on is the widening (NHI101 for
an agent, nothing blocks for a person). Real git repos in temp dirs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import HUMAN, GitRepo
from test_ci_job_credentials import CLAUDE, _check, _found

TOGGLES = """\
# nhi-gate: owner=team-plat ticket=PLAT-7 expires=2027-01-31
resource "google_project_iam_custom_role" "breakglass" {
  project     = "acme-prod"
  role_id     = "breakglass"
  title       = "Break glass"
  permissions = ["iam.serviceAccounts.actAs", "resourcemanager.projects.setIamPolicy"]
  stage       = %s
}

# nhi-gate: owner=team-plat ticket=PLAT-7 expires=2027-01-31
resource "google_service_account" "legacy_deployer" {
  account_id   = "legacy-deployer"
  display_name = "legacy deployer"
  disabled     = %s
}

# nhi-gate: owner=team-plat ticket=PLAT-7 expires=2027-01-31
resource "aws_iam_access_key" "legacy" {
  user   = "legacy-ci"
  status = %s
}
"""
ON = TOGGLES % ('"GA"', "false", '"Active"')
OFF = TOGGLES % ('"DISABLED"', "true", '"Inactive"')


@pytest.mark.parametrize("author", [CLAUDE, HUMAN])
def test_switching_identities_off_is_a_narrowing_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str]) -> None:
    code, findings = _check(make_repo, capsys, {"main.tf": ON}, {"main.tf": OFF},
                            author=author)
    assert (code, _found(findings)) == (0, {("NHI302", 7, False), ("NHI302", 14, False),
                                            ("NHI302", 20, False)})
    assert all(f["level"] == "note" and "switched off by `" in f["message"] for f in findings)


def test_switching_them_back_on_is_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _check(make_repo, capsys, {"main.tf": OFF}, {"main.tf": ON})
    assert code == 1
    on = {f["start_line"] for f in findings if f["rule_id"] == "NHI101" and f["blocking"]
          and "turned on" in f["message"]}
    assert on == {7, 14, 20}


def test_a_person_switching_them_back_on_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _check(make_repo, capsys, {"main.tf": OFF}, {"main.tf": ON},
                            author=HUMAN)
    assert code == 0
    assert not [f for f in findings if f["blocking"]]


def test_a_key_a_module_call_switches_off_is_still_a_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Unlike `count = 0` through a call (no instance), an `Inactive` key exists: `scan` still
    reports it (terraform-aws-iam's `examples/iam-user` `iam_user3`, in the corpus); a call
    with `create = false` still gives none (`iam_user_disabled`)."""
    from checker.cli import main

    files = {
        "modules/user/main.tf": (
            'variable "status" {}\nvariable "create" { default = false }\n\n'
            'resource "aws_iam_access_key" "this" {\n  count  = var.create ? 1 : 0\n'
            '  user   = "ci"\n  status = var.status\n}\n'),
        "main.tf": ('module "user" {\n  source = "./modules/user"\n  create = true\n'
                    '  status = "Inactive"\n}\n\n'
                    'module "none" {\n  source = "./modules/user"\n  create = false\n'
                    '  status = "Inactive"\n}\n'),
    }
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    main(["scan", str(tmp_path), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    found = {(f["rule_id"], f["address"]) for f in findings}
    assert ("NHI303", "module.user.aws_iam_access_key.this") in found
    # `create = false`: no instance (count 0), whatever its status: not read through the call
    assert not [a for _, a in found if a.startswith("module.none.")]
