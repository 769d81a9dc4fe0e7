"""Secret material precision and configuration formats (issue 12, session 8):

- a file no parser reads (source code, docs) is read only for values whose format proves they
  are credentials, also when it holds a private-key header: a credential-named identifier
  assigned code, a format string or a short literal is no finding, and a PEM header alone
  (no key body) is none; a real key block or token there still blocks;
- Java `.properties`, INI, TOML, `.netrc` and YAML `environment:`/`env:` maps (Compose) are
  read for credential-named keys, with `.env`'s placeholder and reference handling.
"""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest

from checker.secrets.config_values import environment_lines, netrc_hits
from checker.sources.discovery import classify, sniff
from tests.conftest import GitRepo, check_findings, found_at

AGENT = ("Claude", "noreply@anthropic.com")
_RNG = random.Random(812)
# Values assembled at run time (no secret-shaped literal in this file).
PASSWORD = "WPn5p50M" + "Yrfxqz1t8nDcC18drOzx3YIl"
HEX40 = "b5be379e" + "b7131f6fdd6adb82d784ddf3b24042a0"
PAT = "ghp_" + "Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8c"
_B64 = base64.b64encode(bytes(_RNG.randrange(256) for _ in range(480))).decode()
PKCS8 = "\n".join(["-----BEGIN PRIVATE " + "KEY-----", *(_B64[i:i + 64]
                   for i in range(0, len(_B64), 64)), "-----END PRIVATE " + "KEY-----"])
HEADER = "-----BEGIN PRIVATE " + "KEY-----"

#: path -> (content, the lines NHI401 must block on)
CONFIG_SECRETS: dict[str, tuple[str, set[int]]] = {
    "src/main/resources/application.properties": (
        "spring.datasource.url=jdbc:postgresql://db:5432/app\n"
        f"spring.datasource.username=app\nspring.datasource.password={PASSWORD}\n", {3}),
    "docker-compose.yml": (
        "services:\n  db:\n    image: postgres:16\n    environment:\n"
        f"      POSTGRES_PASSWORD: {PASSWORD}\n", {5}),
    "compose.yaml": (
        "services:\n  api:\n    image: app:1\n    environment:\n      - LOG_LEVEL=debug\n"
        f"      - API_TOKEN={PASSWORD}\n", {6}),
    "serverless.yml": (
        "service: shop\nprovider:\n  name: aws\n  environment:\n    STAGE: prod\n"
        f"    STRIPE_SECRET: '{PASSWORD}'\nfunctions:\n  hello:\n    handler: h.main\n", {6}),
    # A Spring property placeholder's default is the value whenever the variable is unset.
    "config/application-prod.properties": (
        "spring.datasource.username=app\n"
        f"spring.datasource.password=${{DB_PASSWORD:{PASSWORD}}}\n", {2}),
    "conf/app.ini": (f"[database]\nhost = db\npassword = {PASSWORD}\n", {3}),
    "conf/settings.toml": (f'[db]\npassword = "{PASSWORD}"\n', {2}),
    ".netrc": (f"machine api.corp.example login ci password {HEX40}\n", {1}),
    "home/_netrc": (f"machine a.example\n  login ci\n  password\n    {HEX40}\n", {4}),
}

#: The same files with a reference, a placeholder or no credential: nothing to report.
CONFIG_CLEAN: dict[str, str] = {
    "src/main/resources/application.properties": (
        "spring.datasource.username=app\nspring.datasource.password=${DB_PASSWORD}\n"
        "app.api-key=changeme\napp.token=${APP_TOKEN:}\napp.secret=${APP_SECRET:?unset}\n"),
    "docker-compose.yml": (
        "services:\n  db:\n    image: postgres:16\n    environment:\n"
        "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n      - API_TOKEN=$API_TOKEN\n"),
    "conf/app.ini": "[database]\nhost = db\npassword = changeme\n",
    "conf/settings.toml": '[db]\npassword = "${DB_PASSWORD}"\ntoken = "<your-token>"\n',
    ".netrc": "machine api.corp.example login ci password changeme\n",
    # A credential-named key outside an environment map of an unread YAML file is not read.
    "docs/config.yml": f"app:\n  password: {PASSWORD}\n",
}

#: Go source and docs (an agent's commit) whose credential-named identifiers hold code, format
#: strings and short literals, beside PEM headers with no key body: no finding.
GO_TEST = f"""package certificatemanager

const (
\ttestRemoteKey  = "my-cert"
\tpemPrivateKey  = "PRIVATE KEY"
\terrPushSecret  = "PushSecret: %v"
\terrGetSecret   = "GetSecret: %v"
)

func TestExport(t *testing.T) {{
\tcfg := Config{{
\t\tAPIKey: &esv1.ConjurAPIKey{{
\t\t\tAccount: "default",
\t\t}},
\t}}
\ttc.ExpectedSecret = &v1.Secret{{
\t\tType: v1.SecretTypeOpaque,
\t}}
\tif !strings.Contains(string(result), "{HEADER}") {{
\t\tt.Error("expected decrypted private key in output")
\t}}
}}
"""
DOC = f"""# Push a certificate

The key is written as a PKCS#8 block that starts with `{HEADER}`.

```yaml
tls.key: |
  {HEADER}
  ...
```
"""


@pytest.mark.parametrize("path", sorted(CONFIG_SECRETS))
def test_an_agent_adding_a_password_in_a_config_file_blocks_line_exact(
    make_repo: Any, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    text, lines = CONFIG_SECRETS[path]
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({path: text}, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert {f for f in found_at(found) if f[0].startswith("NHI4")} == {
        ("NHI401", path, line, True) for line in lines}
    assert code == 1
    assert PASSWORD not in json.dumps(found) and HEX40 not in json.dumps(found)


def test_references_and_placeholders_in_config_files_pass(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit(CONFIG_CLEAN, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert [f for f in found if f["rule_id"].startswith("NHI4")] == []
    assert code == 0


def test_go_source_and_docs_with_credential_names_and_a_pem_header_pass(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The external-secrets false blocks: `pemPrivateKey = "PRIVATE KEY"`, `errPushSecret =
    "PushSecret: %v"`, `APIKey: &esv1.ConjurAPIKey{`, `tc.ExpectedSecret = &v1.Secret{` and a
    bare `-----BEGIN PRIVATE KEY-----` in a `strings.Contains` and in a Markdown page."""
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({"providers/aws/cm_test.go": GO_TEST, "docs/push.md": DOC}, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert [f for f in found if f["rule_id"].startswith("NHI4")] == []
    assert code == 0


def test_a_real_key_or_token_in_go_source_still_blocks(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only format-proven values count in source code, and they still do: a PEM block with a
    key body (a Go raw string) and a GitHub token, beside the lines that must not fire (the
    bare header above the block is no block of its own: another header comes before its END)."""
    go = GO_TEST + f"\nvar testKey = `{PKCS8}`\n\nvar ghToken = \"{PAT}\"\n"
    key_line = go.split("\n").index("var testKey = `" + HEADER) + 1
    token_line = go.split("\n").index(f'var ghToken = "{PAT}"') + 1
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({"providers/aws/cm_test.go": go}, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert {f for f in found_at(found) if f[0].startswith("NHI4")} == {
        ("NHI401", "providers/aws/cm_test.go", key_line, True),
        ("NHI401", "providers/aws/cm_test.go", token_line, True)}
    assert code == 1


def test_scan_reads_config_files_and_environment_maps(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from checker.cli import main

    for name in ("src/main/resources/application.properties", "docker-compose.yml",
                 "conf/app.ini", "conf/settings.toml", ".netrc"):
        target = tmp_path / "repo" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(CONFIG_SECRETS[name][0], encoding="utf-8")
    (tmp_path / "repo" / "cm_test.go").write_text(GO_TEST, encoding="utf-8")
    code = main(["scan", str(tmp_path / "repo"), "--format", "json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert {(f["path"], f["start_line"]) for f in found if f["rule_id"] == "NHI401"} == {
        ("src/main/resources/application.properties", 3), ("docker-compose.yml", 5),
        ("conf/app.ini", 3), ("conf/settings.toml", 2), (".netrc", 1)}
    assert code == 1


@pytest.mark.parametrize(("path", "head", "fmt", "tokens"), [
    ("src/main/resources/application.properties", None, "secret_values", False),
    ("conf/app.ini", None, "secret_values", False),
    ("conf/settings.toml", None, "secret_values", False),
    (".netrc", None, "secret_values", False),
    ("home/_netrc", None, "secret_values", False),
    ("cm_test.go", GO_TEST.encode(), "secret_values", True),
    ("docs/push.md", DOC.encode(), "secret_values", True),
    ("docker-compose.yml", CONFIG_SECRETS["docker-compose.yml"][0].encode(), "secret_values",
     True),
    ("docs/config.yml", b"app:\n  name: shop\n", None, False),
    ("main.go", b"package main\n", None, False),
])  # fmt: skip
def test_sniff_config_files(path: str, head: bytes | None, fmt: str | None,
                            tokens: bool) -> None:
    found = sniff(path, head)
    assert (found.format, found.tokens) == (fmt, tokens)
    assert classify(path, head) == fmt


def test_environment_lines_follow_indentation() -> None:
    text = ("services:\n  web:\n    environment:\n      A: b\n\n      # note\n      C: d\n"
            "    ports:\n      - 80\n  db:\n    environment: {E: f}\n    env:\n    - G=h\n"
            "jobs:\n  - env:\n      I: j\n  - run: x\n")
    assert sorted(environment_lines(text.split("\n"))) == [4, 7, 11, 13, 16]


def test_netrc_passwords_across_lines_and_macros() -> None:
    lines = ["machine a.example login ci password changeme",
             "macdef init", f"password {HEX40}", "",
             "default login anonymous", "  password", f'  "{PASSWORD}"']
    assert [(h.line, h.key) for h in netrc_hits(lines)] == [(7, "password")]
