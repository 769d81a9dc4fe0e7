"""Catalogued `resource`/`data` blocks -> `IdentityObject`s, and what every identity carries.

`resource_identity` builds the identity of a block the catalogue lists; the helpers read its
governance metadata (tags, labels, descriptions' `key=value`, Entra `owners`, `# nhi-gate:`
comments), references, lifetime, key usages and literal principals (also for `modules.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.model import Grant, IdentityObject, Location, ModuleSources
from checker.parsers import common
from checker.parsers.terraform import workloads
from checker.parsers.terraform.digest import METADATA_ATTRIBUTES, block_digest
from checker.parsers.terraform.expansion import dormant, instances
from checker.parsers.terraform.files import fileset_reads, inline_files
from checker.parsers.terraform.grants import bound_members, frame_attributes, grant_extractor
from checker.parsers.terraform.grants_aws import permissions_boundary
from checker.parsers.terraform.grants_azure import not_identity_parts
from checker.parsers.terraform.lifetime import declared_lifetime, session_duration
from checker.parsers.terraform.manifest import MANIFEST_TYPES, manifest_identity
from checker.parsers.terraform.nodes import (
    META,
    TAG_FIELDS,
    Block,
    Doc,
    Node,
    attribute_lines,
    is_expr,
    strings,
)
from checker.parsers.terraform.resolver import DataSource, Resolver, resolving
from checker.parsers.terraform.toggles import with_switch
from checker.parsers.terraform.trust import declared_trust
from checker.parsers.terraform.unresolved import Known, unresolved_values
from checker.parsers.terraform.values import module_values
from checker.policy.catalogue import Catalogue

#: The catalogue format of Terraform block types (`Catalogue.get(FORMAT, type)`).
FORMAT = "terraform"

#: Free-text fields scanned for `key=value` governance pairs (`common.parse_kv`).
_DESCRIPTION_FIELDS = ("description", "display_name", "notes")
#: `type.name`, `data.type.name` or `module.name` inside an expression (`references_in`).
_REFERENCE = lazy_compile(r"(?<![\w.\-])(?:(data)\.)?([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)")
#: A tag map expression that is exactly one module variable (`caller_tags`).
_VAR_ARG = lazy_compile(r"var\.([A-Za-z_][\w-]*)")
#: Literal identifiers of identities (`literal_principals`): GCP service account emails, AWS
#: role ARNs, `system:serviceaccount:<ns>:<name>` users and Azure GUIDs.
GCP_SA_EMAIL = lazy_compile(r"[a-z][a-z0-9-]{4,29}@[a-z0-9.-]+\.iam\.gserviceaccount\.com")
_AWS_ROLE_ARN = lazy_compile(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+")
_GUID = lazy_compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_K8S_SA_USER = lazy_compile(r"system:serviceaccount:([a-z0-9.-]+):([a-z0-9.-]+)")
#: GCP members that are everyone: `allUsers` (anyone on the Internet, signed in or not) and
#: `allAuthenticatedUsers` (any Google account or service account). A binding naming one is
#: public (`gcp-public:<member>` in `principals`). Source:
#: https://cloud.google.com/iam/docs/principals-overview#all-users
GCP_PUBLIC = frozenset({"allUsers", "allAuthenticatedUsers"})
#: Attributes whose literal GUID value names an Azure principal (client or object id).
_AZURE_ID_ATTRS = frozenset({
    "client_id", "application_id", "principal_id", "object_id", "principal_object_id",
    "service_principal_object_id", "app_role_assignment_required_id", "member_object_id",
    "principalId", "admin_group_object_ids",
})


@dataclass(frozen=True)
class Context:
    """What reference resolution needs: catalogued resource/data types and this file's modules."""

    resource_types: frozenset[str]
    data_types: frozenset[str]
    modules: frozenset[str]
    #: `data.aws_iam_policy_document.NAME` of this file -> its document (`expansion`).
    documents: Mapping[str, DataSource] = field(default_factory=dict)


#: Resource types catalogued per value of one attribute, as `<type>:<value>` (like Kubernetes
#: `Secret:<type>`): only `type = "SecureString"` SSM parameters hold secrets. Source:
#: https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-securestring.html
_REFINED_BY: Mapping[str, str] = {"aws_ssm_parameter": "type", "azapi_resource": "type"}


def _refined(key: str, value: object, catalogue: Catalogue) -> str:
    """`<type>:<value>` for a `_REFINED_BY` type. An `azapi_resource` `type` drops its
    `@<api-version>` and is matched to the catalogue ignoring case, as ARM resource types are
    case-insensitive (https://learn.microsoft.com/azure/azure-resource-manager/templates/resource-declaration)."""
    if not isinstance(value, str):
        return f"{key}:"
    wanted = f"{key}:{value.split('@', 1)[0]}"
    if key == "azapi_resource":
        folded = wanted.casefold()
        return next((t for t in catalogue.types(FORMAT) if t.casefold() == folded), wanted)
    return wanted


def resource_identity(
    block: Block, doc: Doc, catalogue: Catalogue, ctx: Context,
    module: ModuleSources | None = None, live_only: bool = False,
) -> IdentityObject | None:
    """An `IdentityObject` for a catalogued `resource`/`data` block, else None (also, when
    `live_only`, for one `expansion.dormant` gives no instance: a module call drops those)."""
    if len(block.labels) != 2:
        return None
    rtype, name = block.labels
    key = rtype if block.section == "resource" else f"data.{rtype}"
    block, file_inputs = inline_files(block, module) if module is not None else (block, ())
    node = block.node
    if key in _REFINED_BY:
        # Catalogued only for some values (`aws_ssm_parameter:SecureString`), not plain ones.
        key = _refined(key, node.get(_REFINED_BY[key]), catalogue)
    entry = catalogue.get(FORMAT, key) or (
        workloads.guessed_workload(key, node) if block.section == "resource" else None)
    if entry is None:
        return None
    address = f"{rtype}.{name}" if block.section == "resource" else f"data.{rtype}.{name}"
    if key in MANIFEST_TYPES:  # judged as the Kubernetes object it applies
        return manifest_identity(block, doc, catalogue, address, module)
    if workloads.is_workload(key, entry):  # a workload: only the identity it runs as
        resolver = Resolver(module, ctx.documents)  # `role = local.x` is the role local.x is
        pods = key in workloads.POD_SPECS  # a Kubernetes pod spec: read as written
        roles = workloads.role_node(key, node if pods else resolving(node, resolver))
        unknown = unresolved_values(roles, resolver, module, Known(
            ctx.resource_types, ctx.data_types, ctx.modules), bearing=lambda _: not pods)
        facet = workloads.workload_facet(key, roles, entry, address, _metadata(
            node, doc, module)[0], references_in(roles, ctx, address), literal_principals(roles))
        return facet and replace(facet, inputs=(*resolver.inputs(), *unknown.inputs),
                                 unresolved=unknown.entries)
    extractor = grant_extractor(rtype)
    off = dormant(node, Resolver(module, ctx.documents))  # its own resolver: records nothing
    if live_only and off:
        return None
    resolver = Resolver(module, ctx.documents)
    runs = instances(node, resolver)  # count / for_each: one resolver per instance
    grants = [g for run in runs for g in extractor(resolving(node, run))] if extractor else []
    metadata, metadata_from = _metadata(node, doc, module)
    unknown = unresolved_values(node, resolver, module, Known(ctx.resource_types, ctx.data_types,
                                                               ctx.modules))
    sets = fileset_reads(block, module, doc.path.rpartition("/")[0], unknown.facts)
    docs = ctx.documents  # `policy = data.aws_iam_policy_document.x.json` digests as its JSON
    return with_switch(IdentityObject(
        kind=entry.kind, platform=entry.platform, type=key, address=address,
        location=Location(doc.path, node.start, node.end),
        metadata=metadata,
        attribute_lines=attribute_lines(node),
        privileges=dedupe(grants),
        lifetime=declared_lifetime(rtype, node),
        namespace=_k8s_namespace(rtype, node),
        references=references_in(node, ctx, address),
        trust=declared_trust(rtype, resolving(node, resolver)),
        boundary=permissions_boundary(rtype, resolving(node, resolver)),
        usages=key_usages(rtype, node),
        principals=literal_principals(node),
        session=session_duration(rtype, resolving(node, resolver)),  # first: its values are inputs
        inputs=(*file_inputs, *resolver.inputs(), *sets[0]),
        digest=block_digest(block, module, not_identity_parts(key, node.body), docs) + sets[2],
        frame_digest=block_digest(block, module, f, docs) if (f := frame_attributes(key)) else "",
        bound=bound_members(key, resolving(node, resolver)),
        untagged_digest=block_digest(block, module, METADATA_ATTRIBUTES, docs),
        metadata_from=metadata_from, dormant=off,
        unresolved=sets[1],
    ), rtype, node, resolver)


def dedupe(grants: list[Grant]) -> tuple[Grant, ...]:
    """`grants` without repeats, in first-seen order."""
    return tuple(dict.fromkeys(grants))


# --------------------------------------------------------------------------- metadata


def fill(out: dict[str, str], key: str, value: str) -> None:
    """Set `out[key]` unless a key equal to it ignoring case is already there (first wins)."""
    folded = key.casefold()
    if all(k.casefold() != folded for k in out):
        out[key] = value


def merge_tags(out: dict[str, str], value: Any) -> None:
    """Add string tags from a map (or `k=v` strings from a list, as azuread uses) to `out`.

    Values holding `${...}` are skipped: their value is not known before apply.
    """
    if isinstance(value, dict):
        for key, val in value.items():
            if isinstance(key, str) and isinstance(val, str) and "${" not in key + val:
                fill(out, key, val)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str) and "${" not in item:
                for key, val in common.parse_kv(item).items():
                    fill(out, key, val)


def _metadata(node: Node, doc: Doc, module: ModuleSources | None
              ) -> tuple[dict[str, str], tuple[tuple[str, Location], ...]]:  # fmt: skip
    """Governance metadata of one block, first source winning per key, and the module
    variables its tag maps come from (`IdentityObject.metadata_from`, `caller_tags`).

    Order: `tags`/`tags_all`/`labels` maps (and the literal maps of a `merge(...)` of them),
    then the Kubernetes provider's `metadata { labels, annotations }`, then `key=value` pairs
    in `description`/`display_name`/`notes`, then a `# nhi-gate: k=v` comment directly above
    the block (HCL) or a `"//": "nhi-gate: k=v"` comment key in the block (JSON).
    """
    out: dict[str, str] = {}
    callers: dict[str, Location] = {}
    for name in TAG_FIELDS:
        value = node.get(name)
        merge_tags(out, value)
        for key, where in caller_tags(value, out, module):
            callers.setdefault(key, where)
    for meta in node.blocks("metadata"):
        merge_tags(out, meta.get("labels"))
        merge_tags(out, meta.get("annotations"))
    for name in _DESCRIPTION_FIELDS:
        value = node.get(name)
        if isinstance(value, str):
            for key, val in common.parse_kv(value).items():
                if "${" not in val:
                    fill(out, key, val)
    # An azuread application, service principal or group names its Entra ID `owners` (source:
    # registry.terraform.io/providers/hashicorp/azuread/latest/docs/resources/application).
    if owned := [o.removeprefix("${").removesuffix("}") for o in strings(node.get("owners"))]:
        fill(out, "owner", ", ".join(owned))
    if doc.spans is None:
        comment = common.comment_metadata(doc.lines, node.start)
    else:
        note = node.get("//")
        m = re.search(r"nhi-gate\s*:\s*(?!ignore\b)(.*)", note) if isinstance(note, str) else None
        comment = common.parse_kv(m.group(1)) if m else {}
    for key, val in comment.items():
        fill(out, key, val)
    return out, tuple(callers.items())


def caller_tags(value: Any, out: dict[str, str], module: ModuleSources | None
                ) -> tuple[tuple[str, Location], ...]:  # fmt: skip
    """The module variables a tag map expression is made of, when it is nothing else.

    `value` is a tag attribute as python-hcl2 writes it: `${var.tags}` or
    `${merge(var.tags, {"Name": "x"}, var.extra)}`. The literal maps among the `merge`
    arguments are added to `out` (as written, like any tag map). Returns (`var.NAME`, its
    `variable` block) for each variable argument when every argument is a variable the module
    declares (`ModuleValues.declared`) that no auto-loaded `.tfvars` file sets, or a literal
    map; () for anything else (a local, a function call, a root module's tfvars value). A
    variable's default is not read: it is not proof of what a run applies.
    See https://developer.hashicorp.com/terraform/language/functions/merge
    """
    if not isinstance(value, str) or module is None:
        return ()
    args = _expression_args(value)
    if args is None:
        return ()
    values = module_values(module)
    found: list[tuple[str, Location]] = []
    for arg in args:
        var = _VAR_ARG.fullmatch(arg)
        if var is not None:
            key = f"var.{var.group(1)}"
            if key not in values.declared or key in values.tfvars:
                return ()
            found.append((key, values.declared[key]))
            continue
        try:
            literal = json.loads(arg)
        except ValueError:
            return ()
        if not isinstance(literal, dict):
            return ()
        merge_tags(out, literal)
    return tuple(found)


def _expression_args(value: str) -> list[str] | None:
    """[`x`] for `${x}`, the top-level arguments of `${merge(a, b)}`; None for a string that
    is not one whole expression."""
    if not (value.startswith("${") and value.endswith("}")):
        return None
    expr = value[2:-1].strip()
    if not (expr.startswith("merge(") and expr.endswith(")")):
        return [expr]
    inner = expr[len("merge("):-1]
    args: list[str] = []
    depth, quoted, escaped, start = 0, False, False, 0
    for i, ch in enumerate(inner):
        if quoted:
            escaped, quoted = (False, quoted) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            quoted = True
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(inner[start:i].strip())
            start = i + 1
    args.append(inner[start:].strip())
    return [a for a in args if a]


def _k8s_namespace(rtype: str, node: Node) -> str | None:
    """`metadata { namespace = "..." }` of a Kubernetes provider resource, when literal."""
    if not rtype.startswith("kubernetes_"):
        return None
    for meta in node.blocks("metadata"):
        value = meta.get("namespace")
        if isinstance(value, str) and value and not is_expr(value):
            return value
    return None


def references_in(node: Node, ctx: Context, own: str) -> tuple[str, ...]:
    """Addresses of catalogued identities this block refers to, in first-seen order.

    Scans every string holding `${` (iteratively, any depth) for `type.name`,
    `data.type.name` and `module.name` where the type is catalogued (or the module is a
    catalogued module of this file), e.g. `${aws_iam_user.ci.name}` -> `aws_iam_user.ci`.
    """
    found: dict[str, None] = {}
    todo: list[Any] = [node.body]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            todo.extend(reversed([v for k, v in value.items() if k not in META]))
        elif isinstance(value, list):
            todo.extend(reversed(value))
        elif isinstance(value, str) and "${" in value:
            for m in _REFERENCE.finditer(value):
                is_data, type_, name = m.group(1), m.group(2), m.group(3)
                if is_data and type_ in ctx.data_types:
                    found[f"data.{type_}.{name}"] = None
                elif not is_data and type_ == "module" and name in ctx.modules:
                    found[f"module.{name}"] = None
                elif not is_data and type_ in ctx.resource_types:
                    found[f"{type_}.{name}"] = None
    found.pop(own, None)
    return tuple(found)


# --------------------------------------------------------------------------- usages, principals


def key_usages(rtype: str, node: Node) -> tuple[str, ...]:
    """Key usages a certificate or key may serve, as written (sorted, deduplicated).

    `tls_*_cert.allowed_uses`, `kubernetes_certificate_signing_request*.spec.usages`,
    `azurerm_key_vault_key.key_opts`, and the `key_usage`/`extended_key_usage` of an
    `azurerm_key_vault_certificate` policy.
    """
    found: list[str] = []
    if rtype in ("tls_self_signed_cert", "tls_locally_signed_cert"):
        found = strings(node.get("allowed_uses"))
    elif rtype.startswith("kubernetes_certificate_signing_request"):
        found = [u for spec in node.blocks("spec") for u in strings(spec.get("usages"))]
    elif rtype == "azurerm_key_vault_key":
        found = strings(node.get("key_opts"))
    elif rtype == "azurerm_key_vault_certificate":
        for policy in node.blocks("certificate_policy"):
            for props in policy.blocks("x509_certificate_properties"):
                found += strings(props.get("key_usage"))
                found += strings(props.get("extended_key_usage"))
    return tuple(sorted(set(found)))


def literal_principals(node: Node) -> tuple[str, ...]:
    """Literal identifiers of identities the block names (see `IdentityObject.principals`).

    Every literal string at any depth is searched for GCP service account emails, AWS role
    ARNs and `system:serviceaccount:<ns>:<name>` users; GUIDs count as Azure ids only under
    the attribute names in `_AZURE_ID_ATTRS`; a GCP `member`/`members` value that is
    `allUsers` or `allAuthenticatedUsers` is `gcp-public:<value>` (`GCP_PUBLIC`).
    Interpolations (`${...}`) are not resolved.
    """
    found: dict[str, None] = {}
    todo: list[tuple[str, Any]] = [("", node.body)]
    while todo:
        key, value = todo.pop()
        if isinstance(value, dict):
            todo.extend((k, v) for k, v in value.items() if k not in META)
        elif isinstance(value, list):
            todo.extend((key, v) for v in value)
        elif isinstance(value, str):
            for m in GCP_SA_EMAIL.finditer(value):
                found[f"gcp-sa:{m.group(0)}"] = None
            for m in _AWS_ROLE_ARN.finditer(value):
                found[f"aws-role:{m.group(0)}"] = None
            for m in _K8S_SA_USER.finditer(value):
                found[f"k8s-sa:{m.group(1)}/{m.group(2)}"] = None
            if key in ("member", "members") and value.strip() in GCP_PUBLIC:
                found[f"gcp-public:{value.strip()}"] = None
            if key in _AZURE_ID_ATTRS and _GUID.match(value.strip()):
                found[f"azure-id:{value.strip().lower()}"] = None
    return tuple(sorted(found))
