"""Passwords in credential files whose values are not `key = value` text (PostgreSQL's
`.pgpass`, Maven's `settings.xml`, .NET `appsettings*.json` connection strings) and s3cmd's
`.s3cfg`: a real value is NHI401 on its line, blocking; a placeholder, a reference or a
Maven-encrypted value is none. Every case runs `nhi-gate check` on a real git repository."""

from __future__ import annotations

import json
from typing import Any

import pytest

from checker.secrets.credential_files import credential_file_hits
from tests.conftest import HUMAN, GitRepo, check_findings

AGENT = ("Claude", "noreply@anthropic.com")
# A fake password assembled at run time (no secret-shaped literal in this file).
PASSWORD = "j-bizzmsrx" + "AYJg45x3f_HG" + "_ahZl0FfWw"

FILES = {
    ".pgpass": (f"# dev\ndb.internal:5432:app:app:{PASSWORD}\n", 2),
    "ci/settings.xml": ("<settings>\n  <servers>\n    <server>\n      <id>corp</id>\n"
                        f"      <password>{PASSWORD}</password>\n    </server>\n"
                        "  </servers>\n</settings>\n", 5),
    "src/Api/appsettings.Production.json": (json.dumps({
        "Logging": {"LogLevel": {"Default": "Information"}},
        "ConnectionStrings": {"Main": "Server=db;Database=app;User Id=app;"
                                      f"Password={PASSWORD};"}}, indent=2) + "\n", 8),
    ".s3cfg": f"[default]\nhost_base = s3.amazonaws.com\nsecret_key = {PASSWORD}\n",
    "deploy/nginx.conf": ("server {\n  location / {\n    proxy_set_header Authorization "
                          f'"Bearer {PASSWORD}";\n  }}\n}}\n', 3),
    "backup/rclone.conf": f"[nas]\ntype = sftp\npass = {PASSWORD}\n",
}


@pytest.mark.parametrize("path", sorted(FILES))
def test_an_agent_committing_a_credential_file_blocks(
    make_repo: Any, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    entry = FILES[path]
    text, line = entry if isinstance(entry, tuple) else (entry, 3)
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"}, author=HUMAN)
    repo.commit({path: text}, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert code == 1
    assert {(f["rule_id"], f["path"], f["start_line"], f["blocking"]) for f in found
            if f["rule_id"] == "NHI401"} == {("NHI401", path, line, True)}
    assert PASSWORD not in json.dumps(found)


@pytest.mark.parametrize(("path", "text"), [
    (".pgpass", "*:*:*:app:*\n"),
    (".pgpass", "# host:port:db:user:password\n"),
    ("settings.xml", "<password>{COQLCE6DU6GtcS5P=}</password>\n"),
    ("settings.xml", "<password>${env.NEXUS_PASSWORD}</password>\n"),
    ("appsettings.json", '{"Main": "Server=db;Password=changeme;"}\n'),
    ("appsettings.json", '{"Main": "Server=db;Password=${DB_PASSWORD};"}\n'),
    ("rclone.conf", "[nas]\ntype = sftp\npass =\nuser = deploy\n"),
])  # fmt: skip
def test_placeholders_references_and_encrypted_values_are_no_secret(path: str,
                                                                    text: str) -> None:
    assert credential_file_hits(path, text.splitlines()) == []


def test_a_pgpass_password_with_an_escaped_colon_is_read_whole() -> None:
    (hit,) = credential_file_hits(".pgpass", [f"db:5432:app:app:{PASSWORD}\\:x"])
    assert (hit.line, hit.key) == (1, "password")


def test_an_authorization_header_directive_is_read_and_a_variable_is_not() -> None:
    lines = [f'    proxy_set_header Authorization "Bearer {PASSWORD}";',
             '    proxy_set_header Authorization "Bearer $upstream_token";',
             "    # curl -H 'Authorization: Bearer <token>'"]
    hits = credential_file_hits("nginx.conf", lines)
    assert [(h.line, h.key) for h in hits] == [(1, "Authorization")]
    assert PASSWORD not in hits[0].redacted


@pytest.mark.parametrize(("path", "line"), [
    ("settings.xml", f"<password><![CDATA[{PASSWORD}]]></password>"),
    ("settings.xml", f"<m:password>{PASSWORD}</m:password>"),
    ("settings.xml", f"<gpg.passphrase>{PASSWORD}</gpg.passphrase>"),
    ("settings.xml", f"<sonar.token>{PASSWORD}</sonar.token>"),
    ("deploy/pgpass", f"db:5432:app:app:{PASSWORD}"),
    ("nginx.conf", f'    set $api_token "{PASSWORD}";'),
    ("rclone.conf", f'token = {{"access_token":"{PASSWORD}","token_type":"Bearer"}}'),
], ids=["maven-cdata", "maven-namespace", "maven-gpg-property", "maven-token-property",
        "pgpass-without-dot", "nginx-set", "rclone-oauth-token"])  # fmt: skip
def test_more_credential_file_forms(path: str, line: str) -> None:
    (hit,) = credential_file_hits(path, [line])
    assert hit.line == 1 and PASSWORD not in hit.redacted
