"""Credentials in .NET `appsettings*.json` beyond connection strings
(`checker.secrets.appsettings`): a key that names key material (`Jwt:SigningKey`), a bare
`Key` in a `Jwt` section, or a credential-named key, holding a random literal, is NHI401 on
its line whoever commits it, in JSON with comments and trailing commas and when nested over
several lines; a placeholder, a reference or an empty value is none. Attacker re-check cases
`sec-appsettings-comment`, `sec-appsettings-nested-key`, `fb-appsettings-comment`,
`fb-appsettings-emptypw`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from checker import secrets
from checker.model import SourceFile
from checker.secrets.appsettings import Leaf, appsettings_hits, string_leaves
from checker.secrets.credential_files import credential_file_hits
from tests.conftest import HUMAN, GitRepo, check_findings, found_at

AGENT = ("Claude", "noreply@anthropic.com")
PERSON = ("Bob Builder", "bob@example.com")
# A fake key assembled at run time (no secret-shaped literal in this file).
KEY = "Xk7Qz9vLmP2x" + "R8tWn4YbC6dF"
COMMENTED = f'{{\n  // prod\n  "Jwt": {{ "SigningKey": "{KEY}" }},\n}}\n'
NESTED = ('{\n  "Logging": { "LogLevel": { "Default": "Information" } },\n  "Jwt": {\n'
          f'    "Issuer": "https://id.example.com",\n    "Key": "{KEY}",\n  }},\n}}\n')


@pytest.mark.parametrize(("path", "text", "line", "key"), [
    ("appsettings.json", COMMENTED, 3, "Jwt:SigningKey"),
    ("src/Api/appsettings.Production.json", NESTED, 5, "Jwt:Key"),
])  # fmt: skip
@pytest.mark.parametrize("who", [AGENT, PERSON])
def test_key_material_in_appsettings_blocks_whoever_commits_it(
    make_repo: Any, capsys: pytest.CaptureFixture[str], path: str, text: str, line: int,
    key: str, who: tuple[str, str],
) -> None:
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "# none\n"}, author=HUMAN)
    repo.commit({path: text}, author=who)
    code, found = check_findings(repo, base, capsys)
    assert code == 1
    assert found_at(found) == {("NHI401", path, line, True)}
    assert f"hardcoded in `{key}`" in found[0]["message"]
    assert KEY not in json.dumps(found)


@pytest.mark.parametrize("text", [
    '{\n  // logging\n  "Logging": { "LogLevel": { "Default": "Information" } },\n'
    '  "ConnectionStrings": { "Db": "Server=db;Database=app;Trusted_Connection=True;" },\n}\n',
    '{"Smtp":{"Host":"smtp","Password":""},"ConnectionStrings":{"Db":"Host=db;Username=app;'
    'Password=${DB_PASSWORD}"}}\n',
    '{\n  "Jwt": {\n    "Key": "<your-signing-key>",\n    "Issuer": "https://id.example.com",\n'
    '    "SigningKeyPath": "certs/signing.pem"\n  },\n'
    '  "Auth": { "ClientSecret": "${CLIENT_SECRET}" }\n}\n',
    '{\n  "FeatureFlags": {\n    "Key": "Dark9ModeToggle2024xYz"\n  },\n'
    '  "Cache": { "Key": "users" }\n}\n',
])  # fmt: skip
def test_placeholders_references_and_other_keys_are_no_secret(
    make_repo: Any, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "# none\n"}, author=HUMAN)
    repo.commit({"appsettings.Development.json": text}, author=AGENT)
    assert check_findings(repo, base, capsys) == (0, [])


def test_a_value_the_line_reading_found_is_said_once() -> None:
    text = f'{{"Stripe":{{"SecretKey":"{KEY}"}},"Auth":{{"ClientSecret":"{KEY}"}}}}\n'
    facets = secrets.scan(SourceFile("appsettings.Staging.json", text.encode()),
                          "secret_values").objects
    assert [(o.location.start_line, o.address.split(":")[0]) for o in facets] == [
        (1, "appsettings.Staging.json#secret.SecretKey")]


def test_string_leaves_carry_their_key_path_and_line() -> None:
    text = '{\n  /* a\n  comment */ "A": {\n    "B": ["x", {"C": "y"}],\n  },\n  "D": "z",\n}\n'
    assert list(string_leaves(text)) == [
        Leaf(4, ("A", "B"), '"x"'), Leaf(4, ("A", "B", "C"), '"y"'), Leaf(6, ("D",), '"z"')]


def test_appsettings_hits_name_the_configuration_key() -> None:
    hits = appsettings_hits(NESTED)
    assert [(h.line, h.key) for h in hits] == [(5, "Jwt:Key")]


def test_a_service_bus_shared_access_key_is_a_credential() -> None:
    sas = "q8Zx3Lw0Pn7Rt2Yb" + "6Vc9Mk4Jd1Hs5Fg8Ae3Wq0Tz7U="
    line = ('{"Bus": "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;'
            f'SharedAccessKey={sas}"}}')
    assert [(h.line, h.key) for h in credential_file_hits("appsettings.json", [line])] == [
        (1, "SharedAccessKey")]
    assert credential_file_hits("appsettings.json", [line.replace(sas, "<key>")]) == []


def test_a_value_that_describes_the_key_is_no_secret() -> None:
    """`"SigningKey": "base64-encoded-512-bit-key"` documents what belongs there."""
    text = '{\n  "Jwt": { "SigningKey": "base64-encoded-512-bit-key" }\n}\n'
    assert appsettings_hits(text) == []
