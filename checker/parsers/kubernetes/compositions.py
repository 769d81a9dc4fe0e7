"""The managed resources a Crossplane `Composition` creates, as the objects they are.

A `Composition` (`apiextensions.crossplane.io`) holds each composed resource's `base` object:
in a pipeline step's `input.resources[]` (function-patch-and-transform, `mode: Pipeline`) or, in
the legacy form, in `spec.resources[]`. `composed_bases` yields each base that is a mapping
with a `kind`, with its resource's `name` (`resources[<i>]` when unnamed), so the Kubernetes
parser reads it as the object it declares (an `iam.aws.upbound.io` Policy is judged as one)
under the address `Composition/<name>:<resource name>`. Patches that overwrite a base's fields
from the composite resource are not applied: what is judged is the base as written.

Source: https://docs.crossplane.io/latest/composition/compositions/
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import MappingNode, Node

from checker.safeyaml import get, get_path, scalar_text, sequence

#: The API group of Crossplane compositions.
COMPOSITION_GROUP = "apiextensions.crossplane.io"


def composed_bases(doc: MappingNode, kind: str) -> Iterator[tuple[str, MappingNode, str]]:
    """`(resource name, base object, its kind)` for each composed resource of a Crossplane
    `Composition` `doc` of `kind`; nothing for any other object."""
    group = (scalar_text(get(doc, "apiVersion")) or "").rpartition("/")[0]
    if kind != "Composition" or group != COMPOSITION_GROUP:
        return
    resources: list[Node] = []
    for step in sequence(get_path(doc, "spec", "pipeline")):
        resources.extend(sequence(get_path(step, "input", "resources")))
    resources.extend(sequence(get_path(doc, "spec", "resources")))
    for index, resource in enumerate(resources):
        base = get(resource, "base")
        base_kind = scalar_text(get(base, "kind"))
        if isinstance(base, MappingNode) and base_kind:
            name = scalar_text(get(resource, "name")) or f"resources[{index}]"
            yield name, base, base_kind
