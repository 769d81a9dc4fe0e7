"""Source bytes to text, once, for every parser: UTF-8 (a BOM dropped, CRLF and CR as LF),
with the NHI902 (binary, not UTF-8) and NHI903 (over the size budget) problems a file that
cannot be read gives instead of text."""

from __future__ import annotations

from checker.model import ParseProblem, SourceFile

#: Default byte budget per file (config `budgets.max_file_bytes` overrides it).
MAX_BYTES = 2 * 1024 * 1024


def decode(source: SourceFile, max_bytes: int = MAX_BYTES) -> str | ParseProblem:
    """Return the file's text, or the `ParseProblem` that stops it being read.

    UTF-8 only (a leading BOM is dropped; CRLF/CR line ends become LF). NUL bytes or invalid
    UTF-8 give NHI902; more than `max_bytes` gives NHI903. Messages never quote content.
    """
    raw = source.raw
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
