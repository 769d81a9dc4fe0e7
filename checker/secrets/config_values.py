"""Credential-named values in configuration that is not `key = value` line by line: a YAML
file's `environment:`/`env:` maps (`environment_hits`) and a `.netrc` file (`netrc_hits`).

Both are judged as `checker.secrets.hardcoded` judges a `key: value` pair (placeholders,
references such as `${DB_PASSWORD}`, shell defaults, the password length and the entropy of
other secrets), so a real value is a `Hit` and `changeme` is not.

- YAML: the maps under an `environment:` or `env:` key, at any depth, in a file no parser reads
  (a Compose file's services, https://docs.docker.com/reference/compose-file/services/#environment,
  in map or `KEY=value` list form; CI systems and serverless functions use the same key). Only
  the lines of such a map are read for keyed values; elsewhere in the file only a value whose
  format proves it is a credential counts (`hardcoded.find_tokens`). The map is found by
  indentation: the lines below the key that are indented deeper than it (or, a block sequence,
  as deep and starting with `- `), and the key's own line when the map is written inline.
- `.netrc` (ftp, curl, git): whitespace-separated tokens, `password` followed by the password,
  on one line or several; a `macdef` body (up to a blank line) is a macro, not tokens.
  Sources: https://www.gnu.org/software/inetutils/manual/html_node/The-_002enetrc-file.html,
  https://everything.curl.dev/usingcurl/netrc.html.
- INI files (`.ini`, `.cfg`, `.conf`, and the INI credential files `.pypirc`, `.s3cfg`,
  `.boto`: `ini_path`): a line whose first non-blank character is `;` is a comment, as one
  starting with `#` is (Python's `configparser`,
  https://docs.python.org/3/library/configparser.html#supported-ini-file-structure);
  `ini_lines` writes it as a `#` comment, so only a value whose format proves it is a
  credential counts there. `key = value` and `key: value` lines are read as in `.env`, except
  that in a `.cfg` or `.conf` file (`generic_config`: suffixes many programs' own syntaxes
  share, such as nsswitch's `passwd: files`) a password-named key's literal must be as long and
  random as any secret's, as in a dotenv template (`hardcoded.find_hardcoded(template=True)`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

from checker.lazy_patterns import lazy_compile
from checker.secrets.hardcoded import COMMENT_ONLY, Hit, find_hardcoded, keyed_value

#: An `environment:` or `env:` key (quoted or not, maybe a sequence item), and what follows it.
_ENV_KEY = lazy_compile(
    r"""(?i)^(?P<indent>[ \t]*(?:-[ \t]+)?)["']?(?:environment|env)["']?[ \t]*:(?P<rest>.*)$""")
#: The file names of `netrc_hits` (`_netrc` on Windows).
NETRC_NAMES = frozenset({".netrc", "_netrc"})
_NETRC_TOKEN = lazy_compile(r'"(?:[^"\\]|\\.)*"|\S+')


def yaml_path(path: str) -> bool:
    """True when repository path `path` names a YAML file (`.yml`, `.yaml`)."""
    return path.lower().endswith((".yml", ".yaml"))


#: The file names of `ini_path`: INI by suffix, and INI credential files by name.
INI_SUFFIXES = (".ini", ".cfg", ".conf")
INI_NAMES = frozenset({".pypirc", ".s3cfg", ".boto"})
_INI_COMMENT = lazy_compile(r"^([ \t]*);")


def ini_path(path: str) -> bool:
    """True when repository path `path` is an INI file (`INI_SUFFIXES`, `INI_NAMES`)."""
    name = PurePosixPath(path).name.lower()
    return name.endswith(INI_SUFFIXES) or name in INI_NAMES


def generic_config(path: str) -> bool:
    """True when repository path `path` ends in `.cfg` or `.conf` and is no INI credential file
    (`INI_NAMES`): a short password-named value there is not read as a password."""
    name = PurePosixPath(path).name.lower()
    return name.endswith((".cfg", ".conf")) and name not in INI_NAMES


def ini_lines(lines: Sequence[str]) -> list[str]:
    """`lines` of an INI file with each `;` comment line written as a `#` one (the `;` replaced
    in place: columns and line numbers are kept)."""
    return [_INI_COMMENT.sub(r"\1#", line, count=1) for line in lines]


def netrc_path(path: str) -> bool:
    """True when repository path `path` is a `.netrc` file (`NETRC_NAMES`)."""
    return PurePosixPath(path).name.lower() in NETRC_NAMES


def environment_lines(lines: Sequence[str]) -> frozenset[int]:
    """The 1-based numbers of the lines of `lines` inside an `environment:`/`env:` map (see the
    module docstring); empty when the text has none."""
    out: set[int] = set()
    column: int | None = None  # the column of the open map's key
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if column is not None:
            if not stripped or COMMENT_ONLY.match(line):
                continue
            indent = len(line) - len(line.lstrip(" \t"))
            if indent > column or (indent == column and stripped.startswith("- ")):
                out.add(number)
                continue
            column = None
        found = _ENV_KEY.match(line)
        if found is None:
            continue
        rest = found.group("rest").strip()
        if rest and not rest.startswith("#"):
            out.add(number)  # `environment: {A: b}`, `env: [A=b]`: the map is on this line
        else:
            column = len(found.group("indent"))
    return frozenset(out)


def environment_hits(lines: Sequence[str]) -> list[Hit]:
    """The keyed `Hit`s (`hardcoded.find_hardcoded`) on the lines of an environment map of the
    YAML text `lines` (index 0 is line 1), in line order; none when it has no such map."""
    inside = environment_lines(lines)
    if not inside:
        return []
    return [hit for hit in find_hardcoded(lines) if hit.line in inside]


def netrc_hits(lines: Sequence[str]) -> list[Hit]:
    """The passwords of the `.netrc` text `lines` (index 0 is line 1) that are no placeholder
    (`hardcoded.keyed_value` under the key `password`), in line order."""
    out: list[Hit] = []
    expect = False  # the next token is a password
    macro = False  # inside a `macdef` body, which ends at a blank line
    for number, line in enumerate(lines, start=1):
        if macro:
            macro = bool(line.strip())
            continue
        if line.lstrip().startswith("#"):
            continue
        for token in _NETRC_TOKEN.findall(line):
            if expect:
                expect = False
                hit = keyed_value(number, "password", token)
                if hit is not None:
                    out.append(hit)
            elif token == "password":
                expect = True
            elif token == "macdef":
                macro = True  # the macro's name ends this line; its body follows
                break
    return out
