"""ChangeSets: what a range of commits (or the index) changes, assembled from the log, the
diff and the line attribution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from checker.change import ChangedFile, ChangeSet
from checker.git.diff import changed_files
from checker.git.lineage import attribute_lines
from checker.git.log import file_commits, read_commits
from checker.git.refs import current_branch, head_commit_sha
from checker.git.repo import Repo


def build_changeset(
    repo: Repo,
    base_sha: str,
    head_sha: str,
    branch: str | None = None,
    *,
    blame_filter: Callable[[str], bool] | None = None,
) -> ChangeSet:
    """The `ChangeSet` of `base..head`.

    - `commits`: every commit of `base..head`, **oldest first** (parents before children),
      with trailers in message order, duplicates kept.
    - `files`: every path changed between base and head (`-M`: a rename is one entry with
      `status="R"` and `old_path`), sorted by path; `added_lines` are the head-line ranges the
      diff adds (none for deletions, binary files and pure renames).
    - `line_commits`: each added line → the in-range commit that introduced it, as
      `git blame base..head` would say (lines whose origin is base or older are absent; so is
      an added line that blame aligns with an older line — diff and blame can align
      differently). Only files for which `blame_filter(path)` is true (default: all) get
      `line_commits`: the caller passes the files nhi-gate may read, so code and docs are
      never replayed nor blamed; the others have `attributed=False`.
    - `line_lineage`: for an added line, the other in-range commits whose lines it replaced
      (a later commit's hunk that removes lines and adds lines: its added lines inherit the
      in-range origins and lineages of the removed ones), and the in-range writers of a
      deleted line whose text it repeats (a move under git's rename threshold, a revert and
      re-apply: `checker.git.replay`), earliest first, without the line's own commit; lines
      with none are absent. Files attributed by `git blame` (history that is not line-based)
      have none.

    `base_sha` must be an ancestor of `head_sha` (`resolve_range` guarantees it).
    Cost: 4 git processes whatever the number of commits, merges included (`log`, two
    `diff`, one `log --name-only`, and one `git log -p` or `git diff-tree --stdin -p` replayed
    for line origins, restricted to the `blame_filter` paths: see `attribute_lines`), plus one
    `git blame` per wanted file whose history is not line-based.
    Raises `GitError` when git fails (e.g. a commit object is missing in a shallow clone).
    """
    commits = read_commits(repo, base_sha, head_sha)
    raw_files = changed_files(repo, [base_sha, head_sha], None)
    touching = file_commits(repo, base_sha, head_sha)
    wanted = [
        (path, added)
        for _status, path, _old, added in raw_files
        if added and (blame_filter is None or blame_filter(path))
    ]
    names = None if blame_filter is None else [p for p in touching if blame_filter(p)]
    attributed, lineages = attribute_lines(repo, base_sha, head_sha, commits, wanted, names)
    skipped = {path for _s, path, _o, added in raw_files if added} - {p for p, _ in wanted}
    files: list[ChangedFile] = []
    for status, path, old, added in raw_files:
        line_commits = attributed.get(path, {})
        files.append(
            ChangedFile(
                path=path,
                status=status,
                old_path=old,
                added_lines=added,
                line_commits=line_commits,
                line_lineage=lineages.get(path, {}),
                attributed=path not in skipped,
                commits=touching.get(path, ()) + (touching.get(old, ()) if old else ()),
            )
        )
    files.sort(key=lambda f: f.path)
    return ChangeSet(
        base=base_sha, head=head_sha, commits=commits, files=tuple(files), branch=branch,
        touched=touching,
    )


def staged_changeset(repo: Repo, paths: Sequence[str] | None = None) -> ChangeSet:
    """The `ChangeSet` of what is staged (pre-commit hook).

    `base` is the HEAD sha (None on an unborn branch, where everything staged is added),
    `head` is None (the index), `commits` is empty, `branch` is the current branch.
    `files` come from `git diff --cached --name-status -z -M [-- paths]`, `added_lines` from
    `git diff --cached -U0`; `line_commits` is empty (nothing is committed yet). `paths`
    (repository-relative, as pre-commit passes them) restricts the diff; None means every
    staged file and an empty sequence means none.
    """
    files = [
        ChangedFile(path=path, status=status, old_path=old, added_lines=added)
        for status, path, old, added in (
            changed_files(repo, ["--cached"], paths) if paths is None or paths else []
        )
    ]
    files.sort(key=lambda f: f.path)
    return ChangeSet(
        base=head_commit_sha(repo), head=None, files=tuple(files), branch=current_branch(repo)
    )
