"""The text of a commit, read the way provenance matches it: addresses inside `Name <email>`,
`Key: value` lines anywhere in a message, the head branch's name, and the co-authors.

Pure: no git and no I/O. Split from `checker.provenance.classify`, which re-exports these.
"""

from __future__ import annotations

import re

from checker.change import Commit
from checker.lazy_patterns import lazy_compile
from checker.provenance.agents import ANGLE_EMAIL_RE, AgentSignatures

#: A bare address.
EMAIL_RE = lazy_compile(r"[^@\s<>]+@[^@\s<>]+")
_TRAILER_LINE_RE = lazy_compile(
    r"^([A-Za-z0-9][A-Za-z0-9-]*)[ \t]*:[ \t]*(\S.*?)\s*$", re.MULTILINE
)
_SCISSORS_RE = lazy_compile(r"^# -+ >8 -+$", re.MULTILINE)


def address_of(value: str) -> str | None:
    """The email inside `Name <email>` (lower-cased), or the value itself when it is a bare
    address; None when there is no address. The display name is never returned."""
    found = ANGLE_EMAIL_RE.findall(value)
    if found:
        address = str(found[-1]).strip().lower()
        return address or None
    bare = value.strip().lower()
    return bare if EMAIL_RE.fullmatch(bare) else None


def message_trailers(message: str) -> tuple[tuple[str, str], ...]:
    """Every `Key: value` line of a commit message, in order, wherever it appears.

    Lines after a scissors line (`# ---- >8 ----`) and `#` comment lines are dropped, as git
    does for a commit message being edited (the commit-msg hook sees them). This is looser than
    git's trailer-block rule on purpose: callers filter by the keys they care about.
    """
    cut = _SCISSORS_RE.search(message)
    if cut:
        message = message[: cut.start()]
    return tuple((m.group(1), m.group(2)) for m in _TRAILER_LINE_RE.finditer(message))


def normalise_branch(branch: str) -> str:
    """`refs/heads/copilot/x` → `copilot/x`; other names unchanged."""
    return branch.removeprefix("refs/heads/")


def coauthor_addresses(commit: Commit, signatures: AgentSignatures) -> tuple[str, ...]:
    """The distinct addresses (lower-cased, in order) of the commit's co-author trailers
    (`AgentSignatures.coauthor_keys`, wherever they are in the message)."""
    found: list[str] = []
    for key, value in (*commit.trailers, *message_trailers(commit.message)):
        address = address_of(value) if key.lower() in signatures.coauthor_keys else None
        if address and address not in found:
            found.append(address)
    return tuple(found)
