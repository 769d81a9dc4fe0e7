"""The changed Terraform files that manage GitHub merge protection (rulesets, branch
protection: `checker.parsers.merge_protection`), read from git at base and head (the index
for `hook`), as their guard and hole facts for NHI102 (`checker.checks.merge_protection`).

A resource moved to another file of its module is no change: each changed file's facts are
compared as its directory's, the union over the changed protection files there, whenever the
file's own facts differ between base and head (a file whose own facts are equal gets equal
sides, so an unrelated edit of it is nothing).
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Sequence

from checker import git as cg
from checker.commands.gate_job import read_at
from checker.git.repo import Repo
from checker.parsers.merge_protection import may_hold, protection_facts

Sides = tuple[frozenset[str] | None, frozenset[str] | None]
_TERRAFORM = (".tf", ".tofu", ".tf.json", ".tofu.json")


def protection_sides(repo: Repo, base: str, head: str | None, changed: Sequence[str],
                     known: Collection[str] = ()) -> dict[str, Sides]:  # fmt: skip
    """Each of the `changed` Terraform files (not in `known`) that holds a merge-protection
    resource at `base` or at `head` (None: the index) -> its facts at (base, head), compared
    as its directory's (module docstring). None on a side: the file could not be read there."""
    paths = [p for p in changed if p.endswith(_TERRAFORM) and p not in known]
    if not paths:
        return {}
    at_base = cg.read_blobs(repo, base, paths)
    at_head = read_at(repo, head, paths)
    own = {p: (protection_facts(p, at_base.get(p)), protection_facts(p, at_head.get(p)))
           for p in paths if may_hold(at_base.get(p)) or may_hold(at_head.get(p))}
    out: dict[str, Sides] = {}
    for path, sides in own.items():
        if sides[0] == sides[1]:
            out[path] = sides
            continue
        folder = posixpath.dirname(path)
        near = [s for p, s in own.items() if posixpath.dirname(p) == folder]
        out[path] = (_union(s[0] for s in near), _union(s[1] for s in near))
    return out


def _union(sides: Iterable[frozenset[str] | None]) -> frozenset[str] | None:
    """The union of facts, None when one side could not be read."""
    found: set[str] = set()
    for facts in sides:
        if facts is None:
            return None
        found |= facts
    return frozenset(found)
