"""Issue 15, credential files outside the formats nhi-gate parses: SSH and PEM private keys
(any name), GCP service-account key JSON, Docker registry auth configs, `.npmrc`, `.pypirc`
and AWS shared `credentials` files are read for secret material (NHI401, line-exact,
redacted), and files of the same names without a credential pass."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest

from checker.sources.discovery import classify
from tests.conftest import HUMAN, GitRepo, check_findings, found_at

AGENT = ("Claude", "noreply@anthropic.com")
_RNG = random.Random(15)
# Fake key material assembled at run time (no key-shaped literal in this file).
_B64 = base64.b64encode(bytes(_RNG.randrange(256) for _ in range(640))).decode()
_BODY = [_B64[i:i + 64] for i in range(0, len(_B64), 64)]


def _pem(label: str) -> str:
    return "\n".join([f"-----BEGIN {label}-----", *_BODY, f"-----END {label}-----"]) + "\n"


RSA = _pem("RSA " + "PRIVATE KEY")
OPENSSH = _pem("OPENSSH " + "PRIVATE KEY")
PKCS8 = _pem("PRIVATE " + "KEY")
CERT = _pem("CERTIFICATE")
PAT = "ghp_" + "Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8c"
PASSWORD = "Qm8" + "vT2xLp9Rz4Kw"
AWS_ID = "AKIA" + "Q3EGHV7MZXJ4PLKB"
AWS_SECRET = "wJalr" + "XUtnFEMI/K7MDENG/bPxRfiCYzq8Lm2Tq9Wd"
SA_KEY = json.dumps({
    "type": "service_account", "project_id": "shop-prod", "private_key_id": "3f1c" * 10,
    "private_key": PKCS8, "client_email": "deployer@shop-prod.iam.gserviceaccount.com",
    "client_id": "104" + "1" * 18}, indent=2) + "\n"
DOCKER_AUTH = base64.b64encode(f"deployer:{PASSWORD}".encode()).decode()
DOCKER = json.dumps({"auths": {"registry.example.com": {"auth": DOCKER_AUTH}}},
                    indent=2) + "\n"

#: path -> (content, the lines NHI401 is expected on)
CREDENTIAL_FILES: dict[str, tuple[str, set[int]]] = {
    ".ssh/id_rsa": (RSA, {1}),
    "keys/deploy_key": (OPENSSH, {1}),
    "keys/deploy.pem": (RSA, {1}),
    "tls/server.key": (PKCS8, {1}),
    "home/id_ed25519": (OPENSSH, {1}),
    "home/id_ecdsa": (_pem("EC " + "PRIVATE KEY"), {1}),
    "credentials.json": (SA_KEY, {5}),
    "deploy/sa-key.json": (SA_KEY, {5}),
    "deploy/anything.json": (SA_KEY, {5}),
    ".dockerconfigjson": (DOCKER, {4}),
    ".docker/config.json": (DOCKER, {4}),
    ".npmrc": (f"registry=https://registry.npmjs.org/\n//npm.pkg.github.com/:_authToken={PAT}\n",
               {2}),
    ".pypirc": (f"[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\n"
                f"password = {PASSWORD}\n", {6}),
    ".aws/credentials": (f"[default]\naws_access_key_id = {AWS_ID}\n"
                         f"aws_secret_access_key = {AWS_SECRET}\n", {2, 3}),
    "ops/credentials": (f"[prod]\naws_secret_access_key = {AWS_SECRET}\n", {2}),
}

#: Files of the same kinds without a credential: nothing to report.
CLEAN_FILES = {
    "tls/server.pem": CERT,
    ".npmrc": "//npm.pkg.github.com/:_authToken=${NPM_TOKEN}\nalways-auth=true\n",
    "deploy/sa-key.json": json.dumps({"type": "service_account", "project_id": "shop-prod",
                                      "client_email": "deployer@shop-prod.iam.gserviceaccount"
                                      ".com"}, indent=2) + "\n",
    ".docker/config.json": json.dumps({"credsStore": "desktop", "auths": {
        "registry.example.com": {}, "ghcr.io": {"auth": base64.b64encode(
            b"ci:${CR_PAT}").decode()}}}, indent=2) + "\n",
}


@pytest.mark.parametrize("path", sorted(CREDENTIAL_FILES))
def test_an_agent_adding_a_credential_file_blocks_line_exact(
    make_repo: Any, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    text, lines = CREDENTIAL_FILES[path]
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({path: text}, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert {f for f in found_at(found) if f[0] == "NHI401"} == {
        ("NHI401", path, line, True) for line in lines}
    assert code == 1
    out = json.dumps(found)  # redacted: the secret never reaches the report
    for secret in (_BODY[3], PAT, PASSWORD, AWS_SECRET, DOCKER_AUTH):
        assert secret not in out
    if "docker" in path:  # a password: no prefix, a scrypt digest (redact.PASSWORD_LIKE)
        assert "Docker Registry Auth" in out and "scrypt:" in out


def test_a_person_adding_a_credential_file_is_still_reported(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A private key committed by a person is secret material too (NHI401 blocks whoever
    writes it, like a key in a `.env` file)."""
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({".ssh/id_rsa": RSA}, author=HUMAN)
    code, found = check_findings(repo, base, capsys)
    assert ("NHI401", ".ssh/id_rsa", 1) in {f[:3] for f in found_at(found)}
    assert code == 1


def test_credential_file_names_without_a_credential_pass(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit(CLEAN_FILES, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert [f for f in found if f["rule_id"].startswith("NHI4")] == []
    assert code == 0


@pytest.mark.parametrize(("path", "head", "fmt"), [
    (".ssh/id_rsa", None, "secret_values"),
    ("a/id_ed25519.pub", None, None),
    ("keys/deploy_key", RSA.encode(), "secret_values"),
    ("keys/deploy_key", b"not a key\n", None),
    ("notes.txt", b"see below\n" + RSA.encode(), "secret_values"),
    ("tls/server.pem", None, "secret_values"),
    (".npmrc", None, "secret_values"),
    ("pkg/.pypirc", None, "secret_values"),
    (".aws/credentials", None, "secret_values"),
    (".dockerconfigjson", None, "secret_values"),
    (".docker/config.json", DOCKER.encode(), "secret_values"),
    ("deploy/sa-key.json", SA_KEY.encode(), "secret_values"),
    ("deploy/app.json", b'{"name": "app"}\n', None),
])  # fmt: skip
def test_classify_credential_files(path: str, head: bytes | None, fmt: str | None) -> None:
    assert classify(path, head) == fmt


def test_the_precommit_hook_passes_credential_files() -> None:
    import re
    from pathlib import Path

    manifest = (Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text(
        encoding="utf-8")
    # Every staged text file reaches the hook (issue 12); nhi-gate picks the reader by name.
    assert re.search(r"files: '([^']+)'", manifest) is None and "types: [text]" in manifest
    for name in (".ssh/id_rsa", "tls/server.key", "keys/deploy.pem", ".npmrc", "a/.pypirc",
                 ".aws/credentials", ".dockerconfigjson"):
        assert classify(name, None) == "secret_values", name
    assert classify(".ssh/id_rsa.pub", None) is None


def test_scan_reads_credential_files_by_name(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from checker.cli import main

    for name in (".ssh/id_rsa", ".npmrc", ".aws/credentials", "tls/server.key"):
        target = tmp_path / "repo" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(CREDENTIAL_FILES[name][0], encoding="utf-8")
    code = main(["scan", str(tmp_path / "repo"), "--format", "json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert {(f["path"], f["start_line"]) for f in found if f["rule_id"] == "NHI401"} == {
        (".ssh/id_rsa", 1), (".npmrc", 2), (".aws/credentials", 2),
        (".aws/credentials", 3), ("tls/server.key", 1)}
    assert code == 1
