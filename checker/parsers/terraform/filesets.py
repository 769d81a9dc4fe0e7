"""`fileset()` in a block's `for_each` or `count`: which files it selects is not computed, so
it fails closed (NHI106) with every file it may select as an input.

`fileset("<dir>", "<pattern>")` (https://developer.hashicorp.com/terraform/language/functions/fileset)
with a literal directory (or `path.module`) selects the files of one glob
(`checker.parsers.common.fileset_globs`). A directory that is an expression (`var.dir`,
`local.dir`, `"${path.module}/${var.env}"`) is computed from the module's values when it can
be; else the glob is every file of the pattern under the module
(`checker.parsers.common.fileset_expressions`). A `for_each = local.files` whose local calls
`fileset()` is read through the local's definition (the local an input too). A directory
outside the module but inside the repository (`"${path.module}/../policies"`, or a variable or
local whose value is such a path) selects repository files like any other: each is an input.
A directory outside the repository (absolute, or `..` above its root) selects files nhi-gate
cannot read: the entry says so (`... (directory outside the repository: its files are not
read)`), and an uncomputed one says that files outside the module are not read.
"""

from __future__ import annotations

import hashlib

from checker import model
from checker.globs import glob_match
from checker.lazy_patterns import lazy_compile
from checker.model import Location, ModuleSources
from checker.parsers.common import (
    fileset_candidates,
    fileset_expressions,
    fileset_globs,
    fileset_outside,
    literal_assignments,
)
from checker.parsers.terraform.expressions import Unresolved
from checker.parsers.terraform.nodes import Block
from checker.parsers.terraform.resolver import Resolver
from checker.parsers.terraform.values import Inputs, module_values

_PATH_REF = lazy_compile(r"\$\{\s*path\.(?:module|root|cwd)\s*\}|\bpath\.(?:module|root|cwd)\b")
_LOCAL = lazy_compile(r"\blocal\.([A-Za-z_][\w-]*)")
#: Why a `fileset()` of a directory outside the repository selects nothing nhi-gate reads.
_OUTSIDE = " (directory outside the repository: its files are not read)"


def fileset_reads(block: Block, module: ModuleSources | None, directory: str,
                  found: tuple[Inputs, tuple[model.Unresolved, ...], str] = ((), (), "")
                  ) -> tuple[Inputs, tuple[model.Unresolved, ...], str]:  # fmt: skip
    """`found` (inputs, unresolved entries, digest: `unresolved.Unresolvable`'s) with what a
    `fileset()` in the block's `for_each` (or `count`) adds, directly or through a `local.*`:
    each glob is an NHI106 entry (`fileset("policies/*.json")`, `unknown function
    fileset()`; an uncomputed directory: `fileset(var.dir, "*.json")`, `... (directory not
    known before apply)`), and every file of `module.files` the glob matches (the change's
    files, at head and at base: `checker.sources.modules`) is an input named the same whose
    bytes join the digest, so adding or editing one changes the block and fails closed.
    `directory` is the module's (`""` for the root)."""
    inputs, entries, digest = list(found[0]), list(found[1]), found[2]
    for name in ("for_each", "count"):
        line = block.node.line(name)
        for text in _texts(block, name, module, inputs):
            entries += [model.Unresolved(name, call, "unknown function fileset()" + _OUTSIDE, line)
                        for call in fileset_outside(directory, text)]
            globs = [(f'fileset("{g}")', g, "") for g in fileset_globs(directory, text)]
            for expr, pattern, superset in fileset_expressions(directory, text):
                exact = _computed(expr, pattern, directory, module)
                globs += [(f'fileset("{g}")', g, "") for g in exact] or [
                    (f'fileset({expr}, "{pattern}")', superset, " (directory not known before "
                     "apply: every matching file of the module is an input, files elsewhere are "
                     "not read)")]
            for shown, glob, why in globs:
                entries.append(model.Unresolved(name, shown, "unknown function fileset()" + why,
                                                line))
                for src in module.files if module is not None else ():
                    if glob_match(src.path, glob):
                        body = src.raw.decode("utf-8", "replace")
                        lines = max(body.count("\n") + (0 if body.endswith("\n") else 1), 1)
                        inputs.append((shown, Location(src.path, 1, lines)))
                        digest += f"|{src.path}:" + hashlib.sha256(src.raw).hexdigest()[:16]
    return tuple(inputs), tuple(entries), digest


def _texts(block: Block, name: str, module: ModuleSources | None,
           inputs: list[tuple[str, Location]]) -> list[str]:  # fmt: skip
    """The source text of argument `name`, then the definition of each `local.*` it reads that
    calls `fileset()` (the local joins `inputs`)."""
    text = block.node.text(name) or str(block.node.body.get(name) or "")
    texts = [text] if "fileset(" in text else []
    if module is None or "local." not in text:
        return texts
    expressions = module_values(module).expressions
    for local in dict.fromkeys(_LOCAL.findall(text)):
        got = expressions.get(f"local.{local}")
        if got is not None and "fileset(" in str(got[0]):
            texts.append(str(got[0]))
            inputs.append((f"local.{local}", got[1]))
    return texts


def _computed(expr: str, pattern: str, directory: str, module: ModuleSources | None
              ) -> list[str]:  # fmt: skip
    """The glob of `fileset(<expr>, "<pattern>")` when the directory `expr` computes from the
    module's values (`variable "dir" { default = "policies" }`), or from the literals its
    files assign (`fileset_candidates`: a local holding `${path.module}`), else []."""
    try:
        got, _ = Resolver(module).evaluate(_PATH_REF.sub(".", expr).replace('"./', '"', 1)
                                           if expr.startswith('"') else expr, None)
    except (Unresolved, RecursionError):  # `local.dir = "${path.module}/../policies"`
        return fileset_candidates(directory, expr, pattern, literal_assignments(
            s.raw for s in module.sources)) if module is not None else []
    got = _PATH_REF.sub(".", got) if isinstance(got, str) else got  # `"${path.module}/../x"`
    if not isinstance(got, str) or "${" in got or '"' in got:
        return []
    return fileset_globs(directory, f'fileset("{got}", "{pattern}")')
