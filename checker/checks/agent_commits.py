"""NHI103 and NHI104: what every agent commit in the range must carry.

- NHI103: an agent commit that wrote lines of an identity (an identity finding naming it in
  `Finding.commits`) and names no human requester or ticket (`Requested-by:` / `Ticket:`
  trailers, `provenance.trailers.requester_problem`), unless the pull request was opened by a
  human (`ChangeFacts.pr_author_human`). Placed on that identity's first finding.
- NHI104: with `approval.require_signed_agent_commits`, an agent commit that
  `ChangeFacts.signed` (sha -> bool) does not call signed: offline, True only when git verifies
  the commit's SSH signature against the allowed-signers file as committed at the BASE revision
  (`git.signatures.signed_commits`); online, GitHub's `verification.verified` where the caller
  merged it in. A commit `signed` does not name is unsigned: git's own `%G?` on
  `Commit.signature` is never trusted, because it depends on this machine's keyring and git
  config, not on the base revision. Placed on the first line the commit wrote (the first
  changed file otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from checker.change import ChangeSet, Provenance
from checker.checks.api import ChangeFacts, ChangeHit
from checker.checks.policy_files import who
from checker.model import Finding, Location
from checker.policy.config import Config
from checker.provenance.trailers import commit_trailers, requester_problem


def _first_line(changeset: ChangeSet, shas: Iterable[str]) -> Location | None:
    wanted = set(shas)
    for cf in changeset.files:
        lines = sorted(n for n, s in cf.line_commits.items() if s in wanted)
        if lines:
            return Location(cf.path, lines[0], lines[0])
    return None


def _unsigned_why(config: Config) -> str:
    if config.allowed_signers:
        path = config.allowed_signers.removeprefix("./")
        return ("is unsigned, or its signature is verified neither against the "
                f"allowed-signers file at the base revision ({path}) nor by GitHub")
    return ("is unsigned, or signed by a key nothing vouches for: approval.allowed_signers "
            "names no allowed-signers file at the base revision, and GitHub does not verify "
            "the signature")


def check_change(facts: ChangeFacts, findings: Sequence[Finding]) -> Iterator[ChangeHit]:
    """NHI103 and NHI104 for the agent commits of the range (see the module doc)."""
    config, changeset, provenance = facts.config, facts.changeset, facts.provenance
    ticket = config.required_metadata["ticket"].pattern
    signatures = facts.signatures
    first_identity: dict[str, Finding] = {}
    for f in sorted(findings, key=lambda f: (f.location.path, f.location.start_line, f.rule_id)):
        if f.address is None or f.rule_id in ("NHI102", "NHI103", "NHI104"):
            continue
        for sha in f.commits:
            first_identity.setdefault(sha, f)
    for commit in changeset.commits:
        prov = provenance.get(commit.sha)
        if prov is None or prov.actor_kind != "agent":
            continue
        anchor = first_identity.get(commit.sha)
        problem = (
            requester_problem(commit_trailers(commit, keep_case=True), signatures, ticket)
            if anchor is not None and not facts.pr_author_human and signatures is not None
            else None
        )
        if anchor is not None and problem is not None:
            yield _hit(
                "NHI103",
                f"{who(prov, commit.sha)} changed {anchor.address} but names no human who "
                f"asked for it: {problem}",
                anchor.location, commit.sha, prov, anchor.address,
            )
        if not config.require_signed_agent_commits:
            continue
        if facts.signed is not None and facts.signed.get(commit.sha, False):
            continue
        loc = (
            anchor.location if anchor is not None
            else _first_line(changeset, [commit.sha])
            or (Location(changeset.files[0].path, 1, 1) if changeset.files else None)
        )
        if loc is None:
            continue
        yield _hit(
            "NHI104",
            f"{who(prov, commit.sha)} {_unsigned_why(config)}; "
            "approval.require_signed_agent_commits is set",
            loc, commit.sha, prov,
        )


def _hit(rule_id: str, message: str, loc: Location, sha: str, prov: Provenance,
         address: str | None = None) -> ChangeHit:
    return ChangeHit(rule_id, message, loc, f"commit:{sha}", actor=prov, commit=sha,
                     address=address, commits=(sha,))
