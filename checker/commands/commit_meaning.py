"""What one in-range commit did to one identity's meaning, for `check` over long ranges
(`provenance.writers`): the identity's files parsed at the commit and at each parent and
compared with the engine's own `cosmetic()` (or `repinned()`: a CI credential step whose
action moved to another commit SHA and nothing else; or `same_meaning()`: an identity without
a source digest, a workflow job's OIDC token, that reads the same).

Only what that identity reads is read at each revision: for a Terraform identity, the files of
its module directory (and its `-var-file` subdirectories, `envs/`, ...) and the documents its
`.tf` files read with `file()`/`templatefile()`, of which only the files that may hold its
block (its `resource "type" "name" {` header; both labels in `.tf.json`) are parsed, the
rest being its module values; for any other file, that file alone, at the same path. A
revision's listing is read once per module directory (trees and blobs through the
repository's `cat-file` session: no git process per revision), and a parse is kept per set of
(path, content) so an unchanged module is parsed once, on the `ParseWorker` when there is one
(its parsers are loaded already). Secret material is not scanned (identities only).

Fail closed: `UNKNOWN` for a merge with parents that disagree, a root commit, a file that did
not parse or could not be read, an identity that reads a value from a file not read here (at
head), a rendered object, a local module's identity read through its call, or a
secret-material facet; `ABSENT` for an identity not found at the commit (not created
yet, or moved to another path or address later). `provenance.writers` keeps such a commit as a
writer; only `COSMETIC` leaves it out.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from checker import git
from checker.change import ChangeSet
from checker.errors import GitError
from checker.git import BlobEntry
from checker.git.repo import Repo
from checker.model import IdentityObject, SourceFile
from checker.pipeline import Parsed, start_parse
from checker.policy.catalogue import Catalogue
from checker.policy.config import Config
from checker.provenance.attribution import (
    ABSENT,
    CHANGED,
    COSMETIC,
    CREATED,
    UNKNOWN,
    cosmetic,
    repinned,
    same_meaning,
)
from checker.sources.modules import referenced_files, var_file_directories
from checker.sources.worker import ParseWorker

_TERRAFORM = (".tf", ".tofu", ".tf.json", ".tofu.json")
_MODULE = (*_TERRAFORM, ".tfvars", ".tfvars.json")
#: An identity that could not be looked for (its files unreadable or not parsed).
_ERROR = object()


def _holder(address: str) -> Callable[[str, bytes], bool] | None:
    """A test of whether a Terraform file (path, bytes) may hold the block a Terraform address
    names (`data.aws_iam_policy_document.x`, `aws_iam_role.this["a"]`): its header
    (`resource "aws_iam_role" "this" {`, labels quoted or not) in HCL, both labels in JSON.
    None for a module call's address."""
    parts = address.split("[", 1)[0].split(".")
    keyword = b"resource"
    if parts[0] == "data":
        parts, keyword = parts[1:], b"data"
    if len(parts) != 2 or parts[0] == "module":
        return None
    kind, name = (part.encode() for part in parts)
    header = re.compile(rb'(?m)^\s*' + keyword + rb'\s+"?' + re.escape(kind) + rb'"?\s+"?'
                        + re.escape(name) + rb'"?\s*\{')

    def holds(path: str, raw: bytes) -> bool:
        if path.endswith(".json"):
            return kind in raw and name in raw
        return header.search(raw) is not None

    return holds


class TreeMeaning:
    """`provenance.attribution.CommitMeaning` for `check`: see the module doc. Every answer,
    listing and parse is kept for the run."""

    def __init__(self, repo: Repo, changeset: ChangeSet, config: Config,
                 catalogue: Catalogue, worker: ParseWorker | None = None) -> None:
        self.repo, self.config, self.catalogue, self.worker = repo, config, catalogue, worker
        self.parents = {c.sha: c.parents for c in changeset.commits}
        #: Commit -> the paths it touches, from the ChangeSet's one `git log --name-only`
        #: walk (first-parent commits; another commit's are listed by git when asked).
        self.touched: dict[str, list[str]] = {}
        self.side_read = False
        self.range = f"{changeset.base}..{changeset.head}" if changeset.base else str(
            changeset.head)
        for path, shas in changeset.touched.items():
            for sha in shas:
                self.touched.setdefault(sha, []).append(path)
        self.answers: dict[tuple[str, str, str], str] = {}
        self.listed: dict[tuple[str, str], Mapping[str, BlobEntry]] = {}
        self.parsed: dict[tuple[tuple[str, bytes], ...], Parsed] = {}

    def __call__(self, obj: IdentityObject, sha: str) -> str:
        """How commit `sha` changed `obj` (the identity at head): `COSMETIC`, `CREATED`,
        `CHANGED`, `ABSENT` or `UNKNOWN`."""
        key = (obj.location.path, obj.address, sha)
        if key not in self.answers:
            try:
                self.answers[key] = self._judge(obj, sha)
            except GitError:
                self.answers[key] = UNKNOWN
        return self.answers[key]

    def _judge(self, obj: IdentityObject, sha: str) -> str:
        parents = self.parents.get(sha, ())
        if (not parents or obj.derived_from is not None or obj.rendered_by
                or any(name.endswith(" call") for name, _ in obj.inputs)):
            return UNKNOWN
        after = self._find(obj, sha)
        if after is None:
            return ABSENT
        if after is _ERROR:
            return UNKNOWN
        assert isinstance(after, IdentityObject)
        before = [self._find(obj, parent) for parent in parents]
        if any(b is _ERROR for b in before):
            return UNKNOWN
        found = [b for b in before if isinstance(b, IdentityObject)]
        if not found and len(parents) == 1 and not obj.location.path.endswith(_TERRAFORM):
            # moved in from another file of the commit? (a Terraform one: its module is read)
            moved = self._moved_from(obj, sha, parents[0])
            if moved is _ERROR:
                return UNKNOWN
            found = [moved] if isinstance(moved, IdentityObject) else []
        if not found:
            return CREATED
        if len(found) == len(before) and all(
                cosmetic(after, b) or repinned(after, b) or same_meaning(after, b)
                for b in found):
            return COSMETIC
        return CHANGED if len(parents) == 1 else UNKNOWN

    def _find(self, obj: IdentityObject, rev: str) -> IdentityObject | object | None:
        """`obj` as it reads at `rev` (its module's address, or its path and address), None
        when it is not there, `_ERROR` when its files could not be read or parsed."""
        path = obj.location.path
        if path.endswith(_TERRAFORM):
            holds = _holder(obj.address)
            if holds is None:
                return _ERROR
            directory = posixpath.dirname(path)
            entries = self._module(rev, directory)
            read = {directory, *var_file_directories([directory])}
            if any(posixpath.dirname(w.path) not in read and w.path not in entries
                   for _, w in obj.inputs):
                return _ERROR  # it reads a value from a file not read here
            wanted = [p for p, e in entries.items() if p.endswith(_TERRAFORM)
                      and posixpath.dirname(p) == directory
                      and (e.data is None or holds(p, e.data))]
            place = directory
        else:
            if any(w.path != path for _, w in obj.inputs):
                return _ERROR  # its meaning comes from another file too
            entries = self._file(rev, path)
            wanted, place = list(entries), None
        if any(entries[p].data is None for p in wanted):
            return _ERROR  # a symlink, a submodule, a file over the size budget
        if not wanted:
            return None
        parsed = self._parse([(p, entries[p]) for p in wanted],
                             [(p, e) for p, e in entries.items() if p not in wanted])
        if any(problem.path in wanted for problem in parsed.problems):
            return _ERROR
        matches = [o for o in parsed.objects if o.address == obj.address
                   and o.derived_from is None and (
                       o.location.path == path if place is None
                       else posixpath.dirname(o.location.path) == place)]
        if len(matches) > 1:
            return _ERROR
        return matches[0] if matches else None

    def _moved_from(self, obj: IdentityObject, sha: str, parent: str
                    ) -> IdentityObject | object | None:  # fmt: skip
        """`obj` as it read at `parent` in another of the range's changed files that commit
        `sha` touched (a manifest moved to `.json`, a block moved out of its module's files:
        another format,
        the same identity), None when none held it, `_ERROR` when one could not be read.
        Looked for in each such file, matched by address, kind and platform (a Terraform
        identity's module files are read by `_find` already)."""
        if sha not in self.touched and not self.side_read:  # a commit of a merged branch:
            self.side_read = True  # every commit's own paths, in ONE `git log` for the run
            raw = self.repo.git.log("--no-renames", "--name-only", "-z", "--no-merges",
                                    "--format=%x1e%H", self.range)
            for record in raw.split("\x1e")[1:]:  # `<sha>\0\n<path>\0<path>\0`
                sha_, *paths = [t.strip("\n") for t in record.split("\0")]
                self.touched.setdefault(sha_, []).extend(p for p in paths if p)
        for path in sorted({p for p in self.touched.get(sha, ()) if p != obj.location.path}):
            if not path.endswith((".yaml", ".yml", ".json")) or path.endswith(_TERRAFORM):
                continue
            probe = replace(obj, location=replace(obj.location, path=path), inputs=())
            found = self._find(probe, parent)
            if found is _ERROR:
                return _ERROR
            if isinstance(found, IdentityObject) and (found.kind, found.platform) == (
                    obj.kind, obj.platform):
                return found
        return None

    def earlier_writers(self, obj: IdentityObject, sha: str) -> tuple[str, ...]:
        """The in-range commits before `sha` that created or changed `obj` in the file it was
        in at `sha`'s parent (its own path or module, or the file `sha` moved it from; a
        commit that cannot be judged counts), newest first: who wrote it before a commit that
        only moved it. () when it was not there or cannot be read (a merge, a root commit)."""
        parents = self.parents.get(sha, ())
        if len(parents) != 1:
            return ()
        try:
            before = self._find(obj, parents[0])
            if not isinstance(before, IdentityObject):
                before = self._moved_from(obj, sha, parents[0])
            if not isinstance(before, IdentityObject):
                return ()
            log = self.repo.git.log("--format=%H", parents[0], "--",
                                    before.location.path)
        except GitError:
            return ()
        # Only those that wrote what it means there (created or changed it; not known: kept),
        # not one that edited something else in that file.
        probe = replace(obj, location=before.location, inputs=before.inputs)
        return tuple(s for s in log.split() if s in self.parents
                     and self(probe, s) in (CREATED, CHANGED, UNKNOWN))

    def _file(self, rev: str, path: str) -> Mapping[str, BlobEntry]:
        """The file `path` at `rev` (absent when it is not there), read once per run."""
        key = (rev, "\0" + path)  # never a directory's key
        if key not in self.listed:
            directory, _, name = path.rpartition("/")
            self.listed[key] = git.tree_files(self.repo, rev, directory, name.__eq__,
                                              max_bytes=self.config.max_file_bytes)
        return self.listed[key]

    def _module(self, rev: str, directory: str) -> Mapping[str, BlobEntry]:
        """The module files of `directory` at `rev` (its own, its `-var-file` subdirectories'
        and the documents its `.tf` files read), by path. Trees and blobs come through the
        repository's `cat-file` session: no git process per revision."""
        key = (rev, directory)
        if key not in self.listed:
            limit = self.config.max_file_bytes

            def module_file(name: str) -> bool:
                return name.lower().endswith(_MODULE)

            found: dict[str, BlobEntry] = {}
            for folder in (directory, *var_file_directories([directory])):
                found.update(git.tree_files(self.repo, rev, folder, module_file,
                                            max_bytes=limit))
            texts = [SourceFile(p, e.data, rev) for p, e in found.items() if e.data is not None]
            by_folder: dict[str, set[str]] = {}
            for document in sorted(referenced_files(texts) - set(found)):
                folder, _, name = document.rpartition("/")
                by_folder.setdefault(folder, set()).add(name)
            for folder, names in sorted(by_folder.items()):
                found.update(git.tree_files(self.repo, rev, folder, names.__contains__,
                                            max_bytes=limit))
            self.listed[key] = found
        return self.listed[key]

    def _parse(self, wanted: Sequence[tuple[str, BlobEntry]],
               context: Sequence[tuple[str, BlobEntry]]) -> Parsed:
        """The identities of `wanted` read with `context` for their values; one parse per
        distinct set of contents."""
        key = tuple((f"{'s' if n < len(wanted) else 'c'}:{p}",
                     hashlib.sha1(e.data or b"", usedforsecurity=False).digest())
                    for n, (p, e) in enumerate([*wanted, *context]))
        if key not in self.parsed:
            sources = [SourceFile(p, e.data, None) for p, e in wanted if e.data is not None]
            values = [SourceFile(p, e.data, None) for p, e in context if e.data is not None]
            self.parsed[key] = start_parse([sources], self.catalogue, self.config, self.worker,
                                           [values], secrets=False)()[0]
        return self.parsed[key]
