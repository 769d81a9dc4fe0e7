"""Everything nhi-gate asks git, in a few batched calls (DESIGN.md "Scale").

Each git command is one process (../shared/research/ecosystem.md §8), so this
package never runs one process per commit or per file when one call can answer for all of them:

- commits of `base..head`: ONE `git log -z --format=...` (parents, author, committer,
  trailers, full message; no `%G?`, which verifies every signed commit): `log.py`;
- changed files: ONE `git diff --name-status -z -M`; added line ranges: ONE `git diff -U0`:
  `diff.py`;
- blob contents: ONE `git ls-tree` (modes, sizes) plus the repository's persistent
  `git cat-file --batch` session (one process per `Repo`, reused by every call): `objects.py`;
- which files hold a string: ONE `git grep -l`, or none when a preloaded listing has only a
  few candidate files, read through the `cat-file` session: `grep.py`;
- line attribution ("which in-range commit introduced this head line", what `git blame
  base..head` answers), for the files the caller says nhi-gate reads: ONE walk of the whole
  range restricted to those files, merges included (`git log -p -U0 -M --reverse` for a
  merge-free range, else `git diff-tree --stdin -p -U0 -M` of every `(commit, parent)` pair),
  replayed oldest-first to track each line's origin and lineage (`replay.py`; tests check it
  agrees with blame). Only a file whose history is not line-based (copies) gets one
  `git blame --porcelain -L ... base..head -- path`. A range of one commit needs neither:
  `lineage.py`;
- refs, the default base and the merge-base: `refs.py`; git-ai notes: `notes.py`; the
  `ChangeSet` assembled from all of the above: `changeset.py`; running git: `run.py`.

Conventions:
- Commits are returned **oldest first** (`--topo-order --reverse`: every parent before its
  children), so "the commits before this one" is a prefix of the tuple.
- Paths are repository-relative, `/`-separated, decoded from git's raw bytes as UTF-8 with
  `surrogateescape` (so a non-UTF-8 name round-trips back to git unchanged). Every command runs
  with `core.quotePath=false`, `--literal-pathspecs`, and with the user's diff drivers,
  textconv, external diff, colour and custom prefixes switched off.
- Symlinks are never followed and their link text is never returned as content: see
  `BlobEntry` and `read_entries`.
- Needs git >= 2.31 (`%(trailers:key_value_separator=...)`).

Every failure is a `GitError` whose message names the repository, the revision or the path.
Close the `Repo` when done: `with repo_session(path) as repo: ...` (or `with open_repo(path)
as repo:`) stops the repository's persistent `cat-file` processes (`checker.git.repo`).
"""

from __future__ import annotations

from checker.change import FileDelta
from checker.git.changeset import build_changeset, staged_changeset
from checker.git.grep import grep_directories, grep_files
from checker.git.log import read_commits
from checker.git.notes import AI_NOTES_REF, MAX_NOTE_BYTES, diffs_to_head, read_ai_notes
from checker.git.objects import (
    MODE_EXECUTABLE,
    MODE_FILE,
    MODE_SYMLINK,
    MODE_TREE,
    BlobEntry,
    list_files,
    preload_listing,
    read_blobs,
    read_directory_entries,
    read_entries,
    read_index_entries,
    tree_files,
)
from checker.git.refs import current_branch, git_identity, resolve_range
from checker.git.run import open_repo, repo_session

__all__ = [
    "AI_NOTES_REF",
    "MAX_NOTE_BYTES",
    "MODE_EXECUTABLE",
    "MODE_FILE",
    "MODE_SYMLINK",
    "MODE_TREE",
    "BlobEntry",
    "FileDelta",
    "build_changeset",
    "current_branch",
    "diffs_to_head",
    "git_identity",
    "grep_directories",
    "grep_files",
    "list_files",
    "open_repo",
    "preload_listing",
    "read_ai_notes",
    "read_blobs",
    "read_commits",
    "read_directory_entries",
    "read_entries",
    "read_index_entries",
    "repo_session",
    "resolve_range",
    "staged_changeset",
    "tree_files",
]
