"""Budgets for a composed YAML node graph, and `measure`, the walk that enforces them.

Aliases share the anchored node, so a "billion laughs" document is small as a graph and huge
when expanded; `measure` counts the expansion without doing it.
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, SequenceNode

#: Expanded nodes allowed in one document (aliases counted at every use).
MAX_NODES = 200_000
#: Expanded nodes allowed in one stream (all documents together).
MAX_TOTAL_NODES = 2_000_000
#: Nesting levels allowed, in the text and through aliases. Real manifests stay far below; the
#: bound keeps libyaml's C recursion and callers' recursive walks well inside their stacks.
MAX_DEPTH = 256


class YamlLimitError(ValueError):
    """A node graph is cyclic, nests deeper than allowed, or expands past its node budget."""


def measure(
    node: Node, *, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH
) -> tuple[int, int]:
    """Expanded size and depth of `node`: `(nodes, levels)`, every alias use counted.

    Iterative and memoised by node identity (an alias is the same object as its anchor), so the
    cost is the number of distinct nodes. Raises `YamlLimitError` on a cycle, on more than
    `max_nodes` expanded nodes, or on more than `max_depth` levels.
    """
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Node, bool]] = [(node, False)]
    while stack:
        current, finished = stack.pop()
        cid = id(current)
        kids = _children(current)
        if finished:
            on_path.discard(cid)
            total = 1 + sum(size[id(k)] for k in kids)
            if total > max_nodes:
                raise YamlLimitError(
                    f"alias expansion over budget: a document expands to more than "
                    f"{max_nodes} nodes"
                )
            size[cid] = total
            depth[cid] = 1 + max((depth[id(k)] for k in kids), default=0)
            continue
        if cid in size:
            continue
        on_path.add(cid)
        if len(on_path) > max_depth:
            raise YamlLimitError(f"nesting deeper than {max_depth} levels")
        stack.append((current, True))
        for kid in kids:
            kid_id = id(kid)
            if kid_id in on_path:
                raise YamlLimitError("cyclic alias: a node contains itself")
            if kid_id not in size:
                stack.append((kid, False))
    return size[id(node)], depth[id(node)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []

