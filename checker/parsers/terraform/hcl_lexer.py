"""The tokenizer of the fast HCL path (`hcl_fast`): HCL native syntax as python-hcl2 7.3.1's
grammar (`hcl2/hcl2.lark`) lexes it, for the subset `hcl_fast` reads. Pure: no `hcl2`, no lark.

python-hcl2 lexes with lark's contextual lexer: which terminal a character starts depends on
the parser state. This tokenizer has one code mode, so wherever that choice could differ it
produces a token `hcl_fast` refuses (`Unsupported`), never a different reading:

- a newline, or a run of newlines, blank lines and comments (`#`, `//` to the end of the line,
  `/* ... */`), is one `nl` token: the grammar's `new_line_or_comment` (`NL_OR_COMMENT+`);
  spaces and tabs are skipped (`%ignore /[ \\t]+/`); any other character (a carriage return,
  a form feed, a letter outside ASCII) outside a string raises `Unsupported`;
- a number is a run of digits with at most one fraction (`1`, `1.5`); an exponent (`1e5`:
  python-hcl2 turns `e` and `E` into different values) lexes as a number and a name, which the
  parser refuses;
- `<<MARKER` or `<<-MARKER` followed by a newline is one `heredoc` token up to the line that
  closes it (the grammar's `heredoc_template` regex, which also takes that line's newline);
- strings are read by the parser (`string_part`, `escaped_interpolation`), because an
  interpolation inside one holds code.

Tokens are tuples `(kind, text, start, end)`: `kind` is `nl`, `name`, `num`, `heredoc`, `eof`,
or the punctuation itself (`{`, `==`, `[*]`, ...); `start`/`end` are offsets into the text.
"""

from __future__ import annotations

import re

Token = tuple[str, str, int, int]


class Unsupported(Exception):
    """The text holds something the fast path does not read exactly as python-hcl2 7.3.1
    does, or that python-hcl2 may reject: the caller parses it with python-hcl2 instead."""


_CODE = re.compile(
    r"[ \t]*(?:(?P<nl>(?:(?:\n|#[^\n]*\n|//[^\n]*\n|/\*[\s\S]*?\*/)[ \t]*)+)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*)"
    r"|(?P<num>[0-9]+(?:\.[0-9]+)?)"
    r"|(?P<heredoc><<-?[A-Za-z][A-Za-z0-9._-]+\n)"
    r"|(?P<op>\.\.\.|\.\*|\[\*\]|::|=>|==|!=|<=|>=|&&|\|\||[-+*/%<>!=?:,.(){}\[\]\"]))"
)
#: Inside a string: characters up to a quote, a `${` or a `$${` (a backslash escapes one
#: character). A raw newline is refused: Terraform rejects it, python-hcl2 accepts it.
_STRING_CHARS = re.compile(r'(?:\\[^\n]|(?!\$\$?\{)[^"\\\n])+')
#: `$${...}`: literal text, up to the first `}` (python-hcl2's `ESCAPED_INTERPOLATION`).
_ESCAPED = re.compile(r"\$\$\{[^}\n]*\}")


class Scanner:
    """The token stream of `text` (which ends with a newline, as `hcl2.loads` makes it), read
    one token ahead (`peek`, `next`). `no_nl` > 0 refuses newlines and comments (inside an
    interpolation). `line_at(offset)` is the 1-based line of an offset, for offsets read in
    increasing order."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.last = ""  # kind of the last token taken
        self.no_nl = 0
        self._ahead: Token | None = None
        self._line_pos = 0
        self._line = 1

    def peek(self) -> Token:
        """The next token, not taken."""
        if self._ahead is None:
            self._ahead = self._lex()
        return self._ahead

    def next(self) -> Token:
        """The next token, taken."""
        tok = self._ahead if self._ahead is not None else self._lex()
        self._ahead = None
        self.pos = tok[3]
        self.last = tok[0]
        return tok

    def expect(self, kind: str) -> Token:
        """The next token, taken; `Unsupported` unless it is of `kind`."""
        tok = self.next()
        if tok[0] != kind:
            raise Unsupported(kind)
        return tok

    def skip_nl(self) -> bool:
        """Take a newline/comment token if one is next; whether one was."""
        if self.peek()[0] == "nl":
            self.next()
            return True
        return False

    def digit_at(self, offset: int) -> bool:
        """Whether the character at `offset` is an ASCII digit."""
        return offset < len(self.text) and self.text[offset] in "0123456789"

    def line_at(self, offset: int) -> int:
        """The 1-based line of `offset` (not before an offset asked earlier)."""
        self._line += self.text.count("\n", self._line_pos, offset)
        self._line_pos = offset
        return self._line

    def _lex(self) -> Token:
        text = self.text
        m = _CODE.match(text, self.pos)
        if m is None:
            start = len(text) - len(text[self.pos:].lstrip(" \t"))
            if start >= len(text):
                return ("eof", "", start, start)
            raise Unsupported(f"character {text[start]!r}")
        kind = m.lastgroup or ""
        start = m.start(kind)
        if kind == "op":
            op = m.group(kind)
            return (op, op, start, m.end())
        if kind == "nl" and self.no_nl:
            raise Unsupported("newline inside an interpolation")
        if kind == "heredoc":
            return ("heredoc", *_heredoc(text, start, m.end()))
        return (kind, m.group(kind), start, m.end())

    def string_parts(self) -> list[str | None]:
        """The parts of the string whose opening quote was just taken, up to and including its
        closing quote: literal text as written (escapes are processed later, as python-hcl2
        does), None where an interpolation `${` starts (the parser reads it, then calls this
        again). The scanner stands after the closing quote, or after the `${`."""
        text, pos = self.text, self.pos
        parts: list[str | None] = []
        while True:
            m = _ESCAPED.match(text, pos) or _STRING_CHARS.match(text, pos)
            if m is not None:
                parts.append(m.group())
                pos = m.end()
                continue
            if text.startswith('"', pos):
                self.pos = pos + 1
                return parts
            if text.startswith("${", pos):
                self.pos = pos + 2
                parts.append(None)
                return parts
            raise Unsupported("string not closed on its line")


def _heredoc(text: str, start: int, opened: int) -> tuple[str, int, int]:
    """(value, start, end) of the heredoc whose opener `<<[-]MARKER\\n` ends at `opened`: its
    token reaches the first line holding only MARKER (and its newline), as python-hcl2's
    `heredoc_template` terminal does; the value is python-hcl2's: the text between, trailing
    space and newlines dropped, with `<<-` the common leading spaces too, in quotes."""
    trim = text[start + 2] == "-"
    marker = text[start + (3 if trim else 2):opened - 1]
    closing = re.compile(r"\n\s*" + re.escape(marker) + r"\n")
    m = closing.search(text, opened) or closing.match(text, opened - 1)
    if m is None:
        raise Unsupported("heredoc not closed")
    token = text[opened:m.end()]
    body = token[:token.rfind(marker)].rstrip("\n\t ")
    if trim:
        lines = body.split("\n")
        cut = min(len(line) - len(line.lstrip(" ")) for line in lines)
        body = "\n".join(line[cut:] for line in lines)
    return '"' + body + '"', start, m.end()
