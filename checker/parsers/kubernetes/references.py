"""What a Kubernetes object refers to and names: references to other objects, the lifetime it
declares, and the comparable principals (shapes: see `checker.parsers.kubernetes`)."""

from __future__ import annotations

import base64
import binascii

from yaml.nodes import MappingNode, Node

from checker.model import Lifetime
from checker.parsers import common
from checker.safeyaml import get, get_path, scalar_text, sequence

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


def references(doc: MappingNode, kind: str, namespace: str | None, name: str) -> list[str]:
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


def lifetime(doc: MappingNode, kind: str) -> Lifetime | None:
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


def principals(
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
