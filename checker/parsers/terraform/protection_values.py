"""A GitHub merge-protection resource's body as Terraform would set it, for
`checker.parsers.merge_protection`: module values substituted (`enforcement = var.mode` is the
`terraform.tfvars` value, `required_approving_review_count = local.reviews` the local's),
`dynamic` blocks expanded (`dynamic "required_check" { for_each = local.checks ... }` is one
`required_check` per item) and a resource whose `count` is 0 (or `for_each` empty) gone: no
ruleset is created, so none protects the branch.

A value that does not compute stays as written (the parser then compares its text: fail
closed), and so does a `dynamic` block whose `for_each` does not. Sources:
https://developer.hashicorp.com/terraform/language/expressions/dynamic-blocks,
https://developer.hashicorp.com/terraform/language/meta-arguments/count,
https://developer.hashicorp.com/terraform/language/values/variables#variable-definition-precedence
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checker.model import ModuleSources
from checker.parsers.terraform.expansion import dormant, nested_blocks
from checker.parsers.terraform.nodes import META, Doc, Node, as_list, int_or
from checker.parsers.terraform.resolver import Resolver, resolving


def resolved_body(body: Mapping[str, Any], path: str, text: str,
                  module: ModuleSources | None) -> dict[str, Any] | None:  # fmt: skip
    """`body` (python-hcl2's, with line markers, of a resource in the file at `path` whose
    text is `text`) with `module`'s values in and `dynamic` blocks expanded (module doc);
    None when the resource has no instance (`count` 0, an empty `for_each`)."""
    start = int_or(body.get("__start_line__"), 1)
    doc = Doc(path=path, lines=text.split("\n"), spans=None)
    resolver = Resolver(module)
    node = resolving(doc.node(dict(body), (), start, int_or(body.get("__end_line__"), start)),
                     resolver)
    if dormant(node, resolver):
        return None
    return _plain(node, 0)


def _plain(node: Node, depth: int) -> dict[str, Any]:
    """`node`'s attributes (computed where they compute) and nested blocks, as plain data."""
    out: dict[str, Any] = {}
    for key, value in node.body.items():
        if key in META or key in ("count", "for_each"):
            continue
        if key == "dynamic":
            for item in as_list(value):
                for name in (item if isinstance(item, dict) else {}):
                    if name in META:
                        continue
                    static = node.blocks(name)
                    expanded = [n for n in nested_blocks(node, name)[len(static):]]
                    if expanded and depth < 8:
                        out.setdefault(name, []).extend(_plain(n, depth + 1) for n in expanded)
                    else:  # its `for_each` does not compute: as written
                        out.setdefault("dynamic", []).append({name: item[name]})
            continue
        blocks = node.blocks(key)
        if blocks and depth < 8:
            out.setdefault(key, []).extend(_plain(b, depth + 1) for b in blocks)
        else:
            out[key] = node.get(key)
    return out
