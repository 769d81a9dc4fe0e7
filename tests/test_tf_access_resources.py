"""Terraform resources that hand out access without an IAM policy or RBAC rule:
`aws_cognito_identity_pool_roles_attachment` (the roles an identity pool gives its users,
`unauthenticated` being anyone) and `kubernetes_default_service_account_v1` (the account every
pod without a `serviceAccountName` runs as). Each case is a real git repo with a human base;
an agent's grant or widening blocks and names what was gained, a person's does not, and a
narrowing is a note."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conftest import HUMAN, GitRepo, Identity

from checker.cli import main

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
META = "# nhi-gate: owner=team-a ticket=OPS-1\n"
POOL = "us-east-1:11111111-2222-3333-4444-555555555555"
USER_ROLE = '    "authenticated"   = "arn:aws:iam::111122223333:role/app-user"\n'
GUEST_ROLE = '    "unauthenticated" = "arn:aws:iam::111122223333:role/admin"\n'


def _cognito(roles: str) -> str:
    return META + f"""\
resource "aws_cognito_identity_pool_roles_attachment" "r" {{
  identity_pool_id = "{POOL}"
  roles = {{
{roles}  }}
}}
"""


def _default_account(mount: str) -> str:
    return META + f"""\
resource "kubernetes_default_service_account_v1" "d" {{
  metadata {{ namespace = "apps" }}
  automount_service_account_token = {mount}
}}
"""


def _run(make_repo: Callable[..., GitRepo], capsys: Any, base: str | None, head: str,
         author: Identity) -> tuple[int, list[tuple[str, int, bool, str]]]:
    repo = make_repo()
    sha = repo.commit({"main.tf": base if base is not None else "terraform {}\n"},
                      author=HUMAN)
    repo.commit({"main.tf": head}, author=author)
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    return code, [(f["rule_id"], f["start_line"], f["blocking"], f["message"])
                  for f in json.loads(capsys.readouterr().out)["findings"]]


def test_an_agent_attaching_identity_pool_roles_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, None, _cognito(USER_ROLE + GUEST_ROLE), CLAUDE)
    assert code == 1
    assert ("NHI101", 2, True) in [(r, line, b) for r, line, b, _ in found]


def test_an_agent_giving_guests_a_role_widens_the_pool(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, _cognito(USER_ROLE),
                       _cognito(USER_ROLE + GUEST_ROLE), CLAUDE)
    assert code == 1
    widened = [m for r, line, b, m in found if (r, line, b) == ("NHI302", 6, True)
               and "privileges widened" in m]
    assert len(widened) == 1
    assert ("gains arn:aws:iam::111122223333:role/admin on unauthenticated identities "
            f"(anyone, no sign-in) of identity pool {POOL}") in widened[0]


def test_a_person_giving_guests_a_role_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, _cognito(USER_ROLE),
                       _cognito(USER_ROLE + GUEST_ROLE), HUMAN)
    assert code == 0
    assert not [f for f in found if f[2]]
    assert any(r == "NHI302" and "unauthenticated identities" in m for r, _, _, m in found)


def test_an_agent_taking_the_guest_role_away_is_a_narrowing(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, _cognito(USER_ROLE + GUEST_ROLE),
                       _cognito(USER_ROLE), CLAUDE)
    assert code == 0
    assert [(r, b) for r, _, b, m in found if "narrowed" in m] == [("NHI302", False)]


def test_an_agent_mounting_the_default_accounts_token_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, _default_account("false"),
                       _default_account("true"), CLAUDE)
    assert code == 1
    blocking = [(r, line, m) for r, line, b, m in found if b]
    assert ("NHI101", 4) in [(r, line) for r, line, _ in blocking]
    assert ("NHI302", 4, "kubernetes_default_service_account_v1.d mounts its API token into "
            "every pod that uses it again (`automountServiceAccountToken: false` changed to "
            "true)") in blocking


def test_an_agent_adopting_the_default_account_with_its_token_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, None, _default_account("true"), CLAUDE)
    assert code == 1
    assert ("NHI101", 2, True) in [(r, line, b) for r, line, b, _ in found]


def test_a_person_mounting_the_default_accounts_token_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, _default_account("false"),
                       _default_account("true"), HUMAN)
    assert code == 0
    assert not [f for f in found if f[2]]


def test_an_agent_turning_the_default_accounts_token_off_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, _default_account("true"),
                       _default_account("false"), CLAUDE)
    assert code == 0
    assert not [f for f in found if f[2]]
