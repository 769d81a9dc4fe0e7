"""Terraform `moved` blocks (attacker re-check, session 10: `tf-moved-same`, `tf-moved-v1`): a
block renamed with `moved { from = A  to = B }` is the identity A was, so B at head is judged
against A at base by meaning: a plain rename, or the deprecated `kubernetes_service_account`
moved to `kubernetes_service_account_v1` with the same body (commit 9feedcedc0af of
terraform-google-modules/terraform-google-kubernetes-engine), is no change at all; a move that
also widens is a change ("moved from A"), never a creation. Real git repos in temp dirs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo
from test_ci_job_credentials import CLAUDE, _check, _found

BASE = """\
resource "kubernetes_service_account" "main" {
  metadata {
    name      = "ci"
    namespace = "apps"
  }
}
"""

MOVED = """\
moved {
  from = kubernetes_service_account.main
  to   = %s
}

resource "%s" "%s" {
  metadata {
    name      = "ci"
    namespace = "apps"
  }%s
}
"""


@pytest.mark.parametrize(("rtype", "name"), [
    ("kubernetes_service_account", "ci"),  # a rename
    ("kubernetes_service_account_v1", "main"),  # the v1 type, same body
])
@pytest.mark.parametrize("author", [CLAUDE, HUMAN])
def test_a_moved_block_with_the_same_body_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        rtype: str, name: str, author: tuple[str, str]) -> None:
    head = MOVED % (f"{rtype}.{name}", rtype, name, "")
    code, findings = _check(make_repo, capsys, {"main.tf": BASE}, {"main.tf": head},
                            author=author)
    assert (code, _found(findings)) == (0, set())


def test_a_moved_block_that_changes_the_body_is_a_change_not_a_creation(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = MOVED % ("kubernetes_service_account_v1.main", "kubernetes_service_account_v1",
                    "main", "\n  automount_service_account_token = true")
    code, findings = _check(make_repo, capsys, {"main.tf": BASE}, {"main.tf": head})
    assert code == 1
    (nhi101,) = [f for f in findings if f["rule_id"] == "NHI101"]
    assert "was changed (moved from kubernetes_service_account.main" in nhi101["message"]


def test_a_rename_without_a_moved_block_is_still_a_creation(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = (MOVED % ("kubernetes_service_account.ci", "kubernetes_service_account", "ci", "")
            ).split("\n\n", 1)[1]
    code, findings = _check(make_repo, capsys, {"main.tf": BASE}, {"main.tf": head})
    assert code == 1
    (nhi101,) = [f for f in findings if f["rule_id"] == "NHI101"]
    assert "was created" in nhi101["message"]
