"""Line attribution: which in-range commit introduced each added head line, and which other
in-range commits' lines it replaced (its lineage).

What `git blame base..head` answers, computed cheaply: for a merge-free range, ONE
`git log -p -U0 -M --reverse` whose hunks are replayed oldest-first to track each line's
origin (tests check it agrees with blame); for a range with merge commits, or a file whose
history goes through binary content, one `git blame --porcelain -L ... base..head -- path` per
file (git cannot blame several paths in one process), 8 at a time. A range of one commit needs
neither.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import git

from checker.change import Commit
from checker.git.diff import DIFF_OPTS, HUNK_RE, diff_git_path, hunk_end, unquote_path
from checker.git.run import run_git

_BLAME_HEADER_RE = re.compile(rb"^([0-9a-f]{40}|[0-9a-f]{64}) \d+ (\d+)(?: (\d+))?$")
_BLAME_WORKERS = 8
_BASE: str | None = None  # origin of a line that was already there at base
_FAR = 1 << 40  # length of the base content when it is not known (only its prefix is used)
#: `(origin sha or None for base, lineage, count)`: see `_Runs`.
_Run = tuple[str | None, tuple[str, ...], int]


class _Runs:
    """A file's lines as runs of `(origin sha or None for base, lineage, count)`, edited hunk
    by hunk. `lineage` are the other in-range commits whose lines the run's lines replaced
    (earliest first, without `origin`); `()` for base lines and plain additions.

    The base content is one run of unknown (huge) length: only its prefix is ever addressed.
    """

    __slots__ = ("runs",)

    def __init__(self, runs: list[_Run] | None = None) -> None:
        self.runs: list[_Run] = runs if runs is not None else [(_BASE, (), _FAR)]

    def _split(self, index: int) -> int:
        """Split so that a run starts at line `index` (0-based); return that run's position."""
        pos = 0
        for i, run in enumerate(self.runs):
            if index == pos:
                return i
            if index < pos + run[2]:
                head = index - pos
                self.runs[i : i + 1] = [(run[0], run[1], head), (run[0], run[1], run[2] - head)]
                return i + 1
            pos += run[2]
        if index > pos:
            self.runs.append((_BASE, (), index - pos))
        return len(self.runs)

    def replace(
        self, start: int, remove: int, origin: str, add: int, order: Mapping[str, int]
    ) -> None:
        """Replace `remove` lines at 0-based `start` by `add` lines from `origin`.

        When the hunk both removes and adds lines (a modification), the added lines inherit
        the in-range origins and lineages of the removed ones as their lineage, sorted by
        `order` (sha → position in the replay, oldest first). Base lines add nothing.
        """
        lo = self._split(start)
        hi = self._split(start + remove)
        lineage: tuple[str, ...] = ()
        if remove and add:
            shas = {s for o, lin, _ in self.runs[lo:hi] if o is not None for s in (*lin, o)}
            shas.discard(origin)
            lineage = tuple(sorted(shas, key=order.__getitem__))
        self.runs[lo:hi] = [(origin, lineage, add)] if add else []

    def origins(self, lines: set[int]) -> dict[int, str]:
        """1-based line → origin sha for `lines` whose origin is in the range."""
        out: dict[int, str] = {}
        pos = 0
        for origin, _lineage, count in self.runs:
            if origin is not None:
                out.update((n, origin) for n in range(pos + 1, pos + count + 1) if n in lines)
            pos += count
        return out

    def lineages(self, lines: set[int]) -> dict[int, tuple[str, ...]]:
        """1-based line → lineage for `lines` whose lineage is not empty."""
        out: dict[int, tuple[str, ...]] = {}
        pos = 0
        for _origin, lineage, count in self.runs:
            if lineage:
                out.update((n, lineage) for n in range(pos + 1, pos + count + 1) if n in lines)
            pos += count
        return out


def _replay(raw: bytes) -> tuple[dict[str, _Runs], set[str]]:
    """Replay `git log -p -U0 -M --reverse --format=%x01%H` of a merge-free range.

    Returns path → line origins (and lineages, see `_Runs.replace`) at head, plus the paths
    whose history could not be followed line by line (binary contents, copies, unparsable
    headers): those need `git blame`.
    """
    state: dict[str, _Runs] = {}
    opaque: set[str] = set()
    order: dict[str, int] = {}
    lines = raw.split(b"\n")
    sha = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith(b"\x01"):
            sha = line[1:].decode("ascii", "replace")
            order.setdefault(sha, len(order))
            continue
        if not line.startswith(b"diff --git "):
            continue
        same = diff_git_path(line)
        old: str | None = same
        new: str | None = same
        created = deleted = rename = False
        hunks: list[tuple[int, int, int]] = []
        while i < len(lines) and not lines[i].startswith((b"diff --git ", b"\x01")):
            line = lines[i]
            i += 1
            if line.startswith(b"@@ "):
                match = HUNK_RE.match(line)
                if match is None:
                    opaque.update(p for p in (old, new) if p)
                    hunks = []
                    break
                old_start = int(match.group(1))
                old_count = int(match.group(2)) if match.group(2) is not None else 1
                new_count = int(match.group(4)) if match.group(4) is not None else 1
                hunks.append((old_start, old_count, new_count))
                i = hunk_end(lines, i, old_count + new_count)
            elif line.startswith(b"--- "):
                target = line[4:].rstrip(b"\t")
                created = target == b"/dev/null"
                old = None if created else unquote_path(target).removeprefix("a/")
            elif line.startswith(b"+++ "):
                target = line[4:].rstrip(b"\t")
                deleted = target == b"/dev/null"
                new = None if deleted else unquote_path(target).removeprefix("b/")
            elif line.startswith(b"rename from "):
                old, rename = unquote_path(line[12:]), True
            elif line.startswith(b"rename to "):
                new, rename = unquote_path(line[10:]), True
            elif line.startswith(
                (b"Binary files ", b"GIT binary patch", b"copy from ", b"copy to ")
            ):
                opaque.update(p for p in (old, new) if p)
                hunks = []
                break
        if rename and old in opaque and new is not None:
            opaque.add(new)
        if not hunks and not rename:
            continue  # mode change, binary, or nothing line-based
        if deleted:
            if old is not None:
                state.pop(old, None)
            continue
        if new is None:
            continue
        source = old or new
        runs = _Runs([]) if created else state.pop(source) if source in state else _Runs()
        for old_start, old_count, new_count in reversed(hunks):
            start = old_start if old_count == 0 else old_start - 1
            runs.replace(start, old_count, sha, new_count, order)
        state[new] = runs
    return state, opaque


def _every_line(ranges: tuple[tuple[int, int], ...], sha: str) -> dict[int, str]:
    return {n: sha for lo, hi in ranges for n in range(lo, hi + 1)}


def _parse_blame(raw: bytes, wanted: set[int]) -> dict[int, str]:
    """`git blame --porcelain` output → head line → sha, without lines of `boundary` commits."""
    boundary: set[str] = set()
    out: dict[int, str] = {}
    current: str | None = None
    current_lines: list[int] = []
    for line in raw.split(b"\n"):
        if line.startswith(b"\t"):
            continue
        match = _BLAME_HEADER_RE.match(line)
        if match:
            current = match.group(1).decode("ascii")
            final = int(match.group(2))
            current_lines = [final]
            if current not in boundary and final in wanted:
                out[final] = current
            continue
        if line == b"boundary" and current is not None:
            boundary.add(current)
            for n in current_lines:
                out.pop(n, None)
    return out


def _line_ranges_args(ranges: Sequence[tuple[int, int]]) -> list[str]:
    args: list[str] = []
    for lo, hi in ranges:
        args.extend(("-L", f"{lo},{hi}"))
    return args


def _blame(
    repo: git.Repo, base_sha: str, head_sha: str, path: str, ranges: tuple[tuple[int, int], ...]
) -> dict[int, str]:
    wanted = {n for lo, hi in ranges for n in range(lo, hi + 1)}
    raw = run_git(
        repo,
        "blame",
        "--porcelain",
        *_line_ranges_args(ranges),
        f"{base_sha}..{head_sha}",
        "--",
        path,
    )
    return _parse_blame(raw, wanted)


#: `(path, added head-line ranges)` of one file to attribute.
_Wanted = tuple[str, tuple[tuple[int, int], ...]]


def attribute_lines(
    repo: git.Repo,
    base_sha: str,
    head_sha: str,
    commits: Sequence[Commit],
    wanted: Sequence[_Wanted],
) -> tuple[dict[str, Mapping[int, str]], dict[str, Mapping[int, tuple[str, ...]]]]:
    """`(path → head line → origin sha, path → head line → lineage)` for the added lines of
    `wanted`, as `git blame base..head` would attribute them (lines whose origin is base or
    older are absent).

    `commits` are those of `base..head` (`read_commits`), `base_sha` an ancestor of
    `head_sha`. A range of one commit on base needs no git call; a merge-free range is
    replayed from ONE `git log -p`; otherwise, and for files whose history is not
    line-based (binary, copies), `git blame` runs per file. Only the replay fills lineages.
    Raises `GitError` when git fails.
    """
    attributed: dict[str, Mapping[int, str]] = {}
    lineages: dict[str, Mapping[int, tuple[str, ...]]] = {}
    to_blame: list[_Wanted] = []
    if wanted and len(commits) == 1 and commits[0].parents == (base_sha,):
        attributed = {path: _every_line(added, commits[0].sha) for path, added in wanted}
    elif wanted and all(len(c.parents) == 1 for c in commits):
        state, opaque = _replay(
            run_git(
                repo,
                "log",
                "-p",
                "-U0",
                "-M",
                "--topo-order",
                "--reverse",
                *DIFF_OPTS,
                "--format=%x01%H",
                f"{base_sha}..{head_sha}",
                "--",
            )
        )
        for path, added in wanted:
            if path in state and path not in opaque:
                wanted_lines = {n for lo, hi in added for n in range(lo, hi + 1)}
                attributed[path] = state[path].origins(wanted_lines)
                lineages[path] = state[path].lineages(wanted_lines)
            else:
                to_blame.append((path, added))
    else:
        to_blame = list(wanted)
    if to_blame:
        workers = min(_BLAME_WORKERS, len(to_blame))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = pool.map(
                lambda item: _blame(repo, base_sha, head_sha, item[0], item[1]), to_blame
            )
            attributed.update(
                (path, result) for (path, _), result in zip(to_blame, results, strict=True)
            )
    return attributed, lineages
