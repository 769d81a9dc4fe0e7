"""Issue 15, secret material: one placeholder judgement for NHI401 and NHI404, AWS's documented
example keys as non-blocking notes, password-like values redacted without prefix or fast hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from checker import secrets
from checker.cli import main

#: Placeholders issue 15 saw NHI404 flag while NHI401 ignored them, and the README forms.
PLACEHOLDERS = ("change-me-placeholder", "CHANGEME", "p-XXXX", "my-password", "<password>",
                "your-token-here")
#: A value both rules must report (assembled at run time: no secret-shaped literal here).
REAL = "Qm8" + "vT2xLp9Rz4Kw"


def _scan(tmp_path: Path, files: dict[str, str], capsys: pytest.CaptureFixture[str]
          ) -> tuple[int, list[dict[str, object]]]:  # fmt: skip
    for name, text in files.items():
        target = tmp_path / "repo" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    code = main(["scan", str(tmp_path / "repo"), "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def _secret(value: str) -> str:
    return ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\n"
            f"stringData:\n  password: {value}\n")


def _configmap(value: str) -> str:
    return (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db\ndata:\n"
            f"  db_password: {value}\n")


@pytest.mark.parametrize("value", [*PLACEHOLDERS, REAL])
def test_nhi401_and_nhi404_judge_a_placeholder_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    _, found = _scan(tmp_path, {"secret.yaml": _secret(value), "cm.yaml": _configmap(value)},
                     capsys)
    at = {(f["rule_id"], f["path"], f["start_line"], f["level"]) for f in found
          if str(f["rule_id"]).startswith("NHI40")}
    if value == REAL:
        assert at == {("NHI404", "secret.yaml", 7, "error"), ("NHI401", "secret.yaml", 7, "error"),
                      ("NHI401", "cm.yaml", 6, "error")}
    elif value.startswith("<"):  # a deploy-time template (`<password>`): no data at all
        assert at == set()
    else:  # both call it a placeholder: no NHI401, and NHI404 only notes the Secret's shape
        assert at == {("NHI404", "secret.yaml", 7, "note")}


def test_nhi404_decodes_data_before_judging_a_placeholder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n"
            "  password: Q0hBTkdFTUU=\n")  # base64 of CHANGEME
    _, found = _scan(tmp_path, {"secret.yaml": text}, capsys)
    assert [(f["rule_id"], f["level"], f["blocking"]) for f in found
            if str(f["rule_id"]).startswith("NHI40")] == [("NHI404", "note", False)]


def test_documented_aws_example_key_is_a_non_blocking_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_id = "AKIAIOSFODNN7" + "EXAMPLE"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
    text = (f'provider "aws" {{\n  access_key = "{key_id}"\n'
            f'  secret_key = "{secret}"\n}}\n')
    code, found = _scan(tmp_path, {"main.tf": text}, capsys)
    assert code == 0
    assert {(f["rule_id"], f["start_line"], f["level"], f["blocking"]) for f in found} == {
        ("NHI401", 2, "note", False), ("NHI401", 3, "note", False)}
    assert all("documented example" in str(f["message"]) for f in found)


def test_a_real_aws_key_still_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = 'provider "aws" {\n  access_key = "' + "AKIA" + 'QZ7XN4JTR2LMVWP6"\n}\n'
    code, found = _scan(tmp_path, {"main.tf": text}, capsys)
    assert code == 1
    assert [(f["rule_id"], f["level"], f["blocking"]) for f in found] == [
        ("NHI401", "error", True)]


def test_password_like_value_shows_no_prefix_and_no_fast_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = "hunter" + "2hunter2"
    _, found = _scan(tmp_path, {"main.tf": f'locals {{\n  db_password = "{password}"\n}}\n'},
                     capsys)
    fast = hashlib.sha256(password.encode()).hexdigest()[:8]
    (finding,) = found
    assert finding["rule_id"] == "NHI401"
    shown = str(finding["message"]) + str(finding["address"])
    assert "…(scrypt:" in shown and fast not in shown and "hun" not in shown
    assert secrets.redact(password, password_like=True) in str(finding["address"])
    # the same value, the same fingerprint, on every run and machine
    assert secrets.redact(password, password_like=True) == secrets.redact(
        password, password_like=True)
    assert secrets.redact(password, password_like=True) != secrets.redact(
        password + "!", password_like=True)


#: The wrong NHI401s measured on the five public repositories of issue 15 (argo-cd,
#: external-secrets, cloud-foundation-fabric), one line each, and the shape they stand for.
FIVE_REPO_FALSE_POSITIVES = [
    ("password: my-password\n", "README placeholder"),
    ("bearerToken: my-token\n", "README placeholder"),
    ("webhook.azuredevops.password: shhhh! it's an azure devops secret\n", "YAML prose"),
    ("- name: RESTIC_PASSWORD\n  value: password\n", "a credential word as the value"),
    ("tlsSecret: keycloak-tls\n", "a Secret's name"),
    ('secops_api_key_secret_key   = "secops-feeds-api-key"\n', "a secret-manager entry's name"),
    ('oauth2_client_secret = "client-secret"\n', "a name-shaped placeholder"),
    ('password = v.type == "BUILT_IN" ? try(random_password.p[k].result, v.password) : null\n',
     "an HCL expression"),
    ("password: dGVzdC1wYXNzd29yZA==\n", "base64 of test-password"),
    ("ClientSecret: bXktc2VydmljZS1wcmluY2lwbGUtY2xpZW50LXNlY3JldAo= #note\n",
     "base64 of my-service-principle-client-secret and a newline"),
    ("password: dGVzdA== # test\n", "base64 of test"),
    ("# static token: https://developer.hashicorp.com/vault/docs/auth/token\n", "a comment"),
    ("# - secretKey: password_encrypted_base64\n", "a comment"),
    ('token: "**access token goes here**"\n', "placeholder prose"),
    ("full_secret: '{\"username\":\"some-username\",\"password\":\"supersecretpassword\"}'\n",
     "placeholder JSON"),
    ("tlsSecret: wordpress.local-tls\n", "a Secret's name with a dot"),
    ('"token_key": "access_token",\n', "a field name in a Helm values file"),
    ("## key should start with -----BEGIN CERTIFICATE----- or\n"
     "## -----BEGIN RSA PRIVATE KEY-----\n##\n# - name: wordpress.local-tls\n",
     "a private-key header in a comment, no block"),
]


@pytest.mark.parametrize(("text", "shape"), FIVE_REPO_FALSE_POSITIVES,
                         ids=[s for _, s in FIVE_REPO_FALSE_POSITIVES])
def test_five_repo_false_positives_are_gone(text: str, shape: str) -> None:
    assert secrets.find_hardcoded(text.split("\n")) == [], shape


@pytest.mark.parametrize("text", [
    "- name: KC_HTTPS_TRUST_STORE_PASSWORD\n  value: Op3nsh1ftCA\n",
    '"wordpress-password": "' + "Skt2T0tj" + 'Mk5PdQ==",\n',
    "password: S3cr3t" + "P@ss\n",
    "DB_PASSWORD=" + "correct-horse-battery\n",  # a passphrase under a password key is kept
    "api_token: " + "Zq8vT2xLp9Rz4KwB\n",
])
def test_literal_passwords_beside_them_are_still_found(text: str) -> None:
    assert [h.detector for h in secrets.find_hardcoded(text.split("\n"))] == [
        "credential-named key"]


def test_a_commented_out_whole_private_key_is_still_found() -> None:
    body = "MIIEowIBAAKCAQEAx3mZ9Yq2Vt8Lk4Pn7Rs1Wb6Hc3Jd" + "Qm8vT2xLp9Rz4KwZx8kLm2Qp9wVt4Rj"
    lines = ["# -----BEGIN RSA PRIVATE KEY-----", f"# {body}", "# -----END RSA PRIVATE KEY-----"]
    assert [(h.line, h.detector) for h in secrets.find_hardcoded(lines)] == [(1, "Private Key")]


def test_a_multi_line_secret_value_is_data_whatever_words_it_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """kube-prometheus' grafana.ini in `stringData` says `default` and `none`: still data."""
    text = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: grafana-config\nstringData:\n"
            "  grafana.ini: |\n    [auth]\n    default_theme = none\n")
    _, found = _scan(tmp_path, {"secret.yaml": text}, capsys)
    assert [(f["rule_id"], f["start_line"]) for f in found if f["rule_id"] == "NHI404"] == [
        ("NHI404", 6)]


_TLS_SECRET = """apiVersion: v1
kind: Secret
metadata:
  name: vault-tls-cert
type: kubernetes.io/tls
stringData:
  tls.crt: |
    -----BEGIN CERTIFICATE-----
    {crt}
    -----END CERTIFICATE-----
  tls.key: |
    -----BEGIN PRIVATE KEY-----
    {key}
    -----END PRIVATE KEY-----
"""


def test_pem_armour_around_a_placeholder_is_a_placeholder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A docs snippet's Secret whose PEM blocks hold `<your-client-certificate>` (external-secrets
    78899a891) is an NHI404 note; the same Secret with encoded material still blocks."""
    snippet = _TLS_SECRET.format(crt="<your-client-certificate>", key="<your-client-private-key>")
    _, found = _scan(tmp_path / "docs", {"s.yaml": snippet}, capsys)
    assert [(f["rule_id"], f["level"], f["start_line"]) for f in found
            if f["rule_id"] == "NHI404"] == [("NHI404", "note", 7)]
    body = "MIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEBCwUAMBExDzANBgNVBAMMBnVudXNlZDAe"
    real = _TLS_SECRET.format(crt=body, key=body[::-1])
    code, found = _scan(tmp_path / "real", {"s.yaml": real}, capsys)
    assert code == 1
    assert ("NHI404", "error", 7) in [(f["rule_id"], f["level"], f["start_line"]) for f in found]
