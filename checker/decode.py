"""Source bytes to text, once, for every parser: UTF-8 (a BOM dropped, CRLF and CR as LF),
with the NHI902 (binary, not UTF-8) and NHI903 (over the size budget) problems a file that
cannot be read gives instead of text."""

from __future__ import annotations

import codecs
from dataclasses import replace

from checker.model import ParseProblem, SourceFile

#: Default byte budget per file (config `budgets.max_file_bytes` overrides it).
MAX_BYTES = 2 * 1024 * 1024

#: Byte-order marks of the encodings YAML readers accept besides UTF-8 (YAML 1.2 §5.2; go-yaml,
#: which kubectl uses, reads UTF-16 with a BOM), longest first.
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)


def as_utf8(source: SourceFile) -> SourceFile:
    """`source` with UTF-16 or UTF-32 content that starts with a byte-order mark re-encoded as
    UTF-8 (same lines), else `source` itself, so that a manifest saved as UTF-16, which kubectl
    applies, is classified, pre-filtered and parsed like any other (a silent pass before).
    Content that does not decode with its BOM's codec is left as it is: `decode` reports it.
    """
    for bom, codec in _BOMS:
        if source.raw.startswith(bom):
            try:
                text = source.raw[len(bom):].decode(codec)
            except UnicodeDecodeError:
                return source
            return replace(source, raw=text.encode("utf-8"))
    return source


def decode(source: SourceFile, max_bytes: int = MAX_BYTES) -> str | ParseProblem:
    """Return the file's text, or the `ParseProblem` that stops it being read.

    UTF-8 (a leading BOM is dropped; CRLF/CR line ends become LF), or UTF-16/32 with a BOM
    (`as_utf8`). NUL bytes or invalid UTF-8 give NHI902; more than `max_bytes` gives NHI903.
    Messages never quote content.
    """
    raw = as_utf8(source).raw
    if len(raw) > max_bytes:
        return ParseProblem(
            source.path,
            "NHI903",
            f"{source.path}: {len(raw)} bytes is over the {max_bytes}-byte budget; not analysed",
        )
    if b"\x00" in raw:
        return ParseProblem(source.path, "NHI902", f"{source.path}: binary content (NUL byte)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return ParseProblem(
            source.path,
            "NHI902",
            f"{source.path}: not valid UTF-8 at byte {exc.start} (line {line})",
            line,
        )
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


#: The bytes `nul_padded` reads first: git's own binary test looks as far (xdiff-interface.c).
_PROBE = 8192


def nul_padded(raw: bytes) -> bool:
    """True when `raw` is binary only by its NUL bytes: it holds one, and every other byte is
    valid UTF-8. Git and `decode` call such a file binary, yet a shell sources a dotenv or
    script that ends in `\\0` (bash drops NUL bytes after the first line), so its secret
    material is live. Images, archives and executables hold invalid UTF-8 within their first
    few bytes (a PNG's 0x89, gzip's 0x8b), so the first 8 KiB decide for them at once."""
    if b"\x00" not in raw:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(raw[:_PROBE].replace(b"\x00", b""))
        raw.replace(b"\x00", b"").decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def secret_text(source: SourceFile, max_bytes: int = MAX_BYTES) -> str | ParseProblem:
    """`decode(source)`, or, for a file binary only by its NUL bytes (`nul_padded`), its text
    without them (line numbers kept): what the secret scan reads. The parsers keep `decode`'s
    NHI902 for such a file."""
    text = decode(source, max_bytes)
    raw = source.raw
    if not isinstance(text, ParseProblem) or text.rule_id != "NHI902" or not nul_padded(raw):
        return text
    return decode(replace(source, raw=raw.replace(b"\x00", b"")), max_bytes)


def utf8(blob: bytes) -> str | None:
    """`blob` as UTF-8 text, None when it is not UTF-8: for the policy, gate and steering files
    whose facts are compared at two revisions (a file that cannot be read is a change)."""
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError:
        return None
