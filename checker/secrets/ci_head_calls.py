"""A pull request's code run through a local composite action or reusable workflow: the two
halves of a "pwn request" (`checker.secrets.ci_untrusted`) across files, joined by NHI315
(`checker.checks.ci_head_calls`). A composite action's steps run in the calling job, and a
reusable workflow runs with its caller's event (`github.event` is the caller's), token and
the secrets it is handed: a callee that checks out the pull request's head and runs code
from it is a pwn request in every `pull_request_target` (`workflow_run`, `issue_comment`)
job that calls it, though its own file has no trigger. Facts only.

What is read:
- `calls`, in a workflow triggered by one of `ci_untrusted.TRIGGERS`: each local call
  (`uses: ./dir`, a step; `uses: ./path.yml`, a job) of a job not limited to trusted pull
  requests (`ci_untrusted.trusted_job`) -> the `pr_code_call` facet: address
  `<path>#jobs.<id>[.steps[<i>]].uses`, the `uses:` line, `secret_sinks` `trigger:<event>`
  and `call:<target>` (the action's directory or the workflow's path, from the repository
  root), `inputs` the trigger line;
- `callees`, in a composite action (`runs.using: composite`) or a reusable workflow
  (`on: workflow_call`): the steps of its `runs` (of each of its jobs) that check out the
  pull request's head and run code from it, read as `ci_untrusted.head_code` reads a job ->
  the `pr_head_callee` facet: address `<path>#runs.pr-head-code`
  (`<path>#jobs.<id>.pr-head-code`), lines from the checkout to the running line,
  `attribute_lines` `anchor` and `checkout`, `secret_sinks` `callee:<target>`,
  `checkout:<step> <how>`, `runs:<step> <what>` and `persisted`/`unread-action` as for
  `pr_head_code`. A composite action that checks out what one of its inputs names
  (`ref: ${{ inputs.ref }}`) and runs it is such a callee for a caller that hands it the head
  in that input: `param:<name>` for each such input (the join then needs `with:<name>`).

Sources: GitHub, composite actions run their steps in the calling job
(https://docs.github.com/en/actions/sharing-automations/creating-actions/creating-a-composite-action);
a called workflow's `github` context is the caller's
(https://docs.github.com/en/actions/reference/workflows-and-actions/reusing-workflow-configurations#supported-keywords-for-jobs-that-call-a-reusable-workflow);
GitHub Security Lab, "Preventing pwn requests"
(https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import replace

from yaml.nodes import MappingNode, Node

from checker.model import IdentityObject, Location
from checker.parsers.github_keys import trigger_lines
from checker.safeyaml import get, items, line_of, scalar, sequence
from checker.secrets.ci_calls import local_target
from checker.secrets.ci_untrusted import (
    TRIGGERS,
    UNREAD,
    head_code,
    head_names,
    names_head,
    trusted_job,
)
from checker.secrets.facets import facet

CALL = "pr_code_call"
CALLEE = "pr_head_callee"
_ACTION_FILES = ("action.yml", "action.yaml")


def calls(path: str, root: MappingNode, jobs: Sequence[tuple[str, Node, Node]]
          ) -> list[IdentityObject]:  # fmt: skip
    """The `pr_code_call` facets of workflow `path` (module doc); none unless one of
    `TRIGGERS` triggers it. `jobs` are its `(id, key, job)` entries."""
    lines = trigger_lines(root)
    event = next((e for e in TRIGGERS if f"on.{e}" in lines), None)
    if event is None:
        return []
    trigger = lines[f"on.{event}"]
    jobs_by_id = {job_id: job for job_id, _, job in jobs}
    outer = head_names(get(root, "env"), frozenset())
    out: list[IdentityObject] = []
    for job_id, _, job in jobs:
        if trusted_job(job, jobs_by_id):
            continue
        names = head_names(get(job, "env"), outer)
        sites = [(f"jobs.{job_id}", job)] + [
            (f"jobs.{job_id}.steps[{i}]", step) for i, step in enumerate(
                sequence(get(job, "steps"))) if isinstance(step, MappingNode)]
        for where, node in sites:
            entry = next(((k, v) for name, k, v in items(node) if name == "uses"), None)
            target = local_target(scalar(entry[1]) or "") if entry else None
            if entry is None or target is None:
                continue
            n = line_of(entry[0])
            handed = [f"with:{name}" for name, _, value in items(get(node, "with"))
                      if names_head(scalar(value), head_names(get(node, "env"), names))]
            obj = facet(path, CALL, "ci_credential", "github", f"{path}#{where}.uses", n, n, n,
                        [f"trigger:{event}", f"call:{target}", *handed])
            out.append(replace(
                obj, attribute_lines={**obj.attribute_lines, f"on.{event}": trigger},
                inputs=((f"on: {event}", Location(path, trigger, trigger)),)))
    return out


def callees(path: str, root: MappingNode) -> list[IdentityObject]:
    """The `pr_head_callee` facets of composite action or reusable workflow `path` (module
    doc); none for any other file."""
    runs = get(root, "runs")
    composite = isinstance(runs, MappingNode) and (
        scalar(get(runs, "using")) or "").strip().lower() == "composite"
    if not composite and "on.workflow_call" not in trigger_lines(root):
        return []
    name = path.rsplit("/", 1)[-1]
    target = posixpath.dirname(path) if composite and name in _ACTION_FILES else path
    names = head_names(get(root, "env"), frozenset())
    jobs = {job_id: job for job_id, _, job in items(get(root, "jobs"))}
    bodies = [("runs", runs)] if composite else [
        (f"jobs.{job_id}", job) for job_id, job in jobs.items()
        if not trusted_job(job, jobs)]
    out: list[IdentityObject] = []
    for prefix, body in bodies:
        if not isinstance(body, MappingNode):
            continue
        found = head_code(body, head_names(get(body, "env"), names))
        params: list[str] = []
        if found is None and composite:
            for name, _, _ in items(get(root, "inputs")):
                tainted = head_names(get(body, "env"), names | {f"input:{name}"})
                if (one := head_code(body, tainted)) is not None:
                    found = found or one
                    params.append(f"param:{name}")
        if found is None:
            continue
        checkout, (run_step, run_line, what) = found
        obj = facet(path, CALLEE, "ci_credential", "github", f"{path}#{prefix}.pr-head-code",
                    checkout.line, run_line, run_line,
                    [f"callee:{target}", f"checkout:{checkout.step} {checkout.how}",
                     f"runs:{run_step} {what}",
                     *(["persisted"] if checkout.persisted else []),
                     *(["unread-action"] if UNREAD in what else []), *params])
        out.append(replace(obj, attribute_lines={**obj.attribute_lines,
                                                 "checkout": checkout.line}))
    return out
