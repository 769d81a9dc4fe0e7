"""Secret material: detection (detect-secrets plugins + credential-named keys), facets, and
redaction in every output format (no literal secret value may appear anywhere)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from checker import secrets
from checker.cli import main
from checker.model import SourceFile

ROOT = Path(__file__).resolve().parents[1]

# Fake values assembled at run time (no token-shaped literal in this file).
AWS_KEY_ID = "AKIA" + "QZ7XN4JTR2LMVWP6"
GITHUB_PAT = "ghp_" + "Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8c"
GITLAB_PAT = "glpat-" + "Xy7Zq3Lm9Np2Rs5Tv8Wb"
DB_PASSWORD = "Qm8" + "vT2xLp9Rz4Kw"
CI_PASSWORD = "hZ4" + "nP8qW2xR7tKv"
PRIVATE_KEY_BODY = "MIIEow" + "IBAAKCAQEAx3mZ9Yq2Vt8Lk4Pn7Rs1Wb6Hc3Jd"
FIXTURE_LITERALS = (
    "AKIAQ7XN4JTR2LMVWP6H",
    "Zx8kLm2Qp9wVt4Rj",
    "ghp_R8bQ2mXv7LkP4sT9wZ1nC6yH3jF5dA0eGu2K",
    "xoxb-2741938475-9381726354-QwErTyUiOpAsDfGhJkLzXcVb",
    "AIzaSyB7kQ2mX9vL4pT8wR1nC6yH3jF5dA0eGuZ",
    "Wq3rT8yU",
)
LITERALS = (AWS_KEY_ID, GITHUB_PAT, GITLAB_PAT, DB_PASSWORD, CI_PASSWORD, PRIVATE_KEY_BODY,
            *FIXTURE_LITERALS)

TREE = {
    "infra/main.tf": f"""\
provider "aws" {{
  access_key = "{AWS_KEY_ID}"
}}

resource "aws_db_instance" "db" {{
  password = "{DB_PASSWORD}"
}}

resource "tls_private_key" "x" {{
  algorithm = "RSA"
}}

resource "local_file" "x" {{
  content  = tls_private_key.x.private_key_pem
  filename = "x.pem"
}}

output "pem" {{
  value = tls_private_key.x.private_key_pem
}}
""",
    "k8s/secret.yaml": f"""\
apiVersion: v1
kind: Secret
metadata:
  name: tokens
stringData:
  github: {GITHUB_PAT}
  key: |
    -----BEGIN RSA PRIVATE KEY-----
    {PRIVATE_KEY_BODY}
    -----END RSA PRIVATE KEY-----
""",
    ".github/workflows/ci.yml": f"""\
on: push
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: {AWS_KEY_ID}
          aws-secret-access-key: ${{{{ secrets.AWS_SECRET }}}}
      - run: echo "${{{{ secrets.AWS_SECRET }}}}"
""",
    ".gitlab-ci.yml": f"""\
variables:
  REGISTRY_PASSWORD: "{CI_PASSWORD}"
  GITLAB_TOKEN: {GITLAB_PAT}
build:
  script:
    - ./build.sh
""",
}


@pytest.fixture()
def secret_tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel, text in TREE.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for rule in ("NHI401", "NHI402", "NHI404", "NHI407"):
        for fixture in (ROOT / "fixtures" / "rules" / rule).iterdir():
            target = root / "fixtures" / rule / fixture.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(fixture.read_bytes())
    return root


def _scan_hits(text: str) -> list[tuple[int, str, str | None]]:
    return [(h.line, h.detector, h.key) for h in secrets.find_hardcoded(text.split("\n"))]


def test_redact_shape_and_length() -> None:
    digest = hashlib.sha256(GITHUB_PAT.encode()).hexdigest()[:8]
    assert secrets.redact(GITHUB_PAT) == f"ghp_…(sha256:{digest})"
    assert secrets.redact("Ab3dEf9h").startswith("A…(sha256:")  # 8 chars: one shown
    assert secrets.redact("abc").startswith("…(sha256:")


def test_format_plugins_find_whole_tokens() -> None:
    hits = secrets.find_hardcoded([f"token: {GITHUB_PAT}", f"x = {GITLAB_PAT}",
                                   f'id = "{AWS_KEY_ID}"'])
    assert [(h.line, h.detector) for h in hits] == [
        (1, "GitHub Token"), (2, "GitLab Token"), (3, "AWS Access Key")]
    # the hash is over the whole token, not the regex group (`ghp`)
    assert hits[0].redacted == secrets.redact(GITHUB_PAT)
    assert hits[0].key == "token"


def test_credential_named_keys_need_a_high_entropy_literal() -> None:
    text = "\n".join([
        f'password = "{DB_PASSWORD}"',      # 1: flagged
        'password = "changeme"',            # placeholder
        "password = var.db_password",       # reference
        'api_token = "${var.token}"',       # interpolation
        "db_password: '{{ .Values.pw }}'",  # template
        'client_secret = "aaaaaaaaaaaa"',   # low entropy
        'secret_name = "prod/db/Qm8vT2xLp9"',  # not a credential key
        "token: <your-token>",              # placeholder
        "PASSWORD: $DB_PASSWORD",           # variable
        "private_key = file(\"key.pem\")",  # a function call, not a literal
    ])
    assert _scan_hits(text) == [(1, "credential-named key", "password")]


GOOGLE_API_KEY = "AIza" + "Sy" + "Q4mZ7xV2kL9pT8wR1nB6cY3hJ5fD0s_Ga"
TEAMS_WEBHOOK = ("https://contoso.webhook.office.com/webhookb2/"
                 + "3f2b6c1e-8d4a-4b7e-9c2d-1a5e6f7b8c9d@" + "7e1d2c3b-4a5f-4e6d-8c7b-9a0f1e2d3c4b"
                 + "/IncomingWebhook/" + "8c1f4e2a9b3d47c6a5e0f1d2c3b4a596" + "/"
                 + "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")


def test_own_detectors_beside_detect_secrets() -> None:
    text = "\n".join([
        f'        "value": "{GOOGLE_API_KEY}"',       # 1: Google API key, any key name
        f"  - url: {TEAMS_WEBHOOK}",                 # 2: Teams webhook URL
        '  maps_key = "AIzaShort"',                  # too short for the API key format
        "  url: https://contoso.webhook.office.com/webhookb2/<id>",  # not a full webhook
    ])
    hits = secrets.find_hardcoded(text.split("\n"))
    assert [(h.line, h.detector) for h in hits] == [
        (1, "Google API Key"), (2, "Microsoft Teams Webhook")]
    assert hits[0].redacted == secrets.redact(GOOGLE_API_KEY)
    src = SourceFile("k8s/cm.yaml", f"apiVersion: v1\nkind: ConfigMap\ndata:\n"
                                    f"  MAPS: {GOOGLE_API_KEY}\n".encode())
    [obj] = secrets.scan(src, "kubernetes").objects
    assert (obj.platform, obj.location.start_line) == ("gcp", 4)
    assert GOOGLE_API_KEY not in repr(obj)


@pytest.mark.parametrize(("key", "expected"), [
    ("DB_PASSWORD", True), ("DB_PASS", True), ("DB_PASS_BD_2", True), ("smtp-pwd-ro", True),
    ("discovery.auth.password_in", True), ("PASS", False), ("pass_through", False),
    ("DB_PASSWORD_FILE", False), ("password_min", False), ("BYPASS", False),
    ("passenger", False), ("DB_PASS_LENGTH", False),
])
def test_password_named_keys_by_component(key: str, expected: bool) -> None:
    assert secrets.is_password_key(key) is expected


def test_password_in_name_value_pairs_and_quoted_brackets() -> None:
    text = "\n".join([
        "  - name: DB_PASS_BD",            # 1
        "    value: \"hZ4nP\"",            # 2: YAML env list
        '        "name": "RDS_PASSWORD",',  # 3
        f'        "value": "{CI_PASSWORD}"',  # 4: JSON (ECS container definitions)
        "    proxy-password:",             # 5
        "      value: Kd8sPq",             # 6: YAML key whose child `value:` holds it
        "    proxy-user:",                 # 7
        "      value: Kd8sPq",             # 8: not a password key
        '  client_secret = "F-oS9Su%}<>[];#"',  # 9: `<>` and `[]` are not placeholders
        '  token_key: "DFSFSFHFGFGF[DSFSFAADAFASD%3D"',  # 10: quoted `[` is a character
        "  token_key = local.tokens[0]",   # unquoted index: a reference
        "  password: <password>",          # a placeholder
        '  password = "varexample"',       # 13: a word that merely contains "example"
        '  password = "example-pass"',     # the word "example": a placeholder
        "## SHOULD PASS: Explicit false",  # prose, not a PASS key
    ])
    assert [line for line, _, _ in _scan_hits(text)] == [2, 4, 6, 9, 10, 13]


def test_base64_values_are_checked_decoded() -> None:
    import base64

    encoded = base64.b64encode(GITHUB_PAT.encode()).decode()
    placeholder = base64.b64encode(b"changeme-please").decode()
    hits = _scan_hits(f"  token: {encoded}\n  password: {placeholder}")
    assert hits == [(1, "GitHub Token", "token")]


def test_scan_facets_never_hold_the_value() -> None:
    src = SourceFile("infra/main.tf", TREE["infra/main.tf"].encode())
    objects = secrets.scan(src, "terraform").objects
    types = sorted((o.type, o.location.start_line) for o in objects)
    assert types == [("hardcoded_secret", 2), ("hardcoded_secret", 6), ("secret_file", 13),
                     ("secret_output", 18)]
    dumped = repr(objects)
    for value in (AWS_KEY_ID, DB_PASSWORD):
        assert value not in dumped
    assert all(o.derived_from for o in objects)


def test_unparsable_terraform_gives_only_line_facets() -> None:
    src = SourceFile("bad.tf", f'resource "x" {{\n  password = "{DB_PASSWORD}"\n'.encode())
    objects = secrets.scan(src, "terraform").objects
    assert [(o.type, o.location.start_line) for o in objects] == [("hardcoded_secret", 2)]


def test_binary_file_gives_nothing() -> None:
    assert secrets.scan(SourceFile("x.tf", b"\x00\x01"), "terraform").objects == ()


def _assert_clean(text: str, where: str) -> None:
    for value in LITERALS:
        assert value not in text, f"{where} leaks a secret value"
    for value in (AWS_KEY_ID[4:], GITHUB_PAT[4:], DB_PASSWORD[3:]):
        assert value not in text, f"{where} leaks part of a secret value"


def test_no_output_format_contains_a_secret(secret_tree: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    outputs: dict[str, str] = {}
    for fmt in ("text", "json", "sarif", "github"):
        code = main(["scan", str(secret_tree), "--format", fmt])
        captured = capsys.readouterr()
        assert code == 1, fmt
        outputs[f"scan {fmt} stdout"] = captured.out
        outputs[f"scan {fmt} stderr"] = captured.err
    outputs["github summary"] = summary.read_text(encoding="utf-8")
    sarif_file = tmp_path / "also.sarif"
    assert main(["scan", str(secret_tree), "--format", "json", "--output",
                 str(tmp_path / "out.json"), "--sarif", str(sarif_file)]) == 1
    outputs["--output json"] = (tmp_path / "out.json").read_text(encoding="utf-8")
    outputs["--sarif file"] = sarif_file.read_text(encoding="utf-8")
    for fmt in ("table", "json", "csv"):
        code = main(["inventory", str(secret_tree), "--format", fmt])
        captured = capsys.readouterr()
        assert code == 0, fmt
        outputs[f"inventory {fmt}"] = captured.out + captured.err
    for where, text in outputs.items():
        _assert_clean(text, where)
    report = json.loads(outputs["scan json stdout"])
    rules = {f["rule_id"] for f in report["findings"]}
    assert {"NHI401", "NHI402", "NHI403", "NHI404", "NHI406"} <= rules
    redacted = [f["message"] for f in report["findings"] if f["rule_id"] == "NHI401"]
    assert any(secrets.redact(GITHUB_PAT) in m for m in redacted)
    assert any(secrets.redact(GITLAB_PAT) in m for m in redacted)
    assert any(secrets.redact(CI_PASSWORD, password_like=True) in m for m in redacted)
    sarif = json.loads(outputs["scan sarif stdout"])
    assert any(r["ruleId"] == "NHI401" for r in sarif["runs"][0]["results"])
    assert "::error" in outputs["scan github stdout"]


def test_a_terraform_type_constraint_is_no_password() -> None:
    # cloud-foundation-fabric modules/bigquery-connection/variables.tf: `password = string` is
    # the type of an object attribute, not a value; a quoted "string" would be a literal.
    text = """\
variable "connections" {
  type = map(object({
    credential = object({
      username = string
      password = string
      api_key  = any
    })
  }))
}
locals {
  password = "string"
}
"""
    assert [(h.line, h.key) for h in secrets.find_hardcoded(text.split("\n"))] == [
        (11, "password")]


def test_one_line_json_names_each_secrets_own_key() -> None:
    """In one-line JSON (a `terraform.tfvars.json`), a token is reported under its own key, not
    the pair before it; both tokens on the line are found."""
    from checker.secrets.hardcoded import find_hardcoded

    aws = "Egza" + "q7Rt2LmN9xVb3KpW8sYd4FhJ6gUc1ZoE5iTaQ0wB"[:36]
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    line = f'{{"region":"eu-west-1","aws_secret_key":"{aws}","gh":"{token}"}}'
    hits = find_hardcoded([line])
    assert sorted((h.line, h.detector, h.key) for h in hits) == [
        (1, "AWS Access Key", "aws_secret_key"), (1, "GitHub Token", "gh")]
