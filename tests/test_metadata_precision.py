"""False governance findings found on real repositories (issue 12), each reproduced here.

- NHI203 said "declares no expiry" for `timeadd("<date>", "<duration>")` (a quoted first
  argument) and for an expiry it cannot evaluate (`ttl = var.token_ttl`,
  `time_rotating.r.rotation_rfc3339`); an expiry known only after apply is judged by its
  duration (`timeadd(timestamp(), "720h")`) or said to be unknown, never "no expiry".
- NHI201/NHI202 fired on every identity of a reusable module whose tags are `var.tags` (26 of
  47 findings in terraform-aws-eks): the caller supplies that metadata, so it is reported once
  per module, naming the variable; an agent's new identity there still needs approval (NHI101).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.model import Location, SourceFile
from checker.parsers import terraform
from checker.policy.catalogue import load_catalogue
from checker.sources.modules import group_modules


def _scan(tmp_path: Path, files: dict[str, str], capsys: Any) -> list[tuple[str, str, int, str]]:
    """(rule id, address, line, message) of every finding of `nhi-gate scan` over `files`."""
    for name, text in files.items():
        path = tmp_path / "repo" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    main(["scan", str(tmp_path / "repo"), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    return sorted((f["rule_id"], f["address"], f["start_line"], f["message"]) for f in findings)


def _secret(name: str, expiry: str) -> str:
    return (f'resource "azurerm_key_vault_secret" "{name}" {{\n'
            f'  name            = "{name}"\n  value           = var.value\n'
            f'  key_vault_id    = var.vault\n  expiration_date = {expiry}\n'
            '  tags            = { owner = "team-a", ticket = "SEC-1" }\n}\n')


@pytest.mark.parametrize(("expiry", "message"), [
    ('timeadd("2020-01-01T00:00:00Z", "2160h")', "s expired on 2020-03-31"),
    ('timeadd("2999-01-01T00:00:00Z", "24h")',
     "s expires on 2999-01-02, more than 90 days from now"),
    ('timeadd(timestamp(), "8760h")',
     "s is valid for 365 days (expiration_date), over the 90-day maximum"),
    ('time_rotating.r.rotation_rfc3339',
     "s sets its expiry (expiration_date) from an expression nhi-gate cannot evaluate before "
     "apply, so it cannot be checked against the 90-day maximum (write a date, a duration, "
     'or timeadd(timestamp(), "<hours>h"))'),
])  # fmt: skip
def test_an_expiry_in_an_expression_is_judged_not_called_absent(
    tmp_path: Path, capsys: Any, expiry: str, message: str
) -> None:
    got = _scan(tmp_path, {"main.tf": _secret("s", expiry)}, capsys)
    line = 5 if "cannot evaluate" in message or "valid for" in message else 1
    assert got == [("NHI203", "azurerm_key_vault_secret.s", line,
                    f"azurerm_key_vault_secret.{message}")]


@pytest.mark.parametrize("expiry", [
    'timeadd(timestamp(), "720h")',
    'timeadd("2026-11-01T00:00:00Z", "1h")',
])  # fmt: skip
def test_an_expiry_within_the_maximum_is_no_finding(tmp_path: Path, capsys: Any,
                                                    expiry: str) -> None:
    if "2026" in expiry:  # a literal start: make it recent so the result is within 90 days
        start = dt.date.today().isoformat()
        expiry = f'timeadd("{start}T00:00:00Z", "720h")'
    assert _scan(tmp_path, {"main.tf": _secret("s", expiry)}, capsys) == []


def test_an_expiry_in_a_variable_is_called_unknown_not_absent(tmp_path: Path,
                                                              capsys: Any) -> None:
    """A default is not proof of what a run applies (the caller or `-var` may change it), so
    it neither satisfies NHI203 nor is it "no expiry" (vault-guides' `ttl = var.token_ttl`)."""
    token = ('# nhi-gate: owner=team-a ticket=SEC-1\nresource "vault_token" "t" {\n'
             '  policies = ["p"]\n  ttl      = var.token_ttl\n}\n')
    variables = 'variable "token_ttl" {\n  default = "24h"\n}\n'
    got = _scan(tmp_path, {"main.tf": token, "variables.tf": variables}, capsys)
    assert [f for f in got if f[0] == "NHI203"] == [
        ("NHI203", "vault_token.t", 4,
         "vault_token.t sets its expiry (ttl) from an expression nhi-gate cannot evaluate "
         "before apply, so it cannot be checked against the 90-day maximum (write a date, a "
         'duration, or timeadd(timestamp(), "<hours>h"))')]


#: A reusable module: its identities' tags come from the caller (`var.tags`, no default).
MODULE_VARIABLES = ('variable "name" {\n  type = string\n}\n\n'
                    'variable "tags" {\n  type = map(string)\n}\n')
MODULE_MAIN = """\
resource "aws_iam_role" "this" {
  name               = var.name
  assume_role_policy = "{}"
  tags               = var.tags
}

resource "aws_iam_user" "this" {
  name = var.name
  tags = merge(var.tags, { Name = "${var.name}-user" })
}

resource "aws_iam_role" "owned" {
  name               = "owned"
  assume_role_policy = "{}"
  tags               = merge(var.tags, { owner = "team-a" })
}
"""


def test_caller_supplied_tags_are_reported_once_per_module(tmp_path: Path, capsys: Any) -> None:
    got = _scan(tmp_path, {"modules/role/main.tf": MODULE_MAIN,
                           "modules/role/variables.tf": MODULE_VARIABLES}, capsys)
    metadata = [f for f in got if f[0] in ("NHI201", "NHI202")]
    tail = ("which the module's caller sets: the caller supplies the {key}, and none is set "
            "here (looked for {aliases}); set it in the tags every call of this module passes")
    assert metadata == [
        ("NHI201", "aws_iam_role.this", 4,
         "2 identities in module modules/role (aws_iam_role.this, aws_iam_user.this) take their "
         "tags only from var.tags (variables.tf:5), " + tail.format(
             key="owner", aliases="owner, team, owner_email")),
        ("NHI202", "aws_iam_role.this", 4,
         "3 identities in module modules/role (aws_iam_role.this, aws_iam_user.this, "
         "aws_iam_role.owned) take their tags only from var.tags (variables.tf:5), "
         + tail.format(key="ticket", aliases="ticket, jira, change_id")),
    ]


@pytest.mark.parametrize(("extra", "tags"), [
    ({"terraform.tfvars": 'tags = { env = "prod" }\n'}, "var.tags"),  # a root module's value
    ({}, "local.tags"),  # a local of this module: no caller sets it
    ({}, "merge(var.tags, local.extra)"),
])  # fmt: skip
def test_tags_this_module_sets_are_still_judged_per_identity(
    tmp_path: Path, capsys: Any, extra: dict[str, str], tags: str
) -> None:
    main_tf = (f'locals {{\n  tags = {{ env = "prod" }}\n  extra = {{}}\n}}\n\n'
               f'resource "aws_iam_user" "a" {{\n  name = "a"\n  tags = {tags}\n}}\n\n'
               f'resource "aws_iam_user" "b" {{\n  name = "b"\n  tags = {tags}\n}}\n')
    got = _scan(tmp_path, {"main.tf": main_tf, "variables.tf": MODULE_VARIABLES, **extra},
                capsys)
    assert [(f[0], f[1], f[2]) for f in got if f[0] in ("NHI201", "NHI202")] == [
        ("NHI201", "aws_iam_user.a", 6), ("NHI201", "aws_iam_user.b", 11),
        ("NHI202", "aws_iam_user.a", 6), ("NHI202", "aws_iam_user.b", 11)]


def test_the_parser_records_which_variables_fill_the_tags() -> None:
    sources = [SourceFile("m/main.tf", MODULE_MAIN.encode()),
               SourceFile("m/variables.tf", MODULE_VARIABLES.encode())]
    [(_, module)] = group_modules(sources).items()
    objs = {o.address: o for o in terraform.parse(sources[0], load_catalogue(),
                                                  module=module).objects}
    declared = (("var.tags", Location("m/variables.tf", 5, 7)),)
    assert {a: (o.metadata_from, dict(o.metadata)) for a, o in objs.items()} == {
        "aws_iam_role.this": (declared, {}),
        "aws_iam_user.this": (declared, {}),  # `${var.name}-user` is not known before apply
        "aws_iam_role.owned": (declared, {"owner": "team-a"}),
    }


def test_an_agents_identity_in_a_reusable_module_still_blocks(
    make_repo: Any, capsys: Any
) -> None:
    repo: GitRepo = make_repo()
    repo.commit({"modules/role/variables.tf": MODULE_VARIABLES}, author=HUMAN)
    repo.checkout("change", create=True)
    repo.commit({"modules/role/main.tf": MODULE_MAIN},
                author=("Claude", "noreply@anthropic.com"), message="Add roles")
    code = main(["check", "--repo", str(repo.path), "--base", "main", "--head", "HEAD",
                 "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    got = sorted((f["rule_id"], f["address"], f["start_line"], f["blocking"]) for f in findings
                 if f["rule_id"] in ("NHI101", "NHI201", "NHI202"))
    assert code == 1
    assert got == [
        ("NHI101", "aws_iam_role.owned", 12, True),
        ("NHI101", "aws_iam_role.this", 1, True),
        ("NHI101", "aws_iam_user.this", 7, True),
        ("NHI201", "aws_iam_role.this", 4, True),
        ("NHI202", "aws_iam_role.this", 4, True),
    ]


def test_entra_owners_are_the_owner_of_an_azuread_identity(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # external-secrets terraform/azure/.../service-principal/main.tf: the service principal
    # names its Entra ID owners; the one without `owners` still has no owner.
    (tmp_path / "main.tf").write_text("""\
resource "azuread_service_principal" "owned" {
  client_id = "00000000-0000-0000-0000-000000000001"
  owners    = var.application_owners
}

resource "azuread_service_principal" "unowned" {
  client_id = "00000000-0000-0000-0000-000000000002"
}

resource "azuread_group" "ops" {
  display_name     = "ops"
  security_enabled = true
  owners           = ["11111111-1111-1111-1111-111111111111"]
}
""")
    main(["scan", str(tmp_path), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert {f["address"] for f in findings if f["rule_id"] == "NHI201"} == {
        "azuread_service_principal.unowned"}
