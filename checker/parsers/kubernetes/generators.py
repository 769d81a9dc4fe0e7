"""The objects a Kyverno policy generates, as the objects they are.

A Kyverno `ClusterPolicy` or `Policy` (`kyverno.io`) rule with `generate` creates a resource
whenever the rule matches (every new Namespace, say), from `generate.data` (the object's body:
`metadata`, `rules`, `subjects`, `roleRef`, `data`, ...) under `generate.apiVersion`,
`generate.kind`, `generate.name` and `generate.namespace`; `generate.foreach[]` entries carry
the same fields. `generated_objects` yields each such object with a `kind` as one mapping (the
`data` body with `apiVersion`, `kind` and `metadata.name`/`namespace` set from the rule), so
the Kubernetes parser judges it as what it declares: a ClusterRoleBinding to `cluster-admin`
generated into every namespace is one. Its address is `<policy kind>/<policy name>:<rule name>`.
A `generate.clone`/`cloneList` copies an existing object nhi-gate cannot see: it is yielded as
nothing here (the source object is judged where it is declared).

Source: https://kyverno.io/docs/policy-types/cluster-policy/generate/
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import MappingNode, Node, ScalarNode

from checker.safeyaml import get, get_path, scalar_text, sequence

#: The API group of Kyverno policies.
KYVERNO_GROUP = "kyverno.io"
_POLICY_KINDS = frozenset({"ClusterPolicy", "Policy"})
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"


def generated_objects(doc: MappingNode, kind: str) -> Iterator[tuple[str, MappingNode, str]]:
    """`(address suffix, object, its kind)` for each object a Kyverno `ClusterPolicy`/`Policy`
    `doc` of `kind` generates from `data`; nothing for any other object. The address suffix is
    the rule's name (`rules[<i>]` when unnamed), with `[<j>]` for the j-th `foreach` entry."""
    group = (scalar_text(get(doc, "apiVersion")) or "").rpartition("/")[0]
    if kind not in _POLICY_KINDS or group != KYVERNO_GROUP:
        return
    for index, rule in enumerate(sequence(get_path(doc, "spec", "rules"))):
        name = scalar_text(get(rule, "name")) or f"rules[{index}]"
        generate = get(rule, "generate")
        if not isinstance(generate, MappingNode):
            continue
        entries = [(name, generate)] + [
            (f"{name}[{i}]", entry) for i, entry in enumerate(sequence(get(generate, "foreach")))
        ]
        for suffix, entry in entries:
            made = _object(entry, generate)
            if made is not None:
                yield suffix, made, scalar_text(get(made, "kind")) or ""


def _object(entry: Node, generate: MappingNode) -> MappingNode | None:
    """The generated object of one `generate` (or `foreach` entry, whose missing fields come
    from `generate`): its `data` mapping with `apiVersion`, `kind` and `metadata` name and
    namespace added; None without `data` or a `kind`."""
    data = get(entry, "data")
    kind = get(entry, "kind") or get(generate, "kind")
    if not isinstance(data, MappingNode) or not isinstance(kind, ScalarNode):
        return None
    body = [(k, v) for k, v in data.value
            if scalar_text(k) not in ("apiVersion", "kind", "metadata")]
    meta = get(data, "metadata")
    meta_items = [(k, v) for k, v in (meta.value if isinstance(meta, MappingNode) else [])
                  if scalar_text(k) not in ("name", "namespace")]
    for field in ("name", "namespace"):
        value = get(entry, field) or get(generate, field)
        if isinstance(value, ScalarNode):
            meta_items.append((_key(field, value), value))
    head = [(_key("kind", kind), kind)]
    version = get(entry, "apiVersion") or get(generate, "apiVersion")
    if isinstance(version, ScalarNode):
        head.insert(0, (_key("apiVersion", version), version))
    metadata = MappingNode(_MAP, meta_items, data.start_mark, data.end_mark)
    return MappingNode(_MAP, [*head, (_key("metadata", data), metadata), *body],
                       data.start_mark, data.end_mark)


def _key(text: str, near: Node) -> ScalarNode:
    """A key node `text` positioned at `near` (the line a finding on it points to)."""
    return ScalarNode(_STR, text, near.start_mark, near.end_mark)
