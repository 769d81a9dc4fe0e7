"""`nhi-gate hook [FILE...]`: the pre-commit stage; judges the staged content.

This module reads the index (`read_staged`); `checker.commands` runs it between forking the
`ParseWorker` and judging (`checker.commands.verdict`).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from checker import git
from checker.change import ChangeSet, Provenance
from checker.commands.base_policy import baseline_at, config_at
from checker.commands.ci_callees import callee_files
from checker.commands.ci_companions import ci_companions
from checker.commands.gate_files import TrustInputs, staged_trust
from checker.commands.git_sources import (
    ChangeRead,
    chart_files,
    deleted_terraform,
    entry_sources,
    large_text_sources,
    module_siblings,
    sources,
    to_parse,
)
from checker.commands.gitlab_sources import gitlab_files
from checker.commands.render_sources import rendered_change
from checker.commands.symlinks import link_reader
from checker.commands.workload_context import workload_context
from checker.errors import NhiGateError
from checker.model import SourceFile
from checker.pipeline import start_parse
from checker.policy.catalogue import load_catalogue
from checker.policy.config import CONFIG_NAME, DEFAULT_BASELINE, Config
from checker.provenance.agents import signatures_for
from checker.provenance.classify import classify_actor
from checker.sources.worker import ParseWorker


@dataclass(frozen=True)
class StagedRead:
    """The staged change read from the index (`read`), who is committing it (`committer`), and
    the staged policy, gate and agent-steering files (`trust`,
    `commands.gate_files.staged_trust`; read only for an agent or bot committer, the only
    one NHI102 reports in `hook`)."""

    read: ChangeRead
    committer: Provenance
    trust: TrustInputs


def committer(name: str, email: str, changeset: ChangeSet, config: Config) -> Provenance:
    """Who is committing the staged lines (`hook`): the git identity `name <email>` classified
    with the config's agent signatures and the current branch."""
    signatures = signatures_for(config)
    return classify_actor(name, email, "", signatures, changeset.branch)


def repo_relative(name: str, root: Path) -> str:
    """A FILE argument (relative to the current directory, as pre-commit passes it from the
    repository root, or as a person types it in a subdirectory) as a repository path.
    Raises `NhiGateError` when it is outside the repository."""
    full = Path(name).resolve() if not Path(name).is_absolute() else Path(name)
    try:
        return full.relative_to(root).as_posix()
    except ValueError as exc:
        raise NhiGateError(f"{name}: not inside the repository {root}") from exc


def read_staged(args: argparse.Namespace, worker: ParseWorker | None) -> StagedRead:
    """Read the staged change (`args.files`, else every staged file) and start its parse.

    The actor is the identity that is committing (GIT_AUTHOR_* env, else git config). Only
    identity lines in the index that differ from HEAD are judged. Policy (config, baseline)
    comes from HEAD; staged edits of policy, gate and agent-steering files are read as
    `check` reads a range's (`commands.gate_files.staged_trust`), for NHI102, when the
    committer is an agent or a bot. The parse of both sides is sent to `worker` (None: parsed
    in-process when `ChangeRead.parsed` is called).
    """
    catalogue = load_catalogue()
    with git.open_repo(Path(".")) as repo:
        root = Path(repo.working_tree_dir or ".").resolve()
        files = [repo_relative(f, root) for f in args.files]
        changeset = git.staged_changeset(repo, files or None)
        # The index and HEAD are asked many questions below: one listing of each serves them.
        git.preload_listing(repo, None)
        if changeset.base:
            git.preload_listing(repo, changeset.base)
        live = [f for f in changeset.files if f.status != "D"]
        base_paths = {f.old_path or f.path: f.path for f in live if f.status != "A"}
        base_paths.update(deleted_terraform(changeset))  # a deleted Deny policy's file
        # One tree lookup at HEAD for the policy files and the staged files' old contents.
        at_base: Mapping[str, bytes | None] = (
            git.read_blobs(repo, changeset.base, [CONFIG_NAME, DEFAULT_BASELINE, *base_paths])
            if changeset.base else {}
        )  # fmt: skip
        # Policy from the last commit, never from what is being staged (DESIGN.md "Approval
        # and trust"): a staged `.nhi-gate.yaml` cannot loosen the check of its own commit.
        config = config_at(repo, changeset.base, args, at_base)
        head_entries = git.read_index_entries(
            repo, [f.path for f in live], max_bytes=config.max_file_bytes
        )
        base_blobs = {new: at_base.get(old) for old, new in base_paths.items()}
        head_sources, unreadable = entry_sources(
            head_entries, None, config, link_reader(repo, None, config.max_file_bytes))
        head_sources += large_text_sources(repo, None, head_entries, unreadable)
        # The other files of each changed Terraform module, staged and at HEAD.
        siblings = module_siblings(repo, None, changeset, config, base=False,
                                   changed_sources=head_sources)
        base_siblings = (
            module_siblings(repo, changeset.base, changeset, config, base=True,
                            changed_sources=sources(base_blobs, changeset.base))
            if changeset.base else []
        )  # fmt: skip
        # The unchanged workflows and local actions a changed one's injection may run through.
        changed = [p for f in changeset.files for p in (f.path, f.old_path) if p]
        ci_head = ci_companions(repo, None, changed, config.max_file_bytes)
        ci_base = (ci_companions(repo, changeset.base, changed, config.max_file_bytes)
                   if changeset.base else [])
        # The unchanged token Secrets and bindings a changed workload's account reads.
        kube = workload_context(repo, None, [*head_sources, *sources(base_blobs,
                                                                       changeset.base)],
                                changed, config.max_file_bytes)
        siblings = [*siblings, *ci_head, *kube]  # their problems are not this change's
        # The worker parses both sides while this process reads the rest.
        parsed = start_parse(
            [head_sources + to_parse(siblings, changeset) + ci_head + kube,
             sources(base_blobs, changeset.base) + to_parse(base_siblings, changeset)
             + ci_base + [SourceFile(s.path, s.raw, changeset.base) for s in kube
                          if changeset.base]],
            catalogue, config, worker,
            contexts=[siblings + chart_files(repo, None, [f.path for f in live])
                      + gitlab_files(repo, None, [f.path for f in live], config.max_file_bytes)
                      + callee_files(repo, None, head_sources, config.max_file_bytes),
                      base_siblings + (chart_files(repo, changeset.base, list(base_paths))
                                       + gitlab_files(repo, changeset.base, list(base_paths),
                                                      config.max_file_bytes)
                                       + callee_files(repo, changeset.base,
                                                      sources(base_blobs, changeset.base),
                                                      config.max_file_bytes)
                                       if changeset.base else [])],
        )
        name, email = git.git_identity(repo)
        baseline = baseline_at(repo, changeset.base, config, at_base)
        rendered = rendered_change(repo, changeset, config, None)  # the index at head
        actor = committer(name, email, changeset, config)
        trust = (staged_trust(repo, changeset, config)
                 if actor.actor_kind in ("agent", "bot") else TrustInputs(None, None, "", {}))
    read = ChangeRead(changeset, config, head_sources, unreadable, siblings, parsed, baseline,
                      rendered)
    return StagedRead(read, actor, trust)
