"""Values a GitHub Actions job computes at run time and hands to later steps and jobs: step
outputs (`$GITHUB_OUTPUT`, `::set-output`, `actions/github-script`'s `result` and
`core.setOutput`), variables written to `$GITHUB_ENV` (`core.exportVariable`) and job outputs
(`jobs.<id>.outputs`, read as `needs.<id>.outputs.NAME`). A value computed from tainted data
is tainted: `${{ steps.pr.outputs.sha }}` set from `gh pr view --json headRefOid` names the
pull request's head as much as `github.event.pull_request.head.sha` does, and
`${{ steps.t.outputs.title }}` set from the event file's title is the outsider's text. The
caller says what is tainted (`Reads`: the pull request's head for
`checker.secrets.ci_untrusted`, outsider text for `checker.secrets.ci_injection`); this module
carries it through the job. Facts only.

Names, in the sets passed around: a bare `NAME` for an environment variable (`env:` or
`$GITHUB_ENV`, read as `${{ env.NAME }}` or `$NAME`), `steps.<id>.outputs.<name>` (`<name>`
`*` when a tainted write's name is not read) and `needs.<job>.outputs.<name>`.

What is read, per step with an `id:`, in step order:
- a `run:` script's writes to `$GITHUB_OUTPUT`/`$GITHUB_ENV` (`echo "name=..." >>`, `tee -a`,
  a `name<<EOF` multi-line value, a here-document, the deprecated `::set-output`), tainted when
  the written line reads tainted data (`Reads`, a tainted `${{ }}` or `$VAR`, or a shell
  variable the script assigned from tainted data: `T=$(jq ...)`);
- `actions/github-script`'s `script:`: `return` (`result`), `core.setOutput` and
  `core.exportVariable`, tainted when the value reads tainted data or a `const`/`let`/`var`
  assigned from it (destructuring too).
A write whose value comes from elsewhere (a script file, another command) is not tainted:
what is not read is not assumed (a constant output must not become a finding).

Sources: GitHub, "Workflow commands" (setting an output parameter, multiline strings,
environment files:
https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands);
job outputs
(https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idoutputs);
actions/github-script's outputs (https://github.com/actions/github-script#reading-step-results);
zizmor's `template-injection` treats step outputs as possibly attacker-controlled
(https://docs.zizmor.sh/audits/#template-injection).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from yaml.nodes import MappingNode, Node

from checker.lazy_patterns import lazy_compile
from checker.safeyaml import get, items, scalar, sequence

#: (text, tainted names) -> True when the text reads tainted data.
Reads = Callable[[str, frozenset[str]], bool]
#: (an `env:` mapping, tainted names) -> the names plus the mapping's tainted variables.
EnvTaint = Callable[[Node | None, frozenset[str]], frozenset[str]]

_OUTPUT_REF = lazy_compile(r"(?<![\w.])(steps|needs)\.([\w-]+)\.outputs\.([\w-]+)")
_VAR = lazy_compile(r"\$\{?([A-Za-z_]\w*)")
_TARGET = lazy_compile(
    r"(?:>>?|\btee\b(?:\s+-a)?)\s*['\"]?\$\{?(GITHUB_OUTPUT|GITHUB_ENV)\b")
_NAMED = lazy_compile(
    r"\b(?:echo|printf)\s+(?:-[A-Za-z]+\s+)*['\"]?([A-Za-z_][\w-]*)(=|<<)\s*['\"]?(\w*)")
_HEREDOC = lazy_compile(r"<<-?\s*['\"]?([A-Za-z_]\w*)['\"]?")
_LINE_NAME = lazy_compile(r"^\s*([A-Za-z_][\w-]*)(=|<<)")
_GROUP_END = lazy_compile(r"^\s*\}\s*>>?\s*['\"]?\$\{?(GITHUB_OUTPUT|GITHUB_ENV)\b")
_SET_OUTPUT = lazy_compile(r"::set-output\s+name=([\w-]+)::")
_ASSIGN = lazy_compile(
    r"^\s*(?:export\s+|local\s+|readonly\s+|declare(?:\s+-\w+)*\s+)?([A-Za-z_]\w*)=(.*)")
_JS_DECL = lazy_compile(
    r"\b(?:const|let|var)\s+(\{[^}]*\}|[A-Za-z_$][\w$]*)\s*=\s*(?:await\s+)?(.+)")
_JS_KEY = lazy_compile(r"([A-Za-z_$][\w$]*)\s*(?::\s*([A-Za-z_$][\w$]*))?")
_JS_RETURN = lazy_compile(r"\breturn\b(.*)")
_JS_SET = lazy_compile(r"\bcore\.(setOutput|exportVariable)\(\s*['\"`]([\w-]+)['\"`]\s*,(.*)")
_SCRIPT_ACTION = "actions/github-script"


def output_refs(text: str, names: frozenset[str]) -> bool:
    """True when `text` reads a `steps.<id>.outputs.<name>` or `needs.<job>.outputs.<name>`
    among `names` (or any output of a step whose `<id>.outputs.*` is among them)."""
    return any(f"{k}.{i}.outputs.{o}" in names or f"{k}.{i}.outputs.*" in names
               for k, i, o in _OUTPUT_REF.findall(text))


def step_names(job: Node, names: frozenset[str], reads: Reads, env: EnvTaint
               ) -> tuple[list[frozenset[str]], frozenset[str]]:  # fmt: skip
    """(for each item of `job`'s `steps`, the tainted names when it runs: `names`, its `env:`
    and what earlier steps wrote; the names after the last step). `job` is a job or a
    composite action's `runs`."""
    out: list[frozenset[str]] = []
    current = names
    for step in sequence(get(job, "steps")):
        if not isinstance(step, MappingNode):
            out.append(current)
            continue
        here = env(get(step, "env"), current)
        out.append(here)
        ident = (scalar(get(step, "id")) or "").strip()
        uses = (scalar(get(step, "uses")) or "").split("@", 1)[0].strip().lower()
        if uses == _SCRIPT_ACTION:
            outputs, envs = _js_writes(scalar(get(get(step, "with"), "script")) or "", here,
                                       reads)
        else:
            outputs, envs = _shell_writes(scalar(get(step, "run")) or "", here, reads)
        current = current | envs | (
            {f"steps.{ident}.outputs.{n}" for n in outputs} if ident else set())
    return out, current


def needs_names(jobs: Sequence[tuple[str, Node, Node]],
                start: Callable[[Node, frozenset[str]], frozenset[str]], reads: Reads,
                env: EnvTaint) -> frozenset[str]:
    """The `needs.<job>.outputs.<name>` of `jobs` (`(id, key, job)` entries) whose value reads
    tainted data, `start(job, found)` giving a job's tainted names before its steps; repeated
    until nothing changes, as jobs may be listed in any order."""
    found: frozenset[str] = frozenset()
    for _ in range(len(jobs)):
        new = set(found)
        for job_id, _, job in jobs:
            outputs = list(items(get(job, "outputs")))
            if not outputs:
                continue
            _, final = step_names(job, start(job, found), reads, env)
            new.update(f"needs.{job_id}.outputs.{name}" for name, _, value in outputs
                       if tainted(scalar(value) or "", final, reads))
        if new == found:
            break
        found = frozenset(new)
    return found


def tainted(text: str, names: frozenset[str], reads: Reads) -> bool:
    """True when `text` reads tainted data: `reads`, a tainted output, or `$VAR` of a tainted
    variable."""
    return reads(text, names) or output_refs(text, names) or any(
        m.group(1) in names for m in _VAR.finditer(text))


def _shell_writes(script: str, names: frozenset[str], reads: Reads
                  ) -> tuple[set[str], set[str]]:  # fmt: skip
    """(output names, environment names) a `run:` script writes from tainted data."""
    local: set[str] = set()
    outputs: set[str] = set()
    envs: set[str] = set()

    def hot(text: str) -> bool:
        return tainted(text, names | local, reads)

    def add(kind: str, name: str) -> None:
        (outputs if kind == "GITHUB_OUTPUT" else envs).add(name)

    body: tuple[str, str] | None = None  # (kind, delimiter) of a here-document being written
    pending: tuple[str, str, str] | None = None  # (kind, name, delimiter) of a `name<<D` value
    current = ""  # the name a here-document's lines are the value of
    for text in _grouped(script.split("\n")):
        if body is not None:
            if text.strip() == body[1]:
                body = None
                continue
            named = _LINE_NAME.match(text)
            current = named.group(1) if named else current
            if current and hot(text):
                add(body[0], current)
            continue
        assign = _ASSIGN.match(text)
        if assign and hot(assign.group(2)):
            local.add(assign.group(1))
        if (legacy := _SET_OUTPUT.search(text)) and hot(text[legacy.end():]):
            outputs.add(legacy.group(1))
        target = _TARGET.search(text)
        if target is None:
            continue
        kind = target.group(1)
        if pending is not None and pending[0] == kind:
            if pending[2] and re.search(rf"(?<![\w$]){re.escape(pending[2])}\b", text):
                pending = None
            elif hot(text):
                add(kind, pending[1])
            continue
        if (doc := _HEREDOC.search(text)) and not _NAMED.search(text):
            body, current = (kind, doc.group(1)), ""
            continue
        named = _NAMED.search(text)
        if named and named.group(2) == "<<":
            pending = (kind, named.group(1), named.group(3))
        if hot(text):
            add(kind, named.group(1) if named else "*")
    envs.discard("*")
    return outputs, envs


def _grouped(lines: list[str]) -> list[str]:
    """`lines`, each line of a `{ ...; } >> "$GITHUB_OUTPUT"` group given its redirect."""
    out = list(lines)
    for at, text in enumerate(lines):
        end = _GROUP_END.match(text)
        start = next((i for i in range(at - 1, -1, -1) if lines[i].rstrip().endswith("{")),
                     None) if end else None
        if end is not None and start is not None:
            out[start + 1:at] = [f"{t} >> ${end.group(1)}" for t in lines[start + 1:at]]
    return out


def _js_writes(script: str, names: frozenset[str], reads: Reads) -> tuple[set[str], set[str]]:
    """(output names, environment names) an `actions/github-script` script sets from tainted
    data: its `return` value is the `result` output."""
    local: set[str] = set()

    def hot(text: str) -> bool:
        return tainted(text, names, reads) or any(
            re.search(rf"(?<![\w$.]){re.escape(n)}(?![\w$])", text) for n in local) or any(
            f"process.env.{n}" in text for n in names)

    lines = script.split("\n")
    outputs: set[str] = set()
    envs: set[str] = set()
    for at, text in enumerate(lines):
        if decl := _JS_DECL.search(text):
            target, value = decl.group(1), decl.group(2)
            if target.startswith("{"):
                for key, alias in _JS_KEY.findall(target[1:-1]):
                    if hot(f"{value.rstrip(' ;')}.{key}"):
                        local.add(alias or key)
            elif hot(value):
                local.add(target)
        if (ret := _JS_RETURN.search(text)) and hot(_statement(ret.group(1), lines[at + 1:])):
            outputs.add("result")
        if (call := _JS_SET.search(text)) and hot(_statement(call.group(3), lines[at + 1:])):
            (outputs if call.group(1) == "setOutput" else envs).add(call.group(2))
    return outputs, envs


def _statement(first: str, rest: list[str]) -> str:
    """A JavaScript statement from `first`, continued on `rest` while brackets are open."""
    text, depth = first, 0
    for line in [first, *rest]:
        if line is not first:
            text += "\n" + line
        depth += sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
        if depth <= 0:
            break
    return text
