"""Cloud workloads in Terraform and the identity they run as, for `checker.checks.workloads`
(split from it): NHI302 when a workload's role attribute (a Lambda function's `role`, an ECS
task definition's `task_role_arn`, an EC2 instance's `iam_instance_profile`, a GCE instance's
`service_account.email`, ...: `checker.parsers.terraform.workloads.RUNS_AS`) now names an
identity that may do more (or that the change does not show), and NHI101 when an agent or bot
created such a workload with one or changed it. The facet has `runsAs.<path>` lines; identities
are compared through `checker.checks.account_access.role_access` (the identity's grants and
those of the policies, attachments and bindings that reference it among the run's objects).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from checker.checks.account_access import AccountAccess, role_access, switch_message
from checker.checks.admin_roles import admin_role, known_admin, narrowed_from_admin
from checker.checks.api import Hit, Subject
from checker.checks.workload_switch import HUMAN_VARIANT
from checker.model import PROVIDER, IdentityObject


def is_cloud_workload(obj: IdentityObject) -> bool:
    """True for an AWS, GCP or Azure workload facet (a Lambda function, an EC2 instance, a GCE
    instance, an Azure function app, ...; see module doc) or a provider block's facet (the
    identity Terraform runs as, any platform)."""
    return ((obj.platform in ("aws", "gcp", "azure") or obj.type.startswith(PROVIDER))
            and obj.derived_from == obj.address
            and any(k.startswith("runsAs.") for k in obj.attribute_lines))


#: The address suffix of a resource's provider facet (`parsers/terraform/provider_use.py`).
USES = "#provider"


def narrows(subject: Subject) -> Iterator[Hit]:
    """NHI302 `narrowed` (a note) for a cloud workload or provider facet switched away from a
    known administrator role (`admin_roles`) to another role of the same account: the old role
    could already do everything, so the new one cannot do more."""
    obj, base = subject.obj, subject.base
    if base is None or not is_cloud_workload(obj):
        return
    lines = [k for k in obj.attribute_lines if k.startswith("runsAs.")]
    was = narrowed_from_admin([*base.references, *base.principals],
                              [*obj.references, *obj.principals])
    if was is not None and lines:
        now = ", ".join((*obj.references, *obj.principals))
        yield Hit("NHI302", f"{obj.address} now runs as {now} (was {was}, {admin_role(was)}): "
                  "the new role cannot do more than an administrator role of the same account; "
                  "a narrowing needs no approval", lines[0], at=lines[0], variant="narrowed")


def _implicit_before(subject: Subject) -> bool:
    """True for a resource's provider facet with no base twin whose block existed at base (its
    first line was not added): the resource ran as its provider's default configuration and
    the change named another one (`provider = aws.admin` added)."""
    obj = subject.obj
    return (subject.base is None and obj.address.endswith(USES)
            and obj.location.start_line not in subject.touch.lines)


def _was(obj: IdentityObject) -> str:
    """What a workload with no base identity ran as, in words."""
    if obj.address.endswith(USES):
        return f"the default `{obj.type[len(PROVIDER):]}` provider configuration"
    return "no role"


def _noun(obj: IdentityObject) -> str:
    """What a workload of `obj`'s platform runs as, in words."""
    return {"gcp": "service account", "azure": "managed identity"}.get(obj.platform, "role")


def role_drift(subject: Subject) -> Iterator[Hit]:
    """NHI302 for a cloud workload facet that runs as an identity base did not name, when that role
    may do more than the roles it ran as (or the change does not show it): compared through
    `account_access.role_access`."""
    obj, base, ctx = subject.obj, subject.base, subject.ctx
    if ctx.mode == "scan" or not is_cloud_workload(obj) or (
            base is None and not _implicit_before(subject)):
        return
    old = [*base.references, *base.principals] if base is not None else []
    new = [r for r in (*obj.references, *obj.principals) if r not in old]
    if not new:
        return
    variant = HUMAN_VARIANT if subject.touch.actor_kind == "human" else None
    lines = {k: v for k, v in obj.attribute_lines.items() if k.startswith("runsAs.")}
    attr = next((k for k, v in lines.items() if v in subject.touch.lines), next(iter(lines)))
    seen = [role_access(r, ctx.base_objects, ctx.admin_table)
            or role_access(r, ctx.head_objects, ctx.admin_table) for r in old]
    before = None if not old or None in seen else AccountAccess(
        (), frozenset().union(*(a.grants for a in seen if a)),
        tuple(sorted({w for a in seen if a for w in a.admin})))
    for role in new:
        unseen = f"the {_noun(obj)} is not defined in the change"
        message = switch_message(obj.address, role, ", ".join(old) or _was(obj),
                                 role_access(role, ctx.head_objects, ctx.admin_table), before,
                                 known_admin(role) or unseen)
        if message is not None:
            yield Hit("NHI302", message, attr, lines[attr], variant=variant)


def profile_drift(subject: Subject) -> Iterator[Hit]:
    """NHI302 for an EC2 instance profile (`aws_iam_instance_profile`) whose role changed to
    one that may do more than the one it handed out (or that the change does not show),
    compared like a workload's role (`role_drift`): every instance launched with the profile
    runs as its role (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2_instance-profiles.html).
    A person's change is the `workload-human` variant (a warning)."""
    obj, base, ctx = subject.obj, subject.base, subject.ctx
    if ctx.mode == "scan" or base is None or obj.type != _PROFILE:
        return
    old = [*base.references, *base.principals]
    new = [r for r in (*obj.references, *obj.principals) if r not in old]
    seen = [role_access(r, ctx.base_objects, ctx.admin_table)
            or role_access(r, ctx.head_objects, ctx.admin_table) for r in old]
    before = None if not old or None in seen else AccountAccess(
        (), frozenset().union(*(a.grants for a in seen if a)),
        tuple(sorted({w for a in seen if a for w in a.admin})))
    runners = _runners(obj, ctx.head_objects)
    tail = f": {runners}" if runners else ": no workload in the change runs as it"
    for role in new:
        message = switch_message(obj.address, role, ", ".join(old) or "no role",
                                 role_access(role, ctx.head_objects, ctx.admin_table), before,
                                 known_admin(role) or "the role is not defined in the change",
                                 verb="hands out")
        if message is not None:
            yield Hit("NHI302", message + tail, "role", at="role",
                      variant=HUMAN_VARIANT if subject.touch.actor_kind == "human" else None)


def role_approval(subject: Subject) -> Iterator[Hit]:
    """NHI101 for a cloud workload facet (Lambda, ECS task definition, EC2 instance, GCE
    instance, ...) an agent or bot created with a role or service account, or whose one it
    changed (by meaning: a re-aligned `role` line naming the same
    role is no change; a role that is neither a catalogued reference nor a literal ARN, such as
    `var.role_arn`, counts as changed when its line was written: fail closed)."""
    obj, touch, base = subject.obj, subject.touch, subject.base
    if subject.ctx.mode == "scan" or touch.actor_kind not in ("agent", "bot"):
        return
    if base is None and obj.address.endswith(USES) and not _implicit_before(subject):
        return  # a new resource created with a provider configuration: the resource is judged
    lines = {k: v for k, v in obj.attribute_lines.items() if k.startswith("runsAs.")}
    written = [k for k, v in lines.items() if v in touch.lines]
    known = (obj.references, obj.principals)
    if base is None or not any(known):
        changed = bool(written)
    else:
        changed = (base.references, base.principals) != known
    if not changed:
        return
    attr = (written or list(lines) or ["runsAs.role"])[0]
    noun = _noun(obj)
    role = ", ".join((*obj.references, *obj.principals)) or f"the {noun} in `{attr[7:]}`"
    who = touch.agent or touch.actor_kind
    where = f" in commit {touch.commit[:12]}" if touch.commit else ""
    what = (f"Terraform creates and changes {obj.address[:-len(USES)]} with that identity's "
            "privileges" if obj.address.endswith(USES) else
            "Terraform creates every resource of the configuration with that identity's "
            "privileges" if obj.type.startswith(PROVIDER)
            else f"the workload gets every privilege of that {noun}")
    yield Hit("NHI101",
              f"{obj.address} was set to run as {role} by {touch.actor_kind} ({who}){where} "
              f"without a human's approval: {what}", attr, lines.get(attr))


def profile_runners(obj: IdentityObject, base: IdentityObject | None,
                    objects: Sequence[IdentityObject]) -> str:
    """For an EC2 instance profile whose role changed: the role it now hands out (and was)
    and the workloads among `objects` (the run's, with a module's unchanged files that name
    the profile: `sources.modules.uses_module_values`) that run as it, as a message tail
    (`; its role is now ... : aws_instance.web (iam.tf:15) runs as it`); empty otherwise."""
    if obj.type != _PROFILE or base is None or base.references == obj.references:
        return ""
    runners = _runners(obj, objects)
    now = ", ".join(obj.references) or "no role"
    was = ", ".join(base.references) or "no role"
    who = f": {runners}" if runners else ": no workload in the change runs as it"
    return f"; its role is now {now} (was {was}){who}"


#: The EC2 instance profile type: what its instances run as is its role.
_PROFILE = "aws_iam_instance_profile"


def _runners(profile: IdentityObject, objects: Sequence[IdentityObject]) -> str:
    """The workloads among `objects` that run as `profile`, with where they say so
    (`aws_instance.web (ec2.tf:10) runs as it`), or ""."""
    found = [f"{o.address} ({o.location.path}:{o.attribute_lines.get(k, o.location.start_line)})"
             for o in objects if is_cloud_workload(o) and profile.address in o.references
             for k in [next((a for a in o.attribute_lines if a.startswith("runsAs.")), "")]]
    return f"{', '.join(found)} {'runs' if len(found) == 1 else 'run'} as it" if found else ""
