"""False governance findings found on real repositories (issue 12), each reproduced here.

- NHI203 said "declares no expiry" for `timeadd("<date>", "<duration>")` (a quoted first
  argument) and for an expiry it cannot evaluate (`ttl = var.token_ttl`,
  `time_rotating.r.rotation_rfc3339`); an expiry known only after apply is judged by its
  duration (`timeadd(timestamp(), "720h")`) or said to be unknown, never "no expiry".
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main


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
