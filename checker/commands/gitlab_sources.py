"""The GitLab CI include graph of a change: the root `.gitlab-ci.yml` files and the local files
they include, read from git at one revision so that a file pulled in with `include: local` is
parsed as GitLab CI when only it changes (`checker.parsers.gitlab_ci.included_paths`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

from checker import git
from checker.git.repo import Repo
from checker.model import SourceFile
from checker.parsers.gitlab_ci import includes_of

_ROOT = ".gitlab-ci.yml"
#: GitLab's own limit on the files one pipeline includes
#: (https://docs.gitlab.com/ci/yaml/includes/#include-limits: 150).
MAX_FILES = 150


def gitlab_files(repo: Repo, rev: str | None, paths: Sequence[str], max_bytes: int
                 ) -> list[SourceFile]:  # fmt: skip
    """The `.gitlab-ci.yml` files in the directories above the YAML files among `paths`, and
    the local files they include (nested includes too, at most `MAX_FILES`), at commit `rev`
    (None: the index); `paths` themselves are left out (the caller reads them). No git call
    when no path is a YAML file."""
    yaml_paths = [p for p in paths if p.endswith((".yml", ".yaml"))]
    if not yaml_paths:
        return []
    roots = sorted({(f"{d}/{_ROOT}" if d else _ROOT)
                    for p in yaml_paths for d in _directories(p)})
    found = _read(repo, rev, roots, max_bytes)
    queue = [(s, PurePosixPath(s.path).parent) for s in found]
    while queue and len(found) < MAX_FILES:
        src, base = queue.pop(0)
        wanted = [p for p in includes_of(src, base) if p not in {f.path for f in found}]
        for read in _read(repo, rev, wanted[: MAX_FILES - len(found)], max_bytes):
            found.append(read)
            queue.append((read, base))
    skip = set(paths)
    return [f for f in found if f.path not in skip]


def _directories(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(len(parts) + 1)]


def _read(repo: Repo, rev: str | None, paths: Sequence[str], max_bytes: int
          ) -> list[SourceFile]:  # fmt: skip
    if not paths:
        return []
    entries = (git.read_index_entries(repo, paths, max_bytes=max_bytes) if rev is None
               else git.read_entries(repo, rev, paths, max_bytes=max_bytes))
    return [SourceFile(p, e.data, rev) for p, e in sorted(entries.items()) if e.data is not None]
