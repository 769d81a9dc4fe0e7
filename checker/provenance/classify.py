"""Who wrote a commit: an AI agent, a bot, a human, or unknown (DESIGN.md "Provenance").

Pure: no git and no I/O. Matches a commit (`classify_commit`), a commit being written
(`classify_actor`) or a GitHub login (`classify_login`) against the agent and bot signatures of
`checker.provenance.agents` (`rules/agents.yaml` plus the config's `agents:` section), and
returns a `Provenance`.

Classification (`classify_commit`, `classify_actor`):
- evidence is collected from the author email, the committer email (skipped for GitHub's
  web-flow committer `noreply@github.com`), the author/committer display name, the email inside
  `Name <email>` of co-author trailers (their display name is weak evidence only), other
  trailers (`Assisted-by:` ...), message footers, and the head branch;
- a tool trailer (`TOOL_TRAILER_KEYS`: `Generated-by:`) is strong evidence when its value
  names an agent product of the pack (`AgentSignatures.named_product`): the trailer is written
  by or for the tool and says what generated the commit, unlike a person's display name;
- `actor_kind` is `agent` when any *strong* agent evidence matched (or a branch matched an
  `agents.branches` pattern from the config, which is explicit policy), else `bot` when strong bot
  evidence matched, else `unknown` when the author email is empty or not an address, else
  `human`. Weak evidence (display names like "Devin", built-in branch prefixes like `copilot/`)
  is recorded but never decides.

A trailer counts wherever it appears in the message, not only in git's final trailer block,
so moving `Co-authored-by:` up one paragraph does not hide an agent.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from dataclasses import replace

from checker.change import ActorKind, Commit, Evidence, Provenance, Strength
from checker.lazy_patterns import lazy_compile
from checker.provenance.agents import (
    ANGLE_EMAIL_RE,
    AgentSignature,
    AgentSignatures,
    load_agent_signatures,
)
from checker.provenance.commit_text import (
    EMAIL_RE,
    address_of,
    coauthor_addresses,
    message_trailers,
    normalise_branch,
)

__all__ = [
    "address_of", "classify_actor", "classify_commit", "classify_login", "coauthor_addresses",
    "logs_url", "message_trailers", "normalise_branch", "strength_of",
]

#: GitHub's web-flow committer: commits made through the web UI or by Apps on a user's behalf.
WEB_FLOW_EMAILS = frozenset({"noreply@github.com"})
#: Trailer keys (lower-cased) whose value names the tool that generated the commit:
#: `Generated-by: <tool> [model]`, recommended by the ASF Generative Tooling Guidance
#: (https://www.apache.org/legal/generative-tooling.html) and written `Generated-By:` by
#: OpenInfra projects (https://docs.openstack.org/nova/latest/contributor/commit-messages.html).
#: A pack trailer matcher on one of these keys with neither `email` nor `value` matches only
#: when the value names an agent product of the pack; the commit's agent is that product.
#: `Assisted-by:` is one too (the Linux kernel's coding-assistants.rst), but it also credits
#: people: a value holding a `<address>` never names a product this way.
TOOL_TRAILER_KEYS = frozenset({"generated-by", "assisted-by"})
#: The trailer whose URL (the Copilot coding agent's session log) each report shows.
LOGS_URL_TRAILER = "agent-logs-url"
_LOGS_URL_RE = lazy_compile(r"https://\S+")

_MAX_VALUE = 200
#: Evidence order, and which evidence names the product: author email first.
_FIELD_ORDER = {
    "author_email": 0,
    "committer_email": 1,
    "author_name": 2,
    "committer_name": 3,
    "trailer": 4,
    "message": 5,
    "branch": 6,
    "login": 7,
}

#: From this many co-authors on, an agent known only as a co-author is named as one of them.
SHARED_COAUTHORS = 3
#: Evidence from the message's text, which a bot that quotes other commits may carry.
_QUOTED_FIELDS = frozenset({"trailer", "message"})

#: One match: the signature that matched (its product may be replaced, see `_trailer_matches`),
#: the field (`author_email`, ...) and the matched text.
_Match = tuple[AgentSignature, str, str]


# --------------------------------------------------------------------------------------------
# Parsing helpers


def _clip(value: str) -> str:
    return value if len(value) <= _MAX_VALUE else value[: _MAX_VALUE - 1] + "…"


def _is_address(email: str) -> bool:
    return bool(EMAIL_RE.fullmatch(email.strip()))


# --------------------------------------------------------------------------------------------
# Matchers: one per field. Each yields, for every signature in order, its matches on that field
# (in a fixed order within a signature); `_collect` keeps the first of each repeated match, and
# `_decide` orders the evidence by field, so a signature's place in the pack breaks ties.


def _email_matches(
    signatures: AgentSignatures, author_email: str, committer_email: str
) -> Iterator[_Match]:
    """Author and committer addresses listed by a signature (exact or pattern, lower-cased).

    The committer is skipped when it is GitHub's web-flow committer (`WEB_FLOW_EMAILS`), empty,
    or the author's own address."""
    a_email = author_email.strip().lower()
    c_email = committer_email.strip().lower()
    check_committer = bool(c_email) and c_email not in WEB_FLOW_EMAILS and c_email != a_email
    for signature in signatures.entries:
        if a_email and signature.matches_email(a_email):
            yield signature, "author_email", author_email.strip()
        if check_committer and signature.matches_email(c_email):
            yield signature, "committer_email", committer_email.strip()


def _name_matches(
    signatures: AgentSignatures,
    author_name: str,
    committer_name: str,
    committer_email: str,
) -> Iterator[_Match]:
    """Display names: an author or committer name ending in a signature's `name_suffixes`
    (`[bot]`), and an author name listed in its `names` (case-insensitive).

    The committer's name counts only for a real committer (not empty, not web-flow) whose name
    differs from the author's."""
    c_email = committer_email.strip().lower()
    committer_real = bool(c_email) and c_email not in WEB_FLOW_EMAILS
    a_name = author_name.strip().lower()
    c_name = committer_name.strip().lower()
    for signature in signatures.entries:
        if any(a_name.endswith(s) for s in signature.name_suffixes):
            yield signature, "author_name", author_name.strip()
        if (
            committer_real
            and c_name != a_name
            and any(c_name.endswith(s) for s in signature.name_suffixes)
        ):
            yield signature, "committer_name", committer_name.strip()
        if a_name and a_name in signature.names:
            yield signature, "author_name", author_name.strip()


def _trailer_matches(
    signatures: AgentSignatures, trailers: Sequence[tuple[str, str]], message: str
) -> Iterator[_Match]:
    """Trailers (`trailers` given with the commit, then every `Key: value` line of `message`;
    only keys some signature inspects, first of each repeat) matched per signature:

    - a co-author trailer whose `<email>` a signature lists, or whose display name is in its
      `names` (weak, like any name);
    - a signature's own `TrailerMatcher`s (key, then `email` full match, then `value` search);
      a bare tool-trailer matcher (`TOOL_TRAILER_KEYS`) matches only when the value names an
      agent product of the pack, and the match carries that product.

    The matched text is `Key: value`."""
    keys = signatures.trailer_keys
    found: list[tuple[str, str]] = []
    for key, value in (*trailers, *message_trailers(message)):
        item = (key, value.strip())
        if key.lower() in keys and item not in found:
            found.append(item)
    coauthors = [
        (key, value, address_of(value))
        for key, value in found
        if key.lower() in signatures.coauthor_keys
    ]
    for signature in signatures.entries:
        for key, value, address in coauthors:
            if address and signature.matches_email(address):
                yield signature, "trailer", f"{key}: {value}"
            # a co-author's display name is a name like any other: weak (names are weak-only)
            if value.split("<", 1)[0].strip().lower() in signature.names:
                yield signature, "trailer", f"{key}: {value}"
        for matcher in signature.trailers:
            for key, value in found:
                if key.lower() != matcher.key:
                    continue
                if matcher.email is not None:
                    address = address_of(value)
                    if not address or not matcher.email.fullmatch(address):
                        continue
                if matcher.value is not None and not matcher.value.search(value):
                    continue
                if (
                    matcher.key in TOOL_TRAILER_KEYS
                    and matcher.email is None
                    and matcher.value is None
                ):
                    person = matcher.key == "assisted-by" and ANGLE_EMAIL_RE.search(value)
                    named = None if person else signatures.named_product(value)
                    if named is not None:
                        yield replace(signature, product=named), "trailer", f"{key}: {value}"
                    continue
                yield signature, "trailer", f"{key}: {value}"


def _message_matches(signatures: AgentSignatures, message: str) -> Iterator[_Match]:
    """A signature's `message_patterns` found in the message (the matched text, stripped)."""
    for signature in signatures.entries:
        for pattern in signature.message_patterns:
            match = pattern.search(message)
            if match:
                yield signature, "message", match.group(0).strip() or match.group(0)


def _branch_matches(signatures: AgentSignatures, branch: str | None) -> Iterator[_Match]:
    """The head branch (without `refs/heads/`) matching a signature's `branches` globs."""
    norm_branch = normalise_branch(branch) if branch else None
    if not norm_branch:
        return
    for signature in signatures.entries:
        if any(fnmatch.fnmatchcase(norm_branch, g) for g in signature.branches):
            yield signature, "branch", norm_branch


# --------------------------------------------------------------------------------------------
# Classification


def _collect(
    signatures: AgentSignatures,
    *,
    author_name: str,
    author_email: str,
    committer_name: str,
    committer_email: str,
    message: str,
    trailers: Sequence[tuple[str, str]],
    branch: str | None,
) -> list[tuple[AgentSignature, Evidence]]:
    """Every match of every field matcher, as `(signature, Evidence)` with the value clipped to
    200 characters, without repeats (the first of equal evidence is kept)."""
    found: list[tuple[AgentSignature, Evidence]] = []
    seen: set[Evidence] = set()
    matches = (
        *_email_matches(signatures, author_email, committer_email),
        *_name_matches(signatures, author_name, committer_name, committer_email),
        *_trailer_matches(signatures, trailers, message),
        *_message_matches(signatures, message),
        *_branch_matches(signatures, branch),
    )
    for signature, field, value in matches:
        ev = Evidence(
            signature=signature.id, field=field, value=_clip(value), strength=signature.strength
        )
        if ev not in seen:
            seen.add(ev)
            found.append((signature, ev))
    return found


def _decide(
    commit: str, identified: bool, found: Sequence[tuple[AgentSignature, Evidence]],
    coauthors: Sequence[str] = (),
) -> Provenance:
    """Agent if strong (or policy) agent evidence, else bot if strong bot evidence, else human
    when `identified` (a valid author email / a login), else unknown. Weak evidence is kept
    (`checker.provenance.channels.gate_weak` lets it decide when the config says so).

    A bot whose authorship decides (`AgentSignature.author_decides`: Dependabot, Renovate) is
    the actor when it is the author and every agent match is in the message (trailers,
    footers): its messages quote upstream commits. An agent address as the committer still
    makes it the agent's; either way the commit is gated (bots are, like agents).

    An agent known only as one of `SHARED_COAUTHORS` or more co-authors (`coauthors`: their
    addresses; a squash of a pull request many people worked on) stays the commit's actor,
    with strong evidence: the co-author list is written by whoever writes the message, so an
    agent could add 34 people to its own commit, and the lines of the squash cannot be told
    apart. Its product says so: `Claude Code, one of 35 co-authors`."""
    found = sorted(found, key=lambda item: _FIELD_ORDER.get(item[1].field, len(_FIELD_ORDER)))
    deciding = [(sig, ev) for sig, ev in found if ev.strength == "strong" or sig.policy]
    agents = [(sig, ev) for sig, ev in deciding if sig.actor_kind == "agent"]
    if any(sig.author_decides and ev.field == "author_email" for sig, ev in deciding) and all(
            ev.field in _QUOTED_FIELDS for _, ev in agents):
        agents = []  # a dependency bot's message quotes upstream commits (rules/agents.yaml)
    agent = agents[0][0] if agents else None
    bot = next((sig for sig, _ in deciding if sig.actor_kind == "bot"), None)
    kind: ActorKind = "human" if identified else "unknown"
    product: str | None = None
    if agent is not None:
        kind, product = "agent", agent.product
        shared = len(coauthors) >= SHARED_COAUTHORS and all(
            ev.field == "trailer" and address_of(ev.value.partition(":")[2]) in coauthors
            for _, ev in agents)
        if shared:
            product = f"{product}, one of {len(coauthors)} co-authors"
    elif bot is not None:
        kind, product = "bot", bot.product
    return Provenance(
        commit=commit, actor_kind=kind, agent=product, evidence=tuple(ev for _, ev in found)
    )


def classify_commit(
    commit: Commit, signatures: AgentSignatures, branch: str | None = None
) -> Provenance:
    """The `Provenance` of one commit (see the module docstring for the rules).

    `branch` is the head branch of the change (`ChangeSet.branch`); branch evidence is weak
    unless it comes from the config. `Provenance.agent` is the product of the first deciding
    signature (author email first, then committer, names, trailers, message, branch) for
    agents and bots, None for humans and unknown. Evidence keeps every match, weak ones too.
    """
    found = _collect(
        signatures,
        author_name=commit.author_name,
        author_email=commit.author_email,
        committer_name=commit.committer_name,
        committer_email=commit.committer_email,
        message=commit.message,
        trailers=commit.trailers,
        branch=branch,
    )
    return _decide(commit.sha, _is_address(commit.author_email), found,
                   coauthor_addresses(commit, signatures))


def classify_actor(
    name: str,
    email: str,
    message: str = "",
    signatures: AgentSignatures | None = None,
    branch: str | None = None,
) -> Provenance:
    """The `Provenance` of a commit not made yet (pre-commit / commit-msg hooks).

    `name`/`email` are the author from `git_identity`; `message` the commit message being
    written (trailers are read from it; comment lines and everything below a scissors line are
    ignored). `signatures` defaults to `load_agent_signatures()`. `Provenance.commit` is `""`.
    """
    found = _collect(
        signatures if signatures is not None else load_agent_signatures(),
        author_name=name,
        author_email=email,
        committer_name="",
        committer_email="",
        message=message,
        trailers=(),
        branch=branch,
    )
    return _decide("", _is_address(email), found)


def classify_login(login: str, signatures: AgentSignatures) -> Provenance:
    """The `Provenance` of a GitHub login (PR author, reviewer): `agent` or `bot` when it is a
    login of an agent or bot signature or any `*[bot]` App, `human` otherwise, `unknown` when empty.
    Evidence field is `login`; `Provenance.commit` is `""`. Lets approval refuse agents."""
    found = [
        (sig, Evidence(signature=sig.id, field="login", value=login, strength=sig.strength))
        for sig in signatures.entries
        if sig.matches_login(login)
    ]
    return _decide("", bool(login.strip()), found)


def strength_of(prov: Provenance) -> Strength | None:
    """How strongly `prov`'s evidence supports its actor kind: `strong` when any evidence is
    strong (or a configured policy signature decided), `weak` when there is evidence but all
    of it is weak, None when there is none (a human with no agent signal at all)."""
    if not prov.evidence:
        return None
    if any(ev.strength == "strong" for ev in prov.evidence):
        return "strong"
    if any(ev.signature.startswith("config-") for ev in prov.evidence):
        return "strong"
    return "weak"


def logs_url(commit: Commit) -> str | None:
    """The URL of the commit's `Agent-Logs-Url:` trailer (the Copilot coding agent's session
    log, https://github.com/<owner>/<repo>/sessions/<uuid>), or None. Only an https URL is
    returned, clipped to 200 characters."""
    for key, value in (*commit.trailers, *message_trailers(commit.message)):
        if key.lower() == LOGS_URL_TRAILER:
            match = _LOGS_URL_RE.match(value.strip())
            if match:
                return _clip(match.group(0))
    return None
