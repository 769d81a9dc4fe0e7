"""Credentials in .NET configuration files (`appsettings.json`, `appsettings.<Environment>.json`)
that no line-by-line `key: value` reading sees: each string value is read with its key path, so
a key nested under its section (`"Jwt": {` then `"Key": "..."` lines below) is judged by both.

ASP.NET Core reads these files as JSON with `//` and `/* */` comments and trailing commas
(https://learn.microsoft.com/en-us/aspnet/core/fundamentals/configuration/#json-configuration-provider);
a value's configuration key is its path joined with `:` (`Jwt:SigningKey`). Besides the
credential names every file has (`checker.secrets.hardcoded.SECRET_KEY`: `ClientSecret`,
`ApiKey`, `SecretKey`, `Password`, ...), a key that names key material (`SigningKey`,
`IssuerSigningKey`, `EncryptionKey`, `HmacKey`, `MasterKey`, `SymmetricKey`, `SecurityKey`),
and a bare `Key` or `Secret` inside a section named for tokens or cryptography (`Jwt`,
`JwtSettings`, `Token`, `Signing`, `Encryption`, `Hmac`, `Authentication`, `OAuth`) holds a
secret: the JWT bearer handler validates tokens with `IssuerSigningKey`
(https://learn.microsoft.com/en-us/dotnet/api/microsoft.identitymodel.tokens.tokenvalidationparameters.issuersigningkey),
which templates and tutorials read from `Jwt:Key`. Each such value is judged as a secret-named
`key: value` pair is (`hardcoded.keyed_value`: placeholders, references, length and entropy),
so `""`, `"<your-key>"` and `"${JWT_KEY}"` are none.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from checker.lazy_patterns import lazy_compile
from checker.secrets.hardcoded import SECRET_KEY, Hit, keyed_value
from checker.secrets.password_keys import is_password_key

#: .NET configuration files by name (the same names `checker.sources.discovery` reads).
_APPSETTINGS = lazy_compile(r"^appsettings(?:\.[\w-]+)?\.json$", re.IGNORECASE)
#: Keys that name key material.
_KEY_MATERIAL = lazy_compile(
    r"(?i)(?:signing|encryption|decryption|hmac|master|symmetric|security|jwt)[_-]?key$")
#: A bare key or secret inside a section named for tokens or cryptography.
_BARE = frozenset({"key", "secret"})
_CRYPTO_SECTION = lazy_compile(r"(?i)jwt|token|signing|encryption|hmac|authentication|oauth")
#: JSON-with-comments tokens: a string, a comment, punctuation, a newline, another scalar.
_TOKEN = lazy_compile(r'"(?:[^"\\\n]|\\.)*"|//[^\n]*|/\*.*?\*/|[{}\[\]:,\n]|[^\s{}\[\]:,"/]+|/',
                    re.DOTALL)


def appsettings_path(path: str) -> bool:
    """True when repository path `path` is a .NET `appsettings*.json` file."""
    return _APPSETTINGS.match(PurePosixPath(path).name) is not None


@dataclass(frozen=True)
class Leaf:
    """A string value of the document: its 1-based `line`, the keys of the objects around it
    (outermost first; the last is its own key, empty at the top level) and its text as
    written (quoted)."""

    line: int
    path: tuple[str, ...]
    raw: str


def string_leaves(text: str) -> Iterator[Leaf]:
    """Each string value of JSON-with-comments `text` with its key path, in order. Never
    raises: a malformed document gives the leaves read before and around its error."""
    frames: list[list[str | bool | None]] = []  # [kind, current key, expecting a key]
    line = 1
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        top = frames[-1] if frames else None
        if token == "\n":
            line += 1
        elif token.startswith(("//", "/*")):
            line += token.count("\n")
        elif token in "{[" and len(token) == 1:
            frames.append(["obj" if token == "{" else "arr", None, token == "{"])
        elif token in "}]" and len(token) == 1:
            if frames:
                frames.pop()
        elif token == ",":
            if top is not None and top[0] == "obj":
                top[2] = True
        elif token.startswith('"'):
            if top is not None and top[0] == "obj" and top[2]:
                top[1], top[2] = _decoded(token), False
            else:
                yield Leaf(line, tuple(str(f[1]) for f in frames
                                       if f[0] == "obj" and f[1] is not None), token)


def _decoded(raw: str) -> str:
    try:
        value = json.loads(raw)
    except ValueError:
        return raw[1:-1]
    return value if isinstance(value, str) else raw[1:-1]


def appsettings_hits(text: str) -> list[Hit]:
    """The secrets of .NET configuration `text` (see the module docstring), each keyed by its
    configuration key (`Jwt:SigningKey`), in line order."""
    out: list[Hit] = []
    for leaf in string_leaves(text):
        if not leaf.path:
            continue
        name = leaf.path[-1]
        material = _KEY_MATERIAL.search(name) is not None or (
            name.lower() in _BARE and any(_CRYPTO_SECTION.search(s) for s in leaf.path[:-1]))
        if not (material or SECRET_KEY.search(name) or is_password_key(name)):
            continue
        hit = keyed_value(leaf.line, "secret" if material else name, _decoded(leaf.raw)
                          if leaf.raw.startswith('"') else leaf.raw)
        if hit is not None:
            out.append(replace(hit, key=":".join(leaf.path)))
    return out
