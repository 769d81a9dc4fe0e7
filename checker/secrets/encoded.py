"""Secrets inside base64: `decoded_secrets(line)` decodes each long base64 run of a line (and
the runs inside what it decodes to) and runs the format plugins over the text.

Sources: RFC 4648 section 4 (base64, https://www.rfc-editor.org/rfc/rfc4648#section-4);
Docker's `config.json` keeps each registry's `auth` as base64 of `user:password`
(https://docs.docker.com/reference/cli/docker/login/#credential-stores); a Kubernetes
ConfigMap's `binaryData` holds base64 of the file
(https://kubernetes.io/docs/concepts/configuration/configmap/#configmap-object).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from checker.lazy_patterns import lazy_compile
from checker.secrets.detectors import may_hold_plugin_secret, plugin_values, plugins
from checker.secrets.pem import placeholder_block

#: detect-secrets' private-key plugin name.
PRIVATE_KEY = "Private Key"


def plugin_placeholder(value: str) -> bool:
    """True for a format-plugin match that is a placeholder (`ghp_xxxx...`, `${...}`, `<...>`)."""
    v = value.lower()
    return "xxxx" in v or "${" in v or "{{" in v or "<" in v


#: A base64 run worth decoding: long enough to hold a token once decoded.
_BASE64_RUN = lazy_compile(r"[A-Za-z0-9+/]{24,}={0,2}")
#: How deep `_decoded_hits` follows base64 inside decoded text (a `.dockerconfigjson` value is
#: base64 of JSON whose `auth` is base64 of `user:token`).
_DECODE_DEPTH = 3


@dataclass(frozen=True)
class Decoded:
    """A secret found inside base64: the base64 `run` of the line it was found in, the
    format plugin's `detector` name, and the secret `value` (redacted by the caller)."""

    run: str
    detector: str
    value: str


def decoded_secrets(line: str) -> list[Decoded]:
    """Format-plugin matches inside the base64 runs of one line, decoded (up to
    `_DECODE_DEPTH` levels: a docker `config.json` whose `auth` is base64 of `user:ghp_...`, a
    ConfigMap's `binaryData` holding a PEM key). Each secret once; a private-key block whose
    decoded body is a placeholder is skipped (`checker.secrets.pem.placeholder_block`)."""
    out: list[Decoded] = []
    seen: set[str] = set()
    for run in _BASE64_RUN.findall(line):
        for text in _decodings(run, _DECODE_DEPTH):
            decoded_lines = text.split("\n")
            for index, decoded_line in enumerate(decoded_lines):
                if not may_hold_plugin_secret(decoded_line):
                    continue
                for plugin in plugins():
                    for value in plugin_values(plugin, decoded_line):
                        detector = str(plugin.secret_type)
                        if value in seen or plugin_placeholder(value) or (
                                detector == PRIVATE_KEY
                                and placeholder_block(decoded_lines, index)):
                            continue
                        seen.add(value)
                        out.append(Decoded(run, detector, value))
    return out


#: A Docker registry config's `auths` entry credential (JSON, or a YAML flow mapping): base64
#: of `user:password` (the docs URL in the module docstring).
_DOCKER_AUTH = lazy_compile(r"""["']?\bauth["']?\s*:\s*["']?([A-Za-z0-9+/]{8,}={0,2})["']?""")
#: The detector name of a Docker registry credential.
DOCKER_AUTH = "Docker Registry Auth"


def docker_auths(line: str) -> list[Decoded]:
    """Docker registry credentials on one line: an `auth` value that decodes to `user:password`
    with a password that is no placeholder (`checker.secrets.encoded.plugin_placeholder`).
    The caller uses it only when no format plugin found the secret inside (a GitHub token as
    the password is reported as one)."""
    out: list[Decoded] = []
    for m in _DOCKER_AUTH.finditer(line):
        run = m.group(1)
        try:
            text = base64.b64decode(run + "=" * (-len(run) % 4), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            continue
        user, sep, password = text.partition(":")
        if sep and user and password.strip() and password.isprintable() and not (
                plugin_placeholder(password)):
            out.append(Decoded(run, DOCKER_AUTH, run))
    return out


def _decodings(run: str, depth: int) -> list[str]:
    """The printable texts `run` decodes to as base64, and those its own base64 runs decode
    to, `depth` levels deep."""
    padded = run + "=" * (-len(run) % 4)
    try:
        text = base64.b64decode(padded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return []
    if not text.strip() or not text.replace("\n", "").replace("\r", "").isprintable():
        return []
    out = [text]
    if depth > 1:
        for inner in _BASE64_RUN.findall(text):
            out.extend(_decodings(inner, depth - 1))
    return out
