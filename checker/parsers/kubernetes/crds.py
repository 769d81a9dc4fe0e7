"""Cloud identities declared as Kubernetes custom resources -> their grants, trust and references.

The catalogue type of such an object is `<API group>/<kind>` (`iam.aws.upbound.io/User`,
rules/catalogue/kubernetes_crds.yaml); `crd_facts` reads what each one grants, in the same
shapes as its Terraform equivalent, so the admin tables (`checker.policy.privileges`) judge
both alike:
- AWS (Crossplane `iam.aws.upbound.io` / `iam.aws.crossplane.io`, ACK `iam.services.k8s.aws`):
  a policy document (a JSON string) -> one `Grant` per Action x Resource
  (`checker.parsers.aws_policy`, shared with Terraform), at the line of its field; a managed
  policy ARN (`policyArn`, `managedPolicyArns`, ACK `policies`) -> `Grant(<arn>)`; an
  assume-role document -> `Trust`s; `permissionsBoundary` -> `boundary`. A Crossplane
  `AccessKey` writes its secret to `spec.writeConnectionSecretToRef` (a reference
  `Secret/<ns>/<name>`).
- GCP (Crossplane `cloudplatform.gcp.upbound.io`: `checker.parsers.kubernetes.crds_gcp`; Config
  Connector `iam.cnrm.cloud.google.com`): `IAMPolicyMember` -> `Grant(role,
  <resource>)`, `IAMPolicy`/`IAMPartialPolicy` -> one per binding role, the resource being
  `resourceRef.external` or `<kind>/<name>`; `IAMCustomRole` -> one per permission; members
  that are service accounts or `allUsers` become principals (`gcp-sa:`, `gcp-public:`). An
  `IAMServiceAccountKey` writes its key to a Secret of its own name unless annotated
  `cnrm.cloud.google.com/create-gsa-key-secret: "false"`.
- Azure (Azure Service Operator): `RoleAssignment` -> `Grant(<roleDefinitionReference.armId>,
  <owner.armId or owner kind/name>)` (role ids are looked up by GUID, `role_key`);
  `FederatedIdentityCredential` -> `Trust("Issuer:<issuer>", (subject,))`.
- References to credentials held elsewhere (External Secrets, Secrets Store CSI): the store or
  provider they read is their usage (`store:<Kind>/<name>`, `provider:<name>`); a
  `ClusterSecretStore` -> `Grant("read-secrets:<provider>", "namespaces:*")`, or the namespaces
  its `spec.conditions` allow (`namespaces:a,b`, `namespaces:selector`): cluster-wide read access
  to a secret backend is recorded (inventory, drift) but is not an admin grant (what it reads is
  bounded by the backend credential's own policy, judged where that credential is defined).

Sources (each entry of the catalogue cites its API reference page):
https://marketplace.upbound.io/providers/upbound/provider-aws-iam/latest,
https://aws-controllers-k8s.github.io/community/reference/,
https://cloud.google.com/config-connector/docs/reference/resource-docs/iam/iampolicymember,
https://azure.github.io/azure-service-operator/reference/,
https://external-secrets.io/latest/api/clustersecretstore/.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node

from checker.model import Grant, Trust
from checker.parsers.aws_policy import document_grants
from checker.parsers.kubernetes.crds_aws import (
    CrdFacts,
    arn_grants,
    crossplane_aws,
    document,
    key_line,
    ns,
    policy_grants,
    text,
    trust_of,
)
from checker.parsers.kubernetes.crds_gcp import CROSSPLANE_GCP, crossplane_gcp
from checker.parsers.kubernetes.rbac import texts
from checker.safeyaml import get, get_entry, get_path, items, line_of, scalar_text, sequence

CROSSPLANE_AWS = ("iam.aws.upbound.io", "iam.aws.crossplane.io")
ACK_IAM = "iam.services.k8s.aws"
CONFIG_CONNECTOR = "iam.cnrm.cloud.google.com"
ASO_AUTHORIZATION = "authorization.azure.com"
ASO_IDENTITY = "managedidentity.azure.com"
#: The API groups whose kinds are looked up only as `<group>/<kind>` (a Crossplane `Role` is
#: no RBAC Role).
CRD_GROUPS = frozenset({*CROSSPLANE_AWS, CROSSPLANE_GCP, ACK_IAM, CONFIG_CONNECTOR,
                        ASO_AUTHORIZATION, ASO_IDENTITY})
#: Config Connector's annotation that turns off the key Secret. Source:
#: https://cloud.google.com/config-connector/docs/reference/resource-docs/iam/iamserviceaccountkey
_KEY_SECRET_ANNOTATION = "cnrm.cloud.google.com/create-gsa-key-secret"
_PROJECT_ANNOTATION = "cnrm.cloud.google.com/project-id"
_GCP_PUBLIC = frozenset({"allUsers", "allAuthenticatedUsers"})


def crd_facts(doc: MappingNode, type_: str, namespace: str | None, name: str) -> CrdFacts:
    """The grants, trust, references, principals and usages of a catalogued custom resource
    `doc` of catalogue type `type_` (`<group>/<kind>` or a bare kind); empty for other types."""
    group, _, kind = type_.rpartition("/")
    spec = get(doc, "spec")
    if group in CROSSPLANE_AWS:
        return crossplane_aws(doc, kind, namespace)
    if group == CROSSPLANE_GCP:
        return crossplane_gcp(doc, kind, namespace)
    if group == ACK_IAM:
        return _ack(spec, kind)
    if group == CONFIG_CONNECTOR:
        return _config_connector(doc, kind, namespace, name)
    if group in (ASO_AUTHORIZATION, ASO_IDENTITY):
        return _aso(spec, kind, namespace)
    return _secret_reference(spec, kind, namespace)


def _ack(spec: Node | None, kind: str) -> CrdFacts:
    """ACK IAM `User`, `Role`, `Policy`: `policies` (managed ARNs), `inlinePolicies` (name ->
    document), `policyDocument`, `assumeRolePolicyDocument`, `permissionsBoundary`."""
    if kind == "Policy":
        return CrdFacts(tuple(policy_grants(spec, "policyDocument")))
    grants = arn_grants(spec, "policies")
    for _, _, value in items(get(spec, "inlinePolicies")):
        line = line_of(value)
        grants.extend(document_grants(document(value), line))
    trust = trust_of(spec, "assumeRolePolicyDocument") if kind == "Role" else ()
    return CrdFacts(tuple(grants), trust, boundary=text(spec, "permissionsBoundary"))


def _config_connector(doc: MappingNode, kind: str, namespace: str | None,
                      name: str) -> CrdFacts:
    spec = get(doc, "spec")
    annotations = get_path(doc, "metadata", "annotations")
    project = scalar_text(get(annotations, _PROJECT_ANNOTATION))
    if kind == "IAMServiceAccount":
        account = text(spec, "resourceID") or name
        return CrdFacts(principals=(f"gcp-sa:{account}@{project}.iam.gserviceaccount.com",)
                        if project else ())
    if kind == "IAMServiceAccountKey":
        refs = [_ref("IAMServiceAccount", get(spec, "serviceAccountRef"), namespace)]
        if (scalar_text(get(annotations, _KEY_SECRET_ANNOTATION)) or "").lower() != "false":
            refs.append(ns("Secret", namespace, name))
        return CrdFacts(references=tuple(r for r in refs if r))
    if kind == "IAMCustomRole":
        line = key_line(spec, "permissions")
        target = f"projects/{project}" if project else "*"
        return CrdFacts(tuple(Grant(p, target, line=line) for p in texts(get(spec, "permissions"))))
    resource_ref = get(spec, "resourceRef")
    resource = (_ref(scalar_text(get(resource_ref, "kind")) or "(resource)", resource_ref, None)
                or "*")
    grants: list[Grant] = []
    members: list[str] = []
    if kind == "IAMPolicyMember":
        grants.extend(Grant(r, resource, line=key_line(spec, "role"),
                            conditions=_gcp_condition(spec)) for r in texts(get(spec, "role")))
        members.extend(_members([spec] if spec is not None else []))
    else:  # IAMPolicy, IAMPartialPolicy
        for binding in sequence(get(spec, "bindings")):
            grants.extend(Grant(r, resource, line=key_line(binding, "role"),
                                conditions=_gcp_condition(binding))
                          for r in texts(get(binding, "role")))
            listed = get(binding, "members")
            members.extend(texts(listed))
            members.extend(_members(sequence(listed)))
    return CrdFacts(tuple(grants), principals=_gcp_principals(members))


def _ref(kind: str, ref: Node | None, namespace: str | None) -> str | None:
    """A Config Connector/ASO reference: `external` as written, else `<kind>/<ns>/<name>`."""
    external = scalar_text(get(ref, "external")) or scalar_text(get(ref, "armId"))
    if external:
        return external
    return ns(kind, scalar_text(get(ref, "namespace")) or namespace,
               scalar_text(get(ref, "name")))


def _members(nodes: list[Node]) -> list[str]:
    """`member` values, and `memberFrom.serviceAccountRef` as `serviceAccount:<ref>`."""
    out: list[str] = []
    for node in nodes:
        member = scalar_text(get(node, "member"))
        if member:
            out.append(member)
        account = get_path(node, "memberFrom", "serviceAccountRef")
        ref = scalar_text(get(account, "external")) or scalar_text(get(account, "name"))
        if ref:
            out.append(f"serviceAccount:{ref}")
    return out


def _gcp_principals(members: list[str]) -> tuple[str, ...]:
    found: set[str] = set()
    for member in members:
        if member in _GCP_PUBLIC:
            found.add(f"gcp-public:{member}")
        elif member.startswith("serviceAccount:") and "@" in member:
            found.add("gcp-sa:" + member.removeprefix("serviceAccount:"))
    return tuple(sorted(found))


def _gcp_condition(node: Node | None) -> tuple[str, ...]:
    """A binding's IAM `condition` by its title (else its expression), as in Terraform."""
    condition = get(node, "condition")
    name = text(condition, "title") or text(condition, "expression")
    return (name,) if name else ()


def _aso(spec: Node | None, kind: str, namespace: str | None) -> CrdFacts:
    owner = get(spec, "owner")
    if kind == "RoleAssignment":
        role_ref = get(spec, "roleDefinitionReference")
        role = scalar_text(get(role_ref, "armId")) or scalar_text(get(role_ref, "name"))
        scope = _ref(scalar_text(get(owner, "kind")) or "(owner)", owner, namespace) or "*"
        version = text(spec, "conditionVersion") or "none"
        condition = text(spec, "condition")
        conditions = (f"{condition} (version {version})",) if condition else ()
        entry = get_entry(spec, "roleDefinitionReference")
        line = line_of(entry[0]) if entry else None
        principal = text(spec, "principalId")
        grants = (Grant(role, scope, line=line, conditions=conditions),) if role else ()
        return CrdFacts(grants, principals=(f"azure-id:{principal.lower()}",)
                        if principal else ())
    if kind == "FederatedIdentityCredential":
        issuer = text(spec, "issuer")
        subject = text(spec, "subject")
        trust = (Trust(f"Issuer:{issuer}", (subject,) if subject else (),
                       key_line(spec, "subject") or key_line(spec, "issuer")),) if issuer else ()
        identity = _ref("UserAssignedIdentity", owner, namespace)
        return CrdFacts(trust=trust, references=(identity,) if identity else ())
    return CrdFacts()


def _secret_reference(spec: Node | None, kind: str, namespace: str | None) -> CrdFacts:
    """External Secrets and Secrets Store CSI objects: where they read from (usages)."""
    if kind in ("ExternalSecret", "ClusterExternalSecret"):
        store = get(spec if kind == "ExternalSecret" else get(spec, "externalSecretSpec"),
                    "secretStoreRef")
        store_name = scalar_text(get(store, "name"))
        store_kind = scalar_text(get(store, "kind")) or "SecretStore"
        return CrdFacts(usages=(f"store:{store_kind}/{store_name}",) if store_name else ())
    if kind in ("SecretStore", "ClusterSecretStore"):
        providers = [p for p, _, _ in items(get(spec, "provider"))]
        usages = tuple(f"provider:{p}" for p in providers)
        if kind == "SecretStore" or not providers:
            return CrdFacts(usages=usages)
        line = key_line(spec, "provider")
        scope = _store_scope(get(spec, "conditions"))
        return CrdFacts(tuple(Grant(f"read-secrets:{p}", scope, line=line) for p in providers),
                        usages=usages)
    if kind == "SecretProviderClass":
        provider = text(spec, "provider")
        refs = tuple(r for r in (ns("Secret", namespace, scalar_text(get(o, "secretName")))
                                 for o in sequence(get(spec, "secretObjects"))) if r)
        return CrdFacts(references=refs, usages=(f"provider:{provider}",) if provider else ())
    return CrdFacts()


def _store_scope(conditions: Node | None) -> str:
    """Which namespaces a ClusterSecretStore serves: `namespaces:*` with no `conditions`, else
    the listed namespaces and regexes (`namespaces:a,b`), `namespaces:selector` for a label
    selector. Source: https://external-secrets.io/latest/api/clustersecretstore/"""
    allowed: list[str] = []
    for condition in sequence(conditions):
        allowed.extend(texts(get(condition, "namespaces")))
        allowed.extend(f"~{r}" for r in texts(get(condition, "namespaceRegexes")))
        if get(condition, "namespaceSelector") is not None:
            allowed.append("selector")
    return "namespaces:" + (",".join(sorted(set(allowed))) if allowed else "*")

