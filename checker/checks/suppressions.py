"""NHI105 and NHI102 for inline suppressions (`nhi-gate:ignore`, `checker.parsers.suppressions`).

What is not a valid suppression, and what it gives instead (the finding is NOT suppressed):
- no reason, no rule id, an id that is not an nhi-gate rule, or a rule that cannot be
  suppressed inline (NHI1xx: lifted only by a human approval; NHI9xx: fix or `exclude` the file)
  -> NHI105 on the comment's line, with a message naming the problem;
- a suppression on a line that an AI agent or bot wrote in the change under review (commit
  provenance in `check`, the committer in `hook`) -> NHI102 "needs approval": an agent cannot
  waive the findings on its own change. Lines already in the base revision, and every line in
  `scan` mode, are trusted: they were reviewed when they merged.

The others are `usable` and `checker.approval.apply` applies them, except where the change
`outlived` them: a suppression approves what was there when it was approved (its rule, the
object and the value), so a suppression that predates the change does not cover a finding whose
target the change created or changed (a live key an agent inserts under a base
`nhi-gate:ignore NHI401` comment, an identity it widened): that finding is judged afresh. A
suppression written in the change (by a person) approves what is there now.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence

from checker.change import ACTOR_RANK, ChangeSet, Provenance
from checker.checks.api import ChangeFacts, ChangeHit
from checker.lazy_patterns import lazy_compile
from checker.model import Finding, IdentityObject, Location, Suppression

_RULE_ID = lazy_compile(r"^NHI[0-9]{3}$")
_MIN_REASON = 3


def _problem(s: Suppression, known: Collection[str]) -> str | None:
    """Why `s` is invalid, or None when it is a usable suppression."""
    shown = f"`{s.text}` on line {s.line}"
    if not s.rule_ids:
        return (f"{shown} names no rule id; write `nhi-gate:ignore NHIxxx <reason>` "
                "(for example `# nhi-gate:ignore NHI301 break-glass role, approved in SEC-12`); "
                "not applied")
    for rule_id in s.rule_ids:
        if not _RULE_ID.match(rule_id) or rule_id not in known:
            return (f"{shown} names {rule_id}, which is not an nhi-gate rule (ids are NHI followed "
                    "by three digits; `nhi-gate rules` lists them); not applied")
        if rule_id.startswith("NHI1"):
            return (f"{shown} tries to suppress {rule_id}, which cannot be suppressed inline: "
                    "it is lifted only by a human's approval (a pull-request review, or a signed "
                    "commit with an `Approved-by:` trailer); not applied")
        if rule_id.startswith("NHI9"):
            return (f"{shown} tries to suppress {rule_id}, which cannot be suppressed inline: "
                    "fix the file, or add it to `exclude` in the base branch's .nhi-gate.yaml; "
                    "not applied")
    if len(s.reason) < _MIN_REASON or not re.search(r"[A-Za-z0-9]", s.reason):
        ids = ",".join(s.rule_ids)
        return (f"{shown} gives no reason; a suppression must say why, e.g. "
                f"`# nhi-gate:ignore {ids} <why this is acceptable, and who decided>`; "
                "not applied")
    return None


def _line_actor(
    path: str,
    line: int,
    changeset: ChangeSet,
    provenance: Mapping[str, Provenance],
    committer: Provenance | None,
    mode: str,
) -> Provenance | None:
    """Who wrote `path:line` in the change under review (the most agent-like of its commit and
    its lineage); None when it predates the change."""
    if mode == "scan":
        return None
    for cf in changeset.files:
        if cf.path != path:
            continue
        if not cf.is_added(line):
            return None
        sha = cf.line_commits.get(line)
        if sha:
            # The most agent-like of the line's commit and the in-range commits whose lines it
            # replaced (`line_lineage`): a human re-edit does not launder an agent's comment.
            actors = [provenance.get(c) or Provenance(c, "unknown")
                      for c in (*cf.line_lineage.get(line, ()), sha)]  # fmt: skip
            return max(reversed(actors), key=lambda p: ACTOR_RANK[p.actor_kind])
        if mode == "hook":
            return committer
        # Added but not attributed (diff and blame aligned differently): assume the most
        # agent-like author in the range wrote it, so an agent's comment never slips through.
        known = [provenance[c.sha] for c in changeset.commits if c.sha in provenance]
        return max(known, key=lambda p: ACTOR_RANK[p.actor_kind], default=None)
    return None


def _target_address(
    s: Suppression, objects: Sequence[IdentityObject]
) -> str | None:
    for obj in objects:
        loc = obj.location
        if loc.path == s.path and s.target is not None and (
            loc.start_line == s.target or (s.trailing and loc.start_line <= s.line <= loc.end_line)
        ):
            return obj.address
    return None


def _verdict(s: Suppression, facts: ChangeFacts) -> tuple[str | None, Provenance | None]:
    """(why `s` is invalid or None, who wrote its line or None)."""
    actor = _line_actor(s.path, s.line, facts.changeset, facts.provenance, facts.committer,
                        facts.mode)
    return _problem(s, facts.known_rules), actor


def usable(facts: ChangeFacts) -> list[Suppression]:
    """The suppressions of `facts` that apply: valid, and not written by an agent or bot."""
    out: list[Suppression] = []
    for s in facts.suppressions:
        problem, actor = _verdict(s, facts)
        if problem is None and not (actor is not None and actor.actor_kind in ("agent", "bot")):
            out.append(s)
    return out


def outlived(facts: ChangeFacts) -> Callable[[Suppression, Finding], bool]:
    """(suppression, finding) -> True when the suppression predates the change (its comment
    line is not one the change adds) and what it sits on is new or changed for that finding:
    the line under the comment is added, or the finding's line is added inside the part the
    comment addresses (that line; the YAML node or document it reaches; the identity block it
    sits directly above). A comment on one attribute of an identity keeps approving that
    attribute while other lines of the block change. Never in `scan`, which has no change."""
    if facts.mode == "scan":
        return lambda s, f: False
    files = {cf.path: cf for cf in facts.changeset.files}
    spans = {(o.location.path, o.address): (o.location.start_line, o.location.end_line)
             for o in facts.objects}

    def predicate(s: Suppression, f: Finding) -> bool:
        cf = files.get(s.path)
        if cf is None or s.target is None or cf.is_added(s.line):
            return False  # an unchanged file, or a comment written in this change
        if cf.is_added(s.target):
            return True
        line = f.location.start_line
        if not cf.is_added(line):
            return False
        last = s.reach or s.target
        span = spans.get((f.location.path, f.address)) if f.address is not None else None
        if span is not None and span[0] == s.target:
            last = max(last, span[1])
        return s.target <= line <= last

    return predicate


def check_change(facts: ChangeFacts, findings: Sequence[Finding]) -> Iterator[ChangeHit]:
    """NHI105 per invalid suppression and NHI102 per suppression an agent or bot wrote."""
    for s in facts.suppressions:
        problem, actor = _verdict(s, facts)
        address = _target_address(s, facts.objects)
        if problem is not None:
            yield _hit("NHI105", problem, s, address, actor)
            continue
        if actor is not None and actor.actor_kind in ("agent", "bot"):
            who = actor.agent or actor.actor_kind
            where = f" in commit {actor.commit[:12]}" if actor.commit else ""
            yield _hit(
                "NHI102",
                f"`{s.text}` on line {s.line} was written by {actor.actor_kind} ({who})"
                f"{where}; a suppression an agent or bot adds does not apply until a human "
                f"approves the change, so {', '.join(s.rule_ids)} still count",
                s, address, actor,
            )


def _hit(rule_id: str, message: str, s: Suppression, address: str | None,
         actor: Provenance | None) -> ChangeHit:
    attribute = " ".join(s.text.split())  # the comment itself: stable when lines move
    return ChangeHit(rule_id, message, Location(s.path, s.line, s.line), attribute,
                     actor=actor, commit=(actor.commit or None) if actor else None,
                     address=address)
