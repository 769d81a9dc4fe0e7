"""NHI103 and NHI104: what every agent commit in the range must carry.

- NHI103: an agent commit that created or widened an identity or credential and names no
  human requester or ticket (`Requested-by:` / `Ticket:` trailers,
  `provenance.trailers.requester_problem`), unless the pull request was opened by a human
  (`ChangeFacts.pr_author_human`). What it created or widened is a finding naming the commit
  in `Finding.commits` of a rule in `CREATED_OR_WIDENED`: NHI101 (an identity created or
  changed, not only narrowed), NHI106 (what it grants is unknown), NHI310 (a job's token
  given the unknown repository default, or `write-all`), NHI315 (credentials in a
  `pull_request_target` workflow, or given to a pull request's code) and NHI325 (given to
  whoever writes a value a workflow script expands). A narrowing or
  metadata-only note (a read-only `permissions:` block), secret material with no identity
  (NHI4xx, judged for every author) and the other findings on an identity the commit did not
  create or widen are not. Placed on that identity's first such finding.
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


#: The rules whose findings say that their commits created or widened an identity or
#: credential (see the module doc). Not NHI302: its narrowing and metadata-only notes grant
#: nothing, and its widenings come with NHI101 (a removed `permissions:` block with NHI310).
CREATED_OR_WIDENED = frozenset({"NHI101", "NHI106", "NHI310", "NHI315", "NHI325"})


def check_change(facts: ChangeFacts, findings: Sequence[Finding]) -> Iterator[ChangeHit]:
    """NHI103 and NHI104 for the agent commits of the range (see the module doc)."""
    config, changeset, provenance = facts.config, facts.changeset, facts.provenance
    ticket = config.required_metadata["ticket"].pattern
    signatures = facts.signatures
    first_identity: dict[str, Finding] = {}  # the commit's first identity finding (NHI104)
    first_widening: dict[str, Finding] = {}  # ... that created or widened one (NHI103)
    for f in sorted(findings, key=lambda f: (f.location.path, f.location.start_line, f.rule_id)):
        if f.address is None or f.rule_id in ("NHI102", "NHI103", "NHI104"):
            continue
        for sha in f.commits:
            first_identity.setdefault(sha, f)
            if f.rule_id in CREATED_OR_WIDENED:
                first_widening.setdefault(sha, f)
    for commit in changeset.commits:
        prov = provenance.get(commit.sha)
        if prov is None or prov.actor_kind != "agent":
            continue
        widened = first_widening.get(commit.sha)
        problem = (
            requester_problem(commit_trailers(commit, keep_case=True), signatures, ticket)
            if widened is not None and not facts.pr_author_human and signatures is not None
            else None
        )
        if widened is not None and problem is not None:
            yield _hit(
                "NHI103",
                f"{who(prov, commit.sha)} changed {widened.address} but names no human who "
                f"asked for it: {problem}",
                widened.location, commit.sha, prov, widened.address,
            )
        anchor = first_identity.get(commit.sha)
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
