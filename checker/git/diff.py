"""Diffs: `--name-status -z` records, `-U0` hunk headers and the hunk-body walk, the
paths of patch headers (C-quoted names unescaped), and a walk's patches split per
`(commit, parent)` pair with their hunks' lines (`parse_pairs`, for `replay.py`).

Every patch is produced with `DIFF_OPTS`, so its text does not depend on the user's diff
drivers, textconv, external diff, colour or custom prefixes. Paths are repository-relative,
`/`-separated, decoded with `surrogateescape`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from checker.errors import GitError
from checker.git.repo import Repo
from checker.git.run import decode, run_git
from checker.lazy_patterns import lazy_compile

#: Options that make patch output independent of user and repository configuration.
DIFF_OPTS = (
    # `.gitattributes` in the change itself (`*.tf binary`, `-diff`) must not hide its lines.
    "--text",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--ignore-submodules=none",
)
#: A `-U0` hunk header: `@@ -old_start[,old_count] +new_start[,new_count] @@`.
HUNK_RE = lazy_compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_C_ESCAPE_RE = lazy_compile(rb"\\([0-7]{3}|.)", re.DOTALL)
_C_ESCAPES = {
    b"n": b"\n",
    b"t": b"\t",
    b"a": b"\a",
    b"b": b"\b",
    b"f": b"\f",
    b"r": b"\r",
    b"v": b"\v",
}


def unquote_path(raw: bytes) -> str:
    """A path from a `---`/`+++` header. Git appends a TAB to names containing a space and
    C-quotes names containing `"`, `\\` or control characters (`"b/a\\"b"`, octal bytes)."""
    raw = raw.rstrip(b"\t")
    if len(raw) >= 2 and raw.startswith(b'"') and raw.endswith(b'"'):
        raw = _C_ESCAPE_RE.sub(_c_unescape, raw[1:-1])
    return decode(raw)


def _c_unescape(match: re.Match[bytes]) -> bytes:
    code = match.group(1)
    if len(code) == 3:
        return bytes([int(code, 8) & 0xFF])
    return _C_ESCAPES.get(code, code)


def diff_git_path(line: bytes) -> str | None:
    """The path of a `diff --git a/P b/P` header when both sides name the same path (the
    only unambiguous case: names may contain spaces); None otherwise."""
    rest = line[len(b"diff --git ") :]
    if rest.startswith(b'"'):
        half = rest.split(b'" "', 1)
        if len(half) == 2 and half[0][1:].startswith(b"a/") and half[1].startswith(b"b/"):
            left, right = unquote_path(half[0] + b'"')[2:], unquote_path(b'"' + half[1])[2:]
            return left if left == right else None
        return None
    if (len(rest) - 1) % 2:
        return None
    mid = (len(rest) - 1) // 2
    a, b = rest[:mid], rest[mid + 1 :]
    if (
        a.startswith(b"a/")
        and b.startswith(b"b/")
        and a[2:] == b[2:]
        and rest[mid : mid + 1] == b" "
    ):
        return decode(a[2:])
    return None


def hunk_end(lines: Sequence[bytes], i: int, body: int) -> int:
    """The index after a `-U0` hunk body that starts at `lines[i]` and holds `body` removed
    plus added lines; `\\ No newline at end of file` markers do not count."""
    while body > 0 and i < len(lines):
        if not lines[i].startswith(b"\\"):
            body -= 1
        i += 1
    return i


def _parse_name_status(raw: bytes) -> list[tuple[str, str, str | None]]:
    """`(status letter, path, old_path)` from `git diff --name-status -z` output."""
    tokens = raw.split(b"\x00")
    out: list[tuple[str, str, str | None]] = []
    i = 0
    while i < len(tokens) and tokens[i]:
        status = decode(tokens[i])[:1]
        if status in ("R", "C"):
            old, new = decode(tokens[i + 1]), decode(tokens[i + 2])
            out.append((status, new, old))
            i += 3
        else:
            out.append((status, decode(tokens[i + 1]), None))
            i += 2
    return out


def _parse_added_lines(raw: bytes) -> dict[str, tuple[tuple[int, int], ...]]:
    """Added head-line ranges per path from `git diff -U0` output.

    `@@ -a,b +c,d @@`: `d` omitted means 1; `d == 0` is a pure deletion (no added range).
    Hunk bodies are skipped by count, so an added line that looks like a header is not one.
    Binary files have no hunks and get no entry.
    """
    ranges: dict[str, list[tuple[int, int]]] = {}
    path: str | None = None
    lines = raw.split(b"\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith(b"diff --git "):
            path = None
        elif line.startswith(b"+++ "):
            target = line[4:]
            path = None if target.rstrip(b"\t") == b"/dev/null" else unquote_path(target)
            if path is not None and path.startswith("b/"):
                path = path[2:]
        elif line.startswith(b"@@ "):
            match = HUNK_RE.match(line)
            if match is None:
                continue
            old_count = int(match.group(2)) if match.group(2) is not None else 1
            start = int(match.group(3))
            count = int(match.group(4)) if match.group(4) is not None else 1
            if path is not None and count > 0:
                ranges.setdefault(path, []).append((start, start + count - 1))
            i = hunk_end(lines, i, old_count + count)
    return {p: tuple(r) for p, r in ranges.items()}


def changed_files(
    repo: Repo, diff_args: Sequence[str], paths: Sequence[str] | None
) -> list[tuple[str, str, str | None, tuple[tuple[int, int], ...]]]:
    """The files `git diff <diff_args>` changes (restricted to `paths` unless None), as
    `(status letter, path, old_path or None, added head-line ranges)` in git's order.

    Two git processes: `--name-status -z -M` for status and renames, `-U0` for the added
    lines (none for a deletion). Raises `GitError` when git fails.
    """
    pathspec = ["--", *paths] if paths is not None else ["--"]
    status_raw = run_git(
        repo, "diff", "--name-status", "-z", "-M", *DIFF_OPTS, *diff_args, *pathspec
    )
    patch_raw = run_git(repo, "diff", "-U0", "-M", *DIFF_OPTS, *diff_args, *pathspec)
    added = _parse_added_lines(patch_raw)
    return [
        (status, path, old, () if status == "D" else added.get(path, ()))
        for status, path, old in _parse_name_status(status_raw)
    ]


@dataclass
class FileDiff:
    """One file of one `<commit> <parent>` diff: its names on each side (None: created or
    deleted), whether git called it a rename, its `-U0` hunks `(old_start, old_count,
    new_count, removed lines, added lines)` (lines as printed, with their `-`/`+`), and
    `opaque` when it is not line-based."""

    old: str | None
    new: str | None
    rename: bool = False
    hunks: list[tuple[int, int, int, list[bytes], list[bytes]]] = field(default_factory=list)
    opaque: bool = False


#: `(commit, parent or None, file diffs)`: one pair of the walk, in walk order.
Pair = tuple[str, str | None, list[FileDiff]]


def parse_pairs(raw: bytes, headers: Sequence[tuple[str, str | None]]) -> Iterator[Pair]:
    """Split `-p -U0` output into its pairs. Each pair starts with a `\\x01` header line
    (`%x01%H %P` for `diff-tree --stdin --always`, `%x01%H` for `git log`); `headers` are the
    pairs in the order they were asked (a merge's pairs share their first word, so a header is
    matched by position). Raises `GitError` when the headers do not match them."""
    lines = raw.split(b"\n")
    starts = [i for i, line in enumerate(lines) if line.startswith(b"\x01")]
    if len(starts) != len(headers) or any(not lines[i][1:].startswith(sha.encode())
                                          for i, (sha, _) in zip(starts, headers, strict=True)):
        raise GitError(f"git printed {len(starts)} commit diffs for {len(headers)} asked")
    for n, (commit, parent) in enumerate(headers):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        yield commit, parent, list(_file_diffs(lines, starts[n] + 1, end))


def _file_diffs(lines: Sequence[bytes], i: int, end: int) -> Iterator[FileDiff]:
    """The file diffs of `lines[i:end]`; hunk bodies are read by count, so an added line that
    looks like a header is not one."""
    while i < end:
        line = lines[i]
        i += 1
        if not line.startswith(b"diff --git "):
            continue
        same = diff_git_path(line)
        fd = FileDiff(same, same)
        while i < end and not lines[i].startswith(b"diff --git "):
            line = lines[i]
            i += 1
            if line.startswith(b"@@ "):
                match = HUNK_RE.match(line)
                if match is None:
                    fd.opaque = True
                    break
                old_count = int(match.group(2)) if match.group(2) is not None else 1
                new_count = int(match.group(4)) if match.group(4) is not None else 1
                # `\ No newline at end of file` may follow the removed and the added lines
                body = list(lines[i : i + old_count + new_count])
                if old_count and new_count and body[old_count].startswith(b"\\"):
                    body[old_count:] = lines[i + old_count + 1 : i + old_count + new_count + 1]
                    i += 1
                i += old_count + new_count
                if i < end and lines[i].startswith(b"\\"):
                    i += 1
                fd.hunks.append((int(match.group(1)), old_count, new_count,
                                 body[:old_count], body[old_count:]))
            elif line.startswith(b"--- "):
                target = line[4:].rstrip(b"\t")
                fd.old = None if target == b"/dev/null" else unquote_path(target).removeprefix("a/")
            elif line.startswith(b"+++ "):
                target = line[4:].rstrip(b"\t")
                fd.new = None if target == b"/dev/null" else unquote_path(target).removeprefix("b/")
            elif line.startswith(b"rename from "):
                fd.old, fd.rename = unquote_path(line[12:]), True
            elif line.startswith(b"rename to "):
                fd.new, fd.rename = unquote_path(line[10:]), True
            elif line.startswith((b"Binary files ", b"GIT binary patch", b"copy from ",
                                  b"copy to ")):
                fd.opaque = True
                break
        if line_based(fd):
            yield fd
        elif fd.opaque:
            yield FileDiff(fd.old, fd.new, fd.rename, [], True)


def line_based(fd: FileDiff) -> bool:
    """True for a diff the replay applies: hunks, a rename, a creation or a deletion
    (a mode change alone changes no line)."""
    return not fd.opaque and bool(fd.hunks or fd.rename or fd.old is None or fd.new is None)
