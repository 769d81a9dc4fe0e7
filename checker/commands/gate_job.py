"""Which changed files the job that runs nhi-gate executes before its check, read from git at
the base and head revisions (the index for `hook`): the workflows that name nhi-gate, the
local actions they use (their own steps too, three levels deep) and the scripts, makefiles,
`package.json` files and pip requirements (with the ones those name, three levels deep) their
steps run (`checker.parsers.gate_job` records them); and the
GitLab CI files (`.gitlab-ci.yml` and its local includes, `gitlab_files`) whose job runs
nhi-gate, with the scripts that job runs (`checker.parsers.gitlab_gate`). An agent's change to
one of those files is NHI102 (`checker.checks.policy_files`)."""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Mapping, Sequence
from pathlib import PurePosixPath

from checker import git as cg
from checker.git.repo import Repo
from checker.model import SourceFile
from checker.parsers.gate_job import (
    Runs,
    action_runs,
    gate_job_runs,
    local_actions,
    requirement_files,
    requirement_runs,
)
from checker.parsers.gitlab_ci import includes_of
from checker.parsers.gitlab_gate import gitlab_gate_facts, gitlab_gate_runs, names_gate

_WORKFLOWS = ".github/workflows"
_ACTION_FILES = ("action.yml", "action.yaml")
_DEPTH = 3
_GITLAB_ROOTS = (".gitlab-ci.yml", ".gitlab-ci.yaml")


def read_at(repo: Repo, rev: str | None, paths: Sequence[str]) -> dict[str, bytes | None]:
    """`paths` at commit `rev`, or in the index when `rev` is None: path -> bytes (None when
    absent or not a regular file)."""
    if rev is not None:
        return cg.read_blobs(repo, rev, paths)
    entries = cg.read_index_entries(repo, paths)
    return {p: (entries[p].data if p in entries else None) for p in paths}


def runs_at(repo: Repo, rev: str | None) -> Runs:
    """What the nhi-gate jobs of the workflows at `rev` (None: the index) run before their
    check: repository path (a directory when it ends in `/`) -> how."""
    workflows = cg.read_directory_entries(repo, rev, [_WORKFLOWS], (".yml", ".yaml"))
    runs: Runs = {}
    for path, entry in sorted(workflows.items()):
        if entry.data is not None and b"nhi-gate" in entry.data.lower():
            runs.update(gate_job_runs(path, entry.data))
    seen: set[str] = set()
    todo = local_actions(runs)
    for _ in range(_DEPTH):
        new = [d for d in todo if d not in seen]
        if not new:
            break
        seen.update(new)
        files = [posixpath.join(d, f) for d in new for f in _ACTION_FILES]
        blobs = read_at(repo, rev, files)
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
    return runs


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
                   ) -> dict[str, str]:  # fmt: skip
    """Each of the `changed` paths that the nhi-gate job runs at `base` or at `head` (None:
    the index) -> how it runs it (base says first). The head is read only when the change
    touches a workflow or an action's metadata file: otherwise it runs what base runs."""
    out: dict[str, str] = {}
    revs: list[str | None] = [base]
    if any(p.startswith(_WORKFLOWS + "/") or p.rsplit("/", 1)[-1] in _ACTION_FILES
           or p.endswith((".yml", ".yaml")) for p in changed):  # GitLab CI files too
        revs.append(head)
    for rev in revs:
        runs = runs_at(repo, rev)
        for path in changed:
            why = ran_by_gate(runs, path)
            if why is not None and path not in out:
                out[path] = why
    return out
