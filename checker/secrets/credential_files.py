"""Passwords in credential files whose values are not `key = value` text: PostgreSQL's
`.pgpass`, Maven's `settings.xml`, and, in any configuration file read for secret material,
connection strings (`Server=db;Password=...;`, .NET's `appsettings*.json` among them) and
`Authorization` headers written as directives (nginx's `proxy_set_header`).

Each value is judged as `checker.secrets.hardcoded` judges a `password: value` pair
(`keyed_value`: placeholders, references such as `${env.DB_PASSWORD}`, the password length),
so a real password is a `Hit` and `changeme` or `*` is not.

- `.pgpass` (`pgpass.conf` on Windows): one `hostname:port:database:username:password` entry
  per line, `#` comments, `\\:` and `\\\\` escapes;
  https://www.postgresql.org/docs/current/libpq-pgpass.html.
- Maven `settings.xml`: `<password>` and `<passphrase>` of a `<server>`
  (https://maven.apache.org/settings.html#servers); a `{...}` value is encrypted with the
  master password (https://maven.apache.org/guides/mini/guide-encryption.html), not a plain
  secret.
- A connection string's `Password=`/`Pwd=` part (ADO.NET and ODBC keyword syntax,
  https://learn.microsoft.com/en-us/dotnet/framework/data/adonet/connection-string-syntax),
  wherever it stands on a line: under .NET's `ConnectionStrings` the JSON key names the
  database, not the password. An Azure Service Bus or Event Hubs connection string's
  `SharedAccessKey=` part is its key
  (https://learn.microsoft.com/en-us/azure/service-bus-messaging/service-bus-sas).
- An Apache or nginx basic-auth user file (`.htpasswd`): one `user:hash` entry per line, `#`
  comments (`checker.secrets.htpasswd`).
- rclone's `rclone.conf`: a remote's `pass`, `password2` and `key_file_pass` are stored
  obscured, which rclone reverses without any key (https://rclone.org/commands/rclone_obscure/),
  so an obscured value is the password; `token` holds the OAuth token as JSON, whose
  `access_token` and `refresh_token` are credentials (https://rclone.org/docs/#config-file).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from checker.lazy_patterns import lazy_compile
from checker.secrets.hardcoded import COMMENT_ONLY, Hit, keyed_value
from checker.secrets.htpasswd import htpasswd_hit, htpasswd_path

#: PostgreSQL password file names.
PGPASS_NAMES = frozenset({".pgpass", "pgpass", "pgpass.conf"})
#: Maven's settings file (user `~/.m2/settings.xml`, or one committed for CI).
MAVEN_SETTINGS = frozenset({"settings.xml"})
#: A password element, with a namespace prefix (`<m:password>`), a CDATA section, or a Maven
#: property whose name ends in one (`<gpg.passphrase>`, `<sonar.token>`).
_XML_SECRET = lazy_compile(
    r"<((?:[\w-]+:)?[\w.-]*(?:password|passphrase|token|secret))>\s*"
    r"(?:<!\[CDATA\[(.*?)\]\]>|([^<]*?))\s*</\1>", re.IGNORECASE)
#: nginx `set $api_token "value";` (https://nginx.org/en/docs/http/ngx_http_rewrite_module.html#set).
_NGINX_SET = lazy_compile(r"""^\s*set\s+\$(?P<key>\w+)\s+(?P<value>"[^"]*"|'[^']*'|[^\s;]+)""")
#: An HTTP `Authorization` header written as a directive (`proxy_set_header Authorization
#: "Bearer <token>";` in nginx, https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_set_header)
#: or `-H "Authorization: Bearer <token>"`: the scheme and the credential.
_AUTH_DIRECTIVE = lazy_compile(
    r"""(?i)\b(?P<key>(?:proxy-)?authorization)["']?\s*:?\s*["']?"""
    r"""(?P<scheme>bearer|token|basic)\s+(?P<value>[^"'\s;]+)""")
_CONNECTION_PASSWORD = lazy_compile(
    r"""(?i)(?:^|[;"'\s])(?:password|pwd)\s*=\s*(?P<value>[^;"'\r\n]+)""")

#: rclone's config file, and its keys that hold an obscured password.
RCLONE_CONFIG = frozenset({"rclone.conf"})
_RCLONE_PASSWORD = lazy_compile(r"^\s*(?P<key>pass|password2|key_file_pass)\s*=\s*(?P<value>\S+)")
_RCLONE_TOKEN = lazy_compile(r'"(?P<key>access_token|refresh_token)"\s*:\s*"(?P<value>[^"]+)"')

_CONNECTION_KEY = lazy_compile(
    r"""(?i)(?:^|[;"'\s])(?P<key>SharedAccessKey)\s*=\s*(?P<value>[^;"'\r\n]+)""")


def credential_file_hits(path: str, lines: Sequence[str]) -> list[Hit]:
    """The passwords of `lines` (a file at repository path `path` read for secret material):
    `.pgpass` entries, Maven `settings.xml` elements, `.htpasswd` entries, `rclone.conf`
    passwords and tokens, and connection-string
    passwords in any other such file, in line order, each (line, value) once."""
    name = PurePosixPath(path).name.lower()
    htpasswd = htpasswd_path(path)
    out: list[Hit] = []
    for number, line in enumerate(lines, start=1):
        if COMMENT_ONLY.match(line):
            continue
        if htpasswd:
            entry = htpasswd_hit(number, line)
            out.extend([entry] if entry is not None else [])
            continue
        if name in PGPASS_NAMES:
            fields = _split_pgpass(line)
            if len(fields) == 5:
                out.extend(_hit(number, _unescape(fields[4])))
        elif name in RCLONE_CONFIG:
            if (obscured := _RCLONE_PASSWORD.match(line)) is not None:
                out.extend(_hit(number, obscured.group("value")))
            for match in _RCLONE_TOKEN.finditer(line):
                hit = keyed_value(number, match.group("key"), match.group("value"))
                out.extend([hit] if hit is not None else [])
        elif name in MAVEN_SETTINGS:
            for match in _XML_SECRET.finditer(line):
                value = match.group(2) if match.group(2) is not None else match.group(3)
                if not (value.startswith("{") and value.endswith("}")):
                    out.extend(_hit(number, value))
        for match in _CONNECTION_PASSWORD.finditer(line):
            out.extend(_hit(number, match.group("value").strip()))
        for match in _CONNECTION_KEY.finditer(line):
            hit = keyed_value(number, match.group("key"), match.group("value").strip())
            out.extend([hit] if hit is not None else [])
        if (nginx := _NGINX_SET.match(line)) is not None:  # credential-named keys only
            hit = keyed_value(number, nginx.group("key"), nginx.group("value"))
            out.extend([hit] if hit is not None else [])
        for match in _AUTH_DIRECTIVE.finditer(line):
            hit = keyed_value(number, match.group("key"),
                              f"{match.group('scheme')} {match.group('value')}")
            out.extend([hit] if hit is not None else [])
    seen: set[tuple[int, str]] = set()
    unique = []
    for hit in out:
        if (hit.line, hit.redacted) not in seen:
            seen.add((hit.line, hit.redacted))
            unique.append(hit)
    return unique


def _hit(number: int, value: str) -> list[Hit]:
    hit = keyed_value(number, "password", value) if value else None
    return [hit] if hit is not None else []


def _split_pgpass(line: str) -> list[str]:
    """The `:`-separated fields of a `.pgpass` line (`\\:` is a literal colon)."""
    fields, current, escaped = [], [], False
    for char in line.rstrip("\r\n"):
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
    fields.append("".join(current))
    return fields


def _unescape(field: str) -> str:
    return re.sub(r"\\(.)", r"\1", field)
