"""The ledger's history walk: git objects only (`git log`, `git cat-file --batch`), never the
working tree, and nothing written in the repository.

One `git log --first-parent --raw` lists each commit of the walked branch with the blobs of
the files it changed (a merge: its changes against its first parent, i.e. what the merge
brought in). Only files nhi-gate may read (by suffix; the parser's own sniffing decides the
rest) are parsed, only when a commit changes them, before (at the first parent) and after,
each (path, blob) once per run; a Terraform file is parsed with the other Terraform files of
its directory at that commit as context for its module values; the secret-material scan is
skipped (the ledger records identities only). An unchanged file whose
module values changed elsewhere keeps its identities until it changes itself.

Who made each change: the commit's own `Provenance` (`provenance.classify`); for a merge, the
most agent-like of the commits it brought in that touched the same files (one more `git log`
over the range, all parents), the merge itself being the approval. A commit whose subject
names a pull request (`Merge pull request #12`, a squash merge's `... (#12)`) carries that
number in its approval.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from checker.change import ACTOR_RANK, Commit
from checker.commands.git_sources import sources
from checker.errors import GitError
from checker.git.repo import GitCommandError, Repo
from checker.git.run import SHA_RE, decode, run_git
from checker.lazy_patterns import lazy_compile
from checker.ledger.rows import is_workload
from checker.ledger.store import Actor
from checker.model import IdentityObject, ParseProblem
from checker.pipeline import Parsed, start_parse
from checker.policy.catalogue import Catalogue
from checker.policy.config import Config
from checker.provenance.agents import AgentSignatures
from checker.provenance.classify import classify_commit, message_trailers
from checker.sources.discovery import classify

#: Suffixes of the files nhi-gate may read (`sources.discovery` decides from content).
READ_SUFFIXES = (".tf", ".tofu", ".tf.json", ".tofu.json", ".tfvars", ".tfvars.json", ".hcl",
                 ".yaml", ".yml", ".json")
_MODULE_SUFFIXES = (".tf", ".tofu", ".tf.json", ".tofu.json", ".tfvars", ".tfvars.json")
#: The formats whose secret-scan facets include CI credentials the ledger records.
_CI_FORMATS = frozenset({"github_actions", "gitlab_ci"})
_FORMAT = "%x1e%H%x1f%P%x1f%aI%x1f%an%x1f%ae%x1f%cn%x1f%ce%x1f%B%x1f%H%x1f"
_PR_RE = lazy_compile(r"^Merge pull request #(\d+)|\(#(\d+)\)\s*$")
_ZERO = "0" * 40


@dataclass(frozen=True)
class LogCommit:
    """One walked commit: its `Commit`, author date, and the files it changed that nhi-gate
    may read, as path -> (old blob or None, new blob or None); a rename is a deletion of the
    old path and an addition of the new (no rename detection: `events` matches moved
    identities by what they are, whichever file they moved to)."""

    commit: Commit
    date: str
    changes: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)


def readable(path: str) -> bool:
    """True for a path nhi-gate may read (by suffix; `.github/workflows` YAML included)."""
    return path.lower().endswith(READ_SUFFIXES)


def walk_log(repo: Repo, rev_range: str) -> list[LogCommit]:
    """The first-parent commits of `rev_range` (`A..B` or `B`), oldest first, with their
    readable changed files. Raises `GitError` when git fails or a record does not parse."""
    out = run_git(repo, "log", "--first-parent", "--reverse", "--diff-merges=first-parent",
                  "--raw", "-z", "--no-abbrev", "--no-renames", "--no-color", f"--format={_FORMAT}",
                  rev_range, "--")
    commits: list[LogCommit] = []
    for record in decode(out).split("\x1e")[1:]:
        fields = record.split("\x1f")
        if len(fields) != 10 or not SHA_RE.fullmatch(fields[0]) or fields[8] != fields[0]:
            raise GitError(f"commit {fields[0][:40]!r}: a name, email or message with control "
                           "characters (U+001E/U+001F) nhi-gate refuses to attribute")
        sha, parents, date, an, ae, cn, ce, message = fields[:8]
        commit = Commit(sha=sha, parents=tuple(parents.split()), author_name=an,
                        author_email=ae, committer_name=cn, committer_email=ce,
                        message=message.rstrip("\n"),
                        trailers=message_trailers(message))
        commits.append(LogCommit(commit, date, dict(_raw_changes(fields[9]))))
    return commits


def _raw_changes(raw: str) -> Iterator[tuple[str, tuple[str | None, str | None]]]:
    parts = raw.lstrip("\x00\n").split("\x00")
    i = 0
    while i < len(parts) and parts[i].startswith(":"):
        meta = parts[i][1:].split()
        status = meta[4][:1]
        old_blob = None if meta[2] == _ZERO or meta[0] == "160000" else meta[2]
        new_blob = None if meta[3] == _ZERO or meta[1] == "160000" else meta[3]
        if status in "RC":
            old, new = parts[i + 1], parts[i + 2]
            i += 3
            if status == "R" and readable(old):
                yield old, (old_blob, None)
            if readable(new):
                yield new, (None if status == "R" else old_blob, new_blob)
            continue
        path = parts[i + 1]
        i += 2
        if readable(path):
            yield path, (old_blob, new_blob)


def brought_in(repo: Repo, rev_range: str, walked: Sequence[LogCommit]
               ) -> dict[str, list[tuple[Commit, frozenset[str]]]]:
    """merge sha -> the commits it brought into the walked branch (not first-parent ones),
    each with the readable paths it touched; one `git log` over `rev_range`. Empty (with a
    warning on stderr) when git cannot list them (objects missing from a partial clone)."""
    merges = [c.commit for c in walked if len(c.commit.parents) > 1]
    if not merges:
        return {}
    try:
        out = run_git(repo, "log", "--no-merges", "--name-only", "-z", "--no-color",
                      f"--format={_FORMAT}", rev_range, "--")
    except GitError as exc:  # a partial clone without the side branches' trees
        print(f"nhi-gate: merges are attributed to their own author: {exc}", file=sys.stderr)
        return {}
    side: dict[str, tuple[Commit, frozenset[str]]] = {}
    parents: dict[str, tuple[str, ...]] = {}
    for record in decode(out).split("\x1e")[1:]:
        fields = record.split("\x1f")
        if len(fields) != 10 or fields[8] != fields[0]:
            continue
        sha, ps, _, an, ae, cn, ce, message = fields[:8]
        commit = Commit(sha=sha, parents=tuple(ps.split()), author_name=an, author_email=ae,
                        committer_name=cn, committer_email=ce, message=message.rstrip("\n"),
                        trailers=message_trailers(message))
        paths = frozenset(p for p in fields[9].strip("\x00\n").split("\x00") if readable(p))
        side[sha] = (commit, paths)
        parents[sha] = commit.parents
    first = {c.commit.sha for c in walked}
    seen: set[str] = set()
    result: dict[str, list[tuple[Commit, frozenset[str]]]] = {}
    for merge in merges:
        todo, found = list(merge.parents[1:]), []
        while todo:
            sha = todo.pop()
            if sha in seen or sha in first:
                continue
            seen.add(sha)
            if sha in side:
                found.append(side[sha])
            todo.extend(parents.get(sha, ()))  # merges inside a branch: not listed, not walked
        result[merge.sha] = found
    return result


def pr_number(message: str) -> int | None:
    """The pull request a commit subject names (`Merge pull request #12 from ...`, a squash
    merge's `Title (#12)`), None when it names none."""
    subject = message.split("\n", 1)[0]
    match = _PR_RE.search(subject)
    return int(match.group(1) or match.group(2)) if match else None


def actor_of(entry: LogCommit, paths: Sequence[str], signatures: AgentSignatures,
             side: Mapping[str, list[tuple[Commit, frozenset[str]]]]) -> Actor:
    """Who made `entry`'s changes to `paths` (see the module docstring)."""
    commit = entry.commit
    pr = pr_number(commit.message)
    merged = len(commit.parents) > 1
    approval: dict[str, object] | None = ({"merge_commit": commit.sha, "pr": pr, "reviews": []}
                if merged or pr is not None else None)
    best = classify_commit(commit, signatures)
    author = f"{commit.author_name} <{commit.author_email}>"
    for inner, touched in side.get(commit.sha, ()):
        if touched.isdisjoint(paths):
            continue
        prov = classify_commit(inner, signatures)
        if ACTOR_RANK[prov.actor_kind] > ACTOR_RANK[best.actor_kind] or best.commit == commit.sha:
            best, author = prov, f"{inner.author_name} <{inner.author_email}>"
    strength = (None if not best.evidence else
                "strong" if any(e.strength == "strong" for e in best.evidence) else "weak")
    return Actor(commit=commit.sha, date=entry.date, author=author,
                 actor_kind=best.actor_kind, agent=best.agent,
                 evidence=tuple(dict.fromkeys(f"{e.signature}:{e.field}" for e in best.evidence)),
                 strength=strength, approval=approval)


def called(obj: IdentityObject) -> bool:
    """True for an identity a local module call creates (`module.ci.<address>`,
    `checker.parsers.terraform.callees`), which the ledger leaves out: a file is parsed with
    its own directory as context, so whether a call's identities appear depended on which
    other files the same commit changed (the called module's, or not), and each commit that
    changed the module alone "removed" them and the next that changed both "created" them
    again, naming its author their creator. The block itself is recorded once, at its own
    address in its own file; `check` still judges what a call makes a module create."""
    return any(name.endswith(" call") and obj.address.startswith(name[: -len(" call")] + ".")
               for name, _where in obj.inputs)


#: The blob cache holds at most this many bytes (a 2 MB install manifest has hundreds of
#: versions: a count bound let it reach gigabytes on argo-cd).
BLOB_CACHE_BYTES = 64 * 1024 * 1024


class Parser:
    """Identities of files at a commit, each (path, blob) parsed once while it is current.

    Memory is bounded by what the walk still needs: a file's parse is kept from the commit that
    wrote that version until a later commit replaces it (`forget`: the walk reads each file's
    versions in order, so an old one is needed again only after a revert, and is parsed again
    then), and blobs are cached up to `BLOB_CACHE_BYTES`."""

    def __init__(self, repo: Repo, catalogue: Catalogue, config: Config) -> None:
        self.repo, self.catalogue, self.config = repo, catalogue, config
        self.blobs: dict[str, bytes] = {}
        self.blob_bytes = 0
        self.parsed: dict[tuple[str, str], tuple[list[IdentityObject], list[ParseProblem]]] = {}

    def blob(self, sha: str) -> bytes | None:
        """The content of blob `sha` (cached; the cache is emptied when it holds more than
        `BLOB_CACHE_BYTES`), None when the repository does not have it (a partial clone)."""
        if sha not in self.blobs:
            try:
                data = self.repo.git.get_object_data(sha)[3]
            except (ValueError, GitCommandError):
                return None
            if self.blob_bytes + len(data) > BLOB_CACHE_BYTES:
                self.blobs.clear()
                self.blob_bytes = 0
            self.blobs[sha] = data
            self.blob_bytes += len(data)
            return data
        return self.blobs[sha]

    def forget(self, files: Mapping[str, str]) -> None:
        """Drop the parses of `files` (path -> blob): versions the walk has moved past."""
        for item in files.items():
            self.parsed.pop(item, None)

    def identities(self, files: Mapping[str, str], tree: Mapping[str, str], rev: str
                   ) -> tuple[list[IdentityObject], list[ParseProblem]]:
        """The identities (of the secret scan's facets, only CI credentials) and problems of
        `files` (path -> blob) at `rev`, whose readable files are `tree` (path -> blob)."""
        todo = {p: b for p, b in files.items() if (p, b) not in self.parsed}
        if todo:
            dirs = {p.rpartition("/")[0] for p in todo if p.endswith(_MODULE_SUFFIXES)}
            context = {p: b for p, b in tree.items() if p not in todo
                       and p.endswith(_MODULE_SUFFIXES) and p.rpartition("/")[0] in dirs}
            data = {p: self.blob(b) for p, b in todo.items()}
            side = sources(data, rev)
            ctx = sources({p: self.blob(b) for p, b in context.items()}, rev)
            # CI credentials (a persisted checkout token, `secrets: inherit`, ...) are facets
            # of the secret scan, so CI files are parsed with it (`inventory` lists them too);
            # the others without.
            ci = {src.path for src in side if classify(src.path) in _CI_FORMATS}
            found: Parsed = start_parse([[s for s in side if s.path not in ci]], self.catalogue,
                                        self.config, None, [ctx], secrets=False)()[0]
            if ci:
                scanned = start_parse([[s for s in side if s.path in ci]], self.catalogue,
                                      self.config, None)()[0]
                found = Parsed(found.objects + scanned.objects,
                               found.problems + scanned.problems)
            for path, blob in todo.items():
                missing = [ParseProblem(path, "NHI902", f"{path}: blob {blob} is not in the "
                                        "repository (a partial clone); not analysed")]
                self.parsed[(path, blob)] = (
                    [o for o in found.objects if o.location.path == path
                     and (not o.derived_from or o.kind == "ci_credential" or is_workload(o))
                     and not called(o)],
                    [p for p in found.problems if p.path == path] if data[path] is not None
                    else missing)
        objects = [o for p, b in files.items() for o in self.parsed[(p, b)][0]]
        problems = [x for p, b in files.items() for x in self.parsed[(p, b)][1]]
        return objects, problems

