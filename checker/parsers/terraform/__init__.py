"""Terraform parser: `.tf`/`.tofu` (HCL) and `.tf.json`/`.tofu.json` files -> `IdentityObject`s.

Public functions (both satisfy `checker.parsers.Parser`):
- `parse(source, catalogue)` for HCL native syntax, via python-hcl2 7.3.x
  `hcl2.loads(text, with_meta=True)`, called only through `hcl.load_hcl`, so a later upgrade
  touches that module only (../shared/research/ecosystem.md section 3); `load_hcl` first
  tries the fast path (`hcl_fast`), which returns the same value without lark.
- `parse_json(source, catalogue)` for Terraform JSON syntax, via the stdlib `json` module plus a
  small position scanner (`positions.json_spans`) that gives every value its 1-based lines.

`load`, `warm` and `LoadedHcl` (from `hcl`) and `module_values` (from `values`) are the rest
of the public API. The package, in data-flow order:
- `hcl.py`: the only `import hcl2` (with `hcl_inline`); load, warm, error -> NHI901;
- `hcl_fast.py`, `hcl_lexer.py`, `hcl_text.py`: the fast path, python-hcl2's exact value
  without lark (`Unsupported` hands a text to python-hcl2);
- `salvage.py`: a rejected file split into top-level blocks, parsed one by one, joined;
- `positions.py`: the HCL mini-lexer, attribute lines, JSON value spans;
- `nodes.py`: a decoded file as `Doc`, `Node` (a block body with lines) and `Block`;
- `values.py`: `locals`, variable defaults and tfvars as module values;
- `expr_parse.py`, `expressions.py`: the expression evaluator (literal values only);
- `resolver.py`: `Resolver`, module values and bound names substituted during extraction;
- `expansion.py`: `count`/`for_each` instances, `dynamic` blocks, policy-document data sources;
- `identities.py`: catalogued `resource`/`data` block -> `IdentityObject` (metadata,
  references, lifetime, usages, principals);
- `modules.py`: `module` calls -> `IdentityObject`s (the parser's one policy read);
- `grants_aws.py`, `grants.py`: grant extractors per resource type (`grants.EXTRACTORS`);
- `trust.py`: assume-role and federation trust;
- `files.py`: `file()`/`templatefile()` documents inlined into a block (its inputs);
- `callees.py`: a local module call read as the called module's identities, with its arguments;
- `rotation.py`: a `time_rotating` resource's period as the lifetime of the credentials
  it rotates;
- `variants.py`: the identities read again under each `-var-file` file's values, joined;
- `terragrunt.py`: a `terragrunt.hcl`'s `inputs` read as a module call (`parse_terragrunt`);
- `imports.py`: `import` blocks, read as creating the identity they adopt;
- `providers.py`: the identity Terraform runs as (`provider` blocks' `assume_role`,
  `impersonate_service_account`, `client_id`, ...), as a facet judged like a workload's role;
- `unread.py`: what Terraform runs or fetches that nhi-gate cannot read (provisioner and
  `external` commands, remote module calls, a var file no module reads: `parse_vars`), as
  facets NHI106 judges.

Which blocks define identities is data: `rules/catalogue/terraform.yaml`. A `resource "T" "N"`
block is looked up as `T`, a `data "T" "N"` block as `data.T` (data sources read identities that
exist elsewhere, so only the ones that define privileges, e.g. `data.aws_iam_policy_document`,
are catalogued), and a `module "N"` block whose `source` is a catalogued module as
`module:<registry address>` (terraform-aws-modules/iam, terraform-google-modules/service-accounts,
cloudposse/iam-system-user: `modules.KNOWN_MODULES`). `IdentityObject.type` is that catalogue
type. Any other module call is an identity only when an argument names an admin-equivalent or
escalation grant (`checker.policy.privileges.named_privilege`, read in `modules.py` only): a
`role_binding` of type `module:<source>`.

python-hcl2 7.3.1 shapes this module relies on (verified on the fixtures and the corpus):
- top level: `{"resource": [{T: {N: body}}], "data": [...], "module": [{N: body}]}`;
- a block body is a dict carrying `__start_line__`/`__end_line__`; nested blocks are lists of
  such dicts; maps (`tags = {...}`) are plain dicts without the markers;
- strings lose their quotes; expressions become `"${...}"`; `jsonencode({...})` becomes the text
  `${jsonencode({"Key": "v", ...})}` (JSON-like, but `${...}` inside may hold raw quotes);
- heredocs become their content (indentation stripped for `<<-`);
- attributes carry no line numbers, so `positions.scan_block` finds them in the text.

Module values: a privilege-bearing attribute that reads `local.NAME` or `var.NAME` (whole, or
inside an index, a lookup, an interpolation, `jsonencode(...)` or a function the evaluator
knows: `expressions.FUNCTIONS`) is computed from the module's literal values
(`ModuleSources`, `module_values`): `locals` and `variable` defaults of every `.tf` file of the
directory, overridden by `terraform.tfvars`, `terraform.tfvars.json`, `*.auto.tfvars` and
`*.auto.tfvars.json` as Terraform does, and each `-var-file` file of the module
(`prod.tfvars`, `envs/ci.tfvars`) read as one more possible set of values: the file's
identities are the union over them (`variants.py`). A block with a known `for_each` or
`count` gives the grants of every instance (`each.key`, `each.value`, `count.index` bound);
with none (`count` 0) it is read as written, its `count` input recorded (`expansion`).
`dynamic "statement"` blocks expand the same way, and
`policy = data.aws_iam_policy_document.NAME.json` reads that block of the same file. Where
each value was defined (and the data block read) goes into `IdentityObject.inputs`.
Metadata, lifetimes, trust and principals are read as written (a default is not proof of what a
run applies: it must not satisfy a governance check); a tag map made only of variables the
module's caller sets is recorded in `IdentityObject.metadata_from`.

Nothing here raises on bad input: syntax errors are NHI901 `ParseProblem`s, undecodable files
NHI902/NHI903 (from `common.decode`), and any unexpected shape is skipped.
"""

from __future__ import annotations

import functools
import json
import posixpath
from dataclasses import replace
from typing import Any

from checker.decode import decode
from checker.model import IdentityObject, ModuleSources, ParseProblem, ParseResult, SourceFile
from checker.parsers.terraform.callees import callee_identities
from checker.parsers.terraform.environment import with_environment_digests
from checker.parsers.terraform.expansion import document_sources
from checker.parsers.terraform.hcl import LoadedHcl, load, warm
from checker.parsers.terraform.identities import FORMAT, Context, references_in, resource_identity
from checker.parsers.terraform.imports import import_identities
from checker.parsers.terraform.launch_templates import LAUNCHERS, launched
from checker.parsers.terraform.modules import module_identities
from checker.parsers.terraform.moved import module_moves, moved_in
from checker.parsers.terraform.nodes import Block, Doc, hcl_blocks, json_blocks
from checker.parsers.terraform.positions import json_spans
from checker.parsers.terraform.provider_use import provider_uses
from checker.parsers.terraform.providers import provider_facets
from checker.parsers.terraform.resolver import Resolver
from checker.parsers.terraform.rotation import rotating_lifetimes
from checker.parsers.terraform.terragrunt import terragrunt_identities
from checker.parsers.terraform.unread import (
    external_facet,
    provisioner_facets,
    remote_module_facet,
    var_file_facet,
)
from checker.parsers.terraform.values import (
    ModuleValue,
    ModuleValues,
    module_values,
    var_file_values,
)
from checker.parsers.terraform.variants import merge, variants
from checker.parsers.terraform.workloads import RUNS_AS
from checker.policy.catalogue import Catalogue

__all__ = [
    "LoadedHcl",
    "ModuleValue",
    "ModuleValues",
    "load",
    "module_values",
    "parse",
    "parse_json",
    "parse_terragrunt",
    "parse_vars",
    "warm",
]


def parse(source: SourceFile, catalogue: Catalogue, loaded: LoadedHcl | None = None,
          module: ModuleSources | None = None) -> ParseResult:  # fmt: skip
    """Parse one `.tf` file (HCL native syntax); `loaded` is `load(source)` when the caller
    already has it; `module` holds the value files of the file's directory (see
    `module_values`), so that `role = local.ci_role` reads as the role `locals` defines.

    Returns the catalogued `resource`/`data`/`module` blocks as `IdentityObject`s sorted by
    start line, or a single NHI901/NHI902/NHI903 `ParseProblem` when the file cannot be read.
    When python-hcl2 rejects the file, the blocks that parse alone are still read and each
    block that does not is an NHI901 on its lines (`hcl.load_text`). A module file that cannot
    be read leaves its values unresolved (it is reported on its own); one salvaged in part
    gives the values of its blocks that parsed.
    """
    loaded = loaded if loaded is not None else load(source)
    text, data = loaded.text, loaded.data
    if text is None or not isinstance(data, dict):
        return ParseResult(problems=loaded.problems)
    doc = Doc(path=source.path, lines=text.split("\n"), spans=None)
    blocks = list(hcl_blocks(data, doc))
    objects = _build(blocks, doc, module, catalogue=catalogue)
    for variant in variants(module, text):  # each -var-file file's values too (union)
        objects = merge(objects, _build(blocks, doc, variant, catalogue=catalogue))
    objects = moved_in(objects, blocks, module_moves(doc, data, module),
                       lambda b: _build([b], doc, module, catalogue=catalogue))
    objects = with_environment_digests(objects, blocks, doc, module)  # ARN partition, account
    return ParseResult((*objects, *_adopted(data, doc, blocks, catalogue, module)),
                       loaded.problems)


def parse_json(source: SourceFile, catalogue: Catalogue,
               module: ModuleSources | None = None) -> ParseResult:  # fmt: skip
    """Parse one `.tf.json` or `.tofu.json` file (Terraform JSON syntax).

    Same output as `parse`. Block lines come from the position of the block's `"<name>"` key
    inside the resource-type object to the closing brace of its value. Malformed JSON is NHI901
    with the decoder's line and column; a non-object top level gives nothing. `module`: the
    files of its directory, read only for their `moved` blocks (`moved.module_moves`).
    """
    text = decode(source)
    if isinstance(text, ParseProblem):
        return ParseResult(problems=(text,))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = (
            f"{source.path}: JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        )
        return ParseResult(problems=(ParseProblem(source.path, "NHI901", msg, exc.lineno),))
    except RecursionError:
        msg = f"{source.path}: JSON syntax error at line 1, column 1: nesting too deep"
        return ParseResult(problems=(ParseProblem(source.path, "NHI901", msg, 1),))
    if not isinstance(data, dict):
        return ParseResult()
    doc = Doc(path=source.path, lines=text.split("\n"), spans=json_spans(text))
    blocks = list(json_blocks(data, doc))
    objects = moved_in(_build(blocks, doc, catalogue=catalogue), blocks,
                       module_moves(doc, data, module),
                       lambda b: _build([b], doc, catalogue=catalogue))
    return ParseResult(objects=(*objects, *_adopted(data, doc, blocks, catalogue)))


def parse_terragrunt(source: SourceFile, catalogue: Catalogue) -> ParseResult:
    """Parse one `.hcl` file: a `terragrunt.hcl`'s `inputs` as the arguments of its module
    (`terragrunt.terragrunt_identities`); nothing for other HCL files."""
    return terragrunt_identities(source, catalogue)


def parse_vars(source: SourceFile, catalogue: Catalogue) -> ParseResult:
    """Parse a `.tfvars`/`.tfvars.json` file that no module of the run reads (the pipeline
    calls it only for those: no `.tf` file in the directory it belongs to) as one `unread`
    facet (`unread.var_file_facet`), so a change of it is judged (NHI106), never skipped."""
    del catalogue  # the facet is the same whatever is catalogued
    return ParseResult((var_file_facet(source.path, var_file_values(source)),))


def _adopted(data: dict[str, Any], doc: Doc, blocks: list[Block], catalogue: Catalogue,
             module: ModuleSources | None = None) -> list[IdentityObject]:
    """What the file's top-level `provider` and `import` blocks bring: the identity Terraform
    runs as (`providers.provider_facets`, its values read from `module`: `role_arn =
    var.deploy_role` is the role the variable holds), the one it runs as for a resource naming
    its provider configuration (`provider_use.provider_uses`) and the identities imported into the
    configuration (`imports.import_identities`)."""
    defined = {".".join(b.labels) for b in blocks if b.section == "resource"}
    return [*provider_facets(data, doc, Resolver(module, document_sources(blocks))),
            *provider_uses(blocks, data, doc, module),  # `provider = aws.admin` on a resource
            *import_identities(data, doc, catalogue, FORMAT, defined)]


def _unread(block: Block, module: ModuleSources | None) -> list[IdentityObject]:
    """The `unread` facets of a `resource`/`data` block: its provisioners' commands, an
    `external` data source's program, their values read from `module`."""
    if block.section == "data":
        return [external_facet(block, module)] if block.labels[0] == "external" else []
    return list(provisioner_facets(block, ".".join(block.labels), module))


@functools.lru_cache(maxsize=8)
def _reference_types(types: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """(resource types, data source types without `data.`) of the catalogued `types` whose
    references an identity records (`identities.references_in`). A workload's other
    attributes (an EC2 instance's id, a stack's outputs) are no identity's: computed by the
    provider (the identity it runs as is its facet). Cached: one catalogue per run."""
    return (frozenset(t for t in types if "." not in t and ":" not in t and t not in RUNS_AS),
            frozenset(t[5:] for t in types if t.startswith("data.")))


def _build(blocks: list[Block], doc: Doc, module: ModuleSources | None = None, *,
           catalogue: Catalogue, live_only: bool = False
           ) -> tuple[IdentityObject, ...]:  # fmt: skip
    """Turn catalogued blocks into `IdentityObject`s, sorted by (start line, address).
    `live_only` (a called module's files, `callees`): without the identities whose block has
    no instance (`count` 0), which the call drops, so they are not built."""
    types = catalogue.types(FORMAT)
    calls = {
        i: module_identities(b, doc, catalogue, module)
        for i, b in enumerate(blocks)
        if b.section == "module" and len(b.labels) == 1
    }
    build = functools.partial(_build, catalogue=catalogue, live_only=True)
    called = {i: callee_identities(blocks[i], module, build, catalogue) for i in calls}
    resource_types, data_types = _reference_types(types)
    ctx = Context(
        resource_types=resource_types,
        data_types=data_types,
        modules=frozenset(blocks[i].labels[0] for i, objs in calls.items() if objs),
        documents=document_sources(blocks),
    )
    out: list[IdentityObject] = []
    for i, block in enumerate(blocks):
        read = called.get(i)
        if read is not None:  # a local module, read as called
            out.extend(read)
            resolved = {g.action for obj in read for g in obj.privileges}
            if all(g.action in resolved for obj in calls[i] for g in obj.privileges):
                continue  # else the call's own admin grant names stay judged (fail-closed)
        if i in calls:
            for obj in calls[i]:
                refs = references_in(block.node, ctx, obj.address)
                out.append(replace(obj, references=tuple(dict.fromkeys((*obj.references, *refs)))))
            remote = remote_module_facet(block, module, module.directory if module else
                                         posixpath.dirname(doc.path)
                                         ) if not calls[i] and read is None else None
            out.extend([remote] if remote is not None else [])  # its code is not read
            continue
        out.extend(_unread(block, module))
        found = (
            resource_identity(block, doc, catalogue, ctx, module, live_only)
            if block.section != "module" else None
        )
        if found is not None and block.labels[0] in LAUNCHERS:  # runs as its template does
            found = launched(found, block, blocks, doc.path, module)
        if found is not None:
            out.append(found)
    rotated = rotating_lifetimes(blocks, tuple(out))  # `time_rotating` periods as lifetimes
    return tuple(sorted(rotated, key=lambda o: (o.location.start_line, o.address)))
