"""Local module calls: the called module's identities, read with the caller's arguments.

`module "ci" { source = "./modules/iam" policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess" }`
creates whatever `modules/iam` declares, with `var.policy_arn` set by the call. So the grant
lives in the caller's argument: `callee_identities` reads every catalogued block of the
called
module (its `.tf`/`.tofu` files come with the caller's `ModuleSources.files`, found by
`checker.sources.modules`) with a `ModuleSources` whose `arguments` are the call's literal
arguments (`checker.parsers.terraform.values.module_values` puts them in place of the
variables' defaults and names them `module.ci argument policy_arn`), and addresses them
`module.ci.<address>` as Terraform does
(https://developer.hashicorp.com/terraform/language/modules/syntax#accessing-module-output-values).
An agent changing only the argument then changes those identities, through the caller's line.

An identity the call's arguments switch off (`count` known to be 0 or `for_each` known to be
empty with the call's values, `expansion.dormant`: `module "k" { create = false }`) is not
read: this call creates no instance of it, and what the module can create under other values is
its own copy's meaning (the module's files read with their defaults, judged as written). A call
that switches an identity off which it had on is a removal, as Terraform would plan it.

A called module under a folder the config excludes is still read this way: the root calls
it, so what it creates is part of the root's meaning (the exclusion stops the module being
judged on its own, not the call being judged). A called module's own local calls are read
the same way, with the arguments it passes (`var.actions` is what its caller set), up to
`MAX_DEPTH` calls deep (`module.app.module.role.aws_iam_role.this`); a call whose module files
are not at hand, or that is deeper, gives None (the caller falls back to the call's own
arguments, `modules.module_identities`, and a nested call not followed is an NHI106 facet:
`unread.remote_module_facet`).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import replace

from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject, Location, ModuleSources
from checker.parsers.common import (
    MAX_MODULE_DEPTH,
    file_reference,
    file_references,
    word_alternation,
)
from checker.parsers.terraform.hcl import load
from checker.parsers.terraform.identities import FORMAT
from checker.parsers.terraform.nodes import Block, Doc, hcl_blocks
from checker.parsers.terraform.resolver import Resolver
from checker.parsers.terraform.toggles import switchable
from checker.policy.catalogue import Catalogue

#: Module block arguments that are Terraform's, not the module's variables
#: (https://developer.hashicorp.com/terraform/language/modules/syntax#meta-arguments).
_META_ARGUMENTS = frozenset(
    {"source", "version", "count", "for_each", "providers", "depends_on"})

#: A `resource`/`data`/`module` block header at the start of a line: a file without one defines
#: no identity (its values are read by `values.module_values`).
_BLOCK_HEADER = lazy_compile(rb'(?m)^[ \t]*(?:resource|data|module)[ \t]+"')

Build = Callable[[list[Block], Doc, ModuleSources], tuple[IdentityObject, ...]]
#: How many local module calls deep `callee_identities` follows; a call below that is an NHI106
#: facet naming it (`unread.remote_module_facet`, fail closed).
MAX_DEPTH = MAX_MODULE_DEPTH

#: The last (catalogue, pattern) built by `_type_names`: one catalogue object per run.
_LAST_NAMES: list[tuple[Catalogue, re.Pattern[bytes]]] = []


def _type_names(catalogue: Catalogue) -> re.Pattern[bytes]:
    """Any catalogued Terraform type name (`data.` dropped, `:refinement` dropped), `module`
    (a nested call: `modules.module_identities`) or a backslash (an escaped label)."""
    if _LAST_NAMES and _LAST_NAMES[0][0] is catalogue:
        return _LAST_NAMES[0][1]
    words = {t.split(":", 1)[0].removeprefix("data.") for t in catalogue.types(FORMAT)
             if not t.startswith("module:")} | {"module"}
    pattern = word_alternation({w.encode() for w in words} | {b"\\"})
    _LAST_NAMES[:] = [(catalogue, pattern)]
    return pattern


def may_build(raw: bytes, catalogue: Catalogue) -> bool:
    """False when a called module's file `raw` holds no catalogued type name, no `module`
    block and no escape, and is plain ASCII: `build` would find no identity in it, so it is
    not parsed (its `locals` and variables are still read, `values.module_values`)."""
    if not raw.isascii():
        return True
    return _type_names(catalogue).search(raw) is not None


def callee_identities(block: Block, module: ModuleSources | None, build: Build,
                      catalogue: Catalogue) -> list[IdentityObject] | None:  # fmt: skip
    """The identities of the local module `block` calls, read with its arguments (see the
    module doc), or None when `block` calls no local module whose files are in
    `module.files`. `build` turns one callee file's blocks into identities
    (`checker.parsers.terraform._build`); only the files that may hold one of `catalogue`'s
    types are parsed for it (`may_build`)."""
    source = block.node.body.get("source")
    if module is None or not isinstance(source, str) or not source.startswith(("./", "../")) or (
            module.caller.count("module.") >= MAX_DEPTH):
        return None
    directory = file_reference(module.directory, source.strip().rstrip("/"))
    if directory is None or directory == module.directory:
        return None
    configs = [s for s in module.files if posixpath.dirname(s.path) == directory
               and s.path.lower().endswith((".tf", ".tofu"))]
    if not configs:
        return None
    address = f"module.{block.labels[0]}"
    caller = f"{module.caller}.{address}" if module.caller else address
    node = block.node
    resolver = Resolver(module)
    arguments = []
    for name, value in sorted(node.body.items()):
        if name in _META_ARGUMENTS or not isinstance(name, str):
            continue
        first, last = node.attrs.get(name, (node.start, node.start))
        where = Location(node.doc.path, first, last)
        arguments.append((name, json.dumps(resolver.resolve_deep(value), default=str), where))
    named = {p for s in configs for p in file_references(s.path, s.raw)}
    callee = ModuleSources(  # with the files of the modules it calls in turn
        directory, tuple(sorted(configs, key=lambda s: s.path)),
        tuple(s for s in module.files if s.path in named or (
            s.path.lower().endswith((".tf", ".tofu"))
            and posixpath.dirname(s.path) not in (directory, module.directory))),
        caller, tuple(arguments),
    )
    # The call itself (its first line to its `source`) is an input: adding the call or pointing
    # it at another module changes what it creates; each argument is an input of its own.
    call = (f"{address} call", Location(node.doc.path, node.start,
                                        max(node.start, node.attrs.get("source", (0, 0))[1])))
    out: list[IdentityObject] = []
    for src in callee.sources:
        if not _BLOCK_HEADER.search(src.raw) or not may_build(src.raw, catalogue):
            continue  # variables.tf, outputs.tf, versions.tf, networking: nothing to build
        loaded = load(src)
        if loaded.text is None or not isinstance(loaded.data, dict):
            continue
        doc = Doc(path=src.path, lines=loaded.text.split("\n"), spans=None)
        for obj in build(list(hcl_blocks(loaded.data, doc)), doc, callee):
            if obj.dormant and not switchable(obj):
                continue  # the call switches it off: no instance (see the module doc)
            out.append(replace(obj, address=f"{address}.{obj.address}",
                               inputs=(*obj.inputs, *resolver.inputs(), call)))
    return out
