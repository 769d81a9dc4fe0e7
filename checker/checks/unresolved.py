"""NHI106 unresolved-identity-input: fail closed where nhi-gate cannot compute what a change means.

An identity check. It reads `IdentityObject.unresolved` (the parser's facts: values of grant-,
trust-, role- or principal-bearing attributes that cannot be computed, each with its reason) and
reports, on a touched identity:
- created by the change: every unresolved entry;
- changed: the entries base did not have (compared without lines), and the entries whose inputs
  the change touched (a non-literal `local.NAME` or a data source block they read, named in the
  entry's expression and in `Touch.via`); and what a GitOps object deployed through an input
  head removed (`removed_inputs`).

Facets of what Terraform runs or fetches that nhi-gate cannot read (`model.UNREAD`: a
provisioner's command, a remote module call, a var file no module reads) are judged by
`checks/unread.py`.

Levels (the `variants` in rules/docs/approval.yaml): error for an agent, a bot or an unknown
actor (fail closed, DESIGN.md "What counts as a change"); `human` (note) when a person wrote
it (the writers of the value's own lines when only they changed it, for an identity base had
or one the range created: `_writers`); `scan` (note) in `scan` mode, where there is no change
and no author, so an unresolved value is information, not a verdict; what an Argo CD or Flux
object deploys (`model.DEPLOYED` entries, `parsers/kubernetes/gitops_inputs.py`) is not
reported in `scan`: it is the normal shape of such an object, like a remote module call
(`checks/unread.py`). Never for an identity the change did not touch (the engine does not call
checks for those).
"""

from __future__ import annotations

from collections.abc import Iterator

from checker.checks.api import Hit, Subject
from checker.checks.unread import hits, is_unread
from checker.model import DEPLOYED, IdentityObject, Unresolved
from checker.provenance.attribution import Attribution, Touch, lines_touch

RULE = "NHI106"


def check(subject: Subject) -> Iterator[Hit]:
    """NHI106: one hit per attribute whose unresolved values the change created or touched."""
    obj, base = subject.obj, subject.base
    if is_unread(obj.type):  # a command, remote module or var file nhi-gate cannot read
        yield from hits(subject)
        return
    candidates = obj.unresolved
    if subject.ctx.mode == "scan":  # what a GitOps object deploys: its normal shape, no change
        candidates = tuple(u for u in candidates if not u.reason.startswith(DEPLOYED))
    elif base is not None:
        candidates += removed_inputs(obj, base)
    if not candidates:
        return
    if base is None:
        chosen = list(candidates)
    else:
        before = {_unplaced(u) for u in base.unresolved}
        changed = [name.split(" (", 1)[0] for name in subject.touch.via]
        chosen = [u for u in candidates if _unplaced(u) not in before
                  or any(_reads(u, name) for name in changed)]
    by_attribute: dict[str, list[Unresolved]] = {}
    for entry in chosen:
        by_attribute.setdefault(entry.attribute, []).append(entry)
    for attribute, entries in by_attribute.items():
        touch = _writers(subject, entries)
        actor = (touch or subject.touch).actor_kind
        variant = "scan" if subject.ctx.mode == "scan" else "human" if actor == "human" else None
        shown = "; ".join(f"`{u.expression}` ({u.reason})" for u in entries)
        yield Hit(RULE, f"{obj.address}: nhi-gate cannot compute `{attribute}`: "
                  f"{shown}; a human must review what it grants", attribute,
                  entries[0].line, variant=variant, touch=touch)


def removed_inputs(obj: IdentityObject, base: IdentityObject) -> tuple[Unresolved, ...]:
    """What base's GitOps object deployed through an input that head no longer sets
    (`model.DEPLOYED` entries by attribute: Helm values, a patch, `valuesFrom` removed): the
    controller then renders without it, which may deploy more (a chart's default), so it is an
    input change nhi-gate cannot compute either. Not a removed Flux `kubeConfig`: the object's
    own account then applies, which its `flux:apply-as` grant states and NHI301/NHI302 judge."""
    kept = {u.attribute for u in obj.unresolved}
    return tuple(u._replace(expression=f"{u.attribute} removed", line=None)
                 for u in base.unresolved if u.reason.startswith(DEPLOYED)
                 and u.attribute not in kept and not u.attribute.endswith(".kubeConfig"))


def _writers(subject: Subject, entries: list[Unresolved]) -> Touch | None:
    """Who wrote `entries`, when that alone is what the change did to them: values (new since
    base, or of an identity the range created) that sit on lines the range added (each line's
    commit and lineage: `provenance.attribution.lines_touch`) and read no input the change
    touched. None otherwise (a value base had whose input changed, a value on a line the range
    did not add): the identity's touch is the actor. So a person's `distinct([...])` in a policy
    an agent also edited is the person's note, not the agent's block, whether the range starts
    before or after the policy was created; the agent's own edit is judged by NHI101/NHI302."""
    obj, base, ctx = subject.obj, subject.base, subject.ctx
    if ctx.mode == "scan":
        return None
    before = {_unplaced(u) for u in base.unresolved} if base is not None else set()
    changed = [name.split(" (", 1)[0] for name in subject.touch.via]
    lines = sorted({u.line for u in entries if u.line is not None})
    cf = next((f for f in ctx.changeset.files if f.path == obj.location.path), None)
    if (cf is None or len(lines) != len({u.line for u in entries})
            or any(_unplaced(u) in before or any(_reads(u, n) for n in changed) for u in entries)
            or not all(cf.is_added(n) for n in lines)):
        return None
    return lines_touch(cf, lines, Attribution(ctx.mode, ctx.provenance, ctx.committer))


def _unplaced(entry: Unresolved) -> tuple[str, str, str]:
    return entry.attribute, entry.expression, entry.reason


def _reads(entry: Unresolved, name: str) -> bool:
    """True when `entry` reads the input `name` (`local.x`, `data.t.n`) on its way, or is the
    file `name` (`file("shared/policy.yaml")`) that was read but not computed."""
    if name.startswith('file("') and name.endswith('")'):
        return entry.reason.startswith(f"file not read: {name[6:-2]} (")
    return any(part == name or part.startswith(name + ".")
               for part in entry.expression.split(" -> "))
