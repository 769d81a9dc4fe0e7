"""Argo CD server settings that open access, as grants (issue 12: GitOps inputs).

Argo CD reads two ConfigMaps of settings besides its RBAC policy (`gitops.py`): `argocd-cm`
and `argocd-cmd-params-cm`. A few of their keys decide who may reach what, so turning them on
is a widening like a new policy line, and turning them off a narrowing. Shapes
(`Grant(action, resource)`, platform `kubernetes`, at the key's line; a value other than
`"true"` grants nothing, so `"false"` is the setting turned back off):
- `argocd-cmd-params-cm` `server.disable.auth: "true"` -> `Grant("argocd:auth-disabled",
  "(everyone who reaches the server)")`: the API server stops authenticating, every request
  acts as the admin (the admin table, `rules/privileges.yaml`).
- `argocd-cmd-params-cm` `application.namespaces: "<ns>, <ns>, ..."` ->
  `Grant("argocd:application-namespaces", "<ns pattern>")` per entry: Applications created in
  those namespaces are reconciled (`*`: every namespace; the escalation table).
- `argocd-cm` `exec.enabled: "true"` -> `Grant("argocd:exec", "(pods of every application, for
  users with exec/create)")`: the web terminal runs shells in deployed pods (escalation table).
`argocd-cm` `admin.enabled: "true"` is Argo CD's default (the built-in admin user is enabled
unless it says `"false"`), so writing it grants nothing new and is not read.
Sources: https://argo-cd.readthedocs.io/en/stable/operator-manual/argocd-cmd-params-cm-yaml/,
https://argo-cd.readthedocs.io/en/stable/operator-manual/argocd-cm-yaml/,
https://argo-cd.readthedocs.io/en/stable/operator-manual/web_based_terminal/,
https://argo-cd.readthedocs.io/en/stable/operator-manual/app-any-namespace/
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import Node

from checker.model import Grant
from checker.safeyaml import items, line_of, scalar_text

#: The catalogue type of Argo CD's command-line parameters ConfigMap.
ARGOCD_CMD_PARAMS = "ConfigMap:argocd-cmd-params-cm"
#: Who `server.disable.auth` lets in.
EVERYONE = "(everyone who reaches the server)"
#: The keys read, per ConfigMap name (module doc).
_KEYS = {
    "argocd-cmd-params-cm": ("server.disable.auth", "application.namespaces"),
    "argocd-cm": ("exec.enabled",),
}


def is_setting_key(configmap: str, key: str) -> bool:
    """True for a data key of the ConfigMap named `configmap` that `settings_grants` reads."""
    return key in _KEYS.get(configmap, ())


def settings_grants(configmap: str, data: Node | None) -> Iterator[Grant]:
    """The grants of the access settings in `data` (the `data:` node of the ConfigMap named
    `configmap`: `argocd-cm` or `argocd-cmd-params-cm`), in source order (module doc)."""
    for key, key_node, value in items(data):
        if not is_setting_key(configmap, key):
            continue
        text = (scalar_text(value) or "").strip()
        line = line_of(key_node)
        if key == "application.namespaces":
            for pattern in dict.fromkeys(p.strip() for p in text.split(",") if p.strip()):
                yield Grant("argocd:application-namespaces", pattern, line=line)
        elif text.lower() != "true":
            continue
        elif key == "server.disable.auth":
            yield Grant("argocd:auth-disabled", EVERYONE, line=line)
        elif key == "exec.enabled":
            yield Grant("argocd:exec", "(pods of every application, for users with exec/create)",
                        line=line)
