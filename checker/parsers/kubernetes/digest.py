"""What a Kubernetes object says, as digests: `object_digest` (`IdentityObject.digest`), equal at
base and head when a change only restyled the YAML or reordered a Role's rules; and, for a Role
or ClusterRole, what it says apart from its `rules` (`IdentityObject.frame_digest`), equal when
a change touched only its rules, so a change that grants nothing new is a narrowing
(`checker.checks.drift.narrows`); and what it says apart from its descriptive labels and
annotations (`untagged_digest`), equal when a change touched only those (metadata-only)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from yaml.nodes import MappingNode, Node

from checker.parsers.kubernetes.aggregation import AGGREGATE_PREFIX
from checker.safeyaml.limits import YamlLimitError
from checker.safeyaml.nodes import to_python

#: Kinds whose privileges all come from `rules` (the rest names and scopes the role). Source:
#: https://kubernetes.io/docs/reference/access-authn-authz/rbac/#role-and-clusterrole
RULE_KINDS = frozenset({"Role", "ClusterRole"})
#: Binding kinds whose grant is their `roleRef` in their scope (the rest names the binding and
#: says whom it binds): a RoleBinding grants the role in its namespace, a ClusterRoleBinding in
#: every namespace, so the kind and the namespace are the grant's scope (`Grant.resource`), not
#: its frame, and a ClusterRoleBinding turned into a RoleBinding keeps its frame. Source:
#: https://kubernetes.io/docs/reference/access-authn-authz/rbac/#rolebinding-and-clusterrolebinding
BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})


def role_frame_digest(doc: MappingNode, kind: str) -> str:
    """sha256 (32 hex) of the object without `rules` for a Role or ClusterRole, without
    `roleRef`, `kind` and `metadata.namespace` (its scope) for a RoleBinding or
    ClusterRoleBinding (a ClusterRole also without its
    `aggregate-to-*` labels: `aggregation.py`), or without the IAM mappings of `data`
    for the EKS `aws-auth` ConfigMap (canonical JSON of its plain values); ""
    for other kinds or an object past the YAML budgets."""
    grant = "rules" if kind in RULE_KINDS else "roleRef" if kind in BINDING_KINDS else None
    if kind == "ConfigMap:aws-auth":  # its IAM mappings are its grants
        grant = "data"
    value = _plain(doc) if grant is not None else None
    if value is None:
        return ""
    frame = {k: v for k, v in _subjects(value, kind).items() if k != grant}
    meta = frame.get("metadata")
    if kind == "ClusterRole" and isinstance(meta, dict) and isinstance(meta.get("labels"), dict):
        labels = {k: v for k, v in meta["labels"].items()
                  if not str(k).startswith(AGGREGATE_PREFIX)}  # `bound`: parsers/.../aggregation.py
        frame["metadata"] = {**meta, "labels": labels}
    if kind in BINDING_KINDS:
        frame.pop("kind", None)
        if isinstance(meta, dict):
            frame["metadata"] = {k: v for k, v in meta.items() if k != "namespace"}
    if grant == "data" and isinstance(data := value.get("data"), dict):
        frame["data"] = {k: v for k, v in data.items()
                         if k not in ("mapRoles", "mapUsers", "mapAccounts")}
    return _hash(frame)


def frame_hash(doc: MappingNode, paths: tuple[tuple[str, ...], ...]) -> str:
    """sha256 (32 hex) of the object without the keys at `paths` (each a key path from the
    root: `("spec", "destinations")`); "" past the YAML budgets. For the GitOps kinds'
    frame digests (`checker.parsers.kubernetes.gitops`)."""
    value = _plain(doc)
    if value is None:
        return ""
    for path in paths:
        value = _without(value, path)
    return _hash(value)


def workload_digest(doc: MappingNode, spec_path: tuple[str, ...]) -> str:
    """`object_digest` of a workload whose pod spec is at `spec_path`, with the deprecated
    `serviceAccount` read as the `serviceAccountName` it is an alias of (the one it names
    when `serviceAccountName` is absent; dropped when both name the same account), so
    writing either changes nothing. "" past the YAML budgets. Source:
    https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#security
    ("serviceAccount: DeprecatedServiceAccount is a deprecated alias for
    ServiceAccountName")."""
    value = _plain(doc)
    if value is None:
        return ""
    return _hash(_aliased(value, spec_path))


def _aliased(value: Any, path: tuple[str, ...]) -> Any:
    """`value` with the pod spec at `path` read as `workload_digest` says (copies along it)."""
    if not isinstance(value, dict):
        return value
    if path:
        return {**value, path[0]: _aliased(value[path[0]], path[1:])} if path[0] in value \
            else value
    alias = value.get("serviceAccount")
    if alias is None or value.get("serviceAccountName", alias) != alias:
        return value
    return {**{k: v for k, v in value.items() if k != "serviceAccount"},
            "serviceAccountName": alias}


def node_hash(node: Node) -> str:
    """sha256 (32 hex) of any node's parsed value as canonical JSON (so restyled YAML hashes
    the same); "" past the YAML budgets. For `gitops_inputs`' value digests."""
    try:
        return _hash(to_python(node))
    except YamlLimitError:
        return ""


def _without(value: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """A copy of `value` with the key at `path` removed (copies only along the path)."""
    head, rest = path[0], path[1:]
    if head not in value:
        return value
    out = dict(value)
    if not rest:
        del out[head]
    elif isinstance(out[head], dict):
        out[head] = _without(out[head], rest)
    return out


def _plain(doc: MappingNode) -> dict[str, Any] | None:
    """The object's plain value, or None past the YAML budgets or when it is no mapping."""
    try:
        value = to_python(doc)
    except YamlLimitError:
        return None
    return value if isinstance(value, dict) else None


def _hash(value: Any) -> str:
    """sha256 (32 hex) of `value` as canonical JSON (keys sorted)."""
    payload = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


#: The External Secrets kinds: what they read and where it goes is their meaning; these settings
#: only say when or how often it is read again (`refreshInterval`, ClusterExternalSecret
#: `refreshTime`, `refreshPolicy`, a store's `retrySettings`, a provider's `ignoreCache`), at any
#: depth of `spec`, and with `metadata.labels` (chart and app labels, which a chart bump
#: rewrites) they are left out of the digest. Sources:
#: https://external-secrets.io/latest/api/spec/, https://external-secrets.io/latest/api/secretstore/
REFERENCE_KINDS = frozenset({"ExternalSecret", "ClusterExternalSecret", "SecretStore",
                             "ClusterSecretStore"})
_TIMING_KEYS = frozenset({"refreshInterval", "refreshTime", "refreshPolicy", "retrySettings",
                          "ignoreCache"})

#: Rule keys whose value is a set of strings. Source:
#: https://kubernetes.io/docs/reference/kubernetes-api/authorization-resources/role-v1/#Role
_RULE_SETS = ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs")


def object_digest(doc: MappingNode, kind: str) -> str:
    """sha256 (32 hex) of the object's parsed value as canonical JSON (keys sorted; so flow vs
    block style, quoting and key order change nothing); for an External Secrets kind, without
    its labels and refresh settings (`REFERENCE_KINDS`); for a Role or ClusterRole, `rules`
    count as a multiset of rules, each rule's `apiGroups`/`resources`/`verbs`/
    `resourceNames`/`nonResourceURLs` as sorted sets. "" for a Secret (its values never
    enter the model, not even hashed) and an object past the YAML budgets."""
    value = _plain(doc) if kind != "Secret" else None
    return "" if value is None else _hash(_canonical(value, kind))


#: Label and annotation prefixes that only describe an object (the recommended labels, source:
#: https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/); a key
#: with no prefix (`tier`, `owner`, `team`) describes it too. Any other prefixed key may be
#: read by a controller (`eks.amazonaws.com/role-arn`, `iam.gke.io/gcp-service-account`,
#: `azure.workload.identity/client-id`, `rbac.authorization.k8s.io/aggregate-to-admin`), so
#: it stays part of what the object means.
_DESCRIPTIVE_PREFIXES = frozenset({"app.kubernetes.io"})
#: Helm's standard label naming the chart and its version (`helm.sh/chart: app-1.2.0`), which
#: every chart bump rewrites; source: https://helm.sh/docs/chart_best_practices/labels/#standard-labels.
#: And annotations a controller reads only to order or keep the object, never to grant or
#: bind anything: Argo CD's sync order (https://argo-cd.readthedocs.io/en/stable/user-guide/sync-waves/)
#: and Helm's keep-on-uninstall
#: (https://helm.sh/docs/howto/charts_tips_and_tricks/#tell-helm-not-to-uninstall-a-resource).
_DESCRIPTIVE_KEYS = frozenset({"helm.sh/chart", "argocd.argoproj.io/sync-wave",
                               "helm.sh/resource-policy"})
#: The labels a chart release rewrites with a version number (`helm.sh/chart: app-1.2.0`,
#: `app.kubernetes.io/version: "2.20.0"`): descriptive on a ClusterRole too. An
#: `aggregationRule` selects roles by a label's value, and one that selects a chart version
#: would stop selecting the role at the next release, so no aggregation relies on them.
_VERSION_LABELS = frozenset({"helm.sh/chart", "app.kubernetes.io/version"})


#: The kinds whose labels `untagged_digest` may leave out, in the core and RBAC API groups only:
#: nothing selects these by label except an `aggregationRule` (ClusterRoles). Custom resources
#: (a Crossplane `roleSelector.matchLabels`) and workloads (pod-template labels) select by label.
_UNTAGGED_KINDS = frozenset({"ServiceAccount", *RULE_KINDS, *BINDING_KINDS})
_CORE_GROUPS = frozenset({"", "rbac.authorization.k8s.io"})


def untagged_digest(doc: MappingNode, kind: str, secret_free: bool = False) -> str:
    """`object_digest` without the descriptive labels and annotations of `metadata`
    (`IdentityObject.untagged_digest`: equal at base and head when only those changed, a
    metadata-only change). For a ServiceAccount, Role, binding or secret-free Secret of the
    core and RBAC API groups (`_UNTAGGED_KINDS`), a key is descriptive when it has no prefix or
    an `app.kubernetes.io/` one, or is `helm.sh/chart`; every other key stays (a controller may
    read it). A ClusterRole keeps its labels but the version labels (`_VERSION_LABELS`): an
    `aggregationRule` selects ClusterRoles by any label
    (`rbac.authorization.k8s.io/aggregate-to-*` or a custom selector), so a label can widen
    another role (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#aggregated-clusterroles).
    Any other kind (Argo CD's `argocd-rbac-cm`, a custom resource) may be selected or read by
    any other label (Argo CD watches ConfigMaps labelled `app.kubernetes.io/part-of: argocd`, a
    Crossplane `roleSelector.matchLabels` picks a role by label), so only what a chart release
    rewrites is left out: the version labels, and the annotations that only order or keep the
    object (`_DESCRIPTIVE_KEYS`); a chart version bump is metadata-only on every object.
    A Secret counts only when `secret_free` (the parser found no literal secret data in it:
    every value a placeholder, a reference or a credential-free URI), since its values are
    hashed with it; "" for another Secret and an object past the YAML budgets."""
    if kind == "Secret" and not secret_free:
        return ""
    value = _plain(doc)
    if value is None:
        return ""
    core = kind in _UNTAGGED_KINDS | {"Secret"} and str(value.get("apiVersion", "")).rpartition(
        "/")[0] in _CORE_GROUPS
    out = dict(value)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta = dict(meta)
        for key in ("labels", "annotations"):
            tags = meta.pop(key, None)
            kept = ({k: v for k, v in tags.items() if not _left_out(str(k), key, kind, core)}
                    if isinstance(tags, dict) else tags)
            if kept:  # none left (or `labels: {}`) is the same as no labels
                meta[key] = kept
        out["metadata"] = meta
    return _hash(_canonical(out, kind))


def _left_out(key: str, where: str, kind: str, core: bool) -> bool:
    """Whether the label (`where` "labels") or annotation `key` of an object of `kind` is left
    out of its `untagged_digest` (`core`: one of `_UNTAGGED_KINDS` in the core or RBAC group)."""
    if where == "labels" and (kind == "ClusterRole" or not core):
        return key in _VERSION_LABELS
    return _descriptive(key) if core else key in _DESCRIPTIVE_KEYS


def _descriptive(key: str) -> bool:
    prefix, slash, _ = key.rpartition("/")
    return not slash or prefix in _DESCRIPTIVE_PREFIXES or key in _DESCRIPTIVE_KEYS


#: The `apiGroup` the API server gives a binding subject of each kind that names none. Source:
#: https://kubernetes.io/docs/reference/kubernetes-api/authorization-resources/role-binding-v1/
#: ("Defaults to \"\" for ServiceAccount subjects. Defaults to \"rbac.authorization.k8s.io\"
#: for User and Group subjects.")
_SUBJECT_GROUPS = {"ServiceAccount": "", "User": "rbac.authorization.k8s.io",
                   "Group": "rbac.authorization.k8s.io"}


def _subjects(value: dict[str, Any], kind: str) -> dict[str, Any]:
    """A binding's value with each subject's default `apiGroup` (`_SUBJECT_GROUPS`) left out,
    so writing the default changes nothing; any other object as is."""
    subjects = value.get("subjects")
    if kind not in BINDING_KINDS or not isinstance(subjects, list):
        return value
    out = [{k: v for k, v in s.items() if k != "apiGroup"} if isinstance(s, dict) and (
        s.get("apiGroup") == _SUBJECT_GROUPS.get(str(s.get("kind")))) else s for s in subjects]
    return {**value, "subjects": out}


def _canonical(value: dict[str, Any], kind: str) -> dict[str, Any]:
    """The object's value as `object_digest` hashes it."""
    canonical: dict[str, Any] = _subjects(value, kind)
    if kind in REFERENCE_KINDS:
        canonical = _without_timing(canonical)
    rules = value.get("rules")
    if kind in RULE_KINDS and isinstance(rules, list):
        canonical["rules"] = sorted((_canonical_rule(r) for r in rules),
                                    key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return canonical


def _without_timing(value: dict[str, Any]) -> dict[str, Any]:
    """An External Secrets object without `metadata.labels` and the `_TIMING_KEYS` of `spec`."""
    out = dict(value)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        out["metadata"] = {k: v for k, v in meta.items() if k != "labels"}
    out["spec"] = _drop_keys(out.get("spec"))
    return out


def _drop_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_keys(v) for k, v in value.items() if k not in _TIMING_KEYS}
    if isinstance(value, list):
        return [_drop_keys(v) for v in value]
    return value


def _canonical_rule(rule: Any) -> Any:
    if not isinstance(rule, dict):
        return rule
    out = dict(rule)
    for key in _RULE_SETS:
        value = out.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[key] = sorted(set(value))
    return out
