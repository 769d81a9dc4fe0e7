"""What changed and who changed it: the ChangeSet git builds and the Provenance of each commit
(DESIGN.md "Vocabulary"). Frozen dataclasses, beside `checker.model`'s identities and findings;
positions are 1-based head lines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ActorKind = Literal["agent", "bot", "human", "unknown"]
Strength = Literal["strong", "weak"]
ACTOR_RANK: Mapping[str, int] = {"unknown": 0, "human": 1, "bot": 2, "agent": 3}


@dataclass(frozen=True)
class Commit:
    """One commit in `base..head`, as read from git in one batched `git log`.

    `trailers` keeps every occurrence in order: (`Co-authored-by`, `Claude <noreply@...>`).
    `signature` is git's `%G?` letter (G good, U good/unknown validity, B bad, N none, ...)
    when a caller verified it; `read_commits` does not (verifying starts one process per
    signed commit, and approval never trusts this machine's keyring: `checker.git.signatures`
    checks signatures against the base revision's allowed signers), so it is `N` there.
    """

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    committer_name: str
    committer_email: str
    message: str
    trailers: tuple[tuple[str, str], ...] = ()
    signature: str = "N"


@dataclass(frozen=True)
class ChangedFile:
    """A file changed between base and head.

    `status` is git's letter (A added, M modified, D deleted, R renamed, C copied, T type change);
    `old_path` is set for renames/copies. `added_lines` are inclusive 1-based ranges in the head
    version. `line_commits` maps each added head line to the sha of the commit in the range that
    introduced it (blame restricted to the range).
    """

    path: str
    status: str
    old_path: str | None = None
    added_lines: tuple[tuple[int, int], ...] = ()
    line_commits: Mapping[int, str] = field(default_factory=dict)
    #: For an added head line: the other in-range commits whose lines it replaced (a later
    #: hunk that removed lines and added this one inherits their origins), earliest first,
    #: excluding the line's own commit `line_commits[line]`. Lines with none are absent; empty
    #: when attribution came from `git blame` (ranges with merges, see `build_changeset`).
    line_lineage: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    #: Shas of the commits in the range that touch this path (oldest first): who to hold
    #: responsible for a change that adds no line, such as a deleted owner tag.
    commits: tuple[str, ...] = ()
    #: Head lines that a git-ai note (`refs/notes/ai`) on the commit that introduced them
    #: attributes to an AI agent → that agent's provenance (set by `provenance.ai_notes.annotate`).
    ai_lines: Mapping[int, Provenance] = field(default_factory=dict)
    #: False when line origins were not computed for this file (nhi-gate does not read it,
    #: `build_changeset`'s `blame_filter`): who wrote a line is then whoever touched the file.
    attributed: bool = True

    def is_added(self, line: int) -> bool:
        """True when head line `line` (1-based) was added or changed by the range."""
        return any(lo <= line <= hi for lo, hi in self.added_lines)

    def added_within(self, start: int, end: int) -> tuple[int, ...]:
        """The added head lines inside `start..end` (inclusive), sorted."""
        out: list[int] = []
        for lo, hi in self.added_lines:
            a, b = max(lo, start), min(hi, end)
            if a <= b:
                out.extend(range(a, b + 1))
        return tuple(sorted(out))


@dataclass(frozen=True)
class ChangeSet:
    """Base and head revisions, the commits between them and the files they change.

    In `scan` mode `base`/`head` are None and `commits` is empty. `branch` is the head branch
    name when known (bot branch prefixes are provenance evidence).
    """

    base: str | None
    head: str | None
    commits: tuple[Commit, ...] = ()
    files: tuple[ChangedFile, ...] = ()
    branch: str | None = None
    #: Every path the range's first-parent commits touch -> their shas, oldest first (files
    #: added and deleted inside the range too): `git.log.file_commits`. Empty for `hook`/`scan`.
    touched: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Evidence:
    """Why a commit was classified: which agent signature matched which field.

    `field` is one of `author_email`, `committer_email`, `author_name`, `trailer`, `message`,
    `branch`, `login`, or `note` (a git-ai `refs/notes/ai` note, signature `git-ai-notes`);
    `value` is the matched text; `signature` is the `rules/agents.yaml` entry id.
    """

    signature: str
    field: str
    value: str
    strength: Strength


@dataclass(frozen=True)
class Provenance:
    """The actor behind one commit: `actor_kind`, the agent/bot product when known, and evidence."""

    commit: str
    actor_kind: ActorKind
    agent: str | None = None
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class FileDelta:
    """How one file changed from an older commit to head (`diffs_to_head`).

    `old_path` is its path at the commit (None: created since), `new_path` at head (None:
    deleted since); `hunks` are `diff -U0` hunks `(old_start, old_count, new_start, new_count)`
    in file order; `opaque` when the change is not line-based (binary), so no line maps.
    """

    old_path: str | None
    new_path: str | None
    hunks: tuple[tuple[int, int, int, int], ...] = ()
    opaque: bool = False
