"""CODEOWNERS: who owns a path, read from the **base** revision (DESIGN.md "Approval and trust").

Pure: takes the file's text, returns data. Semantics follow GitHub's documentation
(https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners):

- GitHub uses the first file it finds in `.github/`, the root, then `docs/` (`SEARCH_ORDER`);
- one rule per line: a pattern then zero or more owners (`@login`, `@org/team-name`, or an
  email address); `#` starts a comment; a rule with no owners makes the path unowned;
- the **last** matching rule wins;
- patterns follow most `.gitignore` rules: a leading `/` or a `/` in the middle anchors the
  pattern at the root, otherwise it matches at any depth; a trailing `/` matches everything
  under that directory; `*` does not cross `/`, `**` does; `docs/*` matches direct children only.
  `!` negation and `[ ]` ranges are not supported by GitHub: such lines are kept as literal
  text and reported in `CodeOwners.problems` (GitHub silently ignores them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from checker.lazy_patterns import lazy_compile

#: Where GitHub looks for the file, first found wins.
SEARCH_ORDER = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")

_OWNER_RE = lazy_compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]*)(?:/[A-Za-z0-9_.-]+)?$|^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True)
class Rule:
    """One CODEOWNERS line: the pattern as written, its owners, its 1-based line number."""

    pattern: str
    owners: tuple[str, ...]
    line: int
    regex: re.Pattern[str]
    #: True when the pattern also owns everything below a directory it matches.
    covers_children: bool


@dataclass(frozen=True)
class CodeOwners:
    """A parsed CODEOWNERS file. `source` names it (`<base sha>:.github/CODEOWNERS`);
    `problems` are `(line, message)` for lines GitHub would ignore."""

    source: str
    rules: tuple[Rule, ...]
    problems: tuple[tuple[int, str], ...] = ()

    def owners(self, path: str) -> tuple[str, ...] | None:
        """Owners of repository-relative `path` (`/`-separated) from the last matching rule:
        `("@alice", "@org/security")`, `()` for an explicitly unowned path, or None when no
        rule matches."""
        for rule in reversed(self.rules):
            if _matches(rule, path):
                return rule.owners
        return None


def _translate(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def compile_pattern(pattern: str, line: int = 0, owners: tuple[str, ...] = ()) -> Rule:
    """A `Rule` for one CODEOWNERS pattern (see the module docstring for the semantics)."""
    body = pattern.replace("\\#", "#").replace("\\ ", " ")
    dir_only = body.endswith("/")
    body = body.rstrip("/")
    anchored = body.startswith("/") or "/" in body
    body = body.lstrip("/")
    regex = _translate(body) if body else ".*"
    if not anchored:
        regex = "(?:.*/)?" + regex
    if dir_only:
        regex += "/.+"
    children = not dir_only and not body.endswith("/*") and body != "*"
    return Rule(pattern, owners, line, re.compile(regex, re.DOTALL), children)


def _matches(rule: Rule, path: str) -> bool:
    if rule.regex.fullmatch(path):
        return True
    if not rule.covers_children:
        return False
    parts = path.split("/")
    return any(rule.regex.fullmatch("/".join(parts[:n])) for n in range(1, len(parts)))


def parse(text: str, source: str) -> CodeOwners:
    """Parse CODEOWNERS text. Never raises: lines GitHub would ignore become `problems`."""
    rules: list[Rule] = []
    problems: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = re.split(r"(?<!\\)\s#", line, maxsplit=1)[0].strip()
        tokens = re.split(r"(?<!\\)\s+", line)
        pattern, owners = tokens[0], tuple(tokens[1:])
        if pattern.startswith("!") or "[" in pattern:
            problems.append((number, f"pattern {pattern!r} uses syntax GitHub does not support"))
            continue
        bad = [o for o in owners if not _OWNER_RE.match(o)]
        if bad:
            problems.append((number, f"owner {bad[0]!r} is not @login, @org/team or an email"))
            owners = tuple(o for o in owners if o not in bad)
        rules.append(compile_pattern(pattern, number, owners))
    return CodeOwners(source, tuple(rules), tuple(problems))
