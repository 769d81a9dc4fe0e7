"""`nhi-gate check`: gate the identities that `base..head` adds or changes.

This module reads the range from git (`read_range`); `checker.commands` runs it between forking
the `ParseWorker` and judging (`checker.commands.approvals`, `checker.commands.verdict`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from git import Repo

from checker import git
from checker.change import ChangeSet
from checker.commands.base_policy import baseline_at, config_at
from checker.commands.event import event_range, pre_push_range
from checker.commands.git_sources import (
    ChangeRead,
    chart_files,
    entry_sources,
    may_be_read,
    module_siblings,
    sources,
    to_parse,
)
from checker.commands.render_sources import rendered_change
from checker.errors import GitError
from checker.pipeline import start_parse
from checker.policy.catalogue import load_catalogue
from checker.provenance import ai_notes
from checker.sources.worker import ParseWorker


@dataclass(frozen=True)
class RangeRead:
    """The range read from git (`read`), its resolved revisions, and the open repository."""

    repo: Repo
    read: ChangeRead
    base: str
    head: str


def with_ai_notes(repo: Repo, changeset: ChangeSet) -> ChangeSet:
    """`changeset` with the lines git-ai notes (`refs/notes/ai`) attribute to an AI agent
    (`ChangedFile.ai_lines`, see `provenance.ai_notes`). A malformed note, or a notes ref git
    cannot read, is reported on stderr and ignored: notes only ever add evidence."""
    if changeset.head is None:
        return changeset
    try:
        notes = git.read_ai_notes(repo, [c.sha for c in changeset.commits])
        logs, problems = ai_notes.parse_notes(notes)
        for problem in problems:
            print(f"nhi-gate: {problem}", file=sys.stderr)
        shas, paths = ai_notes.diff_request(logs, changeset)
        deltas = git.diffs_to_head(repo, changeset.head, shas, paths)
    except GitError as exc:
        print(f"nhi-gate: {ai_notes.NOTES_REF} ignored: {exc}", file=sys.stderr)
        return changeset
    return ai_notes.annotate(changeset, logs, deltas)


@contextmanager
def read_range(args: argparse.Namespace, worker: ParseWorker | None) -> Iterator[RangeRead]:
    """Open the repository, read `base..head` and start its parse; the repository stays open
    in the body of the `with`.

    Revisions: `--base`/`--head`, else the `pull_request` event, else (`--pre-push`) the
    pushed range, else the merge-base with the default branch and HEAD. Policy (config,
    baseline) comes from base. The parse of both sides is sent to `worker` (None: parsed
    in-process when `ChangeRead.parsed` is called). Raises `GitError` for unknown revisions.
    """
    ev_base, ev_head = event_range()
    with git.open_repo(Path(args.repo)) as repo:
        if getattr(args, "pre_push", False) and not (args.base or args.head):
            ev_base, ev_head = pre_push_range(repo)
        base, head = git.resolve_range(repo, args.base or ev_base, args.head or ev_head)
        branch = os.environ.get("GITHUB_HEAD_REF") or (
            git.current_branch(repo) if not (args.head or ev_head) else None
        )
        changeset = with_ai_notes(repo, git.build_changeset(
            repo, base, head, branch=branch, blame_filter=may_be_read))
        config = config_at(repo, base, args)
        live = [f for f in changeset.files if f.status != "D"]
        head_entries = git.read_entries(
            repo, head, [f.path for f in live], max_bytes=config.max_file_bytes
        )
        base_paths = {f.old_path or f.path: f.path for f in live if f.status != "A"}
        base_raw = git.read_blobs(repo, base, list(base_paths))
        base_blobs = {base_paths[p]: b for p, b in base_raw.items()}
        head_sources, unreadable = entry_sources(head_entries, head, config)
        # The other files of each changed Terraform module, for their values.
        siblings = module_siblings(repo, head, changeset, config, base=False,
                                   changed_sources=head_sources)
        base_siblings = module_siblings(repo, base, changeset, config, base=True,
                                        changed_sources=sources(base_blobs, base))
        # The worker parses both sides while this process reads the rest (and asks GitHub).
        parsed = start_parse(
            [head_sources + to_parse(siblings, changeset),
             sources(base_blobs, base) + to_parse(base_siblings, changeset)],
            load_catalogue(), config, worker,
            contexts=[siblings + chart_files(repo, head, [f.path for f in live]),
                      base_siblings + chart_files(repo, base, list(base_paths))],
        )
        baseline = baseline_at(repo, base, config)
        rendered = rendered_change(repo, changeset, config, head)  # while the worker parses
        read = ChangeRead(changeset, config, head_sources, unreadable, siblings, parsed,
                          baseline, rendered)  # fmt: skip
        yield RangeRead(repo, read, base, head)
