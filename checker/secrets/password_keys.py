"""Which keys name a password (`is_password_key`), for `checker.secrets.hardcoded`: a literal
under such a key is a hardcoded password however short (`MIN_PASSWORD_LENGTH` there)."""

from __future__ import annotations

import re

from checker.lazy_patterns import lazy_compile

#: Keys that end in a password word. Under any password-named key, a literal of
#: `hardcoded.MIN_PASSWORD_LENGTH` characters is a hardcoded password, however weak.
_PASSWORD_KEY = lazy_compile(r"(?i)(?:password|passwd|pwd)$")
#: A name component that says password (`DB_PASS`, `DB_PASS_BD_2`, `smtp-pwd-ro`): the key is
#: split on `_`, `-`, `.`; `pass` counts only after another component (`pass_through`,
#: `pass_host_header` are settings; a lone `PASS:` is mostly prose), and what follows it may
#: only be short qualifiers (`bd`, `2`, `rw`, `v2`), never a metadata word
#: (`_PASSWORD_QUALIFIER_NOT`).
_PASSWORD_PART = frozenset({"password", "passwd", "pwd", "pass"})
_PASSWORD_QUALIFIER = lazy_compile(r"(?i)^[a-z0-9]{1,3}$")
_PASSWORD_QUALIFIER_NOT = frozenset({"len", "min", "max", "env", "url", "uri", "id", "arn", "ttl",
                                     "age", "ref", "key", "set", "cmd", "var", "md5", "sha"})


def is_password_key(name: str) -> bool:
    """True when key `name` names a password: it ends in `password`/`passwd`/`pwd`, or one of
    its `_`/`-`/`.` components is one (`pass` only after another component), followed only by
    short qualifiers (`DB_PASS_BD_2`); see `_PASSWORD_PART`."""
    if _PASSWORD_KEY.search(name):
        return True
    parts = [part.lower() for part in re.split(r"[_.\-]+", name) if part]
    for index, part in enumerate(parts):
        if part not in _PASSWORD_PART or (part == "pass" and index == 0):
            continue
        tail = parts[index + 1 :]
        if all(_PASSWORD_QUALIFIER.match(q) and q not in _PASSWORD_QUALIFIER_NOT for q in tail):
            return True
    return False
