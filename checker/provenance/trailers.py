"""Ticket and requester trailers of an agent commit (rule NHI103 and `nhi-gate commit-msg`).

An agent commit must name the human who asked for it (`Requested-by: Name <email>`) or a
ticket (`Ticket:`, `Refs:`, `Jira:`, `Change-Id:`, `Issue:`); `requester_problem` says why a
commit's trailers do neither, `ticket_problem` why one ticket trailer names no ticket.
Placeholders (`none`, `N/A`, `TBD`, `0`, ...) count as neither. Shared by
`checker.approval.reviews` (NHI103 on a range) and the commit-msg hook (one message being
written). Trailers are read with `checker.provenance.classify.message_trailers`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from checker.change import Commit
from checker.lazy_patterns import lazy_compile
from checker.provenance.agents import AgentSignatures
from checker.provenance.classify import (
    address_of,
    classify_actor,
    classify_login,
    message_trailers,
)

#: Trailer naming the human who asked an agent for the change (lower-cased).
REQUESTER_TRAILER = "requested-by"
#: Trailers carrying a ticket reference (lower-cased).
TICKET_TRAILERS = frozenset({"ticket", "refs", "jira", "change-id", "issue"})
#: A ticket reference when no ticket pattern is configured (see `ticket_problem`).
_TICKET_REFERENCE = lazy_compile(
    r"""(?x)
    [A-Z][A-Z0-9_]+-[1-9][0-9]*                    # Jira issue key: OPS-12, DATA_ENG-7
    | \#[1-9][0-9]*                                 # #123
    | [A-Za-z0-9][\w.-]*(?:/[\w.-]+)+\#[1-9][0-9]*   # org/repo#123, group/sub/project#123
    | https?://[^\s/?\#@]+\.[^\s/?\#@]+[/?\#]\S+      # a link with a host and a path
    """
)
_GERRIT_CHANGE_ID = lazy_compile(r"I[0-9a-f]{40}")
_ITEM_SPLIT = lazy_compile(r"[\s,;]+")
#: Values that stand in for a ticket (lower-cased), besides punctuation and zeros.
_PLACEHOLDERS = frozenset({
    "none", "n/a", "na", "n.a.", "nil", "null", "no", "nope", "tbd", "tba", "tbc", "todo",
    "unknown", "pending", "wip", "x", "xx", "xxx", "no ticket", "no-ticket", "noticket",
    "not applicable", "not-applicable", "ticket", "issue", "jira", "placeholder", "dummy",
})


def _is_placeholder(value: str) -> bool:
    """True when `value` stands in for a ticket or a person: a listed placeholder word
    (case-insensitive) or nothing but punctuation, zeros and blanks."""
    low = value.strip().lower()
    return low in _PLACEHOLDERS or not low.strip("-_.?!*#/0 \t")


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
    trailers: Sequence[tuple[str, str]],
    signatures: AgentSignatures,
    ticket: re.Pattern[str] | None,
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
                classify_actor(name, address, "", signatures)
                if address
                else classify_login(text, signatures)
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


def commit_trailers(commit: Commit, *, keep_case: bool = False) -> list[tuple[str, str]]:
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
