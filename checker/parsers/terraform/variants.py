"""`-var-file` values: a module's identities judged under each of its var files too.

A root module is applied with the auto-loaded `.tfvars` files and, often, one of several
`-var-file` files (`prod.tfvars`, `envs/ci.tfvars`:
https://developer.hashicorp.com/terraform/language/values/variables#variable-definitions-tfvars-files).
Each is a possible set of values, so an identity's grants are the union over the auto-loaded
values and each var file's values (`merge`); a var file's values it read are its inputs, so a
change to that file changes the identity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TypeVar

from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject, ModuleSources
from checker.parsers.common import is_var_file
from checker.parsers.terraform.values import var_file_names

_T = TypeVar("_T")

#: A `var.NAME` or `local.NAME` reference in a file's text.
_READS = lazy_compile(r"\b(var|local)\.([A-Za-z_][\w-]*)")


def variants(module: ModuleSources | None, text: str) -> list[ModuleSources]:
    """One `ModuleSources` per var file of `module` (`variant` set) that sets a variable
    `text` may read: one it names as `var.NAME`, or any when it reads a `local.NAME` (a local
    may read a variable). Empty for no module, a variant already, or no var file."""
    if module is None or module.variant:
        return []
    var_files = [s for s in module.sources if is_var_file(s.path)]
    if not var_files:  # most modules: the text is not searched
        return []
    reads = {(m.group(1), m.group(2)) for m in _READS.finditer(text)}
    names = {n for kind, n in reads if kind == "var"}
    via_locals = any(kind == "local" for kind, _ in reads)
    out: list[ModuleSources] = []
    for src in var_files:
        sets = var_file_names(src)
        if sets and (via_locals or names & sets):
            out.append(replace(module, variant=src.path))
    return out


def merge(base: Sequence[IdentityObject], other: Iterable[IdentityObject]
          ) -> tuple[IdentityObject, ...]:  # fmt: skip
    """`base` with each identity of `other` (the same file read under a var file's values)
    joined in: for the same address, its grants, trust, principals, inputs and unresolved
    values added (first occurrence kept) and its digests combined when they differ; an address
    only `other` has (a `count` a var file turns on) added. Order: `base`'s, then new ones."""
    out = {obj.address: obj for obj in base}
    for obj in other:
        have = out.get(obj.address)
        if have is None:
            out[obj.address] = obj
            continue
        out[obj.address] = replace(
            have,
            privileges=_union(have.privileges, obj.privileges),
            trust=_union(have.trust, obj.trust),
            principals=_union(have.principals, obj.principals),
            references=_union(have.references, obj.references),
            inputs=_union(have.inputs, obj.inputs),
            unresolved=_union(have.unresolved, obj.unresolved),
            digest=_combine(have.digest, obj.digest),
            frame_digest=_combine(have.frame_digest, obj.frame_digest),
            untagged_digest=_combine(have.untagged_digest, obj.untagged_digest),
        )
    return tuple(out.values())


def _union(first: tuple[_T, ...], second: tuple[_T, ...]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys((*first, *second)))


def _combine(first: str, second: str) -> str:
    """`first` when equal (or either is "", no digest), else a digest of both."""
    if first == second or not first or not second:
        return first
    return hashlib.sha256(f"{first}|{second}".encode()).hexdigest()
