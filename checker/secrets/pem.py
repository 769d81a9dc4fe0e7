"""Is a private-key block real: a PEM `-----BEGIN ... PRIVATE KEY-----` header whose body holds
no key material (`<private-key>`, `...`, `xxx`, `REDACTED`, nothing) is documentation, not a
key (`placeholder_block`).

The block is read from the header to its `-----END ... PRIVATE KEY-----` line, on the same line
(a JSON or YAML string with `\\n` escapes) or on the lines below (a block scalar), at most
`MAX_BLOCK_LINES` lines. Key material is base64 (RFC 7468 section 3: the body is base64 in
lines of 64 characters); a body without one run of `MIN_MATERIAL` base64 characters drawn from
at least `MIN_DISTINCT` different characters holds no key (`checker.policy.placeholders.
encoded_material`, shared with NHI404). A block without its END line within
reach is kept as a key (fail closed). Source: https://www.rfc-editor.org/rfc/rfc7468#section-3
"""

from __future__ import annotations

from collections.abc import Sequence

from checker.lazy_patterns import lazy_compile
from checker.policy.placeholders import encoded_material

#: How far below its header a block's END line is looked for.
MAX_BLOCK_LINES = 200
_BEGIN = lazy_compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_END = lazy_compile(r"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
#: Escaped line breaks inside a quoted string (`\n`, `\r`, `\\n`).
_ESCAPES = lazy_compile(r"\\+[nr]")


def _block(lines: Sequence[str], index: int) -> str | None:
    """The body of the private-key block whose header is on `lines[index]`, escapes turned into
    line breaks; None when there is no header there, no END line within reach, or another
    header before it (a bare header in code, `strings.Contains(out, "-----BEGIN ...")`, above
    a real block must not borrow that block's body)."""
    begin = _BEGIN.search(lines[index])
    if begin is None:
        return None
    body = [lines[index][begin.end():]]
    end = _END.search(body[0])
    for below in lines[index + 1: index + MAX_BLOCK_LINES]:
        if end is not None:
            break
        if _BEGIN.search(below):
            return None  # another block starts first: this header has no block of its own
        body.append(below)
        end = _END.search(below)
    if end is None:
        return None
    body[-1] = body[-1][:end.start()]
    return _ESCAPES.sub("\n", "\n".join(body))


def holds_key(lines: Sequence[str], index: int) -> bool:
    """True only when the private-key block whose header is on `lines[index]` is whole (its
    END line within reach) and its body holds key material: the test for a header in a
    comment (`## key should start with -----BEGIN RSA PRIVATE KEY-----` is prose)."""
    body = _block(lines, index)
    return body is not None and encoded_material(body)


def placeholder_block(lines: Sequence[str], index: int) -> bool:
    """True when the private-key block whose header is on `lines[index]` (0-based) has a body
    without key material; False when there is no header on that line, when its END line is
    not within `MAX_BLOCK_LINES`, or when the body holds a base64 run (see the module
    docstring)."""
    if _BEGIN.search(lines[index]) is None:
        return False
    body = _block(lines, index)
    return body is not None and not encoded_material(body)
