"""What a check is, what it reads and what it yields: the contract between `checker.checks`
modules and `checker.checks.engine`, so no check imports the engine.

A check says *what* is wrong and names the attribute; the engine works out *where* (the line,
kept inside the diff), at which level (the rule docs, `rules/docs/*.yaml`, overridden by config
`rules:`), and builds the `Finding` with its provenance and fingerprint. Three shapes, by what a
rule needs to see (each a `Protocol` that a check module meets with module-level functions):

- `IdentityCheck.check(subject)`: one judged identity at a time (most rules).
- `CrossCheck.check_all(judged, touched, ctx)`: joins across identities and files (NHI204,
  NHI322).
- `RemovalCheck.check_removed(ctx, actor_of)`: what the change removed, which no head
  identity shows (a deleted Deny policy).
- `ChangeCheck.check_change(facts, findings)`: the change itself, not one identity: policy
  files, agent commits, suppression comments (NHI102-NHI105); it sees the identity findings,
  because NHI103 asks which commits wrote identities.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from checker.change import ChangeSet, Provenance
from checker.model import Finding, IdentityObject, Location, Suppression
from checker.policy.catalogue import Catalogue
from checker.policy.config import Config
from checker.provenance.agents import AgentSignatures
from checker.provenance.attribution import CommitMeaning, Touch


@dataclass(frozen=True)
class Hit:
    """One problem a check found on the identity it was given.

    `rule_id` is the `NHI…` id; `message` the text shown (never a secret value); `attribute`
    the part of the identity it is about (part of the fingerprint, so it survives moved lines;
    None for the identity as a whole); a check never names a level: the rule docs do. Where it
    goes: `line` when the check knows it, else the line of `at` in
    `IdentityObject.attribute_lines`, else the identity's first line; the engine moves it onto
    an added line in `check` mode.
    """

    rule_id: str
    message: str
    attribute: str | None = None
    line: int | None = None
    at: str | None = None
    #: A named level variant of the rule in its docs (`variants:`), for a rule whose milder
    #: case has a lower default level (NHI310 `repository-default`); None for the rule's level.
    variant: str | None = None
    #: Who wrote what the hit is about, when that is narrower than the identity's touch (NHI106
    #: on a value one commit of the range added to an existing identity); None: the touch's.
    touch: Touch | None = None
    #: Other places the problem is made of, (what, where), for `Finding.related` (NHI325: the
    #: other file of a flow through a composite action's input); the engine adds the changed
    #: inputs of the touch.
    related: tuple[tuple[str, Location], ...] = ()


@dataclass(frozen=True)
class ChangeHit:
    """A problem with the change rather than with one identity (NHI102-NHI105).

    `location` is where it is shown; `commit` the in-range commit it blames (None for a
    suppression comment predating any commit) and `actor` that commit's provenance (or the
    committer's in `hook` mode); `commits` every commit it covers (approval needs them all);
    `address` the identity it concerns, when one.
    """

    rule_id: str
    message: str
    location: Location
    attribute: str
    actor: Provenance | None = None
    commit: str | None = None
    address: str | None = None
    commits: tuple[str, ...] = ()
    #: The rule's level variant (`rule_docs.RuleDoc.variants`; None: its level).
    variant: str | None = None


@dataclass(frozen=True)
class Context:
    """Everything identity and cross checks read besides the identities themselves.

    `mode` is `check`, `hook` or `scan`; `admin_table` is `policy.privileges.load_admin_table()`;
    `committer` is, in `hook` mode, the provenance of the commit being made (no commit exists
    yet); `today` dates expiry checks; `head_objects` and `base_objects` are every identity
    parsed at head and at base in this run (set by the engine), for an identity check that
    joins across objects (a workload's service account and what its bindings grant).
    """

    mode: str
    config: Config
    catalogue: Catalogue
    admin_table: Mapping[tuple[str, str], str]
    changeset: ChangeSet
    provenance: Mapping[str, Provenance]
    committer: Provenance | None = None
    today: dt.date = dt.date.today()  # noqa: RUF009 - evaluated once per process, by design
    head_objects: Sequence[IdentityObject] = ()
    base_objects: Sequence[IdentityObject] = ()
    #: In `check`: judges one commit's change to an identity by meaning, so a commit that
    #: only moved it is no writer (`provenance.writers`); None: every line writer counts.
    meaning: CommitMeaning | None = None


@dataclass(frozen=True)
class Subject:
    """What an identity check is given: `obj` at head (environment set), `base` (the same path
    and address at base; None when the change creates it), `touch` (how the change touched it:
    its added lines and who wrote them) and `ctx`."""

    obj: IdentityObject
    touch: Touch
    ctx: Context
    base: IdentityObject | None = None


@dataclass(frozen=True)
class ChangeFacts:
    """What change checks read, gathered by the commands from git and the base revision.

    - `signatures`: the agent signatures (`provenance.agents.load_agent_signatures`), for the
      requester trailers of NHI103.
    - `trust_touches`: policy-file path -> in-range commits that changed it (deletions
      included); `trust_kinds`: path -> what it is (`config`, `codeowners`, ...).
    - `pr_author_human`: the pull request was opened by a human (NHI103 then does not ask the
      commits to name one); `signed`: sha -> True when the commit's signature verified against
      the base allowed signers or on GitHub (NHI104).
    - `suppressions`: the `nhi-gate:ignore` comments of the files judged; `objects` the
      identities parsed from them; `known_rules` every rule id that exists.
    - `steering`: agent-steering file -> its attribution and gate facts at (base, head)
      (`parsers.steering`; None: the file could not be read on that side).
    - `gate_runs`: a file the job that runs nhi-gate executes before its check -> how
      (`parsers.gate_job`; its `trust_kinds` kind is `gate-job`).
    - `replaced`: a range commit a `refs/replace/` entry replaces -> its replacement (git is
      read with replace refs off, so the commit judged is the real one).
    - `history_secrets`: (commit, `hardcoded_secret` facet) for each secret a commit of the
      range added to a file version head no longer has (`check` only; NHI401).

    In `hook` mode `trust_touches` maps each staged policy file to `()`: the one staged change,
    whose actor is `committer`.
    """

    config: Config
    changeset: ChangeSet
    provenance: Mapping[str, Provenance]
    mode: str = "check"
    signatures: AgentSignatures | None = None
    trust_touches: Mapping[str, Sequence[str]] = field(default_factory=dict)
    trust_kinds: Mapping[str, str] = field(default_factory=dict)
    pr_author_human: bool = False
    signed: Mapping[str, bool] | None = None
    suppressions: Sequence[Suppression] = ()
    objects: Sequence[IdentityObject] = ()
    known_rules: Collection[str] = ()
    committer: Provenance | None = None
    steering: Mapping[str, tuple[frozenset[str] | None, frozenset[str] | None]] = field(
        default_factory=dict)
    gate_runs: Mapping[str, str] = field(default_factory=dict)
    replaced: Mapping[str, str] = field(default_factory=dict)
    history_secrets: Sequence[tuple[str, IdentityObject]] = ()


@runtime_checkable
class IdentityCheck(Protocol):
    """A check module judging one identity at a time."""

    def check(self, subject: Subject) -> Iterator[Hit]:
        """Yield a `Hit` per problem of `subject.obj` (see `Hit`)."""
        ...


@runtime_checkable
class NarrowingCheck(Protocol):
    """A check module that recognises a change which only narrows an identity; when it yields,
    the identity is judged by those hits alone (a narrowing never blocks)."""

    def narrows(self, subject: Subject) -> Iterator[Hit]:
        """Yield the hits that describe a pure narrowing of `subject.obj`, else nothing."""
        ...


@runtime_checkable
class RemovalCheck(Protocol):
    """A check module judging what the change removed: a block gone at head that no head
    identity shows (a deleted Deny policy widens the principal it applied to)."""

    def check_removed(self, ctx: Context, actor_of: Callable[[Sequence[str]], Touch]
                      ) -> Iterator[tuple[IdentityObject, Hit]]:  # fmt: skip
        """Yield (identity to report on, hit) per problem; `ctx.head_objects` and
        `ctx.base_objects` are set; `actor_of(paths)` is who changed those files (a `Touch`
        with no lines), for the hit's `touch`, which the finding's actor is."""
        ...


@runtime_checkable
class CrossCheck(Protocol):
    """A check module judging across the identities of a run."""

    def check_all(
        self,
        judged: Sequence[IdentityObject],
        touched: Mapping[tuple[str, str], Touch],
        ctx: Context,
    ) -> Iterator[tuple[IdentityObject, Hit]]:
        """Yield (identity, hit) for touched identities (`touched`: (path, address) -> Touch)."""
        ...


@runtime_checkable
class ChangeCheck(Protocol):
    """A check module judging the change: its commits, policy files and comments."""

    def check_change(self, facts: ChangeFacts, findings: Sequence[Finding]
                     ) -> Iterator[ChangeHit]:  # fmt: skip
        """Yield a `ChangeHit` per problem; `findings` are the identity findings so far."""
        ...


Check = IdentityCheck | CrossCheck | ChangeCheck | NarrowingCheck | RemovalCheck
