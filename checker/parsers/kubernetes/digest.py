"""What a Kubernetes Role or ClusterRole says apart from its `rules`, as a digest
(`IdentityObject.frame_digest`): equal at base and head when a change touched only its rules,
so a change that grants nothing new is a narrowing (`checker.checks.drift.narrows`)."""

from __future__ import annotations

import hashlib
import json

from yaml.nodes import MappingNode

from checker.safeyaml.limits import YamlLimitError
from checker.safeyaml.nodes import to_python

#: Kinds whose privileges all come from `rules` (the rest names and scopes the role). Source:
#: https://kubernetes.io/docs/reference/access-authn-authz/rbac/#role-and-clusterrole
RULE_KINDS = frozenset({"Role", "ClusterRole"})


def role_frame_digest(doc: MappingNode, kind: str) -> str:
    """sha256 (32 hex) of the object without `rules` for a Role or ClusterRole (canonical JSON
    of its plain values); "" for other kinds or an object past the YAML budgets."""
    if kind not in RULE_KINDS:
        return ""
    try:
        value = to_python(doc)
    except YamlLimitError:
        return ""
    if not isinstance(value, dict):
        return ""
    frame = {k: v for k, v in value.items() if k != "rules"}
    payload = json.dumps(frame, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
