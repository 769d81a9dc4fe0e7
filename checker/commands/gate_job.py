"""Which changed files the job that runs nhi-gate executes before its check, read from git at
the base and head revisions (the index for `hook`): the workflows that name nhi-gate, the
local actions they use (their own steps too, three levels deep) and the scripts, makefiles and
`package.json` files their steps run (`checker.parsers.gate_job` records them). An agent's
change to one of those files is NHI102 (`checker.checks.policy_files`)."""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Mapping, Sequence

from checker import git as cg
from checker.git.repo import Repo
from checker.parsers.gate_job import Runs, action_runs, gate_job_runs, local_actions

_WORKFLOWS = ".github/workflows"
_ACTION_FILES = ("action.yml", "action.yaml")
_DEPTH = 3


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
    return runs


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
           for p in changed):
        revs.append(head)
    for rev in revs:
        runs = runs_at(repo, rev)
        for path in changed:
            why = ran_by_gate(runs, path)
            if why is not None and path not in out:
                out[path] = why
    return out
