"""The lines of a SealedSecret's `encryptedData:` block: ciphertext, never a secret."""

from __future__ import annotations

from collections.abc import Sequence

from checker.lazy_patterns import lazy_compile

_ENCRYPTED_KEY = lazy_compile(r"^(\s*)encryptedData\s*:\s*$")


def encrypted_lines(lines: Sequence[str]) -> frozenset[int]:
    """1-based lines inside a SealedSecret's `encryptedData:` block: ciphertext, not secrets."""
    out: set[int] = set()
    indent: int | None = None
    for number, line in enumerate(lines, start=1):
        if indent is not None:
            if not line.strip() or len(line) - len(line.lstrip()) > indent:
                out.add(number)
                continue
            indent = None
        m = _ENCRYPTED_KEY.match(line)
        if m:
            indent = len(m.group(1))
    return frozenset(out)
