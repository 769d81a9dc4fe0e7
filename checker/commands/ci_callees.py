"""The local reusable workflows and composite actions a change's GitHub Actions files call,
read from git at one revision, so that a caller's `with:` values that a callee hands to
Terraform are read as the caller job's Terraform inputs when only the caller changes
(`checker.parsers.ci_tf_inputs.callee_inputs`)."""

from __future__ import annotations

from collections.abc import Sequence

from checker import git
from checker.decode import decode
from checker.git.repo import Repo
from checker.model import SourceFile
from checker.parsers.ci_tf_inputs import local_callees

#: At most this many callee files are read for one side of a change.
MAX_FILES = 100


def callee_files(repo: Repo, rev: str | None, changed: Sequence[SourceFile], max_bytes: int
                 ) -> list[SourceFile]:  # fmt: skip
    """The files at commit `rev` (None: the index) that the YAML files among `changed` call
    with a local `uses:` (`local_callees`), except those among `changed` (the caller reads
    them); at most `MAX_FILES`. No git call when no changed file calls one."""
    skip = {s.path for s in changed}
    wanted: list[str] = []
    for src in changed:
        text = decode(src) if src.path.lower().endswith((".yml", ".yaml")) else None
        if isinstance(text, str) and "./" in text:
            wanted += [p for p in local_callees(text) if p not in skip and p not in wanted]
    wanted = wanted[:MAX_FILES]
    if not wanted:
        return []
    entries = (git.read_index_entries(repo, wanted, max_bytes=max_bytes) if rev is None
               else git.read_entries(repo, rev, wanted, max_bytes=max_bytes))
    return [SourceFile(p, e.data, rev) for p, e in sorted(entries.items()) if e.data is not None]
