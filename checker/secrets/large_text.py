"""A text file over the size budget, reduced to the lines a format token may sit on.

A file larger than `config.max_file_bytes` is not parsed (NHI903: what it may define is not
checked). Its secret material is still cheap to look for: one pass of the format plugins' own
gate (`hot_lines.plugin_gate_lines`, a few compiled patterns over the text) finds every line a
GitHub token, an AWS key id or a private-key header may sit on. `hot_text` keeps those lines
(and the block under a private-key header, whose key material decides whether it is a key:
`pem.holds_key`) at their line numbers and blanks every other line, so the reduced text is
small and is read by the format plugins like any text file no parser reads
(`checker.parsers.TOKENS`, `hardcoded.find_tokens`): a token in a 2.8 MB CSV is found at its
line. Only files up to `MAX_SCAN_BYTES` are read; binary data (a NUL byte in the first 8 KiB,
git's own test) is not text, unless NUL bytes are all that make it binary (`decode.nul_padded`:
they are dropped, line numbers kept).
"""

from __future__ import annotations

from checker.decode import nul_padded
from checker.secrets.hot_lines import plugin_gate_lines

#: The largest file the pass reads (bytes): above it a file is NHI903 alone.
MAX_SCAN_BYTES = 64 * 1024 * 1024
#: Lines kept under a private-key header, for its key material.
_KEY_BLOCK_LINES = 200


def hot_text(raw: bytes) -> bytes | None:
    """`raw` with every line but those a format token may sit on emptied (line numbers kept),
    or None when `raw` is over `MAX_SCAN_BYTES`, is binary, or has no such line.
    Invalid UTF-8 is read with replacement characters (a token is ASCII)."""
    if len(raw) > MAX_SCAN_BYTES:
        return None
    if b"\0" in raw:  # git's binary test, unless NUL bytes are all that make it binary
        if not nul_padded(raw):
            return None
        raw = raw.replace(b"\0", b"")
    text = raw.decode("utf-8", errors="replace")
    hot = plugin_gate_lines(text)
    if not hot:
        return None
    lines = text.split("\n")
    keep: set[int] = set()
    for index in sorted(hot):
        keep.add(index)
        if "PRIVATE KEY" in lines[index] or "PuTTY-User-Key-File" in lines[index]:
            end = min(len(lines), index + _KEY_BLOCK_LINES)
            block = next((i for i in range(index + 1, end) if "-----END" in lines[i]), end - 1)
            keep.update(range(index + 1, block + 1))
    return "\n".join(line if i in keep else "" for i, line in enumerate(lines)).encode()
