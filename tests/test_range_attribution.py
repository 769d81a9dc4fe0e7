"""Over a range, a change of an identity is its meaning's writers', not the last commit that
touched its file (new-user pass on real repositories, session 11: external-secrets' 58fc8a72c
adds three `secrets.ORACLE_*` to an OIDC job, Dependabot's 378bdb622 then only bumps the
harden-runner SHA of the file's other jobs; the range named the bot). Real git repos."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import DEPENDABOT, HUMAN, GitRepo, check_findings, found_at

CLAUDE = ("Claude", "noreply@anthropic.com")
ASKED = [("Requested-by", "Alice Human <alice@example.com>")]
OLD_PIN = "9af89fc71515a100421586dfdb3dc9c984fbf411"
NEW_PIN = "b09bb98e06d4d774595224525879c09bc6e98c40"
WF = ".github/workflows/e2e.yml"
#: The shape of external-secrets' e2e.yml: an OIDC job calling a reusable workflow with
#: repository secrets, and another job with a pinned harden-runner step.
WORKFLOW = """\
on:
  pull_request:
permissions:
  contents: read
jobs:
  integration-trusted:
    permissions:
      id-token: write # for oidc auth with aws/gcp/azure
      contents: read
    uses: ./.github/workflows/e2e-reusable.yml
    secrets:
      AWS_OIDC_ROLE_ARN: ${{ secrets.AWS_OIDC_ROLE_ARN }}
      ORACLE_KEY: ${{ secrets.ORACLE_KEY }}
%s
  guard:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
    - uses: step-security/harden-runner@%s # pinned
      with:
        egress-policy: audit
    - run: echo ok
"""
ORACLE = """\
      ORACLE_VAULT_OCID: ${{ secrets.ORACLE_VAULT_OCID }}
      ORACLE_COMPARTMENT_OCID: ${{ secrets.ORACLE_COMPARTMENT_OCID }}
"""
#: The callee, with its own OIDC job whose harden-runner step the bot bumps in place.
REUSABLE = """\
on:
  workflow_call:
    secrets:
      AWS_OIDC_ROLE_ARN:
        required: false
      ORACLE_KEY:
        required: false
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
      contents: read
    steps:
      - uses: step-security/harden-runner@%s # pinned
        with:
          egress-policy: audit
      - run: make test
        env:
          ORACLE_KEY: ${{ secrets.ORACLE_KEY }}
%s"""
REUSABLE_ENV = """\
          ORACLE_VAULT_OCID: ${{ secrets.ORACLE_VAULT_OCID }}
"""


def _files(added: bool, pin: str) -> dict[str, str]:
    return {WF: WORKFLOW % (ORACLE if added else "", pin),
            ".github/workflows/e2e-reusable.yml": REUSABLE % (
                pin, REUSABLE_ENV if added else "")}


def _range(make_repo: Callable[..., GitRepo], first: tuple[str, str],
           then: tuple[str, str]) -> tuple[GitRepo, str, str]:
    """A human base, then `first` adds the secrets to both OIDC jobs, then `then` only
    bumps the harden-runner pins. Returns (repo, base, the adding commit)."""
    repo = make_repo()
    base = repo.commit({"README.md": "# app\n", **_files(False, OLD_PIN)}, author=HUMAN)
    adding = repo.commit(_files(True, OLD_PIN), author=first, message="add oracle secrets",
                         trailers=ASKED if first == CLAUDE else [])
    repo.commit(_files(True, NEW_PIN), author=then, message="chore(deps): bump harden-runner",
                trailers=ASKED if then == CLAUDE else [])
    return repo, base, adding


def test_a_bot_bump_after_a_persons_secrets_change_is_not_the_bots(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The person added the secrets, Dependabot only re-pinned: no NHI101, exit 0 (each
    commit alone passes; so does the range)."""
    repo, base, _ = _range(make_repo, HUMAN, DEPENDABOT)
    code, findings = check_findings(repo, base, capsys)
    assert [f for f in findings if f["rule_id"] == "NHI101"] == []
    assert code == 0


def test_an_agents_secrets_change_before_a_persons_bump_is_the_agents(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The reverse: the agent added the secrets, a person bumped the pins after. Both OIDC
    jobs are the agent's change (its commit named), and the message says what changed."""
    repo, base, adding = _range(make_repo, CLAUDE, HUMAN)
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    hits = [f for f in findings if f["rule_id"] == "NHI101" and f["kind"] == "oidc_trust"]
    assert {(f["path"], f["start_line"], f["blocking"]) for f in hits} == {
        (WF, 8, True), (".github/workflows/e2e-reusable.yml", 14, True)}
    assert {f["commit"] for f in hits} == {adding}
    trusted = next(f for f in hits if f["path"] == WF)
    assert trusted["message"] == (
        f"{WF}#jobs.integration-trusted (github oidc_trust) was changed by agent (Claude Code) in "
        f"commit {adding[:12]} without a human's approval: it now holds the secrets "
        "ORACLE_VAULT_OCID, ORACLE_COMPARTMENT_OCID")


def test_a_bots_secrets_change_stays_the_bots(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Control: Dependabot's own commit adds the secrets (a person bumps after): it blocks,
    named on Dependabot's commit."""
    repo, base, adding = _range(make_repo, DEPENDABOT, HUMAN)
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    assert (("NHI101", WF, 8, True)) in found_at(findings)
    assert {f["commit"] for f in findings if f["rule_id"] == "NHI101"} == {adding}


#: terraform-aws-iam's shape (981121b): a module's trust document built from its caller's
#: `trust_policy_permissions`, and a local of the module that document does not read.
MODULE = """\
locals {
  oidc_providers     = [for url in var.oidc_provider_urls : replace(url, "https://", "")]
  bitbucket_provider = one(local.oidc_providers)
}

data "aws_iam_policy_document" "this" {
  count = var.create ? 1 : 0

  dynamic "statement" {
    for_each = var.trust_policy_permissions != null ? var.trust_policy_permissions : {}

    content {
      sid       = statement.key
      actions   = statement.value.actions
      effect    = statement.value.effect
      resources = statement.value.resources

      dynamic "principals" {
        for_each = statement.value.principals != null ? statement.value.principals : []

        content {
          type        = principals.value.type
          identifiers = principals.value.identifiers
        }
      }
    }
  }
}

resource "aws_iam_role" "this" {
  count              = var.create ? 1 : 0
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.this[0].json
  tags               = var.tags
}
"""
VARIABLES = """\
variable "create" {
  type    = bool
  default = true
}
variable "name" {
  type = string
}
variable "oidc_provider_urls" {
  type    = list(string)
  default = []
}
variable "trust_policy_permissions" {
  type = map(object({
    actions   = optional(list(string))
    effect    = optional(string, "Allow")
    resources = optional(list(string))
    principals = optional(list(object({
      type        = string
      identifiers = list(string)
    })))
  }))
  default = null
}
variable "tags" {
  type    = map(string)
  default = {}
}
"""
EXAMPLE = """\
module "instance_profile" {
  source = "../../modules/role"

  name = "instance-profile"

  trust_policy_permissions = {
    TrustRoleAndServiceToAssume = {
%s      principals = [{
        type        = "AWS"
        identifiers = ["arn:aws:iam::307990089504:root"]
      }]
    }
  }

  tags = { owner = "alice", ticket = "SEC-1", expires = "2027-01-01" }
}
"""
ACTIONS = """\
      actions = [
        "sts:AssumeRole",
        "sts:TagSession",
      ]
"""
AMAN = ("Aman Rao", "aman@example.com")
BRYANT = ("Bryant Biggs", "bryant@example.com")
DOCUMENT = "module.instance_profile.data.aws_iam_policy_document.this"


def test_a_widening_through_a_module_argument_is_the_arguments_writers(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """One person edits a local of the module the document does not read, another then adds
    `actions` to the caller's argument: the widening is named on the argument's commit. The
    module's `optional()` defaults are read (`parsers/terraform/type_defaults.py`), so base's
    statement is computed and grants nothing (`test_drift` covers the wording for a base
    action that is not computed)."""
    repo = make_repo()
    base = repo.commit({"modules/role/main.tf": MODULE, "modules/role/variables.tf": VARIABLES,
                        "examples/role/main.tf": EXAMPLE % ""}, author=HUMAN)
    repo.commit({"modules/role/main.tf": MODULE.replace(
        "one(local.oidc_providers)", "try(element(local.oidc_providers, 0), null)")},
        author=AMAN, message="fix: bitbucket provider")
    widening = repo.commit({"examples/role/main.tf": EXAMPLE % ACTIONS}, author=BRYANT,
                           message="docs: correct examples")
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    (drift,) = [f for f in findings if f["rule_id"] == "NHI302" and f["address"] == DOCUMENT]
    assert (drift["path"], drift["start_line"], drift["blocking"]) == (
        "modules/role/main.tf", 14, False)
    assert drift["commit"] == widening
    message = drift["message"]
    assert "gains sts:AssumeRole on *, sts:TagSession on *" in message
    assert "(base allowed nothing)" in message
    assert message.endswith("via module.instance_profile argument trust_policy_permissions "
                            "(examples/role/main.tf:6)")
