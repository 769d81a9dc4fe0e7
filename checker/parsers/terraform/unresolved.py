"""What nhi-gate cannot compute in an identity: `IdentityObject.unresolved` (rule NHI106).

`unresolved_values` walks the attributes of one block (or module call) that carry grants,
trust, roles or principals (`resource_bearing`, `module_bearing`), asks the `values.Resolver`
to substitute what it can (`Resolver.resolve_deep`), and reports every `${...}` left, once per
cause, with one of four reasons:

- `unknown function <name>()`: a function call nhi-gate does not evaluate, whose arguments are
  otherwise known (`concat(...)`; a `file()` not read: `file not read: <path> (<why>)`);
- `output of remote module <name> (<source>)`: `module.NAME.OUTPUT` of a call whose `source` is
  not a local path (registry, git, URL), or whose call was not found (`source not read`);
- `data source <type>.<name>`: what a data source returns is read from the provider when
  Terraform plans (https://developer.hashicorp.com/terraform/language/data-sources);
- `computed by the provider: <type>.<name>.<attr>`: an attribute of a resource that is not a
  catalogued identity (https://developer.hashicorp.com/terraform/language/expressions/references#values-not-yet-known).

Not unresolved (judged elsewhere, or unable to widen access):
- attributes of another catalogued identity (`aws_iam_role.x.name`), catalogued data sources
  and module calls of the file, local module outputs;
- `data.aws_iam_policy_document.X.*` (data sources are module-scoped: the module's own
  document, judged itself); the environment's data sources (`_KNOWN_DATA`: account id,
  partition, region, service principal names, the credentials running Terraform);
- `var.NAME` with no literal value, and any function of a `var.*`/`each.*` value (the caller
  supplies it, judged at the call site); `path.*`, `terraform.workspace`, `each.*`, `count.*`,
  `self.*` and `dynamic` iterators (`for_each` is the Resolver's);
- resource targets (`Resource`, `scope`, `bucket`) and, in principal positions
  (`_PRINCIPAL_NAMES`), provider-computed values: a reference to a managed resource names that
  one resource (or its own identity); module arguments naming names, prefixes and paths.

A non-literal `local.NAME` is followed into its definition (`local.NAME -> data.x.y.z`), which
becomes an input of the identity, like each data source block of the same file it reads
(`Unresolvable.inputs`, `.digest`): a change to either touches the identity.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.model import Location, ModuleSources, Unresolved
from checker.parsers.terraform.files import unread_file
from checker.parsers.terraform.grants_aws import policy_document
from checker.parsers.terraform.interpolations import call_text, interpolations, strings
from checker.parsers.terraform.module_calls import block_span, module_calls
from checker.parsers.terraform.nodes import META, Node
from checker.parsers.terraform.resolver import Resolver
from checker.parsers.terraform.values import module_values

#: Attribute names (any depth) carrying grants, trust, roles or principals: those the extractors
#: of `grants.py`, `grants_aws.py` and `trust.py` read, per their provider docs.
_BEARING_NAMES = frozenset({
    "policy", "assume_role_policy", "policy_arn", "policy_arns", "managed_policy_arns",
    "managed_policy_arn", "source_policy_documents", "override_policy_documents", "role", "roles",
    "user", "users", "group", "groups", "principal_arn", "principal_id", "permission_set_arn",
    "grantee_principal", "operations", "actions", "not_actions", "identifiers", "member",
    "members", "permissions", "policy_data", "attribute_condition", "role_definition_name",
    "role_definition_id", "data_actions", "not_data_actions", "subject", "issuer", "audience",
    "audiences", "verbs", "api_groups", "policies", "token_policies", "bound_subject",
    "bound_claims", "bound_audiences", "capabilities",
})  # fmt: skip
#: (nested block, attribute) pairs that carry them although the name alone does not.
_BEARING_PAIRS = frozenset({
    ("role_ref", "name"), ("role_ref", "kind"), ("subject", "name"), ("subject", "kind"),
    ("subject", "namespace"), ("condition", "values"), ("condition", "variable"),
    ("rule", "resources"),
})  # fmt: skip
#: Attributes holding an IAM policy document (decoded with `grants_aws.policy_document`).
_DOCUMENT_NAMES = frozenset({"policy", "assume_role_policy"})
#: Policy document keys that carry grants or trust (`Resource` names targets: not read).
_DOCUMENT_KEYS = frozenset({"Statement", "Action", "NotAction", "Principal", "NotPrincipal",
                            "Condition", "Effect"})
#: A module call argument that names roles, policies, principals or trust (module calls).
_MODULE_BEARING = lazy_compile(
    r"role|polic|permission|privilege|iam|binding|grant|action|member|principal|trust"
    r"|subject|assignment", re.IGNORECASE)
_MODULE_SKIP = lazy_compile(r"^(?:source|version|providers|depends_on|count|for_each|//)$"
                          r"|tags|labels|description|name$|prefix$|path$", re.IGNORECASE)
#: Data sources whose values are the environment Terraform runs in (its account, partition,
#: region, a service's principal name, the credentials running it) or the module's own policy
#: documents: not unresolved. Provider docs: registry.terraform.io/providers/hashicorp/aws/
#: latest/docs/data-sources/{caller_identity,partition,region,service_principal}, .../azurerm/
#: latest/docs/data-sources/client_config, .../google/latest/docs/data-sources/client_config
_KNOWN_DATA = frozenset({"aws_caller_identity", "aws_partition", "aws_region",
                         "aws_service_principal", "aws_iam_policy_document",
                         "azurerm_client_config", "azuread_client_config", "google_client_config"})
_CALLER_ROOTS = frozenset({"var", "each", "count", "self"})  # the caller's, `for_each`'s values
_ENV_ROOTS = frozenset({"path", "terraform"})  # reference roots of the environment
#: Attributes naming who gets a grant: a provider-computed value there is a managed
#: resource's own identity (`azurerm_kubernetes_cluster.x.kubelet_identity[0].object_id`).
_PRINCIPAL_NAMES = frozenset({
    "member", "members", "principal_id", "principal_arn", "identifiers", "user", "users", "group",
    "groups", "grantee_principal", "subject", "issuer", "audience", "audiences",
    "permission_set_arn",
})  # fmt: skip
#: A dotted reference (`data.t.n.attr`, `module.m.out`, `aws_x.y[0].z`) inside an expression.
_REFERENCE = lazy_compile(
    r"(?<![\w.\-\"])([A-Za-z_][\w-]*(?:\s*\[[^\]\[]*\]|\.[A-Za-z_*][\w-]*)+)")
#: A function call inside an expression.
_CALL = lazy_compile(r"(?<![\w.\-])([a-z][a-z0-9_]*)\s*\(")
#: A double-quoted literal without an interpolation (but `${path.*}`) inside an expression.
_QUOTED = lazy_compile(r'"(?:[^"\\$]|\\.|\$(?!\{)|\$\{\s*path\.\w+\s*\})*"')
_MAX_DEPTH = 8  # how far non-literal locals are followed

#: Maps that never carry grants (in `.tf.json` they read like nested blocks).
_NOT_BEARING = frozenset({"//", "tags", "tags_all", "labels", "annotations"})
Bearing = Callable[[tuple[str, ...]], bool]

def resource_bearing(path: tuple[str, ...]) -> bool:
    """True when the attribute at `path` (block names, then the attribute) carries grants,
    trust, roles or principals."""
    name = path[-1]
    return name in _BEARING_NAMES or (len(path) > 1 and (path[-2], name) in _BEARING_PAIRS)


def module_bearing(path: tuple[str, ...]) -> bool:
    """True for a module call argument (any depth) named like a role, policy, principal or
    trust (`_MODULE_BEARING`), and not a meta-argument, tag map or description."""
    top = path[0]
    return not _MODULE_SKIP.search(top) and bool(_MODULE_BEARING.search(top))


@dataclass(frozen=True)
class Known:
    """What counts as judged elsewhere: catalogued resource types (`aws_iam_role`), catalogued
    data source types (without `data.`), and the catalogued module calls of the file."""

    resource_types: frozenset[str]
    data_types: frozenset[str]
    modules: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Unresolvable:
    """The entries, the inputs they read (`local.NAME` definitions and data source blocks of
    the file, as (name, Location)) and a digest of what those say ("" when none)."""

    entries: tuple[Unresolved, ...] = ()
    inputs: tuple[tuple[str, Location], ...] = ()
    digest: str = ""
    facts = property(lambda self: (self.inputs, self.entries, self.digest))  # fileset_reads'


def unresolved_values(node: Node, resolver: Resolver | None, module: ModuleSources | None,
                      known: Known, bearing: Bearing = resource_bearing) -> Unresolvable:
    """What cannot be computed in the `bearing` attributes of `node` (see the module doc).

    `resolver` is the identity's own `values.Resolver` (None without module values): whatever
    it evaluates is not reported. Entries are in attribute order, without repeats; each line is
    its attribute's (or nested block attribute's) first line.
    """
    walk = _Walk(node, resolver, module, known)
    for path, value, line, text in _attributes(node, ()):
        if bearing(path):
            walk.attribute(".".join(path), path[-1], value, line, text)
    inputs = tuple(walk.inputs.items())
    digest = ""
    if walk.texts:
        payload = json.dumps(sorted(walk.texts.items()), sort_keys=True, default=str)
        digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
    return Unresolvable(tuple(dict.fromkeys(walk.entries)), inputs, digest)


def _attributes(node: Node, prefix: tuple[str, ...]
                ) -> Iterator[tuple[tuple[str, ...], Any, int, str | None]]:  # fmt: skip
    """(path, raw value, line, source text or None) of every attribute of `node` and of its
    nested blocks; a `dynamic "x" { content { ... } }` block reads as `x`."""
    for name, value in node.body.items():
        if name in META or name in _NOT_BEARING:
            continue
        nested = node.blocks(name) if isinstance(value, (list, dict)) else []
        if name == "dynamic" and nested:
            for dyn in nested:
                for label, body in dyn.body.items():
                    if isinstance(body, dict):
                        inner = dyn.doc.node(body, (), dyn.start, dyn.end)
                        for content in inner.blocks("content"):
                            yield from _attributes(content, (*prefix, str(label)))
            continue
        if nested and all(isinstance(v, dict) for v in (value if isinstance(value, list)
                                                         else [value])):
            for child in nested:
                yield from _attributes(child, (*prefix, name))
            continue
        yield (*prefix, name), value, node.line(name), node.text(name)


class _Walk:
    """One identity's walk: entries found, inputs read, the text of each input."""
    def __init__(self, node: Node, resolver: Resolver | None, module: ModuleSources | None,
                 known: Known) -> None:
        self.node, self.module, self.known = node, module, known
        self.resolver = resolver or Resolver(None)  # literals alone without module values
        self.entries: list[Unresolved] = []
        self.inputs: dict[str, Location] = {}
        self.texts: dict[str, str] = {}
        self.iterators = _iterators(node.body)
        self.principal = False

    def attribute(self, attr: str, name: str, raw: Any, line: int, text: str | None) -> None:
        """Record the causes in one attribute's value (a policy document: its statements),
        computed from its source `text` (python-hcl2 drops quotes inside `concat(["a"])`)."""
        self.principal = attr.rsplit(".", 1)[-1] in _PRINCIPAL_NAMES or attr.endswith(
            ("subject.name", "condition.values"))
        value = self.resolver.resolve_deep(self.resolver.resolve(raw, text))
        if name in _DOCUMENT_NAMES and isinstance(value, str):
            doc = policy_document(value)
            if isinstance(doc, dict):
                value = _document_parts(self.resolver.resolve_deep(doc))
        for text in strings(value):
            for expr in interpolations(text):
                for expression, reason in self.causes(expr, "", 0)[0]:
                    self.entries.append(Unresolved(attr, expression, reason, line))

    def causes(self, expr: str, via: str, depth: int) -> tuple[list[tuple[str, str]], set[str]]:
        """(expression, reason) for each cause inside one `${...}`'s inner text, and the kinds
        of what it reads (`caller`, `env`, `known`, `literal`, `blamed`).

        A function (here or in a local it reads) is a cause only when nothing else is and its
        value is not the caller's (no `var.*`/`each.*` input: judged at the call site) nor only
        the account, partition or region (no literal of its own: `_meaningful`)."""
        bare = _QUOTED.sub('"..."', expr)  # literals never shown (no secret values)
        found: list[tuple[str, str]] = []
        kinds: set[str] = set()
        for m in _REFERENCE.finditer(bare):
            parts = re.sub(r"\s*\[[^\]\[]*\]", "", m.group(1)).split(".")
            if parts[0] == "local" and len(parts) > 1:
                sub, sub_kinds = self.local(parts[1], via, depth)
                found += sub
                kinds |= sub_kinds
                continue
            kind, reason = self.reason(parts)
            kinds.add(kind)
            if reason is not None:
                found.append((via + m.group(1), reason))
        if "caller" in kinds:  # a function of the caller's value: judged at the call site
            found = [f for f in found if not f[1].startswith("unknown function")]
        calls = list(_CALL.finditer(bare))
        if found or not calls or "caller" in kinds:
            return found, kinds
        unread, first = unread_file(expr, self.module), calls[0]  # file not read: <path>
        why, src = unread if unread is not None else (None, None)
        if why is None and kinds and kinds <= {"env"} and not any(
                map(_meaningful, _QUOTED.findall(expr))):
            return found, kinds
        if src is not None:  # read but not computed: an input, so a change of it fails closed
            lines = max(src.raw.count(b"\n") + (0 if src.raw.endswith(b"\n") else 1), 1)
            self.inputs.setdefault(f'file("{src.path}")', Location(src.path, 1, lines))
            self.texts[f'file("{src.path}")'] = hashlib.sha256(src.raw).hexdigest()
        return [(via + call_text(bare, first.start()),
                 why or f"unknown function {first.group(1)}()")], kinds | {"blamed"}

    def local(self, name: str, via: str, depth: int) -> tuple[list[tuple[str, str]], set[str]]:
        """The causes and kinds inside a local's definition (a literal local: `literal`)."""
        values = module_values(self.module) if self.module is not None else None
        key = f"local.{name}"
        if values is None or depth >= _MAX_DEPTH or key not in values.expressions:
            return [], {"literal"}
        raw, where = values.expressions[key]
        found: list[tuple[str, str]] = []
        kinds: set[str] = set()
        for text in strings(raw):
            for expr in interpolations(text):
                sub, sub_kinds = self.causes(expr, f"{via}{key} -> ", depth + 1)
                found += sub
                kinds |= sub_kinds
        if found:  # an input of the unresolved value: a change to it touches the identity
            self.inputs.setdefault(key, where)
            self.texts[key] = json.dumps(raw, sort_keys=True, default=str)
        return found, kinds or {"literal"}

    def reason(self, parts: list[str]) -> tuple[str, str | None]:
        """(kind, reason) of one reference; the reason is None when it is not unresolved (see
        the module doc). Provider-computed values in principal positions name that resource's
        own identity (`_PRINCIPAL_NAMES`) and are not unresolved."""
        root = parts[0]
        if root in _CALLER_ROOTS or root in self.iterators:
            return "caller", None
        if root in _ENV_ROOTS or len(parts) < 2:
            return "env", None
        if root == "data":
            type_, name = parts[1], parts[2] if len(parts) > 2 else ""
            if type_ in _KNOWN_DATA:
                return "env", None
            if type_ in self.known.data_types or not name:
                return "known", None
            self.data_input(type_, name)
            return "blamed", f"data source {type_}.{name}"
        if root == "module":
            name = parts[1]
            source = module_calls(tuple(self.node.doc.lines), self.module).get(name)
            if name in self.known.modules or (source or "").startswith(("./", "../")):
                return "known", None
            return "blamed", f"output of remote module {name} ({source or 'source not read'})"
        if "_" not in root:  # a bare literal inside a list (`[ec2.amazonaws.com]`)
            return "literal", None
        if root in self.known.resource_types or len(parts) < 3 or self.principal:
            return "known", None
        return "blamed", f"computed by the provider: {root}.{parts[1]}.{parts[2]}"

    def data_input(self, type_: str, name: str) -> None:
        key = f"data.{type_}.{name}"
        if key in self.inputs:
            return
        span = block_span(self.node.doc.lines, "data", type_, name)
        if span is not None:
            lines = self.node.doc.lines[span[0] - 1:span[1]]
            self.inputs[key] = Location(self.node.doc.path, *span)
            self.texts[key] = " ".join(" ".join(lines).split())


def _meaningful(quoted: str) -> bool:
    """True for a quoted literal with a word of its own (not `""`, `","`, `"%s"`)."""
    return len(re.findall(r"[A-Za-z0-9]", re.sub(r"%[a-z]", "", quoted))) >= 3


def _document_parts(doc: Mapping[str, Any]) -> list[Any]:
    """The values of a policy document's statements under `_DOCUMENT_KEYS`."""
    statements = doc.get("Statement")
    if isinstance(statements, (str, dict)):
        statements = [statements]
    out: list[Any] = []
    for st in statements if isinstance(statements, list) else []:
        if isinstance(st, dict):
            out.extend(v for k, v in st.items() if k in _DOCUMENT_KEYS)
        else:
            out.append(st)
    return out


def _iterators(body: Mapping[str, Any]) -> frozenset[str]:
    found: set[str] = set()
    todo: list[Any] = [body]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "dynamic":
                    for dyn in value if isinstance(value, list) else [value]:
                        if isinstance(dyn, dict):
                            for label, inner in dyn.items():
                                if label not in META and isinstance(inner, dict):
                                    it = inner.get("iterator")
                                    found.add(it if isinstance(it, str) else str(label))
                todo.append(value)
        elif isinstance(item, list):
            todo.extend(item)
    return frozenset(found)
