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
(`checker.checks.unread`); none for a job that runs no Terraform or sets no input.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator

from yaml.nodes import Node, ScalarNode

from checker.model import UNREAD, IdentityObject, Location, Unresolved
from checker.safeyaml import end_line_of, get, items, line_of, scalar_text, sequence

#: The facet's type.
TYPE = f"{UNREAD}ci-var"
#: A command that runs Terraform on the configuration (not `fmt`, `validate`, `init`).
_RUNS = re.compile(r"\b(?:terraform|tofu|terragrunt)\b[^\n;&|]*?\b(?:plan|apply|destroy|import"
                   r"|refresh)\b")
#: `-var NAME=VALUE` / `-var-file PATH`, with `=` or a space, the value quoted or not.
_FLAG = re.compile(r"""(?<![\w-])--?(var|var-file)(?:=|\s+)(?:'([^']*)'|"([^"]*)"|([^\s;&|]+))""")
_ENV = re.compile(r"^(?:TF_VAR_\w+|TF_CLI_ARGS(?:_\w+)?)$")


def terraform_inputs(path: str, lines: list[str], job_id: str, job_key: Node, job: Node,
                     workflow_env: Node | None) -> IdentityObject | None:
    """The facet of the Terraform inputs job `job_id` sets (module docstring), or None."""
    entries: list[Unresolved] = []
    runs = False
    for step in sequence(get(job, "steps")):
        run = get(step, "run")
        text = scalar_text(run) if isinstance(run, ScalarNode) else None
        if run is None or text is None or _RUNS.search(text) is None:
            continue
        runs = True
        entries.extend(_flags(text, run))
        entries.extend(_env(get(step, "env")))
    if not runs:
        return None
    entries.extend(_env(get(job, "env")))
    entries.extend(_env(workflow_env))
    return _facet(path, lines, f"{path}#jobs.{job_id}.terraform-inputs", job_key, job, entries)


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


def _flags(text: str, run: Node) -> Iterator[Unresolved]:
    """The `-var`/`-var-file` flags of a `run:` text, at their lines (a block scalar's text
    starts on the line after its key's)."""
    first = line_of(run) + (1 if isinstance(run, ScalarNode) and run.style in ("|", ">") else 0)
    for m in _FLAG.finditer(text):
        value = next(g for g in m.groups()[1:] if g is not None)
        line = first + text.count("\n", 0, m.start())
        if m.group(1) == "var":
            name, _, assigned = value.partition("=")
            yield Unresolved(f"-var {name.strip()}", _digest(assigned), _REASON, line)
        else:
            yield Unresolved(f"-var-file {value}", _digest(value), _REASON, line)


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
