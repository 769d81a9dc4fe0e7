"""Which changed files the job that runs nhi-gate executes before its check, read from git at
the base and head revisions (the index for `hook`): the workflows that name nhi-gate or use a
local action that runs it (`gate_actions`: its steps name nhi-gate, or a local action it uses
does, at any depth up to `_NESTING` levels), the local actions they use (their own steps too)
and the scripts, makefiles, `package.json` files and pip requirements (with the ones those
name, `_DEPTH` levels deep) their steps run (`checker.parsers.gate_job` records them); and the
GitLab CI files (`.gitlab-ci.yml` and its local includes, `gitlab_files`) whose job runs
nhi-gate, with the scripts that job runs (`checker.parsers.gitlab_gate`). An agent's change to
one of those files is NHI102 (`checker.checks.policy_files`)."""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Mapping, Sequence
from pathlib import PurePosixPath
from typing import NamedTuple

from checker import git as cg
from checker.git.repo import Repo
from checker.model import SourceFile
from checker.parsers.gate_job import (
    Runs,
    action_runs,
    gate_job_runs,
    local_actions,
    local_uses,
    requirement_files,
    requirement_runs,
)
from checker.parsers.gitlab_ci import includes_of
from checker.parsers.gitlab_gate import gitlab_gate_facts, gitlab_gate_runs, names_gate

_WORKFLOWS = ".github/workflows"
_ACTION_FILES = ("action.yml", "action.yaml")
#: How deep local actions that use local actions are followed (a cycle stops sooner).
_NESTING = 10
#: How deep GitLab CI includes and nested pip requirements files are followed.
_DEPTH = 3
_GITLAB_ROOTS = (".gitlab-ci.yml", ".gitlab-ci.yaml")


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
    gitlab = gitlab_files(repo, rev)
    gated = any(names_gate(b) for b in gitlab.values())
    for path, blob in gitlab.items():
        found = gitlab_gate_runs(path, blob, gated) if gated else {}
        runs.update({k: v for k, v in found.items() if k not in runs})
    todo = requirement_files(runs)  # the files a requirements file names, `_DEPTH` deep
    for _ in range(_DEPTH):
        if not todo:
            break
        blobs = read_at(repo, rev, todo)
        found = {}
        for path in todo:
            found.update(requirement_runs(path, blobs.get(path), runs[path]))
        todo = [p for p in requirement_files(found) if p not in runs]
        runs.update({k: v for k, v in found.items() if k not in runs})
    return GateJobs(runs, frozenset(by_action))


def gitlab_files(repo: Repo, rev: str | None) -> dict[str, bytes | None]:
    """The root `.gitlab-ci.yml` at `rev` (None: the index) and the `include: local:` files it
    reaches (`_DEPTH` levels; `parsers.gitlab_ci.includes_of`): path -> bytes (None when
    absent). {} when the repository has no root GitLab CI file."""
    out: dict[str, bytes | None] = {
        p: b for p, b in read_at(repo, rev, list(_GITLAB_ROOTS)).items() if b is not None}
    todo = list(out)
    for _ in range(_DEPTH):
        wanted = sorted({i for p in todo for i in includes_of(
            SourceFile(p, out[p] or b"", rev), PurePosixPath(""))} - set(out))
        if not wanted:
            break
        out.update(read_at(repo, rev, wanted))
        todo = [p for p in wanted if out.get(p) is not None]
    return out


def gitlab_gate_files(repo: Repo, base: str, head: str | None, changed: Collection[str]
                      ) -> dict[str, str]:  # fmt: skip
    """Each of the `changed` GitLab CI files (`gitlab_files` at `base` or `head`; None: the
    index) whose gate facts (`parsers.gitlab_gate.gitlab_gate_facts`) differ between the two,
    in a pipeline with a job that runs nhi-gate on either side -> `gitlab-gate`."""
    if not any(p.endswith((".yml", ".yaml")) for p in changed):
        return {}
    at_base, at_head = gitlab_files(repo, base), gitlab_files(repo, head)
    if not any(names_gate(b) for b in (*at_base.values(), *at_head.values())):
        return {}
    paths = sorted(set(changed) & (set(at_base) | set(at_head)))
    before = cg.read_blobs(repo, base, [p for p in paths if p not in at_base])
    after = read_at(repo, head, [p for p in paths if p not in at_head])
    return {p: "gitlab-gate" for p in paths
            if gitlab_gate_facts(p, at_base.get(p, before.get(p)))
            != gitlab_gate_facts(p, at_head.get(p, after.get(p)))}


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
           or p.endswith((".yml", ".yaml")) for p in changed):  # GitLab CI files too
        revs.append(head)
    for rev in revs:
        jobs = runs_at(repo, rev)
        by_action |= jobs.by_action & set(changed)
        for path in changed:
            why = ran_by_gate(jobs.runs, path)
            if why is not None and path not in out:
                out[path] = why
    return GateJobs(out, frozenset(by_action))
