"""NHI301: wildcard, admin-equivalent or escalation grants (the tables in
`rules/privileges.yaml`, read through `checker.policy.privileges`). The headline says which
(`headline`): `grants wildcard or admin privileges`, or what an escalation lets the holder do
(`reads Secrets`); a Kubernetes core-group resource is shown as `core/secrets`.

A wildcard that only applies under IAM conditions (every such grant has a `Condition`, e.g.
`s3:*` only through one VPC endpoint) is still reported, naming the conditions, as the
`conditional` variant (a warning): the condition narrows who can use it, not what it allows.
A condition that limits nothing (`aws:SecureTransport`) does not make a grant conditional.
Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from checker.checks.account_access import account_access
from checker.checks.api import Hit, Subject
from checker.model import Grant
from checker.policy.privileges import AdminGrant, admin_grants, grant_text

#: Condition keys that do not limit who may use a grant or from where: every AWS SDK call
#: already uses TLS (`aws:SecureTransport`). A wildcard under only these is unconditional.
#: Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport
_NON_LIMITING = frozenset({"aws:securetransport"})


def limiting_conditions(grant: Grant) -> tuple[str, ...]:
    """`grant.conditions` without those that limit nothing (`_NON_LIMITING`, by key)."""
    return tuple(c for c in grant.conditions
                 if c.split(":", 1)[-1].lower() not in _NON_LIMITING)


def check(subject: Subject) -> Iterator[Hit]:
    """NHI301: wildcard or admin-equivalent grants, one finding per identity; variant
    `conditional` when every one of them applies only under an IAM `Condition`."""
    obj = subject.obj
    found = admin_grants(obj, subject.ctx.admin_table)
    found += [a for a in _bound_sync_accounts(subject) if a.grant not in {f.grant for f in found}]
    if not found:
        return
    shown = "; ".join(f"{grant_text(obj.platform, a.grant)} ({a.why})" for a in found[:3])
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    what = headline(found)
    # AWS IAM conditions only: GCP and Azure binding conditions (on `Grant.conditions` for
    # NHI302) are free-form expressions nhi-gate does not judge, so they do not lower NHI301.
    if obj.platform == "aws" and all(limiting_conditions(a.grant) for a in found):
        yield Hit("NHI301",
                  f"{obj.address} {what} only under IAM conditions: "
                  f"{shown}{more}", "privileges", found[0].grant.line, variant="conditional")
        return
    yield Hit("NHI301", f"{obj.address} {what}: {shown}{more}", "privileges",
              found[0].grant.line)


def headline(found: Sequence[AdminGrant]) -> str:
    """What the grants `found` let the holder do, for NHI301's headline: `grants wildcard or
    admin privileges` for a wildcard or admin-equivalent grant, each escalation's own headline
    (`reads Secrets`, `creates Pods`: `rules/privileges.yaml`), joined with `, ` and `and`."""
    phrases = (["grants wildcard or admin privileges"]
               if any(a.headline is None for a in found) else [])
    phrases += list(dict.fromkeys(a.headline for a in found if a.headline is not None))
    if len(phrases) < 2:
        return phrases[0] if phrases else "grants wildcard or admin privileges"
    return f"{', '.join(phrases[:-1])} and {phrases[-1]}"


def _bound_sync_accounts(subject: Subject) -> list[AdminGrant]:
    """An Argo CD AppProject's sync accounts (`argocd:sync-as/<ns>:<name>` grants, no pattern)
    that a binding among the run's objects makes admin-equivalent (`account_access`: bound to
    `cluster-admin`, `admin` or a wildcard role): the project's applications are synced with
    that account. Source:
    https://argo-cd.readthedocs.io/en/stable/operator-manual/app-sync-using-impersonation/"""
    obj, ctx = subject.obj, subject.ctx
    if obj.type != "argoproj.io/AppProject":
        return []
    out: list[AdminGrant] = []
    for grant in obj.privileges:
        namespace, _, name = grant.action.removeprefix("argocd:sync-as/").partition(":")
        if not grant.action.startswith("argocd:sync-as/") or any(
                c in namespace for c in "*?[(") or not name:
            continue
        access = account_access(f"ServiceAccount/{namespace}/{name}", ctx.head_objects,
                                ctx.admin_table)
        if access is not None and access.admin:
            out.append(AdminGrant(grant, f"synced as {namespace}:{name}, which the "
                                  f"repository binds to {access.admin[0]}"))
    return out
