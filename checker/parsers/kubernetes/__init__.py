"""Kubernetes manifests (YAML or JSON, multi-document, `List` kinds) -> IdentityObjects.

Which kinds define identities is data: `rules/catalogue/kubernetes.yaml`, looked up by `kind`
(and, for `Secret`, first by `Secret:<type>` so a `kubernetes.io/service-account-token` Secret
can be catalogued as an API token). Everything else is skipped.

Shapes produced (`IdentityObject` fields):
- `address`: `Kind/namespace/name`, or `Kind/name` for cluster-scoped kinds and objects with no
  `metadata.namespace`; `metadata.generateName` gives `Kind/ns/prefix*`; no name gives
  `Kind/ns/(unnamed)`.
- `location`: from the document's (or `List` item's) first key to its last line with content.
- `metadata`: `# nhi-gate: k=v` comments directly above the document, then `metadata.labels`,
  then `metadata.annotations` (later wins); scalar values only, kept as written. The
  `kubectl.kubernetes.io/last-applied-configuration` annotation is never copied (it can hold a
  Secret's data).
- `attribute_lines`: every top-level key (`metadata`, `rules`, `roleRef`, `subjects`, `data`,
  `stringData`, `type`, `automountServiceAccountToken`, ...), `metadata.<key>`,
  `metadata.labels.<key>`, `metadata.annotations.<key>`, `spec.<key>`, `roleRef.<key>`, and
  the key names (never the values) under `data`/`stringData`/`spec.encryptedData` as
  `data.<key>` and so on.
- `privileges`:
  - Role/ClusterRole: one `Grant(verb, "<apiGroup>/<resource>")` per verb x group x resource
    of each rule (core group: `/secrets`; subresources stay: `/pods/exec`; all: `*/*`);
    `resourceNames` narrow it to `<apiGroup>/<resource>:<name>`; `nonResourceURLs` give
    `url:<path>`. `line` is the rule item's line.
  - RoleBinding/ClusterRoleBinding: `Grant("<roleRef.kind>/<roleRef.name>", <namespace>)` at the
    line of `roleRef.name` (the `roleRef` line when it has none); the resource is `*` for a
    ClusterRoleBinding and `(current namespace)` for a RoleBinding without
    `metadata.namespace`.
- `references`: binding subjects (`ServiceAccount/ns/name`, `User/name`, `Group/name`), a
  ServiceAccount's `secrets`/`imagePullSecrets`, a token Secret's service account, a
  cert-manager Certificate's issuer and Secret, an ExternalSecret's store and target Secret.
- `lifetime`: cert-manager `spec.duration`, CSR `spec.expirationSeconds`, bootstrap token
  `expiration`.

Workloads (Pod, Deployment, ..., CronJob) are normalised to one facet per pod spec by
`checker.parsers.kubernetes.workloads`.

Secret values never enter the model: only key names and line numbers of `data`/`stringData`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from yaml.nodes import MappingNode, Node, ScalarNode

from checker.model import Grant, IdentityObject, Lifetime, Location, ParseResult, SourceFile
from checker.parsers import common
from checker.parsers.kubernetes.digest import object_digest, role_frame_digest
from checker.parsers.kubernetes.workloads import (
    WORKLOAD_POD_SPECS,
    token_sinks,
    workload_facet,
)
from checker.policy.catalogue import Catalogue, CatalogueEntry
from checker.safeyaml import (
    end_line_of,
    get,
    get_entry,
    get_path,
    items,
    line_of,
    load_source,
    scalar,
    scalar_text,
    sequence,
)

FORMAT = "kubernetes"

#: Kinds that live outside namespaces: a `metadata.namespace` on them is ignored.
CLUSTER_SCOPED = frozenset(
    {
        "ClusterRole",
        "ClusterRoleBinding",
        "CertificateSigningRequest",
        "ClusterIssuer",
        "ClusterSecretStore",
        "ClusterExternalSecret",
        "Namespace",
        "CustomResourceDefinition",
    }
)

#: Annotations never copied into metadata: they can carry a whole object, Secret data included.
_SKIPPED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
#: Maps whose key names (never values) get attribute lines.
_KEYED_MAPS = (("data",), ("stringData",), ("spec", "encryptedData"), ("spec", "data"))
_LIST_DEPTH = 8
#: A Secret value that is only a template or substitution, filled in at deploy time.
_TEMPLATE_ONLY = re.compile(r"|\{\{[^{}]*\}\}|\$\{[^{}]*\}|\$\([^()]*\)|<[^<>]*>")


def parse(source: SourceFile, catalogue: Catalogue) -> ParseResult:
    """Find every catalogued Kubernetes object in one manifest file.

    `source.raw` is YAML or JSON, one or more documents; `kind: List` (or any `*List` with
    `items`) is expanded. Documents that are not mappings or have no `kind` are skipped.
    Returns the objects in file order and at most one `ParseProblem` (NHI901 syntax, NHI902
    not text, NHI903 budget); objects from documents before a syntax error are kept.
    """
    stream = load_source(source)
    objects: list[IdentityObject] = []
    for root in stream.documents:
        for doc, kind in _expand(root, None, 0):
            obj = _identity(doc, kind, source.path, stream.lines, catalogue)
            if obj is not None:
                objects.append(obj)
    problems = (stream.problem,) if stream.problem is not None else ()
    return ParseResult(tuple(objects), problems)


def _expand(node: Node, inherited: str | None, depth: int) -> Iterator[tuple[MappingNode, str]]:
    """`(object mapping, kind)` for a document, or for each item of a `List` document.

    Items of a typed list (`ServiceAccountList`) may omit `kind`; they inherit it.
    """
    if not isinstance(node, MappingNode):
        return
    kind = scalar_text(get(node, "kind")) or inherited
    if not kind:
        return
    entries = get(node, "items")
    if kind.endswith("List") and entries is not None and depth < _LIST_DEPTH:
        item_kind = kind[: -len("List")] or None
        for item in sequence(entries):
            yield from _expand(item, item_kind, depth + 1)
        return
    yield node, kind


def _identity(
    doc: MappingNode, kind: str, path: str, lines: list[str], catalogue: Catalogue
) -> IdentityObject | None:
    entry = _entry(doc, kind, catalogue)
    if entry is None:
        return None
    meta = get(doc, "metadata")
    namespace = None if kind in CLUSTER_SCOPED else scalar_text(get(meta, "namespace")) or None
    name = _name(meta)
    address = "/".join(p for p in (kind, namespace, name) if p)
    start = _first_key_line(doc)
    end = max(start, end_line_of(doc, lines))
    privileges: tuple[Grant, ...] = ()
    references: list[str] = []
    if kind in ("Role", "ClusterRole"):
        privileges = _rule_grants(doc)
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        privileges = _binding_grants(doc, kind, namespace)
        references.extend(_subjects(doc, namespace))
    references.extend(_references(doc, kind, namespace, name))
    if kind in WORKLOAD_POD_SPECS:
        return workload_facet(doc, kind, entry, address, Location(path, start, end),
                              _metadata(meta, lines, start), namespace, _attribute_lines(doc))
    return IdentityObject(
        kind=entry.kind,
        platform=entry.platform,
        type=entry.type,
        address=address,
        location=Location(path, start, end),
        metadata=_metadata(meta, lines, start),
        attribute_lines=_attribute_lines(doc),
        privileges=privileges,
        lifetime=_lifetime(doc, kind),
        namespace=namespace,
        references=tuple(dict.fromkeys(references)),
        usages=tuple(sorted(set(_texts(get(get(doc, "spec"), "usages"))))),
        principals=_principals(meta, kind, namespace, name, references),
        secret_sinks=token_sinks(doc) if kind == "ServiceAccount" else (),
        digest=object_digest(doc, kind),
        frame_digest=role_frame_digest(doc, kind),
    )


def _entry(doc: MappingNode, kind: str, catalogue: Catalogue) -> CatalogueEntry | None:
    if kind == "Secret":
        secret_type = scalar_text(get(doc, "type"))
        if secret_type:
            refined = catalogue.get(FORMAT, f"Secret:{secret_type}")
            if refined is not None:
                return refined
    return catalogue.get(FORMAT, kind)


def _name(meta: Node | None) -> str:
    name = scalar_text(get(meta, "name"))
    if name:
        return name
    prefix = scalar_text(get(meta, "generateName"))
    return f"{prefix}*" if prefix else "(unnamed)"


def _first_key_line(doc: MappingNode) -> int:
    for key, _ in doc.value:
        return line_of(key)
    return line_of(doc)


def _metadata(meta: Node | None, lines: list[str], start: int) -> dict[str, str]:
    out = _comment_metadata(lines, start)
    for name, _, value in items(get(meta, "labels")):
        text = scalar_text(value)
        if text is not None:
            out[name] = text
    for name, _, value in items(get(meta, "annotations")):
        text = scalar_text(value)
        if text is not None and name not in _SKIPPED_ANNOTATIONS:
            out[name] = text
    return out


def _comment_metadata(lines: list[str], start: int) -> dict[str, str]:
    """`# nhi-gate:` comments directly above `start`, also across one `---` marker above them."""
    out = common.comment_metadata(lines, start)
    above = start - 1
    while above >= 1 and lines[above - 1].lstrip().startswith("#"):
        above -= 1
    if above >= 1 and lines[above - 1].rstrip() == "---":
        for key, value in common.comment_metadata(lines, above).items():
            out.setdefault(key, value)
    return out


def _attribute_lines(doc: MappingNode) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, key, _ in items(doc):
        out[name] = line_of(key)
    meta = get(doc, "metadata")
    for name, key, _ in items(meta):
        out[f"metadata.{name}"] = line_of(key)
    for section in ("labels", "annotations"):
        for name, key, _ in items(get(meta, section)):
            out[f"metadata.{section}.{name}"] = line_of(key)
    for section in ("spec", "roleRef"):
        for name, key, _ in items(get(doc, section)):
            out[f"{section}.{name}"] = line_of(key)
    for path in _KEYED_MAPS:
        for name, key, value in items(get_path(doc, *path)):
            text = scalar(value)
            if text is None or _TEMPLATE_ONLY.fullmatch(text.strip()):
                continue  # `{{TOKEN}}` (parses as a mapping), `${TOKEN}`, empty: no literal data
            out[".".join((*path, name))] = line_of(key)
    return out


def _rule_grants(doc: MappingNode) -> tuple[Grant, ...]:
    grants: list[Grant] = []
    for rule in sequence(get(doc, "rules")):
        line = line_of(rule)
        verbs = _texts(get(rule, "verbs"))
        resources = _texts(get(rule, "resources"))
        groups = _texts(get(rule, "apiGroups")) or [""]
        names = _texts(get(rule, "resourceNames"))
        for verb in verbs:
            for group in groups:
                for resource in resources:
                    target = f"{group}/{resource}"
                    if names:
                        grants.extend(Grant(verb, f"{target}:{n}", line=line) for n in names)
                    else:
                        grants.append(Grant(verb, target, line=line))
            for url in _texts(get(rule, "nonResourceURLs")):
                grants.append(Grant(verb, f"url:{url}", line=line))
    return tuple(dict.fromkeys(grants))


def _binding_grants(doc: MappingNode, kind: str, namespace: str | None) -> tuple[Grant, ...]:
    entry = get_entry(doc, "roleRef")
    if entry is None:
        return ()
    ref = entry[1]
    ref_kind = scalar_text(get(ref, "kind")) or "Role"
    ref_name = scalar_text(get(ref, "name")) or "(unnamed)"
    scope = "*" if kind == "ClusterRoleBinding" else namespace or "(current namespace)"
    name_entry = get_entry(ref, "name")
    line = line_of(name_entry[0]) if name_entry else line_of(entry[0])
    return (Grant(f"{ref_kind}/{ref_name}", scope, line=line),)


def _subjects(doc: MappingNode, namespace: str | None) -> list[str]:
    out: list[str] = []
    for subject in sequence(get(doc, "subjects")):
        kind = scalar_text(get(subject, "kind")) or "(unknown)"
        name = scalar_text(get(subject, "name")) or "(unnamed)"
        if kind == "ServiceAccount":
            ns = scalar_text(get(subject, "namespace")) or namespace
            out.append("/".join(p for p in (kind, ns, name) if p))
        else:
            out.append(f"{kind}/{name}")
    return out


def _references(doc: MappingNode, kind: str, namespace: str | None, name: str) -> list[str]:
    def namespaced(ref_kind: str, ref_name: str | None) -> str | None:
        if not ref_name:
            return None
        if ref_kind in CLUSTER_SCOPED:
            return f"{ref_kind}/{ref_name}"
        return "/".join(p for p in (ref_kind, namespace, ref_name) if p)

    refs: list[str | None] = []
    spec = get(doc, "spec")
    if kind == "ServiceAccount":
        for field in ("secrets", "imagePullSecrets"):
            refs.extend(
                namespaced("Secret", scalar_text(get(s, "name"))) for s in sequence(get(doc, field))
            )
    elif kind == "Secret":
        account = scalar_text(
            get_path(doc, "metadata", "annotations", "kubernetes.io/service-account.name")
        )
        refs.append(namespaced("ServiceAccount", account))
    elif kind == "Certificate":
        issuer = get(spec, "issuerRef")
        refs.append(namespaced(scalar_text(get(issuer, "kind")) or "Issuer",
                               scalar_text(get(issuer, "name"))))
        refs.append(namespaced("Secret", scalar_text(get(spec, "secretName"))))
    elif kind == "ExternalSecret":
        store = get(spec, "secretStoreRef")
        refs.append(namespaced(scalar_text(get(store, "kind")) or "SecretStore",
                               scalar_text(get(store, "name"))))
        target = scalar_text(get_path(spec, "target", "name"))
        refs.append(namespaced("Secret", target or name))
    elif kind == "SealedSecret":
        target = scalar_text(get_path(spec, "template", "metadata", "name"))
        refs.append(namespaced("Secret", target or name))
    return [r for r in refs if r]


def _lifetime(doc: MappingNode, kind: str) -> Lifetime | None:
    spec = get(doc, "spec")
    if kind == "Certificate":
        hours = common.go_duration_hours(scalar_text(get(spec, "duration")))
        return Lifetime(hours=hours, attribute="spec.duration") if hours is not None else None
    if kind == "CertificateSigningRequest":
        seconds = scalar_text(get(spec, "expirationSeconds"))
        if seconds and seconds.isdigit():
            return Lifetime(hours=int(seconds) / 3600, attribute="spec.expirationSeconds")
        return None
    if kind == "Secret" and scalar_text(get(doc, "type")) == "bootstrap.kubernetes.io/token":
        expires = scalar_text(get_path(doc, "stringData", "expiration"))
        if expires:
            return Lifetime(expires=expires, attribute="stringData.expiration")
        encoded = scalar_text(get_path(doc, "data", "expiration"))
        if encoded:
            try:
                decoded = base64.b64decode(encoded, validate=True).decode("ascii")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return Lifetime(expires=decoded.strip(), attribute="data.expiration")
    return None



def _texts(node: Node | None) -> list[str]:
    """The scalar texts of a sequence (a lone scalar counts as a one-item list)."""
    if isinstance(node, ScalarNode):
        text = scalar_text(node)
        return [text] if text else []
    return [t for t in (scalar_text(n) for n in sequence(node)) if t is not None]


#: Workload identity annotations on a ServiceAccount -> principal prefix (see
#: `IdentityObject.principals`). Sources:
#: https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html,
#: https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity,
#: https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html
_WORKLOAD_ANNOTATIONS = (
    ("eks.amazonaws.com/role-arn", "aws-role:"),
    ("iam.gke.io/gcp-service-account", "gcp-sa:"),
    ("azure.workload.identity/client-id", "azure-id:"),
)


def _principals(
    meta: Node | None, kind: str, namespace: str | None, name: str, references: list[str]
) -> tuple[str, ...]:
    """Comparable identifiers this object names: a ServiceAccount itself
    (`k8s-sa:<ns>/<name>`) and its workload identity annotations; a binding's ServiceAccount
    subjects."""
    found: list[str] = []
    if kind == "ServiceAccount":
        found.append(f"k8s-sa:{namespace or 'default'}/{name}")
        for key, prefix in _WORKLOAD_ANNOTATIONS:
            value = scalar_text(get_path(meta, "annotations", key)) if meta is not None else None
            if value:
                found.append(prefix + (value.lower() if prefix == "azure-id:" else value))
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        for ref in references:
            parts = ref.split("/")
            if parts[0] == "ServiceAccount" and len(parts) == 3:
                found.append(f"k8s-sa:{parts[1]}/{parts[2]}")
    return tuple(sorted(set(found)))
