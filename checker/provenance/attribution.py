"""Which in-range commits wrote an identity, and who they are: line attribution for the rules.

An identity is touched by a change when the change added one of its lines, changed its meaning
without adding a line (a deleted tag), or changed a module value it reads
(`IdentityObject.inputs`). Each touch is attributed to the most agent-like actor among the
commits that wrote those lines (fail-closed): a line's writer is the most agent-like of its own
commit and its lineage (`ChangedFile.line_lineage`), and a git-ai note only ever raises it.

In `check`, a writer is a commit that changed what the identity means (DESIGN.md "What counts
as a change"): when the caller can judge one commit's change by meaning (`Attribution.meaning`,
the identity parsed at the commit and at its parents), an agent's or bot's commit whose change
to the identity was cosmetic (a moved or re-aligned line, a reorder, a move to another file of
the module) is no writer of it, and the identity's creator is the commit after which it first
exists, not one that moved it. A commit that cannot be judged stays a writer (fail closed).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from checker.change import ACTOR_RANK, ChangedFile, Provenance
from checker.model import IdentityObject


@dataclass(frozen=True)
class Touch:
    """How the change touched one identity: the added lines, and who wrote them."""

    lines: tuple[int, ...]
    actor_kind: str | None
    commit: str | None
    agent: str | None
    #: Every in-range commit that wrote one of `lines` (or a changed input), in line order,
    #: no repeats.
    commits: tuple[str, ...] = ()
    #: The changed module values the identity reads (`local.ci_role (locals.tf:3)`), named
    #: in every finding's message: its own lines may all be unchanged.
    via: tuple[str, ...] = ()
    #: For an identity base does not have: the commit that created it, the oldest in-range
    #: commit (`Attribution.order`) that wrote one of its lines as they read at head (lineage
    #: aside), with its actor. The actor above stays the most agent-like writer, which decides;
    #: this only names the creation precisely. None when unknown or for a changed identity.
    created: Provenance | None = None



#: What one commit did to one identity's meaning (`CommitMeaning`): the same as at every parent
#: (`COSMETIC`), absent at every parent and present after it (`CREATED`), present before and
#: meaning something else after (`CHANGED`), not there after it (`ABSENT`: not yet created, or
#: at another path or address then), or not known (`UNKNOWN`: a tree that did not parse, a
#: merge whose parents disagree, a root commit).
COSMETIC, CREATED, CHANGED, ABSENT, UNKNOWN = "cosmetic", "created", "changed", "absent", "unknown"


class CommitMeaning(Protocol):
    """Judges one in-range commit's change to one identity by meaning: `obj` (the identity at
    head) and a commit sha -> `COSMETIC`, `CREATED`, `CHANGED` or `UNKNOWN`. The commands
    implement it (`commands.commit_meaning`: the identity's files parsed at the commit and at
    its parents); attribution only asks."""

    def __call__(self, obj: IdentityObject, sha: str) -> str: ...

    def earlier_writers(self, obj: IdentityObject, sha: str) -> tuple[str, ...]:
        """The in-range commits before `sha` that touched the file `obj` was in at its
        parent (where a commit that only moved it found it), newest first; () if none."""
        ...


@dataclass(frozen=True)
class Attribution:
    """What attribution reads: `mode` (`check`, `hook` or `scan`), each in-range commit's
    provenance by sha, and in `hook` mode the `committer` (the commit being made)."""

    mode: str
    provenance: Mapping[str, Provenance]
    committer: Provenance | None = None
    #: sha -> position of the range's commits, oldest first (`ChangeSet.commits` order).
    order: Mapping[str, int] = field(default_factory=dict)
    #: In `check`: judges a commit's change to an identity by meaning (None: every commit
    #: that wrote a line is a writer).
    meaning: CommitMeaning | None = None


def _semantics(obj: IdentityObject) -> tuple[object, ...]:
    """What an identity means, without positions: a change here is a change to the identity."""
    return (
        obj.kind,
        obj.type,
        tuple(sorted((k.lower(), v) for k, v in obj.metadata.items())),
        tuple(sorted(repr(replace(g, line=None)) for g in obj.privileges)),
        obj.lifetime,
        tuple(sorted(_references(obj))),
        obj.namespace,
        tuple(sorted(obj.secret_sinks)),
        tuple(sorted(u[:3] for u in obj.unresolved)),
        _unplaced(obj),  # a deleted trust condition adds no line
        obj.boundary,  # nor does a deleted permissions_boundary
        tuple(sorted(obj.bound)),  # nor a deleted binding member or aggregation label
        obj.session,  # a role's `max_session_duration`: in no digest
    )


def _references(obj: IdentityObject) -> list[str]:
    """`obj.references` but the policy documents its grants were read from (`inputs`): what
    those say is in its digest and grants, so naming one instead of writing its statements
    inline changes nothing."""
    read = {name for name, _ in obj.inputs if name.startswith("data.aws_iam_policy_document.")}
    return [r for r in obj.references if r not in read]


def cosmetic(obj: IdentityObject, base: IdentityObject | None) -> bool:
    """True when `obj` says at head what `base` said: the same source block (`digest`, with
    the module values it reads) and the same resolved meaning (metadata, privileges, trust,
    lifetime, usages, principals, references, secret sinks). A move to another line or file of
    the module, `terraform fmt`, reordered attributes or a renamed value with the same content
    change nothing, so they are not judged (DESIGN.md "What counts as a change")."""
    return (
        base is not None
        and bool(obj.digest)
        and obj.digest == base.digest
        and _semantics(obj) == _semantics(base)
        and _unplaced(obj) == _unplaced(base)
    )


def repinned(obj: IdentityObject, base: IdentityObject | None) -> bool:
    """True when a CI credential step (a catalogued action, `owner/repo` type) changed only
    the commit SHA its action is pinned to (`IdentityObject.frame_digest`: the step without
    that SHA), meaning the same (environment, grants, references, sinks, metadata): a
    Dependabot bump of the same action is no change of identity."""
    return (
        base is not None
        and obj.kind == "ci_credential"
        and "/" in obj.type
        and obj.type == base.type
        and bool(obj.frame_digest)
        and obj.frame_digest == base.frame_digest
        and obj.environment == base.environment
        and _semantics(obj) == _semantics(base)
        and _unplaced(obj) == _unplaced(base)
    )


def same_meaning(obj: IdentityObject, base: IdentityObject | None) -> bool:
    """True when an identity without a source digest (neither `digest` nor `frame_digest`:
    a workflow job's OIDC token, whose meaning is what nhi-gate reads of it, the credential
    steps and repository secrets of its job) means at `obj` what it meant at `base`: the same
    resolved meaning (`cosmetic()`'s, without the digest) and environment. For one commit's
    change to such an identity when the range added none of its own lines: the engine judges
    it changed by that meaning alone (`touch_of`), so a commit that left it equal did not
    change it."""
    return (
        base is not None
        and not obj.digest and not obj.frame_digest
        and not base.digest and not base.frame_digest
        and obj.environment == base.environment
        and _semantics(obj) == _semantics(base)
        and _unplaced(obj) == _unplaced(base)
    )


def _unplaced(obj: IdentityObject) -> tuple[object, ...]:
    """Trust, usages and principals without their lines."""
    return (tuple(replace(t, line=None) for t in obj.trust), obj.usages, obj.principals)


def _most_agent_like(provs: Sequence[Provenance]) -> Provenance | None:
    """The first of the highest-ranked actors in `provs` (fail-closed attribution)."""
    best: Provenance | None = None
    for prov in provs:
        if best is None or ACTOR_RANK[prov.actor_kind] > ACTOR_RANK[best.actor_kind]:
            best = prov
    return best


def _lines_actors(cf: ChangedFile, lines: Sequence[int], ctx: Attribution,
                  skip: Collection[str] = ()) -> tuple[list[Provenance], list[str]]:
    """Who wrote each of `cf`'s added `lines` (the committer, in `hook` mode, for uncommitted
    lines; a git-ai note only ever raises the actor), and the in-range shas among them, in line
    order.

    A line's writer is the most agent-like of its own commit and its lineage (the earlier
    in-range commits whose lines it replaced, `ChangedFile.line_lineage`), so a human's later
    edit (even `terraform fmt`) of an agent's line leaves it the agent's; the lineage commits
    are among the returned shas, after the line's own commit. For a file whose origins were
    not computed (`ChangedFile.attributed` false) it is the most agent-like of the commits
    that touched it (fail-closed).

    The commits in `skip` (their change to the identity was cosmetic) write nothing: a line
    only they wrote has no writer and is left out, and so is a git-ai note of theirs."""
    provs: list[Provenance] = []
    shas: list[str] = []
    unattributed = not cf.attributed and bool(cf.commits)  # whoever touched the file
    for line in lines:
        sha = cf.line_commits.get(line)
        writers = cf.commits if unattributed else (
            (sha, *cf.line_lineage.get(line, ())) if sha else ())
        if skip:
            writers = tuple(s for s in writers if s not in skip)
            if not writers and (sha or unattributed):
                continue
        shas.extend(s for s in writers if s not in shas)
        prov = _most_agent_like([
            ctx.provenance.get(s) or Provenance(commit=s, actor_kind="unknown") for s in writers
        ]) if writers else ctx.committer
        if prov is None:
            prov = Provenance(commit="", actor_kind="unknown")
        noted = cf.ai_lines.get(line)
        if noted is not None and noted.commit not in skip and (
                ACTOR_RANK[noted.actor_kind] > ACTOR_RANK[prov.actor_kind]):
            prov = noted
        provs.append(prov)
    return provs, shas


def lines_touch(cf: ChangedFile, lines: Sequence[int], ctx: Attribution) -> Touch:
    """Who wrote `cf`'s added `lines` alone (each line's commit and lineage, as for a whole
    identity): for a problem that lives on those lines rather than on the identity."""
    provs, shas = _lines_actors(cf, lines, ctx)
    best = _most_agent_like(provs) or Provenance(commit="", actor_kind="unknown")
    return Touch(tuple(lines), best.actor_kind, best.commit or None, best.agent, tuple(shas))


def _file_actor(cfs: Sequence[ChangedFile], ctx: Attribution, skip: Collection[str] = ()
                ) -> Provenance:  # fmt: skip
    """The most agent-like of the commits that touched `cfs` (the committer, in `hook` mode,
    before any commit exists), those in `skip` left out: who changed a file without adding the
    line that matters."""
    provs: list[Provenance] = []
    for cf in cfs:
        for sha in cf.commits or tuple(dict.fromkeys(cf.line_commits.values())):
            if sha in skip:
                continue
            provs.append(ctx.provenance.get(sha) or Provenance(commit=sha, actor_kind="unknown"))
    best = _most_agent_like(provs)
    if best is None:
        best = ctx.committer or Provenance(commit="", actor_kind="unknown")
    return best


def changed_by(cfs: Sequence[ChangedFile], ctx: Attribution) -> Provenance:
    """Who changed the files `cfs` as a whole: the most agent-like of the in-range commits that
    touched them (the committer in `hook` mode; `unknown` when nothing says). For a finding
    on a file rather than on an identity's lines (NHI107: a template nhi-gate cannot read)."""
    return _file_actor(cfs, ctx)


def _touch_without_added_lines(obj: IdentityObject, cf: ChangedFile,
                               base: IdentityObject | None, ctx: Attribution,
                               skip: Collection[str] = ()) -> Touch | None:
    """An identity whose meaning changed although the range added no line inside it: a
    deleted owner tag, an edited `# nhi-gate:` comment above it, a removed Deny statement.
    The actor is the most agent-like of the commits that touched the file (fail-closed),
    those in `skip` left out."""
    if base is None or _semantics(base) == _semantics(obj):
        return None
    best = _file_actor([cf], ctx, skip)
    return Touch((), best.actor_kind, best.commit or None, best.agent,
                 (best.commit,) if best.commit else ())


def _input_touch(obj: IdentityObject, base: IdentityObject | None,
                 files: Mapping[str, ChangedFile], ctx: Attribution,
                 skip: Collection[str] = ()) -> Touch | None:
    """How a change of the module values `obj` reads (`IdentityObject.inputs`) touched it.

    An input whose definition lines the change added touches `obj`, attributed to whoever
    wrote those lines. Else, when `obj` means something else than at base, its values come
    from other definitions than at base (a removed `.tfvars` override, a deleted local), and
    one of those files changed: whoever touched it. None when no input changed.
    """
    provs: list[Provenance] = []
    shas: list[str] = []
    via: list[str] = []
    for name, where in obj.inputs:
        cf = files.get(where.path)
        lines = cf.added_within(where.start_line, where.end_line) if cf is not None else ()
        if cf is None or not lines:
            continue
        found, commits = _lines_actors(cf, lines, ctx, skip)
        if not found:
            continue
        provs.extend(found)
        shas.extend(c for c in commits if c not in shas)
        via.append(f"{name} ({where.path}:{where.start_line})")
    # A rendered object reads its whole closure: a change that only deleted lines of one file
    # (a patch, a `.helmignore` line) changes it without an added line, like a moved input;
    # so it makes a rendered object that base did not have.
    moved = bool(obj.rendered_by) if base is None else (
        bool(obj.rendered_by) or {(n, w.path) for n, w in obj.inputs}
        != {(n, w.path) for n, w in base.inputs})
    if not via and moved and (base is None or _semantics(base) != _semantics(obj)):
        changed: dict[str, ChangedFile] = {}
        for side, inputs in (("", obj.inputs), (" at base", base.inputs if base else ())):
            for name, where in inputs:
                cf = files.get(where.path)
                if cf is not None:
                    changed.setdefault(cf.path, cf)
                    via.append(f"{name} ({where.path}:{where.start_line}{side})")
        if changed:
            actor = _file_actor(list(changed.values()), ctx, skip)
            provs.append(actor)
            shas.extend([actor.commit] if actor.commit else [])
    best = _most_agent_like(provs)
    if best is None:
        return None
    return Touch((), best.actor_kind, best.commit or None, best.agent, tuple(shas),
                 tuple(dict.fromkeys(via)))


def _creator(obj: IdentityObject, cf: ChangedFile | None, ctx: Attribution
             ) -> Provenance | None:  # fmt: skip
    """The commit that created `obj` (base has no twin): the oldest in-range commit that wrote
    one of its head lines (each line's own commit, not its lineage: a line a person wrote when
    creating the identity, in place of older lines, is the person's creation). None without
    an order or an attributed line."""
    if cf is None or not ctx.order or not cf.attributed:
        return None
    shas = {cf.line_commits[n] for n in cf.added_within(obj.location.start_line,
                                                        obj.location.end_line)
            if n in cf.line_commits and cf.line_commits[n] in ctx.order}
    if not shas:
        return None
    sha = min(shas, key=ctx.order.__getitem__)
    return ctx.provenance.get(sha) or Provenance(commit=sha, actor_kind="unknown")


def touch_of(obj: IdentityObject, cf: ChangedFile | None, ctx: Attribution,
           base: IdentityObject | None = None,
           files: Mapping[str, ChangedFile] | None = None,
           skip: Collection[str] = ()) -> Touch | None:
    """How the change touched `obj` (see the module doc), or None when it did not.

    In scan mode there is no change: the touch only names, in `via`, the caller's arguments
    `obj` reads (`module.ci argument policy_arn (main.tf:3)`), where its value lives.
    `cf` is `obj`'s own changed file (None when unchanged); `files` every changed file by path
    (and old path), for `obj`'s inputs. `Touch.lines` are `obj`'s own added lines; the actor is
    the most agent-like of the writers of those lines and of its changed inputs.

    An actor from lines (its own, its changed inputs') goes before the guess from whoever
    touched its file when its own lines are unchanged: of equally ranked writers, the commit
    that changed the input carrying the change is named, not one that edited another part of
    its file (a more agent-like file writer still decides: fail closed).

    The commits in `skip` are no writers of `obj` (`provenance.writers`: their change to it
    was cosmetic). When they alone wrote its added lines, the lines' writer is the most
    agent-like of the other commits that touched its file (fail-closed, as for a change that
    added no line).
    """
    if ctx.mode == "scan":  # a callee's value from its caller's argument lives in the call
        return Touch((), None, None, None, via=tuple(dict.fromkeys(
            f"{name} ({where.path}:{where.start_line})"
            for name, where in obj.inputs if " argument " in name)))
    if cosmetic(obj, base):
        return None
    found: list[Touch] = []
    lines = cf.added_within(obj.location.start_line, obj.location.end_line) if cf else ()
    if cf is not None and lines:
        provs, shas = _lines_actors(cf, lines, ctx, skip)
        best = _most_agent_like(provs)
        if best is None:  # only commits in `skip` wrote them: whoever else touched the file
            best = _file_actor([cf], ctx, skip)
            shas = [best.commit] if best.commit else []
        if shas or not skip:
            found.append(Touch(lines, best.actor_kind, best.commit or None, best.agent,
                               tuple(shas)))
    elif cf is not None:
        without = _touch_without_added_lines(obj, cf, base, ctx, skip)
        found.extend([without] if without is not None else [])
    read = obj.inputs or (base is not None and base.inputs)
    via = _input_touch(obj, base, files, ctx, skip) if files and read else None
    if via is not None:  # lines that carried the change before a guess from the file's
        found.insert(0 if not lines else len(found), via)  # commits (ties: the first wins)
    if not found:
        return None
    best_touch = found[0]
    for touch in found[1:]:
        if ACTOR_RANK[touch.actor_kind or "unknown"] > ACTOR_RANK[
                best_touch.actor_kind or "unknown"]:
            best_touch = touch
    commits = tuple(dict.fromkeys(c for t in found for c in t.commits))
    return replace(best_touch, lines=lines, commits=commits,
                   via=via.via if via is not None else (),
                   created=_creator(obj, cf, ctx) if base is None else None)


