"""`import` blocks (Terraform 1.5+) -> the identity each one brings under the configuration.

`import { to = aws_iam_role_policy_attachment.admin, id = "ci/arn:aws:iam::aws:policy/Admin..." }`
adopts an existing resource: after apply the configuration manages it (and `terraform plan
-generate-config-out` writes its block), so an import that targets a catalogued identity type
is read as creating that identity. The `to` resource's own block, when the same file has one,
is the identity already and gives its grants; without one, the `id` names the grant for the
attachment types whose import id documents it (`<principal>/<policy ARN>`), and for any other
type what it grants is read by Terraform from the existing resource, which nhi-gate cannot
see: an `Unresolved` entry (NHI106 fails closed on it).

Sources: https://developer.hashicorp.com/terraform/language/import,
https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_role_policy_attachment#import
(and the user and group attachment pages: the same `<name>/<policy ARN>` id).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.model import Grant, IdentityObject, Location, Unresolved
from checker.parsers.terraform.nodes import Doc, Node, as_list, int_or
from checker.policy.catalogue import Catalogue

#: Attachment type -> the import id's shape: `<principal name>/<policy ARN>`.
_ARN_IDS = frozenset({"aws_iam_role_policy_attachment", "aws_iam_user_policy_attachment",
                      "aws_iam_group_policy_attachment"})
#: `type.name`, optionally inside modules (`module.att.type.name`, `module.a["x"].type.name`).
_ADDRESS = lazy_compile(r"^(?:\$\{)?((?:module\.[\w-]+(?:\[[^\]]*\])?\.)*)([A-Za-z][\w-]*)\."
                      r"([\w-]+(?:\[[^\]]*\])?)\}?$")


def _import_nodes(data: Mapping[str, Any], doc: Doc) -> list[Node]:
    """Each top-level `import` block's node (HCL or Terraform JSON)."""
    out: list[Node] = []
    if doc.spans is None:
        for body in as_list(data.get("import")):
            if isinstance(body, dict) and "__start_line__" in body:
                start = int_or(body.get("__start_line__"), 1)
                out.append(doc.node(body, (), start, int_or(body.get("__end_line__"), start)))
        return out
    value = data.get("import")
    items = value if isinstance(value, list) else [value]
    for i, body in enumerate(items):
        if isinstance(body, dict):
            out.append(doc.json_node(body, ("import", i) if isinstance(value, list)
                                     else ("import",)))
    return out


def import_identities(data: Mapping[str, Any], doc: Doc, catalogue: Catalogue, fmt: str,
                      defined: Collection[str]) -> list[IdentityObject]:
    """The identity each `import` block of the file brings under management (see the module
    doc): kind and platform from the catalogue entry of the `to` type, the block's lines,
    `attribute_lines` `import.to` and `import.id`; none for an uncatalogued type or an address
    the file defines (`defined`: that block is the identity). A `to` inside a module
    (`module.x.<type>.<name>`) is read the same way: what the `id` names is what is adopted,
    whatever the module's block says. `fmt` is the catalogue format."""
    out: list[IdentityObject] = []
    for node in _import_nodes(data, doc):
        to, raw_id = node.body.get("to"), node.body.get("id")
        match = _ADDRESS.match(to.strip()) if isinstance(to, str) else None
        if match is None:
            continue
        modules, rtype = match.group(1), match.group(2)
        entry = catalogue.get(fmt, rtype)
        address = f"{modules}{rtype}.{match.group(3)}"
        if entry is None or address in defined:
            continue
        id_line = node.line("id")
        text = raw_id if isinstance(raw_id, str) else ""
        grants: tuple[Grant, ...] = ()
        unresolved: tuple[Unresolved, ...] = ()
        arn = text.split("/", 1)[1] if "/" in text else ""
        if rtype in _ARN_IDS and arn.startswith("arn:") and "${" not in text:
            grants = (Grant(action=arn, line=id_line),)
        else:
            unresolved = (Unresolved(
                "id", text or str(raw_id), "imported: what it grants is read from the existing "
                f"resource, not from this configuration (no `resource \"{rtype}\"` block here)",
                id_line),)
        out.append(IdentityObject(
            kind=entry.kind, platform=entry.platform, type=rtype, address=address,
            location=Location(doc.path, node.start, node.end),
            attribute_lines={"import.to": node.line("to"), "import.id": id_line},
            privileges=grants, unresolved=unresolved,
        ))
    return out
