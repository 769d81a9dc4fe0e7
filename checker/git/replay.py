"""Line origins replayed over a commit graph: what `git blame base..head` answers for every
wanted file at once, merges included, from ONE `git diff-tree --stdin` walk.

Each commit of the range is diffed against each of its parents (`<commit> <parent>` lines on
stdin, `--always` so every pair prints its header even when its diff is empty, restricted to
the wanted paths and the names they had before a rename). The hunks are replayed oldest
first (parents before children) on each file's lines as runs of origins (`_Runs`), the way
`git blame` passes blame (blame.c `pass_blame`):

- a commit whose file is identical to a parent's (first such parent, in parent order) takes
  that parent's lines whole;
- else the lines its first-parent diff leaves unchanged come from the first parent, the rest
  from the first later parent whose diff leaves them unchanged, and the remaining lines are the
  commit's own;
- a parent outside the range is base: its lines are not commits of the range.

Lines are also followed by content (issue 14, "lineage gaps"): two consecutive added lines
whose texts (whitespace collapsed) equal two consecutive lines that in-range commits wrote
and an earlier commit of the range (or the same one) deleted, anywhere (a move to another
file under git's 50% rename threshold, a revert then a re-apply), inherit those writers as
lineage. A pair matches only when one of its lines is specific: a letter or digit, at least
`MIN_MATCH_CHARS` characters, and more than the opening of a block, list or call
(`statement {`, `distinct([`; a quoted label, `resource "aws_iam_user" "x" {`, is specific);
and a line inherits only inside a run of `MIN_RUN_LINES` or more consecutive added lines whose
every pair matches, with `MIN_RUN_SPECIFIC` specific lines. So `}` then `statement {`,
`distinct([` then `]`, or `resources = ["*"]` then `}`, which every policy repeats, hand no
agent's deleted lines to a person's new block, while a moved or re-applied block (a run of
its lines) keeps its writers; and a single line never matches alone, so a deleted agent line
and a new human block that happens to repeat one comment stay apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from checker.git.diff import FileDiff, line_based
from checker.lazy_patterns import lazy_compile

_BASE: str | None = None  # origin of a line that was already there at base
_FAR = 1 << 40  # length of the base content when it is not known (only its prefix is used)
#: `(origin sha or None for base, lineage, count)`: see `_Runs`.
Run = tuple[str | None, tuple[str, ...], int]
#: The shortest line text (whitespace collapsed) that is followed by content.
MIN_MATCH_CHARS = 4
#: The fewest consecutive lines, and specific lines among them, that are followed by content.
MIN_RUN_LINES = 3
MIN_RUN_SPECIFIC = 2
_WORD = lazy_compile(rb"[0-9A-Za-z]")
#: A line that ends by opening a block, list, call or heredoc.
_OPENER = lazy_compile(rb"(?:[\[{(]|<<-?[\"']?[A-Za-z_]+[\"']?)$")


class Runs:
    """A file's lines as runs of `(origin sha or None for base, lineage, count)`, edited hunk
    by hunk. `lineage` are the other in-range commits whose lines the run's lines replaced
    (earliest first, without `origin`); `()` for base lines and plain additions.

    The base content is one run of unknown (huge) length: only its prefix is ever addressed.
    """

    __slots__ = ("runs",)

    def __init__(self, runs: list[Run] | None = None) -> None:
        self.runs: list[Run] = runs if runs is not None else [(_BASE, (), _FAR)]

    def copy(self) -> Runs:
        """An independent copy (runs are edited in place)."""
        return Runs(list(self.runs))

    def _split(self, index: int) -> int:
        """Split so that a run starts at line `index` (0-based); return that run's position."""
        runs = self.runs
        pos = 0
        for i in range(len(runs)):  # a hot loop: no tuple unpacking
            count = runs[i][2]
            if index < pos + count:
                if index == pos:
                    return i
                origin, lineage, _ = runs[i]
                runs[i : i + 1] = [(origin, lineage, index - pos),
                                   (origin, lineage, pos + count - index)]
                return i + 1
            pos += count
        if index > pos:
            runs.append((_BASE, (), index - pos))
        return len(runs)

    def lines(self, start: int, count: int) -> list[tuple[str | None, tuple[str, ...]]]:
        """`(origin, lineage)` of each of the `count` lines at 0-based `start`."""
        out: list[tuple[str | None, tuple[str, ...]]] = []
        end = start + count
        pos = 0
        for origin, lineage, n in self.runs:
            if pos + n > start:
                out.extend([(origin, lineage)] * (min(pos + n, end) - max(pos, start)))
                if pos + n >= end:
                    break
            pos += n
        out.extend([(_BASE, ())] * (count - len(out)))
        return out

    def replace(
        self, start: int, remove: int, origin: str, add: int, order: Mapping[str, int],
        extra: Sequence[frozenset[str]] = (),
    ) -> None:
        """Replace `remove` lines at 0-based `start` by `add` lines from `origin`.

        When the hunk both removes and adds lines (a modification), the added lines inherit
        the in-range origins and lineages of the removed ones as their lineage, sorted by
        `order` (sha → position in the replay, oldest first). Base lines add nothing.
        `extra[k]` (when given) are more writers the k-th added line inherits (its content
        matched a deleted line's, see the module doc).
        """
        lo = self._split(start)
        hi = self._split(start + remove)
        shas: set[str] = set()
        if remove and add and origin:
            shas = {s for o, lin, _ in self.runs[lo:hi] if o is not None for s in (*lin, o)}
        new: list[Run] = []
        for k in range(add):
            inherited = shas | extra[k] if k < len(extra) and extra[k] else shas
            lineage = tuple(sorted(inherited - {origin}, key=order.__getitem__))
            if new and new[-1][1] == lineage:
                new[-1] = (origin, lineage, new[-1][2] + 1)
            else:
                new.append((origin, lineage, 1))
        self.runs[lo:hi] = new
        # join equal neighbours at both edges, so the runs stay as few as the file's origins
        for at in (lo + len(new), lo):
            if 0 < at < len(self.runs) and self.runs[at - 1][:2] == self.runs[at][:2]:
                self.runs[at - 1 : at + 1] = [
                    (*self.runs[at][:2], self.runs[at - 1][2] + self.runs[at][2])]

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


def _norm(line: bytes) -> bytes:
    """A diff line's text (without its `-`/`+`) for content matching: whitespace collapsed."""
    return b" ".join(line[1:].split())


def _specific(norm: bytes) -> bool:
    """True for a line text (whitespace collapsed) that says something of its own: at least
    `MIN_MATCH_CHARS` characters, a letter or digit, and not only the opening of a block,
    list or call (`statement {`, `actions = [`, `distinct([`, `policy = <<EOF`), which every
    file repeats."""
    return (len(norm) >= MIN_MATCH_CHARS and _WORD.search(norm) is not None
            and (_OPENER.search(norm) is None or b'"' in norm))


def _pairs_of(texts: Sequence[bytes]) -> list[tuple[bytes, bytes] | None]:
    """The content key of each pair of consecutive lines (`texts[k]`, `texts[k + 1]`), or
    None for a pair with no `_specific` line: `}` then `statement {`, `distinct([` then `]`,
    `]` then `}` are in every policy and would hand one writer's lines to another's."""
    norms = [_norm(t) for t in texts]
    good = [_specific(n) for n in norms]
    return [(norms[k], norms[k + 1]) if good[k] or good[k + 1] else None
            for k in range(len(norms) - 1)]


#: The writers of a deleted pair of lines: `(first line's, second line's)`.
_Writers = tuple[set[str], set[str]]


class Replay:
    """Line origins of every replayed path at each commit of a range (see the module doc).

    `feed` the pairs of each commit (all of one commit's pairs together, commits oldest
    first); `state(head)` is then path → `Runs` at head. `opaque` are the paths whose history
    is not line-based (binary content, copies, unparsable hunks): they need `git blame`.
    """

    def __init__(self, commits: Sequence[tuple[str, tuple[str, ...]]]) -> None:
        """`commits`: `(sha, parents)` of the range, oldest first."""
        self.order = {sha: n for n, (sha, _) in enumerate(commits)}
        self.children: dict[str, int] = {}
        for _sha, parents in commits:
            for parent in parents:
                self.children[parent] = self.children.get(parent, 0) + 1
        self.states: dict[str, dict[str, Runs]] = {}
        self.opaque: set[str] = set()
        #: content of two consecutive deleted lines → their in-range writers.
        self.deleted: dict[tuple[bytes, bytes], _Writers] = {}

    def _parent_state(self, parent: str | None) -> dict[str, Runs]:
        return self.states.get(parent, {}) if parent is not None else {}

    def _release(self, parent: str | None) -> None:
        """Forget a parent's state once its last child in the range is replayed."""
        if parent is None or parent not in self.children:
            return
        self.children[parent] -= 1
        if self.children[parent] <= 0:
            self.states.pop(parent, None)

    def feed(self, commit: str, pairs: Sequence[tuple[str | None, list[FileDiff]]]) -> None:
        """Replay one commit from its diffs against each parent (`[(None, diffs)]` for a
        commit with no parent)."""
        for _parent, diffs in pairs:
            for fd in diffs:
                if fd.opaque or (fd.rename and fd.old in self.opaque):
                    self.opaque.update(p for p in (fd.old, fd.new) if p)
        first, diffs = pairs[0]
        parent_state = self._parent_state(first)
        if len(pairs) == 1:
            self._pool(parent_state, diffs)
        state = dict(parent_state)
        changed = self._apply(state, parent_state, diffs, commit)
        for path in changed if len(pairs) > 1 else ():
            self._merge_path(state, path, commit, pairs[1:])
        self.states[commit] = state
        for parent, _ in pairs:
            self._release(parent)

    def _pool(self, before: Mapping[str, Runs], diffs: Sequence[FileDiff]) -> None:
        """Remember the in-range writers of the lines `diffs` delete, by content."""
        for fd in diffs:
            if fd.old is None or not line_based(fd):
                continue
            runs = before.get(fd.old)
            if runs is None:
                continue  # base lines are no commit of the range
            for old_start, old_count, _new, removed, _added in fd.hunks:
                if old_count < 2:
                    continue
                writers = [set() if o is None else {o, *lin}
                           for o, lin in runs.lines(old_start - 1, old_count)]
                for k, key in enumerate(_pairs_of(removed[:old_count])):
                    if key is not None and (writers[k] or writers[k + 1]):
                        first, second = self.deleted.setdefault(key, (set(), set()))
                        first.update(writers[k])
                        second.update(writers[k + 1])

    def _inherited(self, added: Sequence[bytes]) -> list[frozenset[str]]:
        """For each of a hunk's `added` lines: the writers of the deleted lines it repeats
        (see the module doc): inside a run of at least `MIN_RUN_LINES` consecutive added lines
        whose every two neighbours repeat two deleted neighbours, holding at least
        `MIN_RUN_SPECIFIC` specific lines (`_specific`)."""
        if not self.deleted or len(added) < MIN_RUN_LINES:
            return []
        keys = _pairs_of(added)
        found = [self.deleted.get(key) if key is not None else None for key in keys]
        specific = [_specific(_norm(t)) for t in added]
        extra: list[set[str]] = [set() for _ in added]
        k = 0
        while k < len(found):
            if found[k] is None:
                k += 1
                continue
            end = k
            while end + 1 < len(found) and found[end + 1] is not None:
                end += 1
            # pairs k..end cover the lines k..end + 1
            if end - k + 2 >= MIN_RUN_LINES and sum(specific[k:end + 2]) >= MIN_RUN_SPECIFIC:
                for j in range(k, end + 1):
                    first, second = found[j] or (set(), set())
                    extra[j].update(first)
                    extra[j + 1].update(second)
            k = end + 1
        return [frozenset(e) for e in extra]

    def _apply(self, state: dict[str, Runs], before: Mapping[str, Runs],
               diffs: Sequence[FileDiff], commit: str) -> list[str]:
        """Apply a single diff's hunks to `state` (a copy of `before`); returns the new-side
        paths whose lines changed."""
        changed: list[str] = []
        for fd in diffs:
            if not line_based(fd):
                continue
            if fd.old is not None and (fd.new is None or fd.rename):
                state.pop(fd.old, None)
        for fd in diffs:
            if not line_based(fd) or fd.new is None:
                continue
            source = fd.old
            runs = (Runs([]) if source is None else before[source].copy() if source in before
                    else Runs())
            for old_start, old_count, new_count, _removed, added in reversed(fd.hunks):
                start = old_start if old_count == 0 else old_start - 1
                runs.replace(start, old_count, commit, new_count, self.order,
                             self._inherited(added))
            state[fd.new] = runs
            changed.append(fd.new)
        return changed

    def _merge_path(self, state: dict[str, Runs], path: str, commit: str,
                    others: Sequence[tuple[str | None, list[FileDiff]]]) -> None:
        """A merge's `path` changed against its first parent: take it whole from the first
        other parent that has it identical, else pass the lines the first parent did not
        explain to the first other parent whose diff leaves them unchanged."""
        candidates: list[Runs] = []
        for parent, diffs in others:
            before = self._parent_state(parent)
            fd = next((d for d in diffs if d.new == path), None)
            if fd is None or (not fd.hunks and fd.rename and not fd.opaque):
                source = path if fd is None else fd.old
                state[path] = (before[source].copy() if source in before else Runs())
                return
            if not line_based(fd):
                continue
            runs = (Runs([]) if fd.old is None else before[fd.old].copy() if fd.old in before
                    else Runs())
            for old_start, old_count, new_count, _r, _a in reversed(fd.hunks):
                start = old_start if old_count == 0 else old_start - 1
                runs.replace(start, old_count, "", new_count, self.order)  # "": not this parent
            candidates.append(runs)
        if not candidates:
            return
        merged: list[Run] = []
        pos = 0
        for origin, lineage, count in state[path].runs:
            if origin != commit:
                merged.append((origin, lineage, count))
                pos += count
                continue
            columns = [c.lines(pos, count) for c in candidates]
            for k in range(count):
                line = next((col[k] for col in columns if col[k][0] != ""), (origin, lineage))
                if merged and merged[-1][:2] == line:
                    merged[-1] = (*line, merged[-1][2] + 1)
                else:
                    merged.append((*line, 1))
            pos += count
        state[path] = Runs(merged)

    def state(self, head: str) -> dict[str, Runs]:
        """path → line origins at commit `head` (fed before)."""
        return self.states.get(head, {})
