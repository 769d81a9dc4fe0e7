"""GitOps objects that grant access (Argo CD, Flux) -> grants, in the shapes the admin tables
(`rules/privileges.yaml`) and NHI302's comparison judge.

A GitOps controller applies what Git says with its own, usually cluster-wide, account; these
objects decide who may make it do so, where and as whom. Shapes (`Grant(action, resource)`,
platform `kubernetes`):
- Argo CD RBAC, the `argocd-rbac-cm` ConfigMap (`data.policy.csv`, every `policy.<name>.csv`
  overlay key, `data.policy.default`) and an AppProject's `spec.roles[]`:
  - `p, <subject>, <resource>, <action>, <object>[, allow|deny]` ->
    `Grant("argocd:<resource>/<action>", "<object> for <subject>")` (effect `deny` when it says
    so), at the line of the CSV line;
  - `g, <subject>, <role>` -> `Grant("argocd:<role>", "member <subject>")`, and each `p` grant
    of `<role>` in the same policy again `for <subject>` (what the member may do), at the `g`
    line; a role's members' members too, up to `_DEPTH` levels;
  - `policy.default: <role>` -> the same as `g, (every authenticated user), <role>`;
  - an AppProject role `<r>` is the subject `proj:<project>:<r>`; its `groups` are `g` lines;
  - under `policy.matchMode: regex`, a field (or `/` part) `.*` is read as `*`.
  Source: https://argo-cd.readthedocs.io/en/stable/operator-manual/rbac/
- Argo CD settings, the `argocd-cm` ConfigMap: each local account `accounts.<name>:
  <capabilities>` (`apiKey` lets it hold API tokens: a non-human credential; `login` a password)
  that `accounts.<name>.enabled` does not turn off -> `Grant("argocd:account/<capabilities,
  sorted>", "<name>")`; `users.anonymous.enabled: "true"` -> `Grant("argocd:anonymous",
  "(every unauthenticated user)")`: anyone who reaches the server gets `policy.default`. Source:
  https://argo-cd.readthedocs.io/en/stable/operator-manual/user-management/
- Argo CD `AppProject`: `spec.destinations[]` -> `Grant("argocd:destination",
  "<server or name>/<namespace>")`; a field negated with `!` (a deny destination) also denies
  what it names, whatever the other entries allow and whatever the entry's other fields say:
  `server: '!<s>'` or `name: '!<n>'` -> `Grant("argocd:destination", "<s or n>/*",
  effect="deny")`, `namespace: '!<ns>'` -> `Grant("argocd:destination", "*/<ns>",
  effect="deny")` (argo-cd `AppProject.isDestinationMatched`); its cluster and namespace
  resource allow and deny lists as `checker.parsers.kubernetes.argocd_project` reads them;
  `spec.sourceRepos[]` -> `Grant("argocd:source", "<repo>")`; `spec.roles[]` as above, and
  each of a role's `jwtTokens` records (a credential: Argo CD accepts the token while it is
  listed) -> `Grant("argocd:jwt-token", "proj:<project>:<role> id=<id> iat=<iat> exp=<exp or
  never>")`. Source:
  https://argo-cd.readthedocs.io/en/stable/user-guide/projects/
- Argo CD `AppProject` sync impersonation: each `spec.destinationServiceAccounts[]` ->
  `Grant("argocd:sync-as/<namespace>:<account>", "<server or name>/<namespace pattern>")`: the
  account Argo CD syncs that destination's applications with (`defaultServiceAccount`, its
  namespace the destination's namespace pattern when it names none). Source:
  https://argo-cd.readthedocs.io/en/stable/operator-manual/app-sync-using-impersonation/
- Argo CD `AppProject` `spec.sourceNamespaces[]` -> `Grant("argocd:source-namespace",
  "<namespace pattern>")`: Applications in those namespaces may use the project. Source:
  https://argo-cd.readthedocs.io/en/stable/operator-manual/app-any-namespace/
- Argo CD `Application` (and an `ApplicationSet`'s `spec.template`): `Grant(
  "argocd:project/<spec.project>", "<destination server or name>/<destination namespace>")`: the
  project bounds what the application may deploy, as a service account bounds a pod. Source:
  https://argo-cd.readthedocs.io/en/stable/user-guide/application-specification/
- Flux `Kustomization` and `HelmRelease`: `Grant("flux:apply-as/ServiceAccount/<ns>/<name>",
  <spec.targetNamespace or *>)` for `spec.serviceAccountName`, `flux:apply-as/controller`
  without one (the controller's own account applies); and `Grant("flux:kubeconfig",
  "<Secret|ConfigMap>/<ns>/<name>")` for `spec.kubeConfig` (it applies with that kubeconfig's
  credentials; `gitops_inputs` makes it NHI106 too). Sources:
  https://fluxcd.io/flux/components/kustomize/kustomizations/#role-based-access-control,
  https://fluxcd.io/flux/components/helm/helmreleases/#role-based-access-control,
  https://fluxcd.io/flux/installation/configuration/multitenancy/

`frame_digest` is the object without the fields these grants come from, so a change that only
touched them and grants nothing new is a narrowing (`checker.checks.drift.narrows`).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from functools import partial

from yaml.nodes import MappingNode, Node, ScalarNode

from checker.model import Grant
from checker.parsers.kubernetes.argocd_project import LIST_FIELDS, resource_list_grants
from checker.parsers.kubernetes.argocd_settings import (
    ARGOCD_CMD_PARAMS,
    is_setting_key,
    settings_grants,
)
from checker.parsers.kubernetes.digest import frame_hash
from checker.safeyaml import get, get_path, items, key_line, line_of, scalar_text, sequence

#: Catalogue types read here (rules/catalogue/kubernetes.yaml, kubernetes_crds.yaml).
ARGOCD_RBAC = "ConfigMap:argocd-rbac-cm"
ARGOCD_CM = "ConfigMap:argocd-cm"
APP_PROJECT = "argoproj.io/AppProject"
APPLICATION = "argoproj.io/Application"
APPLICATION_SET = "argoproj.io/ApplicationSet"
FLUX_KINDS = frozenset({"kustomize.toolkit.fluxcd.io/Kustomization",
                        "helm.toolkit.fluxcd.io/HelmRelease"})
GITOPS_TYPES = frozenset({ARGOCD_RBAC, ARGOCD_CM, APP_PROJECT, APPLICATION, APPLICATION_SET,
                          *FLUX_KINDS, ARGOCD_CMD_PARAMS})
#: Who `users.anonymous.enabled` lets in.
ANONYMOUS = "(every unauthenticated user)"
#: The subject `policy.default` applies to.
EVERY_USER = "(every authenticated user)"
#: How many `g` levels (member of a role that is member of a role ...) are followed.
_DEPTH = 4
#: The fields each type's grants come from (dropped from its frame digest).
_GRANT_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    APP_PROJECT: (("spec", "destinations"), *LIST_FIELDS, ("spec", "sourceRepos"),
                  ("spec", "roles"),
                  ("spec", "destinationServiceAccounts"), ("spec", "sourceNamespaces")),
    APPLICATION: (("spec", "project"), ("spec", "destination")),
    APPLICATION_SET: (("spec", "template", "spec", "project"),
                      ("spec", "template", "spec", "destination")),
    **{t: (("spec", "serviceAccountName"), ("spec", "targetNamespace"), ("spec", "kubeConfig"))
       for t in FLUX_KINDS},
}


def is_account_key(key: str) -> bool:
    """True for the `argocd-cm` data keys that declare local accounts or anonymous access:
    `accounts.<name>`, `accounts.<name>.enabled`, `users.anonymous.enabled`."""
    return key == "users.anonymous.enabled" or (
        key.startswith("accounts.") and key.count(".") in (1, 2)
        and (key.count(".") == 1 or key.endswith(".enabled")))


def granting_key(type_: str) -> Callable[[str], bool] | None:
    """The test of the data keys a settings ConfigMap of catalogue type `type_` grants through
    (`argocd-rbac-cm`: `is_policy_key`; `argocd-cm`: `is_account_key` and its access settings;
    `argocd-cmd-params-cm`: its access settings, `argocd_settings`); None for other types."""
    if type_ == ARGOCD_RBAC:
        return is_policy_key
    if type_ == ARGOCD_CM:
        return lambda key: is_account_key(key) or is_setting_key("argocd-cm", key)
    if type_ == ARGOCD_CMD_PARAMS:
        return partial(is_setting_key, "argocd-cmd-params-cm")
    return None


def is_policy_key(key: str) -> bool:
    """True for the `argocd-rbac-cm` data keys that hold policy: `policy.csv`,
    `policy.<name>.csv` overlays and `policy.default`."""
    return key in ("policy.csv", "policy.default") or (
        key.startswith("policy.") and key.endswith(".csv"))


def gitops_grants(doc: MappingNode, type_: str, namespace: str | None) -> tuple[Grant, ...]:
    """The grants of a GitOps object `doc` of catalogue type `type_` (shapes: module doc),
    in source order without repeats; () for other types."""
    spec = get(doc, "spec")
    if type_ == ARGOCD_RBAC:
        lines: list[tuple[int, str]] = []
        default: tuple[int, str] | None = None
        for key, key_node, value in items(get(doc, "data")):
            if key == "policy.default":
                role = (scalar_text(value) or "").strip()
                default = (line_of(key_node), role) if role else None
            elif is_policy_key(key):
                lines.extend(_csv_lines(key_node, value))
        regex = (scalar_text(get_path(doc, "data", "policy.matchMode")) or "") == "regex"
        return _dedup(_policy_grants(lines, default, regex))
    if type_ == ARGOCD_CM:
        data = get(doc, "data")
        return _dedup([*_account_grants(data), *settings_grants("argocd-cm", data)])
    if type_ == ARGOCD_CMD_PARAMS:
        return _dedup(settings_grants("argocd-cmd-params-cm", get(doc, "data")))
    if type_ == APP_PROJECT:
        return _dedup(_project_grants(doc, spec))
    if type_ in (APPLICATION, APPLICATION_SET):
        app = get_path(spec, "template", "spec") if type_ == APPLICATION_SET else spec
        return _dedup(_application_grant(app))
    if type_ in FLUX_KINDS:
        account = scalar_text(get(spec, "serviceAccountName"))
        target = scalar_text(get(spec, "targetNamespace")) or "*"
        home = namespace or "(current namespace)"
        who = f"ServiceAccount/{home}/{account}" if account else "controller"
        line = key_line(spec, "serviceAccountName") or key_line(doc, "spec")
        grants = [Grant(f"flux:apply-as/{who}", target, line=line)]
        config = get(spec, "kubeConfig")
        if config is not None:
            ref = get(config, "secretRef") or get(config, "configMapRef")
            ref_kind = "Secret" if get(config, "secretRef") is not None else "ConfigMap"
            grants.append(Grant("flux:kubeconfig", f"{ref_kind}/{home}/"
                                f"{scalar_text(get(ref, 'name')) or '(unnamed)'}",
                                line=key_line(spec, "kubeConfig")))
        return tuple(grants)
    return ()


def gitops_frame_digest(doc: MappingNode, type_: str) -> str:
    """`frame_hash` of `doc` without the fields its grants come from (`_GRANT_FIELDS`; for the
    `argocd-rbac-cm` ConfigMap, its policy keys); "" for other types."""
    granting = granting_key(type_)
    if granting is not None:
        keys = [("data", k) for k, _, _ in items(get(doc, "data")) if granting(k)]
        return frame_hash(doc, tuple(keys))
    fields = _GRANT_FIELDS.get(type_)
    return frame_hash(doc, fields) if fields else ""


def _account_grants(data: Node | None) -> Iterator[Grant]:
    """The `argocd-cm` grants (module doc): enabled local accounts and anonymous access."""
    values = {key: (scalar_text(value) or "").strip() for key, _, value in items(data)}
    for key, key_node, _ in items(data):
        if key == "users.anonymous.enabled" and values[key].lower() == "true":
            yield Grant("argocd:anonymous", ANONYMOUS, line=line_of(key_node))
        elif key.startswith("accounts.") and key.count(".") == 1:
            name = key.removeprefix("accounts.")
            if values.get(f"{key}.enabled", "true").lower() == "false":
                continue
            caps = sorted({c.strip() for c in values[key].split(",") if c.strip()})
            yield Grant(f"argocd:account/{','.join(caps) or 'none'}", name,
                        line=line_of(key_node))


def _dedup(grants: Iterator[Grant] | list[Grant]) -> tuple[Grant, ...]:
    return tuple(dict.fromkeys(grants))


def _csv_lines(key: Node, value: Node) -> Iterator[tuple[int, str]]:
    """(line, text) of each line of a policy CSV value: a block scalar's lines start below its
    key; a one-line value is on the key's line."""
    text = scalar_text(value) or ""
    block = isinstance(value, ScalarNode) and value.style in ("|", ">")
    first = line_of(key) + (1 if block else 0)
    for offset, line in enumerate(text.splitlines()):
        yield (first + offset if block else line_of(key)), line


def _fields(text: str) -> list[str]:
    """A policy line's comma-separated fields, trimmed (Casbin CSV: quotes allowed)."""
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return []
    return [f.strip() for f in next(csv.reader([stripped], skipinitialspace=True), [])]


def _as_glob(field: str) -> str:
    """A `policy.matchMode: regex` field in the glob form the tables read: `.*` matches
    everything, as `*` does in the default glob mode (`*/.*` -> `*/*`); others as written."""
    return "/".join("*" if part == ".*" else part for part in field.split("/"))


def _policy_grants(lines: list[tuple[int, str]], default: tuple[int, str] | None,
                   regex: bool = False) -> Iterator[Grant]:
    """Grants of Argo CD policy lines (`p` and `g`) and a default role (module doc); with
    `regex` (`policy.matchMode: regex`), `.*` is read as `*`."""
    policies: dict[str, list[Grant]] = {}
    members: list[tuple[int, str, str]] = []
    for line, text in lines:
        fields = [_as_glob(f) for f in _fields(text)] if regex else _fields(text)
        if len(fields) >= 5 and fields[0] == "p":
            deny = len(fields) > 5 and fields[5].lower() == "deny"
            grant = Grant(f"argocd:{fields[2]}/{fields[3]}", f"{fields[4]} for {fields[1]}",
                          effect="deny" if deny else "allow", line=line)
            policies.setdefault(fields[1], []).append(grant)
            yield grant
        elif len(fields) >= 3 and fields[0] == "g":
            members.append((line, fields[1], fields[2]))
    if default is not None:
        members.append((default[0], EVERY_USER, default[1]))
    for line, subject, role in members:
        yield Grant(f"argocd:{role}", f"member {subject}", line=line)
        yield from _inherited(subject, role, line, policies, members, 0)


def _inherited(subject: str, role: str, line: int, policies: dict[str, list[Grant]],
               members: list[tuple[int, str, str]], depth: int) -> Iterator[Grant]:
    """What `subject` may do as a member of `role`: its `p` grants, and those of the roles
    `role` is a member of, re-stated `for <subject>` at the `g` line."""
    if depth >= _DEPTH:
        return
    for grant in policies.get(role, ()):
        obj = grant.resource.rsplit(" for ", 1)[0]
        yield Grant(grant.action, f"{obj} for {subject}", effect=grant.effect, line=line)
    for _, member, parent in members:
        if member == role and parent != role:
            yield Grant(f"argocd:{parent}", f"member {subject}", line=line)
            yield from _inherited(subject, parent, line, policies, members, depth + 1)


def _project_grants(doc: MappingNode, spec: Node | None) -> Iterator[Grant]:
    for dest in sequence(get(spec, "destinations")):
        where = scalar_text(get(dest, "server")) or scalar_text(get(dest, "name")) or "(any)"
        namespace = scalar_text(get(dest, "namespace")) or ""
        yield Grant("argocd:destination", f"{where}/{namespace}", line=line_of(dest))
        for field in ("server", "name", "namespace"):
            negated = scalar_text(get(dest, field)) or ""
            if negated.startswith("!"):
                denied = f"*/{negated[1:]}" if field == "namespace" else f"{negated[1:]}/*"
                yield Grant("argocd:destination", denied, effect="deny", line=line_of(dest))
    yield from resource_list_grants(doc, spec)
    for repo in sequence(get(spec, "sourceRepos")):
        text = scalar_text(repo)
        if text:
            yield Grant("argocd:source", text, line=line_of(repo))
    for item in sequence(get(spec, "destinationServiceAccounts")):
        where = scalar_text(get(item, "server")) or scalar_text(get(item, "name")) or "(any)"
        namespace = scalar_text(get(item, "namespace")) or ""
        account = scalar_text(get(item, "defaultServiceAccount")) or "(none)"
        if ":" not in account:  # no namespace: the application's destination namespace
            account = f"{namespace or '(destination)'}:{account}"
        yield Grant(f"argocd:sync-as/{account}", f"{where}/{namespace}", line=line_of(item))
    for source in sequence(get(spec, "sourceNamespaces")):
        text = scalar_text(source)
        if text:
            yield Grant("argocd:source-namespace", text, line=line_of(source))
    project = scalar_text(get_path(doc, "metadata", "name")) or "(unnamed)"
    for role in sequence(get(spec, "roles")):
        name = scalar_text(get(role, "name")) or "(unnamed)"
        subject = f"proj:{project}:{name}"
        lines = [(line_of(p), f"p, {subject}, " + ", ".join(_fields(t)[2:]))
                 for p in sequence(get(role, "policies"))
                 if (t := scalar_text(p)) and len(_fields(t)) >= 5]
        lines += [(line_of(g), f"g, {text}, {subject}")
                  for g in sequence(get(role, "groups")) if (text := scalar_text(g))]
        yield from _policy_grants(lines, None)
        for token in sequence(get(role, "jwtTokens")):
            yield Grant("argocd:jwt-token", f"{subject} {_token_text(token)}",
                        line=line_of(token))


def _token_text(token: Node) -> str:
    """A project role's JWT token record as `id=<id> iat=<issued> exp=<expiry or never>`:
    Argo CD accepts a project token only while its record is listed, so a record is a live
    credential and re-adding a removed one revives it. Source:
    https://argo-cd.readthedocs.io/en/stable/user-guide/projects/#configuring-rbac-with-projects
    """
    parts = [f"{key}={scalar_text(get(token, key)) or ''}" for key in ("id", "iat")
             if scalar_text(get(token, key))]
    exp = scalar_text(get(token, "exp"))
    parts.append(f"exp={exp if exp and exp != '0' else 'never'}")
    return " ".join(parts)


def _application_grant(app: Node | None) -> Iterator[Grant]:
    if app is None:
        return
    project = scalar_text(get(app, "project")) or "default"
    dest = get(app, "destination")
    where = scalar_text(get(dest, "server")) or scalar_text(get(dest, "name")) or "(any)"
    line = key_line(app, "project") or key_line(app, "destination")
    yield Grant(f"argocd:project/{project}",
                f"{where}/{scalar_text(get(dest, 'namespace')) or '(as written)'}", line=line)
