"""Terraform inputs a CI job sets (issue 12, access paths), as one `unread` facet per job.

A GitHub Actions step that runs Terraform or OpenTofu (`terraform`, `tofu` or `terragrunt`
followed by `plan`, `apply`, `destroy`, `import` or `refresh` in its `run:` text), or a GitLab
CI job whose `before_script`/`script`/`after_script` line does, hands it values that no `.tf`
or `.tfvars` file in the repository shows: `-var 'NAME=VALUE'` and `-var-file=PATH` on the
command line, and `TF_VAR_NAME` (and `TF_CLI_ARGS`, `TF_CLI_ARGS_<command>`, which add
arguments) in the step's, job's or workflow's `env:` (GitLab: the job's or the file's
`variables:`, https://docs.gitlab.com/ci/yaml/#variables). Each is an input of every identity that
reads `var.NAME` (https://developer.hashicorp.com/terraform/language/values/variables#assigning-values-to-root-module-variables,
https://developer.hashicorp.com/terraform/cli/config/environment-variables#tf_var_name,
https://developer.hashicorp.com/terraform/cli/config/environment-variables#tf_cli_args-and-tf_cli_args_name),
and nhi-gate does not compute what the module does with it.

Shape (like `checker.parsers.terraform.unread`): an `IdentityObject` of type
`unread:ci-var`, address `<workflow>#jobs.<id>.terraform-inputs` (GitLab:
`<file>#<job>.terraform-inputs`), located on the job, with
one `Unresolved` per input: `attribute` `-var NAME`, `-var-file PATH` or the environment
variable's name, `expression` a digest of its value (never the value: it may be a secret),
`line` the line of the `run:`/script text or `env:`/`variables:` key that sets it. Judged by NHI106
(`checker.checks.unread`); none for a job that runs no Terraform or sets no input. A composite
action's `runs.steps` are read as one job's, addressed `<action.yml>#runs.terraform-inputs`.

Through a local callee: a job that calls a reusable workflow of the repository
(`uses: ./.github/workflows/tf.yml`,
https://docs.github.com/en/actions/sharing-automations/reusing-workflows#calling-a-reusable-workflow)
or a step that runs a local composite action (`uses: ./.github/actions/tf`, its `action.yml`
or `action.yaml`,
https://docs.github.com/en/actions/sharing-automations/creating-actions/creating-a-composite-action)
hands it `with:` values. When the callee runs Terraform, each `with:` input it reads
(`${{ inputs.NAME }}` anywhere in its text: in a `-var`, a `TF_VAR_*`, or an `env:` or
working directory its Terraform run uses) is a Terraform input of the caller's job, an
`Unresolved` named `with.NAME (<callee path>)` at the `with:` key's line. Which inputs each
callee reads is `callee_inputs` (the callee files come from the caller's side of the change:
`checker.commands.ci_callees`); a callee that is not among them gives nothing.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterator, Mapping, Sequence

from yaml.nodes import MappingNode, Node, ScalarNode

from checker.decode import decode
from checker.lazy_patterns import lazy_compile
from checker.model import UNREAD, IdentityObject, Location, SourceFile, Unresolved
from checker.parsers.common import command_lines
from checker.safeyaml import end_line_of, get, items, line_of, scalar_text, sequence, to_python
from checker.safeyaml.load import load_text

#: The facet's type.
TYPE = f"{UNREAD}ci-var"
#: A command that runs Terraform on the configuration (not `fmt`, `validate`, `init`).
_RUNS = lazy_compile(r"\b(?:terraform|tofu|terragrunt)\b[^\n;&|]*?\b(?:plan|apply|destroy|import"
                   r"|refresh)\b")
#: `-var NAME=VALUE` / `-var-file PATH`, with `=` or a space, the value quoted or not.
_FLAG = lazy_compile(r"""(?<![\w-])--?(var|var-file)(?:=|\s+)(?:'([^']*)'|"([^"]*)"|([^\s;&|]+))""")
_ENV = lazy_compile(r"^(?:TF_VAR_\w+|TF_CLI_ARGS(?:_\w+)?)$")


#: Callee path (a reusable workflow's, a composite action's `action.yml`) -> the `with:` inputs
#: it hands to Terraform (`callee_inputs`).
Callees = Mapping[str, frozenset[str]]
#: A `uses:` of a file or directory of the repository (`./...`), quoted or not.
_LOCAL_USES = lazy_compile(r"""(?m)^[ \t-]*["']?uses["']?[ \t]*:[ \t]*["']?\./([^\s"'#@]*)""")
#: `inputs.NAME` / `inputs['NAME']` in an expression (`github.event.inputs.NAME` too).
_INPUT = lazy_compile(r"""\binputs\s*(?:\.\s*([A-Za-z_][\w-]*)|\[\s*'([^']+)'\s*\])""")


def terraform_inputs(path: str, lines: list[str], prefix: str, job_key: Node, job: Node,
                     workflow_env: Node | None, callees: Callees | None = None
                     ) -> IdentityObject | None:  # fmt: skip
    """The facet of the Terraform inputs the job addressed `prefix` (`<path>#jobs.<id>`, or a
    composite action's `<path>#runs`) sets, directly or through a local callee among
    `callees` (module docstring), or None."""
    entries: list[Unresolved] = []
    runs = matrix = False
    callees = callees or {}
    callee = _callee(get(job, "uses"), callees)  # a reusable workflow
    if callee is not None:
        runs = True
        entries.extend(_with(get(job, "with"), callee, callees[callee]))
    for step in sequence(get(job, "steps")):
        callee = _callee(get(step, "uses"), callees)
        if callee is not None:
            runs = True
            entries.extend(_with(get(step, "with"), callee, callees[callee]))
        run = get(step, "run")
        text = scalar_text(run) if isinstance(run, ScalarNode) else None
        if run is None or text is None or _RUNS.search(text) is None:
            continue
        runs = True
        entries.extend(_flags(text, run))
        entries.extend(_env(get(step, "env")))
        matrix = matrix or "matrix." in text
    if not runs:
        return None
    values = get(get(job, "strategy"), "matrix")
    if matrix and values is not None:  # `-var "x=${{ matrix.x }}"`: the matrix is an input
        entries.append(Unresolved("strategy.matrix", _digest(to_python(values)), _REASON,
                                  line_of(values)))
    entries.extend(_env(get(job, "env")))
    entries.extend(_env(workflow_env))
    return _facet(path, lines, f"{prefix}.terraform-inputs", job_key, job, entries)


def local_callees(text: str) -> list[str]:
    """The repository paths a workflow or action text may call locally: for `uses: ./x.yml`
    the file, for `uses: ./dir` its `dir/action.yml` and `dir/action.yaml`; paths that leave
    the repository (`..`) are left out."""
    out: list[str] = []
    for found in _LOCAL_USES.findall(text):
        target = posixpath.normpath(found) if found else "."
        if target.startswith(".."):
            continue
        if target.lower().endswith((".yml", ".yaml")):
            out.append(target)
        else:
            out += [posixpath.join(target, n) if target != "." else n
                    for n in ("action.yml", "action.yaml")]
    return list(dict.fromkeys(out))


def callee_inputs(files: Sequence[SourceFile]) -> dict[str, frozenset[str]]:
    """Callee path -> the `with:` inputs it hands to Terraform, for every local callee
    (`local_callees`) of the GitHub Actions files among `files` (under `.github/workflows/`,
    or an `action.yml`/`action.yaml`) that is among `files` and runs Terraform in a step
    (`_RUNS`): the names of the `inputs.NAME` its text reads. Unreadable files give nothing."""
    by_path = {f.path: f for f in files}
    texts = {f.path: t for f in files if _actions_file(f.path)
             and isinstance(t := decode(f), str)}
    out: dict[str, frozenset[str]] = {}
    for callee in dict.fromkeys(c for t in texts.values() for c in local_callees(t)):
        text = texts.get(callee) if callee in by_path else None
        if text is not None and _runs_terraform(text, callee):
            out[callee] = frozenset(a or b for a, b in _INPUT.findall(text))
    return out


def _actions_file(path: str) -> bool:
    name = posixpath.basename(path).lower()
    return name in ("action.yml", "action.yaml") or (
        "/.github/workflows/" in f"/{path}" and name.endswith((".yml", ".yaml")))


def _runs_terraform(text: str, path: str) -> bool:
    """True when a job's (or a composite action's `runs`) step runs Terraform (`_RUNS`)."""
    if _RUNS.search(text) is None:
        return False
    stream = load_text(text, path)
    for root in stream.documents:
        if not isinstance(root, MappingNode):
            continue
        jobs = [job for _, _, job in items(get(root, "jobs"))] + [get(root, "runs")]
        return any(_RUNS.search(scalar_text(run) or "") is not None
                   for job in jobs for step in sequence(get(job, "steps"))
                   if isinstance(run := get(step, "run"), ScalarNode))
    return False


def _callee(uses: Node | None, callees: Callees) -> str | None:
    """The path among `callees` a job's or step's `uses:` calls, else None."""
    text = scalar_text(uses) if isinstance(uses, ScalarNode) else None
    return next((p for p in local_callees(f"uses: {text}") if p in callees), None) if (
        text and callees) else None


def _with(with_: Node | None, callee: str, reads: frozenset[str]) -> Iterator[Unresolved]:
    """The `with:` inputs the callee hands to Terraform (`reads`), as entries (value digests)."""
    for name, key, value in items(with_):
        if name in reads:
            text = scalar_text(value) if isinstance(value, ScalarNode) else None
            yield Unresolved(f"with.{name} ({callee})", _digest(text),
                             f"{_REASON} through {callee}", line_of(key))


def gitlab_terraform_inputs(path: str, lines: list[str], name: str, job_key: Node, job: Node,
                            top_variables: Node | None) -> IdentityObject | None:
    """The facet of the Terraform inputs GitLab CI job `name` sets (module docstring)."""
    entries: list[Unresolved] = []
    runs = False
    for key in ("before_script", "script", "after_script"):
        value = get(job, key)
        for line in [value] if isinstance(value, ScalarNode) else sequence(value):
            text = scalar_text(line) if isinstance(line, ScalarNode) else None
            if text is None or _RUNS.search(text) is None:
                continue
            runs = True
            entries.extend(_flags(text, line))
    if not runs:
        return None
    entries.extend(_env(get(job, "variables")))
    entries.extend(_env(top_variables))
    return _facet(path, lines, f"{path}#{name}.terraform-inputs", job_key, job, entries)


def _facet(path: str, lines: list[str], address: str, job_key: Node, job: Node,
           entries: list[Unresolved]) -> IdentityObject | None:
    if not entries:
        return None
    start = line_of(job_key)
    digest = _digest([tuple(e[:3]) for e in sorted(entries)])
    return IdentityObject(
        kind="role_binding", platform="generic", type=TYPE, address=address,
        location=Location(path, start, max(start, end_line_of(job, lines))),
        attribute_lines={e.attribute: e.line or start for e in entries},
        derived_from=path, unresolved=tuple(dict.fromkeys(entries)),
        digest=digest, frame_digest=digest, untagged_digest=digest)


def _flags(text: str, run: Node | None) -> Iterator[Unresolved]:
    """The `-var`/`-var-file` flags of a `run:` text, at their lines (a block scalar's text
    starts on the line after its key's; line 1 without `run`)."""
    first = 1 if run is None else line_of(run) + (
        1 if isinstance(run, ScalarNode) and run.style in ("|", ">") else 0)
    for m in _FLAG.finditer(text):
        value = next(g for g in m.groups()[1:] if g is not None)
        line = first + text.count("\n", 0, m.start())
        if m.group(1) == "var":
            name, _, assigned = value.partition("=")
            yield Unresolved(f"-var {name.strip()}", _digest(assigned), _REASON, line)
        else:
            yield Unresolved(f"-var-file {value}", _digest(value), _REASON, line)


def script_inputs(text: str) -> list[Unresolved]:
    """The `-var`/`-var-file` flags of each command line of a script's `text` (a shell script,
    a makefile: a line continued by `\\` is one) that runs Terraform (`_RUNS`), as entries
    like a job's (value digests), at the command's line; comment lines are skipped."""
    out: list[Unresolved] = []
    for start, line in command_lines(text.split("\n")):
        if not line.lstrip().startswith("#") and _RUNS.search(line) is not None:
            out.extend(e._replace(line=start) for e in _flags(line, None))
    return out


def _env(env: Node | None) -> Iterator[Unresolved]:
    """`TF_VAR_*`/`TF_CLI_ARGS*` of an `env:`/`variables:` map (a GitLab variable may be a map
    with its `value`)."""
    for name, key, value in items(env):
        if _ENV.match(name):
            text = scalar_text(get(value, "value") if not isinstance(value, ScalarNode) else value)
            yield Unresolved(name, _digest(text), _REASON, line_of(key))


_REASON = "Terraform input set in CI"


def _digest(value: object) -> str:
    """A short digest of a value (never the value)."""
    text = json.dumps(value, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
