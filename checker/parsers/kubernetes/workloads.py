"""Kubernetes workloads -> one facet per pod spec: which ServiceAccount it runs as, and whether
the account's API token is mounted.

`WORKLOAD_POD_SPECS` names the eight core workload kinds and the pod-template custom resources
of common controllers (Argo Rollouts, OpenKruise, Knative Serving), with the path to each one's
pod spec;
`workload_facet` builds the facet (`checker.checks.workloads` judges it); `token_sinks` gives
`(TOKEN_MOUNT,)` for a pod spec or ServiceAccount that does not opt out of automounting;
`projected_tokens` the projected service-account token volumes a pod spec mounts.

Sources: https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/
(automounting, opt out), https://kubernetes.io/docs/concepts/storage/projected-volumes/#serviceaccounttoken
(a `serviceAccountToken` projection: `audience` defaults to the API server's identifier,
`expirationSeconds` to 3600).
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node

from checker.model import PROJECTED_TOKEN, TOKEN_MOUNT, IdentityObject, Location
from checker.parsers.kubernetes.digest import workload_digest
from checker.parsers.kubernetes.host_paths import host_credentials
from checker.parsers.kubernetes.node_access import node_access
from checker.parsers.kubernetes.volumes import claims
from checker.policy.catalogue import CatalogueEntry
from checker.safeyaml import get, get_entry, get_path, items, line_of, scalar_text, sequence

#: Workload types (catalogue `type`: the kind, or `<API group>/<kind>` for a custom resource)
#: -> keys from the object to its pod spec. Sources: https://kubernetes.io/docs/concepts/workloads/
#: (each kind's `spec.template` is a PodTemplateSpec; a CronJob's is under
#: `spec.jobTemplate.spec`); Argo Rollouts' Rollout, a Deployment replacement whose
#: `spec.template` is a PodTemplateSpec:
#: https://argoproj.github.io/argo-rollouts/features/specification/; OpenKruise's CloneSet
#: (`spec.template`): https://openkruise.io/docs/user-manuals/cloneset/ (its Advanced
#: StatefulSet and DaemonSet, `apps.kruise.io` `StatefulSet`/`DaemonSet`, are read as the core
#: kinds of the same name); a Knative Serving Service or Configuration, whose
#: `spec.template.spec` is a pod spec (`serviceAccountName`, `volumes`, containers):
#: https://knative.dev/docs/serving/reference/serving-api/; an OpenShift DeploymentConfig
#: (`spec.template`): https://docs.openshift.com/container-platform/4.12/rest_api/workloads_apis/deploymentconfig-apps-openshift-io-v1.html;
#: a KServe InferenceService, whose `spec.predictor` holds the pod spec's fields inline
#: (`serviceAccountName`, `containers`, `volumes`):
#: https://kserve.github.io/website/latest/reference/api/#serving.kserve.io/v1beta1.PredictorSpec.
#: Another custom resource with a pod template is read by `generic_pod_spec`.
WORKLOAD_POD_SPECS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "argoproj.io/Rollout": ("spec", "template", "spec"),
    "apps.kruise.io/CloneSet": ("spec", "template", "spec"),
    "serving.knative.dev/Service": ("spec", "template", "spec"),
    "serving.knative.dev/Configuration": ("spec", "template", "spec"),
    "apps.openshift.io/DeploymentConfig": ("spec", "template", "spec"),
    "serving.kserve.io/InferenceService": ("spec", "predictor"),
}
_FALSE = frozenset({"false", "no", "off"})
#: What a `serviceAccountToken` projection gets when it names no audience or lifetime (the
#: projected-volumes page above).
DEFAULT_AUDIENCE = "(the API server)"
DEFAULT_EXPIRATION = "3600"
#: Where a pod's service-account token is mounted and client libraries look for it:
#: https://kubernetes.io/docs/tasks/run-application/access-api-from-pod/
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
_CONTAINERS = ("containers", "initContainers", "ephemeralContainers")


def _pod_spec_like(node: Node | None) -> bool:
    return isinstance(node, MappingNode) and (
        get(node, "serviceAccountName") is not None or get(node, "containers") is not None)


def generic_pod_specs(doc: MappingNode) -> list[tuple[str, ...]]:
    """The keys to the pod specs of a custom resource nhi-gate has no entry for (an operator's
    job, pipeline or serving kind), so an account switch there is not skipped: `spec.template
    .spec` or `spec` itself, else each `spec.<key>` or `spec.<key>.template.spec` (one per key,
    in order: a component), whichever names a `serviceAccountName` or lists `containers` (the
    fields of a core PodSpec:
    https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#PodSpec).
    [] for a core or `*.k8s.io` API group and for an object with no such mapping."""
    group = (scalar_text(get(doc, "apiVersion")) or "").rpartition("/")[0]
    if "." not in group or group.endswith(".k8s.io"):
        return []
    spec = get(doc, "spec")
    if _pod_spec_like(get_path(spec, "template", "spec")):
        return [("spec", "template", "spec")]
    if isinstance(spec, MappingNode) and get(spec, "serviceAccountName") is not None:
        return [("spec",)]
    out: list[tuple[str, ...]] = []
    for key, _, _ in items(spec):
        found = [p for p in (("spec", key), ("spec", key, "template", "spec"))
                 if _pod_spec_like(get_path(doc, *p))]
        out.extend(found[:1])
    return out


def generic_pod_spec(doc: MappingNode) -> tuple[str, ...] | None:
    """The first of `generic_pod_specs`, None when there is none."""
    return next(iter(generic_pod_specs(doc)), None)


#: Custom resources whose operator runs the pods as a service account it creates for the
#: object, named as the object, when the pod spec names none: CloudNativePG's `Pooler`
#: (`pkg/specs/pgbouncer.ServiceAccount`, "used when the operator manages the ServiceAccount (no
#: custom serviceAccountName specified)": https://pkg.go.dev/github.com/cloudnative-pg/
#: cloudnative-pg/pkg/specs/pgbouncer). Such a workload does not run as `default`.
OPERATOR_ACCOUNTS = frozenset({"postgresql.cnpg.io/Pooler"})


#: The pod specs of a catalogued kind beyond its `WORKLOAD_POD_SPECS` one: a KServe
#: InferenceService's transformer and explainer (the PredictorSpec page above).
_COMPONENTS = {"serving.kserve.io/InferenceService": (("spec", "transformer"),
                                                      ("spec", "explainer"))}


def component_pod_specs(doc: MappingNode, type_: str, generic: bool) -> list[tuple[str, ...]]:
    """The keys to the other pod specs (components) of workload `doc` of catalogue type
    `type_` (`generic`: read by `generic_pod_specs`), each judged as a facet of its own."""
    if generic:
        return generic_pod_specs(doc)[1:]
    return [p for p in _COMPONENTS.get(type_, ()) if get_path(doc, *p) is not None]


def secret_refs(spec: Node | None) -> dict[str, int]:
    """The Secrets a pod spec uses, as `attribute_lines` entries: `secretRef.<name>` -> line of
    the name, for each `volumes[].secret.secretName`, `volumes[].projected.sources[].secret
    .name`, `env[].valueFrom.secretKeyRef.name` and `envFrom[].secretRef.name` of any container
    (first use wins); and `tokenPathSecret.<name>` for a Secret whose volume a container mounts
    at (or under) `TOKEN_PATH`. Sources: https://kubernetes.io/docs/concepts/configuration/secret/
    (using Secrets as files and as environment variables),
    https://kubernetes.io/docs/concepts/storage/projected-volumes/ (a `secret` source)."""
    out: dict[str, int] = {}
    by_volume: dict[str, list[str]] = {}

    def use(node: Node | None, key: str, volume: str | None = None) -> None:
        found = get_entry(node, key)
        name = scalar_text(found[1]) if found is not None else None
        if found is None or not name:
            return
        out.setdefault(f"secretRef.{name}", line_of(found[1]))
        if volume is not None:
            by_volume.setdefault(volume, []).append(name)

    for volume in sequence(get(spec, "volumes")):
        vname = scalar_text(get(volume, "name")) or "(unnamed)"
        use(get(volume, "secret"), "secretName", vname)
        for source in sequence(get_path(volume, "projected", "sources")):
            use(get(source, "secret"), "name", vname)
    for field in _CONTAINERS:
        for container in sequence(get(spec, field)):
            for env in sequence(get(container, "env")):
                use(get_path(env, "valueFrom", "secretKeyRef"), "name")
            for source in sequence(get(container, "envFrom")):
                use(get(source, "secretRef"), "name")
            for mount in sequence(get(container, "volumeMounts")):
                path = (scalar_text(get(mount, "mountPath")) or "").rstrip("/")
                if path == TOKEN_PATH or path.startswith(f"{TOKEN_PATH}/"):
                    for name in by_volume.get(scalar_text(get(mount, "name")) or "", []):
                        out.setdefault(f"tokenPathSecret.{name}", out[f"secretRef.{name}"])
    return out


def token_sinks(node: Node | None) -> tuple[str, ...]:
    """`(TOKEN_MOUNT,)` unless `node`'s `automountServiceAccountToken` is false."""
    value = scalar_text(get(node, "automountServiceAccountToken"))
    return () if value is not None and value.lower() in _FALSE else (TOKEN_MOUNT,)


def projected_tokens(spec: Node | None) -> list[tuple[str, int]]:
    """The projected service-account tokens a pod spec mounts, in source order: one
    (`PROJECTED_TOKEN<volume>|<audience>|<expirationSeconds>`, line of the
    `serviceAccountToken` key) per `volumes[].projected.sources[].serviceAccountToken`, with the
    defaults (`DEFAULT_AUDIENCE`, `DEFAULT_EXPIRATION`) where the projection names none."""
    out: list[tuple[str, int]] = []
    for volume in sequence(get(spec, "volumes")):
        name = scalar_text(get(volume, "name")) or "(unnamed)"
        for source in sequence(get_path(volume, "projected", "sources")):
            found = get_entry(source, "serviceAccountToken")
            if found is None:
                continue
            audience = scalar_text(get(found[1], "audience")) or DEFAULT_AUDIENCE
            seconds = scalar_text(get(found[1], "expirationSeconds")) or DEFAULT_EXPIRATION
            out.append((f"{PROJECTED_TOKEN}{name}|{audience}|{seconds}", line_of(found[0])))
    return out


def workload_facet(doc: MappingNode, kind: str, entry: CatalogueEntry, address: str,
                   location: Location, metadata: dict[str, str], namespace: str | None,
                   attribute_lines: dict[str, int], pod_spec: tuple[str, ...] | None = None
                   ) -> IdentityObject | None:  # fmt: skip
    """The service-account use of one workload, normalised once for every rule.

    Shape: `kind` from the catalogue (`role_binding`: the pod spec binds the workload to an
    identity, like `aws_eks_pod_identity_association`), `type` the workload kind, `address`
    and `location` those of the workload; `references` = (`ServiceAccount/<ns>/<name>`,) with
    `default` when `serviceAccountName` (or the deprecated `serviceAccount`) is absent or
    empty; `principals` = (`k8s-sa:<ns>/<name>`,) for a named, non-default account only (each
    namespace has its own `default`); `secret_sinks` = (`TOKEN_MOUNT`,) unless the pod spec
    sets `automountServiceAccountToken: false`; `attribute_lines` adds `podSpec` (the pod
    spec's key), `serviceAccountName` and `automountServiceAccountToken` when present, and
    `projectedToken.<volume>` (the `serviceAccountToken` line) per projected token, whose
    `PROJECTED_TOKEN` entry follows the mount in `secret_sinks` (`projected_tokens`), and
    `hostPath.<volume>` per `hostPath` volume of node credentials, whose `HOST_CREDENTIAL`
    entry follows those (`host_paths.host_credentials`), and `nodeAccess.<setting>` per
    setting that escapes to the node, its `NODE_ACCESS` entry last (`node_access`).
    `pod_spec` is the keys to the pod spec when the catalogue has no entry for the kind
    (`generic_pod_spec`). A kind in `OPERATOR_ACCOUNTS` with no account named runs as the one
    its operator makes, named as the object.
    `derived_from` is the workload's own address: the workload is not an identity definition,
    so the generic approval rule skips it and `checker.checks.workloads` judges it. `digest`:
    the whole object's (`digest.workload_digest`), so a restyle is no change.
    None when the object has no pod spec (a kustomize patch such as `spec: {replicas: 3}`
    says nothing about the account).
    """
    path = pod_spec or WORKLOAD_POD_SPECS[entry.type]
    spec_entry = get_entry(get_path(doc, *path[:-1]), path[-1])
    if spec_entry is None:
        return None
    spec = spec_entry[1]
    attribute_lines["podSpec"] = line_of(spec_entry[0])
    account = ""
    for field in ("serviceAccountName", "serviceAccount"):
        found = get_entry(spec, field)
        if found is None:
            continue
        attribute_lines.setdefault("serviceAccountName", line_of(found[0]))
        account = account or (scalar_text(found[1]) or "")
    mount = get_entry(spec, "automountServiceAccountToken")
    if mount is not None:
        attribute_lines["automountServiceAccountToken"] = line_of(mount[0])
    own = (scalar_text(get(get(doc, "metadata"), "name")) or ""
           if entry.type in OPERATOR_ACCOUNTS else "")
    name = account or own or "default"
    attribute_lines.update(secret_refs(spec))
    attribute_lines.update(claims(spec))
    tokens = projected_tokens(spec)
    for sink, line in tokens:
        attribute_lines.setdefault(f"projectedToken.{sink[len(PROJECTED_TOKEN):].split('|')[0]}",
                                   line)
    hosts = host_credentials(spec)
    for _, volume, line in hosts:
        attribute_lines.setdefault(f"hostPath.{volume}", line)
    settings = node_access(spec)
    for _, attribute, line in settings:
        attribute_lines.setdefault(attribute, line)
    principals = () if name == "default" else (f"k8s-sa:{namespace or 'default'}/{name}",)
    return IdentityObject(
        kind=entry.kind,
        platform=entry.platform,
        type=entry.type,
        address=address,
        location=location,
        metadata=metadata,
        attribute_lines=attribute_lines,
        namespace=namespace,
        references=("/".join(p for p in ("ServiceAccount", namespace, name) if p),),
        secret_sinks=(*token_sinks(spec), *(sink for sink, _ in tokens),
                      *(sink for sink, _, _ in hosts), *(sink for sink, _, _ in settings)),
        principals=principals,
        derived_from=address,
        digest=workload_digest(doc, path),
    )
