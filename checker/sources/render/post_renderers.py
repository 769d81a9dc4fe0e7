"""Where a deploy changes a chart's output after Helm renders it, read from text (facts only;
session 12 attack `helm-post-renderer-in-deploy-script`).

nhi-gate renders a chart with `helm template` and judges those objects; what the cluster gets
may differ when the deploy rewrites them first:
- `helm install|upgrade|template ... --post-renderer ./x.sh` (helm 3: an executable that reads
  the rendered manifests on stdin and prints what is installed; helm 4: a plugin), and
  `helmfile ... --post-renderer`: https://helm.sh/docs/topics/advanced/#post-rendering;
- `helm template ... | ./x.sh | kubectl apply -f -`: the output piped through any command but
  `kubectl apply`/`kubectl create` (which apply it), `tee` and `cat` (which pass it on), in a
  pipeline that applies it or writes it to a file (`> out.yaml`); one that only validates or
  compares it (`| kubeconform`, `| kubectl diff -f -`) deploys nothing;
- a helmfile release's (or `helmDefaults`') `postRenderer`, `postRendererArgs`, `transformers`,
  `jsonPatches` and `strategicMergePatches` (helmfile runs kustomize over the chart's output):
  https://helmfile.readthedocs.io/en/latest/#configuration.

`rewrites(path, raw)` lists each as a `Rewrite` (the line, what runs the chart, what rewrites
its output, as written: a program path or a key, never a value). The commands decide what a
change of them means (`checker.commands.deploy_commands`).
"""

from __future__ import annotations

import posixpath
import shlex
from typing import NamedTuple

from checker.model import SourceFile
from checker.parsers.common import command_lines
from checker.safeyaml.load import load_source
from checker.safeyaml.nodes import get, key_line, line_of, scalar

#: helm and helmfile subcommands that render or install a chart.
_HELM = {"helm": frozenset({"install", "upgrade", "template"}),
         "helmfile": frozenset({"apply", "sync", "template", "diff", "deps", "write-values"})}
#: Commands that apply or only pass on what is piped into them.
_PASS_ON = frozenset({"tee", "cat"})
_APPLY = frozenset({"apply", "create"})
#: Shell control operators that end a command (a `|` goes on to the next one in a pipeline).
_ENDS = frozenset({"||", "&&", ";", "&", ";;", "(", ")"})
#: kubectl flags taking a value before its subcommand.
_KUBECTL_VALUED = frozenset({"-n", "--namespace", "--context", "--kubeconfig", "--cluster",
                             "--user", "-s", "--server", "--token"})
#: Helmfile release keys that change a chart's output after it renders.
HELMFILE_KEYS = ("postRenderer", "postRendererArgs", "transformers", "jsonPatches",
                 "strategicMergePatches")


class Rewrite(NamedTuple):
    """At `line` (1-based), `who` (`helm upgrade`, `helmfile release app`) has its rendered
    output changed by `what` (`--post-renderer ./x.sh`, `| ./x.sh`, `jsonPatches`); `program`
    the file it runs as written (`./x.sh`; "" for none or a patch written inline)."""

    line: int
    who: str
    what: str
    program: str = ""


def runs(rewrite: Rewrite, path: str) -> str | None:
    """The repository path of the program `rewrite` (found in the file `path`) runs, when it is
    a relative path: from the repository root for a command line (where a CI job runs it),
    from the helmfile's folder for a helmfile's `postRenderer`; None otherwise."""
    program = rewrite.program
    if not program or program.startswith(("/", "~", "$")) or "/" not in program:
        return None
    folder = posixpath.dirname(path) if rewrite.who.startswith("helmfile ") and (
        "release" in rewrite.who or "helmDefaults" in rewrite.who) else ""
    out = posixpath.normpath(posixpath.join(folder, program))
    return None if out.startswith("../") else out


def rewrites(path: str, raw: bytes) -> list[Rewrite]:
    """Each rewrite of a chart's rendered output in the file `path` (text `raw`): helmfile
    keys in a helmfile, command lines in any other file; in order."""
    name = posixpath.basename(path)
    if name in ("helmfile.yaml", "helmfile.yml") or (
            posixpath.basename(posixpath.dirname(path)) == "helmfile.d"
            and name.endswith((".yaml", ".yml"))):
        return _helmfile(path, raw)
    text = raw.decode("utf-8", "replace")
    return _commands(text) if "helm" in text else []


def _helmfile(path: str, raw: bytes) -> list[Rewrite]:
    out = []
    for doc in load_source(SourceFile(path, raw)).documents:
        defaults = get(doc, "helmDefaults")
        blocks = [("helmfile helmDefaults", defaults)] if defaults is not None else []
        for release in getattr(get(doc, "releases"), "value", []) or []:
            blocks.append((f"helmfile release {scalar(get(release, 'name')) or '?'}", release))
        for who, block in blocks:
            for key in HELMFILE_KEYS:
                if get(block, key) is not None:
                    program = scalar(get(block, key)) if key == "postRenderer" else None
                    out.append(Rewrite(key_line(block, key) or line_of(block), who, key,
                                       program or ""))
    return out


def _words(line: str) -> list[str]:
    """`line` split as a shell splits it, with its operators (`|`, `&&`) as words of their
    own; a comment dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # an unclosed quote: split on blanks
        return line.split()


def _commands(text: str) -> list[Rewrite]:
    out: list[Rewrite] = []
    for start, line in command_lines(text.splitlines()):
        if "helm" in line:
            out.extend(_line_rewrites(start, _words(line)))
    return out


def _line_rewrites(line: int, words: list[str]) -> list[Rewrite]:
    """The rewrites of each helm or helmfile command among the shell `words` of one line."""
    out = []
    i = 0
    while i < len(words):
        tool = posixpath.basename(words[i])
        if tool not in _HELM:
            i += 1
            continue
        end = i + 1
        while end < len(words) and words[end] not in _ENDS and words[end] != "|":
            end += 1
        command = words[i + 1:end]
        sub = next((w for w in command if w in _HELM[tool]), None)
        if sub is None:
            i = end
            continue
        who = f"{tool} {sub}"
        for k, word in enumerate(command):
            if word == "--post-renderer" or word.startswith("--post-renderer="):
                program = word.partition("=")[2] or (command[k + 1] if k + 1 < len(command)
                                                     else "")
                out.append(Rewrite(line, who, f"--post-renderer {program}".strip(), program))
        rewriter: str | None = None
        while sub == "template" and end < len(words) and words[end] == "|":
            nxt = end + 1
            end = nxt
            while end < len(words) and words[end] not in _ENDS and words[end] != "|":
                end += 1
            piped = words[nxt:end]
            applies = bool(piped) and posixpath.basename(piped[0]) in ("kubectl", "oc") and (
                _passes_on(piped))
            if rewriter is None and not _passes_on(piped):
                rewriter = piped[0]
                applies = ">" in piped or ">>" in piped
            if rewriter is not None and applies:
                out.append(Rewrite(line, who, f"| {rewriter}", rewriter))
                break
        i = end
    return out


def _passes_on(command: list[str]) -> bool:
    """Whether a command piped a chart's output applies it as it is (`kubectl apply`,
    `kubectl create`) or passes it on (`tee`, `cat`)."""
    if not command:
        return True
    program = posixpath.basename(command[0])
    if program in _PASS_ON:
        return True
    if program not in ("kubectl", "oc"):
        return False
    rest = iter(command[1:])
    for word in rest:
        if word in _KUBECTL_VALUED:
            next(rest, None)
        elif not word.startswith("-"):
            return word in _APPLY
    return False
