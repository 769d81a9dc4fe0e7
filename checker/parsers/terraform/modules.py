"""Terraform `module` calls -> `IdentityObject`s.

A call whose `source` is a catalogued registry module (`KNOWN_MODULES`:
terraform-aws-modules/iam, terraform-google-modules/service-accounts,
cloudposse/iam-system-user) is read by that module's builder. Any other call is an identity
only when an argument names an admin-equivalent or escalation grant on its own; deciding that
(`_privilege_names_in`, through `checker.policy.privileges.named_privilege`) is the one place
the Terraform parser reads policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.model import Grant, IdentityObject, Lifetime, Location, ModuleSources
from checker.parsers import common
from checker.parsers.aws_policy import document_grants
from checker.parsers.terraform.grants_aws import policy_document, policy_grants
from checker.parsers.terraform.identities import (
    FORMAT,
    GCP_SA_EMAIL,
    dedupe,
    fill,
    literal_principals,
    merge_tags,
)
from checker.parsers.terraform.nodes import (
    META,
    TAG_FIELDS,
    Block,
    Doc,
    Node,
    as_list,
    attribute_lines,
    find_line,
    strings,
)
from checker.parsers.terraform.resolver import Resolver, resolving
from checker.parsers.terraform.unresolved import Known, module_bearing, unresolved_values
from checker.policy.catalogue import Catalogue, CatalogueEntry
from checker.policy.privileges import named_privilege

#: The terraform-aws-modules IAM module, by registry address or GitHub URL, with its submodule.
_IAM_MODULE_TYPE = "module:terraform-aws-modules/iam/aws"
_GOOGLE_SA_MODULE_TYPE = "module:terraform-google-modules/service-accounts/google"
_SYSTEM_USER_MODULE_TYPE = "module:cloudposse/iam-system-user/aws"


def _module_source(registry: str, github: str) -> re.Pattern[str]:
    """A `source` pattern for one registry module: its registry address (`ns/name/provider`,
    optionally on `registry.terraform.io`) or its GitHub repository (`github.com/org/repo`,
    `git::https://`, `git@github.com:`, with `.git`), then the end, a `//submodule` or `?ref=`.
    See https://developer.hashicorp.com/terraform/language/modules/sources
    """
    end = r"(?=$|[/?])"
    return re.compile(
        rf"^(?:registry\.terraform\.io/)?{re.escape(registry)}{end}"
        rf"|^(?:git::)?(?:https://|ssh://git@|git@)?github\.com[/:]{re.escape(github)}"
        rf"(?:\.git)?{end}"
    )


_IAM_MODULE_SOURCE = _module_source("terraform-aws-modules/iam/aws",
                                    "terraform-aws-modules/terraform-aws-iam")
_GOOGLE_SA_MODULE_SOURCE = _module_source(
    "terraform-google-modules/service-accounts/google",
    "terraform-google-modules/terraform-google-service-accounts",
)
_SYSTEM_USER_MODULE_SOURCE = _module_source("cloudposse/iam-system-user/aws",
                                            "cloudposse/terraform-aws-iam-system-user")
_SUBMODULE = lazy_compile(r"//modules/([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class _Call:
    """One `module` block being turned into identities: its node (`inputs` substitutes module
    values), address, metadata and the resolver recording the values used."""

    node: Node
    inputs: Node
    address: str
    metadata: dict[str, str]
    resolver: Resolver | None

    def identity(self, entry: CatalogueEntry, type_: str, grants: list[Grant], *,
                 kind: str | None = None, address: str | None = None,
                 principals: tuple[str, ...] = (),
                 lifetime: Lifetime | None = None) -> IdentityObject:  # fmt: skip
        """An `IdentityObject` for this call (or, with `address`, for one resource the module
        creates, such as its access key, referring to the call), located at the whole block;
        references are filled in later by `_build`."""
        node = self.node
        return IdentityObject(
            kind=kind or entry.kind,
            platform=entry.platform,
            type=type_,
            address=address or self.address,
            location=Location(node.doc.path, node.start, node.end),
            metadata=dict(self.metadata),
            attribute_lines=attribute_lines(node),
            privileges=dedupe(grants),
            lifetime=lifetime,
            references=(self.address,) if address else (),
            principals=tuple(sorted({*literal_principals(node), *principals})),
            inputs=self.resolver.inputs() if self.resolver is not None else (),
        )


def module_identities(block: Block, doc: Doc, catalogue: Catalogue,
                       module: ModuleSources | None = None) -> list[IdentityObject]:  # fmt: skip
    """The identities one `module "N"` block defines (references are added by `_build`).

    A catalogued module (`KNOWN_MODULES`, matched on `source` with any `//submodule` and
    `?ref=`) is read by its builder. Any other module call (local path, git, registry) is
    judged fail-closed on privilege literals: when an argument value, or a string at any depth
    inside it, names an admin-equivalent or escalation grant on its own (`_named_grants`), the
    call becomes one `role_binding` of type `module:<source>` holding those grants, so NHI301
    and the identity rules judge it like any binding. Other calls give nothing. Metadata of
    every module identity: tag maps (`tags`, `*_tags`) and a `# nhi-gate:` comment above.
    """
    node = block.node
    source = node.get("source")
    source = source.strip() if isinstance(source, str) else ""
    resolver = Resolver(module) if module is not None else None
    metadata: dict[str, str] = {}
    for key, value in node.body.items():
        if key == "tags" or key.endswith("_tags"):
            merge_tags(metadata, value)
    for key, value in common.comment_metadata(doc.lines, node.start).items():
        fill(metadata, key, value)
    call = _Call(node, resolving(node, resolver), f"module.{block.labels[0]}", metadata, resolver)
    for type_, pattern, builder in KNOWN_MODULES:
        entry = catalogue.get(FORMAT, type_)
        if entry is not None and pattern.match(source):
            m = _SUBMODULE.search(source)
            found = builder(call, entry, m.group(1) if m else "", catalogue)
            if found is not None:
                return _with_unresolved(found, call, module, catalogue)
    grants = _named_grants(node, resolver)
    if not grants:
        return []
    platform = grants[0][0]
    entry = CatalogueEntry(FORMAT, f"module:{source}", "role_binding", platform, "", ())
    mine = [g for p, g in grants if p == platform]
    return _with_unresolved([call.identity(entry, entry.type, mine)], call, module, catalogue)


def _with_unresolved(found: list[IdentityObject], call: _Call, module: ModuleSources | None,
                     catalogue: Catalogue) -> list[IdentityObject]:  # fmt: skip
    """`found` with the call's own identity carrying what its role-, policy- and
    principal-naming arguments leave unresolved (`unresolved.unresolved_values`)."""
    types = catalogue.types(FORMAT)
    known = Known(frozenset(t for t in types if "." not in t and ":" not in t),
                  frozenset(t[5:] for t in types if t.startswith("data.")))
    unknown = unresolved_values(call.node, call.resolver, module, known, module_bearing)
    if not unknown.entries:
        return found
    return [replace(o, unresolved=unknown.entries, inputs=(*o.inputs, *unknown.inputs))
            if o.address == call.address else o for o in found]


def _iam_module(call: _Call, entry: CatalogueEntry, submodule: str,
                catalogue: Catalogue) -> list[IdentityObject]:  # fmt: skip
    """terraform-aws-modules/iam: the kind follows the submodule in `source`
    (`//modules/iam-user` -> user); managed-policy ARN inputs (`*policy_arns`, `policies`) and
    a `policy` JSON document become grants.
    See https://registry.terraform.io/modules/terraform-aws-modules/iam/aws/latest
    """
    grants: list[Grant] = []
    for key in call.node.body:
        if key.endswith("policy_arns") or key == "policies":
            grants.extend(replace(g, line=call.node.line(key)) for g in _arn_grants(call, key))
    grants.extend(policy_grants(call.inputs, "policy"))
    return [call.identity(entry, _IAM_MODULE_TYPE, grants, kind=_module_kind(submodule, entry))]


def _arn_grants(call: _Call, key: str) -> list[Grant]:
    """Managed policy ARNs in a list or map (values) input, each at its own line."""
    value = call.inputs.get(key)
    items = list(value.values()) if isinstance(value, dict) else strings(value)
    return [Grant(action=a, line=find_line(call.node, key, a)) for a in items
            if isinstance(a, str)]


def _google_sa_module(call: _Call, entry: CatalogueEntry, submodule: str,
                      catalogue: Catalogue) -> list[IdentityObject] | None:  # fmt: skip
    """terraform-google-modules/service-accounts (root module and `//modules/simple-sa`).

    One service account identity for the call (`names` with `prefix`, or the submodule's
    `name`): its `project_roles`, `"<project>=>roles/x"` (root) or `roles/x` on `project_id`
    (simple-sa), become grants on that project, each at its own line; literal account ids
    become `gcp-sa:` principals. `generate_keys = true` adds the
    `google_service_account_key.keys` the module creates (a static key, NHI303).
    Other submodules (`key-distributor`) are not this entry (None).
    See https://registry.terraform.io/modules/terraform-google-modules/service-accounts/google/latest
    """
    if submodule not in ("", "simple-sa"):
        return None
    node, inputs = call.node, call.inputs
    project = inputs.get("project_id")
    project = project if isinstance(project, str) else "*"
    grants: list[Grant] = []
    for item in strings(inputs.get("project_roles")):
        target, sep, role = item.rpartition("=>")
        if not sep:
            target, role = project, item
        line = find_line(node, "project_roles", item)
        grants.append(Grant(action=role.strip(), resource=target.strip() or "*", line=line))
    if submodule:
        names = strings(inputs.get("name"))
        prefix = ""
    else:
        names = strings(inputs.get("names"))
        given = inputs.get("prefix")
        prefix = f"{given}-" if isinstance(given, str) and given else ""
    emails = (f"{prefix}{name.lower()}@{project}.iam.gserviceaccount.com" for name in names)
    principals = tuple(f"gcp-sa:{e}" for e in emails if GCP_SA_EMAIL.fullmatch(e))
    out = [call.identity(entry, _GOOGLE_SA_MODULE_TYPE, grants, principals=principals)]
    key_entry = catalogue.get(FORMAT, "google_service_account_key")
    if not submodule and inputs.get("generate_keys") is True and key_entry is not None:
        out.append(call.identity(key_entry, key_entry.type, [],
                                 address=f"{call.address}.google_service_account_key.keys",
                                 principals=principals))
    return out


def _system_user_module(call: _Call, entry: CatalogueEntry, submodule: str,
                        catalogue: Catalogue) -> list[IdentityObject] | None:  # fmt: skip
    """cloudposse/iam-system-user: an IAM user, with `policy_arns`/`policy_arns_map` (managed
    policy ARNs) and `inline_policies`/`inline_policies_map` (JSON documents) as grants, and
    the access key the module creates unless `create_iam_access_key = false` (it defaults to
    true). A literal `iam_access_key_max_age` (seconds; 0 = no expiry) is the key's lifetime;
    absent, none is assumed (its default differs between module versions).
    See https://registry.terraform.io/modules/cloudposse/iam-system-user/aws/latest
    """
    if submodule:
        return None
    node, inputs = call.node, call.inputs
    grants = _arn_grants(call, "policy_arns") + _arn_grants(call, "policy_arns_map")
    for key in ("inline_policies", "inline_policies_map"):
        value = inputs.get(key)
        docs = list(value.values()) if isinstance(value, dict) else as_list(value)
        for text in docs:
            grants.extend(document_grants(policy_document(text), node.line(key)))
    out = [call.identity(entry, _SYSTEM_USER_MODULE_TYPE, grants)]
    key_entry = catalogue.get(FORMAT, "aws_iam_access_key")
    if inputs.get("create_iam_access_key") is False or key_entry is None:
        return out
    max_age = inputs.get("iam_access_key_max_age")
    lifetime: Lifetime | None = None
    resource = "aws_iam_access_key"
    if isinstance(max_age, (int, float)) and not isinstance(max_age, bool):
        if max_age > 0:
            lifetime = Lifetime(hours=max_age / 3600, attribute="iam_access_key_max_age")
            resource = "awsutils_expiring_iam_access_key"
    elif max_age is not None:
        lifetime = Lifetime(attribute="iam_access_key_max_age")
    out.append(call.identity(key_entry, key_entry.type, [], lifetime=lifetime,
                             address=f"{call.address}.{resource}.default"))
    return out


_ModuleBuilder = Callable[[_Call, CatalogueEntry, str, Catalogue], "list[IdentityObject] | None"]

#: Catalogued modules: (catalogue type, `source` pattern, builder). A builder returns None for a
#: submodule it does not model, which is then judged like any other module call.
KNOWN_MODULES: tuple[tuple[str, re.Pattern[str], _ModuleBuilder], ...] = (
    (_IAM_MODULE_TYPE, _IAM_MODULE_SOURCE, _iam_module),
    (_GOOGLE_SA_MODULE_TYPE, _GOOGLE_SA_MODULE_SOURCE, _google_sa_module),
    (_SYSTEM_USER_MODULE_TYPE, _SYSTEM_USER_MODULE_SOURCE, _system_user_module),
)

#: Module arguments that are no input of the module (Terraform meta-arguments), and tag maps.
_MODULE_META_ARGS = frozenset({"source", "version", "providers", "depends_on", "count",
                               "for_each", "//", *TAG_FIELDS})
#: A key whose values name roles or permissions (`_named_grants`): `policy_arns`, `roles`,
#: `bindings`, `iam`, `role_definition_name`, `actions`, `permissions`, `grants`, ...
_ROLE_POSITION = lazy_compile(
    r"role|polic|permission|privilege|iam|binding|grant|action|arn|access|assignment",
    re.IGNORECASE)
#: A key whose values are metadata or free text, never grants, at any depth (`_named_grants`).
_TEXT_POSITION = lazy_compile(
    r"^(?:tags|tags_all|labels|annotations|description|display_name|name|notes|comment)$"
    r"|_(?:tags|labels|annotations|description)$", re.IGNORECASE)
#: Splits an expression's text into the literals python-hcl2 leaves unquoted inside `${...}`.
_EXPR_SPLIT = lazy_compile(r"[\s,\[\](){}\"'$]+")


def _named_grants(node: Node, resolver: Resolver | None) -> list[tuple[str, Grant]]:
    """(platform, grant) for each argument value of a module call that names an admin or
    escalation grant (`_privilege_names_in`), in argument order.

    Only strings in a position that names a role count (`_ROLE_POSITION`): some key on the path
    from the argument down to the string, the argument itself included (`policy_arns`,
    `roles`, `bindings`, `role_assignments`, `iam`, `actions`), and no key on that path that
    holds metadata or free text (`_TEXT_POSITION`: `tags`, `*_tags`, `labels`, `annotations`,
    `description`, `name`), at any depth. So `bindings = { "roles/owner" = [...] }` and
    `role_assignments = { a = { role_definition_name = "Owner" } }` name grants, while
    `node_pools = { a = { tags = { Owner = "secondary" } } }` does not. Strings are searched
    at any depth of lists and maps (map keys too); inside an expression
    (`concat(var.a, ["arn:..."])`) each literal is tried. `"<target>=>roles/x"` (the
    terraform-google-modules convention) names `roles/x` on `<target>`. The line is the
    value's own line inside the argument. Meta-arguments are skipped.
    """
    out: list[tuple[str, Grant]] = []
    for key, raw in node.body.items():
        if key in _MODULE_META_ARGS or _TEXT_POSITION.search(key):
            continue
        value = resolver.resolve_deep(raw) if resolver is not None else raw
        todo: list[tuple[Any, bool]] = [(value, bool(_ROLE_POSITION.search(key)))]
        while todo:
            value, named = todo.pop(0)
            if isinstance(value, dict):
                for k, v in value.items():
                    if k in META or not isinstance(k, str) or _TEXT_POSITION.search(k):
                        continue
                    if named:  # a map key under a role position: `{ "roles/owner" = [...] }`
                        todo.append((k, True))
                    todo.append((v, named or bool(_ROLE_POSITION.search(k))))
            elif isinstance(value, list):
                todo.extend((v, named) for v in value)
            elif isinstance(value, str) and named:
                for platform, action, target in _privilege_names_in(value):
                    line = find_line(node, key, action)
                    out.append((platform, Grant(action=action, resource=target, line=line)))
    return out


def _privilege_names_in(value: str) -> list[tuple[str, str, str]]:
    """(platform, action, target) for the privilege names one string holds (see above).

    The one place the Terraform parser reads policy: whether a string names an admin-equivalent
    or escalation grant is `checker.policy.privileges.named_privilege` (rules/privileges.yaml).
    """
    target, sep, rest = value.rpartition("=>")
    target = target.strip() if sep and target.strip() else "*"
    text = rest if sep else value
    candidates = [text.strip()]
    if "${" in text:
        candidates += [t for t in _EXPR_SPLIT.split(text) if t]
    found: list[tuple[str, str, str]] = []
    for candidate in dict.fromkeys(candidates):
        platform = named_privilege(candidate)
        if platform is not None:
            found.append((platform, candidate, target))
    return found


def _module_kind(submodule: str, entry: CatalogueEntry) -> str:
    """Identity kind of an IAM submodule; the catalogue entry's kind (role) when unknown.

    Submodule names of terraform-aws-modules/terraform-aws-iam v5 and v6 (`modules/`).
    """
    if submodule == "iam-user":
        return "user"
    if submodule in ("iam-policy", "iam-read-only-policy"):
        return "policy"
    if submodule.startswith("iam-group"):
        return "role_binding"
    if submodule.endswith("oidc-provider"):
        return "oidc_trust"
    return entry.kind
