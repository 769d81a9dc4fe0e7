"""Committed symbolic links: where they point, and what `check` reads for one.

A link is never followed out of the repository (DESIGN.md "Bad input"): a link whose target
is absolute or climbs above the repository root stays NHI902. A link to a regular file
inside the repository is read as that file's content at the same revision (or in the index),
under the link's path, so an agent's link that places a manifest somewhere new is judged as
that manifest, and a person's link to a file the repository holds anyway reads nothing new;
a link inside the repository to a directory, another link or a missing path reads nothing
(its target is read where it lives). Git stores a link's target as the blob's text
(https://git-scm.com/docs/git-ls-tree, mode 120000).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from pathlib import Path

from checker import git
from checker.git import BlobEntry
from checker.git.objects import cat_object
from checker.git.repo import Repo

#: What a link entry reads as: None when it points outside the repository, else the target
#: file's bytes (None inside: a directory, another link, a missing or oversized path).
LinkReader = Callable[[BlobEntry], tuple[bytes | None] | None]


def inside_target(link: str, target: str) -> str | None:
    """The repository path a link at `link` (repository-relative, `/`-separated) pointing to
    `target` names, or None when `target` is absolute or climbs above the root."""
    if not target or target.startswith("/") or "\\" in target or ":" in target[:2]:
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
    if joined in (".", "..") or joined.startswith("../"):
        return None
    return joined


def link_reader(repo: Repo, rev: str | None, max_bytes: int | None) -> LinkReader:
    """A `LinkReader` for links at commit `rev` (None: the index)."""

    def read(entry: BlobEntry) -> tuple[bytes | None] | None:
        text = cat_object(repo, entry.sha).decode("utf-8", "replace").strip()
        target = inside_target(entry.path, text)
        if target is None:
            return None
        found = (git.read_entries(repo, rev, [target], max_bytes=max_bytes) if rev is not None
                 else git.read_index_entries(repo, [target], max_bytes=max_bytes))
        hit = found.get(target)
        return (hit.data if hit is not None and hit.is_file else None,)

    return read


def inside_root(link: Path, roots: tuple[Path, ...]) -> bool:
    """True when the on-disk link `link` resolves to a path under one of `roots` (a scan
    reads it there, or would); a root that is itself a link is taken as the link, not its
    target."""
    try:
        resolved = link.resolve(strict=False)
    except (OSError, RuntimeError):
        return False
    places = [p.parent.resolve() / p.name if p.is_symlink() else p.resolve() for p in roots]
    return any(resolved == r or r in resolved.parents for r in places)
