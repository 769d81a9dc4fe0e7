"""The policy a change is judged by, read from git at the base revision, and the signatures of
its commits (DESIGN.md "Approval and trust"): CODEOWNERS and the allowed-signers file as
committed at base, the policy files and which in-range commits changed them, which commits
are signed (for `approval.require_signed_agent_commits`, NHI104), and the signature checks of
the `Approved-by:` commits that `approval.signed_commits` judges.
"""

from __future__ import annotations

from checker import git as cg
from checker.approval.reviews import approved_by_trailer, trust_files
from checker.approval.signed_commits import SignatureCheck
from checker.change import ChangeSet
from checker.commands.gate_files import (
    TrustInputs,
    changed_paths,
    gate_files,
    replaced_in_range,
    steering_sides,
)
from checker.commands.gate_job import gate_job_files
from checker.commands.protection_files import protection_sides
from checker.git.repo import Repo
from checker.git.signatures import signature_kind, signed_commits, touching_commits, verify_commits
from checker.parsers.status_checks import status_check_facts
from checker.policy.codeowners import SEARCH_ORDER, parse
from checker.policy.config import Config

__all__ = ["TrustInputs", "approval_signatures", "read_trust"]


def read_trust(repo: Repo, changeset: ChangeSet, config: Config) -> TrustInputs:
    """CODEOWNERS and allowed signers at the change's base, the commits that changed policy
    files (gate, steering and merge-protection files among them, with their facts at base and
    head), and (with `approval.require_signed_agent_commits`) which commits are signed."""
    assert changeset.base is not None and changeset.head is not None
    base, head = changeset.base, changeset.head
    kinds = trust_files(config)
    kinds.update(gate_files(repo, changeset, kinds))
    wanted = [*SEARCH_ORDER]
    if config.allowed_signers:
        wanted.append(config.allowed_signers.removeprefix("./"))
    blobs = cg.read_blobs(repo, base, wanted)
    codeowners = None
    for path in SEARCH_ORDER:
        raw = blobs.get(path)
        if raw is not None:
            codeowners = parse(raw.decode("utf-8", "replace"), f"{base[:12]}:{path}")
            break
    signers = None
    source = "approval.allowed_signers is not set in the base config"
    if config.allowed_signers:
        path = config.allowed_signers.removeprefix("./")
        signers = blobs.get(path)
        source = f"{base[:12]}:{path}" + (" (absent at base)" if signers is None else "")
    runs, by_action = gate_job_files(repo, base, head, changed_paths(changeset))
    kinds.update({p: "gate-workflow" for p in by_action
                  if kinds.get(p) in (None, "status-check")})
    kinds.update({p: "gate-job" for p in runs if p not in kinds})
    protection = protection_sides(repo, base, head, changed_paths(changeset), kinds)
    kinds.update({p: "merge-protection" for p in protection})
    touches = touching_commits(repo, base, head, sorted(kinds))
    signed = (
        signed_commits(repo, [c.sha for c in changeset.commits], signers)
        if config.require_signed_agent_commits else {}
    )
    sides = steering_sides(repo, base, head, [p for p, k in kinds.items() if k == "steering"])
    sides.update(steering_sides(repo, base, head,
                                [p for p, k in kinds.items() if k == "status-check"],
                                status_check_facts))
    sides.update(protection)
    return TrustInputs(codeowners, signers, source, kinds, touches, signed, sides, runs,
                       replaced_in_range(repo, changeset))


def approval_signatures(repo: Repo, changeset: ChangeSet, signers: bytes | None
                        ) -> dict[str, SignatureCheck]:  # fmt: skip
    """sha -> `SignatureCheck` for each commit of the range with an `Approved-by:` trailer:
    its signature kind and, for an SSH signature when `signers` is known, what
    `git verify-commit` says against them."""
    candidates = [c.sha for c in changeset.commits if approved_by_trailer(c) is not None]
    kinds = {sha: signature_kind(repo, sha) for sha in candidates}
    ssh = [sha for sha, kind in kinds.items() if kind == "ssh"]
    verdicts = verify_commits(repo, ssh, signers) if signers is not None and ssh else {}
    return {sha: SignatureCheck(kinds[sha], *verdicts.get(sha, (False, ""))) for sha in candidates}
