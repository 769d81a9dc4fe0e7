"""Repository paths (posix strings) taken apart as `pathlib.PurePosixPath` does, without
building one: the walk, discovery and module grouping ask for the name or directory of every
file several times, and `PurePosixPath` parses the whole path each time.

A path `PurePosixPath` leaves as written (relative, no empty or `.` segment, no trailing
slash: what git and the walk give) is split on its last `/`; any other is handed to
`PurePosixPath`, so every answer is the one it gives (`tests/test_paths.py`).
"""

from __future__ import annotations

from pathlib import PurePosixPath


def _plain(path: str) -> bool:
    """True when `PurePosixPath(path)` keeps `path` as written: not empty, not absolute, no
    empty (`//`) or `.` segment, no trailing `/`."""
    return bool(path) and path != "." and not path.startswith(("/", "./")) and not (
        path.endswith(("/", "/.")) or "//" in path or "/./" in path)


def path_name(path: str) -> str:
    """`PurePosixPath(path).name`: the last segment (`a/b.tf` -> `b.tf`)."""
    return path.rpartition("/")[2] if _plain(path) else PurePosixPath(path).name


def path_parent(path: str) -> str:
    """`PurePosixPath(path).parent.as_posix()`: the directory, `.` for a file at the root
    (`a/b.tf` -> `a`, `b.tf` -> `.`)."""
    if _plain(path):
        return path.rpartition("/")[0] or "."
    return PurePosixPath(path).parent.as_posix()


def path_parts(path: str) -> tuple[str, ...]:
    """`PurePosixPath(path).parts`: the segments (`a/b.tf` -> `("a", "b.tf")`)."""
    return tuple(path.split("/")) if _plain(path) else PurePosixPath(path).parts
