"""`nhi-gate inventory`'s history columns: `created_by`, `last_changed_by` and `approval` of
each identity, from the ledger (`commands.ledger`): the repository's default ledger database
is brought up to date (one first-parent walk the first time, then only the new commits) and
each row is matched to the live identity at its path (relative to the repository) and
address. Rows outside a git repository, or not committed yet, keep None. Imported only when
history is read (GitPython)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from checker.commands.ledger import default_db, reviews, update
from checker.errors import GitError
from checker.git.refs import rev_parse
from checker.git.run import open_repo
from checker.ledger.store import Ledger
from checker.policy.config import Config

__all__ = ["add_history", "reviews"]  # `reviews`: the pull requests' reviews, for inventory


def _absolute(row_path: str, paths: Sequence[str]) -> Path:
    """Where a row's file is on disk: `scan` shows paths relative to the one directory
    scanned, else as given."""
    if len(paths) == 1 and Path(paths[0]).is_dir():
        return (Path(paths[0]) / row_path).resolve()
    return Path(row_path).resolve()


def first_run_note(top: Path, db: Path) -> str:
    """What the first `inventory` in a repository tells stderr before it builds the ledger."""
    return (f"nhi-gate: inventory: building the identity ledger of {top.name} for the "
            "created_by, last_changed_by and approval columns: its whole first-parent history "
            f"is read once into {db}, later runs read only new commits; `--no-history` "
            "skips this (those columns stay null)")


def add_history(rows: Sequence[dict[str, object]], paths: Sequence[str], config: Config,
                db: str | None = None) -> None:
    """Fill `created_by`, `last_changed_by` and `approval` of `rows` in place (see the module
    docstring); `db` overrides the default ledger database. The first run in a repository
    (an empty ledger) says on stderr what it is doing and how to skip it (`first_run_note`),
    and each run that walked commits says how many."""
    if not rows:
        return
    first = _absolute(str(rows[0]["path"]), paths)
    try:
        repo = open_repo(first.parent if first.parent.is_dir() else Path("."))
    except GitError:
        return  # not in a git repository: no history to read
    with repo:
        if repo.working_tree_dir is None:
            return
        top = Path(repo.working_tree_dir).resolve()
        try:
            head = rev_parse(repo, "HEAD")
        except GitError:
            return  # no commit yet
        path = Path(db) if db else default_db(repo)
        with Ledger(path) as led:
            if led.meta("last_commit") is None:
                print(first_run_note(top, path), file=sys.stderr)
            walked, _ = update(led, repo, head, config)
            if walked:
                print(f"nhi-gate: ledger {path}: {walked} commit(s) walked", file=sys.stderr)
            for row in rows:
                try:
                    rel = _absolute(str(row["path"]), paths).relative_to(top).as_posix()
                except ValueError:
                    continue
                found = led.db.execute(
                    "SELECT i.created_by, i.last_changed_by, i.approval FROM live l JOIN "
                    "identities i USING (identity_id) WHERE l.path = ? AND l.address = ?",
                    (rel, row["address"])).fetchone()
                if found is not None:
                    created, last, approval = (json.loads(v) if v else None for v in found)
                    row.update(created_by=created, last_changed_by=last, approval=approval)
