"""What an object that rewrites other objects, or sends them out of the cluster, does, in words,
for the admission facets (`checker.parsers.kubernetes.admission`, judged by
`checker.checks.admission`). nhi-gate does not interpret a patch, a webhook server's answer or
what a secret store does with what it receives, so these words are what a human must review:
- a `MutatingWebhookConfiguration` webhook receives the objects its `rules` match at its
  server (`clientConfig.url`, or `service`) and may rewrite any of them (a Pod's account, a
  binding's subjects); a `ValidatingWebhookConfiguration` webhook cannot rewrite, but one whose
  rules match Secrets receives their data;
  https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/;
- a Kyverno rule's `mutate` rewrites what the rule `match`es, or with `targets` existing
  objects (`mutateExistingOnPolicyUpdate`); https://kyverno.io/docs/policy-types/cluster-policy/mutate/;
- a Gatekeeper mutator (`Assign`, `AssignMetadata`, `ModifySet`, `AssignImage`,
  `mutations.gatekeeper.sh`) sets its `location` on the kinds of its `applyTo`;
  https://open-policy-agent.github.io/gatekeeper/website/docs/mutation/;
- an External Secrets `PushSecret` (`ClusterPushSecret`) copies a Secret's keys to the secret
  stores it names, outside the cluster; https://external-secrets.io/latest/api/pushsecret/.
"""

from __future__ import annotations

from yaml.nodes import Node

from checker.safeyaml import get, get_path, scalar_text, sequence

#: Gatekeeper's mutator kinds (group `mutations.gatekeeper.sh`).
GATEKEEPER_MUTATORS = frozenset({"Assign", "AssignMetadata", "ModifySet", "AssignImage"})
#: External Secrets kinds that send a Secret to a store (group `external-secrets.io`).
PUSH_SECRETS = frozenset({"PushSecret", "ClusterPushSecret"})


def _texts(node: Node | None) -> list[str]:
    found = [scalar_text(n) or "" for n in sequence(node)]
    text = scalar_text(node) if not found else None
    return found or ([text] if text else [])


def _resources(rules: Node | None) -> tuple[list[str], list[str]]:
    """(operations, `<group>/<resource>` names) of a webhook's `rules`, core group as `core`."""
    operations: list[str] = []
    resources: list[str] = []
    for rule in sequence(rules):
        operations += _texts(get(rule, "operations"))
        for group in _texts(get(rule, "apiGroups")) or [""]:
            resources += [f"{group or 'core'}/{r}" for r in _texts(get(rule, "resources"))]
    return list(dict.fromkeys(operations)), list(dict.fromkeys(resources))


def receives_secrets(hook: Node) -> bool:
    """True when a webhook's `rules` match Secrets (`secrets` or `*` in the core group or
    `*`)."""
    _, resources = _resources(get(hook, "rules"))
    return any(r.split("/")[0] in ("core", "*") and r.split("/", 1)[1] in ("secrets", "*")
               for r in resources)


def webhook_does(hook: Node, mutating: bool) -> str:
    """One webhook in words: ``webhook `w` receives CREATE of core/secrets at <url>``, and
    `and may rewrite them` for a mutating one."""
    operations, resources = _resources(get(hook, "rules"))
    config = get(hook, "clientConfig")
    service = get(config, "service")
    where = scalar_text(get(config, "url")) or (
        "service " + "/".join(p for p in (scalar_text(get(service, "namespace")),
                                          scalar_text(get(service, "name"))) if p)
        + (scalar_text(get(service, "path")) or "") if service is not None else "its server")
    name = scalar_text(get(hook, "name")) or "?"
    text = (f"webhook `{name}` receives {', '.join(operations) or 'requests'} of "
            f"{', '.join(resources) or 'what it matches'} at {where}")
    return text + (" and may rewrite them" if mutating else "")


def _kinds(filters: Node | None) -> str:
    """The kinds and namespaces of Kyverno `match.any`/`all` resource filters, in words."""
    kinds: list[str] = []
    namespaces: list[str] = []
    for entry in [*sequence(get(filters, "any")), *sequence(get(filters, "all"))]:
        resources = get(entry, "resources")
        kinds += _texts(get(resources, "kinds"))
        namespaces += _texts(get(resources, "namespaces"))
    text = ", ".join(dict.fromkeys(kinds)) or "what it matches"
    return text + (f" in namespaces {', '.join(dict.fromkeys(namespaces))}" if namespaces else "")


def kyverno_mutate(rule: Node) -> str:
    """A Kyverno rule's `mutate` in words: what it may rewrite (module doc)."""
    name = scalar_text(get(rule, "name")) or "?"
    targets = sequence(get_path(rule, "mutate", "targets"))
    if targets:
        named = ", ".join("/".join(p for p in (scalar_text(get(t, "kind")) or "?",
                                               scalar_text(get(t, "namespace")),
                                               scalar_text(get(t, "name"))) if p)
                          for t in targets)
        return f"rule `{name}` may rewrite existing {named}"
    return f"rule `{name}` may rewrite {_kinds(get(rule, 'match'))}"


def gatekeeper_sets(spec: Node | None) -> str:
    """A Gatekeeper mutator in words: the `location` it sets on the kinds it applies to."""
    kinds = [k for entry in sequence(get(spec, "applyTo")) for k in _texts(get(entry, "kinds"))]
    namespaces = _texts(get_path(spec, "match", "namespaces"))
    location = scalar_text(get(spec, "location")) or "?"
    what = ", ".join(dict.fromkeys(kinds)) or "what it matches"
    where = f" in namespaces {', '.join(namespaces)}" if namespaces else ""
    return f"sets `{location}` of {what}{where}"


def push_sends(spec: Node | None) -> str:
    """A PushSecret in words: the Secret and keys it sends, and to which stores."""
    inner = get(spec, "pushSecretSpec") or spec  # a ClusterPushSecret wraps the spec
    secret = scalar_text(get_path(inner, "selector", "secret", "name"))
    keys = [scalar_text(get_path(d, "match", "secretKey")) or "?"
            for d in sequence(get(inner, "data"))]
    stores = ["/".join(p for p in (scalar_text(get(s, "kind")) or "SecretStore",
                                   scalar_text(get(s, "name"))) if p)
              for s in sequence(get(inner, "secretStoreRefs"))]
    what = f"Secret `{secret}`" if secret else "the Secrets it selects"
    keyed = f" (keys {', '.join(keys)})" if keys else " (every key)"
    return f"sends {what}{keyed} to {', '.join(stores) or 'its secret stores'}"
