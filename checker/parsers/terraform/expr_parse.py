"""The parser half of `expressions`: HCL native expression syntax -> a small tuple tree.

Nodes are tuples: ("lit", v), ("ref", name), ("get", obj, key-node), ("call", name, args),
("tuple", items), ("object", pairs), ("tpl", parts), ("op", op, a, b), ("not"|"neg", a),
("cond", c, a, b), ("for", names, coll, key, value, cond). A construct outside the subset
`expressions` documents (a splat, a template directive, `...` expansion or grouping) raises
`Unresolved`. Syntax:
https://github.com/hashicorp/hcl/blob/main/hclsyntax/spec.md
"""

from __future__ import annotations

import re
from typing import Any

from checker.lazy_patterns import lazy_compile


class Unresolved(Exception):
    """The expression's value cannot be computed here (an unknown reference or construct)."""


class EvalError(Unresolved):
    """The expression fails on known values (Terraform would report an error): `try` catches."""



_TOKEN = lazy_compile(r"""
    (?P<ws>\s+|\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<heredoc><<-?[A-Za-z_][\w-]*[ \t]*\r?\n)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][\w-]*)
  | (?P<str>")
  | (?P<op>==|!=|<=|>=|&&|\|\||\.\.\.|=>|[-+*/%<>!?:.,()\[\]{}=])
""", re.VERBOSE | re.DOTALL)



class Parser:
    """A recursive-descent parser over one expression text (`expression`, `end`) or one
    template (`template_until`)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self._peeked: tuple[int, tuple[str, str]] = (-1, ("", ""))  # (pos, token there)

    def _fail(self) -> Unresolved:
        return Unresolved(f"cannot evaluate expression at offset {self.pos}")

    def peek(self) -> tuple[str, str]:
        if self._peeked[0] == self.pos:  # asked again at the same place (each binary level)
            return self._peeked[1]
        while True:
            m = _TOKEN.match(self.text, self.pos)
            if m is None:
                if self.pos >= len(self.text):
                    return "end", ""
                raise self._fail()
            kind = m.lastgroup or ""
            if kind != "ws":
                self._peeked = (self.pos, (kind, m.group(0)))
                return self._peeked[1]
            self.pos = m.end()

    def take(self) -> tuple[str, str]:
        kind, value = self.peek()
        if kind != "end":
            self.pos += len(value)
        return kind, value

    def expect(self, op: str) -> None:
        if self.take() != ("op", op):
            raise self._fail()

    def accept(self, op: str) -> bool:
        if self.peek() == ("op", op):
            self.take()
            return True
        return False

    def end(self) -> None:
        if self.peek()[0] != "end":
            raise self._fail()

    def expression(self) -> tuple[Any, ...]:
        cond = self._binary(0)
        if self.accept("?"):
            yes = self.expression()
            self.expect(":")
            return ("cond", cond, yes, self.expression())
        return cond

    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"),
               ("*", "/", "%"))

    def _binary(self, level: int) -> tuple[Any, ...]:
        if level == len(self._LEVELS):
            return self._unary()
        left = self._binary(level + 1)
        while (tok := self.peek())[0] == "op" and tok[1] in self._LEVELS[level]:
            self.take()
            left = ("op", tok[1], left, self._binary(level + 1))
        return left

    def _unary(self) -> tuple[Any, ...]:
        if self.accept("!"):
            return ("not", self._unary())
        if self.accept("-"):
            return ("neg", self._unary())
        return self._postfix(self._primary())

    def _postfix(self, node: tuple[Any, ...]) -> tuple[Any, ...]:
        while True:
            if self.accept("."):
                kind, value = self.take()
                if not (kind == "ident" or (kind == "num" and value.isdigit())):
                    raise self._fail()  # a splat `.*` or a malformed name
                key: tuple[Any, ...] = ("lit", int(value) if kind == "num" else value)
                node = ("get", node, key)
            elif self.peek() == ("op", "["):
                self.take()
                if self.peek() == ("op", "*"):
                    raise self._fail()
                node = ("get", node, self.expression())
                self.expect("]")
            else:
                return node

    def _primary(self) -> tuple[Any, ...]:
        kind, value = self.take()
        if kind == "num":
            return ("lit", float(value) if any(c in value for c in ".eE") else int(value))
        if kind == "str":
            return self.template_until('"')
        if kind == "heredoc":
            return self._heredoc(value)
        if kind == "ident":
            if value in ("true", "false", "null"):
                return ("lit", {"true": True, "false": False, "null": None}[value])
            if self.accept("("):
                args: list[tuple[Any, ...]] = []
                while not self.accept(")"):
                    args.append(self.expression())
                    if self.accept("..."):
                        raise self._fail()
                    if not self.accept(","):
                        self.expect(")")
                        break
                return ("call", value, tuple(args))
            return ("ref", value)
        if (kind, value) == ("op", "("):
            inner = self.expression()
            self.expect(")")
            return inner
        if (kind, value) == ("op", "[") and self.peek() == ("ident", "for"):
            return self._for("]")
        if (kind, value) == ("op", "["):
            items: list[tuple[Any, ...]] = []
            while not self.accept("]"):
                items.append(self.expression())
                if not self.accept(","):
                    self.expect("]")
                    break
            return ("tuple", tuple(items))
        if (kind, value) == ("op", "{"):
            return self._object()
        raise self._fail()

    def _for(self, close: str) -> tuple[Any, ...]:
        """`for K, V in COLL : [KEY =>] VALUE [if COND]` up to `close` (`]` or `}`), as
        ("for", names, coll, key or None, value, cond or None); grouping (`...`) fails."""
        self.take()
        names = [self._name()]
        if self.accept(","):
            names.append(self._name())
        if self.take() != ("ident", "in"):
            raise self._fail()
        coll = self.expression()
        self.expect(":")
        key = None
        if close == "}":
            key = self.expression()
            self.expect("=>")
        value = self.expression()
        cond = None
        if self.peek() == ("ident", "if"):
            self.take()
            cond = self.expression()
        self.expect(close)
        return ("for", tuple(names), coll, key, value, cond)

    def _name(self) -> str:
        kind, value = self.take()
        if kind != "ident":
            raise self._fail()
        return value

    def _object(self) -> tuple[Any, ...]:
        if self.peek() == ("ident", "for"):
            return self._for("}")
        pairs: list[tuple[tuple[Any, ...], tuple[Any, ...]]] = []
        while not self.accept("}"):
            kind, value = self.peek()
            if kind == "ident" and self.text[self.pos + len(value):].lstrip(" \t")[:1] in "=:":
                self.take()
                key: tuple[Any, ...] = ("lit", value)
            else:
                key = self.expression()
            if not (self.accept("=") or self.accept(":")):
                raise self._fail()
            pairs.append((key, self.expression()))
            self.accept(",")
        return ("object", tuple(pairs))

    def template_until(self, close: str | None) -> tuple[Any, ...]:
        """A template's parts up to the closing quote (`close`) or the end of the text."""
        parts: list[Any] = []
        buf: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                if close is not None:
                    raise self._fail()
                break
            ch = text[self.pos]
            if close is not None and ch == close:
                self.pos += 1
                break
            if close is not None and ch == "\\":
                buf.append(_escape(text, self.pos))
                self.pos += 6 if text[self.pos + 1:self.pos + 2] == "u" else 2
                continue
            if text.startswith("$${", self.pos) or text.startswith("%%{", self.pos):
                buf.append(text[self.pos + 1:self.pos + 3])
                self.pos += 3
                continue
            if text.startswith("%{", self.pos):
                raise self._fail()
            if text.startswith("${", self.pos):
                self.pos += 2
                self.accept("~")
                if buf:
                    parts.append("".join(buf))
                    buf = []
                parts.append(self.expression())
                self.accept("~")
                self.expect("}")
                continue
            buf.append(ch)
            self.pos += 1
        if buf:
            parts.append("".join(buf))
        return ("tpl", tuple(parts))

    def _heredoc(self, opener: str) -> tuple[Any, ...]:
        indent = opener.startswith("<<-")
        marker = opener.lstrip("<-").strip()
        lines: list[str] = []
        rest = self.text[self.pos:].split("\n")
        for i, line in enumerate(rest):
            if line.strip() == marker:
                self.pos += sum(len(x) + 1 for x in rest[:i]) + len(line)
                break
            lines.append(line)
        else:
            raise self._fail()
        if indent:
            cut = min((len(x) - len(x.lstrip(" \t")) for x in lines if x.strip()), default=0)
            lines = [x[cut:] for x in lines]
        inner = Parser("".join(x + "\n" for x in lines))
        return inner.template_until(None)


def _escape(text: str, pos: int) -> str:
    nxt = text[pos + 1:pos + 2]
    if nxt == "u":
        return chr(int(text[pos + 2:pos + 6], 16))
    simple = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
    if nxt not in simple:
        raise Unresolved("unknown escape")
    return simple[nxt]
