"""GitHub Actions jobs that run a pull request's own code with the base repository's credentials
(a "pwn request") -> the `pr_head_code` facet, judged by NHI315 (`checker.checks.ci`).

A workflow triggered by `pull_request_target` runs from the base branch, with the base
repository's GITHUB_TOKEN, the secrets its jobs reference and its Actions cache, for pull
requests from forks too; so do `workflow_run` (after a fork's `pull_request` run) and
`issue_comment` (anyone may comment on a pull request) workflows (`TRIGGERS`). That is safe
only while the job runs the base's code. A job that checks out the pull request's head and
then runs code from that checkout hands all of it to whoever opened the pull request,
whatever its `permissions:` say (a `contents: read` token still reads private code and writes
the base branch's cache, which later privileged runs restore).

What is read, per job, in step order (facts only; the check decides):
- the head checkout, the first step that fetches the pull request's code:
  `actions/checkout` whose `ref` or `repository` names it (`_HEAD`:
  `github.event.pull_request.head.sha`/`.ref`/`.repo.full_name`, `merge_commit_sha`,
  `github.head_ref`, `refs/pull/N/merge`, directly or through an `env:` variable), or a
  `run:` line with `gh pr checkout`, or a git fetch/checkout/pull/clone/switch/reset of such
  a ref (`git fetch origin pull/N/head`);
- or, in a `workflow_run` workflow, a download of the triggering run's artifacts
  (`actions/download-artifact` with `run-id: ${{ github.event.workflow_run.id }}`): what a
  fork's pull request run uploaded is its code as much as a checkout;
- a reusable-workflow call (job-level `uses:`) handed such a ref in `with:`: it checks out
  and runs at once, as far as nhi-gate can tell (the called file is not followed);
- the first step after it (or a later line of the same script) that runs code: a local
  action (`uses: ./...`), an action that builds the checkout (`_BUILDERS`), or a `run:` line
  with a command outside `_INERT` (a build, `npm install`, `make`, a script in the checkout,
  an interpreter), or one that writes a file's content into `$GITHUB_ENV`/`$GITHUB_PATH`.
  Unknown commands count: what nhi-gate does not model is judged (fail closed). When the
  head is checked out into a subdirectory (`with: {path: pr}`), only a step that names that
  directory (its script, `working-directory` or inputs) runs the pull request's code.
- a job (or checkout step) whose `if:` requires a pull request from the base repository
  itself, or a merged one (`_TRUSTED`, also through the jobs it `needs`), runs no stranger's
  code: not judged.

The facet: address `<path>#jobs.<id>.pr-head-code`, lines from the checkout step to the
running line, `attribute_lines` `anchor` (the running line), `checkout`,
`on.<trigger>`; `secret_sinks` `trigger:<event>`, `checkout:<step> <how>`, `runs:<step> <what>`
(a command's name, never its arguments: a secret may be among them) and `persisted` when the
checkout leaves GITHUB_TOKEN in `.git/config`; `inputs` the trigger line, so a change of the
trigger alone touches it.

Sources: GitHub Security Lab, "Keeping your GitHub Actions and workflows secure Part 1:
Preventing pwn requests"
(https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/); GitHub,
"Securely using pull_request_target"
(https://docs.github.com/en/actions/reference/security/securely-using-pull_request_target);
zizmor's `dangerous-triggers` (https://docs.zizmor.sh/audits/#dangerous-triggers); CodeQL's
`actions/untrusted-checkout`
(https://codeql.github.com/codeql-query-help/actions/actions-untrusted-checkout-critical/).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from yaml.nodes import MappingNode, Node, ScalarNode

from checker.model import IdentityObject, Location
from checker.parsers.github_keys import trigger_lines
from checker.safeyaml import get, items, line_of, scalar, sequence
from checker.secrets.facets import facet

TYPE = "pr_head_code"
#: Triggers that run the base repository's workflow, with its credentials, on an event someone
#: without write access can cause, in the order a workflow's message names the first.
TRIGGERS = ("pull_request_target", "workflow_run", "issue_comment")
#: An expression or ref naming the pull request's code (head commit, branch, fork, merge ref).
_HEAD = re.compile(
    r"github\.event\.pull_request\.(?:head\.[\w.]+|merge_commit_sha)|github\.head_ref"
    r"|github\.event\.workflow_run\.(?:head_sha|head_branch|head_repository\.[\w.]+)"
    r"|GITHUB_HEAD_REF|refs/pull/\S+|(?<![\w/])pull/(?:\$\{\{[^}]*\}\}|[^\s/]+)/(?:head|merge)\b")
#: Conditions under which a job runs no stranger's code, each a whole `&&` conjunct of its
#: `if:` (`_required`): the pull request comes from the base repository itself, whose authors
#: can push to it anyway (`head.repo.full_name == github.repository`, either side;
#: `head.repo.fork == false`, `!head.repo.fork`), or it is merged (its code is on the base
#: branch: `github.event.pull_request.merged == true`).
_TRUSTED = re.compile(
    r"github\.event\.pull_request\.head\.repo\.full_name\s*==\s*github\.repository"
    r"|github\.repository\s*==\s*github\.event\.pull_request\.head\.repo\.full_name"
    r"|github\.event\.pull_request\.head\.repo\.fork\s*==\s*false"
    r"|!\s*github\.event\.pull_request\.head\.repo\.fork"
    r"|github\.event\.pull_request\.merged(?:\s*==\s*true)?")
#: Actions that download another run's artifacts, and the expression naming the run that
#: triggered a `workflow_run` workflow (a fork's pull request run writes what it likes there):
#: https://github.com/actions/download-artifact#download-artifacts-from-other-workflow-runs-or-repositories
_ARTIFACT_ACTIONS = frozenset({"actions/download-artifact", "dawidd6/action-download-artifact"})
_FOREIGN_RUN = re.compile(r"github\.event\.workflow_run\.(?:id|run_id)\b")
_GIT_GET = re.compile(
    r"\bgit\s+(?:-C\s+\S+\s+)?(?:fetch|checkout|pull|switch|clone|reset|merge|worktree\s+add)\b")
_GH_CHECKOUT = re.compile(r"\bgh\s+pr\s+checkout\b")
_ENV_EXPR = re.compile(r"\$\{\{\s*env\.([A-Za-z_]\w*)\s*\}\}")
_VAR = re.compile(r"\$\{?([A-Za-z_]\w*)")
#: Commands that read or print but run nothing from the working tree (git and gh included:
#: neither runs code from a checkout). Anything else counts as running code.
_INERT = frozenset({
    "echo", "printf", "true", "false", "exit", ":", "sleep", "ls", "pwd", "date", "cat",
    "head", "tail", "grep", "wc", "jq", "yq", "cd", "mkdir", "rm", "cp", "mv", "touch",
    "export", "set", "unset", "test", "[", "[[", "]]", "if", "then", "else", "elif", "fi",
    "for", "do", "done", "while", "case", "esac", "{", "}", "git", "gh", "curl", "wget",
    "sort", "uniq", "cut", "tr", "sed", "awk", "diff", "basename", "dirname", "printenv",
    "tee", "base64", "sha256sum", "shasum", "find", "tar", "unzip", "zip", "gzip",
})
#: Words that run the command after them (`sudo make`, `env X=1 npm test`).
_PREFIXES = frozenset({"sudo", "env", "time", "nohup", "exec", "command", "xargs", "!"})
_SEPARATORS = re.compile(r"&&|\|\||;|\|&?|(?<![<>])&(?![>&])")
_SUBST = re.compile(r"\$\(([^()]*)\)|`([^`]*)`")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_REDIRECT_FD = re.compile(r"^\d*[<>]")
_HEREDOC = re.compile(r"<<-?\s*['\"]?([A-Za-z_]\w*)['\"]?")
_ASSIGN = re.compile(r"^[A-Za-z_]\w*=")
_ENV_FILES = re.compile(r"GITHUB_(?:ENV|PATH)\b")
#: Actions that build or run the checked-out project (lower-cased `uses:` without `@ref`):
#: CodeQL's autobuild runs the repository's build system
#: (https://docs.github.com/en/code-security/code-scanning/creating-an-advanced-setup-for-code-scanning/codeql-code-scanning-for-compiled-languages#about-autobuild),
#: pre-commit/action runs the hooks the checkout's `.pre-commit-config.yaml` names
#: (https://github.com/pre-commit/action).
_BUILDERS = frozenset({"github/codeql-action/autobuild", "pre-commit/action"})


@dataclass(frozen=True)
class _Checkout:
    step: str  # `steps[<index>]`, or `the call` for a reusable-workflow job
    line: int
    how: str
    path: str | None
    persisted: bool


def pr_head_runs(path: str, root: MappingNode,
                 jobs: Sequence[tuple[str, Node, Node]]) -> list[IdentityObject]:
    """The `pr_head_code` facets of a workflow (see the module doc); none unless it is
    triggered by one of `TRIGGERS`. `jobs` are its `(id, key, job)` mapping entries."""
    lines = trigger_lines(root)
    event = next((e for e in TRIGGERS if f"on.{e}" in lines), None)
    if event is None:
        return []
    trigger = lines[f"on.{event}"]
    names = _head_names(get(root, "env"), set())
    jobs_by_id = {job_id: job for job_id, _, job in jobs}
    out: list[IdentityObject] = []
    for job_id, _, job in jobs:
        if _trusted(job, jobs_by_id):
            continue
        found = _job(job, _head_names(get(job, "env"), names))
        if found is None:
            continue
        checkout, (run_step, run_line, what) = found
        sinks = [f"trigger:{event}", f"checkout:{checkout.step} {checkout.how}",
                 f"runs:{run_step} {what}"]
        obj = facet(path, TYPE, "ci_credential", "github", f"{path}#jobs.{job_id}.pr-head-code",
                    checkout.line, run_line, run_line,
                    [*sinks, *(["persisted"] if checkout.persisted else [])])
        out.append(replace(
            obj, attribute_lines={**obj.attribute_lines, "checkout": checkout.line,
                                  f"on.{event}": trigger},
            inputs=((f"on: {event}", Location(path, trigger, trigger)),)))
    return out


def _trusted(job: Node, jobs: dict[str, Node], seen: frozenset[int] = frozenset()) -> bool:
    """True when `job`, or a job it `needs`, runs only under a `_TRUSTED` condition (a job
    skipped for its needs' condition is skipped too, unless it says `always()`)."""
    condition = scalar(get(job, "if")) or ""
    if _required(condition):
        return True
    if "always()" in condition or id(job) in seen:
        return False
    needs = get(job, "needs")
    names = [scalar(n) for n in sequence(needs)] if not scalar(needs) else [scalar(needs)]
    return any(_trusted(jobs[n], jobs, seen | {id(job)}) for n in names if n in jobs)


def _required(condition: str | None) -> bool:
    """True when `condition` (an `if:`) is a conjunction with a `_TRUSTED` conjunct: no `||`
    outside parentheses, so nothing else can make it true without that conjunct."""
    text = (condition or "").strip()
    text = text.removeprefix("${{").removesuffix("}}").strip()
    depth, conjuncts, current = 0, [], ""
    for at, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        pair = text[at:at + 2]
        if depth == 0 and pair == "||":
            return False
        current += char
        if depth == 0 and pair == "&&":
            conjuncts.append(current[:-1])
            current = ""
    conjuncts.append(current)
    return any(_TRUSTED.fullmatch(c.strip(" &\n")) for c in conjuncts)


def _head_names(env: Node | None, outer: set[str]) -> set[str]:
    """`outer` plus the `env:` variables whose value names the pull request's code."""
    return outer | {name for name, _, value in items(env) if _names_head(scalar(value), outer)}


def _names_head(text: str | None, names: set[str]) -> bool:
    if not text:
        return False
    return bool(_HEAD.search(text)) or any(
        m.group(1) in names for m in (*_ENV_EXPR.finditer(text), *_VAR.finditer(text)))


def _job(job: Node, names: set[str]) -> tuple[_Checkout, tuple[str, int, str]] | None:
    """(the head checkout, (step, line, what) of the first step that runs its code). A
    reusable-workflow call (job-level `uses:`) handed the head in `with:` is both: what the
    called workflow does with it is not read here (fail closed)."""
    call = scalar(get(job, "uses")) or ""
    for name, key, value in items(get(job, "with")) if call else ():
        if _names_head(scalar(value), names):
            line = line_of(key)
            return (_Checkout("the call", line, f"`with.{name}`", None, False),
                    ("the call", line, f"`uses: {call.split('@', 1)[0]}`"))
    checkout: _Checkout | None = None
    for index, step in enumerate(sequence(get(job, "steps"))):
        if not isinstance(step, MappingNode) or not step.value:
            continue
        step_names = _head_names(get(step, "env"), names)
        script = _script(get(step, "run"))
        if checkout is None:
            if _required(scalar(get(step, "if"))):
                continue
            checkout, rest = _checkout(index, step, script, step_names)
            if checkout is None or checkout.path is not None:
                continue
            script = rest  # the same script may run the code it just checked out
        elif checkout.path is not None and not _names_dir(step, checkout.path):
            continue
        runs = _runs(step, script)
        if runs is not None:
            return checkout, (f"steps[{index}]", *runs)
    return None


def _checkout(index: int, step: MappingNode, script: list[tuple[int, str]], names: set[str]
              ) -> tuple[_Checkout | None, list[tuple[int, str]]]:  # fmt: skip
    """The head checkout `step` makes, if any, and the script lines after it."""
    uses = (scalar(get(step, "uses")) or "").split("@", 1)[0].strip().lower()
    line = line_of(step.value[0][0])
    if uses in _ARTIFACT_ACTIONS:
        inputs = get(step, "with")
        if any(_FOREIGN_RUN.search(scalar(v) or "") for _, _, v in items(inputs)):
            directory = (scalar(get(inputs, "path")) or "").strip().strip("/")
            return _Checkout(f"steps[{index}]", line,
                             f"`{uses}` of the triggering run's artifact",
                             None if directory in ("", ".") else directory, False), []
        return None, []
    if uses == "actions/checkout":
        inputs = get(step, "with")
        for name in ("ref", "repository"):
            text = scalar(get(inputs, name))
            if _names_head(text, names):
                what = _HEAD.search(text or "")
                shown = what.group(0) if what else (text or "").strip()[:80]
                persisted = (scalar(get(inputs, "persist-credentials")) or "").strip().lower()
                directory = (scalar(get(inputs, "path")) or "").strip().strip("/")
                return _Checkout(f"steps[{index}]", line, f"actions/checkout `{name}: {shown}`",
                                 None if directory in ("", ".") else directory,
                                 persisted != "false"), []
        return None, []
    for at, (number, text) in enumerate(script):
        if _GH_CHECKOUT.search(text) or (_GIT_GET.search(text) and _names_head(text, names)):
            how = "`gh pr checkout`" if _GH_CHECKOUT.search(text) else "a git fetch of the head"
            return _Checkout(f"steps[{index}]", number, how, None, False), script[at + 1:]
    return None, []


def _names_dir(step: MappingNode, directory: str) -> bool:
    """True when the step's script, working directory or inputs name `directory`."""
    pattern = re.compile(rf"(?<![\w.-]){re.escape(directory)}(?![\w-])")
    texts = [scalar(get(step, "run")), scalar(get(step, "working-directory")),
             scalar(get(step, "uses")), *(scalar(v) for _, _, v in items(get(step, "with")))]
    return any(t and pattern.search(t) for t in texts)


def _runs(step: MappingNode, script: list[tuple[int, str]]) -> tuple[int, str] | None:
    """(line, what) when `step` runs code from the working tree."""
    uses = (scalar(get(step, "uses")) or "").strip()
    if uses:
        action = uses.split("@", 1)[0].lower().rstrip("/")
        if uses.startswith("./") or action in _BUILDERS:
            return line_of(step.value[0][0]), f"`uses: {uses.split('@', 1)[0]}`"
        return None
    for number, text in script:
        command = _running_command(text)
        if command is not None:
            return number, f"`{command}`"
    return None


def _running_command(text: str) -> str | None:
    """The first command of a script line that runs code (its name only), else None. Quoted
    strings are data; command substitutions (`$(...)`, backticks) are commands too."""
    if text.lstrip().startswith("#"):
        return None
    inner = [a or b for a, b in _SUBST.findall(text)]
    outer = _QUOTED.sub(" Q ", _SUBST.sub(" Q ", text))
    names = [n for part in (outer, *inner) for segment in _SEPARATORS.split(part)
             if (n := _command_name(segment)) is not None]
    for name in names:
        if name not in _INERT:
            return name[:40]
    if _ENV_FILES.search(text) and (inner or any(n not in ("echo", "printf") for n in names)):
        return "a file's content into $GITHUB_ENV"
    return None


def _command_name(segment: str) -> str | None:
    """The command a shell segment runs, after prefixes (`sudo`, `env X=1`), else None."""
    words = segment.split()
    while words and (words[0] in _PREFIXES or _ASSIGN.match(words[0])
                     or (words[0].startswith("-") and len(words) > 1)):
        words.pop(0)
    if not words or words[0][0] in "<>" or _REDIRECT_FD.match(words[0]):
        return None
    name = words[0].lstrip("({").rstrip(")}")
    return None if name in ("", "Q") else name


def _script(node: Node | None) -> list[tuple[int, str]]:
    """(line, text) of each command line of a `run:` value: not blank, not inside a
    here-document, not the continuation of the line before (`\\` at its end)."""
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
        if text.strip() and not continued:
            out.append((first + i, text))
            heredoc = _HEREDOC.search(text)
            until = heredoc.group(1) if heredoc else None
        continued = text.rstrip().endswith("\\")
    return out

