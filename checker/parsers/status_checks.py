"""Workflow jobs whose status check may pass for nhi-gate's, read as facts for NHI102
(`checker.checks.policy_files` decides).

A required status check is matched by name only: any job of any workflow that reports a check
called `nhi-gate` on the pull request's head commit satisfies it, whatever it runs
(https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/managing-protected-branches/about-protected-branches#require-status-checks-before-merging).
A job's check is named by its `name:` (its id without one), and `name:` may hold expressions
(`${{ format('{0}-{1}', 'nhi', 'gate') }}`, `${{ matrix.n }}`), evaluated only when the job
runs (https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idname).
A workflow file that names `nhi-gate` literally is a gate workflow already
(`checker.commands.gate_files.gate_files`); this module finds the jobs that do not say it but may
be it.

What is recorded (`status_check_facts`), for a workflow triggered by `pull_request`,
`pull_request_target`, `push` or `merge_group` (each reports checks on the commits a pull
request merges): one fact per job whose check name may be `nhi-gate` (case-insensitive), its
expressions standing for any text and the literal text around them kept
(`name: Test (${{ matrix.os }})` cannot be it; `name: nhi-${{ x }}` or `name: ${{ x }}` can),
as `job:<id>\\t<name as written>\\t<digest of the job>`: a job added or changed (any key) gives
a fact the base lacks. An absent file gives the empty set; one that cannot be read (not
UTF-8, not YAML) gives None.
"""

from __future__ import annotations

import hashlib
import json
import re

from yaml.nodes import MappingNode

from checker.decode import utf8
from checker.lazy_patterns import lazy_compile
from checker.parsers.github_keys import trigger_lines
from checker.safeyaml import get, items, scalar_text, to_python
from checker.safeyaml.load import load_text

#: The triggers whose jobs report checks on a pull request's commits.
TRIGGERS = ("pull_request", "pull_request_target", "push", "merge_group")
#: The check name the README's workflow reports (its job `nhi-gate`).
GATE_CHECK = "nhi-gate"
_EXPRESSION = lazy_compile(r"\$\{\{.*?\}\}", re.DOTALL)

Facts = frozenset[str]


def may_be(name: str, check: str = GATE_CHECK) -> bool:
    """True when a job `name` as written (expressions in it standing for any text) may
    evaluate to `check`, compared case-insensitively."""
    parts = _EXPRESSION.split(name.strip())
    pattern = ".*".join(re.escape(p) for p in parts)
    return re.fullmatch(pattern, check, re.IGNORECASE | re.DOTALL) is not None


def status_check_facts(path: str, blob: bytes | None) -> Facts | None:
    """The jobs of workflow `path` (as `blob` holds it) whose check may be nhi-gate's (module
    docstring); frozenset() for an absent file or one with no such trigger, None when it
    cannot be read."""
    if blob is None:
        return frozenset()
    text = utf8(blob)
    if text is None:
        return None
    stream = load_text(text, path)
    if stream.problem is not None:
        return None
    out: set[str] = set()
    for doc in stream.documents:
        if not isinstance(doc, MappingNode):
            continue
        if not any(f"on.{t}" in trigger_lines(doc) for t in TRIGGERS):
            continue
        for job_id, _, job in items(get(doc, "jobs")):
            name = scalar_text(get(job, "name")) or job_id
            if not may_be(name):
                continue
            body = json.dumps(to_python(job), sort_keys=True, default=str)
            digest = hashlib.sha256(body.encode()).hexdigest()[:16]
            out.add(f"job:{job_id}\t{' '.join(name.split())}\t{digest}")
    return frozenset(out)
