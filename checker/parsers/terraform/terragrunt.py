"""Terragrunt: a `terragrunt.hcl` file's `inputs` read as the arguments of a module call.

`terraform { source = "tfr:///terraform-aws-modules/iam/aws//modules/iam-role" }` names the
module Terragrunt runs and `inputs = { policy_arns = [...] }` the values it passes to it as
variables (https://terragrunt.gruntwork.io/docs/reference/config-blocks-and-attributes/#inputs).
So the pair is a `module` call whose arguments are the inputs: `terragrunt_identities` builds
that call (`terragrunt.inputs`, at the lines of the `inputs` map) and reads it as
`checker.parsers.terraform.modules.module_identities` reads any call: a catalogued module by
its builder, any other source fail-closed on admin-equivalent or escalation grant names, so
an agent adding `arn:aws:iam::aws:policy/AdministratorAccess` to the inputs is judged like
the same argument in a `module` block. Secrets in the file are still the secret scan's.
"""

from __future__ import annotations

import re

from checker.model import ParseResult, SourceFile
from checker.parsers.common import is_terragrunt
from checker.parsers.terraform.hcl import load
from checker.parsers.terraform.modules import module_identities
from checker.parsers.terraform.nodes import Block, Doc, as_list
from checker.parsers.terraform.positions import scan_block
from checker.policy.catalogue import Catalogue

#: `tfr:///NAMESPACE/NAME/PROVIDER//sub?version=` is the Terraform registry address
#: NAMESPACE/NAME/PROVIDER//sub (https://terragrunt.gruntwork.io/docs/reference/config-blocks-and-attributes/#a-note-about-using-modules-from-the-registry).
_TFR = re.compile(r"^tfr://[^/]*/")


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
    body: dict[str, object] = {"__start_line__": start, "__end_line__": end, **inputs}
    body["source"] = _source(loaded.data)
    doc = Doc(path=source.path, lines=lines, spans=None)
    block = Block("module", ("terragrunt",), doc.node(body, (), start, end))
    objects = module_identities(block, doc, catalogue)
    return ParseResult(tuple(o for o in objects if o.address.startswith("module.terragrunt")))


def _source(data: dict[str, object]) -> str:
    """The `terraform { source = ... }` of a parsed `terragrunt.hcl`, registry form for `tfr:`."""
    for block in as_list(data.get("terraform")):
        if isinstance(block, dict) and isinstance(block.get("source"), str):
            return _TFR.sub("", str(block["source"]).strip())
    return ""
