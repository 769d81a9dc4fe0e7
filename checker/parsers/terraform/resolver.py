"""`Resolver`: module values, bound names and data sources substituted into one identity's
attribute values during its grant extraction, with the definitions used recorded
(`IdentityObject.inputs`). The values come from `values.module_values`; expressions are
computed by `expressions.evaluate`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from checker.model import Location, ModuleSources
from checker.parsers.terraform.expressions import Unresolved, evaluate, evaluate_template
from checker.parsers.terraform.nodes import META, Node
from checker.parsers.terraform.values import (
    MAX_VALUE_DEPTH,
    Inputs,
    ModuleValue,
    has_expression,
    module_values,
)

#: A data source another block reads (`data.aws_iam_policy_document.X`) -> a function giving
#: its value (an object, e.g. with its `json`) and its block, read with the given resolver.
DataSource = Callable[["Resolver"], tuple[Any, Location]]


class Resolver:
    """Substitutes module values during one identity's grant extraction, and records the
    definitions it used (`inputs`).

    A string holding an expression (`${local.roles[0]}`, `arn:...${var.policy}`,
    `${lookup(local.m, "ci", "x")}`) is computed by `expressions.evaluate`, from the
    attribute's source text when the caller has it (python-hcl2 drops the quotes of strings
    inside expressions); one that does not evaluate, or evaluates to an empty list or map (a
    reusable module's default `[]` is its caller's to fill; empty `resources` are not `*`),
    stays as written, and its inputs are not recorded. `bound` names (`each`, `count`, a
    `dynamic` block's iterator) and `data` sources (`data.aws_iam_policy_document.X`) answer
    references besides `local.*`/`var.*`.
    """

    def __init__(self, module: ModuleSources | None,
                 data: Mapping[str, DataSource] | None = None) -> None:  # fmt: skip
        self._module = module
        self._used: dict[str, Location] = {}
        self._bound: dict[str, Any] = {}
        self._data: Mapping[str, DataSource] = data or {}
        self._reading: set[str] = set()
        self._values: Mapping[str, ModuleValue] | None = None  # `module_values`, once

    def _module_values(self) -> Mapping[str, ModuleValue]:
        """`module_values(module).values`, looked up once per resolver (the cache's key hashes
        every file of the module)."""
        if self._values is None:
            module = self._module
            self._values = module_values(module).values if module is not None else {}
        return self._values

    def inputs(self) -> Inputs:
        """(`local.NAME`/`var.NAME`/`data.T.N`, definition) of every value substituted, first
        use first."""
        return tuple(self._used.items())

    def bound(self, names: Mapping[str, Any]) -> Resolver:
        """A resolver that also answers `names` (`{"each": {"key": k, "value": v}}`) and
        records its inputs into this one's."""
        child = Resolver(self._module, self._data)
        child._used = self._used
        child._reading = self._reading
        child._values = self._values
        child._bound = {**self._bound, **names}
        return child

    def record(self, inputs: Inputs) -> None:
        """Add `inputs` to `inputs()` (a value read outside `resolve`, e.g. `count`)."""
        for name, location in inputs:
            self._used.setdefault(name, location)

    def evaluate(self, text: str | None, value: Any) -> tuple[Any, Inputs]:
        """(value, inputs) of an expression: `text` (source syntax) when given, else the
        python-hcl2 string `value`; raises `expressions.Unresolved`. Records nothing."""
        used: list[tuple[str, Location]] = []

        def scope(name: str) -> Any:
            if name in self._bound:
                return self._bound[name]
            if name.startswith(("local.", "var.")) and self._module is not None:
                found = self._module_values().get(name)
                if found is not None:
                    used.extend(found.inputs)
                    return found.value
            elif name in self._data and name not in self._reading:
                self._reading.add(name)
                try:
                    got, where = self._data[name](self)
                finally:
                    self._reading.discard(name)
                used.append((name, where))
                return got
            raise Unresolved(name)

        if text is not None:
            return evaluate(text, scope), tuple(used)
        if not isinstance(value, str):
            raise Unresolved("not a template")
        return evaluate_template(value, scope), tuple(used)

    def _one(self, value: Any, text: str | None = None) -> Any:
        if not isinstance(value, str) or ("${" not in value and "%{" not in value):
            return value
        try:
            got, used = self.evaluate(text, value)
        except (Unresolved, RecursionError):
            return value
        if got == [] or got == {}:
            return value
        self.record(used)
        return got

    def resolve(self, value: Any, text: str | None = None) -> Any:
        """`value` with its expressions computed: the whole value from `text` (its source)
        when that evaluates, else each list element / map value on its own."""
        if text is not None and has_expression(value):
            try:
                got, used = self.evaluate(text, value)
            except (Unresolved, RecursionError):
                pass
            else:
                if got != [] and got != {}:
                    self.record(used)
                    return got
        if isinstance(value, list):
            return [self._one(v) for v in value]
        if isinstance(value, dict):
            return {k: v if k in META else self._one(v) for k, v in value.items()}
        return self._one(value)

    def resolve_deep(self, value: Any, depth: int = 0) -> Any:
        """`value` with every expression string at any depth (to `MAX_VALUE_DEPTH`)
        computed: for policy documents decoded from `jsonencode(...)`."""
        if depth > MAX_VALUE_DEPTH:
            return value
        if isinstance(value, list):
            return [self.resolve_deep(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve_deep(v, depth + 1) for k, v in value.items()}
        return self._one(value)


def resolving(node: Node, resolver: Resolver | None) -> Node:
    """`node` whose `get` (and its nested blocks' `get`) substitutes module values."""
    if resolver is None:
        return node
    return replace(node, doc=replace(node.doc, resolver=resolver))
