"""python-hcl2's own grammar and `DictTransformer`, applied while lark parses (part of the
python-hcl2 boundary with `hcl`).

`hcl2.loads` builds lark's whole parse tree and then walks it again with `DictTransformer`.
lark can instead call a transformer's methods as each rule is reduced (an LALR parser given
`transformer=`: https://lark-parser.readthedocs.io/en/latest/classes.html#lark, "Applies the
transformer to every parse tree... faster than building a tree"), which skips building and
walking the tree. Two differences of that mode are bridged here, so the result is the same
value `hcl2.loads(text, with_meta=True)` returns (`tests/test_hcl_inline.py` compares both on
every `.tf` file of the corpus):

- lark drops `Discard` children only in a tree walk: each rule method here gets its children
  without them, as `Transformer` would pass them;
- a method cannot ask for the rule's positions (`v_args(meta=True)`) while parsing: `block`
  returns a `_Block` tree, whose positions lark fills in as it does for any tree, and `body`
  (the only rule holding blocks) turns it into python-hcl2's dict with `__start_line__` and
  `__end_line__`.

`parser()` is None when this python-hcl2 does not have the 7.3.x names relied on; `hcl` then
calls `hcl2.loads`. A text this parser rejects is parsed again by `hcl2.loads`, so errors (and
their positions) are python-hcl2's own.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hcl2 import parser as hcl2_parser_module
from hcl2.api import loads
from hcl2.transformer import END_LINE, START_LINE, DictTransformer
from lark import Lark, Tree
from lark.visitors import Discard

from checker.lazy_patterns import lazy_compile

#: A rule's name where the grammar file defines it (`?expression :`, `!unary_op :`); lark's own
#: repetition rules (`__tuple_star_6`) have no method to wrap. Read from the text, so that
#: python-hcl2's plain parser is built only when a text needs `hcl2.loads`.
_RULE_NAME = lazy_compile(r"^[?!]?([a-z_][a-z_0-9]*)\s*:", re.MULTILINE)


class _Block(Tree):  # type: ignore[type-arg]
    """A block whose labels and body are transformed and whose positions lark sets."""


def _without_discard(method: Callable[[Any, list[Any]], Any]) -> Callable[[Any, list[Any]], Any]:
    def call(self: Any, args: list[Any]) -> Any:
        return method(self, [a for a in args if a is not Discard])

    call.__name__ = method.__name__
    return call


@functools.lru_cache(maxsize=1)
def parser() -> Lark | None:
    """A lark LALR parser of python-hcl2's grammar that applies its `DictTransformer` (with
    positions) while parsing; `parse(text + "\\n")` returns what `hcl2.loads(text,
    with_meta=True)` returns. It reads python-hcl2's cached parse tables. None when python-hcl2
    lacks a name this relies on or is not python-hcl2 7.x."""
    if "with_meta" not in inspect.signature(loads).parameters:
        return None  # not python-hcl2 7.x (bc-python-hcl2): `hcl.load_hcl` says so
    grammar = Path(hcl2_parser_module.__file__).with_name("hcl2.lark")
    rules = set(_RULE_NAME.findall(grammar.read_text(encoding="utf-8")))
    methods = {
        name: _without_discard(value)
        for name, value in vars(DictTransformer).items()
        if name in rules and callable(value) and not hasattr(value, "visit_wrapper")
    }
    if "block" not in vars(DictTransformer) or "body" not in methods:
        return None

    def finish(self: Any, node: Any) -> Any:
        if not isinstance(node, _Block):
            return node
        *labels, body_dict = node.children
        result: Any = body_dict
        result.update({START_LINE: node.meta.line, END_LINE: node.meta.end_line})
        for label in reversed(labels):
            result = {self.strip_quotes(label): result}
        return result

    def block(self: Any, args: list[Any]) -> _Block:
        return _Block("block", [a for a in args if a is not Discard])

    def body(self: Any, args: list[Any]) -> Any:
        return methods["body"](self, [finish(self, a) for a in args])

    def default(self: Any, data: str, children: list[Any], meta: Any) -> Tree:  # type: ignore[type-arg]
        if data.startswith("__"):
            # lark's own repetition rules (`__tuple_star_6`): inlined into the rule above,
            # whose method drops `Discard`. Their list is extended in place as each item is
            # read; a copy here would make a long list quadratic.
            return Tree(data, children, meta)
        return Tree(data, [c for c in children if c is not Discard], meta)

    inline = type("InlineDictTransformer", (DictTransformer,),
                  {**methods, "block": block, "body": body, "__default__": default})
    return Lark.open(
        "hcl2.lark", rel_to=hcl2_parser_module.__file__, parser="lalr",
        cache=str(hcl2_parser_module.PARSER_FILE), propagate_positions=True,
        transformer=inline(with_meta=True),
    )
