"""Account switches of a Kubernetes workload that its `serviceAccountName` line does not show
(issue 13), for `checker.checks.workloads`, which judges them like a `serviceAccountName` switch.

- A namespace move (`moved_from`): a ServiceAccount is namespaced, so a workload runs as
  `<namespace>/<serviceAccountName>`; changing the workload's namespace (in its metadata, or
  through a kustomize overlay's `namespace:`, which the rendered object carries) makes it run
  as another account with the same name, possibly one a binding grants much more. The
  workload's address names its namespace, so the engine sees a new object and no base twin;
  `moved_from` finds the base workload of the same file (or render), kind and name in another
  namespace that is gone at head.
- A token Secret (`token_accounts`): a pod that mounts or references a Secret of type
  `kubernetes.io/service-account-token` (a `secret` volume, a `projected` volume's `secret`
  source, `env[].valueFrom.secretKeyRef`, `envFrom[].secretRef`) holds that account's API
  token and can act as it, whatever its own `serviceAccountName` says. The Secret must be
  among the run's objects at head or base (same namespace, same render); a secret volume
  mounted at the service-account token path is read as an account token even when it is not
  (fail closed: the path is where client libraries look for the pod's credentials).

Sources: https://kubernetes.io/docs/concepts/security/service-accounts/ (a ServiceAccount is a
namespaced object; pods use an account of their own namespace),
https://kubernetes.io/docs/concepts/configuration/secret/#serviceaccount-token-secrets (a
`kubernetes.io/service-account-token` Secret holds the named account's token; "mount it in a
pod" as any Secret), https://kubernetes.io/docs/tasks/run-application/access-api-from-pod/
(`/var/run/secrets/kubernetes.io/serviceaccount/token` is read by the client libraries).
"""

from __future__ import annotations

from collections.abc import Sequence

from checker.model import IdentityObject

#: `attribute_lines` keys a workload facet records for the Secrets its pod spec uses
#: (`checker.parsers.kubernetes.workloads.secret_refs`): `secretRef.<name>` for each, and
#: `tokenPathSecret.<name>` for a secret volume mounted at the service-account token path.
SECRET_REF = "secretRef."
TOKEN_PATH_SECRET = "tokenPathSecret."
_TOKEN_SECRET = "Secret:kubernetes.io/service-account-token"
#: NHI302's level variant for a person's workload identity change (rules/docs/privilege.yaml).
HUMAN_VARIANT = "workload-human"
#: How `token_accounts` names the account of a Secret the run does not show.
UNSEEN_TOKEN = "the account of Secret "


def _name(obj: IdentityObject) -> str:
    return obj.address.rsplit("/", 1)[-1]


def moved_from(obj: IdentityObject, base: Sequence[IdentityObject],
               head: Sequence[IdentityObject]) -> IdentityObject | None:
    """The base twin of workload facet `obj` before its namespace changed: a base workload
    facet of the same source file and render, type and name whose namespace differs and whose
    address is not at head; None when there is none (a new workload)."""
    at_head = {(o.location.path, o.address) for o in head}
    for old in base:
        if (old.type == obj.type and old.platform == obj.platform
                and old.derived_from == old.address and old.namespace != obj.namespace
                and old.location.path == obj.location.path
                and old.rendered_by == obj.rendered_by and _name(old) == _name(obj)
                and (old.location.path, old.address) not in at_head):
            return old
    return None


def secrets_of(obj: IdentityObject) -> dict[str, int]:
    """Secret name -> line of each Secret the pod spec of workload facet `obj` uses."""
    return {k[len(SECRET_REF):]: v for k, v in obj.attribute_lines.items()
            if k.startswith(SECRET_REF)}


def token_accounts(obj: IdentityObject, objects: Sequence[IdentityObject]
                   ) -> dict[str, tuple[str, int]]:  # fmt: skip
    """Secret name -> (the account whose token it holds, line) for each Secret the workload
    facet `obj` uses that is a service-account token: a `kubernetes.io/service-account-token`
    Secret among `objects` in the workload's namespace and render (its account as written in
    a binding's subjects: `ServiceAccount/<ns>/<name>`, render-prefixed like the facet's own
    reference), or, when none is, a secret volume mounted at the token path (the account
    `UNSEEN_TOKEN<ns>/<name>`, which no binding names)."""
    prefix = f"{obj.rendered_by}:" if obj.rendered_by else ""
    where = "/".join(p for p in (obj.namespace, "") if p is not None)
    out: dict[str, tuple[str, int]] = {}
    for name, line in secrets_of(obj).items():
        address = f"{prefix}Secret/{where}{name}"
        found = next((o for o in objects if o.type == _TOKEN_SECRET and o.address == address
                      and o.references), None)
        if found is not None:
            out[name] = (found.references[0], line)
        elif f"{TOKEN_PATH_SECRET}{name}" in obj.attribute_lines:
            out[name] = (f"{UNSEEN_TOKEN}{where}{name}", line)
    return out
