"""An identity's writers over a range are the commits that changed its meaning (DESIGN.md "What
counts as a change (meaning, not lines)").

`touch_of` names the commits that wrote an identity's lines or its inputs. Over a long range
one of them may only have moved a line, re-aligned it, reordered attributes or moved the block
to another file of its module: the identity means at that commit what it meant at its parent.
`judged_touch` asks the caller's `CommitMeaning` (`Attribution.meaning`: the identity parsed at
the commit and at its parents) about each agent's or bot's commit among the writers, and a
commit whose change was cosmetic is no writer; the most agent-like of the rest decides. A
person's commit is not asked: leaving it out can only lower the actor, never raise it. Nor is
a commit that wrote the identity's lines only through lineage (a person's later line replaced
its line): lineage keeps an agent's content the agent's wherever a person moves it (except
for a CI credential step, cosmetic only when re-pinned to another commit SHA: the earlier SHA
is no content the later line keeps).

A new identity that people wrote is asked about too, when the range has an agent's or bot's
commit: a person's commit that only moved it (to another file or format) is no creation, and
the most agent-like commit that wrote the file it was moved from decides (`_moved_in`), so
re-writing an agent's grant as `.tf.json` or JSON does not make it the person's.

The creator of an identity base does not have is the oldest in-range commit, among those that
wrote its lines (their own commit and lineage), after which it exists and before which it did
not (`CREATED`), not a commit that moved it. Only asked when an agent or a bot decides (it is
only named then).

An identity without a source digest (a workflow job's OIDC token: its meaning is the steps and
secrets of its job) whose own lines the range did not add, changed because its job changed
elsewhere, is asked too: its writer was the most agent-like commit that touched the file, and
a commit that left its meaning equal (`attribution.same_meaning`: a Dependabot bump of another
job's pin) is none, so the commits that changed it (a person's added `secrets.*`) decide.

Fail closed: a commit the caller cannot judge (`UNKNOWN`) stays a writer; when every commit
that touched the identity would be left out although base and head differ in meaning, nothing
is left out.
"""

from __future__ import annotations

from collections.abc import Mapping

from checker.change import ACTOR_RANK, ChangedFile, Provenance
from checker.model import IdentityObject
from checker.provenance.attribution import (
    CHANGED,
    COSMETIC,
    CREATED,
    UNKNOWN,
    Attribution,
    Touch,
    touch_of,
)


def _above_human(ctx: Attribution, sha: str) -> bool:
    prov = ctx.provenance.get(sha)
    return prov is None or ACTOR_RANK[prov.actor_kind] > ACTOR_RANK["human"]


def judged_touch(obj: IdentityObject, cf: ChangedFile | None, ctx: Attribution,
                 base: IdentityObject | None = None,
                 files: Mapping[str, ChangedFile] | None = None) -> Touch | None:
    """`touch_of`, with the agents' and bots' commits whose change to `obj` was cosmetic left
    out of its writers and a creator that first made it exist (see the module doc). Without
    `ctx.meaning`, or outside `check`, it is `touch_of`."""
    touch = touch_of(obj, cf, ctx, base, files)
    ask = ctx.meaning
    if touch is None or ask is None or ctx.mode != "check":
        return touch
    if not obj.digest and not obj.frame_digest and (base is None or touch.lines):
        # nothing to compare its lines with: none can be cosmetic
        return _with_creator(touch, obj, cf, ctx) if (
            base is None and touch.actor_kind in ("agent", "bot")) else touch
    skip: set[str] = set()
    # A CI credential step is cosmetic only when re-pinned (`repinned`): the SHA a lineage
    # commit wrote was replaced, so it carries no content of theirs and they are asked too.
    asked = _carried(obj, cf, files or {}) if obj.digest else set()
    judged = touch
    while True:  # each round leaves out more commits, so it ends
        todo = [s for s in judged.commits if s not in asked and _above_human(ctx, s)]
        asked.update(todo)
        cosmetic = {s for s in todo if ask(obj, s) == COSMETIC}
        if not cosmetic:
            break
        skip |= cosmetic
        again = touch_of(obj, cf, ctx, base, files, skip=frozenset(skip))
        if again is None or not again.commits or again.actor_kind is None:
            judged = touch  # nobody left who changed it: fail closed
            break
        judged = again
    if base is None and judged.actor_kind in ("agent", "bot"):
        return _with_creator(judged, obj, cf, ctx)
    if base is None:
        return _moved_in(judged, obj, ctx)
    return judged


def _moved_in(touch: Touch, obj: IdentityObject, ctx: Attribution) -> Touch:
    """A new identity whose writers are people, one of whom only moved it (to another file or
    format: `.tf` -> `.tf.json`, YAML -> JSON) after an earlier in-range commit wrote it: that
    commit (the most agent-like of those that touched the file it was moved from) is its
    creator and decides, so a person re-writing an agent's grant elsewhere does not launder
    it. `touch` when no writer only moved it."""
    ask = ctx.meaning
    if ask is None or not any(_above_human(ctx, s) for s in ctx.order):
        return touch  # no agent or bot in the range: nothing to launder
    for sha in sorted((s for s in touch.commits if s in ctx.order),
                      key=ctx.order.__getitem__):
        if ask(obj, sha) != COSMETIC:
            continue
        earlier = [ctx.provenance.get(s) or Provenance(commit=s, actor_kind="unknown")
                   for s in ask.earlier_writers(obj, sha)]
        best = max(reversed(earlier), key=lambda p: ACTOR_RANK[p.actor_kind], default=None)
        if best is None or ACTOR_RANK[best.actor_kind] <= ACTOR_RANK[touch.actor_kind or "unknown"]:
            continue
        commits = tuple(dict.fromkeys((best.commit, *touch.commits)))
        return Touch(touch.lines, best.actor_kind, best.commit, best.agent, commits, touch.via,
                     best)
    return touch


def _carried(obj: IdentityObject, cf: ChangedFile | None,
             files: Mapping[str, ChangedFile]) -> set[str]:
    """The commits that wrote `obj`'s added lines (or its changed inputs' lines) only through
    lineage: a later commit's line replaced theirs (`ChangedFile.line_lineage`). They are never
    left out, whatever they did to `obj` itself: lineage keeps an agent's content the agent's
    when a person edits or moves it, into another identity too."""
    own: set[str] = set()
    lineage: set[str] = set()
    spans = [(cf, obj.location.start_line, obj.location.end_line)] if cf is not None else []
    spans += [(files[w.path], w.start_line, w.end_line) for _, w in obj.inputs
              if w.path in files]
    for changed, start, end in spans:
        for line in changed.added_within(start, end):
            own.update([changed.line_commits[line]] if line in changed.line_commits else [])
            lineage.update(changed.line_lineage.get(line, ()))
    return lineage - own


def _with_creator(touch: Touch, obj: IdentityObject, cf: ChangedFile | None,
                  ctx: Attribution) -> Touch:
    """`touch` whose `created` is the oldest commit, among the in-range writers of `obj`'s
    lines (own commit and lineage), that made `obj` exist (`CREATED`): `touch.created` (the
    oldest that wrote one of its lines) when it did, else the others are asked, oldest first.
    A commit that cannot be judged ends the search and leaves `touch.created` as it was; when
    none is found, `touch.created` stays unless its commit was shown to have found `obj`
    already there (then None; not when `obj` was `ABSENT` after it: it may have been at
    another path then)."""
    ask = ctx.meaning
    if cf is None or ask is None or not ctx.order:
        return touch
    if touch.created is not None and ask(obj, touch.created.commit) in (CREATED, UNKNOWN):
        return touch  # the oldest commit that wrote one of its lines made it: the usual case
    candidates: set[str] = set()
    for line in cf.added_within(obj.location.start_line, obj.location.end_line):
        sha = cf.line_commits.get(line)
        candidates.update(s for s in (sha, *cf.line_lineage.get(line, ()))
                          if s and s in ctx.order)
    seen: dict[str, str] = {}
    for sha in sorted(candidates, key=ctx.order.__getitem__):
        seen[sha] = ask(obj, sha)
        if seen[sha] == UNKNOWN:  # not judged: named as before
            return touch
        if seen[sha] == CREATED:
            prov = ctx.provenance.get(sha) or Provenance(commit=sha, actor_kind="unknown")
            return Touch(touch.lines, touch.actor_kind, touch.commit, touch.agent,
                         touch.commits, touch.via, prov)
    old = touch.created
    if old is not None and seen.get(old.commit) in (COSMETIC, CHANGED):
        old = None  # it was there before that commit
    return Touch(touch.lines, touch.actor_kind, touch.commit, touch.agent, touch.commits,
                 touch.via, old)
