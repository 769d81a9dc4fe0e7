"""Basic-auth user files (`.htpasswd`): each `user:hash` entry is a credential.

Apache httpd (`AuthUserFile`, written by `htpasswd`) and nginx (`auth_basic_user_file`) read
one `user:password` entry per line; lines starting with `#` are comments. The password field is
a hash in one of the formats they document, or plain text:

- bcrypt `$2y$` (also `$2a$`, `$2b$`), Apache's MD5 `$apr1$`, `{SHA}` (base64 SHA-1), crypt
  (13 characters), and, where the system's `crypt()` has them, MD5/SHA-256/SHA-512 crypt
  (`$1$`, `$5$`, `$6$`); https://httpd.apache.org/docs/2.4/misc/password_encryptions.html
- nginx adds `{PLAIN}` and `{SSHA}`;
  https://nginx.org/en/docs/http/ngx_http_auth_basic_module.html#auth_basic_user_file

A hash is credential material too: it is what the server accepts the password against, and an
MD5, SHA-1 or crypt one is cracked offline in minutes, so a committed entry is reported like a
hardcoded password (NHI401) whatever its format. An entry whose field is empty, a locked
marker (`*`, `!`), a placeholder (`<hash>`, `changeme`, `${HASH}`) or a hash-shaped value with
no randomness in its digest (`$apr1$xxxxxxxx$xxxx...`) is not one.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from checker.lazy_patterns import lazy_compile
from checker.secrets.hardcoded import MIN_ENTROPY, Hit, entropy, is_placeholder, keyed_value
from checker.secrets.redact import redact

#: The file names a basic-auth user file goes by (`.htpasswd`, `htpasswd`, `admin.htpasswd`).
HTPASSWD_NAMES = frozenset({".htpasswd", "htpasswd"})
HTPASSWD_SUFFIX = ".htpasswd"
#: The detector name of an entry (`Hit.detector`).
DETECTOR = "htpasswd password hash"
_ENTRY = lazy_compile(r"^(?P<user>[^:#\s][^:]*):(?P<field>[^:\s]*)(?::.*)?$")
_B64 = r"[A-Za-z0-9+/]"
_CRYPT64 = r"[./0-9A-Za-z]"
#: Each documented hash format; the `digest` group is what must be random.
_HASHES = (
    lazy_compile(rf"^\$2[abxy]?\$\d\d\$(?P<digest>{_CRYPT64}{{53}})$"),
    lazy_compile(rf"^\$(?:apr1|1)\${_CRYPT64}{{1,8}}\$(?P<digest>{_CRYPT64}{{22}})$"),
    lazy_compile(rf"^\$[56]\$(?:rounds=\d+\$)?{_CRYPT64}{{1,16}}\$(?P<digest>{_CRYPT64}{{43,86}})$"),
    lazy_compile(rf"^\{{S?SHA\}}(?P<digest>{_B64}{{27,}}={{0,2}})$"),
    lazy_compile(rf"^(?P<digest>{_CRYPT64}{{13}})$"),
)
_PLAIN = "{PLAIN}"
_LOCKED = frozenset({"", "*", "!", "!!", "x"})


def htpasswd_path(path: str) -> bool:
    """True when repository path `path` is a basic-auth user file by its name
    (`HTPASSWD_NAMES`, or a name ending in `.htpasswd`)."""
    name = PurePosixPath(path).name.lower()
    return name in HTPASSWD_NAMES or name.endswith(HTPASSWD_SUFFIX)


def htpasswd_hit(number: int, line: str) -> Hit | None:
    """The `Hit` for the entry on 1-based line `number` of a `.htpasswd` file (`line` without
    its newline), keyed by the user name, or None when the line holds no credential (a
    comment, a blank line, a locked or placeholder entry; see the module docstring)."""
    m = _ENTRY.match(line.strip())
    if m is None:
        return None
    user, field = m.group("user"), m.group("field")
    if field in _LOCKED:
        return None
    if field.startswith(_PLAIN):  # nginx's plain-text password: judged as any password
        plain = keyed_value(number, "password", field[len(_PLAIN):])
        return None if plain is None else Hit(number, DETECTOR, user, plain.redacted)
    for shape in _HASHES:
        hashed = shape.match(field)
        if hashed is not None:
            if entropy(hashed.group("digest")) < MIN_ENTROPY:
                return None  # `$apr1$salt$xxxxxxxxxxxxxxxxxxxxxx`: a documentation stand-in
            return Hit(number, DETECTOR, user, redact(field, True))
    if is_placeholder(field):  # `<hash>`, `${HASH}`: after the hash shapes (`$apr1$` is no
        return None  # shell variable)
    # Another field is a plain-text password (Apache on Windows, or a `crypt()` it cannot
    # tell): judged as any password-named value.
    plain = keyed_value(number, "password", field)
    return None if plain is None else Hit(number, DETECTOR, user, plain.redacted)
