"""Repetition in Terraform blocks: `count`, `for_each`, `dynamic` blocks, and the policy
documents of `data "aws_iam_policy_document"` blocks that other blocks read.

- `instances`: the resolvers one block's grants are extracted with, one per instance (`each`
  or `count` bound).
- `nested_blocks`: a block's nested blocks of one name, `dynamic` ones expanded.
- `document_sources`: `data.aws_iam_policy_document.NAME` -> its document, for
  `policy = data.aws_iam_policy_document.NAME.json`.

Existence is meaning (DESIGN.md "What counts as a change"), represented this way: a block
whose `count` resolves to 0, or whose `for_each` resolves to an empty map or set, is still
an identity, read as written (its grants as the block states them), because the values that
switch it off are often a reusable module's defaults, which its caller overrides: dropping it
would hide a dormant admin user from `scan`. The `count`/`for_each` values are its inputs and
their resolved values are part of its digest (`digest.block_digest`), so when a variable
default or a `.tfvars` value turns `count` from 0 to 1, the identity changes meaning and is
judged, touched through that line (`via var.X (path:line)`): NHI101 for an agent.
Sources: https://developer.hashicorp.com/terraform/language/meta-arguments/count,
https://developer.hashicorp.com/terraform/language/meta-arguments/for_each,
https://developer.hashicorp.com/terraform/language/expressions/dynamic-blocks,
https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/iam_policy_document
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from checker.model import Location
from checker.parsers.terraform.expressions import Unresolved
from checker.parsers.terraform.nodes import META, Block, Node, as_list, int_or, without_markers
from checker.parsers.terraform.resolver import DataSource, Resolver, resolving

#: At most this many instances of one block (or one `dynamic` block) are read.
MAX_INSTANCES = 256
_UNKNOWN = object()


def _known(node: Node, name: str, resolver: Resolver) -> Any:
    """The value of attribute `name` when it is known (its inputs recorded), else `_UNKNOWN`."""
    raw = node.body.get(name)
    if not isinstance(raw, (str, list, dict)):
        return raw
    try:
        value, used = resolver.evaluate(node.text(name), raw)
    except (Unresolved, RecursionError):
        return _UNKNOWN
    resolver.record(used)
    return value


def _each(value: Any, dynamic: bool = False) -> list[tuple[Any, Any]] | None:
    """(key, value) of a `for_each` value: a map's entries, or a set's (or list's) strings as
    both; for a `dynamic` block any list, keyed by index. None for any other shape."""
    if isinstance(value, dict):
        return sorted(value.items())
    if isinstance(value, list) and dynamic:
        return list(enumerate(value))
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [(v, v) for v in sorted(set(value))]
    return None


def instances(node: Node, resolver: Resolver) -> list[Resolver]:
    """The resolvers to read `node`'s grants with: one per instance, with `each` bound (a
    known `for_each` map or set) or `count.index` (a known `count`); `[resolver]` when the
    block has neither, its value is not known, or it has no instance (`count` 0, an empty
    `for_each`: read as written, see the module doc). The `count`/`for_each` definitions read
    are recorded as inputs."""
    if "for_each" in node.body:
        pairs = _each(_known(node, "for_each", resolver))
        if not pairs:
            return [resolver]
        return [resolver.bound({"each": {"key": k, "value": v}})
                for k, v in pairs[:MAX_INSTANCES]]
    if "count" in node.body:
        count = _known(node, "count", resolver)
        if isinstance(count, bool) or not isinstance(count, (int, float)) or count < 1 or (
                not float(count).is_integer()):
            return [resolver]
        return [resolver.bound({"count": {"index": i}})
                for i in range(min(int(count), MAX_INSTANCES))]
    return [resolver]


def dormant(node: Node, resolver: Resolver) -> bool:
    """True when `node`'s `count` is known to be 0 or its `for_each` a known empty map or set:
    Terraform creates no instance of it (`IdentityObject.dormant`). Records no input (the
    `instances` call of the same block does)."""
    for name in ("count", "for_each"):
        if name not in node.body:
            continue
        raw = node.body.get(name)
        try:
            value = resolver.evaluate(node.text(name), raw)[0] if isinstance(
                raw, (str, list, dict)) else raw
        except (Unresolved, RecursionError):
            return False
        if name == "count":
            return not isinstance(value, bool) and value == 0
        return value in ([], {})
    return False


def nested_blocks(node: Node, name: str) -> list[Node]:
    """`node.blocks(name)` and then each instance of its `dynamic "NAME"` blocks whose
    `for_each` is known: the `content` block, with the iterator (`NAME`, or `iterator = X`)
    bound to `{key, value}` in its resolver. HCL only; without a resolver, `dynamic` blocks
    are not read."""
    out = node.blocks(name)
    resolver = node.doc.resolver
    if not isinstance(resolver, Resolver) or node.doc.spans is not None:
        return out
    for item in as_list(node.body.get("dynamic")):
        body = item.get(name) if isinstance(item, dict) else None
        if not isinstance(body, dict) or "__start_line__" not in body:
            continue
        start = int_or(body.get("__start_line__"), node.start)
        dyn = node.doc.node(body, (), start, int_or(body.get("__end_line__"), start))
        pairs = _each(_known(dyn, "for_each", resolver), dynamic=True)
        iterator = dyn.body.get("iterator", name)
        iterator = iterator[2:-1] if isinstance(iterator, str) and iterator.startswith(
            "${") else iterator
        if pairs is None or not isinstance(iterator, str):
            continue
        for content in dyn.blocks("content"):
            for key, value in pairs[:MAX_INSTANCES]:
                bound = resolver.bound({iterator: {"key": key, "value": value}})
                out.append(replace(content, doc=replace(content.doc, resolver=bound)))
    return out


def document_sources(blocks: Iterable[Block]) -> Mapping[str, DataSource]:
    """`data.aws_iam_policy_document.NAME` -> its document source, for each such block of one
    file without `count`/`for_each` (`resolver.Resolver` reads them)."""
    return {
        f"data.aws_iam_policy_document.{b.labels[1]}": functools.partial(_document, b.node)
        for b in blocks
        if b.section == "data" and len(b.labels) == 2
        and b.labels[0] == "aws_iam_policy_document"
        and "count" not in b.node.body and "for_each" not in b.node.body
    }


#: Statement attributes -> IAM policy JSON keys
#: (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html).
_STATEMENT_KEYS = (("sid", "Sid"), ("actions", "Action"), ("not_actions", "NotAction"),
                   ("resources", "Resource"), ("not_resources", "NotResource"))


#: The arguments `_document` reads into the JSON; every other one (`source_policy_documents`,
#: `override_policy_documents`, the deprecated `*_json`, `dynamic` statements) is kept as
#: written under `UNMERGED`, so a block's digest that reads the document
#: (`digest.block_digest`) is never that of its plain statements alone. Provider docs: the
#: data source page above.
_READ_ARGUMENTS = frozenset({"statement", "version", "policy_id", *META})
UNMERGED = "nhi_gate_unmerged"


def _document(node: Node, resolver: Resolver) -> tuple[Any, Location]:
    """The `json` (IAM policy JSON) of a `data "aws_iam_policy_document"` block, read with
    `resolver`, and the block's location: its `version` (default `2012-10-17`), `policy_id`
    and statements. `source_policy_documents` and `override_policy_documents` (and the
    deprecated `*_json`) are not merged in: they, and `dynamic` statements, sit under
    `UNMERGED` as written."""
    read = resolving(node, resolver)
    statements: list[dict[str, Any]] = []
    for st in nested_blocks(read, "statement"):
        out: dict[str, Any] = {}
        effect = st.get("effect")
        out["Effect"] = "Deny" if isinstance(effect, str) and effect.lower() == "deny" \
            else "Allow"
        for attr, key in _STATEMENT_KEYS:
            value = st.get(attr)
            if value is not None:
                out[key] = value
        for attr, key in (("principals", "Principal"), ("not_principals", "NotPrincipal")):
            for block in nested_blocks(st, attr):
                kind = block.get("type")
                if isinstance(kind, str):
                    out.setdefault(key, {}).setdefault(kind, []).extend(
                        as_list(block.get("identifiers")))
        for block in nested_blocks(st, "condition"):
            test, variable = block.get("test"), block.get("variable")
            if isinstance(test, str) and isinstance(variable, str):
                out.setdefault("Condition", {}).setdefault(test, {})[variable] = block.get(
                    "values")
        statements.append(out)
    doc: dict[str, Any] = {"Version": read.get("version") or "2012-10-17",
                           "Statement": statements}
    if node.body.get("policy_id") is not None:
        doc["Id"] = read.get("policy_id")
    unmerged = without_markers({k: v for k, v in node.body.items() if k not in _READ_ARGUMENTS})
    if unmerged:
        doc[UNMERGED] = unmerged
    text = json.dumps(doc, default=str)
    return {"json": text, "minified_json": text}, Location(node.doc.path, node.start, node.end)
