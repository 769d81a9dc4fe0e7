"""Helpers every parser shares: decoding with budgets, and governance metadata in text."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.paths import path_name, path_parent, path_parts

#: Files larger than this are not parsed (NHI903). Config can change it later.

_KV = lazy_compile(r"([A-Za-z_][A-Za-z0-9_.-]*)\s*[=:]\s*(\"[^\"]*\"|'[^']*'|[^\s,;]+)")
_MARKER = lazy_compile(r"^\s*(?:#|//|/\*+|\*)\s*nhi-gate\s*:\s*(?!ignore\b)(.*?)\s*(?:\*/)?\s*$")
_COMMENT = lazy_compile(r"^\s*(#|//|/\*|\*)")


def parse_kv(text: str) -> dict[str, str]:
    """`key=value` (or `key: value`) pairs found in free text, e.g. a description field.

    >>> parse_kv("Deployer. owner=team-data ticket=OPS-12")
    {'owner': 'team-data', 'ticket': 'OPS-12'}
    """
    out: dict[str, str] = {}
    for key, value in _KV.findall(text):
        out[key] = value.strip("\"'")
    return out


def comment_metadata(lines: list[str], start_line: int) -> dict[str, str]:
    """Metadata from `nhi-gate: k=v ...` comments directly above 1-based `start_line`.

    Walks up the contiguous comment lines immediately above the object (no blank line in
    between), so a marker belongs to the block it sits on. `nhi-gate:ignore` comments are
    suppressions, not metadata, and are skipped.
    """
    out: dict[str, str] = {}
    i = start_line - 2
    while i >= 0 and _COMMENT.match(lines[i]):
        m = _MARKER.match(lines[i])
        if m:
            for key, value in parse_kv(m.group(1)).items():
                out.setdefault(key, value)
        i -= 1
    return out


_GO_DURATION = lazy_compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_GO_UNIT_HOURS = {"ns": 1e-9 / 3600, "us": 1e-6 / 3600, "µs": 1e-6 / 3600, "ms": 1e-3 / 3600,
                  "s": 1 / 3600, "m": 1 / 60, "h": 1.0}


def go_duration_hours(text: str | None) -> float | None:
    """Hours in a Go duration (`2160h`, `1h30m`, `90m0s`), as Terraform providers, Vault and
    cert-manager write them (https://pkg.go.dev/time#ParseDuration); None when it is not one."""
    if not text:
        return None
    parts = _GO_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _GO_UNIT_HOURS[u] for n, u in parts)


#: Variable definition files Terraform loads by itself, in this order (later wins):
#: `terraform.tfvars`, `terraform.tfvars.json`, then `*.auto.tfvars` and `*.auto.tfvars.json`
#: in lexical order of their names
#: (https://developer.hashicorp.com/terraform/language/values/variables#variable-definition-precedence).
#: Other `.tfvars` files only count with `-var-file`, so they are not module values.
TFVARS_NAMES = ("terraform.tfvars", "terraform.tfvars.json")
AUTO_TFVARS_SUFFIXES = (".auto.tfvars", ".auto.tfvars.json")


def is_tfvars(path: str) -> bool:
    """True for a variable definition file Terraform loads by itself (native or JSON syntax)."""
    name = path_name(path).lower()
    return name in TFVARS_NAMES or name.endswith(AUTO_TFVARS_SUFFIXES)


#: Subdirectories of a module whose variable definitions files are read as that module's
#: `-var-file` values (`envs/prod.tfvars` belongs to the module above `envs/`).
VAR_FILE_DIRS = ("env", "envs", "environment", "environments", "vars", "tfvars", "variables")


#: How many local module calls deep nhi-gate reads a called module's own calls (root -> app ->
#: role is 2): the source stage reads their files (`checker.sources.modules`), the parser
#: follows them (`checker.parsers.terraform.callees`); a deeper call is NHI106, fail closed.
MAX_MODULE_DEPTH = 6


def is_var_file(path: str) -> bool:
    """True for a variable definitions file Terraform reads only when named with `-var-file`
    (`prod.tfvars`, `ci.tfvars.json`): a `.tfvars`/`.tfvars.json` file that `is_tfvars` is not
    (https://developer.hashicorp.com/terraform/language/values/variables#variable-definitions-tfvars-files)."""
    name = path_name(path).lower()
    return name.endswith((".tfvars", ".tfvars.json")) and not is_tfvars(path)


def var_file_module(path: str) -> str:
    """The module directory (posix, `""` for the root) var file `path` (`is_var_file`) sets
    values of: its own directory, or the one above it when its directory is named as one of
    `VAR_FILE_DIRS` (`envs/prod.tfvars` -> `""`)."""
    parts = path_parts(path)[:-1]
    if parts and parts[-1].lower() in VAR_FILE_DIRS:
        parts = parts[:-1]
    return "/".join(parts)


def tfvars_order(path: str) -> tuple[int, str]:
    """Sort key of an auto-loaded variable definitions file: Terraform loads (and so lets win)
    them in ascending order of this key (see `TFVARS_NAMES`)."""
    name = path_name(path).lower()
    return (TFVARS_NAMES.index(name), "") if name in TFVARS_NAMES else (len(TFVARS_NAMES), name)


#: A `file("...")` / `templatefile("...", ...)` call with a literal (or `path.*`-interpolated)
#: path argument, in a `.tf` file's bytes or in python-hcl2's value text.
FILE_CALL = lazy_compile(r'\b(file|templatefile)\(\s*"((?:[^"\\]|\\.)*)"')
_PATH_REF = lazy_compile(r"\$\{\s*path\.(?:module|root|cwd)\s*\}")
#: Scripts: a change of one may change what a provisioner runs (`SCRIPT_PATH`).
SCRIPT_SUFFIXES = (".sh", ".bash", ".ps1", ".cmd", ".bat", ".py")
#: Any of `SCRIPT_SUFFIXES` in a file's bytes (one search instead of one per suffix).
_ANY_SCRIPT_SUFFIX = lazy_compile(b"|".join(re.escape(s.encode()) for s in SCRIPT_SUFFIXES))
#: A script a provisioner or `external` program runs, named by its path in the module
#: (`command = "${path.module}/scripts/setup.sh"`, `program = ["python3", "${path.module}/x.py"]`)
#: or relative to it (`"./scripts/setup.sh"`, `"python3 scripts/grant.py"`: Terraform runs a
#: command in the root module's directory, https://developer.hashicorp.com/terraform/language/
#: resources/provisioners/local-exec#working_dir): what it does is the file's bytes, so the
#: file is read like a `file()` document.
SCRIPT_PATH = lazy_compile(r'"(?:[^"\n]*?\s)?((?:\$\{\s*path\.(?:module|root|cwd)\s*\}/)?'
                         r'[\w./-]*\w\.(?:sh|bash|ps1|cmd|bat|py))(?=[\s"])')


def file_reference(directory: str, argument: str) -> str | None:
    """The repository path a `file()`/`templatefile()` path argument names, read from the
    module in `directory` (posix, `""` for the root), or None when it cannot be known.

    `${path.module}`, `${path.root}` and `${path.cwd}` are taken as the module's own directory
    (nhi-gate reads each module as a root module), and a plain relative path is relative to it
    too (Terraform resolves it against the working directory, the root module's:
    https://developer.hashicorp.com/terraform/language/functions/file). None for an absolute
    path, any other interpolation, or a path that leaves the repository.
    """
    text = _PATH_REF.sub(".", argument)
    if "${" in text or "%{" in text or not text or text.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(directory, text))
    return None if joined == ".." or joined.startswith("../") or joined == "." else joined


#: `${path.root}/` at the start of a path: the root module's directory.
_ROOT_REF = lazy_compile(r"^\$\{\s*path\.root\s*\}/")


def root_candidates(directory: str, argument: str) -> list[str]:
    """The repository paths a `${path.root}/...` path argument of the module in `directory`
    may name besides the module's own (`file_reference`): called from a root module above
    it, `path.root` is that module's directory
    (https://developer.hashicorp.com/terraform/language/expressions/references#filesystem-and-workspace-info),
    so the rest of the path is tried under each directory above, nearest first. Empty for any
    other argument."""
    m = _ROOT_REF.match(argument)
    if m is None or not directory:
        return []
    parts = directory.split("/")
    above = ["/".join(parts[:i]) for i in range(len(parts) - 1, -1, -1)]
    found = [file_reference(d, argument[m.end():]) for d in above]
    return [p for p in dict.fromkeys(found) if p is not None]


#: `NAME = "literal"` (a local, or a variable's `default`): a value a path may be built from.
_LITERAL_ASSIGN = lazy_compile(r'(?<![\w.-])([A-Za-z_][\w-]*)[ \t]*=[ \t]*"([^"$%\\\n]*)"')
_VALUE_PART = lazy_compile(r"\$\{\s*(local|var)\.([A-Za-z_][\w-]*)\s*\}")
_MAX_CANDIDATES = 16


def literal_assignments(raws: Iterable[bytes]) -> dict[str, list[str]]:
    """NAME -> the literal strings assigned to it (`NAME = "x"`) in the Terraform files
    `raws` (a byte scan; `default` collects variable defaults), for `file_references` and
    `fileset_candidates`; `${path.module}` (`path.root`, `path.cwd`) in one is `.`, the
    module's own directory (`"${path.module}/../policies"` is `"./../policies"`)."""
    found: dict[str, list[str]] = {}
    for raw in raws:
        for m in _LITERAL_ASSIGN.finditer(_PATH_REF.sub(".", raw.decode("utf-8", "replace"))):
            found.setdefault(m.group(1), []).append(m.group(2))
    return found


#: A `fileset("<dir>", "<pattern>")` call with a literal (or `path.*`-interpolated) directory
#: (https://developer.hashicorp.com/terraform/language/functions/fileset).
FILESET_CALL = lazy_compile(r'\bfileset\(\s*(?:"((?:[^"\\]|\\.)*)"|path\.(?:module|root|cwd))\s*,'
                          r'\s*"([^"$%]*)"\s*\)')


def fileset_globs(directory: str, text: str) -> list[str]:
    """The repository path globs (`policies/*.json`, `checker.globs` syntax) of the `fileset()`
    calls in Terraform text `text` of the module in `directory`, each once, in order."""
    found: list[str] = []
    for m in FILESET_CALL.finditer(text):
        own = m.group(1) in (None, "", ".") or _PATH_REF.sub(".", m.group(1)) == "."
        base = directory if own else file_reference(directory, m.group(1))
        if base is None:
            continue  # an expression (`fileset_expressions`) or outside (`fileset_outside`)
        glob = f"{base}/{m.group(2)}" if base else m.group(2)
        if glob not in found:
            found.append(glob)
    return found


def fileset_outside(directory: str, text: str) -> list[str]:
    """The `fileset()` calls (as `fileset("<dir>", "<pattern>")`) in Terraform text `text` of
    the module in `directory` whose literal directory is outside the repository (absolute, or
    `..` above its root): no file they select can be read."""
    found: list[str] = []
    for m in FILESET_CALL.finditer(text):
        arg = m.group(1)
        literal = arg not in (None, "") and "${" not in _PATH_REF.sub(".", arg)
        if literal and _PATH_REF.sub(".", arg) != "." and file_reference(directory, arg) is None:
            call = f'fileset("{arg}", "{m.group(2)}")'
            if call not in found and posixpath.normpath(
                    posixpath.join(directory, _PATH_REF.sub(".", arg))) != ".":
                found.append(call)
    return found


def fileset_candidates(directory: str, expr: str, pattern: str,
                       literals: Mapping[str, Sequence[str]]) -> list[str]:  # fmt: skip
    """The globs `fileset(<expr>, "<pattern>")` of the module in `directory` selects when the
    `${local.X}`/`${var.X}` (or bare `local.X`/`var.X`) of its directory expression `expr` is
    one of the literals `literals` holds (`literal_assignments`; a variable's `default` too),
    at most `_MAX_CANDIDATES`; empty when none computes (`fileset_expressions`' superset)."""
    inner = expr[1:-1] if expr.startswith('"') else "${" + expr + "}"
    candidates = [inner]
    for part in _VALUE_PART.finditer(inner):
        values = [*literals.get(part.group(2), ()),
                  *(literals.get("default", ()) if part.group(1) == "var" else ())]
        candidates = [c.replace(part.group(0), v) for c in candidates
                      for v in values][:_MAX_CANDIDATES]
    found: list[str] = []
    for candidate in candidates:
        found += [g for g in fileset_globs(directory, f'fileset("{candidate}", "{pattern}")')
                  if g not in found] if "${" not in _PATH_REF.sub(".", candidate) else []
    return found


#: A `fileset(<directory>, "<pattern>")` call whose directory is an expression (`var.dir`,
#: `local.dir`, `"${path.module}/${var.env}"`): `FILESET_CALL` does not read it.
FILESET_EXPRESSION = lazy_compile(
    r'\bfileset\(\s*((?:[A-Za-z_][\w.\[\]"-]*|"[^"\n]*\$\{[^"\n]*"))\s*,\s*"([^"$%]*)"\s*\)')


def fileset_expressions(directory: str, text: str) -> list[tuple[str, str, str]]:
    """(directory expression, pattern, superset glob) of each `fileset()` call in Terraform
    text `text` of the module in `directory` whose directory is an expression
    (`FILESET_EXPRESSION`; `path.module` alone is `fileset_globs`'): the glob is the pattern
    under every directory of the module (`<module>/**/<pattern>`), the files it may select."""
    found: list[tuple[str, str, str]] = []
    for m in FILESET_EXPRESSION.finditer(text):
        expr = m.group(1)
        if re.fullmatch(r"path\.(?:module|root|cwd)", expr) or (
                expr.startswith('"') and "${" not in _PATH_REF.sub(".", expr)):
            continue  # a literal directory: `fileset_globs` reads it
        glob = f"{directory}/**/{m.group(2)}" if directory else f"**/{m.group(2)}"
        if (expr, m.group(2), glob) not in found:
            found.append((expr, m.group(2), glob))
    return found


def file_references(path: str, raw: bytes,
                    literals: Mapping[str, Sequence[str]] | None = None) -> list[str]:  # fmt: skip
    """The repository paths that the `file()`/`templatefile()` calls in Terraform file `path`
    (bytes `raw`) read, sorted, each once (a cheap byte scan: no HCL parse). A path built from
    `${local.NAME}`/`${var.NAME}` is tried with each literal `literals` holds for NAME (from
    `literal_assignments` of the module's files; a variable's too with each `default`)."""
    if b"file(" not in raw and b"path." not in raw and _ANY_SCRIPT_SUFFIX.search(raw) is None:
        return []
    directory = path_parent(path)
    directory = "" if directory == "." else directory
    text = raw.decode("utf-8", "replace")
    found: set[str | None] = set()
    known = literals or {}
    found.update(file_reference(directory, m.group(1)) for m in SCRIPT_PATH.finditer(text))
    for m in FILE_CALL.finditer(text):
        candidates = [m.group(2)]
        for part in _VALUE_PART.finditer(m.group(2)) if known else ():
            values = [*known.get(part.group(2), ()),
                      *(known.get("default", ()) if part.group(1) == "var" else ())]
            candidates = [c.replace(part.group(0), v) for c in candidates
                          for v in values][:_MAX_CANDIDATES]
        found.update(file_reference(directory, c) for c in candidates)
        found.update(root_candidates(directory, m.group(2)))
    return sorted(p for p in found if p is not None)


def is_terragrunt(path: str) -> bool:
    """True for a Terragrunt unit's configuration file (`terragrunt.hcl`), whose `inputs` are
    read as module arguments (`checker.parsers.terraform.terragrunt`)."""
    return path_name(path).lower() == "terragrunt.hcl"


def word_alternation(words: Iterable[bytes], *, ignore_case: bool = False) -> re.Pattern[bytes]:
    """One compiled pattern that matches wherever any of `words` occurs (`(?!)` for none).

    Written as a prefix tree (`aws_iam_(?:role|user)`), not `word1|word2|...`: Python's `re`
    tries every alternative at every position, so a search with 300 catalogue names costs ~15x
    more as a flat list. The language is the same: `search` finds a match exactly when one of
    the words occurs (case-insensitively with `ignore_case`)."""
    trie: dict[int, Any] = {}
    for word in set(words):
        if not word:
            continue
        node = trie
        for byte in word:
            node = node.setdefault(byte, {})
        node[-1] = {}  # a word ends here
    flags = re.IGNORECASE if ignore_case else 0
    return re.compile(_trie_pattern(trie) if trie else b"(?!)", flags)


def _trie_pattern(node: dict[int, Any]) -> bytes:
    branches = [re.escape(bytes([b])) + _trie_pattern(node[b]) for b in sorted(node) if b >= 0]
    if not branches:
        return b""
    if -1 in node:  # a word ends here and longer ones go on
        return b"(?:" + b"|".join(branches) + b")?"
    return branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"


def command_lines(lines: Sequence[str], *, strip: bool = False) -> Iterator[tuple[int, str]]:
    """Each command line of a script split into `lines` (a shell script, a makefile, a `run:`
    block): (the 1-based number of its first line, its text), where a line ending in `\\` is
    joined with the next by a space (the next stripped with `strip`, so that re-indenting a
    continuation changes no text). Comment lines are yielded too: callers skip them."""
    number = 0
    while number < len(lines):
        start, line = number + 1, lines[number]
        number += 1
        while line.rstrip().endswith("\\") and number < len(lines):
            following = lines[number].strip() if strip else lines[number]
            line = line.rstrip()[:-1] + " " + following
            number += 1
        yield start, line
