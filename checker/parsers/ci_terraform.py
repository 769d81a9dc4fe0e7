"""Terraform input variables a GitHub Actions step sets: `-var`/`-var-file` arguments of a
`terraform`/`tofu`/`terragrunt` command in its `run:` script, and `TF_VAR_<name>` variables in
the step's, job's or workflow's `env:`.

Terraform gives these values precedence over `terraform.tfvars` and the `*.auto.tfvars` files
(https://developer.hashicorp.com/terraform/language/values/variables#variable-definition-precedence),
and nhi-gate does not tell which module (and so which identity) a workflow's command applies: a
`-var 'actions=["*"]'` widens every identity reading `var.actions` without touching a `.tf`
file. Each step that runs Terraform with such values is a facet of type `unread:ci-vars`
(`model.UNREAD`), judged by NHI106 (`checker.checks.unread`) like a var file no module reads:
one `Unresolved` entry per variable (`var.<name>`, by its value's digest) or var file
(`-var-file <path>`), at its line. The job's and the workflow's `env:` entries are the facet's
`inputs`, so a change there touches it too.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator

from yaml.nodes import MappingNode, Node

from checker.model import UNREAD, IdentityObject, Location, Unresolved
from checker.safeyaml import end_line_of, get, items, line_of, scalar_text, sequence

#: A Terraform command that reads input variables, at the start of a shell word.
_RUNS_TERRAFORM = re.compile(
    r"(?:^|[\s;&|(`])(?:terraform|tofu|terragrunt)\s+(?:-\S+\s+)*"
    r"(?:plan|apply|destroy|import|refresh|console|run-all|run)\b", re.MULTILINE)
#: `-var NAME=VALUE`, `-var=NAME=VALUE`, `-var 'NAME=VALUE'`, `-var "NAME=VALUE"`.
_VAR = re.compile(r"""(?<![\w-])-var(?:=|\s+)(?:'([^']*)'|"([^"]*)"|([^\s'"]+))""")
_VAR_FILE = re.compile(r"""(?<![\w-])-var-file(?:=|\s+)(?:'([^']*)'|"([^"]*)"|([^\s'"]+))""")
_TF_VAR = "TF_VAR_"
_REASON = "Terraform variable set by a workflow step"


def ci_var_facets(path: str, root: MappingNode, lines: list[str]) -> Iterator[IdentityObject]:
    """The `unread:ci-vars` facet of each step of workflow `root` (at `path`, text `lines`)
    that runs Terraform with `-var`, `-var-file` or `TF_VAR_*` values (see the module doc)."""
    workflow_env = _tf_vars(get(root, "env"))
    for job_id, _, job in items(get(root, "jobs")):
        job_env = _tf_vars(get(job, "env"))
        for index, step in enumerate(sequence(get(job, "steps"))):
            run = get(step, "run")
            script = scalar_text(run) or ""
            if not _RUNS_TERRAFORM.search(script):
                continue
            entries = [*_cli_entries(script, line_of(run) if run is not None else 1, lines),
                       *_tf_vars(get(step, "env"))]
            inherited = [*job_env, *workflow_env]
            names = {e.attribute for e in entries}
            entries += [e for e in inherited if e.attribute not in names]
            if not entries:
                continue
            start = line_of(step)
            yield IdentityObject(
                kind="role_binding", platform="generic", type=f"{UNREAD}ci-vars",
                address=f"{path}#jobs.{job_id}.steps[{index}]:terraform-vars",
                location=Location(path, start, max(start, end_line_of(step, lines))),
                attribute_lines={e.attribute: e.line or start for e in entries},
                derived_from=path, unresolved=tuple(entries),
                inputs=tuple((e.attribute, Location(path, e.line or start, e.line or start))
                             for e in inherited),
                digest=_digest(entries), frame_digest=_digest(entries),
                untagged_digest=_digest(entries),
            )


def _tf_vars(env: Node | None) -> list[Unresolved]:
    """One entry per `TF_VAR_<name>` key of an `env:` mapping."""
    out: list[Unresolved] = []
    for key, key_node, value in items(env):
        if key.startswith(_TF_VAR) and len(key) > len(_TF_VAR):
            out.append(Unresolved(f"var.{key[len(_TF_VAR):]}",
                                  _value_digest(scalar_text(value) or ""), _REASON,
                                  line_of(key_node)))
    return out


def _cli_entries(script: str, first: int, lines: list[str]) -> list[Unresolved]:
    """The `-var`/`-var-file` entries of a `run:` script whose value starts at line `first`
    (a block scalar's text starts on the next line: each entry's line is where its text is)."""
    out: list[Unresolved] = []
    for pattern, var_file in ((_VAR, False), (_VAR_FILE, True)):
        for match in pattern.finditer(script):
            text = next(g for g in match.groups() if g is not None)
            line = _line_in(lines, first, match.group(0))
            if var_file:
                out.append(Unresolved(f"-var-file {text}", _value_digest(text),
                                      _REASON, line))
                continue
            name, _, value = text.partition("=")
            out.append(Unresolved(f"var.{name.strip()}", _value_digest(value), _REASON, line))
    return out


def _line_in(lines: list[str], first: int, needle: str) -> int:
    """The 1-based line at or after `first` holding `needle` (a `-var ...` argument as
    written); `first` when not found (a quoted scalar that folds it)."""
    for number in range(first, len(lines) + 1):
        if needle in lines[number - 1]:
            return number
    return first


def _value_digest(value: str) -> str:
    return hashlib.sha256(value.strip().encode("utf-8")).hexdigest()[:16]


def _digest(entries: list[Unresolved]) -> str:
    text = json.dumps(sorted((u.attribute, u.expression) for u in entries))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
