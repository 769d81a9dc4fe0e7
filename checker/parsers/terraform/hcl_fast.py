"""A hand-written parser of HCL native syntax that returns exactly what python-hcl2 7.3.1
`hcl2.loads(text, with_meta=True)` returns, or raises `Unsupported` (issue 16: a faster path
where it gives the same results on the whole corpus; `tests/test_hcl_fast.py` proves it there
and on generated HCL). Pure: no `hcl2`, no lark, so a run whose files all parse here never
imports lark nor loads python-hcl2's grammar (`hcl.load_hcl` falls back to python-hcl2 on
`Unsupported`, so errors and their positions stay python-hcl2's own).

`loads(text, with_meta)` parses with the grammar of `hcl2/hcl2.lark` as lark's LALR parser
resolves it (a binary operator's or a conditional's right side takes the rest of the
expression: `a + b ? c : d` is `a + (b ? c : d)`), and builds the value python-hcl2's
`DictTransformer` builds:

- a block body is a dict (attributes, and each block type -> list of block values), a block
  nested in its labels (`{"aws_iam_user": {"ci": body}}`), with `__start_line__` (its first
  token's line) and `__end_line__` (its `}`'s line) when `with_meta`; an attribute defined
  twice in a body, or an attribute and a block of one name, is `Unsupported` (python-hcl2
  rejects it);
- expressions are text: identifiers, calls, operations, for-expressions, splats as written
  with python-hcl2's spacing; as a value they are wrapped (`${...}`, `hcl_text.dollar`),
  strings lose their quotes and have their escapes processed, `bool`/`number`/`string` stay
  bare; inside an expression a list or map is written inline (`hcl_text.inline`: JSON for
  maps, `True` where python formats a boolean);
- numbers are `int` or `float`, `true`/`false`/`null` are `True`/`False`/`None`, lists and
  maps (`{k = v}`) are lists and dicts.

What python-hcl2's grammar accepts in ways Terraform does not, or where its lexer and parser
make a choice this parser does not model, is `Unsupported` rather than guessed: newlines where
the grammar does not allow them (and inside `${...}`), two items on one line, `-1` after an
expression or a newline, `-0`, `1 2`, exponents, `a.12` (python-hcl2: `a[1]`), a raw newline
in a string, a heredoc not closed or with text after its marker, `for`/`in`/`if` as names.
"""

from __future__ import annotations

from typing import Any

from checker.parsers.terraform.hcl_lexer import Scanner, Unsupported
from checker.parsers.terraform.hcl_text import dollar, inline, nulls, unquote, unwrap

__all__ = ["Unsupported", "loads"]

START_LINE = "__start_line__"
END_LINE = "__end_line__"
BINARY = frozenset(("==", "!=", "<", ">", "<=", ">=", "-", "*", "/", "%", "&&", "||", "+"))
KEYWORDS = frozenset(("for", "in", "if"))
LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}


def loads(text: str, with_meta: bool = True) -> dict[str, Any]:
    """`text` (a whole file, or any HCL body) parsed: python-hcl2 7.3.1's `hcl2.loads(text,
    with_meta=with_meta)`. Raises `Unsupported` for anything it does not read as python-hcl2
    does (see the module docstring), or that python-hcl2 rejects."""
    parser = _Parser(text + "\n", with_meta)  # the newline `hcl2.loads` appends
    try:
        return parser.body(top=True)
    except RecursionError as exc:
        raise Unsupported("nested too deeply") from exc


class _Parser:
    """Recursive descent over `Scanner` tokens; each method returns python-hcl2's value."""

    def __init__(self, text: str, with_meta: bool) -> None:
        self.s = Scanner(text)
        self.with_meta = with_meta

    def body(self, top: bool) -> dict[str, Any]:
        """Attributes and blocks up to the end of the text (`top`) or to a `}` (not taken)."""
        s = self.s
        result: dict[str, Any] = {}
        attributes: set[str] = set()
        s.skip_nl()
        while True:
            tok = s.peek()
            if tok[0] == ("eof" if top else "}"):
                return result
            if tok[0] != "name" or tok[1] in KEYWORDS:
                raise Unsupported(tok[0])
            s.next()
            if s.peek()[0] == "=":
                s.next()
                if tok[1] in result:
                    raise Unsupported("attribute defined twice")
                result[tok[1]] = dollar(self.expression())
                attributes.add(tok[1])
            else:
                if tok[1] in attributes:
                    raise Unsupported("block named as an attribute")
                result.setdefault(tok[1], []).append(self.block(tok))
            if not s.skip_nl() and s.last != "heredoc" and s.peek()[0] not in ("}", "eof"):
                raise Unsupported("two items on one line")

    def block(self, first: tuple[str, str, int, int]) -> dict[str, Any]:
        """The rest of a block whose type `first` was taken: labels, `{`, body, `}`."""
        s = self.s
        labels: list[str] = []
        while True:
            tok = s.next()
            if tok[0] == "{":
                break
            if tok[0] == "name" and tok[1] not in KEYWORDS:
                labels.append(tok[1])
            elif tok[0] == '"':
                labels.append(unquote(self.string()))
            else:
                raise Unsupported("block label")
        start = s.line_at(first[2]) if self.with_meta else 0
        value: dict[str, Any] = self.body(top=False)
        closing = s.next()
        if self.with_meta:
            value.update({START_LINE: start, END_LINE: s.line_at(closing[2])})
        for label in reversed(labels):
            value = {label: value}
        return value

    def expression(self) -> Any:
        """An expression: a term, then a binary operator or `? :` taking the rest."""
        s = self.s
        left = self.term()
        tok = s.peek()
        kind = tok[0]
        if kind in BINARY:
            if kind == "-" and s.digit_at(tok[3]):
                raise Unsupported("-digit after an expression")
            s.next()
            s.skip_nl()
            right = kind + " " + inline(nulls(self.expression()))
            return unwrap(inline(left)) + " " + right
        if kind == "?":
            s.next()
            s.skip_nl()
            middle = self.expression()
            s.skip_nl()
            s.expect(":")
            s.skip_nl()
            other = self.expression()
            return f"{nulls(left)} ? {nulls(middle)} : {nulls(other)}"
        return left

    def term(self) -> Any:
        """An `expr_term` with its index, attribute and splat suffixes, or a unary operation."""
        s = self.s
        before = s.last
        tok = s.next()
        kind = tok[0]
        value: Any
        if kind == "name":
            following = s.peek()[0]
            if tok[1] in KEYWORDS:
                raise Unsupported("keyword as a name")
            if following == "(":
                value = f"{tok[1]}({self.arguments()})"
            elif following == "::":
                value = self.provider_call(tok[1])
            else:
                value = LITERALS.get(tok[1], tok[1])
        elif kind == "num":
            value = self.number(tok[1])
        elif kind in ("-", "!"):
            after = s.peek()
            if kind == "-" and after[0] == "num" and after[2] == tok[3]:
                # lark lexes `-1` as one number, but as `-` and `1` after a newline in a list;
                # `-0` is `0` as a number and `-0` as an operation
                value = self.number("-" + s.next()[1])
                if before == "nl" or value == 0:
                    raise Unsupported("-digit after a newline, or -0")
            elif after[0] in ("-", "!"):
                raise Unsupported("unary operator on an operation")
            else:
                return kind + inline(nulls(self.term()))
        elif kind == '"':
            value = self.string()
        elif kind == "heredoc":
            value = tok[1]
        elif kind == "(":
            s.skip_nl()
            inner = self.expression()
            s.skip_nl()
            s.expect(")")
            value = f"({inner})"
        elif kind == "[":
            value = self.tuple()
        elif kind == "{":
            value = self.object()
        else:
            raise Unsupported(kind)
        return self.suffixes(value)

    def number(self, text: str) -> int | float:
        """`1` -> 1, `1.50` -> 1.5; one followed by more digits, a name or a dot (`1 2` is 12
        to python-hcl2, `1e5` a float or text, `1.x` rejected) is `Unsupported`."""
        if self.s.peek()[0] in ("num", "name", ".", ".*", "..."):
            raise Unsupported("number followed by a digit, a name or a dot")
        return float(text) if "." in text else int(text)

    def suffixes(self, value: Any) -> Any:
        s = self.s
        while True:
            kind = s.peek()[0]
            if kind == ".":
                s.next()
                value = f"{value}{self.attribute()}"
            elif kind == "[":
                value = f"{value}{self.index()}"
            elif kind in (".*", "[*]"):
                s.next()
                value = f"{value}{kind}"
                while s.peek()[0] == "." or (kind == "[*]" and s.peek()[0] == "["):
                    if s.next()[0] == ".":
                        value = f"{value}{self.attribute(splat=kind == '.*')}"
                    else:
                        value = f"{value}{self.index(taken=True)}"
            else:
                return value

    def attribute(self, splat: bool = False) -> str:
        """`.name` after its dot, or the legacy index `.0` (python-hcl2: `[0]`; one digit only:
        it keeps the first digit of `.12`)."""
        s = self.s
        tok = s.next()
        if tok[0] == "name":
            return "." + tok[1]
        if tok[0] == "num" and len(tok[1]) == 1 and not splat and s.peek()[0] != "num":
            return f"[{tok[1]}]"
        raise Unsupported("attribute")

    def index(self, taken: bool = False) -> str:
        s = self.s
        if not taken:
            s.next()
        s.skip_nl()
        key = self.expression()
        s.skip_nl()
        s.expect("]")
        return f"[{key}]"

    def arguments(self) -> str:
        """`( args )` after a function's name: the arguments written inline, `, `-joined."""
        s = self.s
        s.expect("(")
        s.skip_nl()
        args: list[Any] = []
        while s.peek()[0] != ")":
            args.append(inline(nulls(self.expression())))
            if s.peek()[0] in (",", "..."):
                if s.next()[0] == "...":
                    s.skip_nl()
                    break
                s.skip_nl()
            elif s.skip_nl():
                if s.peek()[0] == ",":
                    s.next()
                    s.skip_nl()
                    if s.peek()[0] == ")":
                        raise Unsupported("newline before a trailing comma")
                    continue
                break
            else:
                break
        s.expect(")")
        return ", ".join(args)

    def provider_call(self, name: str) -> str:
        s = self.s
        parts = [name]
        for _ in range(2):
            s.expect("::")
            parts.append(s.expect("name")[1])
        return "::".join(parts) + f"({self.arguments()})"

    def string(self) -> str:
        """The rest of a string literal whose quote was taken, as python-hcl2 writes it: in
        quotes, escapes unprocessed, each interpolation as `${<its value>}`."""
        s = self.s
        out: list[str] = ['"']
        while True:
            parts = s.string_parts()
            if parts and parts[-1] is None:
                out.extend(p for p in parts[:-1] if p is not None)
                s.no_nl += 1
                out.append("${" + str(self.expression()) + "}")
                s.expect("}")
                s.no_nl -= 1
                continue
            out.extend(p for p in parts if p is not None)
            out.append('"')
            return "".join(out)

    def tuple(self) -> Any:
        s = self.s
        s.skip_nl()
        if s.peek()[1] == "for":
            text = self.for_intro() + " " + inline(self.expression())
            s.skip_nl()
            text += self.for_cond()
            s.expect("]")
            return f"[{text}]"
        items: list[Any] = []
        while s.peek()[0] != "]":
            items.append(dollar(self.expression()))
            s.skip_nl()
            if s.peek()[0] != ",":
                break
            s.next()
            s.skip_nl()
        s.expect("]")
        return items

    def object(self) -> Any:
        s = self.s
        s.skip_nl()
        if s.peek()[1] == "for":
            text = self.for_intro() + " " + inline(self.expression())
            s.expect("=>")
            s.skip_nl()
            text += " => " + inline(self.expression())
            s.skip_nl()
            if s.peek()[0] == "...":
                s.next()
                s.skip_nl()
                text += " ..."
            text += self.for_cond()
            s.expect("}")
            return "{" + text + "}"
        result: dict[str, Any] = {}
        while s.peek()[0] != "}":
            key = self.object_key()
            if s.next()[0] not in ("=", ":"):
                raise Unsupported("map key without = or :")
            result[key] = dollar(self.expression())
            if s.peek()[0] == ",":
                s.next()
            elif s.peek()[0] not in ("nl", "}"):
                raise Unsupported("two map items on one line")
            s.skip_nl()
        s.next()
        return result

    def object_key(self) -> str:
        s = self.s
        tok = s.next()
        kind = tok[0]
        if kind == "name" and tok[1] not in KEYWORDS:
            key = tok[1]
            while s.peek()[0] == ".":
                s.next()
                key += "." + s.expect("name")[1]
        elif kind == '"':
            key = self.string()
        elif kind == "num":
            key = str(self.number(tok[1]))
        elif kind == "(":
            inner = self.expression()
            s.expect(")")
            if not isinstance(inner, str):
                raise Unsupported("map key expression")
            key = dollar(f"({inner})")
        else:
            raise Unsupported("map key")
        begin = key.find("${")
        if begin >= 0 and key.find("}", begin + 2) >= 0:
            return key  # python-hcl2 keeps the quotes of a key with an interpolation
        return unquote(key)

    def for_intro(self) -> str:
        """`for k[, v] in coll :` as python-hcl2 writes it (`for k , v in coll :`)."""
        s = self.s
        s.next()
        s.skip_nl()
        words = ["for", self.name()]
        if s.peek()[0] == ",":
            s.next()
            words += [",", self.name()]
            s.skip_nl()
        s.skip_nl()
        if s.next()[1] != "in":
            raise Unsupported("for without in")
        s.skip_nl()
        words += ["in", inline(self.expression())]
        s.skip_nl()
        s.expect(":")
        s.skip_nl()
        return " ".join([*words, ":"])

    def for_cond(self) -> str:
        """` if cond` of a for-expression, or ""; the newline after it taken."""
        s = self.s
        if s.peek()[1] != "if" or s.peek()[0] != "name":
            return ""
        s.next()
        s.skip_nl()
        text = " if " + inline(self.expression())
        s.skip_nl()
        return text

    def name(self) -> str:
        tok = self.s.expect("name")
        if tok[1] in KEYWORDS:
            raise Unsupported("keyword as a name")
        return tok[1]
