"""AI authorship notes (Git AI Standard v3.0.0: checker/provenance/ai_notes.py parses them):
the raw `refs/notes/ai` notes of commits, and the diffs that carry an older commit's line
numbers to head.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

from checker.change import FileDelta
from checker.git.diff import DIFF_OPTS, HUNK_RE, diff_git_path, hunk_end, unquote_path
from checker.git.objects import cat_object
from checker.git.repo import Repo
from checker.git.run import SHA_RE, decode, run_git
from checker.lazy_patterns import lazy_compile

#: Where git-ai keeps its authorship logs, one note per commit (Git AI Standard v3.0.0 §1.1,
#: https://github.com/git-ai-project/git-ai/blob/main/specs/git_ai_standard_v3.0.0.md).
AI_NOTES_REF = "refs/notes/ai"
#: Notes larger than this are not read (`read_ai_notes` maps them to None).
MAX_NOTE_BYTES = 4 * 1024 * 1024
_TREE_PAIR_RE = lazy_compile(rb"^([0-9a-f]{40}|[0-9a-f]{64}) ([0-9a-f]{40}|[0-9a-f]{64})$")


def read_ai_notes(
    repo: Repo, shas: Sequence[str], *, max_bytes: int = MAX_NOTE_BYTES,
    ref: str = AI_NOTES_REF,
) -> dict[str, bytes | None]:
    """The `refs/notes/ai` note of each commit of `shas` that has one: sha → the note's raw
    bytes, or None when the note is over `max_bytes` or is not a blob (not read).

    Empty when the ref is absent (CI checkouts do not fetch notes: `git fetch origin
    refs/notes/ai:refs/notes/ai`). Notes on other objects and commits are ignored. Cost: ONE
    `git notes --ref=refs/notes/ai list` (`<note blob> <annotated object>` per line, every note
    of the ref) plus the persistent `cat-file --batch` session for the wanted blobs.
    Raises `GitError` when the ref exists but git cannot list it (e.g. not a notes tree).
    `ref` reads another notes ref the same way (`refs/notes/agent-trace`).
    """
    wanted = set(shas)
    if not wanted:
        return {}
    out: dict[str, bytes | None] = {}
    for line in run_git(repo, "notes", f"--ref={ref}", "list").split(b"\n"):
        parts = line.split()
        if len(parts) != 2 or not all(SHA_RE.fullmatch(decode(p)) for p in parts):
            continue
        blob, target = decode(parts[0]), decode(parts[1])
        if target not in wanted:
            continue
        _, kind, size = repo.git.get_object_header(blob)
        is_blob = (kind.decode() if isinstance(kind, bytes) else kind) == "blob"  # bytes at runtime
        out[target] = cat_object(repo, blob) if is_blob and size <= max_bytes else None
    return out


def diffs_to_head(
    repo: Repo, head_sha: str, shas: Sequence[str], paths: Sequence[str]
) -> dict[str, tuple[FileDelta, ...]]:
    """For each commit of `shas` other than `head_sha`: the files among `paths` that differ
    between it and head (`-M`: a rename is one delta; give both names), as `FileDelta`s. A
    file absent from a commit's deltas is identical at that commit and at head.

    Lets a line number in an older commit's version of a file be carried to head. Cost: ONE
    `git rev-parse <sha>^{tree}...` and ONE `git diff-tree --stdin -p -U0 -M` fed the
    `<tree> <head tree>` pairs (commits with the same tree share one diff). Raises `GitError`
    when git fails.
    """
    todo = [s for s in dict.fromkeys(shas) if s != head_sha]
    if not todo or not paths:
        return {}
    trees = decode(run_git(repo, "rev-parse", *(f"{s}^{{tree}}" for s in [head_sha, *todo])))
    head_tree, *commit_trees = trees.split()
    tree_of = dict(zip(todo, commit_trees, strict=True))
    with tempfile.TemporaryFile() as pairs:
        pairs.write("".join(f"{t} {head_tree}\n" for t in dict.fromkeys(commit_trees)).encode())
        pairs.seek(0)
        raw = run_git(
            repo, "diff-tree", "--stdin", "-r", "-p", "-U0", "-M", *DIFF_OPTS,
            "--", *sorted(set(paths)), istream=pairs,
        )  # fmt: skip
    blocks = _parse_tree_diffs(raw)
    return {s: tuple(blocks.get(t, ())) for s, t in tree_of.items()}


def _parse_tree_diffs(raw: bytes) -> dict[str, list[FileDelta]]:
    """`git diff-tree --stdin -p -U0` output for `<tree> <head tree>` pairs → older tree →
    its deltas. Each pair's block starts with its `<tree> <tree>` line (printed even when the
    diff is empty); hunk bodies are skipped by count, so no content line is read as a header."""
    out: dict[str, list[FileDelta]] = {}
    deltas: list[FileDelta] | None = None
    lines = raw.split(b"\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        pair = _TREE_PAIR_RE.match(line)
        if pair:
            deltas = out.setdefault(decode(pair.group(1)), [])
            continue
        if deltas is None or not line.startswith(b"diff --git "):
            continue
        old: str | None = diff_git_path(line)
        new: str | None = old
        hunks: list[tuple[int, int, int, int]] = []
        opaque = False
        while i < len(lines) and not (
            lines[i].startswith(b"diff --git ") or _TREE_PAIR_RE.match(lines[i])
        ):
            line = lines[i]
            i += 1
            if line.startswith(b"@@ "):
                match = HUNK_RE.match(line)
                if match is None:
                    opaque = True
                    break
                old_count = int(match.group(2)) if match.group(2) is not None else 1
                new_count = int(match.group(4)) if match.group(4) is not None else 1
                hunks.append((int(match.group(1)), old_count, int(match.group(3)), new_count))
                i = hunk_end(lines, i, old_count + new_count)
            elif line.startswith(b"--- "):
                target = line[4:].rstrip(b"\t")
                old = None if target == b"/dev/null" else unquote_path(target).removeprefix("a/")
            elif line.startswith(b"+++ "):
                target = line[4:].rstrip(b"\t")
                new = None if target == b"/dev/null" else unquote_path(target).removeprefix("b/")
            elif line.startswith(b"rename from "):
                old = unquote_path(line[12:])
            elif line.startswith(b"rename to "):
                new = unquote_path(line[10:])
            elif line.startswith((b"Binary files ", b"GIT binary patch")):
                opaque = True
        deltas.append(FileDelta(old, new, tuple(hunks), opaque))
    return out
