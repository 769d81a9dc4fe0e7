"""`git grep` for files: which files of a tree or the index hold a fixed string
(`grep_files`, `grep_directories`), answered without starting git when a preloaded listing
(`checker.git.objects.preload_listing`) has few candidates."""

from __future__ import annotations

from collections.abc import Sequence

from checker.errors import GitError
from checker.git.objects import (
    MODE_EXECUTABLE,
    MODE_FILE,
    cat_object,
    glob_escape,
)
from checker.git.repo import Repo
from checker.git.run import SHA_RE, decode, run_git_glob


def grep_directories(
    repo: Repo, rev: str | None, needles: Sequence[str], suffixes: Sequence[str]
) -> list[str]:
    """The sorted directories (posix, `""` for the root) of the files at `rev` (None: the
    index) whose name ends with one of `suffixes` and whose text holds one of the fixed strings
    `needles`: one `git grep -l -F` over the whole tree. [] when there is none (git grep exits
    1) or git cannot search."""
    return sorted({p.rpartition("/")[0] for p in grep_files(repo, rev, needles, suffixes)})


#: A preloaded tree with at most this many files of the asked suffixes, holding at most
#: `_GREP_IN_PROCESS_BYTES` in all, is searched here (`_grep_listing`) instead of by `git grep`.
_GREP_IN_PROCESS_FILES = 64
_GREP_IN_PROCESS_BYTES = 4 << 20
#: Where git looks for a NUL to call a file binary (`-I`): xdiff-interface.c FIRST_FEW_BYTES.
_BINARY_PROBE = 8000


def _candidates(listing: dict[str, tuple[str, str]], ends: tuple[str, ...]
                ) -> list[tuple[str, str]] | None:  # fmt: skip
    """The (path, object id) of the regular files of `listing` whose name ends with one of
    `ends` (a symbolic link is not searched by `git grep`); None when the tree has a
    `.gitattributes` file, which may mark files binary."""
    candidates: list[tuple[str, str]] = []
    for path, (mode, obj) in listing.items():
        if path.rpartition("/")[2] == ".gitattributes":
            return None
        if mode in (MODE_FILE, MODE_EXECUTABLE) and path.endswith(ends):
            candidates.append((path, obj))
    return candidates


def _grep_listing(repo: Repo, rev: str | None, needles: Sequence[str],
                  suffixes: Sequence[str]) -> list[str] | None:  # fmt: skip
    """`grep_files` answered from a preloaded listing of `rev` through the `cat-file` session,
    as `git grep -l -I -F` answers: a symbolic link's target is not searched, and a blob
    holding a NUL in its first 8,000 bytes is binary and skipped. None (ask git) when `rev`
    is not preloaded, when the tree has a `.gitattributes` file (it may mark files binary) or
    unmerged index entries, or when the candidates are more than a few small files."""
    key = rev if rev is None or SHA_RE.fullmatch(rev) else None
    listing = repo.listings.get(key) if rev is None or key is not None else None
    if listing is None or (key is None and repo.unmerged):
        return None
    ends = tuple(suffixes)
    if (key, ends) not in repo.listing_suffixes:
        repo.listing_suffixes[key, ends] = _candidates(listing, ends)
    candidates = repo.listing_suffixes[key, ends]
    if candidates is None or len(candidates) > _GREP_IN_PROCESS_FILES:
        return None
    if sum(repo.git.get_object_header(obj)[2] for _, obj in candidates) > _GREP_IN_PROCESS_BYTES:
        return None
    wanted = [n.encode("utf-8") for n in needles]
    found = []
    for path, obj in candidates:
        data = cat_object(repo, obj)
        if b"\x00" not in data[:_BINARY_PROBE] and any(w in data for w in wanted):
            found.append(path)
    return sorted(found)


def grep_files(
    repo: Repo, rev: str | None, needles: Sequence[str], suffixes: Sequence[str]
) -> list[str]:
    """The sorted paths of the files at `rev` (None: the index) whose name ends with one of
    `suffixes` and whose text holds one of the fixed strings `needles` (`grep_directories`).
    A preloaded tree with few such files is searched without starting git (`_grep_listing`),
    with the same answer."""
    if not needles or not suffixes:
        return []
    in_process = _grep_listing(repo, rev, needles, suffixes)
    if in_process is not None:
        return in_process
    args = ["grep", "-l", "-z", "-I", "-F", *(x for n in needles for x in ("-e", n))]
    args += ["--cached"] if rev is None else [rev]
    args += ["--", *(f":(glob)**/*{glob_escape(s)}" for s in suffixes)]
    try:
        raw = run_git_glob(repo, *args)
    except GitError:
        return []
    found: set[str] = set()
    for record in raw.split(b"\x00"):
        path = decode(record)
        if rev is not None and path.startswith(f"{rev}:"):
            path = path[len(rev) + 1 :]
        if path:
            found.add(path)
    return sorted(found)
