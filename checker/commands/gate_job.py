"""Which changed files the job that runs nhi-gate executes before its check, read from git at
the base and head revisions (the index for `hook`): the workflows that name nhi-gate or use a
local action that runs it (`gate_actions`: its steps name nhi-gate, or a local action it uses
does, at any depth up to `_NESTING` levels), the local actions they use (their own steps too)
and the scripts, makefiles and `package.json` files their steps run
(`checker.parsers.gate_job` records them). An agent's change to one of those files is NHI102
(`checker.checks.policy_files`)."""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from checker import git as cg
from checker.git.repo import Repo
from checker.parsers.gate_job import Runs, action_runs, gate_job_runs, local_actions, local_uses

_WORKFLOWS = ".github/workflows"
_ACTION_FILES = ("action.yml", "action.yaml")
#: How deep local actions that use local actions are followed (a cycle stops sooner).
_NESTING = 10


class GateJobs(NamedTuple):
    """What the nhi-gate jobs of one revision run (`runs`: repository path, a directory when it
    ends in `/` -> how) and the workflows whose job runs nhi-gate only through a local action
    (`by_action`: their text does not name it)."""

    runs: Runs
    by_action: frozenset[str]


def read_at(repo: Repo, rev: str | None, paths: Sequence[str]) -> dict[str, bytes | None]:
    """`paths` at commit `rev`, or in the index when `rev` is None: path -> bytes (None when
    absent or not a regular file)."""
    if rev is not None:
        return cg.read_blobs(repo, rev, paths)
    entries = cg.read_index_entries(repo, paths)
    return {p: (entries[p].data if p in entries else None) for p in paths}


def gate_actions(repo: Repo, rev: str | None, files: Mapping[str, bytes]) -> frozenset[str]:
    """The directories of the local actions that run nhi-gate, among those the workflow
    `files` (path -> bytes) use at `rev` (None: the index), followed `_NESTING` levels deep: an
    action whose metadata file names nhi-gate, or that uses such an action."""
    uses: dict[str, frozenset[str]] = {}
    naming: set[str] = set()
    todo = sorted({d for path, data in files.items() if b"./" in data
                   for d in local_uses(path, data)})
    for _ in range(_NESTING):
        new = [d for d in todo if d not in uses]
        if not new:
            break
        paths = [posixpath.join(d, f) for d in new for f in _ACTION_FILES]
        blobs = read_at(repo, rev, paths)
        found: set[str] = set()
        for directory in new:
            inner: set[str] = set()
            for name in _ACTION_FILES:
                blob = blobs.get(posixpath.join(directory, name))
                if blob is None:
                    continue
                if b"nhi-gate" in blob.lower():
                    naming.add(directory)
                inner |= local_uses(posixpath.join(directory, name), blob)
            uses[directory] = frozenset(inner)
            found |= inner
        todo = sorted(found)
    gate = set(naming)
    grew = True
    while grew:  # an action that uses a gate action is one
        more = {d for d, inner in uses.items() if d not in gate and inner & gate}
        gate |= more
        grew = bool(more)
    return frozenset(gate)


def runs_at(repo: Repo, rev: str | None) -> GateJobs:
    """What the nhi-gate jobs of the workflows at `rev` (None: the index) run before their
    check (`GateJobs`)."""
    entries = cg.read_directory_entries(repo, rev, [_WORKFLOWS], (".yml", ".yaml"))
    files = {p: e.data for p, e in sorted(entries.items()) if e.data is not None}
    actions = gate_actions(repo, rev, files)
    runs: Runs = {}
    by_action: set[str] = set()
    for path, data in files.items():
        names = b"nhi-gate" in data.lower()
        if names or (actions and b"./" in data):
            job = gate_job_runs(path, data, actions)
            runs.update(job)
            if job and not names:
                by_action.add(path)
    seen: set[str] = set()
    todo = local_actions(runs)
    for _ in range(_NESTING):
        new = [d for d in todo if d not in seen]
        if not new:
            break
        seen.update(new)
        paths = [posixpath.join(d, f) for d in new for f in _ACTION_FILES]
        blobs = read_at(repo, rev, paths)
        found: Runs = {}
        for directory in new:
            for name in _ACTION_FILES:
                path = posixpath.join(directory, name)
                found.update(action_runs(directory, path, blobs.get(path)))
        runs.update({k: v for k, v in found.items() if k not in runs})
        todo = local_actions(found)
    return GateJobs(runs, frozenset(by_action))


def ran_by_gate(runs: Mapping[str, str], path: str) -> str | None:
    """How the gate job runs `path` (`runs` from `runs_at`), or None when it does not."""
    if path in runs:
        return runs[path]
    for key, why in runs.items():
        if key.endswith("/") and path.startswith(key):
            return why
    return None


def gate_job_files(repo: Repo, base: str, head: str | None, changed: Collection[str]
                   ) -> GateJobs:  # fmt: skip
    """Each of the `changed` paths that the nhi-gate job runs at `base` or at `head` (None:
    the index) -> how it runs it (base says first), and the `changed` workflows that run
    nhi-gate through a local action on either side. The head is read only when the change
    touches a workflow or an action's metadata file: otherwise it runs what base runs."""
    out: dict[str, str] = {}
    by_action: set[str] = set()
    revs: list[str | None] = [base]
    if any(p.startswith(_WORKFLOWS + "/") or p.rsplit("/", 1)[-1] in _ACTION_FILES
           for p in changed):
        revs.append(head)
    for rev in revs:
        jobs = runs_at(repo, rev)
        by_action |= jobs.by_action & set(changed)
        for path in changed:
            why = ran_by_gate(jobs.runs, path)
            if why is not None and path not in out:
                out[path] = why
    return GateJobs(out, frozenset(by_action))
