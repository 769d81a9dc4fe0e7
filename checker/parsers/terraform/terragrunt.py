"""Terragrunt: a `terragrunt.hcl` file's `inputs` read as the arguments of a module call.

`terraform { source = "tfr:///terraform-aws-modules/iam/aws//modules/iam-role" }` names the
module Terragrunt runs and `inputs = { policy_arns = [...] }` the values it passes to it as
variables (https://terragrunt.gruntwork.io/docs/reference/config-blocks-and-attributes/#inputs).
So the pair is a `module` call whose arguments are the inputs: `terragrunt_identities` builds
that call (`terragrunt.inputs`, at the lines of the `inputs` map) and reads it as
`checker.parsers.terraform.modules.module_identities` reads any call: a catalogued module by
its builder, any other source fail-closed on admin-equivalent or escalation grant names, so
an agent adding `arn:aws:iam::aws:policy/AdministratorAccess` to the inputs is judged like
the same argument in a `module` block. An input that reads a `locals` value of the same
file (`inputs = { actions = local.acts }`) is read as that value (`_resolved`). Secrets in the
file are still the secret scan's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.model import Location, ParseResult, SourceFile
from checker.parsers.common import is_terragrunt
from checker.parsers.terraform.expressions import Unresolved, evaluate_template
from checker.parsers.terraform.hcl import load
from checker.parsers.terraform.modules import module_identities
from checker.parsers.terraform.nodes import META, Block, Doc, as_list, int_or
from checker.parsers.terraform.positions import scan_block
from checker.policy.catalogue import Catalogue

#: `tfr:///NAMESPACE/NAME/PROVIDER//sub?version=` is the Terraform registry address
#: NAMESPACE/NAME/PROVIDER//sub (https://terragrunt.gruntwork.io/docs/reference/config-blocks-and-attributes/#a-note-about-using-modules-from-the-registry).
_TFR = lazy_compile(r"^tfr://[^/]*/")


def terragrunt_identities(source: SourceFile, catalogue: Catalogue) -> ParseResult:
    """The identities the `inputs` of `terragrunt.hcl` file `source` give its module (see the
    module doc); nothing for another file, a file without `inputs` or one that does not parse
    (its secrets are still scanned; an HCL error in it is not reported here)."""
    if not is_terragrunt(source.path):
        return ParseResult()
    loaded = load(source)
    if loaded.text is None or not isinstance(loaded.data, dict):
        return ParseResult()
    inputs = loaded.data.get("inputs")
    if not isinstance(inputs, dict) or not inputs:
        return ParseResult()
    lines = loaded.text.split("\n")
    top = scan_block(["{", *lines, "}"], 1, len(lines) + 2)
    first, last = top.get("inputs", (2, len(lines) + 1))
    start, end = first - 1, last - 1
    while end > start and not lines[end - 1].strip().startswith("}"):
        end -= 1
    values, used = _resolved(inputs, loaded.data, source.path)
    body: dict[str, object] = {"__start_line__": start, "__end_line__": end, **values}
    body["source"] = _source(loaded.data)
    doc = Doc(path=source.path, lines=lines, spans=None)
    block = Block("module", ("terragrunt",), doc.node(body, (), start, end))
    objects = module_identities(block, doc, catalogue)
    return ParseResult(tuple(replace(o, inputs=(*used, *o.inputs)) for o in objects
                             if o.address.startswith("module.terragrunt")))


def _source(data: dict[str, object]) -> str:
    """The `terraform { source = ... }` of a parsed `terragrunt.hcl`, registry form for `tfr:`."""
    for block in as_list(data.get("terraform")):
        if isinstance(block, dict) and isinstance(block.get("source"), str):
            return _TFR.sub("", str(block["source"]).strip())
    return ""


def _resolved(inputs: dict[str, Any], data: dict[str, Any], path: str
              ) -> tuple[dict[str, Any], tuple[tuple[str, Location], ...]]:  # fmt: skip
    """`inputs` with the `local.NAME` values of the file's `locals` blocks computed
    (`expressions.evaluate_template`; a local may read other locals), and the locals read
    (`local.NAME`, its `locals` block's lines); a value that does not evaluate (a function
    Terragrunt adds, `read_terragrunt_config(...)`) stays as written."""
    defined: dict[str, tuple[Any, Location]] = {}
    for block in as_list(data.get("locals")):
        if isinstance(block, dict):
            start = int_or(block.get("__start_line__"), 1)
            where = Location(path, start, int_or(block.get("__end_line__"), start))
            defined.update({f"local.{k}": (v, where) for k, v in block.items() if k not in META})
    reading: set[str] = set()
    used: dict[str, Location] = {}

    def scope(name: str) -> Any:
        if name not in defined or name in reading:
            raise Unresolved(name)
        reading.add(name)
        try:
            got = _value(defined[name][0], scope, strict=True)
        finally:
            reading.discard(name)
        used.setdefault(name, defined[name][1])
        return got

    values = {k: _value(v, scope, strict=False) for k, v in inputs.items()}
    return values, tuple(used.items())


def _value(value: Any, scope: Any, *, strict: bool) -> Any:
    """`value` with its `${...}` strings evaluated in `scope`, at any depth; one that does not
    evaluate raises `Unresolved` when `strict`, else stays as written."""
    if isinstance(value, list):
        return [_value(v, scope, strict=strict) for v in value]
    if isinstance(value, dict):
        return {k: v if k in META else _value(v, scope, strict=strict) for k, v in value.items()}
    if not isinstance(value, str) or "${" not in value:
        return value
    try:
        return evaluate_template(value, scope)
    except (Unresolved, RecursionError):
        if strict:
            raise
        return value
