"""One identity as the columns the inventory and the ledger share (the contract in README
"Identity ledger" and `checker/schemas/ledger-row.schema.json`): owner, ticket, environment,
expiry and days left, privilege flags, and the stable identity id.

The metadata keys are the config's `required_metadata` aliases (the same lookup NHI201-NHI203
use, `checks.metadata.lookup`); the expiry falls back to the identity's native end date
(`IdentityObject.lifetime.expires`). The privilege flags are `policy.privileges` judgements,
the same as NHI301's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping

from checker.checks.environments import infer_environment
from checker.checks.metadata import lookup
from checker.model import IdentityObject
from checker.policy.config import Config
from checker.policy.privileges import privilege_flags

#: The columns `governance` adds, in order, with their value when nothing is known.
Row = dict[str, object]


def is_workload(obj: IdentityObject) -> bool:
    """True for a workload's facet (a Kubernetes Deployment, Job, ... or an AWS Lambda/ECS
    task: `parsers/kubernetes/workloads.py`, `parsers/terraform/workloads.py`): a
    `role_binding` derived from its own address, binding the workload to the identity it runs
    as (`references`). The inventory shows it as a `workload` with that identity (`runs_as`),
    and the ledger records it like an identity, so it has a creator."""
    return obj.kind == "role_binding" and obj.derived_from is not None and (
        obj.derived_from == obj.address)


def identity_id(obj: IdentityObject) -> str:
    """A stable id for `obj`: kind, platform and address hashed (16 hex digits), without its
    path, so a block moved to another file keeps it. Two identities with the same address in
    different files (two modules each with `aws_iam_role.ci`) are told apart by the ledger,
    which adds the path for the second one (`checker.ledger.events`)."""
    key = "\x1f".join((obj.kind, obj.platform, obj.address))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def expiry_of(obj: IdentityObject, config: Config) -> str | None:
    """The identity's expiry as an ISO date: its `expires` metadata (config aliases) when it
    is a date, else the native end date it declares; None when neither is a date."""
    spec = config.required_metadata["expires"]
    for value in (lookup(obj.metadata, spec.aliases),
                  obj.lifetime.expires if obj.lifetime else None):
        if value:
            try:
                return dt.date.fromisoformat(value[:10]).isoformat()
            except ValueError:
                continue
    return None


def privileges_summary(obj: IdentityObject, table: Mapping[tuple[str, str], str]) -> Row:
    """`{"summary", "admin", "wildcard", "escalation"}`: the first grants as text (at most
    three, then "and N more"; "" when it grants nothing) and the NHI301 flags."""
    grants = [str(g) for g in obj.privileges]
    summary = "; ".join(grants[:3]) + (f" and {len(grants) - 3} more" if len(grants) > 3 else "")
    admin, wildcard, escalation = privilege_flags(obj, table)
    return {"summary": summary, "admin": admin, "wildcard": wildcard, "escalation": escalation}


def governance(obj: IdentityObject, config: Config, table: Mapping[tuple[str, str], str],
               today: dt.date) -> Row:
    """`owner`, `ticket`, `environment`, `expiry`, `expiry_days_left` (negative when expired,
    None without an expiry) and `privileges` of `obj` (see the module docstring)."""
    expiry = expiry_of(obj, config)
    days = (dt.date.fromisoformat(expiry) - today).days if expiry else None
    return {
        "owner": lookup(obj.metadata, config.required_metadata["owner"].aliases),
        "ticket": lookup(obj.metadata, config.required_metadata["ticket"].aliases),
        "environment": obj.environment or infer_environment(obj, config),
        "expiry": expiry,
        "expiry_days_left": days,
        "privileges": privileges_summary(obj, table),
    }
