"""GitHub Actions template injection across files: a workflow an outsider triggers passes text
they wrote to a local composite action or reusable workflow as an input, and that action or
workflow expands the input (`${{ inputs.NAME }}`) into a script. GitHub expands the template
before the shell sees it, in the callee as in the caller, so it is the same code execution as
`checker.secrets.ci_injection` reads within one file; NHI325 (`checker.checks.ci_calls`)
joins the two halves, which live in different files. Facts only.

What is read:
- `calls`, in a workflow with an outsider trigger (`ci_injection.OUTSIDER_TRIGGERS`): each
  `with:` input of a step `uses: ./dir` (a local action) or of a job `uses: ./path.yml` (a
  local reusable workflow) whose value holds an untrusted expression (`ci_injection.untrusted`,
  with the workflow's and job's tainted `env:` names and matrix values) -> the
  `injection_call` facet: address `<path>#jobs.<id>[.steps[<i>]].with.<input>`, the input's
  line, `secret_sinks` `trigger:<event>` for each outsider trigger and `call:<target>
  <input> <expression>` (`target`: the action's directory or the workflow's path, from the
  repository root), `inputs` the trigger lines;
- `expansions`, in a composite action (`runs.using: composite`) or a reusable workflow
  (`on: workflow_call`): each `${{ }}` of a `run:` (or of a `ci_injection.SCRIPT_INPUTS`
  action's script) that reads `inputs.NAME`, directly or through an `env:` name set from it
  (`${{ env.X }}`) -> the `input_injection` facet per input: address
  `<path>#inputs.<NAME>.expanded`, lines from its first to its last occurrence,
  `secret_sinks` `callee:<target>` (the action's directory, or the workflow's path),
  `input:<NAME>` and `injects:<line> <step> <expression>` per occurrence. Reading the input
  through `env:` as `"$X"` is the safe form: not read.

Sources: GitHub, "Script injections"
(https://docs.github.com/en/actions/concepts/security/script-injections); inputs of a
composite action
(https://docs.github.com/en/actions/reference/workflows-and-actions/metadata-syntax#inputs) and
of a reusable workflow
(https://docs.github.com/en/actions/reference/workflows-and-actions/reusing-workflow-configurations#using-inputs-and-secrets-in-a-reusable-workflow);
zizmor's `template-injection` (https://docs.zizmor.sh/audits/#template-injection).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import replace

from yaml.nodes import MappingNode, Node

from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject, Location
from checker.parsers.github_keys import trigger_lines
from checker.safeyaml import get, items, line_of, scalar, sequence
from checker.secrets.ci_injection import (
    OUTSIDER_TRIGGERS,
    expressions,
    job_injections,
    job_taint,
    reads_untrusted,
    tainted_env,
    untrusted,
)
from checker.secrets.ci_outputs import needs_names, step_names
from checker.secrets.facets import facet

CALL = "injection_call"
EXPANSION = "input_injection"
_INPUT_REF = lazy_compile(r"(?<![\w.])inputs\.([A-Za-z_][\w-]*)")
_ACTION_FILES = ("action.yml", "action.yaml")


def local_target(uses: str) -> str | None:
    """The repository path a local `uses: ./x` names (without `./`, `@ref` or a trailing
    `/`); None for any other `uses:` or one that leaves the repository."""
    text = uses.strip()
    if not text.startswith("./"):
        return None
    path = posixpath.normpath(text.split("@", 1)[0])
    return None if path.startswith("..") or path == "." else path


def calls(path: str, root: MappingNode, jobs: Sequence[tuple[str, Node, Node]]
          ) -> list[IdentityObject]:  # fmt: skip
    """The `injection_call` facets of workflow `path` (module doc); none unless it has an
    outsider trigger. `jobs` are its `(id, key, job)` entries."""
    lines = trigger_lines(root)
    events = [e for e in OUTSIDER_TRIGGERS if f"on.{e}" in lines]
    if not events:
        return []
    outer = tainted_env(get(root, "env"), frozenset())
    outer |= needs_names(jobs, lambda job, found: job_taint(job, outer | found),
                         reads_untrusted, tainted_env)
    out: list[IdentityObject] = []
    for job_id, _, job in jobs:
        tainted = job_taint(job, outer)
        sites = [(f"jobs.{job_id}", scalar(get(job, "uses")) or "", get(job, "with"), tainted)]
        per_step, _ = step_names(job, tainted, reads_untrusted, tainted_env)
        for index, step in enumerate(sequence(get(job, "steps"))):
            sites.append((f"jobs.{job_id}.steps[{index}]", scalar(get(step, "uses")) or "",
                          get(step, "with"), per_step[index]))
        for where, uses, inputs, names in sites:
            target = local_target(uses)
            if target is None:
                continue
            for name, key, value in items(inputs):
                found = [e for e in expressions(scalar(value) or "") if untrusted(e, names)]
                if not found:
                    continue
                n = line_of(key)
                obj = facet(path, CALL, "ci_credential", "github", f"{path}#{where}.with.{name}",
                            n, n, n, [*(f"trigger:{e}" for e in events),
                                      *(f"call:{target} {name} {e}" for e in found)])
                out.append(replace(
                    obj, attribute_lines={**obj.attribute_lines,
                                          **{f"on.{e}": lines[f"on.{e}"] for e in events}},
                    inputs=tuple((f"on: {e}", Location(path, lines[f"on.{e}"],
                                                       lines[f"on.{e}"])) for e in events)))
    return out


def expansions(path: str, root: MappingNode, raw: list[str]) -> list[IdentityObject]:
    """The `input_injection` facets of composite action or reusable workflow `path` (module
    doc; `raw` its text split on `\\n`); none for any other file."""
    runs = get(root, "runs")
    composite = isinstance(runs, MappingNode) and (
        scalar(get(runs, "using")) or "").strip().lower() == "composite"
    called = "on.workflow_call" in trigger_lines(root)
    if not composite and not called:
        return []
    name = path.rsplit("/", 1)[-1]
    target = posixpath.dirname(path) if composite and name in _ACTION_FILES else path
    bodies = [("runs", runs)] if composite else [
        (f"jobs.{job_id}", job) for job_id, _, job in items(get(root, "jobs"))]
    names = sorted({m.group(1) for line in raw for m in _INPUT_REF.finditer(line)})
    out: list[IdentityObject] = []
    for input_name in names:
        tainted = frozenset({f"inputs.{input_name}"})
        found: list[tuple[int, str, str]] = []
        for prefix, body in bodies:
            if body is None:
                continue
            job_taint = tainted_env(get(body, "env"), tainted)
            occurrences, _ = job_injections(body, job_taint, raw)
            found.extend((n, f"{prefix}.{step}", e) for n, step, e in occurrences)
        if not found:
            continue
        first, last = min(n for n, _, _ in found), max(n for n, _, _ in found)
        out.append(facet(path, EXPANSION, "ci_credential", "github",
                         f"{path}#inputs.{input_name}.expanded", first, last, first,
                         [f"callee:{target}", f"input:{input_name}",
                          *(f"injects:{n} {step} {e}" for n, step, e in sorted(found))]))
    return out
