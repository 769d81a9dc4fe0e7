"""`check`'s search of the range's history: secret material a commit added that head no longer
shows (added, then deleted or changed again) is still published by a merge that keeps the
commits. `read_history` reads those file versions from git (`git.history.added_blobs`, one
`git log --raw`; contents through the repository's `cat-file` session) and searches them
(`sources.history`); `checks/secret_material.py` reports what it found (NHI401).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from checker.git.history import added_blobs
from checker.git.objects import cat_object
from checker.git.repo import Repo
from checker.model import SourceFile
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config
from checker.sources.discovery import excluded

if TYPE_CHECKING:
    from checker.sources.history import HistorySecrets

#: Versions larger than this (bytes) are not read (`secrets.large_text.MAX_SCAN_BYTES`): they
#: are NHI903 problems, named with their commit.
_MAX_READ = 64 * 1024 * 1024


def read_history(repo: Repo, base: str, head: str, config: Config) -> HistorySecrets:
    """The `sources.history.HistorySecrets` of `base..head`: what its commits added to file
    versions head no longer has (none read when there are none; the secret scan is imported
    only then). A version under an excluded path is read too, for its format tokens alone
    (`history_secrets`), up to `config.max_file_bytes`: a generated bundle an excluded folder
    holds, rewritten by every commit of a long range, is not read each time. Raises `GitError`
    when git fails."""
    from checker.sources.history import HistorySecrets, Version, history_secrets

    versions: list[Version] = []
    for added in added_blobs(repo, base, head):
        size = repo.git.get_object_header(added.blob)[2]
        if size > config.max_file_bytes and excluded(added.path, config.exclude):
            continue
        raw = cat_object(repo, added.blob) if size <= _MAX_READ else b""
        versions.append(Version(added.commit, SourceFile(added.path, raw, added.commit),
                                added.parent_blob, size))
    if not versions:
        return HistorySecrets()
    return history_secrets(versions, lambda blob: cat_object(repo, blob), load_catalogue(),
                           config)
