"""The file versions a range's commits added that head no longer has, in ONE `git log --raw`.

A commit that adds a secret and a later commit that deletes it leave head clean, but a merge
that keeps the commits (not a squash) publishes the secret in the repository's history. These
are the versions to search for it: `added_blobs` lists, for every commit of `base..head`, each
regular file it created or changed whose blob is not the one head has at that path, with the
blob it replaced. A merge commit lists nothing: what it brings in was written by commits that
are in the range themselves (or already in base, `resolve_range` takes the merge-base), so
only a version a merge resolution wrote itself is not searched.
"""

from __future__ import annotations

from dataclasses import dataclass

from checker.git.objects import MODE_EXECUTABLE, MODE_FILE, read_entries
from checker.git.repo import Repo
from checker.git.run import decode, run_git

#: The object id git prints for "no blob" (a created file's old side), any hash length.
_NULL = frozenset("0")


@dataclass(frozen=True)
class AddedBlob:
    """A file version commit `commit` wrote: `path`, its `blob` id, and `parent_blob`, the blob
    the path (or, for a rename or copy, its source) had before the commit (None: created)."""

    commit: str
    path: str
    blob: str
    parent_blob: str | None


def added_blobs(repo: Repo, base: str, head: str) -> list[AddedBlob]:
    """The regular-file blobs the commits of `base..head` wrote (oldest commit first, renames
    followed with `-M`, merges left out) that `head` does not have at the same path: deleted
    since, or changed again. One `git log --raw -z` for the range, one `ls-tree` lookup of
    head (or its preloaded listing). Raises `GitError` when git fails."""
    raw = run_git(
        repo, "log", "--raw", "-z", "--no-abbrev", "-M", "--diff-merges=off",
        "--topo-order", "--reverse", "--no-color", "--format=%x1e%H", f"{base}..{head}", "--",
    )
    found: list[AddedBlob] = []
    for record in raw.split(b"\x1e"):
        sha, _, rest = record.partition(b"\x00")
        tokens = rest.lstrip(b"\n").split(b"\x00")
        i = 0
        while i < len(tokens):
            meta = tokens[i]
            if not meta.startswith(b":"):
                i += 1
                continue
            _, new_mode, old_blob, new_blob, status = meta[1:].decode().split(" ")
            paths = 2 if status[:1] in ("R", "C") else 1
            path = decode(tokens[i + paths]) if i + paths < len(tokens) else ""
            i += 1 + paths
            if status[:1] == "D" or new_mode not in (MODE_FILE, MODE_EXECUTABLE) or not path:
                continue
            found.append(AddedBlob(sha.decode().strip(), path, new_blob,
                                   None if set(old_blob) <= _NULL else old_blob))
    if not found:
        return []
    at_head = read_entries(repo, head, sorted({a.path for a in found}), max_bytes=0)
    return [a for a in found if a.path not in at_head or at_head[a.path].sha != a.blob]
