"""What a change did to an identity's meaning, in words, for a message whose finding sits on
lines the change did not add (NHI101 on a workflow job's OIDC token whose job now holds more
repository secrets: the `id-token: write` line it points at is unchanged).

Read from the parsed identity at base and head only (its references, grants, environment,
metadata, lifetime, trust, boundary, sinks, bindings): never from source text, so it names no
secret value; a repository secret is named by its name (`secrets.NAME` is no value).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from checker.model import IdentityObject

#: How many names a phrase lists before it counts the rest.
_SHOWN = 5


def _names(values: Iterable[str]) -> str:
    """`a, b, c` (and `and N more` past `_SHOWN`)."""
    listed = list(values)
    shown = ", ".join(listed[:_SHOWN])
    return shown + (f" and {len(listed) - _SHOWN} more" if len(listed) > _SHOWN else "")


def _reference_phrases(obj: IdentityObject, base: IdentityObject) -> list[str]:
    """The references `obj` gained and lost, a job's repository secrets (`<job>.secrets.NAME`)
    and credential steps (`<job>.steps[N]`) named by their last part, in head (base) order."""
    had, has = set(base.references), set(obj.references)
    gained = [r for r in obj.references if r not in had]
    lost = [r for r in base.references if r not in has]
    out: list[str] = []
    for refs, verb in ((gained, "now"), (lost, "no longer")):
        secrets = [r.rpartition(".secrets.")[2] for r in refs if ".secrets." in r]
        steps = [r.rpartition(".")[2] for r in refs
                 if ".secrets." not in r and r.rpartition(".")[2].startswith("steps[")]
        other = [r for r in refs if ".secrets." not in r
                 and not r.rpartition(".")[2].startswith("steps[")]
        if secrets:
            out.append(f"it {verb} holds the secret{'s' if len(secrets) > 1 else ''} "
                       f"{_names(secrets)}")
        if steps:
            out.append(f"its token {verb} reaches the credential "
                       f"step{'s' if len(steps) > 1 else ''} {_names(steps)}")
        if other:
            out.append(f"it {verb} references {_names(other)}")
    return out


def what_changed(obj: IdentityObject, base: IdentityObject | None) -> str:
    """What `obj` (head) means that `base` did not, as `; `-joined phrases (`it now holds the
    secrets A, B; gains s3:* on *`), "" when nothing nhi-gate reads of it differs (a change
    of what its source says that its parsed meaning does not show) or there is no base."""
    if base is None:
        return ""
    out = _reference_phrases(obj, base)
    old = {replace(g, line=None) for g in base.privileges}
    new = {replace(g, line=None) for g in obj.privileges}
    gained = sorted(str(g) for g in new - old)
    lost = sorted(str(g) for g in old - new)
    out += [f"gains {_names(gained)}"] if gained else []
    out += [f"loses {_names(lost)}"] if lost else []
    if obj.environment != base.environment:
        out.append(f"its environment {base.environment or '(none)'} -> "
                   f"{obj.environment or '(none)'}")
    keys = sorted(k for k in {*obj.metadata, *base.metadata}
                  if obj.metadata.get(k) != base.metadata.get(k))
    out += [f"its metadata {_names(keys)} changed"] if keys else []
    if obj.lifetime != base.lifetime:
        out.append("its lifetime changed")
    if {replace(t, line=None) for t in obj.trust} != {replace(t, line=None) for t in base.trust}:
        out.append("who may assume it changed")
    if obj.boundary != base.boundary:
        out.append(f"its permissions boundary {base.boundary or '(none)'} -> "
                   f"{obj.boundary or '(none)'}")
    if set(obj.secret_sinks) != set(base.secret_sinks):
        out.append("where its secret material goes changed")
    if set(obj.bound) != set(base.bound):
        out.append("whom it is bound to changed")
    return "; ".join(out)
