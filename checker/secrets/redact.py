"""The only form in which a secret value leaves the secret scan: `redact(value, password_like)`.

A generated token keeps a short prefix and 8 hex digits of SHA-256; a password-like value no
prefix and 8 hex digits of a fixed-cost scrypt (issue 15: a 32-bit SHA-256 prefix lets anyone
confirm a guessed password offline). See `redact`.
"""

from __future__ import annotations

import functools
import hashlib

#: The cost of the slow hash of a password-like value (scrypt, RFC 7914,
#: https://www.rfc-editor.org/rfc/rfc7914): N = 2**12, r = 8, p = 1, 4 MiB of memory per
#: evaluation (128 * r * N bytes), so a guess costs memory as well as time and GPUs gain
#: little; cheaper than RFC 7914's interactive-login N = 2**14 because a scan may hash
#: hundreds of values under the per-file parse budget. Fixed, with a fixed salt, so the same
#: password has the same fingerprint in CI, in the hook and on every machine (baselines and
#: approvals key on the address that carries it).
SCRYPT_N = 2**12
SCRYPT_R = 8
_SCRYPT_SALT = b"nhi-gate/v1 redaction"
#: Detectors whose value may be a human-chosen password (low entropy, guessable offline).
PASSWORD_LIKE = frozenset({"credential-named key", "Basic Auth Credentials",
                           "Docker Registry Auth"})  # base64 of `user:password`


def redact(value: str, password_like: bool = False) -> str:
    """The only form in which a secret value may appear.

    A generated token (`password_like` False: a format-plugin match, random by construction):
    `prefix…(sha256:8hex)`, the prefix at most 4 characters and at most a fifth of the value,
    the hash the first 8 hex digits of SHA-256 over the UTF-8 value; a guess cannot be
    confirmed against it for lack of a feasible guess. A password-like value (a literal under
    a credential-named key, a basic-auth password): no prefix and no fast hash, `…(scrypt:8hex)`,
    the first 8 hex digits of scrypt (`SCRYPT_N`, `SCRYPT_R`, p = 1, a fixed salt): stable
    everywhere, and each guess costs an attacker a 4 MiB scrypt evaluation instead of one
    SHA-256 (a per-repository HMAC key would have to be shared by CI and every clone for the
    fingerprints to match, and would leak with them).
    """
    if password_like:
        return f"…(scrypt:{_slow_digest(value)})"
    shown = value[: min(4, len(value) // 5)]
    digest = hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:8]
    return f"{shown}…(sha256:{digest})"


@functools.lru_cache(maxsize=4096)
def _slow_digest(value: str) -> str:
    return hashlib.scrypt(value.encode("utf-8", "replace"), salt=_SCRYPT_SALT, n=SCRYPT_N,
                          r=SCRYPT_R, p=1, dklen=16).hex()[:8]
