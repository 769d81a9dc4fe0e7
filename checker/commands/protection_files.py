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
import re
from collections.abc import Collection, Iterable, Sequence

from checker import git as cg
from checker.commands.gate_job import read_at
from checker.git.repo import Repo
from checker.lazy_patterns import lazy_compile
from checker.model import ModuleSources, SourceFile
from checker.parsers.common import is_tfvars, is_var_file
from checker.parsers.merge_protection import may_hold, protection_facts
from checker.sources.modules import (
    group_modules,
    is_module_file,
    owner_directory,
    var_file_directories,
)

Sides = tuple[frozenset[str] | None, frozenset[str] | None]
_TERRAFORM = (".tf", ".tofu", ".tf.json", ".tofu.json")
#: A `locals {` or `variable "x" {` block may start on this line (a byte test).
_DEFINES = lazy_compile(rb"^[ \t]*(?:locals|variable)\b", re.MULTILINE)
#: Files larger than this are not read for values (`Config.max_file_bytes`' default).
_MAX_BYTES = 2 * 1024 * 1024


def protection_sides(repo: Repo, base: str, head: str | None, changed: Sequence[str],
                     known: Collection[str] = ()) -> dict[str, Sides]:  # fmt: skip
    """Each of the `changed` Terraform files (not in `known`) that holds a merge-protection
    resource at `base` or at `head` (None: the index) -> its facts at (base, head), compared
    as its directory's (module docstring). None on a side: the file could not be read there.

    The facts are read with the module's values (`_module_files`): a changed value file
    (`terraform.tfvars`, a `.tf` file's `locals` or `variable` default) of a directory whose
    protection resources then mean something else is keyed too, with that directory's facts:
    `mode = "disabled"` in `terraform.tfvars` switches a ruleset off although no line of it
    changed."""
    wanted = [p for p in changed if p not in known and (p.endswith(_TERRAFORM) or (
        is_module_file(p)))]
    if not wanted:
        return {}
    own_base = cg.read_blobs(repo, base, wanted)
    own_head = read_at(repo, head, wanted)
    values = [p for p in wanted if is_tfvars(p) or is_var_file(p) or any(
        _DEFINES.search(side.get(p) or b"") for side in (own_base, own_head))]
    folders = _protected(repo, (base, head), {owner_directory(p) for p in values})
    sides = [_module_files(repo, rev, folders) for rev in (base, head)]
    paths = sorted({*(p for p in wanted if p.endswith(_TERRAFORM)),
                    *(p for side in sides for p, b in side.items() if p.endswith(_TERRAFORM)
                      and may_hold(b))})
    at_base = {**own_base, **cg.read_blobs(repo, base, [p for p in paths if p not in own_base
                                                        and p not in sides[0]]), **sides[0]}
    at_head = {**own_head, **read_at(repo, head, [p for p in paths if p not in own_head
                                                  and p not in sides[1]]), **sides[1]}
    modules = [_modules(side) for side in sides]
    own = {p: (protection_facts(p, at_base.get(p), modules[0].get(posixpath.dirname(p))),
               protection_facts(p, at_head.get(p), modules[1].get(posixpath.dirname(p))))
           for p in paths if may_hold(at_base.get(p)) or may_hold(at_head.get(p))}
    out: dict[str, Sides] = {}
    for path in wanted:
        folder = owner_directory(path) if is_module_file(path) else posixpath.dirname(path)
        mine = own.get(path)
        near = [s for p, s in own.items() if posixpath.dirname(p) == folder]
        if mine is None and (not near or all(s[0] == s[1] for s in near) or path not in values):
            continue  # no protection here, or a file that sets no value of one
        if mine is not None and mine[0] == mine[1]:
            out[path] = mine
            continue
        out[path] = (_union(s[0] for s in near), _union(s[1] for s in near))
    return out


def _protected(repo: Repo, revs: tuple[str, str | None], folders: set[str]) -> list[str]:
    """The sorted `folders` that hold a merge-protection resource at either of `revs` (one
    `git grep` each, only when there are folders)."""
    if not folders:
        return []
    found = {d for rev in revs for d in cg.grep_directories(
        repo, rev, ["github_repository_ruleset", "github_organization_ruleset",
                    "github_branch_protection"], (".tf", ".tofu"))}
    return sorted(folders & found)


def _module_files(repo: Repo, rev: str | None, folders: Sequence[str]) -> dict[str, bytes]:
    """path -> bytes of the configuration and value files of `folders` at `rev` (None: the
    index; `-var-file` files in their `envs/`-like subdirectories too)."""
    if not folders:
        return {}
    entries = cg.read_directory_entries(
        repo, rev, [*folders, *var_file_directories(folders)],
        (".tf", ".tofu", ".tf.json", ".tofu.json", ".tfvars", ".tfvars.json"),
        max_bytes=_MAX_BYTES)
    return {p: e.data for p, e in entries.items() if e.data is not None}


def _modules(files: dict[str, bytes]) -> dict[str, ModuleSources]:
    """directory -> the module values' sources among `files` (`group_modules`)."""
    return group_modules([SourceFile(p, b) for p, b in sorted(files.items())
                          if is_module_file(p)])


def _union(sides: Iterable[frozenset[str] | None]) -> frozenset[str] | None:
    """The union of facts, None when one side could not be read."""
    found: set[str] = set()
    for facts in sides:
        if facts is None:
            return None
        found |= facts
    return frozenset(found)
