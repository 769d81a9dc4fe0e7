"""Shell lines of a GitHub Actions `run:` value, as `checker.secrets.ci_untrusted` reads them:
each command line with its line number (`script_lines`), and the first command of a line that
runs code from the working tree (`running_command`). Facts only: NHI315 decides.

A command runs code unless it only reads, prints or moves files (`_INERT`: `echo`, `cat`,
`git`, `gh`, `curl`, `tar`, `patch`, ...); unknown commands count (fail closed). Quoted strings
are data; command substitutions are commands; `sudo`, `env X=1`, `xargs` run the command after
them. Writing a file's content into `$GITHUB_ENV`/`$GITHUB_PATH` counts too: the next steps run
with what it sets (zizmor's `github-env`, https://docs.zizmor.sh/audits/#github-env).
"""

from __future__ import annotations

from yaml.nodes import Node, ScalarNode

from checker.lazy_patterns import lazy_compile
from checker.safeyaml import line_of

#: Commands that read or print but run nothing from the working tree (git and gh included:
#: neither runs code from a checkout; `patch` only writes files). Anything else counts as
#: running code.
_INERT = frozenset({
    "echo", "printf", "true", "false", "exit", ":", "sleep", "ls", "pwd", "date", "cat",
    "head", "tail", "grep", "wc", "jq", "yq", "cd", "mkdir", "rm", "cp", "mv", "touch",
    "export", "set", "unset", "test", "[", "[[", "]]", "if", "then", "else", "elif", "fi",
    "for", "do", "done", "while", "case", "esac", "{", "}", "git", "gh", "curl", "wget",
    "sort", "uniq", "cut", "tr", "sed", "awk", "diff", "basename", "dirname", "printenv",
    "tee", "base64", "sha256sum", "shasum", "find", "tar", "unzip", "zip", "gzip", "patch",
})
#: Words that run the command after them (`sudo make`, `env X=1 npm test`).
_PREFIXES = frozenset({"sudo", "env", "time", "nohup", "exec", "command", "xargs", "!"})
_SEPARATORS = lazy_compile(r"&&|\|\||;|\|&?|(?<![<>])&(?![>&])")
_SUBST = lazy_compile(r"\$\(([^()]*)\)|`([^`]*)`")
_QUOTED = lazy_compile(r"'[^']*'|\"[^\"]*\"")
_REDIRECT_FD = lazy_compile(r"^\d*[<>]")
_HEREDOC = lazy_compile(r"<<-?\s*['\"]?([A-Za-z_]\w*)['\"]?")
_ASSIGN = lazy_compile(r"^[A-Za-z_]\w*=")
_ENV_FILES = lazy_compile(r"GITHUB_(?:ENV|PATH)\b")


def running_command(text: str) -> str | None:
    """The first command of a script line that runs code (its name only), else None. Quoted
    strings are data; command substitutions (`$(...)`, backticks) are commands too."""
    if text.lstrip().startswith("#"):
        return None
    inner = [a or b for a, b in _SUBST.findall(text)]
    outer = _QUOTED.sub(" Q ", _SUBST.sub(" Q ", text))
    names = [n for part in (outer, *inner) for segment in _SEPARATORS.split(part)
             if (n := command_name(segment)) is not None]
    for name in names:
        if name not in _INERT:
            return name[:40]
    if _ENV_FILES.search(text) and (inner or any(n not in ("echo", "printf") for n in names)):
        return "a file's content into $GITHUB_ENV"
    return None


def command_name(segment: str) -> str | None:
    """The command a shell segment runs, after prefixes (`sudo`, `env X=1`), else None."""
    words = segment.split()
    while words and (words[0] in _PREFIXES or _ASSIGN.match(words[0])
                     or (words[0].startswith("-") and len(words) > 1)):
        words.pop(0)
    if not words or words[0][0] in "<>" or _REDIRECT_FD.match(words[0]):
        return None
    name = words[0].lstrip("({").rstrip(")}")
    return None if name in ("", "Q") else name


def script_lines(node: Node | None) -> list[tuple[int, str]]:
    """(line, text) of each command line of a `run:` value: not blank, not inside a
    here-document; a line continued (`\\` at its end) is joined with the lines that continue
    it, at the first one's number."""
    if not isinstance(node, ScalarNode):
        return []
    first = line_of(node) + (1 if node.style in ("|", ">") else 0)
    out: list[tuple[int, str]] = []
    until: str | None = None
    continued = False
    for i, text in enumerate(str(node.value).split("\n")):
        if until is not None:
            until = None if text.strip() == until else until
            continue
        if continued and out:  # one command: its continuation lines join its first
            number, before = out[-1]
            out[-1] = (number, before.rstrip().removesuffix("\\") + " " + text.strip())
        elif text.strip():
            out.append((first + i, text))
            heredoc = _HEREDOC.search(text)
            until = heredoc.group(1) if heredoc else None
        continued = text.rstrip().endswith("\\")
    return out

