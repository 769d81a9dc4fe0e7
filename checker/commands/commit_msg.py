"""`nhi-gate commit-msg FILE`: an agent-authored commit must name who asked for it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from checker import git
from checker.commands.base_policy import config_at
from checker.errors import NhiGateError
from checker.provenance.agents import signatures_for
from checker.provenance.classify import classify_actor, message_trailers
from checker.provenance.trailers import requester_problem


def commit_msg(args: argparse.Namespace) -> int:
    """`nhi-gate commit-msg FILE`: an agent-authored commit must name who asked for it.

    Passes for human commits. For agent/bot commits, needs a `Requested-by:` trailer naming a
    human (not an agent or bot address) or a ticket trailer (`Ticket:`, `Refs:`, `Jira:`,
    `Change-Id:`, `Issue:`; matching the config's ticket pattern when one is set)
    (`provenance.trailers.requester_problem`); prints why and exits 1 otherwise.
    """
    path = Path(args.file)
    try:
        message = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise NhiGateError(f"{path}: cannot read commit message: {exc.strerror}") from exc
    with git.open_repo(Path(".")) as repo:
        name, email = git.git_identity(repo)
        branch = git.current_branch(repo)
        head_rev = repo.head.commit.hexsha if repo.head.is_valid() else None
        config = config_at(repo, head_rev, argparse.Namespace(config=None))
    signatures = signatures_for(config)
    actor = classify_actor(name, email, message, signatures, branch)
    if actor.actor_kind not in ("agent", "bot"):
        return 0
    problem = requester_problem(
        message_trailers(message), signatures, config.required_metadata["ticket"].pattern
    )
    if problem is None:
        return 0
    print(f"nhi-gate: NHI103: this commit is by {actor.agent or actor.actor_kind}: {problem}",
          file=sys.stderr)  # fmt: skip
    return 1
