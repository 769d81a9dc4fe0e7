"""Line attribution: which in-range commit introduced each added head line, and which other
in-range commits' lines it replaced (its lineage).

What `git blame base..head` answers, computed cheaply and for the wanted files only (the
caller passes the files nhi-gate reads): for any range, merges included, ONE
`git diff-tree --stdin -p -U0 -M` of every `(commit, parent)` pair, restricted to the wanted
paths and their earlier names (ONE `--diff-filter=R` walk finds those), replayed oldest-first
(`checker.git.replay`; tests check it agrees with blame). Two git processes whatever the
number of commits. Only a file whose history goes through content that is not line-based
(copies, unparsable hunks) gets `git blame --porcelain -L ... base..head -- path`, one per
file, 8 at a time. A range of one commit needs neither.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import BinaryIO

from checker.change import Commit
from checker.git.diff import DIFF_OPTS, FileDiff, parse_pairs
from checker.git.replay import Replay, Runs
from checker.git.repo import Repo
from checker.git.run import run_git
from checker.lazy_patterns import lazy_compile

_BLAME_HEADER_RE = lazy_compile(rb"^([0-9a-f]{40}|[0-9a-f]{64}) \d+ (\d+)(?: (\d+))?$")
_BLAME_WORKERS = 8
#: The line runs of a file (`checker.git.replay.Runs`), under the name the tests know.
_Runs = Runs


def _replay(raw: bytes) -> tuple[dict[str, Runs], set[str]]:
    """Replay `git log -p -U0 -M --reverse --format=%x01%H` of a merge-free range (each
    commit's parent is the one before it).

    Returns path → line origins (and lineages, see `Runs.replace`) at head, plus the paths
    whose history could not be followed line by line (binary contents, copies, unparsable
    headers): those need `git blame`.
    """
    shas = [line[1:].decode("ascii", "replace").split(" ")[0]
            for line in raw.split(b"\n") if line.startswith(b"\x01")]
    chain = list(zip(shas, [None, *shas[:-1]], strict=True))
    replay = Replay([(sha, (parent,) if parent else ()) for sha, parent in chain])
    for commit, parent, diffs in parse_pairs(raw, chain):
        replay.feed(commit, [(parent, diffs)])
    return replay.state(shas[-1]) if shas else {}, replay.opaque


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
    repo: Repo, base_sha: str, head_sha: str, path: str, ranges: tuple[tuple[int, int], ...]
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


@contextlib.contextmanager
def _stdin(pairs: Sequence[tuple[str, str | None]]) -> Iterator[BinaryIO]:
    """`git diff-tree --stdin` input for `pairs`: `<commit> <parent>`, or `<commit>`."""
    with tempfile.TemporaryFile() as feed:
        feed.write("".join(f"{c} {p}\n" if p else f"{c}\n" for c, p in pairs).encode("ascii"))
        feed.seek(0)
        yield feed


def replay_range(repo: Repo, base_sha: str, commits: Sequence[Commit],
                 pathspec: Sequence[str] | None) -> tuple[dict[str, Runs], set[str]]:
    """Line origins at head over the range `commits` of `base..head` (oldest first, head
    last) of the files
    of `pathspec` (None: every file), replayed by `checker.git.replay.Replay` from ONE git
    process whatever the number of commits: `git log -p -U0 -M` for a merge-free range, else
    `git diff-tree --stdin --always -p -U0 -M` of every `(commit, parent)` pair (a merge is
    diffed against each parent). Renames are followed between paths of `pathspec` (give the
    names the files had in the range). Returns `(path → Runs, paths whose history is not
    line-based)`. Raises `GitError` when git fails."""
    paths = ["--", *(pathspec if pathspec is not None else ())]
    if all(len(c.parents) == 1 for c in commits):
        raw = run_git(repo, "log", "-p", "-U0", "-M", "--topo-order", "--reverse", *DIFF_OPTS,
                      "--format=%x01%H", f"{base_sha}..{commits[-1].sha}", *paths)
        parent = {c.sha: c.parents[0] for c in commits}
        asked: list[tuple[str, str | None]] = [  # the commits that touch `pathspec`
            (sha, parent.get(sha)) for sha in (line[1:].decode("ascii", "replace")
                                               for line in raw.split(b"\n")
                                               if line.startswith(b"\x01"))]
    else:
        asked = [(c.sha, p) for c in commits for p in (c.parents or (None,))]
        with _stdin(asked) as feed:
            raw = run_git(repo, "diff-tree", "--stdin", "--always", "--root", "-r", "-p",
                          "-U0", "-M", *DIFF_OPTS, "--format=%x01%H %P", *paths, istream=feed)
    found: dict[str, list[tuple[str | None, list[FileDiff]]]] = {}
    for commit, parent_sha, diffs in parse_pairs(raw, asked):
        found.setdefault(commit, []).append((parent_sha, diffs))
    replay = Replay([(c.sha, c.parents) for c in commits])
    for c in commits:
        replay.feed(c.sha, found.get(c.sha) or [(p, []) for p in (c.parents or (None,))])
    return replay.state(commits[-1].sha), replay.opaque


def attribute_lines(
    repo: Repo,
    base_sha: str,
    head_sha: str,
    commits: Sequence[Commit],
    wanted: Sequence[_Wanted],
    names: Collection[str] | None = None,
) -> tuple[dict[str, Mapping[int, str]], dict[str, Mapping[int, tuple[str, ...]]]]:
    """`(path → head line → origin sha, path → head line → lineage)` for the added lines of
    `wanted`, as `git blame base..head` would attribute them (lines whose origin is base or
    older are absent), with lineage (earlier writers a line replaced, or whose deleted line
    it repeats: `checker.git.replay`).

    `commits` are those of `base..head` (`read_commits`, oldest first, head last),
    `base_sha` an ancestor of `head_sha`. `names`: the other paths the range touches whose
    lines may have moved into a wanted file (its names before a rename, files it absorbed);
    None: every file of the range is replayed. A range of one commit on base needs no git
    call; any other range, merges included, is replayed from ONE git process (`replay_range`),
    whatever its length. Only a file whose history is not line-based (copies, unparsable
    hunks) gets `git blame` (one process per such file). Raises `GitError` when git fails.
    """
    attributed: dict[str, Mapping[int, str]] = {}
    lineages: dict[str, Mapping[int, tuple[str, ...]]] = {}
    to_blame: list[_Wanted] = []
    if wanted and len(commits) == 1 and commits[0].parents == (base_sha,):
        attributed = {path: _every_line(added, commits[0].sha) for path, added in wanted}
    elif wanted and commits:
        pathspec = None if names is None else sorted({*names, *(p for p, _ in wanted)})
        state, opaque = replay_range(repo, base_sha, commits, pathspec)
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
        from concurrent.futures import ThreadPoolExecutor  # logging with it: not in a hook

        workers = min(_BLAME_WORKERS, len(to_blame))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = pool.map(
                lambda item: _blame(repo, base_sha, head_sha, item[0], item[1]), to_blame
            )
            attributed.update(
                (path, result) for (path, _), result in zip(to_blame, results, strict=True)
            )
    return attributed, lineages
