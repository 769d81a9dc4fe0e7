"""The unchanged GitHub Actions files a change's template injection may run through, read from
git so that both halves of a flow are parsed (`checker.secrets.ci_calls`): when the change
touches a workflow or an action's metadata file, the workflows that call a local action or
reusable workflow (`uses: ./...`) and the local actions and workflows they call, at one
revision. Read for `check` and `hook` on each side; their own findings are not this change's
(they are untouched), only the NHI325 flows that join them to a changed file."""

from __future__ import annotations

from collections.abc import Collection

from checker import git
from checker.git.repo import Repo
from checker.model import SourceFile
from checker.parsers.ci_tf_inputs import local_callees

_WORKFLOWS = ".github/workflows"
_ACTION_FILES = ("action.yml", "action.yaml")


def _touches_actions(changed: Collection[str]) -> bool:
    return any((p.startswith(_WORKFLOWS + "/") and p.endswith((".yml", ".yaml")))
               or p.rsplit("/", 1)[-1] in _ACTION_FILES for p in changed)


def ci_companions(repo: Repo, rev: str | None, changed: Collection[str],
                  max_bytes: int) -> list[SourceFile]:
    """At commit `rev` (None: the index), the workflows with a local `uses:` and the local
    actions and workflows they call, except the `changed` paths (the caller reads those);
    [] unless `changed` holds a workflow or an action's metadata file."""
    if not _touches_actions(changed):
        return []
    entries = git.read_directory_entries(repo, rev, [_WORKFLOWS], (".yml", ".yaml"),
                                         max_bytes=max_bytes)
    callers = {p: e.data for p, e in entries.items()
               if e.data is not None and b"./" in e.data
               and local_callees(e.data.decode("utf-8", "replace"))}
    wanted = set(callers)  # changed callers too: what they call is read
    for blob in callers.values():
        wanted.update(local_callees(blob.decode("utf-8", "replace")))
    wanted -= set(changed)
    missing = sorted(p for p in wanted if p not in entries)
    read = (git.read_index_entries(repo, missing, max_bytes=max_bytes) if rev is None
            else git.read_entries(repo, rev, missing, max_bytes=max_bytes)) if missing else {}
    found = {**{p: e for p, e in entries.items() if p in wanted}, **read}
    return [SourceFile(p, e.data, rev) for p, e in sorted(found.items()) if e.data is not None]
