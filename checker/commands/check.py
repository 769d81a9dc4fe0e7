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

from checker import git
from checker.change import ChangeSet
from checker.commands.base_policy import baseline_at, config_at
from checker.commands.ci_callees import callee_files
from checker.commands.ci_companions import ci_companions
from checker.commands.commit_meaning import TreeMeaning
from checker.commands.event import event_range, github_event, pre_push_range
from checker.commands.git_sources import (
    ChangeRead,
    chart_files,
    deleted_terraform,
    entry_sources,
    large_text_sources,
    may_be_read,
    module_siblings,
    sources,
    to_parse,
)
from checker.commands.gitlab_sources import gitlab_files
from checker.commands.history import read_history
from checker.commands.render_sources import rendered_change
from checker.commands.symlinks import link_reader
from checker.commands.workload_context import workload_context
from checker.errors import GitError
from checker.git.repo import GitCommandError, Repo
from checker.model import SourceFile
from checker.pipeline import start_parse
from checker.policy.catalogue import load_catalogue
from checker.provenance import agent_trace, ai_notes
from checker.sources.worker import ParseWorker


@dataclass(frozen=True)
class RangeRead:
    """The range read from git (`read`), its resolved revisions, and the open repository."""

    repo: Repo
    read: ChangeRead
    base: str
    head: str


def with_ai_notes(repo: Repo, changeset: ChangeSet, expected: bool = False) -> ChangeSet:
    """`changeset` with the lines git-ai notes (`refs/notes/ai`) and Agent Trace records
    (`refs/notes/agent-trace`, `.agent-trace/traces.jsonl`) attribute to an AI agent
    (`ChangedFile.ai_lines`, see `provenance.ai_notes`). A malformed note, or a notes ref git
    cannot read, is reported on stderr and ignored: notes only ever add evidence. With
    `expected` (config `agents.notes_expected`) each commit that has no note is named on
    stderr: a fork PR's notes stay in the fork unless they are fetched."""
    if changeset.head is None:
        return changeset
    try:
        notes = git.read_ai_notes(repo, [c.sha for c in changeset.commits])
        for commit in changeset.commits if expected else ():
            if commit.sha not in notes:
                print(f"nhi-gate: warning: commit {commit.sha[:12]} has no git-ai note "
                      f"({ai_notes.NOTES_REF}) but agents.notes_expected is set; fetch the "
                      f"notes (`git fetch <remote> {ai_notes.NOTES_REF}:{ai_notes.NOTES_REF}`, "
                      "from the PR's head repository for a fork)", file=sys.stderr)
        logs, problems = ai_notes.parse_notes(notes)
        for problem in problems:
            print(f"nhi-gate: {problem}", file=sys.stderr)
        logs = agent_trace.merged(logs, _agent_traces(repo, changeset))
        shas, paths = ai_notes.diff_request(logs, changeset)
        deltas = git.diffs_to_head(repo, changeset.head, shas, paths)
    except GitError as exc:
        print(f"nhi-gate: {ai_notes.NOTES_REF} ignored: {exc}", file=sys.stderr)
        return changeset
    return ai_notes.annotate(changeset, logs, deltas)


def _branch_named(repo: Repo, rev: str) -> str | None:
    """The branch `rev` names (`HEAD` when attached, `copilot/x`, `refs/heads/copilot/x`,
    `origin/copilot/x`), without `refs/heads/` or `refs/remotes/<remote>/`; None for a sha, a
    tag or a detached HEAD."""
    try:
        full = str(repo.git.rev_parse("--symbolic-full-name", rev)).strip()
    except GitCommandError:
        return None
    if full.startswith("refs/heads/"):
        return full.removeprefix("refs/heads/") or None
    if full.startswith("refs/remotes/"):
        parts = full.split("/", 3)
        return parts[3] if len(parts) == 4 and parts[3] != "HEAD" else None
    return None


def head_branch(repo: Repo, args: argparse.Namespace, head: str, given: str | None
                ) -> str | None:  # fmt: skip
    """The name of the branch under review, for branch evidence (`agents.branches`, the
    catalogue's branch prefixes): `--head-ref`, else `GITHUB_HEAD_REF`, else the
    `pull_request` event's `head.ref` when its head is `head`, else the branch the given head
    revision names (`--head HEAD` on a branch, `--head copilot/x`), else the checked-out branch
    when its tip is `head` (a sha of the branch tip). None when no branch is known (a detached
    HEAD at another commit)."""
    named = getattr(args, "head_ref", None) or os.environ.get("GITHUB_HEAD_REF")
    if named:
        return str(named).removeprefix("refs/heads/")
    pr = github_event().get("pull_request")
    pr_head = pr.get("head") if isinstance(pr, dict) else None
    if isinstance(pr_head, dict) and pr_head.get("sha") == head:
        ref = pr_head.get("ref")
        if isinstance(ref, str) and ref:
            return ref
    if given:
        by_name = _branch_named(repo, given)
        if by_name:
            return by_name
    current = git.current_branch(repo)
    if current is None:
        return None
    try:
        tip = repo.head.commit.hexsha
    except (ValueError, TypeError):
        return None
    return current if not given or tip == head else None


def _agent_traces(repo: Repo, changeset: ChangeSet) -> dict[str, ai_notes.AuthorshipLog]:
    """The Agent Trace records of the range (`provenance.agent_trace`): the notes of
    `refs/notes/agent-trace` on its commits and the lines its commits added to
    `.agent-trace/traces.jsonl`. Malformed records are named on stderr and skipped."""
    notes = git.read_ai_notes(repo, [c.sha for c in changeset.commits],
                              ref=agent_trace.NOTES_REF)
    tree = None
    if changeset.head and any(f.path == agent_trace.TRACE_FILE for f in changeset.files):
        tree = git.read_blobs(repo, changeset.head, [agent_trace.TRACE_FILE])[
            agent_trace.TRACE_FILE]
    logs, problems = agent_trace.trace_logs(notes, tree, changeset.files)
    for problem in problems:
        print(f"nhi-gate: {problem}", file=sys.stderr)
    return logs


def commit_meaning(found: RangeRead, worker: ParseWorker | None) -> TreeMeaning:
    """What judges one commit's change to an identity by meaning over `found`'s range (its
    files parsed at the commit and at its parents, on `worker` when there is one, which has
    the parsers loaded); reads `found.repo`, which must stay open while the rules run."""
    return TreeMeaning(found.repo, found.read.changeset, found.read.config, load_catalogue(),
                       worker)


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
        # Both trees are asked many questions below: one listing of each serves them.
        git.preload_listing(repo, base)
        git.preload_listing(repo, head)
        branch = head_branch(repo, args, head, args.head or ev_head)
        config = config_at(repo, base, args)
        changeset = with_ai_notes(repo, git.build_changeset(
            repo, base, head, branch=branch, blame_filter=may_be_read), config.notes_expected)
        live = [f for f in changeset.files if f.status != "D"]
        head_entries = git.read_entries(
            repo, head, [f.path for f in live], max_bytes=config.max_file_bytes
        )
        base_paths = {f.old_path or f.path: f.path for f in live if f.status != "A"}
        base_paths.update(deleted_terraform(changeset))  # a deleted Deny policy's file
        base_raw = git.read_blobs(repo, base, list(base_paths))
        base_blobs = {base_paths[p]: b for p, b in base_raw.items()}
        head_sources, unreadable = entry_sources(
            head_entries, head, config, link_reader(repo, head, config.max_file_bytes))
        head_sources += large_text_sources(repo, head, head_entries, unreadable)
        # The other files of each changed Terraform module, for their values.
        siblings = module_siblings(repo, head, changeset, config, base=False,
                                   changed_sources=head_sources)
        base_siblings = module_siblings(repo, base, changeset, config, base=True,
                                        changed_sources=sources(base_blobs, base))
        # The unchanged workflows and local actions a changed one's injection may run through.
        changed = [p for f in changeset.files for p in (f.path, f.old_path) if p]
        ci_head = ci_companions(repo, head, changed, config.max_file_bytes)
        ci_base = ci_companions(repo, base, changed, config.max_file_bytes)
        # The unchanged token Secrets and bindings a changed workload's account reads.
        kube = workload_context(repo, head, [*head_sources, *sources(base_blobs, base)],
                                changed, config.max_file_bytes)
        siblings = [*siblings, *ci_head, *kube]  # their problems are not this change's
        # The worker parses both sides while this process reads the rest (and asks GitHub).
        parsed = start_parse(
            [head_sources + to_parse(siblings, changeset) + ci_head + kube,
             sources(base_blobs, base) + to_parse(base_siblings, changeset) + ci_base
             + [SourceFile(s.path, s.raw, base) for s in kube]],
            load_catalogue(), config, worker,
            contexts=[siblings + chart_files(repo, head, [f.path for f in live])
                      + gitlab_files(repo, head, [f.path for f in live], config.max_file_bytes)
                      + callee_files(repo, head, head_sources, config.max_file_bytes),
                      base_siblings + chart_files(repo, base, list(base_paths))
                      + gitlab_files(repo, base, list(base_paths), config.max_file_bytes)
                      + callee_files(repo, base, sources(base_blobs, base),
                                     config.max_file_bytes)],
        )
        baseline = baseline_at(repo, base, config)
        rendered = rendered_change(repo, changeset, config, head)  # while the worker parses
        history = read_history(repo, base, head, config)  # what head no longer shows
        read = ChangeRead(changeset, config, head_sources, [*unreadable, *history.problems],
                          siblings, parsed, baseline, rendered, history.found)  # fmt: skip
        yield RangeRead(repo, read, base, head)
