"""Who created an identity, over a long range (issue 12): the creating commit is the oldest
in-range commit that wrote one of its lines, not the most agent-like one that touched them
later. The deciding actor stays the most agent-like writer whose change meant something (lines
an agent wrote stay the agent's; a bot's commit that only reordered them is no writer:
tests/test_commit_meaning.py); the message names both (the Azure managed-identity
module's Dependabot reorder, external-secrets' `AKEYLESS_ACCESS_ID`, terraform-aws-eks'
Karpenter policy were all "created by" a bot or agent that only touched them)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from conftest import HUMAN, GitRepo, Identity

from checker.cli import main

DEPENDABOT: Identity = ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com")
CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
FIC = """\
resource "azurerm_federated_identity_credential" "this" {
  audience  = ["api://AzureADTokenExchange"]
  issuer    = "https://token.actions.githubusercontent.com"
  name      = "ci"
  parent_id = azurerm_user_assigned_identity.this.id
  subject   = "repo:org/app:ref:refs/heads/main"
}
"""
WORKFLOW = """\
name: e2e
on: push
jobs:
  e2e:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make e2e
"""


def _nhi101(repo: GitRepo, base: str, capsys: Any) -> tuple[int, list[tuple[str, bool]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    return code, [(f["message"], f["blocking"]) for f in findings if f["rule_id"] == "NHI101"]


def test_a_bot_reorder_after_a_persons_creation_is_the_persons_creation(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({"main.tf": FIC}, author=HUMAN)
    moved = FIC.replace("  parent_id = azurerm_user_assigned_identity.this.id\n", "").replace(
        '/app:ref:refs/heads/main"\n',
        '/app:ref:refs/heads/main"\n  parent_id = azurerm_user_assigned_identity.this.id\n')
    repo.commit({"main.tf": moved}, author=DEPENDABOT)
    code, found = _nhi101(repo, base, capsys)
    # The bot's commit only moved a line: the identity means what the person created.
    assert (code, found) == (0, [])


def test_a_persons_creation_replacing_an_agents_lines_names_both_in_order(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    base = repo.commit({".github/workflows/e2e.yml": WORKFLOW})
    bump = repo.commit({".github/workflows/e2e.yml": WORKFLOW.replace("@v4", "@v5")},
                       author=CLAUDE)
    secret = WORKFLOW.split("    runs-on:")[0] + (
        "    uses: ./.github/workflows/e2e-reusable.yml\n    secrets:\n"
        "      AKEYLESS_ACCESS_ID: ${{ secrets.AKEYLESS_ACCESS_ID }}\n")
    created = repo.commit({".github/workflows/e2e.yml": secret}, author=HUMAN)
    code, found = _nhi101(repo, base, capsys)
    assert code == 1
    [(message, blocking)] = [f for f in found if "AKEYLESS_ACCESS_ID (" in f[0]]
    assert blocking
    assert f"was created by human in commit {created[:12]}, replacing lines " in message
    assert f"agent (Claude Code) wrote in commit {bump[:12]} without" in message


def test_an_agents_own_creation_reads_as_before(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    created = repo.commit({"main.tf": FIC}, author=CLAUDE)
    repo.commit({"main.tf": FIC.replace('"ci"', '"ci-2"')}, author=HUMAN)
    code, found = _nhi101(repo, base, capsys)
    assert code == 1
    assert found == [(
        "azurerm_federated_identity_credential.this (azure oidc_trust) was created by agent "
        f"(Claude Code) in commit {created[:12]} without a human's approval", True)]
