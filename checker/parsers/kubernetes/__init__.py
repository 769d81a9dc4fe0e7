"""Kubernetes manifests (YAML or JSON, multi-document, `List` kinds) -> IdentityObjects.

Which kinds define identities is data: `rules/catalogue/kubernetes*.yaml`, looked up as
`<API group>/<kind>` first (cloud identities declared as custom resources, read by
`checker.parsers.kubernetes.crds`; a kind of those groups that is not listed is skipped), then
by `kind` (and, for `Secret`, first by `Secret:<type>` so a
`kubernetes.io/service-account-token` Secret can be catalogued as an API token). Everything
else is skipped.

Shapes produced (`IdentityObject` fields):
- `address`: `Kind/namespace/name`, or `Kind/name` for cluster-scoped kinds and objects with no
  `metadata.namespace`; `metadata.generateName` gives `Kind/ns/prefix*`; no name gives
  `Kind/ns/(unnamed)`. A catalogued object composed by a Crossplane `Composition` (its
  `base`, `checker.parsers.kubernetes.compositions`) is `Composition/<name>:<resource name>`;
  one a Kyverno policy rule generates (`checker.parsers.kubernetes.generators`) is
  `ClusterPolicy/<name>:<rule name>`.
- `location`: from the document's (or `List` item's) first key to its last line with content.
- `metadata`: `# nhi-gate: k=v` comments directly above the document, then `metadata.labels`,
  then `metadata.annotations` (later wins); scalar values only, kept as written. The
  `kubectl.kubernetes.io/last-applied-configuration` annotation is never copied (it can hold a
  Secret's data). The labels of the External Secrets kinds are not copied (app and chart
  labels; a change to them is no change to what the object reads, `digest.REFERENCE_KINDS`).
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
  cert-manager Certificate's issuer and Secret, an ExternalSecret's store and target Secret,
  and what a custom resource names (`crds.crd_facts`: a policy attachment's user or role, an
  access key's connection Secret).
- `trust`, `boundary`, `usages`, and the privileges of custom resources: `crds.crd_facts`.
- the EKS `aws-auth` ConfigMap (`ConfigMap:aws-auth`): its IAM mappings as grants
  (`checker.parsers.kubernetes.aws_auth`).
- `lifetime`: cert-manager `spec.duration`, CSR `spec.expirationSeconds`, bootstrap token
  `expiration`.

Workloads (Pod, Deployment, ..., CronJob, and the pod templates of Argo Rollouts, OpenKruise,
Knative Serving, OpenShift and KServe; of another custom resource when it has one:
`workloads.generic_pod_spec`) are normalised to one facet per pod spec by
`checker.parsers.kubernetes.workloads`.

Secret values never enter the model: only key names and line numbers of `data`/`stringData`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator

from yaml.nodes import MappingNode, Node

from checker.lazy_patterns import lazy_compile
from checker.model import Grant, IdentityObject, Location, ParseResult, SourceFile
from checker.parsers import common
from checker.parsers.kubernetes.admission import admission_facets
from checker.parsers.kubernetes.aggregation import aggregated_into
from checker.parsers.kubernetes.aws_auth import TYPE as AWS_AUTH
from checker.parsers.kubernetes.aws_auth import aws_auth_grants, is_aws_auth
from checker.parsers.kubernetes.compositions import composed_bases
from checker.parsers.kubernetes.crds import CRD_GROUPS, crd_facts
from checker.parsers.kubernetes.crds_gcp import member_frame_digest
from checker.parsers.kubernetes.digest import (
    REFERENCE_KINDS,
    object_digest,
    role_frame_digest,
    untagged_digest,
)
from checker.parsers.kubernetes.flux_sources import flux_source_facets
from checker.parsers.kubernetes.generators import generated_objects
from checker.parsers.kubernetes.gitops import (
    GITOPS_TYPES,
    gitops_frame_digest,
    gitops_grants,
    granting_key,
)
from checker.parsers.kubernetes.gitops_inputs import deployed_inputs
from checker.parsers.kubernetes.rbac import binding_grants, rule_grants, subjects, texts
from checker.parsers.kubernetes.references import CLUSTER_SCOPED, lifetime, principals
from checker.parsers.kubernetes.references import references as refs_of
from checker.parsers.kubernetes.volumes import volume_facets
from checker.parsers.kubernetes.workloads import (
    WORKLOAD_POD_SPECS,
    component_pod_specs,
    generic_pod_spec,
    token_sinks,
    workload_facet,
)
from checker.policy.catalogue import Catalogue, CatalogueEntry
from checker.policy.placeholders import armoured_placeholder, placeholder_word
from checker.policy.plain_uri import credential_free_uri
from checker.safeyaml import (
    end_line_of,
    get,
    get_path,
    items,
    line_of,
    load_source,
    scalar,
    scalar_text,
    sequence,
)

FORMAT = "kubernetes"

#: Annotations never copied into metadata: they can carry a whole object, Secret data included.
_SKIPPED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
#: Maps whose key names (never values) get attribute lines.
_KEYED_MAPS = (("data",), ("stringData",), ("spec", "encryptedData"), ("spec", "data"))
_LIST_DEPTH = 8
#: An Argo CD repository, repository-credential or cluster Secret (label
#: `argocd.argoproj.io/secret-type`) holds settings beside its credentials: these keys are
#: settings (recorded as `setting:<path>`), every other key (`password`, `username`,
#: `sshPrivateKey`, `tlsClientCertData`, `tlsClientCertKey`, `githubAppPrivateKey`,
#: `gcpServiceAccountKey`, `bearerToken`, a cluster's `config`, ...) is secret material. Argo CD
#: "Declarative Setup", Repositories and Clusters
#: (https://argo-cd.readthedocs.io/en/stable/operator-manual/declarative-setup/#repositories,
#: https://argo-cd.readthedocs.io/en/stable/operator-manual/argocd-repositories-yaml/).
_ARGOCD_SECRET_TYPE = "argocd.argoproj.io/secret-type"
_ARGOCD_SETTINGS = frozenset({
    "url", "name", "type", "project", "enableOCI", "insecure", "enableLfs", "forceHttpBasicAuth",
    "githubAppID", "githubAppInstallationID", "githubAppEnterpriseBaseUrl", "noProxy",
    "useAzureWorkloadIdentity", "server", "namespaces", "clusterResources",
})
#: The Argo CD Secret types that register a repository (or a credential template for many):
#: with only `_ARGOCD_SETTINGS` keys they hold no credential (a public repository, or one
#: whose credentials a `repo-creds` Secret or workload identity gives).
_ARGOCD_REPOSITORY_TYPES = frozenset({"repository", "repo-creds"})
#: A Secret value that is only a template or substitution, filled in at deploy time.
_TEMPLATE_ONLY = lazy_compile(r"|\{\{[^{}]*\}\}|\$\{[^{}]*\}|\$\([^()]*\)|<[^<>]*>")


def _settings_only(doc: MappingNode) -> bool:
    """True for an Argo CD repository or repository-credential Secret
    (`_ARGOCD_REPOSITORY_TYPES`) whose `data` and `stringData` keys are all settings
    (`_ARGOCD_SETTINGS`: `url`, `name`, `type`, `project`, ...): it holds no credential, so it
    is no identity. Any other key (`password`, `sshPrivateKey`, `githubAppPrivateKey`,
    `tlsClientCertKey`, ...) keeps it one."""
    labels = get(get(doc, "metadata"), "labels")
    if scalar_text(get(labels, _ARGOCD_SECRET_TYPE)) not in _ARGOCD_REPOSITORY_TYPES:
        return False
    return all(name in _ARGOCD_SETTINGS for path in (("data",), ("stringData",))
               for name, _, _ in items(get_path(doc, *path)))


def _decoded(text: str) -> str:
    """A `data` value as the text it encodes (base64, RFC 4648), else as written."""
    try:
        return base64.b64decode("".join(text.split()), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return text


def parse(source: SourceFile, catalogue: Catalogue) -> ParseResult:
    """Find every catalogued Kubernetes object in one manifest file.

    `source.raw` is YAML or JSON, one or more documents; `kind: List` (or any `*List` with
    `items`) is expanded. Documents that are not mappings or have no `kind` are skipped.
    Returns the objects in file order and at most one `ParseProblem` (NHI901 syntax, NHI902
    not text, NHI903 budget); objects from documents before a syntax error are kept.
    """
    stream = load_source(source)
    objects: list[IdentityObject] = []
    docs: list[tuple[MappingNode, str]] = []
    for root in stream.documents:
        for doc, kind in _expand(root, None, 0):
            docs.append((doc, kind))
            obj = _identity(doc, kind, source.path, stream.lines, catalogue)
            if obj is not None:
                objects.append(obj)
                objects.extend(_components(doc, kind, obj, source.path, stream.lines, catalogue))
            holder = _name(get(doc, "metadata"))
            embedded = [(f"Composition/{holder}:{resource}", base, base_kind)
                        for resource, base, base_kind in composed_bases(doc, kind)]
            embedded += [(f"{kind}/{holder}:{rule}", made, made_kind)
                         for rule, made, made_kind in generated_objects(doc, kind)]
            for address, base, base_kind in embedded:
                obj = _identity(base, base_kind, source.path, stream.lines, catalogue, address)
                if obj is not None:
                    objects.append(obj)
    objects.extend(admission_facets(docs, source.path, stream.lines))
    objects.extend(flux_source_facets(docs, source.path, stream.lines))
    objects.extend(volume_facets(docs, source.path, stream.lines))
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


def _components(doc: MappingNode, kind: str, obj: IdentityObject, path: str, lines: list[str],
                catalogue: Catalogue) -> Iterator[IdentityObject]:
    """A facet per further pod spec of workload `obj` (`workloads.component_pod_specs`),
    addressed `<obj address>:<key under spec>`."""
    if obj.derived_from != obj.address or "podSpec" not in obj.attribute_lines:
        return
    for spec in component_pod_specs(doc, obj.type, _entry(doc, kind, catalogue) is None):
        found = _identity(doc, kind, path, lines, catalogue, f"{obj.address}:{spec[1]}", spec)
        if found is not None:
            yield found


def _identity(
    doc: MappingNode, kind: str, path: str, lines: list[str], catalogue: Catalogue,
    address: str | None = None, pod_spec: tuple[str, ...] | None = None,
) -> IdentityObject | None:
    entry = _entry(doc, kind, catalogue)
    pod_spec = pod_spec or (generic_pod_spec(doc) if entry is None else None)
    if entry is None and pod_spec is not None:  # a custom resource's pod template: a workload
        group = (scalar_text(get(doc, "apiVersion")) or "").rpartition("/")[0]
        entry = CatalogueEntry(FORMAT, f"{group}/{kind}", "role_binding", "kubernetes", "", ())
    if entry is None or (kind == "Secret" and _settings_only(doc)):
        return None
    meta = get(doc, "metadata")
    namespace = None if kind in CLUSTER_SCOPED else scalar_text(get(meta, "namespace")) or None
    name = _name(meta)
    address = address or "/".join(p for p in (kind, namespace, name) if p)
    start = _first_key_line(doc)
    end = max(start, end_line_of(doc, lines))
    # the kind as the RBAC and digest code knows it: a Crossplane `Role` is no RBAC Role
    rbac_kind = kind if entry.type.split(":", 1)[0] == kind else entry.type
    privileges: tuple[Grant, ...] = ()
    references: list[str] = []
    facts = crd_facts(doc, entry.type, namespace, name)
    mapped: tuple[str, ...] = ()
    if entry.type == AWS_AUTH:
        privileges, mapped = aws_auth_grants(doc, path)
    elif rbac_kind in ("Role", "ClusterRole"):
        privileges = rule_grants(doc)
    elif rbac_kind in ("RoleBinding", "ClusterRoleBinding"):
        privileges = binding_grants(doc, kind, namespace)
        references.extend(subjects(doc, namespace))
    elif entry.type in GITOPS_TYPES:
        granting = granting_key(entry.type)
        if granting and not any(granting(k) for k, _, _ in items(get(doc, "data"))):
            return None  # Argo CD's built-in defaults (no policy, no account): nothing here
        privileges = gitops_grants(doc, entry.type, namespace)
    else:
        privileges = facts.privileges
    references.extend(refs_of(doc, kind, namespace, name))
    references.extend(facts.references)
    attributes = _attribute_lines(doc)
    if entry.type in WORKLOAD_POD_SPECS or pod_spec is not None:
        return workload_facet(doc, kind, entry, address, Location(path, start, end),
                              _metadata(meta, lines, start), namespace, attributes, pod_spec)
    return IdentityObject(
        kind=entry.kind,
        platform=entry.platform,
        type=entry.type,
        address=address,
        location=Location(path, start, end),
        metadata=_metadata(meta, lines, start, labels=rbac_kind not in REFERENCE_KINDS),
        attribute_lines=attributes,
        privileges=privileges,
        lifetime=lifetime(doc, kind),
        namespace=namespace,
        references=tuple(dict.fromkeys(references)),
        usages=tuple(sorted({*texts(get(get(doc, "spec"), "usages")), *facts.usages})),
        principals=tuple(sorted({*principals(meta, rbac_kind, namespace, name, references),
                                 *facts.principals, *mapped})),
        trust=facts.trust,
        boundary=facts.boundary,
        bound=aggregated_into(meta, rbac_kind),
        unresolved=facts.unresolved + deployed_inputs(doc, entry.type),
        secret_sinks=token_sinks(doc) if kind == "ServiceAccount" else (),
        digest=object_digest(doc, rbac_kind),
        frame_digest=role_frame_digest(doc, AWS_AUTH if entry.type == AWS_AUTH else rbac_kind)
        or gitops_frame_digest(doc, entry.type) or member_frame_digest(doc, entry.type),
        untagged_digest=untagged_digest(doc, rbac_kind, secret_free=not any(
            k.startswith(("data.", "stringData.", "setting:")) for k in attributes)),
    )


def _entry(doc: MappingNode, kind: str, catalogue: Catalogue) -> CatalogueEntry | None:
    """The catalogue entry of an object: `<API group>/<kind>` first (`iam.aws.upbound.io/User`),
    then, outside the cloud-identity CRD groups (`crds.CRD_GROUPS`), the bare kind (a Secret
    first as `Secret:<type>`)."""
    group = (scalar_text(get(doc, "apiVersion")) or "").rpartition("/")[0]
    if group:
        grouped = catalogue.get(FORMAT, f"{group}/{kind}")
        if grouped is not None or group in CRD_GROUPS:
            return grouped
    if kind == "ConfigMap":  # only named ones are identities: `ConfigMap:argocd-rbac-cm`
        name = scalar_text(get_path(doc, "metadata", "name"))
        if is_aws_auth(kind, scalar_text(get_path(doc, "metadata", "namespace")), name or ""):
            return catalogue.get(FORMAT, AWS_AUTH)
        named = f"ConfigMap:{name}"
        return None if named == AWS_AUTH else catalogue.get(FORMAT, named)
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


def _metadata(meta: Node | None, lines: list[str], start: int,
              labels: bool = True) -> dict[str, str]:
    out = _comment_metadata(lines, start)
    for name, _, value in items(get(meta, "labels") if labels else None):
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
    argocd = get(get(meta, "labels"), _ARGOCD_SECRET_TYPE) is not None
    for path in _KEYED_MAPS:
        for name, key, value in items(get_path(doc, *path)):
            if argocd and name in _ARGOCD_SETTINGS and path in (("data",), ("stringData",)):
                out["setting:" + ".".join((*path, name))] = line_of(key)
                continue
            text = scalar(value)
            if text is None or _TEMPLATE_ONLY.fullmatch(text.strip()):
                continue  # `{{TOKEN}}` (parses as a mapping), `${TOKEN}`, empty: no literal data
            literal = _decoded(text) if path == ("data",) else text
            if credential_free_uri(literal):
                continue  # `mongodb://mongodb:27017`: an address, no secret material
            placeholder = ("\n" not in literal.strip() and placeholder_word(literal)
                           ) or armoured_placeholder(literal)
            # `CHANGEME`, `<password>`: NHI401's placeholder judgement, kept apart from data
            out[("placeholder:" if placeholder else "") + ".".join((*path, name))] = line_of(key)
    return out


