"""Parse a large multi-document YAML file once per distinct document, not once per copy.

Why: a repository's generated install manifests (argo-cd's `manifests/install.yaml` and its
seven siblings, 2 MB and 58 documents each, mostly CustomResourceDefinitions) repeat the same
documents in every variant, and a `check` reads each at base and at head: the same bytes were
composed, parsed and scanned for secrets sixteen times.

How: a file is cut into segments at its `---` lines (a document start marker at column 0
always starts a new YAML document, so what one segment holds never changes how another is
read). A `DocumentMemo` shared by the jobs of one batch remembers, by the SHA-256 of a
segment's bytes:

- segments whose parse gave nothing (no identity, no secret facet, no problem): in any file,
  such a segment is parsed as blank lines (its comment lines and the `---` lines are kept, so
  line numbers, `# nhi-gate:` comments above a marker and every other segment read the same);
- segments that gave something, with what they gave, by path, first line and the bytes of the
  segment before (comments above a marker are metadata): the same bytes at the same place of
  the same path (a file's base and head, where the change is elsewhere in it)
  are blanked too and their results put back in their place. Results carry no revision, so
  they are equal to a fresh parse's.

A file is read this way only when it is at least `MIN_BYTES` long, has two segments or more, is
LF-only text within `checker.decode`'s byte cap and has none of the lines after which a
segment may read differently by what came before it (`_UNSAFE`: a directive, a document end,
a Terraform `variable` header, a private-key header); anything else is parsed whole, as
before. When a parse gives a problem, or a result outside every segment, nothing is learned
from it and, if segments were blanked, the file is parsed again whole: the answer is always
the full parse's
(`tests/test_documents.py` compares both on generated and real manifests).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from checker.decode import MAX_BYTES
from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject, ParseResult, SourceFile

#: Smaller files are parsed whole: the cut and the hashes would cost more than they save.
MIN_BYTES = 128 * 1024

_MARKER = lazy_compile(rb"^---[ \t]*$", re.MULTILINE)
#: Lines after which a segment may read differently by what came before it: a directive, a
#: document end, a Terraform `variable` header (the secret scan keys later `default =` lines by
#: it until a `}` at column 1), a private-key header (its block is read on, across markers).
_UNSAFE = lazy_compile(rb"^(?:%|\.\.\.)|^[ \t]*variable[ \t]+\"|PRIVATE KEY", re.MULTILINE)
_COMMENT = lazy_compile(rb"^[ \t]*#")


@dataclass
class DocumentMemo:
    """What the segments parsed so far in one batch gave (see the module docstring): the
    digests of segments that gave nothing, and by (path, first line, digest) the identities
    of the others. One object is shared by every job of a batch (pickled once with
    it); each process that parses fills its own copy."""

    empty: set[bytes] = field(default_factory=set)
    placed: dict[tuple[str, int, bytes, bytes], tuple[IdentityObject, ...]] = field(
        default_factory=dict)


@dataclass(frozen=True)
class _Segment:
    start: int  # first line (1-based) after its `---` line, or 1
    end: int  # last line, inclusive
    first: int  # byte offset of its first line
    stop: int  # byte offset after its last line (its line break included)
    digest: bytes


def segments(raw: bytes) -> list[_Segment] | None:
    """`raw` cut at its `---` lines into segments (the marker lines belong to none); None when
    the file is not read by segments (see the module docstring)."""
    if len(raw) < MIN_BYTES or len(raw) > MAX_BYTES or b"\r" in raw or _UNSAFE.search(raw):
        return None
    bounds: list[tuple[int, int]] = []  # (byte offset of the segment, byte offset of its marker)
    first = 0
    for marker in _MARKER.finditer(raw):
        bounds.append((first, marker.start()))
        first = marker.end() + 1
    bounds.append((first, len(raw)))
    if len(bounds) < 2:
        return None
    out: list[_Segment] = []
    line = 1
    for begin, stop in bounds:
        count = raw.count(b"\n", begin, stop)
        last = line + count - (1 if stop > begin and raw[stop - 1 : stop] == b"\n" else 0)
        out.append(_Segment(line, max(line, last), begin, stop,
                            hashlib.sha256(raw[begin:stop]).digest()))
        line += count + 1  # the marker line
    return out


def _blanked(raw: bytes, chosen: Sequence[_Segment]) -> bytes:
    """`raw` with the lines of the `chosen` segments emptied, comment lines kept."""
    parts: list[bytes] = []
    at = 0
    for seg in chosen:
        parts.append(raw[at : seg.first])
        body = raw[seg.first : seg.stop]
        parts.append(b"\n".join(x if _COMMENT.match(x) else b"" for x in body.split(b"\n")))
        at = seg.stop
    parts.append(raw[at:])
    return b"".join(parts)


def _where(line: int, segs: Sequence[_Segment]) -> int | None:
    """The index of the segment holding 1-based `line`, else None."""
    lo, hi = 0, len(segs) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if line < segs[mid].start:
            hi = mid - 1
        elif line > segs[mid].end:
            lo = mid + 1
        else:
            return mid
    return None


def _place(path: str, segs: Sequence[_Segment], i: int) -> tuple[str, int, bytes, bytes]:
    """The key of segment `i`'s results: its path, first line, digest and the digest of the
    segment before it (a `# nhi-gate:` comment above a marker is its object's metadata)."""
    return path, segs[i].start, segs[i].digest, segs[i - 1].digest if i else b""


def parse_by_documents(src: SourceFile, parse: Callable[[SourceFile], ParseResult],
                       memo: DocumentMemo) -> ParseResult:  # fmt: skip
    """`parse(src)`, with the segments `memo` knows blanked and their results put back, and
    what the parsed segments gave added to `memo` (see the module docstring). The result equals
    `parse(src)` when `parse` reads each segment on its own and returns its objects in line
    order (the Kubernetes parser; the secret scan): pass each such parse its own memo."""
    segs = segments(src.raw)
    if segs is None:
        return parse(src)
    known: dict[int, tuple[IdentityObject, ...]] = {}
    for i, seg in enumerate(segs):
        if seg.digest in memo.empty:
            known[i] = ()
        elif _place(src.path, segs, i) in memo.placed:
            known[i] = memo.placed[_place(src.path, segs, i)]
    reduced = SourceFile(src.path, _blanked(src.raw, [segs[i] for i in sorted(known)]),
                         src.revision) if known else src
    result = parse(reduced)
    if result.problems:  # learn nothing; answer as the whole file's parse
        return parse(src) if known else result
    objects: dict[int, list[IdentityObject]] = {}
    for obj in result.objects:
        at = _where(obj.location.start_line, segs)
        if at is None or at in known:
            return parse(src) if known else result
        objects.setdefault(at, []).append(obj)
    for i, seg in enumerate(segs):
        if i not in known:
            found = tuple(objects.get(i, ()))
            if found:
                memo.placed[_place(src.path, segs, i)] = found
            else:
                memo.empty.add(seg.digest)
    if not known:
        return result
    return ParseResult(tuple(o for i in range(len(segs))
                             for o in (known[i] if i in known else objects.get(i, ()))))


@dataclass
class SharedDocuments:
    """The memos of one batch: one for the format parser, one for the secret scan (a segment
    may give identities and no facets, or the reverse)."""

    identities: DocumentMemo = field(default_factory=DocumentMemo)
    secrets: DocumentMemo = field(default_factory=DocumentMemo)
