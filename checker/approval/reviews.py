"""Approval policy: which findings a PR review or a signed approval commit approves, and the
commit-level rules NHI102-NHI104 (DESIGN.md "Approval and trust").

Pure: takes data (a `ChangeSet`, provenance, reviews read by `checker.approval.github_api`, signed
commits verified by `checker.approval.signed_commits`, CODEOWNERS parsed by `policy.codeowners`) and
returns data. The only outside calls go through the `Directory` protocol (collaborator
permission, team membership, public email), which `github_api.GitHubClient` satisfies.

A GitHub review approves when (anchors.md §4c, mirroring GitHub's own rule for Copilot PRs
https://docs.github.com/copilot/how-tos/use-copilot-agents/coding-agent/review-copilot-prs and
branch protection's `require_last_push_approval`):
- its reviewer's latest decisive review (`APPROVED`, `CHANGES_REQUESTED`, `DISMISSED`; reviews
  are listed in chronological order) is `APPROVED`, on the PR's current head sha;
- the reviewer's type is `User` (not `Bot`/`Organization`) and the login matches no agent or bot
  fingerprint;
- the reviewer is not the PR author, and not an author, committer or co-author of any commit in
  the range (GitHub logins of PR commits, `<id>+<login>@users.noreply.github.com` addresses, and
  the reviewer's public email compared with every author/committer/co-author address);
- the reviewer is an allowed approver: a configured login or a member of a configured
  `org/team` (`approval.approvers`); else, where the base revision has CODEOWNERS, an owner of
  the finding's path (paths no rule owns fall back to write access); else a collaborator with
  `write`, `maintain` or `admin` permission.

What an approval approves (`apply_approvals`): findings of the rules gated by authorship
(`NHI1xx`-`NHI3xx`) on lines an agent or bot wrote, when every commit that wrote the finding's
lines is covered (a review covers the whole range; a signed commit covers its ancestors) and
the approver may approve the finding's path. Secret material (`NHI4xx`) and files that could
not be analysed (`NHI9xx`) are never approved: they block whoever wrote them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from checker.change import ChangeSet, Commit, Provenance
from checker.fingerprint import fingerprint
from checker.model import Finding, Level, Location
from checker.policy.codeowners import CodeOwners
from checker.policy.config import CONFIG_NAME, Config
from checker.provenance.classify import (
    Fingerprints,
    address_of,
    classify_actor,
    classify_login,
    message_trailers,
)

#: Rule families an approval may approve.
APPROVABLE_PREFIXES = ("NHI1", "NHI2", "NHI3")
#: Trailer naming the human who asked an agent for the change (lower-cased).
REQUESTER_TRAILER = "requested-by"
#: Trailers carrying a ticket reference (lower-cased).
TICKET_TRAILERS = frozenset({"ticket", "refs", "jira", "change-id", "issue"})
#: Trailer of an offline approval commit (lower-cased).
APPROVED_BY_TRAILER = "approved-by"
#: Collaborator permissions that may approve when no approvers and no CODEOWNERS apply.
WRITE_PERMISSIONS = frozenset({"write", "maintain", "admin"})
_DECISIVE = frozenset({"APPROVED", "CHANGES_REQUESTED", "DISMISSED"})
#: A ticket reference when no ticket pattern is configured (see `ticket_problem`).
_TICKET_REFERENCE = re.compile(
    r"""(?x)
    [A-Z][A-Z0-9_]+-[1-9][0-9]*                    # Jira issue key: OPS-12, DATA_ENG-7
    | \#[1-9][0-9]*                                 # #123
    | [A-Za-z0-9][\w.-]*(?:/[\w.-]+)+\#[1-9][0-9]*   # org/repo#123, group/sub/project#123
    | https?://[^\s/?\#@]+\.[^\s/?\#@]+[/?\#]\S+      # a link with a host and a path
    """
)
_GERRIT_CHANGE_ID = re.compile(r"I[0-9a-f]{40}")
_ITEM_SPLIT = re.compile(r"[\s,;]+")
#: Values that stand in for a ticket (lower-cased), besides punctuation and zeros.
_PLACEHOLDERS = frozenset({
    "none", "n/a", "na", "n.a.", "nil", "null", "no", "nope", "tbd", "tba", "tbc", "todo",
    "unknown", "pending", "wip", "x", "xx", "xxx", "no ticket", "no-ticket", "noticket",
    "not applicable", "not-applicable", "ticket", "issue", "jira", "placeholder", "dummy",
})
_NOREPLY_RE = re.compile(r"^(?:\d+\+)?([A-Za-z0-9-]+(?:\[bot\])?)@users\.noreply\.github\.com$")

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


def _is_placeholder(value: str) -> bool:
    low = value.strip().lower()
    return low in _PLACEHOLDERS or not low.strip("-_.?!*#/0 \t")


def _commit_trailers(commit: Commit, *, keep_case: bool = False) -> list[tuple[str, str]]:
    """The commit's trailers, `(key, value)` without repeats; keys lower-cased unless
    `keep_case` (for messages that quote the trailer)."""
    out: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for key, value in (*commit.trailers, *message_trailers(commit.message)):
        item = (key.lower(), value.strip())
        if item not in seen:
            seen.add(item)
            out.append((key if keep_case else item[0], item[1]))
    return out


def contributor_addresses(commits: Iterable[Commit], fps: Fingerprints) -> frozenset[str]:
    """Every author, committer, co-author and requester (`Requested-by:`) address of
    `commits`, lower-cased. The human who tasked an agent is part of the change and cannot be
    its approver, as GitHub rules for Copilot pull requests
    (https://docs.github.com/copilot/how-tos/use-copilot-agents/coding-agent/review-copilot-prs)."""
    out: set[str] = set()
    for c in commits:
        out.update(e.strip().lower() for e in (c.author_email, c.committer_email) if e.strip())
        for key, value in _commit_trailers(c):
            if key in fps.coauthor_keys or key == REQUESTER_TRAILER:
                address = address_of(value)
                if address:
                    out.add(address)
    return frozenset(out)


def approved_by_trailer(commit: Commit) -> str | None:
    """The value of the commit's `Approved-by:` trailer, or None."""
    return next((v for k, v in _commit_trailers(commit) if k == APPROVED_BY_TRAILER), None)


def ticket_problem(key: str, value: str, ticket: re.Pattern[str] | None) -> str | None:
    """Why the ticket trailer `key: value` names no ticket, or None when it does.

    With a configured pattern (`required_metadata.ticket.pattern`) the value must match it
    (`search`), and nothing else is asked. Without one, the value's first item (split on
    whitespace, `,` and `;`) must look like a ticket reference: a Jira issue key (`OPS-12`:
    an upper-case project key of letters, digits and `_` starting with a letter, a hyphen,
    the issue number; https://confluence.atlassian.com/adminjiraserver/changing-the-project-key-format-938847081.html),
    `#123`,
    `org/repo#123` (GitHub and GitLab issue references,
    https://docs.github.com/en/get-started/writing-on-github/working-with-advanced-formatting/autolinked-references-and-urls),
    an `http(s)://host/path` link, or, for `Change-Id:` only, a Gerrit Change-Id (`I` and 40
    hex digits, https://gerrit-review.googlesource.com/Documentation/user-changeid.html).
    Placeholders (`none`, `N/A`, `-`, `TBD`, `0`, ...) are refused by name.
    """
    text = value.strip()
    if not text:
        return f"`{key}:` is empty"
    if ticket is not None:
        if ticket.search(text):
            return None
        return f"`{key}: {text}` does not match the configured ticket pattern `{ticket.pattern}`"
    first = _ITEM_SPLIT.split(text, maxsplit=1)[0]
    if key.lower() == "change-id" and _GERRIT_CHANGE_ID.fullmatch(first):
        return None
    if _TICKET_REFERENCE.fullmatch(first):
        return None
    what = (
        "is a placeholder, not a ticket reference"
        if _is_placeholder(text)
        else "is not a ticket reference"
    )
    change_id = " or a Gerrit Change-Id (I + 40 hex digits)" if key.lower() == "change-id" else ""
    return (f"`{key}: {text}` {what}: give an issue key such as OPS-142, #123, org/repo#123, "
            f"a link to the ticket{change_id}")


def requester_problem(
    trailers: Sequence[tuple[str, str]], fps: Fingerprints, ticket: re.Pattern[str] | None
) -> str | None:
    """None when the trailers name a human requester (`Requested-by:` whose address, or
    login, is not an agent or bot, and not a placeholder such as `none`) or a ticket
    (`Ticket:`, `Refs:`, `Jira:`, `Change-Id:`, `Issue:` whose value passes
    `ticket_problem`); else why not, for the user: each
    requester or ticket trailer that does not count and the reason, `; `-separated, or a hint
    naming the trailers to add when there is none."""
    problems: list[str] = []
    for key, value in trailers:
        low = key.lower()
        if low == REQUESTER_TRAILER:
            text = value.strip()
            address = address_of(text)
            if address is None and _is_placeholder(text.lstrip("@")):
                problems.append(f"`{key}: {text}` is a placeholder, not a person")
                continue
            name = text.split("<", 1)[0].strip()
            prov = (
                classify_actor(name, address, "", fps)
                if address
                else classify_login(text, fps)
            )
            if prov.actor_kind == "human":
                return None
            if prov.actor_kind == "unknown":
                problems.append(f"`{key}:` names nobody")
            else:
                what = f"{'an' if prov.actor_kind == 'agent' else 'a'} {prov.actor_kind}"
                problems.append(f"`{key}: {text}` names {what} ({prov.agent}), not a human")
        elif low in TICKET_TRAILERS:
            problem = ticket_problem(key, value, ticket)
            if problem is None:
                return None
            problems.append(problem)
    if not problems:
        return "add a `Requested-by: Name <email>` or `Ticket: ABC-123` trailer"
    return "; ".join(problems)


def requester_ok(
    trailers: Sequence[tuple[str, str]], fps: Fingerprints, ticket: re.Pattern[str] | None
) -> bool:
    """True when `requester_problem` finds nothing wrong: the trailers name a human requester
    or a ticket reference (matching `ticket` when the config sets a pattern; a placeholder
    such as `Ticket: none` is never a ticket)."""
    return requester_problem(trailers, fps, ticket) is None


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
    fps: Fingerprints,
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
    addresses = contributor_addresses(changeset.commits, fps)
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
        prov = classify_login(login, fps)
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
# Applying approvals


def approvable(finding: Finding) -> bool:
    """True for findings an approval may approve (see the module docstring)."""
    return finding.rule_id.startswith(APPROVABLE_PREFIXES) and finding.actor_kind in (
        "agent",
        "bot",
    )


def apply_approvals(findings: Sequence[Finding], approvals: Sequence[Approval]) -> list[Finding]:
    """Mark findings `approved` (with `approved_by`) when an approval covers every commit that
    wrote them and may approve their path. Keeps every finding, in order."""
    out: list[Finding] = []
    for finding in findings:
        shas = set(finding.commits or ((finding.commit,) if finding.commit else ()))
        if finding.approved or not shas or not approvable(finding):
            out.append(finding)
            continue
        for approval in approvals:
            if shas <= approval.covers and (
                approval.paths is None or finding.location.path in approval.paths
            ):
                finding = replace(finding, approved=True, approved_by=approval.label)
                break
        out.append(finding)
    return out


def approval_hook(approvals: Sequence[Approval]) -> Callable[[list[Finding]], list[Finding]]:
    """An `pipeline.run_rules(approvals=...)` hook applying `approvals`."""
    frozen = tuple(approvals)
    return lambda findings: apply_approvals(findings, frozen)


# --------------------------------------------------------------------------------------------
# Commit-level rules


_TRUST_WHAT = {
    "config": "the nhi-gate configuration",
    "codeowners": "CODEOWNERS",
    "signers": "the allowed-signers file for offline approvals",
    "baseline": "the nhi-gate baseline",
    "attributes": "git attributes, which change how git shows the diff",
    "gate-workflow": "a workflow that runs nhi-gate",
}


def trust_files(config: Config, extra: Iterable[str] = ()) -> dict[str, str]:
    """Policy files read from base, path -> what it is (`config`, `codeowners`, `signers`,
    `baseline`): `.nhi-gate.yaml`, the three CODEOWNERS locations, the configured allowed-signers
    file and baseline."""
    from checker.policy.codeowners import SEARCH_ORDER

    out = {CONFIG_NAME: "config", **{p: "codeowners" for p in SEARCH_ORDER}}
    if config.allowed_signers:
        out[config.allowed_signers.removeprefix("./")] = "signers"
    if config.baseline:
        out[config.baseline.removeprefix("./")] = "baseline"
    out.update({p: "config" for p in extra})
    return out


@dataclass(frozen=True)
class _RuleCtx:
    config: Config
    changeset: ChangeSet
    provenance: Mapping[str, Provenance]


def _finding(
    ctx: _RuleCtx, rule_id: str, default: Level, message: str, loc: Location, sha: str,
    attribute: str, address: str | None = None,
) -> Finding | None:
    level = ctx.config.rule_levels.get(rule_id, default)
    if level == "off":
        return None
    prov = ctx.provenance.get(sha)
    return Finding(
        rule_id=rule_id,
        level=level,  # type: ignore[arg-type]
        message=message,
        location=loc,
        address=address,
        attribute=attribute,
        actor_kind=prov.actor_kind if prov else "unknown",
        commit=sha,
        agent=prov.agent if prov else None,
        fingerprint=fingerprint(rule_id, loc.path, address, attribute),
        commits=(sha,),
    )


def _first_line(changeset: ChangeSet, shas: Iterable[str]) -> Location | None:
    wanted = set(shas)
    for cf in changeset.files:
        lines = sorted(n for n, s in cf.line_commits.items() if s in wanted)
        if lines:
            return Location(cf.path, lines[0], lines[0])
    return None


def _who(prov: Provenance | None, sha: str) -> str:
    kind = prov.actor_kind if prov else "unknown"
    product = f" ({prov.agent})" if prov and prov.agent else ""
    return f"{kind}{product} in commit {sha[:12]}"


def trust_findings(
    config: Config,
    changeset: ChangeSet,
    provenance: Mapping[str, Provenance],
    touches: Mapping[str, Sequence[str]],
    kinds: Mapping[str, str],
) -> list[Finding]:
    """NHI102: a policy file (`kinds`: path -> kind, see `trust_files`) changed by an agent or
    bot commit. `touches` maps each such path to the in-range commits that changed it (deletions
    included). One finding per path, on the first line an agent wrote (line 1 otherwise)."""
    ctx = _RuleCtx(config, changeset, provenance)
    files = {cf.path: cf for cf in changeset.files}
    out: list[Finding] = []
    for path in sorted(touches):
        shas = [
            s for s in touches[path]
            if (p := provenance.get(s)) is not None and p.actor_kind in ("agent", "bot")
        ]
        if not shas:
            continue
        agents = [s for s in shas if provenance[s].actor_kind == "agent"]
        sha = (agents or shas)[0]
        cf = files.get(path)
        lines = sorted(n for n, s in (cf.line_commits.items() if cf else ()) if s in shas)
        line = lines[0] if lines else 1
        what = _TRUST_WHAT.get(kinds.get(path, "config"), "a policy file")
        finding = _finding(
            ctx, "NHI102", "error",
            f"{path} ({what}) was changed by {_who(provenance.get(sha), sha)}; policy is read "
            "from the base revision, so the change only takes effect once a human approves it",
            Location(path, line, line), sha, f"trust:{path}",
        )
        if finding is not None:
            out.append(replace(finding, commits=tuple(shas)))
    return out


def _unsigned_why(config: Config) -> str:
    if config.allowed_signers:
        path = config.allowed_signers.removeprefix("./")
        return ("is unsigned, or its signature is verified neither against the "
                f"allowed-signers file at the base revision ({path}) nor by GitHub")
    return ("is unsigned, or signed by a key nothing vouches for: approval.allowed_signers "
            "names no allowed-signers file at the base revision, and GitHub does not verify "
            "the signature")


def commit_findings(
    findings: Sequence[Finding],
    config: Config,
    changeset: ChangeSet,
    provenance: Mapping[str, Provenance],
    fps: Fingerprints,
    *,
    pr_author_human: bool = False,
    signed: Mapping[str, bool] | None = None,
) -> list[Finding]:
    """NHI103 and NHI104 for the agent commits of the range.

    - NHI103: an agent commit that wrote lines of an identity (any finding with an `address`
      naming it in `commits`) and names no human requester or ticket (`requester_ok`), unless
      the PR author is a human (`pr_author_human`). Placed on that identity's finding.
    - NHI104: with `approval.require_signed_agent_commits`, an agent commit that `signed`
      (sha -> bool) does not call signed: offline, True only when git verifies the commit's
      SSH signature against the allowed-signers file as committed at the BASE revision
      (`offline_approval.signed_commits`); online, GitHub's `verification.verified` where the
      caller merged it in. A commit `signed` does not name is unsigned: git's own `%G?` on
      `Commit.signature` is never trusted, because it depends on this machine's keyring and
      git config, not on the base revision. Placed on the first line the commit wrote (the
      first changed file otherwise).
    """
    ctx = _RuleCtx(config, changeset, provenance)
    ticket = config.required_metadata["ticket"].pattern
    first_identity: dict[str, Finding] = {}
    for f in sorted(findings, key=lambda f: (f.location.path, f.location.start_line, f.rule_id)):
        if f.address is None or f.rule_id in ("NHI102", "NHI103", "NHI104"):
            continue
        for sha in f.commits:
            first_identity.setdefault(sha, f)
    out: list[Finding] = []
    for commit in changeset.commits:
        prov = provenance.get(commit.sha)
        if prov is None or prov.actor_kind != "agent":
            continue
        anchor = first_identity.get(commit.sha)
        problem = (
            requester_problem(_commit_trailers(commit, keep_case=True), fps, ticket)
            if anchor is not None and not pr_author_human
            else None
        )
        if anchor is not None and problem is not None:
            missing = _finding(
                ctx, "NHI103", "warning",
                f"{_who(prov, commit.sha)} changed {anchor.address} but names no human who "
                f"asked for it: {problem}",
                anchor.location, commit.sha, f"commit:{commit.sha}", anchor.address,
            )
            if missing is not None:
                out.append(missing)
        if not config.require_signed_agent_commits:
            continue
        if signed is not None and signed.get(commit.sha, False):
            continue
        loc = (
            anchor.location if anchor is not None
            else _first_line(changeset, [commit.sha])
            or (Location(changeset.files[0].path, 1, 1) if changeset.files else None)
        )
        if loc is None:
            continue
        unsigned = _finding(
            ctx, "NHI104", "error",
            f"{_who(prov, commit.sha)} {_unsigned_why(config)}; "
            "approval.require_signed_agent_commits is set",
            loc, commit.sha, f"commit:{commit.sha}",
        )
        if unsigned is not None:
            out.append(unsigned)
    return out


def findings_hook(
    extra: Sequence[Finding],
    config: Config,
    changeset: ChangeSet,
    provenance: Mapping[str, Provenance],
    fps: Fingerprints,
    *,
    pr_author_human: bool = False,
    signed: Mapping[str, bool] | None = None,
) -> Callable[[list[Finding]], list[Finding]]:
    """An `pipeline.run_rules(approvals=...)` hook run first: it keeps every finding and adds
    `extra` (NHI102 from `trust_findings`) and the NHI103/NHI104 findings of `commit_findings`
    (which need the identity findings to know which commits touched identities)."""

    def hook(findings: list[Finding]) -> list[Finding]:
        added = commit_findings(
            findings, config, changeset, provenance, fps,
            pr_author_human=pr_author_human, signed=signed,
        )
        return [*findings, *extra, *added]

    return hook
