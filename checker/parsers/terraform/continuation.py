"""Leading continuation operators moved up a line, for python-hcl2 7.3.1: line numbers kept.

Terraform ignores newlines inside `( )`, `[ ]` and a `{ for ... }` expression, so an expression
there may continue on a line that starts with an operator:

    service_account = (
      local.use_data_source
      ? try(data.google_service_account.service_account[0], null)
      : try(google_service_account.service_account[0], null)
    )

python-hcl2 7.3.1 rejects a line starting with `?`, `:`, `&&`, `||`, another binary operator
or an attribute access `.name` (python-hcl2 issues #246 and #234, https://github.com/amplify-education/python-hcl2/
issues/246 and /234; cloud-foundation-fabric writes its conditionals this way) but accepts the
same operator at the end of the previous line. `join_leading_operators` moves each such
operator to the end of the previous line holding code (before that line's comment), so the
token sequence, the number of lines and every other token's line stay the same: the rewrite
changes what python-hcl2 accepts, never what the text means, and it turns no invalid HCL into
valid HCL (a line in a block body or an object, where a newline ends an item, is left alone).
HCL syntax: https://github.com/hashicorp/hcl/blob/main/hclsyntax/spec.md ("Expressions":
newlines are ignored within parentheses, brackets and for expressions). Pure: no `hcl2` here.
"""

from __future__ import annotations

from checker.lazy_patterns import lazy_compile

#: An operator python-hcl2 7.3.1 rejects at the start of a line and accepts at the end of one:
#: `?`, `:`, `&&`, `||`, `=>`, a comparison, `+`, `*`, `/`, `%`, and an attribute access chain
#: `.name.0.*` (never `...`, the expansion symbol; never `-` or `!`, which 7.3.1 reads as unary
#: at a line start, nor `<<`, `//` or `/*`).
_LEADING = lazy_compile(
    r"(\s*)(\?|:|&&|\|\||=>|==|!=|<=|>=|<(?!<)|>|\+|\*|/(?![/*])|%"
    r"|(?:\.(?:[A-Za-z_][\w-]*|\d+|\*))+)"
)
_HEREDOC = lazy_compile(r"<<-?([A-Za-z_][\w-]*)[ \t]*$")
_FOR = lazy_compile(r"\s*for\b")
#: Bracket kinds whose newlines Terraform ignores: `(`, `[`, and `f`, a `{` opening a for.
_NEWLINE_FREE = frozenset("([f")


def join_leading_operators(text: str) -> str | None:
    """`text` with every leading continuation operator (see the module docstring) moved to the
    end of the previous line holding code, or None when there is none to move.

    Same number of lines as `text`; only the moved operators change place (one space before
    each where it lands, none before an attribute access; the indentation of the line it left
    is kept). A line starting inside a string, heredoc, comment or template is left alone, and
    no operator is moved across one.
    """
    lines = text.split("\n")
    starts = _line_starts(text, lines)
    out = list(lines)
    last_code: int | None = None  # index of the last line (in `out`) that ended in code
    last_end = 0  # column just after that line's last code character
    changed = False
    for index, (line, (kind, in_code, code_end)) in enumerate(zip(lines, starts, strict=True)):
        if in_code and kind in _NEWLINE_FREE and last_code is not None:
            m = _LEADING.match(line)
            if m:
                operator = m.group(2)
                prev = out[last_code]
                moved = operator if operator.startswith(".") else f" {operator}"
                out[last_code] = f"{prev[:last_end]}{moved}{prev[last_end:]}"
                last_end += len(moved)
                rest = line[m.end():]
                out[index] = m.group(1) + (rest[1:] if rest.startswith(" ") else rest)
                code_end = None if not out[index].strip() else code_end
                changed = True
                if code_end is not None:
                    code_end -= len(line) - len(out[index])
        if code_end is not None:
            last_code, last_end = index, code_end
        elif not in_code:  # a heredoc or a multi-line string: never move an operator across
            last_code = None
    return "\n".join(out) if changed else None


def _line_starts(text: str, lines: list[str]) -> list[tuple[str, bool, int | None]]:
    """Per line: (innermost bracket kind at its start: `(`, `[`, `{`, `f` for a `{ for`, or
    "" at the top level; True when the line starts in code; the column just after its last
    code character, or None when it holds no code that ends on it)."""
    out: list[tuple[str, bool, int | None]] = []
    brackets: list[str] = []
    strings: list[int] = []  # -1: inside a string; n > 0: inside a template, n open braces
    comment = False
    heredoc: str | None = None
    offset = 0  # where the current line starts in `text`
    for line in lines:
        kind = brackets[-1] if brackets else ""
        if heredoc is not None:
            out.append((kind, False, None))
            if line.strip() == heredoc:
                heredoc = None
            offset += len(line) + 1
            continue
        in_code = not comment and not strings
        code_end: int | None = None
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if comment:
                if line.startswith("*/", i):
                    comment = False
                    i += 2
                else:
                    i += 1
                continue
            if strings and strings[-1] < 0:
                if c == "\\":
                    i += 2
                elif c == '"':
                    strings.pop()
                    i += 1
                    code_end = i if not strings else None
                elif line.startswith(("$${", "%%{"), i):
                    i += 3
                elif line.startswith(("${", "%{"), i):
                    strings.append(1)
                    i += 2
                else:
                    i += 1
                continue
            if c == "#" or line.startswith("//", i):
                break
            if line.startswith("/*", i):
                comment = True
                i += 2
                continue
            if c.isspace():
                i += 1
                continue
            if c == '"':
                strings.append(-1)
            elif not strings:
                opened = _HEREDOC.match(line, i) if c == "<" else None
                if opened:
                    heredoc = opened.group(1)
                    code_end = None
                    break
                if c in "([":
                    brackets.append(c)
                elif c == "{":
                    brackets.append("f" if _FOR.match(text, offset + i + 1) else "{")
                elif c in ")]}" and brackets:
                    brackets.pop()
                code_end = i + 1
            elif c == "{":
                strings[-1] += 1
            elif c == "}":
                strings[-1] -= 1
                if strings[-1] == 0:
                    strings.pop()
            i += 1
        if strings or comment:
            code_end = None
        out.append((kind, in_code, code_end))
        offset += len(line) + 1
    return out
