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
  `github.head_ref`, `refs/pull/N/merge`, directly or through an `env:` variable, or a
  step output, `$GITHUB_ENV` variable or job output a step computed from the head:
  `checker.secrets.ci_outputs` with `_reads_head`, e.g. `gh pr view --json headRefOid`,
  `jq .pull_request.head.sha`, github-script's `pr.data.head.sha`), or a `run:` line that
  fetches it (`checker.secrets.ci_fetch`: `gh pr checkout`, a git fetch or clone of a head
  ref, `gh pr diff`, a download of the head's archive or diff); what follows the fetch on
  the same line runs after it (`git clone ... && make`);
- or, in a `workflow_run` workflow, a download of the triggering run's artifacts
  (`actions/download-artifact` with `run-id: ${{ github.event.workflow_run.id }}`, directly
  or through `env:`; `gh run download` of that id or the REST API's artifacts of that run,
  `ci_fetch`): what a fork's pull request run uploaded is its code as much as a checkout;
- a reusable-workflow call (job-level `uses:`) handed such a ref in `with:`: it checks out
  and runs at once, as far as nhi-gate can tell (fail closed); a local callee that checks
  out the head itself is joined to its callers by `checker.secrets.ci_head_calls`;
- the first step after it (or a later line of the same script) that runs code: a local
  action (`uses: ./...`), an action that builds the checkout (`_BUILDERS`), any other action
  handed the checkout in `with:` (`_handed`: docker/build-push-action's `context: .`, a
  third-party action's `dir: pr`; the action is not followed, so fail closed;
  `ci_actions.STORES` excepted), after a head checkout at the workspace root any action
  `checker.secrets.ci_actions` lists as running workspace code (a lint, build or test action,
  a setup action told to install) or does not know (`UNREAD`, sink `unread-action`: it works
  in the workspace, so fail closed), or a `run:` line with a command outside
  `checker.secrets.ci_shell`'s inert ones (a build, `npm install`, `make`, a script in the
  checkout, an interpreter), or one that writes a file's content into `$GITHUB_ENV`/`$GITHUB_PATH`.
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

from yaml.nodes import MappingNode, Node

from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject, Location
from checker.parsers.github_keys import trigger_lines
from checker.safeyaml import get, items, line_of, scalar, sequence
from checker.secrets.ci_actions import RUNS, STORES, UNKNOWN, workspace_use
from checker.secrets.ci_fetch import fetch
from checker.secrets.ci_outputs import needs_names, output_refs, step_names
from checker.secrets.ci_shell import running_command, script_lines
from checker.secrets.facets import facet

TYPE = "pr_head_code"
#: Triggers that run the base repository's workflow, with its credentials, on an event someone
#: without write access can cause, in the order a workflow's message names the first.
TRIGGERS = ("pull_request_target", "workflow_run", "issue_comment")
#: An expression or ref naming the pull request's code (head commit, branch, fork, merge ref),
#: or its diff (`diff_url`, `patch_url`, `.../pull/N.diff`: applied, it is the same code).
_HEAD = lazy_compile(
    r"github\.event\.pull_request\.(?:head\.[\w.]+|merge_commit_sha)|github\.head_ref"
    r"|github\.event\.workflow_run\.(?:head_sha|head_branch|head_repository\.[\w.]+)"
    r"|github\.event\.(?:issue\.)?pull_request\.(?:diff_url|patch_url)\b"
    r"|GITHUB_HEAD_REF|refs/pull/\S+"
    r"|(?<![\w/])pull/(?:\$\{\{[^}]*\}\}|[^\s/]+)/(?:head|merge)\b"
    r"|/pull/(?:\$\{\{[^}]*\}\}|[^\s/.]+)\.(?:diff|patch)\b")
#: Conditions under which a job runs no stranger's code, each a whole `&&` conjunct of its
#: `if:` (`_required`): the pull request comes from the base repository itself, whose authors
#: can push to it anyway (`head.repo.full_name == github.repository`, either side;
#: `head.repo.fork == false`, `!head.repo.fork`), or it is merged (its code is on the base
#: branch: `github.event.pull_request.merged == true`).
_TRUSTED = lazy_compile(
    r"github\.event\.pull_request\.head\.repo\.full_name\s*==\s*github\.repository"
    r"|github\.repository\s*==\s*github\.event\.pull_request\.head\.repo\.full_name"
    r"|github\.event\.pull_request\.head\.repo\.fork\s*==\s*false"
    r"|!\s*github\.event\.pull_request\.head\.repo\.fork"
    r"|github\.event\.pull_request\.merged(?:\s*==\s*true)?")
#: Actions that download another run's artifacts, and the expression naming the run that
#: triggered a `workflow_run` workflow (a fork's pull request run writes what it likes there):
#: https://github.com/actions/download-artifact#download-artifacts-from-other-workflow-runs-or-repositories
_ARTIFACT_ACTIONS = frozenset({"actions/download-artifact", "dawidd6/action-download-artifact"})
_FOREIGN_RUN = lazy_compile(r"github\.event\.workflow_run\.(?:id|run_id)\b")
_ENV_EXPR = lazy_compile(r"\$\{\{\s*env\.([A-Za-z_]\w*)\s*\}\}")
#: A composite action's or called workflow's input (`inputs.<name>`): it names the head when
#: `input:<name>` is among the tainted names (`checker.secrets.ci_head_calls.callees`).
_INPUT = lazy_compile(r"\binputs\.([A-Za-z_][\w-]*)")
#: Where a script or github-script finds the head itself (what a step output computed from
#: it names): gh's `headRefOid`/`headRefName`/`headRepository` JSON fields
#: (https://cli.github.com/manual/gh_pr_view), the REST API's and the event's
#: `head.sha`/`head.ref`/`head.repo` (`jq .pull_request.head.sha`, `pr.data.head.ref`).
_HEAD_FIELD = lazy_compile(
    r"\bheadRef(?:Oid|Name)\b|\bheadRepository(?:Owner)?\b|\.head\.(?:sha|ref|repo)\b"
    r"|\bpull_request\.merge_commit_sha\b|\bworkflow_run\.head_(?:sha|branch)\b")
_VAR = lazy_compile(r"\$\{?([A-Za-z_]\w*)")
#: Actions that build or run the checked-out project (lower-cased `uses:` without `@ref`):
#: CodeQL's autobuild runs the repository's build system
#: (https://docs.github.com/en/code-security/code-scanning/creating-an-advanced-setup-for-code-scanning/codeql-code-scanning-for-compiled-languages#about-autobuild),
#: pre-commit/action runs the hooks the checkout's `.pre-commit-config.yaml` names
#: (https://github.com/pre-commit/action).
_BUILDERS = frozenset({"github/codeql-action/autobuild", "pre-commit/action"})
#: What the `runs:` fact says of an action nhi-gate does not know (`ci_actions.UNKNOWN`) that
#: works in a head checkout at the workspace root.
UNREAD = "an action nhi-gate does not read, working in the workspace"
#: `with:` inputs that name the directory an action works in or builds (`context` of
#: docker/build-push-action, a `working-directory`, ...): a relative path there points into
#: the workspace, so into a head checkout at its root.
_DIR_INPUTS = frozenset({
    "context", "path", "dir", "directory", "workdir", "working-directory", "working_directory",
    "cwd", "root", "project", "project-dir", "project_dir", "src", "source"})
#: A value that is the workspace or a path in it (`.`, `./app`, `${{ github.workspace }}/x`,
#: `$GITHUB_WORKSPACE`), and a relative path (not absolute, home, URL, expression or git
#: context such as `{{defaultContext}}`).
_WORKSPACE = lazy_compile(
    r"\.(?:/|$)|\$\{\{\s*github\.workspace\s*\}\}|\$\{?GITHUB_WORKSPACE\b")
_RELATIVE = lazy_compile(r"[\w.][\w./-]*")


@dataclass(frozen=True)
class Checkout:
    """Where a job gets the pull request's code: the step, its line, how (for the message),
    the directory it lands in (None: the workspace root) and whether GITHUB_TOKEN stays in
    `.git/config`."""

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
    names = head_names(get(root, "env"), frozenset())
    names |= needs_names(jobs, lambda job, found: head_names(get(job, "env"), names | found),
                         _reads_head, head_names)
    jobs_by_id = {job_id: job for job_id, _, job in jobs}
    out: list[IdentityObject] = []
    for job_id, _, job in jobs:
        if trusted_job(job, jobs_by_id):
            continue
        found = head_code(job, head_names(get(job, "env"), names))
        if found is None:
            continue
        checkout, (run_step, run_line, what) = found
        sinks = [f"trigger:{event}", f"checkout:{checkout.step} {checkout.how}",
                 f"runs:{run_step} {what}"]
        obj = facet(path, TYPE, "ci_credential", "github", f"{path}#jobs.{job_id}.pr-head-code",
                    checkout.line, run_line, run_line,
                    [*sinks, *(["persisted"] if checkout.persisted else []),
                     *(["unread-action"] if UNREAD in what else [])])
        out.append(replace(
            obj, attribute_lines={**obj.attribute_lines, "checkout": checkout.line,
                                  f"on.{event}": trigger},
            inputs=((f"on: {event}", Location(path, trigger, trigger)),)))
    return out


def trusted_job(job: Node, jobs: dict[str, Node], seen: frozenset[int] = frozenset()
                ) -> bool:  # fmt: skip
    """True when `job`, or a job it `needs`, runs only under a `_TRUSTED` condition (a job
    skipped for its needs' condition is skipped too, unless it says `always()`)."""
    condition = scalar(get(job, "if")) or ""
    if _required(condition):
        return True
    if "always()" in condition or id(job) in seen:
        return False
    needs = get(job, "needs")
    names = [scalar(n) for n in sequence(needs)] if not scalar(needs) else [scalar(needs)]
    return any(trusted_job(jobs[n], jobs, seen | {id(job)}) for n in names if n in jobs)


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


def head_names(env: Node | None, outer: frozenset[str]) -> frozenset[str]:
    """`outer` plus the `env:` variables whose value names the pull request's code, and
    (`run:NAME`) those naming the triggering run of a `workflow_run` workflow."""
    return outer | {name for name, _, value in items(env) if _names_head(scalar(value), outer)
                    } | {f"run:{name}" for name, _, value in items(env)
                         if _names_run(scalar(value) or "", outer)}


def _names_head(text: str | None, names: frozenset[str]) -> bool:
    """True when `text` names the pull request's code: `_HEAD`, or an `env:` variable, step
    output or job output among `names` (`checker.secrets.ci_outputs`), or an input
    `inputs.<name>` with `input:<name>` among them."""
    if not text:
        return False
    return bool(_HEAD.search(text)) or output_refs(text, names) or any(
        m.group(1) in names for m in (*_ENV_EXPR.finditer(text), *_VAR.finditer(text))) or any(
        f"input:{name}" in names for name in _INPUT.findall(text))


def names_head(text: str | None, names: frozenset[str]) -> bool:
    """True when `text` (an expression or script) names the pull request's code: its head
    ref, sha or repository, or a variable, output or input among `names` holding one."""
    return _names_head(text, names)


def _reads_head(text: str, names: frozenset[str]) -> bool:
    """True when a script line or github-script code reads the head (`_names_head`,
    `_HEAD_FIELD`): what it writes to a step output names the pull request's code."""
    return _names_head(text, names) or bool(_HEAD_FIELD.search(text))


def _names_run(text: str, names: frozenset[str]) -> bool:
    """True when `text` names the run that triggered a `workflow_run` workflow, directly or
    through an `env:` variable (`run:NAME` in `names`)."""
    return bool(_FOREIGN_RUN.search(text)) or any(
        f"run:{m.group(1)}" in names for m in (*_ENV_EXPR.finditer(text), *_VAR.finditer(text)))


def head_code(job: Node, names: frozenset[str]
              ) -> tuple[Checkout, tuple[str, int, str]] | None:  # fmt: skip
    """(the head checkout, (step, line, what) of the first step that runs its code). A
    reusable-workflow call (job-level `uses:`) handed the head in `with:` is both: what the
    called workflow does with it is not read here (fail closed)."""
    call = scalar(get(job, "uses")) or ""
    for name, key, value in items(get(job, "with")) if call else ():
        if _names_head(scalar(value), names):
            line = line_of(key)
            return (Checkout("the call", line, f"`with.{name}`", None, False),
                    ("the call", line, f"`uses: {call.split('@', 1)[0]}`"))
    checkout: Checkout | None = None
    per_step, _ = step_names(job, names, _reads_head, head_names)
    for index, step in enumerate(sequence(get(job, "steps"))):
        if not isinstance(step, MappingNode) or not step.value:
            continue
        here = per_step[index]
        script = script_lines(get(step, "run"))
        if checkout is None:
            if _required(scalar(get(step, "if"))):
                continue
            checkout, rest = _checkout(index, step, script, here)
            if checkout is None or checkout.path is not None:
                continue
            script = rest  # the same script may run the code it just checked out
        elif checkout.path is not None and not _names_dir(step, checkout.path):
            continue
        runs = _runs(step, script, checkout)
        if runs is not None:
            return checkout, (f"steps[{index}]", *runs)
    return None


def _checkout(index: int, step: MappingNode, script: list[tuple[int, str]],
              names: frozenset[str]) -> tuple[Checkout | None, list[tuple[int, str]]]:  # fmt: skip
    """The head checkout `step` makes, if any, and the script lines after it."""
    uses = (scalar(get(step, "uses")) or "").split("@", 1)[0].strip().lower()
    line = line_of(step.value[0][0])
    if uses in _ARTIFACT_ACTIONS:
        inputs = get(step, "with")
        if any(_names_run(scalar(v) or "", names) for _, _, v in items(inputs)):
            directory = (scalar(get(inputs, "path")) or "").strip().strip("/")
            return Checkout(f"steps[{index}]", line,
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
                derived = "" if what else " (a value computed from the pull request's head)"
                persisted = (scalar(get(inputs, "persist-credentials")) or "").strip().lower()
                directory = (scalar(get(inputs, "path")) or "").strip().strip("/")
                return Checkout(f"steps[{index}]", line,
                                 f"actions/checkout `{name}: {shown}`{derived}",
                                 None if directory in ("", ".") else directory,
                                 persisted != "false"), []
        return None, []
    for at, (number, text) in enumerate(script):
        fetched = fetch(text, _names_head(text, names), _names_run(text, names))
        if fetched is not None:  # what follows the fetch on its own line runs after it
            how, start = fetched
            return (Checkout(f"steps[{index}]", number, how, None, False),
                    [(number, text[start:]), *script[at + 1:]])
    return None, []


def _names_dir(step: MappingNode, directory: str) -> bool:
    """True when the step's script, working directory or inputs name `directory`."""
    pattern = _dir_pattern(directory)
    texts = [scalar(get(step, "run")), scalar(get(step, "working-directory")),
             scalar(get(step, "uses")), *(scalar(v) for _, _, v in items(get(step, "with")))]
    return any(t and pattern.search(t) for t in texts)


def _dir_pattern(directory: str) -> re.Pattern[str]:
    """`directory` as a word of a path or command line."""
    return re.compile(rf"(?<![\w.-]){re.escape(directory)}(?![\w-])")


def _runs(step: MappingNode, script: list[tuple[int, str]], checkout: Checkout
          ) -> tuple[int, str] | None:  # fmt: skip
    """(line, what) when `step` runs code from the working tree: a local action, a builder, an
    action handed the head checkout in `with:` (`_handed`; not followed, so fail closed), or a
    script line that runs a command."""
    uses = (scalar(get(step, "uses")) or "").strip()
    if uses:
        action = uses.split("@", 1)[0].lower().rstrip("/")
        shown, line = uses.split("@", 1)[0], line_of(step.value[0][0])
        if uses.startswith("./") or action in _BUILDERS:
            return line, f"`uses: {shown}`"
        handed = None if action in STORES else _handed(step, checkout.path)
        if handed is not None:
            line, name = handed
            return line, f"`uses: {shown}` given it in `with.{name}`, not followed"
        if checkout.path is not None:
            return None
        kind, what = workspace_use(action, {n: scalar(v) or "" for n, _, v in
                                            items(get(step, "with"))})
        if kind == RUNS:
            return line, f"`uses: {shown}`, which {what}"
        if kind == UNKNOWN:  # it works in the workspace, the head checkout: fail closed
            return line, f"`uses: {shown}`, {UNREAD}"
        return None
    for number, text in script:
        command = running_command(text)
        if command is not None:
            return number, f"`{command}`"
    return None


def _handed(step: MappingNode, directory: str | None) -> tuple[int, str] | None:
    """(line, input) of the first `with:` input of an action step that points into the head
    checkout: one naming its directory, or for a checkout at the workspace root, the
    workspace (`.`, `./x`, `${{ github.workspace }}`) or a relative path in a `_DIR_INPUTS`
    input."""
    pattern = _dir_pattern(directory) if directory is not None else None
    for name, key, value in items(get(step, "with")):
        text = (scalar(value) or "").strip()
        if pattern is not None:
            hit = bool(pattern.search(text))
        else:
            hit = bool(_WORKSPACE.match(text)) or (
                name.lower() in _DIR_INPUTS and bool(_RELATIVE.fullmatch(text)))
        if hit:
            return line_of(key), name
    return None
