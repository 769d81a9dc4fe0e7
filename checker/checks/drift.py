"""NHI302 privilege drift: what an identity may do, or who may use it, grew between base and head.

An identity check: it reads `Subject.obj` (head) and `Subject.base` (the same path and address at
base; None for a new identity, which NHI101/NHI301 judge instead). It emits at most one finding
per aspect, each naming what was added:
- `privileges`: allow grants at head that no base allow grant covers (new actions, wider
  resources, an admin-equivalent role), or deny grants base had and head dropped. AWS action
  coverage uses the IAM database (`checker.policy.aws_iam`): `s3:*` covers `s3:GetObject`, and a
  list of every S3 action covers `s3:*`. Resources and other platforms' actions compare as
  IAM-style globs (`*`, `?`), so `arn:aws:s3:::b/*` covers `arn:aws:s3:::b/key`.
- `privileges` also: an allow grant that lost an IAM `Condition` a base grant had (`s3:*`
  no longer only through one VPC endpoint) is gained, and the message names the condition;
  a deny that gained a condition applies less, so it counts as dropped.
- `privileges` on GCP and Azure: a GCP binding's `condition` and an Azure role assignment's
  ABAC `condition` are `Grant.conditions` too, so removing one is a gain ("condition <title>
  removed") and adding one a narrowing; a GCP basic role covers the basic roles below it
  (owner > editor > viewer), and an Azure scope covers every scope below it. A built-in
  admin or full-access role covers the narrower roles it includes (`role_covers`:
  AdministratorAccess, Owner, cluster-admin, roles/owner cover every role; Contributor,
  admin and roles/editor some), so swapping one for a narrower one is a narrowing. A grant whose
  action or resource is not computed (`${...}`) is left to NHI106, never named as a gain.
- `permissions_boundary`: an AWS role or user whose boundary was removed or replaced.
- `trust`: a principal that base did not trust (`AWS:*` covers every principal), an OIDC
  subject no base subject pattern covers (a trust with no subject limit accepts any subject:
  "any GitHub repository can now assume it"), or a trust condition base required and head
  dropped, or whose operator changed (`StringLike` -> `StringNotLike` or `...IfExists`), or a
  `NotPrincipal` (`checker.checks.trust_drift`); for a role binding, a subject or member base
  did not bind.
- `renewal`: a certificate or key whose replacement serves more usages ("was renewed with
  broader scope") or only lives longer ("lives longer: expires ... (was ...)")
  (validity hours or end date), or that no longer declares a lifetime at all; for any
  identity, an `expires` metadata value moved later or removed (`expires`); an AWS role whose
  `max_session_duration` grew or is no longer computed (`max_session_duration`; a shorter one
  is a narrowing, below).

Admission control that guards identity creation (policies, bindings, webhooks, Kyverno and
Gatekeeper) weakened is NHI302 too, judged by `checker.checks.admission`.

`narrows` also recognises a block turned off (`IdentityObject.dormant` at head, not at base:
`count` 1 -> 0, an emptied `for_each`) that gains nothing: Terraform destroys its instances,
so it is a removal, a `narrowed` note; and a metadata-only change (only tags, labels,
description or the `# nhi-gate:` comment differ, and not the expiry later): a note (variant
`metadata-only`), and NHI201-NHI203 judge what the change left missing (`metadata.check_changed`:
an owner it removed, not one base already lacked). Nothing it may do or trust changed.

Sources:
- IAM policy evaluation:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
- IAM conditions:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
- Permissions boundaries:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
- OIDC subject claims: https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect#example-subject-claims
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from checker.checks import admission, aws_workloads, deny_sources, metadata, moves, workloads
from checker.checks.account_access import policy_holders
from checker.checks.api import Context, Hit, Subject
from checker.checks.grant_cover import dropped_denies, gained_grants, lifted_conditions
from checker.checks.renewal import expiry_later, renewal, sessions
from checker.checks.trust_drift import trust_covered, trust_gain
from checker.checks.unresolved import removed_inputs
from checker.lazy_patterns import lazy_compile
from checker.model import Grant, IdentityObject, Trust
from checker.policy import aws_iam as iam
from checker.policy.arn_environment import is_environment
from checker.policy.privileges import admin_grants, grant_text, grants_text
from checker.provenance.attribution import Touch

#: The inner text of a `${...}` in a grant's action or resource.
_UNKNOWN = lazy_compile(r"\$\{([^{}]*)\}")


def check(subject: Subject) -> Iterator[Hit]:
    """NHI302: emit one finding per widened aspect of a changed identity (see module doc)."""
    base = subject.base
    if subject.obj.type.startswith(admission.PREFIX):
        yield from admission.check(subject)
        return
    if base is None or workloads.is_workload(subject.obj) or aws_workloads.is_cloud_workload(
            subject.obj):  # checks/workloads.py judges what a workload runs as
        return
    yield from aws_workloads.profile_drift(subject)  # an instance profile's role switched
    yield from _privileges(subject, base)
    yield from _boundary(subject, base)
    yield from _trust(subject, base)
    yield from renewal(subject, base)


def check_removed(ctx: Context, actor_of: Callable[[Sequence[str]], Touch]
                  ) -> Iterator[tuple[IdentityObject, Hit]]:  # fmt: skip
    """NHI302 for a Deny the change removed with its block: an inline deny policy or an
    attachment of a deny policy or service control policy deleted (or left to a `removed {}`
    block) widens the principal or the accounts it denied (`checks/deny_sources.py`); and for
    admission control the change deleted (`checks/admission.py`)."""
    yield from deny_sources.removal_hits(ctx, actor_of)
    yield from admission.removal_hits(ctx, actor_of)  # a deleted policy, binding or webhook


def narrows(subject: Subject) -> Iterator[Hit]:
    """NHI302 `narrowed` (a note, never blocking) when the change only narrowed the grants or
    the trust: the block apart from its grant (and trust) attributes is unchanged
    (`IdentityObject.frame_digest`: IAM policy documents and roles, custom roles, Kubernetes
    Roles and ClusterRoles in YAML or Terraform, GCP and Azure role bindings), so is
    everything else it means, nothing in it is uncomputed, it binds no new member, no allow
    grant is new (each is covered by a base grant, conditions included), no deny was dropped,
    no principal or OIDC subject is newly trusted, and some grant or trust went away or got
    narrower. The engine then judges the identity by this note alone (DESIGN.md: "narrowing
    never blocks")."""
    obj, base = subject.obj, subject.base
    if obj.type.startswith(admission.PREFIX):
        yield from admission.narrows(subject)
        return
    if base is not None and _metadata_only(obj, base) and not expiry_later(subject, base):
        keys = sorted({k for k in {*obj.metadata, *base.metadata}
                       if obj.metadata.get(k) != base.metadata.get(k)}, key=str.lower)
        yield Hit("NHI302", f"{obj.address}: only its metadata changed ({', '.join(keys)}); "
                  "its access is unchanged, so the change needs no approval", "metadata",
                  variant="metadata-only")
        yield from metadata.check_changed(subject, base)  # what the change left missing
        return
    if base is not None and obj.dormant and not base.dormant and not gained_grants(
            obj, base) and not dropped_denies(obj, base) and all(
            trust_covered(t, base.trust) for t in obj.trust):
        line = obj.attribute_lines.get("count") or obj.attribute_lines.get("for_each")
        how = "no instance: `count` 0 or an empty `for_each`"
        if _SWITCHED_OFF in obj.attribute_lines:  # parsers/terraform/toggles.py
            line = obj.attribute_lines[_SWITCHED_OFF]
            how = "switched off by `" + next((a for a in _SWITCHES if obj.attribute_lines.get(
                a) == line), "its switch") + "`"
        yield Hit("NHI302", f"{obj.address} turned off ({how}): it no longer grants anything "
                  "once applied; a removal needs no approval", "privileges", line,
                  variant="narrowed")
        return
    if base is None or (base.dormant and not obj.dormant):  # new, or a dormant block on
        yield from deny_sources.created_denies(subject)
        return
    if (root := deny_sources.moved_to_root(obj, base)) is not None:
        yield root
        return
    if _boundary_added(obj, base):
        yield Hit("NHI302", f"{obj.address} gained permissions boundary {obj.boundary} (was "
                  "none): its grants are now capped by it; a narrowing needs no approval",
                  "permissions_boundary", at="permissions_boundary", variant="narrowed")
        return
    if not obj.frame_digest or obj.frame_digest != base.frame_digest:
        return
    longer, shorter = sessions(obj, base)  # a role's `max_session_duration`
    if longer is not None or _uncomputed(obj, base) or _apart_from_grants(
            replace(obj, session=base.session), False) != _apart_from_grants(base, False):
        return  # only what is proven narrower is a narrowing
    if not set(obj.principals) <= set(base.principals) or not set(obj.bound) <= set(base.bound):
        return
    if any("${" in m for m in obj.bound):
        return  # a member nhi-gate cannot compute
    if gained_grants(obj, base) or dropped_denies(obj, base):
        return
    if any(not trust_covered(t, base.trust) for t in obj.trust):
        return
    before = {replace(g, line=None) for g in base.privileges}
    lost = {replace(g, line=None) for g in gained_grants(base, obj)}  # allows head lacks
    removed = sorted(grant_text(obj.platform, g)  # (the same ARN with its data sources: kept)
                     for g in before - {replace(g, line=None) for g in obj.privileges}
                     if g.effect != "allow" or g in lost)
    trusted = {replace(t, line=None) for t in obj.trust}
    untrusted = sorted(_trust_text(t) for t in base.trust if replace(t, line=None) not in trusted)
    unbound = [p for p in base.principals if p not in obj.principals] if not base.trust else []
    unbound += [m for m in base.bound if m not in obj.bound]
    before_denies = {replace(g, line=None) for g in base.privileges if g.effect == "deny"}
    denied = sorted(deny_sources.denied(g) for g in obj.privileges if g.effect == "deny"
                    and replace(g, line=None) not in before_denies)
    parts: list[str] = []
    if removed:
        parts.append(f"privileges narrowed (no longer grants {_shown(removed)})")
    if denied:
        parts.append(f"now denies {_shown(denied)}")
    if untrusted:
        parts.append(f"trust narrowed (no longer trusts {_shown(untrusted)})")
    if unbound:
        parts.append(f"no longer binds {_shown(unbound)}")
    if shorter is not None:
        parts.append(shorter)
    if not parts:
        return
    line = next((g.line for g in obj.privileges if g.line is not None), None) if (
        removed or denied) else next((t.line for t in obj.trust if t.line is not None), None)
    if line is None and unbound:
        line = obj.attribute_lines.get("members") or obj.attribute_lines.get("subjects")
    what = "privileges" if removed or denied else "trust" if untrusted or unbound else (
        "max_session_duration")
    line = line if line is not None else obj.attribute_lines.get(what)
    yield Hit("NHI302", f"{obj.address}{moves.was(obj, base)} {'; '.join(parts)}; a narrowing "
              "needs no approval", what, line, variant="narrowed")


#: The attributes `parsers/terraform/toggles.py` reads as switching an identity off (a custom
#: role's `stage`, a service account's `disabled`, an access key's `status`), for the wording.
_SWITCHES = ("stage", "disabled", "status")
_SWITCHED_OFF = "switched-off"


def _metadata_only(obj: IdentityObject, base: IdentityObject) -> bool:
    """True when `obj` differs from `base` only in its governance metadata: the block without
    its tags, labels and description is the same (`untagged_digest`), and so is every other
    resolved fact (grants, trust, lifetime, references, boundary, ...)."""
    def rest(o: IdentityObject) -> tuple[object, ...]:
        return (*_apart_from_grants(replace(o, metadata={})),
                sorted(repr(replace(g, line=None)) for g in o.privileges),
                sorted(repr(replace(t, line=None)) for t in o.trust))
    return (bool(obj.untagged_digest) and obj.untagged_digest == base.untagged_digest
            and dict(obj.metadata) != dict(base.metadata) and rest(obj) == rest(base))


def _shown(items: Sequence[str]) -> str:
    return "; ".join(items[:3]) + (f" and {len(items) - 3} more" if len(items) > 3 else "")


def _trust_text(t: Trust) -> str:
    return f"{t.principal} as {', '.join(t.subjects)}" if t.subjects else t.principal


def _uncomputed(obj: IdentityObject, base: IdentityObject) -> bool:
    """True when something in `obj` is not computed, so a narrowing cannot be proven. A
    Kubernetes object's entries are read from its own text (`gitops_inputs`: with a digest of
    the value), so one base had unchanged hides no widening (a removed one may:
    `removed_inputs`); a Terraform entry may read an input elsewhere that changed, so any entry
    counts."""
    if obj.platform != "kubernetes":
        return bool(obj.unresolved)
    before = {u[:3] for u in base.unresolved}
    return any(u[:3] not in before for u in obj.unresolved) or bool(removed_inputs(obj, base))


def _apart_from_grants(obj: IdentityObject, principals: bool = True) -> tuple[object, ...]:
    """What `obj` means besides its grants and trust (and, unless `principals`, whom it binds:
    `narrows` allows fewer principals)."""
    return (  # a ClusterRole's aggregation labels are whom it binds (`bound`), not metadata
        obj.kind, obj.type, sorted((k.lower(), v) for k, v in obj.metadata.items()
                                   if not k.startswith("rbac.authorization.k8s.io/aggregate-to-")),
        obj.lifetime, sorted(obj.references), obj.namespace, sorted(obj.secret_sinks),
        obj.usages, obj.principals if principals else (), obj.boundary, obj.session,
    )


# --------------------------------------------------------------------------- privileges


#: `aws_iam_policy_document` arguments whose documents the parser does not merge in
#: (`parsers/terraform/expansion.py`): a base that read its grants through them shows none.
_UNMERGED = ("source_policy_documents", "override_policy_documents")


def _privileges(subject: Subject, base: IdentityObject) -> Iterator[Hit]:
    obj = subject.obj
    # A grant whose action or resource is still `${...}` is left to NHI106 when one of the
    # identity's unresolved entries names it; else (a caller's `var.*`, a resource target:
    # not NHI106's) it is a gain, named as not known before apply (never silent).
    gained = [g for g in gained_grants(obj, base) if not _left_to_nhi106(g, obj)]
    dropped = dropped_denies(obj, base)
    if not gained and not dropped:
        return
    parts: list[str] = []
    if gained:
        shown = ", ".join(_gained_text(g, base) for g in gained[:3])
        more = f" and {len(gained) - 3} more" if len(gained) > 3 else ""
        parts.append(f"gains {shown}{more}")
        if obj.platform == "aws":
            extra = iam.summarise(g.action for g in gained if not g.not_action)
            if extra:
                parts[-1] += f" ({extra})"
        admin = admin_grants(replace(obj, privileges=tuple(gained), references=()),
                             subject.ctx.admin_table)
        if admin:
            parts.append(f"admin-equivalent: {admin[0].why}")
    if dropped:
        parts.append("drops " + ", ".join(grant_text(obj.platform, g) for g in dropped[:3]))
    line = gained[0].line if gained else None
    yield Hit("NHI302", f"{obj.address}{moves.was(obj, base)} privileges widened: "
              f"{'; '.join(parts)}{_base_allowed(base, subject.ctx)}"
              f"{policy_holders(obj, subject.ctx.head_objects)}",  # the roles it is attached to
              "privileges", line)


def _base_allowed(base: IdentityObject, ctx: Context) -> str:
    """What base allowed, for the message: ` (base allowed: A; B)`. Neither a deny nor the
    attachment of a policy that only denies (`${aws_iam_policy.deny_prod.arn}`,
    `deny_sources.attaches_denies_only`) is an allow; a grant whose action is not computed
    (`${statement.value.actions}`) is named as such, not as allowed."""
    allows = [g for g in base.privileges if g.effect == "allow"
              and not deny_sources.attaches_denies_only(g, base, ctx.base_objects)]
    was = grants_text(base.platform, [g for g in allows if not _computed_not(g.action)])
    unknown = list(dict.fromkeys(g.action for g in allows if _computed_not(g.action)))
    if unknown:
        actions = ", ".join(f"`{a}`" for a in unknown[:2])
        if was:
            return f" (base allowed: {'; '.join(was)}; and actions not computed: {actions})"
        return f" (what base allowed was not computed: its actions {actions})"
    unread = [a for a in _UNMERGED if a in base.attribute_lines]
    if unread and not was:  # its documents are not merged in: "nothing" would be wrong
        return f" (what base allowed through its {' and '.join(unread)} is not read)"
    if base.unresolved and not was:  # base's grants were not computed: not "nothing" either
        return f" (what base allowed was not computed: `{base.unresolved[0].expression}`)"
    return f" (base allowed: {'; '.join(was)})" if was else " (base allowed nothing)"


def _computed_not(action: str) -> bool:
    """True when `action` holds a `${...}` that is not the run's partition, region or account
    id (`arn_environment.is_environment`)."""
    return any(not is_environment(p) for p in _UNKNOWN.findall(action))


def _left_to_nhi106(grant: Grant, obj: IdentityObject) -> bool:
    """True for a grant with a `${...}` part that an NHI106 entry of `obj` names."""
    parts = _UNKNOWN.findall(f"{grant.action} {grant.resource}")
    return bool(parts) and any(p.strip() in u.expression or u.expression in p
                               for p in parts for u in obj.unresolved)


def _gained_text(grant: Grant, base: IdentityObject) -> str:
    lifted = lifted_conditions(grant, base)
    shown = grant_text(base.platform, grant)
    text = f"{shown} (condition {', '.join(lifted)} removed)" if lifted else shown
    unknown = sorted({p.strip() for p in _UNKNOWN.findall(f"{grant.action} {grant.resource}")
                      if not is_environment(p)})  # the run's partition, region, account
    if unknown:
        text += (f" ({', '.join(unknown)} not known before apply: it may be any value, a human "
                 "must review what it grants)")
    return text


def _boundary_added(obj: IdentityObject, base: IdentityObject) -> bool:
    """True when the change only gave `obj` a permissions boundary (base had none, or its
    value was null): a boundary caps the grants, so nothing else it means (grants, trust,
    metadata, computed inputs) may have changed
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html)."""
    if base.boundary is not None or obj.boundary is None or _uncomputed(obj, base):
        return False
    facts = [(_apart_from_grants(replace(o, boundary=None)),
              sorted(repr(replace(g, line=None)) for g in o.privileges),
              sorted(repr(replace(t, line=None)) for t in o.trust)) for o in (obj, base)]
    return facts[0] == facts[1]


def _boundary(subject: Subject, base: IdentityObject) -> Iterator[Hit]:
    """A `permissions_boundary` base declared that head removed or replaced: the boundary
    capped every grant, so without it (or with another policy, whose content is not compared)
    the grants may allow more. Source:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"""
    obj = subject.obj
    if base.boundary is None or obj.boundary == base.boundary:
        return
    if obj.boundary is None:
        what = (f"permissions boundary {base.boundary} removed: its grants are no longer "
                "capped")
    else:
        what = (f"permissions boundary changed to {obj.boundary} (was {base.boundary}); the "
                "new boundary may allow more")
    yield Hit("NHI302", f"{obj.address} privileges widened: {what}", "permissions_boundary",
              at="permissions_boundary")


# --------------------------------------------------------------------------- trust


def _trust(subject: Subject, base: IdentityObject) -> Iterator[Hit]:
    obj = subject.obj
    added: list[str] = []
    line: int | None = None
    for t in obj.trust:
        if trust_covered(t, base.trust):
            continue
        added.append(trust_gain(t, base.trust))
        line = line if line is not None else t.line
    if obj.kind == "role_binding":
        before = set(base.references) | set(base.principals) | set(base.bound)
        new = [r for r in (*obj.references, *obj.principals, *obj.bound) if r not in before]
        added.extend(f"subject {r}" for r in dict.fromkeys(new))
        if new and line is None:
            line = obj.attribute_lines.get("subjects") or obj.attribute_lines.get("members")
    if not added:
        return
    shown = "; ".join(added[:3]) + (f" and {len(added) - 3} more" if len(added) > 3 else "")
    yield Hit("NHI302", f"{obj.address} trusts more principals: {shown}", "trust", line)
