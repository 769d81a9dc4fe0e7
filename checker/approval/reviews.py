"""Approval policy: which pull-request reviews count, and what each may approve
(DESIGN.md "Approval and trust"); `checker.approval.apply` applies them to findings.

Pure: takes data (a `ChangeSet`, provenance, reviews read by `checker.approval.github_api`,
CODEOWNERS parsed by `policy.codeowners`) and returns data. The only outside calls go through
the `Directory` protocol (collaborator permission, team membership, public email), which
`github_api.GitHubClient` satisfies.

A GitHub review approves when (anchors.md §4c, mirroring GitHub's own rule for Copilot PRs
https://docs.github.com/copilot/how-tos/use-copilot-agents/coding-agent/review-copilot-prs and
branch protection's `require_last_push_approval`):
- its reviewer's latest decisive review (`APPROVED`, `CHANGES_REQUESTED`, `DISMISSED`; reviews
  are listed in chronological order) is `APPROVED`, on the PR's current head sha;
- the reviewer's type is `User` (not `Bot`/`Organization`) and the login matches no agent or bot
  signature;
- the reviewer is not the PR author, and not an author, committer or co-author of any commit in
  the range (GitHub logins of PR commits, `<id>+<login>@users.noreply.github.com` addresses, and
  the reviewer's public email compared with every author/committer/co-author address);
- the reviewer is an allowed approver: a configured login or a member of a configured
  `org/team` (`approval.approvers`); else, where the base revision has CODEOWNERS, an owner of
  the finding's path (paths no rule owns fall back to write access); else a collaborator with
  `write`, `maintain` or `admin` permission.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from checker.change import ChangeSet, Commit
from checker.lazy_patterns import lazy_compile
from checker.policy.codeowners import SEARCH_ORDER, CodeOwners
from checker.policy.config import CONFIG_NAME, Config
from checker.provenance.agents import AgentSignatures
from checker.provenance.classify import address_of, classify_login
from checker.provenance.trailers import REQUESTER_TRAILER, commit_trailers

#: Rule families an approval may approve.
APPROVABLE_PREFIXES = ("NHI1", "NHI2", "NHI3")
#: Trailer of an offline approval commit (lower-cased).
APPROVED_BY_TRAILER = "approved-by"
#: Collaborator permissions that may approve when no approvers and no CODEOWNERS apply.
WRITE_PERMISSIONS = frozenset({"write", "maintain", "admin"})
_DECISIVE = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})
_NOREPLY_RE = lazy_compile(r"^(?:\d+\+)?([A-Za-z0-9-]+(?:\[bot\])?)@users\.noreply\.github\.com$")

ApprovalSource = Literal["review", "signed-commit"]


@dataclass(frozen=True)
class Review:
    """One PR review as listed by the API (chronological order): reviewer `login` and account
    `user_type` (`User`, `Bot`, `Organization`), `state`, and the head sha it reviewed."""

    login: str
    user_type: str
    state: str
    commit_id: str


@dataclass(frozen=True)
class PullRequest:
    """What approval needs from a pull request.

    `commit_logins` are the GitHub logins of the authors and committers of the PR's commits
    (lower-cased; GitHub's web-flow committer excluded); `verified` maps commit sha -> GitHub's
    signature verdict (`commit.verification.verified`).
    """

    number: int
    author_login: str
    author_type: str
    head_sha: str
    base_sha: str
    reviews: tuple[Review, ...] = ()
    commit_logins: frozenset[str] = frozenset()
    verified: Mapping[str, bool] | None = None


class Directory(Protocol):
    """Account lookups an approval decision may need (answered by the GitHub API)."""

    def permission(self, login: str) -> str:
        """Collaborator permission: `admin`, `maintain`, `write`, `triage`, `read` or `none`."""
        ...

    def in_team(self, org: str, slug: str, login: str) -> bool:
        """True when `login` is an active member of team `org/slug`."""
        ...

    def public_email(self, login: str) -> str | None:
        """The account's public email address (lower-cased), or None."""
        ...


@dataclass(frozen=True)
class Approval:
    """A valid approval: who (`approver`), how (`source`, at `commit`), the commits it covers,
    and the paths it may approve (None: any path)."""

    approver: str
    source: ApprovalSource
    commit: str
    covers: frozenset[str]
    paths: frozenset[str] | None = None

    @property
    def label(self) -> str:
        """`@bob (PR review on 1a2b3c4d5e6f)` / `bob@example.com (signed commit 1a2b3c4d5e6f)`."""
        how = "PR review on" if self.source == "review" else "signed commit"
        return f"{self.approver} ({how} {self.commit[:12]})"


@dataclass(frozen=True)
class Rejection:
    """An approval that does not count, and why (shown to the user on stderr)."""

    who: str
    source: ApprovalSource
    reason: str


@dataclass(frozen=True)
class Decision:
    """Approvals that count and the ones that do not."""

    approvals: tuple[Approval, ...] = ()
    rejections: tuple[Rejection, ...] = ()


# --------------------------------------------------------------------------------------------
# Helpers


def noreply_login(email: str) -> str | None:
    """The login inside a GitHub noreply address (`123+bob@users.noreply.github.com` -> `bob`,
    lower-cased), or None."""
    match = _NOREPLY_RE.match(email.strip().lower())
    return match.group(1) if match else None


def contributor_addresses(
    commits: Iterable[Commit], signatures: AgentSignatures
) -> frozenset[str]:
    """Every author, committer, co-author and requester (`Requested-by:`) address of
    `commits`, lower-cased. The human who tasked an agent is part of the change and cannot be
    its approver, as GitHub rules for Copilot pull requests
    (https://docs.github.com/copilot/how-tos/use-copilot-agents/coding-agent/review-copilot-prs)."""
    out: set[str] = set()
    for c in commits:
        out.update(e.strip().lower() for e in (c.author_email, c.committer_email) if e.strip())
        for key, value in commit_trailers(c):
            if key in signatures.coauthor_keys or key == REQUESTER_TRAILER:
                address = address_of(value)
                if address:
                    out.add(address)
    return frozenset(out)


def approved_by_trailer(commit: Commit) -> str | None:
    """The value of the commit's `Approved-by:` trailer, or None."""
    return next((v for k, v in commit_trailers(commit) if k == APPROVED_BY_TRAILER), None)


def ancestors_in_range(sha: str, commits: Sequence[Commit]) -> frozenset[str]:
    """The commits of `commits` that are proper ancestors of `sha` (parents, transitively)."""
    parents = {c.sha: c.parents for c in commits}
    seen: set[str] = set()
    stack = list(parents.get(sha, ()))
    while stack:
        current = stack.pop()
        if current in seen or current not in parents:
            continue
        seen.add(current)
        stack.extend(parents[current])
    return frozenset(seen)


# --------------------------------------------------------------------------------------------
# GitHub reviews


def effective_reviews(reviews: Sequence[Review]) -> list[Review]:
    """Each reviewer's latest decisive review (APPROVED, CHANGES_REQUESTED, DISMISSED), in the
    order reviewers first appear. COMMENTED and PENDING reviews change nothing."""
    latest: dict[str, Review] = {}
    for review in reviews:
        if review.state.upper() in _DECISIVE and review.login:
            latest[review.login.lower()] = review
    return list(latest.values())


def _owner_match(owner: str, login: str, directory: Directory) -> bool:
    if owner.startswith("@"):
        name = owner[1:]
        if "/" in name:
            org, slug = name.split("/", 1)
            return directory.in_team(org, slug, login)
        return name.lower() == login.lower()
    email = directory.public_email(login)
    return email is not None and email == owner.lower()


def _configured(approvers: Sequence[str], login: str, directory: Directory) -> bool:
    for entry in approvers:
        name = entry.strip().lstrip("@")
        if "/" in name:
            org, slug = name.split("/", 1)
            if directory.in_team(org, slug, login):
                return True
        elif name.lower() == login.lower():
            return True
    return False


def _allowed_paths(
    login: str,
    paths: Sequence[str],
    config: Config,
    codeowners: CodeOwners | None,
    directory: Directory,
) -> tuple[frozenset[str] | None, str]:
    """(paths the reviewer may approve, None for all; why not, when the set is empty)."""
    if config.approvers:
        if _configured(config.approvers, login, directory):
            return None, ""
        return frozenset(), "is not listed in approval.approvers (logins or org/team)"
    if codeowners is None:
        if directory.permission(login) in WRITE_PERMISSIONS:
            return None, ""
        return frozenset(), "has no write access to the repository"
    # GitHub counts a code owner's review only with write access, and so do we.
    write = directory.permission(login) in WRITE_PERMISSIONS
    if not write:
        return frozenset(), "has no write access to the repository"
    allowed: set[str] = set()
    for path in paths:
        owners = codeowners.owners(path)
        if owners is None or any(_owner_match(o, login, directory) for o in owners):
            allowed.add(path)
    why = f"is not a code owner ({codeowners.source}) of the changed files"
    return frozenset(allowed), why if not allowed else ""


def review_approvals(
    pr: PullRequest,
    changeset: ChangeSet,
    signatures: AgentSignatures,
    config: Config,
    codeowners: CodeOwners | None,
    directory: Directory,
) -> Decision:
    """The reviews of `pr` that approve the range `changeset` (rules in the module docstring).

    An approval covers every commit of the range, and only when the range's head is the PR's
    head (a review of other content approves nothing here).
    """
    approvals: list[Approval] = []
    rejections: list[Rejection] = []
    paths = [f.path for f in changeset.files]
    addresses = contributor_addresses(changeset.commits, signatures)
    noreply = {login for a in addresses if (login := noreply_login(a))}
    covers = frozenset(c.sha for c in changeset.commits)
    for review in effective_reviews(pr.reviews):
        login = review.login
        who = f"@{login}"

        def reject(reason: str, who: str = who) -> None:
            rejections.append(Rejection(who, "review", reason))

        if review.state.upper() != "APPROVED":
            if review.state.upper() == "DISMISSED":
                reject("the approval was dismissed")
            else:
                reject("requested changes after approving" if any(
                    r.login.lower() == login.lower() and r.state.upper() == "APPROVED"
                    for r in pr.reviews
                ) else "requested changes")
            continue
        if review.commit_id != pr.head_sha:
            reject(f"approved {review.commit_id[:12]}, not the PR head {pr.head_sha[:12]}")
            continue
        if changeset.head != pr.head_sha:
            reject(f"the PR head {pr.head_sha[:12]} is not the checked head "
                   f"{(changeset.head or '')[:12]}")
            continue
        if review.user_type != "User":
            reject(f"the reviewer is a {review.user_type} account, not a User")
            continue
        prov = classify_login(login, signatures)
        if prov.actor_kind in ("agent", "bot"):
            reject(f"the reviewer matches the {prov.agent or prov.actor_kind} fingerprint")
            continue
        low = login.lower()
        if low == pr.author_login.lower():
            reject("the reviewer opened the pull request")
            continue
        if low in pr.commit_logins or low in noreply:
            reject("the reviewer authored, committed or co-authored a commit in the range")
            continue
        email = directory.public_email(login)
        if email is not None and email in addresses:
            reject("the reviewer authored, committed or co-authored a commit in the range")
            continue
        allowed, why = _allowed_paths(login, paths, config, codeowners, directory)
        if allowed is not None and not allowed:
            reject(why)
            continue
        approvals.append(Approval(who, "review", review.commit_id, covers, allowed))
    return Decision(tuple(approvals), tuple(rejections))


# --------------------------------------------------------------------------------------------
# Policy files


def trust_files(config: Config, extra: Iterable[str] = ()) -> dict[str, str]:
    """Policy files read from base, path -> what it is (`config`, `codeowners`, `signers`,
    `baseline`): `.nhi-gate.yaml`, the three CODEOWNERS locations, the configured allowed-signers
    file and baseline."""
    out = {CONFIG_NAME: "config", **{p: "codeowners" for p in SEARCH_ORDER}}
    if config.allowed_signers:
        out[config.allowed_signers.removeprefix("./")] = "signers"
    if config.baseline:
        out[config.baseline.removeprefix("./")] = "baseline"
    out.update({p: "config" for p in extra})
    return out
