"""Objects: file modes, sizes and contents at a revision or in the index.

One `git ls-tree -l -z` (or `git ls-files -s -z` for the index) per 500 paths gives modes,
object ids and sizes, unless the tree was preloaded (`preload_listing`: one listing of the
whole tree answers every later lookup of it); contents come from the repository's persistent
`git cat-file --batch` session (one process per `Repo`, reused by every call; identical blobs
read once).
Symlinks are never followed and their link text is never returned as content: see
`BlobEntry` and `read_entries`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass

from checker.errors import GitError
from checker.git.refs import rev_parse
from checker.git.repo import Repo
from checker.git.run import SHA_RE, decode, repo_label, run_git, run_git_glob

_LS_TREE_CHUNK = 500

#: Git file modes (`ls-tree`, `ls-files -s`).
MODE_FILE = "100644"
MODE_EXECUTABLE = "100755"
MODE_SYMLINK = "120000"
MODE_TREE = "040000"


@dataclass(frozen=True)
class BlobEntry:
    """One path looked up at a revision (or in the index).

    `mode` is git's file mode (`100644`, `100755`, `120000` symlink, `160000` submodule,
    `040000` directory); `sha` the object id; `size` the object size in bytes (None when not
    known, e.g. a submodule). `data` is the content of a regular file, and None for a symlink
    (the link target is never returned as if it were the file), a submodule, a directory, or a
    file larger than the caller's `max_bytes` (then `too_large` is True).
    """

    path: str
    mode: str
    sha: str
    size: int | None
    data: bytes | None
    too_large: bool = False

    @property
    def is_symlink(self) -> bool:
        """True for a symbolic link (mode 120000): never followed, `data` is None."""
        return self.mode == MODE_SYMLINK

    @property
    def is_file(self) -> bool:
        """True for a regular (possibly executable) file."""
        return self.mode in (MODE_FILE, MODE_EXECUTABLE)


def cat_object(repo: Repo, sha: str) -> bytes:
    """Content of object `sha` via the repository's persistent `git cat-file --batch` process.

    Raises `GitError` naming the repository and the object when git cannot read it.
    """
    try:
        _, _, _, data = repo.git.get_object_data(sha)
    except ValueError as exc:
        raise GitError(f"{repo_label(repo)}: cannot read object {sha}: {exc}") from exc
    return data


def _fill(
    repo: Repo, entries: dict[str, tuple[str, str, int | None]], max_bytes: int | None
) -> dict[str, BlobEntry]:
    cache: dict[str, bytes] = {}
    out: dict[str, BlobEntry] = {}
    for path, (mode, sha, size) in entries.items():
        data: bytes | None = None
        too_large = False
        if mode in (MODE_FILE, MODE_EXECUTABLE):
            if size is None:
                _, _, size = repo.git.get_object_header(sha)
            if max_bytes is not None and size > max_bytes:
                too_large = True
            else:
                if sha not in cache:
                    cache[sha] = cat_object(repo, sha)
                data = cache[sha]
        out[path] = BlobEntry(
            path=path, mode=mode, sha=sha, size=size, data=data, too_large=too_large
        )
    return out


def preload_listing(repo: Repo, rev: str | None) -> None:
    """Read the whole tree of commit `rev` (`git ls-tree -r -t`) or the whole index (None:
    `git ls-files -s`, stage 0; unmerged paths kept apart) with one git call, and keep it on
    `repo` for the run: `read_entries`, `read_blobs`, `read_index_entries`,
    `read_directory_entries` and `list_files` then answer for that tree from it instead of
    starting git again. For a run that asks many questions of the same one or two trees (the
    `hook`: the index and HEAD). Raises `GitError` for an unknown `rev`."""
    key = rev if rev is None or SHA_RE.fullmatch(rev) else rev_parse(repo, rev)
    if key in repo.listings:
        return
    listing: dict[str, tuple[str, str]] = {}
    if key is None:
        unmerged: list[str] = []
        for record in run_git(repo, "ls-files", "-s", "-z", "--full-name").split(b"\x00"):
            if record:
                meta, _, name = record.partition(b"\t")
                mode, obj, stage = meta.split()
                if stage == b"0":
                    listing[decode(name)] = (mode.decode(), obj.decode())
                else:
                    unmerged.append(decode(name))
        repo.unmerged = unmerged
    else:
        raw = run_git(repo, "ls-tree", "-r", "-t", "-z", "--full-tree", key)
        for record in raw.split(b"\x00"):
            if record:
                meta, _, name = record.partition(b"\t")
                mode, _type, obj = meta.split()
                listing[decode(name)] = (mode.decode(), obj.decode())
    repo.listings[key] = listing


def _children(repo: Repo, key: str | None) -> dict[str, list[str]] | None:
    """The preloaded tree `key`'s paths by parent directory (`""` for the root), built once;
    None when `key` is not preloaded."""
    listing = repo.listings.get(key)
    if listing is None:
        return None
    if key not in repo.listing_dirs:
        by_parent: dict[str, list[str]] = {}
        for path in listing:
            by_parent.setdefault(path.rpartition("/")[0], []).append(path)
        repo.listing_dirs[key] = by_parent
    return repo.listing_dirs[key]


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), _LS_TREE_CHUNK):
        yield items[i : i + _LS_TREE_CHUNK]


def read_entries(
    repo: Repo, rev: str, paths: Sequence[str], *, max_bytes: int | None = None
) -> dict[str, BlobEntry]:
    """Look `paths` up in the tree of commit `rev`: path → `BlobEntry`, missing paths absent.

    One `git ls-tree -l -z` (per 500 paths) gives mode, sha and size; the contents of regular
    files come from one persistent `git cat-file --batch` session (identical blobs read once).
    Symlinks, submodules and directories get an entry with `data=None`, as do files over
    `max_bytes` (`too_large=True`, content not read). Raises `GitError` for an unknown `rev`.
    """
    # A full sha is what `resolve_range`/`staged_changeset` hand on: no second rev-parse.
    sha = rev if SHA_RE.fullmatch(rev) else rev_parse(repo, rev)
    wanted = set(paths)
    if sha in repo.listings:
        return _fill(repo, _exact(repo, sha, wanted), max_bytes)
    found: dict[str, tuple[str, str, int | None]] = {}
    for chunk in _chunks(sorted(wanted)):
        raw = run_git(repo, "ls-tree", "-l", "-z", "--full-tree", sha, "--", *chunk)
        for record in raw.split(b"\x00"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            path = decode(name)
            if path not in wanted:
                continue  # ls-tree lists a directory's children for a directory path
            mode, _type, obj, size = meta.split()
            found[path] = (mode.decode(), obj.decode(), int(size) if size != b"-" else None)
    return _fill(repo, found, max_bytes)


def read_blobs(repo: Repo, rev: str, paths: Sequence[str]) -> dict[str, bytes | None]:
    """Contents of `paths` at commit `rev`: path → bytes, or None for a path that is missing
    at `rev` or is not a regular file (symlink, submodule, directory).

    Every requested path is a key. Use `read_entries` to tell a symlink from a missing file
    (e.g. to report "symlink not followed"). Raises `GitError` for an unknown `rev`.
    """
    entries = read_entries(repo, rev, paths)
    return {p: (entries[p].data if p in entries else None) for p in paths}


def read_index_entries(
    repo: Repo, paths: Sequence[str], *, max_bytes: int | None = None
) -> dict[str, BlobEntry]:
    """Like `read_entries`, for the staged content (the index) of `paths`.

    One `git ls-files -s -z` gives mode and sha (stage 0 only: a path with unresolved merge
    conflicts is absent); contents come from the persistent `cat-file --batch` session.
    """
    wanted = set(paths)
    if None in repo.listings:
        return _fill(repo, _exact(repo, None, wanted), max_bytes)
    found: dict[str, tuple[str, str, int | None]] = {}
    for chunk in _chunks(sorted(wanted)):
        raw = run_git(repo, "ls-files", "-s", "-z", "--full-name", "--", *chunk)
        for record in raw.split(b"\x00"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            path = decode(name)
            mode, obj, stage = meta.split()
            if path in wanted and stage == b"0":
                found[path] = (mode.decode(), obj.decode(), None)
    return _fill(repo, found, max_bytes)


def _exact(repo: Repo, key: str | None, wanted: Collection[str]
           ) -> dict[str, tuple[str, str, int | None]]:  # fmt: skip
    """The entries of the preloaded tree `key` at exactly the paths `wanted`, as the per-call
    commands give them: no directory, and at a commit a symlink's size (`ls-tree -l` gives
    it; a file's is read with its content, and `ls-files -s` gives none)."""
    listing = repo.listings[key]
    found: dict[str, tuple[str, str, int | None]] = {}
    for path in wanted:
        if path in listing:
            mode, obj = listing[path]
            if mode == MODE_TREE:
                continue
            linked = mode == MODE_SYMLINK and key is not None
            size = repo.git.get_object_header(obj)[2] if linked else None
            found[path] = (mode, obj, size)
    return found


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def read_directory_entries(
    repo: Repo,
    rev: str | None,
    directories: Sequence[str],
    suffixes: Sequence[str],
    *,
    max_bytes: int | None = None,
    exclude: Collection[str] = (),
) -> dict[str, BlobEntry]:
    """The files directly inside `directories` (posix, `""` for the root; not their
    subdirectories) whose lower-cased name ends with one of `suffixes`, except the paths in
    `exclude` (already read by the caller; their contents are not read again): path ->
    `BlobEntry`.

    `rev` is a commit (one `git ls-tree -l -z` for every directory at once) or None for the
    index (one `git ls-files -s -z` with a `:(glob)` pathspec per directory and suffix, stage
    0 only). Contents come from the persistent `cat-file --batch` session, as in
    `read_entries` (symlinks and submodules get `data=None`, files over `max_bytes`
    `too_large=True`). Raises `GitError` for an unknown `rev`.
    """
    wanted = set(directories)
    ends = tuple(s.lower() for s in suffixes)
    if not wanted or not ends:
        return {}

    skip = set(exclude)

    def keep(path: str) -> bool:
        parent, _, name = path.rpartition("/")
        return parent in wanted and name.lower().endswith(ends) and path not in skip

    key = rev if rev is None or SHA_RE.fullmatch(rev) else rev_parse(repo, rev)
    if (children := _children(repo, key)) is not None:
        # In the index the `:(glob)` pathspecs below match the lower-cased suffix as it is.
        paths = [p for d in wanted for p in children.get(d, ())
                 if keep(p) and (key is not None or p.endswith(ends))]
        return _fill(repo, _exact(repo, key, paths), max_bytes)
    found: dict[str, tuple[str, str, int | None]] = {}
    if key is None:
        specs = [
            f":(glob){glob_escape(d) + '/' if d else ''}*{suffix}"
            for d in sorted(wanted)
            for suffix in ends
        ]
        raw = run_git_glob(repo, "ls-files", "-s", "-z", "--full-name", "--", *specs)
        for record in raw.split(b"\x00"):
            meta, _, name = record.partition(b"\t")
            path = decode(name)
            if not record or not keep(path):
                continue
            mode, obj, stage = meta.split()
            if stage == b"0":
                found[path] = (mode.decode(), obj.decode(), None)
        return _fill(repo, found, max_bytes)
    specs = [f"{d}/" if d else "./" for d in sorted(wanted)]
    raw = run_git(repo, "ls-tree", "-l", "-z", "--full-tree", key, "--", *specs)
    for record in raw.split(b"\x00"):
        meta, _, name = record.partition(b"\t")
        path = decode(name)
        if not record or not keep(path):
            continue
        mode, _type, obj, size = meta.split()
        if mode.decode() != MODE_TREE:
            found[path] = (mode.decode(), obj.decode(), int(size) if size != b"-" else None)
    return _fill(repo, found, max_bytes)


def tree_files(repo: Repo, rev: str, directory: str, keep: Callable[[str], bool], *,
               max_bytes: int | None = None) -> dict[str, BlobEntry]:
    """The entries directly inside `directory` (posix, `""` for the root) of commit `rev`
    (a full sha) whose name `keep` accepts, as `read_entries` gives them (path -> `BlobEntry`;
    subdirectories left out): read as tree and blob objects through the persistent
    `cat-file --batch` session, so reading many revisions starts no process. {} when
    `directory` is not a directory at `rev`."""
    try:
        _, kind, _, data = repo.git.get_object_data(f"{rev}:{directory}")
    except ValueError:
        return {}
    if kind != "tree":
        return {}
    width = 32 if len(rev) == 64 else 20  # SHA-256 or SHA-1 object ids
    found: dict[str, tuple[str, str, int | None]] = {}
    i = 0
    while i < len(data):
        space = data.index(b" ", i)
        nul = data.index(b"\x00", space)
        mode = data[i:space].decode().rjust(6, "0")
        name = decode(data[space + 1 : nul])
        obj = data[nul + 1 : nul + 1 + width].hex()
        i = nul + 1 + width
        if mode != MODE_TREE and keep(name):
            found[f"{directory}/{name}" if directory else name] = (mode, obj, None)
    return _fill(repo, found, max_bytes)


def list_files(repo: Repo, rev: str | None) -> list[str]:
    """Every file path (posix, sorted) in the tree of commit `rev`, or in the index when `rev`
    is None: one `git ls-tree -r` (`git ls-files`). Raises `GitError` for an unknown `rev`."""
    key = rev if rev is None or SHA_RE.fullmatch(rev) else rev_parse(repo, rev)
    if (listing := repo.listings.get(key)) is not None:
        return sorted([*(p for p, (mode, _) in listing.items() if mode != MODE_TREE),
                       *(repo.unmerged if key is None else ())])
    if key is None:
        raw = run_git(repo, "ls-files", "-z", "--full-name")
    else:
        raw = run_git(repo, "ls-tree", "-r", "-z", "--name-only", "--full-tree", key)
    return sorted(decode(r) for r in raw.split(b"\x00") if r)
