"""Soundness of the change classification (issue 12): a narrowing is only what is proven
narrower. Each case is a real git repo with a human base; the head is committed by an agent
(blocks, or a narrowing note with exit 0) and, for the widenings, by a human (does not block)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.cli import main

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
REQUESTED = [("Requested-by", "Alice Example <alice@example.com>")]
META = "# nhi-gate: owner=team-ci ticket=OPS-1 expires=2027-01-01\n"

Found = list[tuple[str, int, str, bool, str]]


def _run(make_repo: Callable[..., GitRepo], capsys: Any, base: str, head: str,
         author: Identity = CLAUDE) -> tuple[int, Found]:
    repo = make_repo()
    sha = repo.commit({"main.tf": base}, author=HUMAN)
    repo.commit({"main.tf": head}, author=author,
                trailers=REQUESTED if author == CLAUDE else None)
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["start_line"], f["level"], f["blocking"], f["message"])
                  for f in report["findings"]]


def _blocking(found: Found) -> list[str]:
    return sorted({r for r, _, _, blocking, _ in found if blocking})


def _nhi302(found: Found) -> list[str]:
    return [m for r, _, _, _, m in found if r == "NHI302"]


# --------------------------------------------------------------------------- 1: trust operators

TRUST = META + """\
resource "aws_iam_role" "ci" {
  name = "ci"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = "PROVIDER" }
      Condition = {
        StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
        StringLike   = { "token.actions.githubusercontent.com:sub" = "SUBJECT" }
      }
    }]
  })
}
""".replace(
    "PROVIDER", "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
).replace("SUBJECT", "repo:org/app:ref:refs/heads/main")
SUB = "token.actions.githubusercontent.com:sub"


@pytest.mark.parametrize(("operator", "line"), [("StringNotLike", 12),
                                                ("StringLikeIfExists", 12)])
def test_trust_subject_operator_change_is_a_widening(
        make_repo: Callable[..., GitRepo], capsys: Any, operator: str, line: int) -> None:
    head = TRUST.replace("StringLike   =", f"{operator} =")
    code, found = _run(make_repo, capsys, TRUST, head)
    assert code == 1
    assert _blocking(found) == ["NHI101", "NHI302"]
    assert (f"condition StringLike:{SUB} changed to {operator}:{SUB}") in _nhi302(found)[0]
    assert [ln for r, ln, *_ in found if r == "NHI302"] == [line]
    code, found = _run(make_repo, capsys, TRUST, head, author=HUMAN)
    assert code == 0 and not _blocking(found)


ROLE_A = '{ AWS = "arn:aws:iam::111111111111:role/a" }'
PRINCIPAL = TRUST.replace(
    '{ Federated = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" }',
    ROLE_A).replace(
    '      Condition = {\n        StringEquals = { "token.actions.githubusercontent.com:aud" = '
    '"sts.amazonaws.com" }\n        StringLike   = { "token.actions.githubusercontent.com:sub"'
    ' = "repo:org/app:ref:refs/heads/main" }\n      }\n', "")


def test_not_principal_is_a_widening(make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = PRINCIPAL.replace(f"Principal = {ROLE_A}", f"NotPrincipal = {ROLE_A}")
    assert head != PRINCIPAL
    code, found = _run(make_repo, capsys, PRINCIPAL, head)
    assert code == 1
    assert _blocking(found) == ["NHI101", "NHI302"]
    assert ("every principal but AWS:arn:aws:iam::111111111111:role/a can now assume it "
            "(NotPrincipal)") in _nhi302(found)[0]


DOCUMENT = META + """\
resource "aws_iam_role" "ci" {
  name               = "ci"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"]
    }
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:org/app:ref:refs/heads/main"]
    }
  }
}
"""


def test_document_subject_operator_change_widens_the_role_too(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = DOCUMENT.replace('"StringLike"', '"StringNotLike"')
    code, found = _run(make_repo, capsys, DOCUMENT, head)
    assert code == 1
    by_address = {(r, m.split(" ", 1)[0]) for r, _, _, blocking, m in found if blocking}
    assert ("NHI302", "aws_iam_role.ci") in by_address
    assert ("NHI302", "data.aws_iam_policy_document.trust") in by_address
    assert not any(m for m in _nhi302(found) if "narrowed" in m)


# ------------------------------------------------------------------ 2: GCP/Azure conditions

GCP_MEMBER = META + """\
resource "google_project_iam_member" "ci" {
  project = "p"
  role    = "roles/storage.admin"
  member  = "serviceAccount:ci@p.iam.gserviceaccount.com"
  condition {
    title      = "only-bucket-b"
    expression = "resource.name.startsWith(\\"projects/_/buckets/b\\")"
  }
}
"""
GCP_UNCONDITIONAL = GCP_MEMBER.replace(
    '  condition {\n    title      = "only-bucket-b"\n    expression = '
    '"resource.name.startsWith(\\"projects/_/buckets/b\\")"\n  }\n', "")


@pytest.mark.parametrize("author", [CLAUDE, HUMAN], ids=["agent", "human"])
def test_gcp_condition_removed_is_a_widening(make_repo: Callable[..., GitRepo], capsys: Any,
                                             author: Identity) -> None:
    assert GCP_UNCONDITIONAL != GCP_MEMBER
    code, found = _run(make_repo, capsys, GCP_MEMBER, GCP_UNCONDITIONAL, author)
    messages = _nhi302(found)
    assert len(messages) == 1
    assert "gains roles/storage.admin on p (condition only-bucket-b removed)" in messages[0]
    assert [ln for r, ln, *_ in found if r == "NHI302"] == [4]
    assert code == (1 if author == CLAUDE else 0)


def test_gcp_condition_added_is_a_narrowing(make_repo: Callable[..., GitRepo],
                                            capsys: Any) -> None:
    code, found = _run(make_repo, capsys, GCP_UNCONDITIONAL, GCP_MEMBER)
    assert code == 0
    assert [(r, level) for r, _, level, _, _ in found] == [("NHI302", "note")]
    assert "privileges narrowed" in _nhi302(found)[0]


GCP_DYNAMIC = META + """\
resource "google_project_iam_binding" "ci" {
  project = "p"
  role    = "roles/storage.objectViewer"
  members = ["serviceAccount:ci@p.iam.gserviceaccount.com"]
  dynamic "condition" {
    for_each = local.conditions
    content {
      title      = condition.value.title
      expression = condition.value.expression
    }
  }
}

locals {
  conditions = [{ title = "only-b", expression = "resource.name == \\"b\\"" }]
}
"""


def test_gcp_dynamic_condition_emptied_is_a_widening(make_repo: Callable[..., GitRepo],
                                                     capsys: Any) -> None:
    head = GCP_DYNAMIC.replace(
        'conditions = [{ title = "only-b", expression = "resource.name == \\"b\\"" }]',
        "conditions = []")
    assert head != GCP_DYNAMIC
    code, found = _run(make_repo, capsys, GCP_DYNAMIC, head)
    assert code == 1
    assert "NHI302" in _blocking(found)
    assert "(condition only-b removed)" in _nhi302(found)[0]


AZURE = META + """\
resource "azurerm_role_assignment" "ra" {
  scope                = "/subscriptions/0000/resourceGroups/rg1"
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = "11111111-1111-1111-1111-111111111111"
  condition_version    = "2.0"
  condition            = "@Resource[CONTAINER] StringEquals 'c1'"
}
""".replace("CONTAINER", "Microsoft.Storage/storageAccounts/blobServices/containers:name")


@pytest.mark.parametrize("author", [CLAUDE, HUMAN], ids=["agent", "human"])
def test_azure_condition_removed_is_a_widening(make_repo: Callable[..., GitRepo], capsys: Any,
                                               author: Identity) -> None:
    head = "\n".join(ln for ln in AZURE.splitlines() if "condition" not in ln) + "\n"
    code, found = _run(make_repo, capsys, AZURE, head, author)
    messages = _nhi302(found)
    assert len(messages) == 1
    assert ("gains Storage Blob Data Contributor on /subscriptions/0000/resourceGroups/rg1 "
            "(condition @Resource[") in messages[0]
    assert "(version 2.0) removed)" in messages[0]
    assert code == (1 if author == CLAUDE else 0)


# --------------------------------------------------------------------------- 3, 4: narrowings


@pytest.mark.parametrize(("base", "head", "said"), [
    (GCP_UNCONDITIONAL.replace("roles/storage.admin", "roles/editor"),
     GCP_UNCONDITIONAL.replace("roles/storage.admin", "roles/viewer"),
     "no longer grants roles/editor on p"),
    (GCP_UNCONDITIONAL.replace("roles/storage.admin", "roles/owner"),
     GCP_UNCONDITIONAL.replace("roles/storage.admin", "roles/editor"),
     "no longer grants roles/owner on p"),
    (AZURE.replace("/resourceGroups/rg1", ""),
     AZURE.replace("/resourceGroups/rg1", "/resourcegroups/RG1/providers/x"),
     "no longer grants Storage Blob Data Contributor on /subscriptions/0000 when"),
], ids=["gcp-editor-viewer", "gcp-owner-editor", "azure-scope-below"])
def test_narrower_role_or_scope_is_a_note(make_repo: Callable[..., GitRepo], capsys: Any,
                                          base: str, head: str, said: str) -> None:
    code, found = _run(make_repo, capsys, base, head)
    assert code == 0
    assert [(r, level) for r, _, level, _, _ in found] == [("NHI302", "note")]
    assert said in _nhi302(found)[0]


@pytest.mark.parametrize(("base", "head", "gain"), [
    (GCP_UNCONDITIONAL.replace("roles/storage.admin", "roles/viewer"),
     GCP_UNCONDITIONAL.replace("roles/storage.admin", "roles/editor"), "gains roles/editor"),
    (AZURE.replace("/resourceGroups/rg1", "/resourceGroups/rg10"),
     AZURE.replace("/resourceGroups/rg1", "/resourceGroups/rg1"),
     "gains Storage Blob Data Contributor on /subscriptions/0000/resourceGroups/rg1 "),
    (AZURE, AZURE.replace("/resourceGroups/rg1", ""),
     "gains Storage Blob Data Contributor on /subscriptions/0000 "),
], ids=["gcp-viewer-editor", "azure-sibling-prefix", "azure-scope-above"])
def test_wider_role_or_scope_still_blocks(make_repo: Callable[..., GitRepo], capsys: Any,
                                          base: str, head: str, gain: str) -> None:
    code, found = _run(make_repo, capsys, base, head)
    assert code == 1
    assert "NHI302" in _blocking(found)
    assert gain in _nhi302(found)[0]


def test_trust_principal_removed_from_a_list_is_a_note(make_repo: Callable[..., GitRepo],
                                                       capsys: Any) -> None:
    two = PRINCIPAL.replace(ROLE_A, '{ AWS = ["arn:aws:iam::111111111111:role/a", '
                                    '"arn:aws:iam::111111111111:role/b"] }')
    code, found = _run(make_repo, capsys, two, PRINCIPAL)
    assert code == 0
    assert [(r, level) for r, _, level, _, _ in found] == [("NHI302", "note")]
    assert "no longer trusts AWS:arn:aws:iam::111111111111:role/b" in _nhi302(found)[0]


BINDING = META + """\
resource "google_project_iam_binding" "b" {
  project = "p"
  role    = "roles/storage.objectViewer"
  members = ["serviceAccount:a@p.iam.gserviceaccount.com", "user:b@example.com"]
}
"""


def test_binding_member_removed_is_a_note(make_repo: Callable[..., GitRepo],
                                          capsys: Any) -> None:
    head = BINDING.replace(', "user:b@example.com"', "")
    code, found = _run(make_repo, capsys, BINDING, head)
    assert code == 0
    assert [(r, ln, level) for r, ln, level, _, _ in found] == [("NHI302", 5, "note")]
    assert "no longer binds user:b@example.com" in _nhi302(found)[0]


def test_binding_member_swapped_with_a_narrower_role_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base = BINDING.replace("roles/storage.objectViewer", "roles/editor")
    head = BINDING.replace("roles/storage.objectViewer", "roles/viewer").replace(
        "user:b@example.com", "user:evil@example.com")
    code, found = _run(make_repo, capsys, base, head)
    assert code == 1
    assert "subject user:evil@example.com" in _nhi302(found)[0]


# --------------------------------------------------------------------------- 5, 6: wording

PASSWORD = META + """\
resource "azuread_application_password" "p" {
  application_id = "/applications/00000000-0000-0000-0000-000000000000"
  end_date       = "2027-01-01T00:00:00Z"
}
"""


def test_end_date_later_reads_lives_longer(make_repo: Callable[..., GitRepo],
                                           capsys: Any) -> None:
    code, found = _run(make_repo, capsys, PASSWORD, PASSWORD.replace("2027-01-01T", "2099-01-01T"))
    assert code == 1
    assert _nhi302(found) == [
        "azuread_application_password.p lives longer: expires 2099-01-01 (was 2027-01-01)"]


UNCOMPUTED = META + """\
resource "aws_iam_policy" "p" {
  name = "p"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ACTIONS, Resource = "arn:aws:s3:::b/*" }]
  })
}
"""


def test_uncomputed_action_is_not_named_as_a_gain(make_repo: Callable[..., GitRepo],
                                                  capsys: Any) -> None:
    base = UNCOMPUTED.replace("ACTIONS", '["s3:GetObject"]')
    head = UNCOMPUTED.replace("ACTIONS", "local.actions") + (
        'locals {\n  actions = jsondecode(data.http.actions.response_body)\n}\n')
    code, found = _run(make_repo, capsys, base, head)
    assert code == 1
    assert "NHI106" in _blocking(found)
    assert not [m for m in _nhi302(found) if "${" in m]


def test_gcp_condition_does_not_lower_nhi301(make_repo: Callable[..., GitRepo],
                                             capsys: Any) -> None:
    """Conditions on GCP grants are for NHI302 only: a new conditional admin binding is still
    an NHI301 error (not the `conditional` warning of AWS IAM conditions)."""
    code, found = _run(make_repo, capsys, "", GCP_MEMBER)
    assert code == 1
    assert [(r, ln, level, blocking) for r, ln, level, blocking, _ in found if r == "NHI301"] == [
        ("NHI301", 4, "error", True)]
