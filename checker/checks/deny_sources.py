"""Denies that apply to an AWS principal from another block, and the ones a change removed.

An IAM principal's effective permissions are its allows minus its denies across every policy
that applies to it: an explicit Deny in any of them overrides every Allow (AWS "Policy
evaluation logic"). A Deny often lives in a block of its own: an inline
`aws_iam_role_policy`/`_user_policy`/`_group_policy` on the principal, or an
`aws_iam_*_policy_attachment` of an `aws_iam_policy` that denies; and a service control policy
(`aws_organizations_policy`) caps every account under the target an
`aws_organizations_policy_attachment` names. Deleting such a block (or leaving it to a
`removed {}` block) widens the principal although none of its own lines changed.

`deny_sources` lists, for one side of the change, each block that applies denies and to whom;
`removed_denies` compares base and head: the denies a block base had applied that no head
block applies to the same targets any more, when the block itself is gone (a Deny dropped
from a policy that still exists is that policy's own change, `checks/drift.py`). Sources:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from checker.checks.api import Context, Hit, Subject
from checker.checks.moves import renamed
from checker.lazy_patterns import lazy_compile
from checker.model import Grant, IdentityObject
from checker.provenance.attribution import Touch

#: Inline policies: their own statements apply to the principal they name.
_INLINE = frozenset({"aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"})
#: Attachments: the statements of the policy they attach apply to the principal they name.
_ATTACHMENTS = frozenset({"aws_iam_role_policy_attachment", "aws_iam_user_policy_attachment",
                          "aws_iam_group_policy_attachment", "aws_iam_policy_attachment",
                          "aws_organizations_policy_attachment"})
_PRINCIPALS = ("aws_iam_role.", "aws_iam_user.", "aws_iam_group.")
_POLICIES = ("aws_iam_policy.", "aws_organizations_policy.")
#: A policy named by another block's attribute: `${aws_iam_policy.deny.arn}`.
_POLICY_REF = lazy_compile(
    r"\$\{((?:aws_iam_policy|aws_organizations_policy)\.[\w-]+)\.(?:arn|id)\}"
)
SCP_ATTACHMENT = "aws_organizations_policy_attachment"


@dataclass(frozen=True)
class DenySource:
    """One block that applies denies: `source` (an inline policy or an attachment), `targets`
    (the principals' addresses, or an SCP attachment's `target_id` as written; empty when not
    known), `denies` (its deny grants, or those of the policy it attaches) and `policy` (the
    attached policy's address, or None for an inline policy)."""

    source: IdentityObject
    targets: tuple[str, ...]
    denies: tuple[Grant, ...]
    policy: str | None = None


def _module(obj: IdentityObject) -> str:
    return posixpath.dirname(obj.location.path)


def deny_sources(objects: Sequence[IdentityObject]) -> list[DenySource]:
    """Every block among `objects` (one side of the change) that applies denies to a
    principal, with its targets (see `DenySource`); blocks that apply none are left out."""
    policies = {(_module(o), o.address): o for o in objects if o.platform == "aws"
                and o.derived_from is None and o.address.startswith(_POLICIES)}
    out: list[DenySource] = []
    for obj in objects:
        if obj.platform != "aws" or obj.derived_from is not None or obj.dormant:
            continue
        targets = tuple(r for r in obj.references if r.startswith(_PRINCIPALS))
        if obj.type in _INLINE:
            denies = tuple(g for g in obj.privileges if g.effect == "deny")
            if denies:
                out.append(DenySource(obj, targets, denies))
            continue
        if obj.type not in _ATTACHMENTS:
            continue
        if obj.type == SCP_ATTACHMENT:
            targets += tuple(g.resource for g in obj.privileges if g.resource != "*")
        for grant in obj.privileges:
            match = _POLICY_REF.fullmatch(grant.action)
            policy = policies.get((_module(obj), match.group(1))) if match else None
            denies = tuple(g for g in policy.privileges if g.effect == "deny") if policy else ()
            if policy is not None and denies:
                out.append(DenySource(obj, targets, denies, policy.address))
    return out


def attaches_denies_only(grant: Grant, holder: IdentityObject,
                         objects: Sequence[IdentityObject]) -> bool:
    """True when `grant` of `holder` (a role's `managed_policy_arns` entry, an attachment's
    policy) names a policy of `holder`'s module among `objects` (the same side of the change)
    all of whose computed statements deny (`${aws_iam_policy.deny_prod.arn}`): what it
    attaches allows nothing, so it is no allow of `holder`'s."""
    match = _POLICY_REF.fullmatch(grant.action)
    if match is None:
        return False
    policy = next((o for o in objects if o.address == match.group(1) and o.platform == "aws"
                   and o.derived_from is None and _module(o) == _module(holder)), None)
    return (policy is not None and not policy.unresolved and bool(policy.privileges)
            and all(g.effect == "deny" for g in policy.privileges))


def _covers(keep: Grant, gone: Grant) -> bool:
    """True when the deny `keep` denies at least what `gone` denied: the same action and
    resource, no condition `gone` did not have."""
    return ((keep.action, keep.resource, keep.not_action)
            == (gone.action, gone.resource, gone.not_action)
            and set(keep.conditions) <= set(gone.conditions))


def removed_denies(head: Sequence[IdentityObject], base: Sequence[IdentityObject]
                   ) -> list[tuple[DenySource, tuple[Grant, ...]]]:  # fmt: skip
    """The deny sources of `base` whose block is gone at `head`, each with the denies no head
    source still applies to one of the same targets (a source with unknown targets counts as
    gone whatever else remains: fail closed). A source whose every target principal was
    removed with it widens nobody and is left out. A block or principal renamed by a `moved`
    block is still there (`moves.renamed`): the source's targets are given their new names."""
    moves = renamed(head, base)  # a block a `moved` block renamed is there, under a new name
    present = {(_module(o), o.address) for o in head if not o.dormant} | set(moves)
    gone_principals = {(_module(o), o.address) for o in base
                       if o.address.startswith(_PRINCIPALS)} - present
    kept = deny_sources(head)
    out: list[tuple[DenySource, tuple[Grant, ...]]] = []
    for src in deny_sources(base):
        module = _module(src.source)
        src = replace(src, targets=tuple(moves.get((module, t), t) for t in src.targets))
        if (module, src.source.address) in present:
            continue  # still there: a change of it is its own (checks/drift.py)
        principals = [t for t in src.targets if t.startswith(_PRINCIPALS)]
        if principals and len(principals) == len(src.targets) and all(
                (module, t) in gone_principals for t in principals):
            continue  # the principal went too
        dropped = tuple(d for d in src.denies if not any(
            _module(k.source) == module and src.targets and set(k.targets) & set(src.targets)
            and any(_covers(g, d) for g in k.denies) for k in kept))
        if dropped:
            out.append((src, dropped))
    return out


def _anchor(src: DenySource, head: Sequence[IdentityObject]) -> IdentityObject:
    """Where a removed deny is reported: the principal it denied at head, else the policy the
    removed attachment attached (still at head), else the removed block as base had it."""
    module = _module(src.source)
    by_address = {o.address: o for o in head if _module(o) == module and o.derived_from is None}
    for address in (*src.targets, src.policy or ""):
        if address in by_address:
            return by_address[address]
    return src.source


def denied(grant: Grant) -> str:
    """A deny grant as what it denied: `s3:* on arn:aws:s3:::prod-*`."""
    action = f"every action but {grant.action}" if grant.not_action else grant.action
    text = f"{action} on {grant.resource}"
    return f"{text} (if {', '.join(grant.conditions)})" if grant.conditions else text


def removal_hits(ctx: Context, actor_of: Callable[[Sequence[str]], Touch]
                 ) -> Iterator[tuple[IdentityObject, Hit]]:  # fmt: skip
    """NHI302 for each deny source the change removed (`removed_denies`), on `_anchor`, naming
    what is no longer denied and to whom; `actor_of(paths)` is who changed the files it was
    in (the hit's `touch`). A person's removal is the `deny-removed-human` variant (a
    warning); an agent's or a bot's the rule's level. Nothing in `scan` (no change)."""
    if ctx.mode == "scan":
        return
    for src, dropped in removed_denies(ctx.head_objects, ctx.base_objects):
        anchor = _anchor(src, ctx.head_objects)
        touch = actor_of([src.source.location.path])
        whom = ", ".join(src.targets) or "the principal it applied to"
        shown = ", ".join(denied(g) for g in dropped[:3]) + (
            f" and {len(dropped) - 3} more" if len(dropped) > 3 else "")
        how = (f"{src.source.address} removed, which attached {src.policy}" if src.policy
               else f"{src.source.address} removed")
        if src.source.type == SCP_ATTACHMENT:
            what = (f"service control policy detached from {whom}: every account under it is "
                    f"no longer denied {shown} ({how})")
        elif anchor is src.source:  # its file is gone too: reported where it was
            what = f"removed: {whom} is no longer denied {shown}"
        elif anchor.address in src.targets:
            what = f"privileges widened: no longer denied {shown} ({how})"
        else:
            what = f"privileges widened: {whom} no longer denied {shown} ({how})"
        variant = "deny-removed-human" if touch.actor_kind == "human" else None
        yield anchor, Hit("NHI302", f"{anchor.address} {what}",
                          f"denies:{src.source.address}", touch=touch, variant=variant)


def created_denies(subject: Subject) -> Iterator[Hit]:
    """NHI302 `narrowed` for a new block that only takes access away: an AWS policy (IAM or
    service control) all of whose computed statements deny, or an attachment whose every
    policy is such a policy of the change. It grants nothing, so it needs no approval; a later
    change that makes it allow is judged then."""
    obj, ctx = subject.obj, subject.ctx
    if (ctx.mode == "scan" or obj.platform != "aws" or obj.derived_from is not None
            or obj.unresolved or obj.trust or not obj.privileges):
        return
    if obj.kind == "policy" and obj.address.startswith((*_POLICIES, *(f"{t}." for t in _INLINE))):
        denies = [g for g in obj.privileges if g.effect == "deny"]
        if len(denies) < len(obj.privileges):
            return
        whom = ", ".join(r for r in obj.references if r.startswith(_PRINCIPALS))
        to = f" to {whom}" if whom else ""
        yield Hit("NHI302", f"{obj.address} only denies{to}: {_listed(denies)}; it grants "
                  "nothing, so a narrowing needs no approval", "privileges",
                  denies[0].line, variant="narrowed")
        return
    if obj.type not in _ATTACHMENTS:
        return
    policies = {(_module(o), o.address): o for o in ctx.head_objects
                if o.platform == "aws" and o.derived_from is None}
    denies = []
    for grant in obj.privileges:
        match = _POLICY_REF.fullmatch(grant.action)
        policy = policies.get((_module(obj), match.group(1))) if match else None
        if policy is None or policy.unresolved or not policy.privileges or any(
                g.effect != "deny" for g in policy.privileges):
            return
        denies.extend(policy.privileges)
    whom = ", ".join(r for r in obj.references if r.startswith(_PRINCIPALS)) or ", ".join(
        g.resource for g in obj.privileges if g.resource != "*") or "its target"
    yield Hit("NHI302", f"{obj.address} attaches a policy that only denies, to {whom}: "
              f"{_listed(denies)}; it grants nothing, so a narrowing needs no approval",
              "privileges", obj.privileges[0].line, variant="narrowed")


def _listed(denies: Sequence[Grant]) -> str:
    shown = ", ".join(dict.fromkeys(denied(g) for g in denies))
    return shown if len(shown) < 300 else shown[:297] + "..."


#: An AWS Organizations root id (https://docs.aws.amazon.com/organizations/latest/APIReference/API_Root.html:
#: `^r-[0-9a-z]{4,32}$`): every account of the organization is under it.
_ROOT_ID = lazy_compile(r"r-[0-9a-z]{4,32}")


def moved_to_root(obj: IdentityObject, base: IdentityObject) -> Hit | None:
    """NHI302 `narrowed` (a note) for an SCP attachment that attaches the same policy as at
    base to the organization root instead of an OU or account: every account that was under
    the old target is under the root, and a service (or resource) control policy grants
    nothing, it only caps (orgs_manage_policies_scps.html), so it now caps more accounts.
    None for any other change (the policy, an unknown target, another type)."""
    if obj.type != SCP_ATTACHMENT or base.type != SCP_ATTACHMENT or obj.unresolved:
        return None
    new = {(g.action, g.resource) for g in obj.privileges}
    old = {(g.action, g.resource) for g in base.privileges}
    if (len(new) != 1 or len(old) != 1 or new == old or obj.references != base.references
            or next(iter(new))[0] != next(iter(old))[0]):
        return None
    target, was = next(iter(new))[1], next(iter(old))[1]
    if not _ROOT_ID.fullmatch(target) or "${" in was:
        return None
    return Hit("NHI302", f"{obj.address} now attaches its policy to the organization root "
               f"{target} (was {was}): it applies to every account, those under {was} "
               "included, and a control policy grants nothing; a narrowing needs no approval",
               "target_id", at="target_id", variant="narrowed")
