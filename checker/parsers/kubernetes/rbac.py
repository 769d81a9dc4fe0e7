"""Kubernetes RBAC objects -> grants: Role/ClusterRole rules, RoleBinding/ClusterRoleBinding
`roleRef` and subjects (shapes: see `checker.parsers.kubernetes`)."""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode

from checker.model import Grant
from checker.safeyaml import get, get_entry, line_of, scalar_text, sequence


def rule_grants(doc: MappingNode) -> tuple[Grant, ...]:
    grants: list[Grant] = []
    for rule in sequence(get(doc, "rules")):
        line = line_of(rule)
        verbs = texts(get(rule, "verbs"))
        resources = texts(get(rule, "resources"))
        groups = texts(get(rule, "apiGroups")) or [""]
        names = texts(get(rule, "resourceNames"))
        for verb in verbs:
            for group in groups:
                for resource in resources:
                    target = f"{group}/{resource}"
                    if names:
                        grants.extend(Grant(verb, f"{target}:{n}", line=line) for n in names)
                    else:
                        grants.append(Grant(verb, target, line=line))
            for url in texts(get(rule, "nonResourceURLs")):
                grants.append(Grant(verb, f"url:{url}", line=line))
    return tuple(dict.fromkeys(grants))


def binding_grants(doc: MappingNode, kind: str, namespace: str | None) -> tuple[Grant, ...]:
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


def subjects(doc: MappingNode, namespace: str | None) -> list[str]:
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


def texts(node: Node | None) -> list[str]:
    """The scalar texts of a sequence (a lone scalar counts as a one-item list)."""
    if isinstance(node, ScalarNode):
        text = scalar_text(node)
        return [text] if text else []
    return [t for t in (scalar_text(n) for n in sequence(node)) if t is not None]
