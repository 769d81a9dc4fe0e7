"""Token formats nhi-gate detects beside detect-secrets' plugins (`secrets.detectors`
`OWN_DETECTORS`): Anthropic and OpenAI API keys, npm and Hugging Face tokens, in any file a
change adds (source code, JSON, shell), and what does not fire (placeholders, documentation
examples, identifiers that only start like a token).

Every token here is generated at run time from a seeded random source: none is a real key.
"""

from __future__ import annotations

import random
import string
import zlib
from collections.abc import Callable

import pytest

from checker import secrets
from tests.conftest import COPILOT, HUMAN, GitRepo, check_findings, found_at

_RNG = random.Random(20261206)
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_TOKEN_CHARS = string.ascii_letters + string.digits + "_-"


def _random(chars: str, n: int) -> str:
    return "".join(_RNG.choice(chars) for _ in range(n))


def _npm_token() -> str:
    """`npm_`, 30 random base62 characters and their CRC32 in 6 base62 digits."""
    body = _random(string.ascii_letters + string.digits, 30)
    crc, digits = zlib.crc32(body.encode()), ""
    while crc:
        crc, r = divmod(crc, 62)
        digits = _BASE62[r] + digits
    return "npm_" + body + digits.rjust(6, "0")


ANTHROPIC = "sk-ant-" + "api03-" + _random(_TOKEN_CHARS, 93) + "AA"
ANTHROPIC_ADMIN = "sk-ant-" + "admin01-" + _random(_TOKEN_CHARS, 93) + "AA"
OPENAI_PROJECT = ("sk-" + "proj-" + _random(_TOKEN_CHARS, 74) + "T3Blbk" + "FJ"
                  + _random(_TOKEN_CHARS, 74))
OPENAI_SERVICE = ("sk-" + "svcacct-" + _random(_TOKEN_CHARS, 58) + "T3Blbk" + "FJ"
                  + _random(_TOKEN_CHARS, 58))
OPENAI_ADMIN = ("sk-" + "admin-" + _random(_TOKEN_CHARS, 58) + "T3Blbk" + "FJ"
                + _random(_TOKEN_CHARS, 58))
NPM = _npm_token()
HUGGING_FACE = "hf_" + _random(string.ascii_letters, 34)


def _tokens(text: str) -> list[tuple[int, str]]:
    return [(h.line, h.detector) for h in secrets.find_tokens(text.split("\n"))]


@pytest.mark.parametrize(("line", "detector"), [
    (f'ANTHROPIC_API_KEY = "{ANTHROPIC}"', "Anthropic API Key"),
    (f"client = Anthropic(api_key='{ANTHROPIC_ADMIN}')", "Anthropic API Key"),
    (f'{{"provider": "openai", "api_key": "{OPENAI_PROJECT}"}}', "OpenAI API Key"),
    (f"export OPENAI_KEY={OPENAI_SERVICE}", "OpenAI API Key"),
    (f"const admin = `{OPENAI_ADMIN}`;", "OpenAI API Key"),
    (f"npm config set //registry.npmjs.org/:_authToken {NPM}", "npm Access Token"),
    (f'NPM_TOKEN = "{NPM}"', "npm Access Token"),
    (f'HF_TOKEN = "{HUGGING_FACE}"', "Hugging Face Access Token"),
    (f"huggingface-cli login --token {HUGGING_FACE}", "Hugging Face Access Token"),
], ids=["anthropic", "anthropic-admin", "openai-project", "openai-service-account",
        "openai-admin", "npm-config-set", "npm-variable", "hugging-face-variable",
        "hugging-face-cli"])
def test_modern_token_formats_are_found_in_any_text(line: str, detector: str) -> None:
    assert _tokens(line) == [(1, detector)]
    [hit] = secrets.find_tokens([line])
    token = next(t for t in (ANTHROPIC, ANTHROPIC_ADMIN, OPENAI_PROJECT, OPENAI_SERVICE,
                             OPENAI_ADMIN, NPM, HUGGING_FACE) if t in line)
    assert hit.redacted == secrets.redact(token)
    assert token[5:] not in hit.redacted


def test_one_openai_key_is_one_hit() -> None:
    # detect-secrets' old-style pattern also matches inside a project key whose part before
    # the marker ends in 20 letters or digits: still one key, one hit, the whole key's.
    key = "sk-" + "proj-" + _random(_TOKEN_CHARS, 54) + "Ab3dE" * 4 + "T3Blbk" + "FJ" + (
        "Zy9xW" * 4) + _random(_TOKEN_CHARS, 54)
    hits = secrets.find_tokens([f'OPENAI_API_KEY = "{key}"'])
    assert [(h.detector, h.redacted) for h in hits] == [
        ("OpenAI API Key", secrets.redact(key))]


@pytest.mark.parametrize("line", [
    # placeholders and documentation examples
    "ANTHROPIC_API_KEY=sk-ant-" + "api03-" + "x" * 93 + "AA",
    'api_key = "sk-ant-' + 'api03-..."',
    "export ANTHROPIC_API_KEY='sk-ant-" + "api03-YOUR_API_KEY_HERE'",
    'OPENAI_API_KEY="sk-' + 'proj-..."',
    "OPENAI_API_KEY=sk-" + "proj-" + "X" * 40 + "T3Blbk" + "FJ" + "X" * 40,
    "HF_TOKEN=hf_" + "x" * 34,
    "You should see a token hf_" + "xxxxx (old tokens are api_XXXXXXXX)",
    "NPM_TOKEN=npm_" + "X" * 36,
    "//registry.npmjs.org/:_authToken=${NPM" + "_TOKEN}",
    # identifiers that only start like a token
    "- (id)hf_" + "requiredCharacteristicTypesForDisplayMetadata;",
    "  M_UINT (ServingCellPriority, H_PRIO, 2, &hf_" + "servingcellpriorityparametersdescription),",
    'echo "$npm_' + 'package_version" && npm_config_registry=https://r.example.org npm ci',
    "rhf_" + "SponsoredProductsRemoteRHFSearchEXPSubs",
    # too short for the format, or cut off
    'anthropic = "sk-ant-' + 'api03-' + _random(_TOKEN_CHARS, 40) + 'AA"',
    "token: npm_" + _random(string.ascii_letters, 20),
])
def test_placeholders_and_lookalikes_do_not_fire(line: str) -> None:
    assert _tokens(line) == []


# ------------------------------------------------------------------------- end to end (check)

_FILES = {
    "anthropic_client.py": f'ANTHROPIC_API_KEY = "{ANTHROPIC}"\n',
    "openai.json": f'{{"provider": "openai", "api_key": "{OPENAI_PROJECT}"}}\n',
    "publish.sh": f"#!/bin/sh\nnpm config set //registry.npmjs.org/:_authToken {NPM}\n",
    "model.py": f'HF_TOKEN = "{HUGGING_FACE}"\n',
}


@pytest.mark.parametrize("author", [COPILOT, HUMAN], ids=["agent", "human"])
def test_check_blocks_modern_tokens_in_code_json_and_shell(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
    author: tuple[str, str],
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# app\n"})
    repo.checkout("feature", create=True)
    repo.commit(_FILES, author=author, message="add clients")
    code, findings = check_findings(repo, base, capsys)
    assert code == 1  # secret material blocks whoever wrote it
    assert found_at(findings) == {
        ("NHI401", "anthropic_client.py", 1, True), ("NHI401", "openai.json", 1, True),
        ("NHI401", "publish.sh", 2, True), ("NHI401", "model.py", 1, True)}
    messages = {f["path"]: f["message"] for f in findings}
    assert messages["anthropic_client.py"].startswith("Anthropic API Key hardcoded")
    assert messages["openai.json"].startswith("OpenAI API Key hardcoded")
    assert messages["publish.sh"].startswith("npm Access Token hardcoded")
    assert messages["model.py"].startswith("Hugging Face Access Token hardcoded")
    text = repr(findings)
    assert all(t not in text for t in (ANTHROPIC, OPENAI_PROJECT, NPM, HUGGING_FACE))


def test_check_ignores_documented_placeholders(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# app\n"})
    repo.checkout("feature", create=True)
    repo.commit({"docs/setup.md": (
        "Set `ANTHROPIC_API_KEY=sk-ant-" + "api03-...` and `HF_TOKEN=hf_" + "x" * 34 + "`.\n"
        "npm config set //registry.npmjs.org/:_authToken npm_" + "X" * 36 + "\n")},
        author=COPILOT, message="docs")
    code, findings = check_findings(repo, base, capsys)
    assert (code, [f for f in findings if f["rule_id"] == "NHI401"]) == (0, [])
