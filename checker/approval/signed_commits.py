"""Offline approval: signed `Approved-by:` commits (DESIGN.md "Approval and trust").

A commit in the range that carries an `Approved-by:` trailer, made by a human, and SSH-signed by
a key of the base revision's allowed-signers file approves the findings of its ancestors in the
range; anything committed after it needs a new approval (`approval.apply.apply_approvals`).
The signatures are checked with the real `git verify-commit` by the commands
(`checker.git.signatures`, against a temporary copy of the base blob, so a key an agent adds
inside the change is never trusted by the change itself); this module decides from those
checks. GPG signatures are refused with a reason: an allowed-signers file lists SSH keys, and a
GPG verdict would depend on this machine's keyring instead of the base revision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from checker.approval.reviews import (
    Approval,
    Decision,
    Rejection,
    ancestors_in_range,
    approved_by_trailer,
    contributor_addresses,
)
from checker.change import ChangeSet, Provenance
from checker.provenance.agents import AgentSignatures
from checker.provenance.classify import address_of


@dataclass(frozen=True)
class SignatureCheck:
    """What git says of one approval commit's signature: `kind` (`ssh`, `gpg` or None when
    unsigned), and for SSH whether `git verify-commit` accepted it against the base
    allowed-signers file, with the signer's `principal` (git's message when not verified)."""

    kind: str | None
    verified: bool
    principal: str


def offline_approvals(
    changeset: ChangeSet,
    provenance: Mapping[str, Provenance],
    signatures: AgentSignatures,
    checks: Mapping[str, SignatureCheck],
    signers_known: bool,
    signers_source: str,
) -> Decision:
    """The valid signed approval commits of the range, and the rejected ones with a reason.

    A candidate is a commit with an `Approved-by:` trailer. It counts when: its author is a
    human (provenance); it is SSH-signed; `git verify-commit` accepts it against the base
    allowed-signers file; the `Approved-by:` address, when it has one, is the signer's
    principal; and the signer is not an author, committer or co-author of an agent or bot
    commit it would approve. It covers its ancestors in the range.
    """
    candidates = [c for c in changeset.commits if approved_by_trailer(c) is not None]
    if not candidates:
        return Decision()
    approvals: list[Approval] = []
    rejections: list[Rejection] = []
    for commit in candidates:
        trailer = approved_by_trailer(commit) or ""
        named = address_of(trailer)
        who = f"commit {commit.sha[:12]} (Approved-by: {named or trailer})"

        def reject(reason: str, who: str = who) -> None:
            rejections.append(Rejection(who, "signed-commit", reason))

        prov = provenance.get(commit.sha)
        if prov is None or prov.actor_kind != "human":
            kind = prov.actor_kind if prov else "unknown"
            reject(f"the approval commit is by an {kind}, not a human")
            continue
        if not signers_known:
            reject(f"no allowed-signers file to verify against ({signers_source})")
            continue
        check = checks.get(commit.sha) or SignatureCheck(None, False, "")
        sig = check.kind
        if sig is None:
            reject("the approval commit is not signed")
            continue
        if sig != "ssh":
            reject("GPG-signed: only SSH signatures can be checked against the "
                   "allowed-signers file")
            continue
        ok, principal = check.verified, check.principal
        if not ok:
            reject(f"signature does not verify against {signers_source}: {principal}")
            continue
        if named is not None and named != principal.lower():
            reject(f"Approved-by names {named} but the commit is signed by {principal}")
            continue
        covers = ancestors_in_range(commit.sha, changeset.commits)
        driven = [
            c for c in changeset.commits
            if c.sha in covers
            and (p := provenance.get(c.sha)) is not None
            and p.actor_kind in ("agent", "bot")
        ]
        if principal.lower() in contributor_addresses(driven, signatures):
            reject(f"{principal} authored, committed or co-authored an agent commit it "
                   "would approve")
            continue
        approvals.append(Approval(principal, "signed-commit", commit.sha, covers))
    return Decision(tuple(approvals), tuple(rejections))
