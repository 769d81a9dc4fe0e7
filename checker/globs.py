"""Path globs as nhi-gate's config uses them (`exclude`, `environments`): `*` within a path
segment, `**` across segments, `?` one character; a pattern without `/` also matches the file
name alone, as in .gitignore."""

from __future__ import annotations

import functools
import re
from pathlib import PurePosixPath


@functools.lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(path: str, pattern: str) -> bool:
    """True when posix `path` matches `pattern` (`*` within a segment, `**` across segments).

    A pattern without `/` also matches the file name alone (`*.tf`), as in .gitignore.
    """
    if _glob_regex(pattern).match(path):
        return True
    return "/" not in pattern and bool(_glob_regex(pattern).match(PurePosixPath(path).name))
