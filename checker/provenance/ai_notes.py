"""Line-level AI authorship from git-ai notes (`refs/notes/ai`, the Git AI Standard v3.0.0).

Source: Git AI Standard v3.0.0 §1 "Authorship Logs",
https://github.com/git-ai-project/git-ai/blob/main/specs/git_ai_standard_v3.0.0.md (read at
git-ai-project/git-ai 55a1d728fb96, 2026-08-22). One note per commit, in `refs/notes/ai`:

    infra/ci.tf                                   file path, no indent ("quoted" if it has
      s_c9883b05a2487d::t_9f8e7d6c5b4a32 1-4,9   spaces); 2-space entries: key, line ranges
      h_31dce776f88375 5-8                        a known human (never evidence here)
      abcd1234abcd1234 12                         legacy AI prompt key (16 hex; 7 accepted)
    ---
    {"schema_version": "authorship/3.0.0", "base_commit_sha": "…", "prompts": {…},
     "sessions": {"s_c9883b05a2487d": {"agent_id": {"tool": "claude", "model": "…"}}},
     "humans": {"h_31dce776f88375": {"author": "Alice <alice@example.com>"}}}

Line numbers are 1-based and refer to the file as it is **in that commit** (spec §1). A key
routes by prefix: `s_<14hex>::t_<14hex>` → `sessions[s_…]`, `h_<14hex>` → `humans`, bare hex →
`prompts`. `s_` and legacy keys are AI sessions; `h_` lines are a human's.

Policy (what nhi-gate does with it):
- A note is evidence only when it parses completely: UTF-8, a `---` line, attestation lines in
  the grammar above with ranges of positive integers (`lo <= hi`), every key resolving to a
  record of the right map, and a metadata JSON object valid against
  `checker/schemas/git_ai_authorship.schema.json` (schema `authorship/3.x.y`; spec §3: earlier
  major versions are not processed). Anything else is a `NoteProblem` with a reason and the
  whole note is ignored: a bad note is never evidence of anything.
- Notes only ever raise a line's actor to `agent` (strong evidence,
  `Evidence("git-ai-notes", "note", …)`); an `h_` line or a missing note never lowers what the
  commit's author, committer and trailers say. Notes live outside the commit and anyone can
  write them, so they may add suspicion but never remove it.
- A note on commit C speaks for head line L only when blame over the range says C introduced L
  (`ChangedFile.line_commits[L] == C`) and L is unchanged from C to head, carried to C's line
  numbering through the `C → head` diff (`checker.git.diffs_to_head`), renames included.

Pure: no git and no I/O besides reading the JSON Schema file.
"""

from __future__ import annotations

import bisect
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import jsonschema

from checker.change import ChangedFile, ChangeSet, Evidence, FileDelta, Provenance
from checker.lazy_patterns import lazy_compile

NOTES_REF = "refs/notes/ai"
#: The `Evidence.signature` of a note.
SIGNATURE = "git-ai-notes"
_SCHEMA_PATH = Path(__file__).parent.parent / "schemas" / "git_ai_authorship.schema.json"
_SESSION_KEY = lazy_compile(r"(s_[0-9a-f]{14})::t_[0-9a-f]{14}")
_HUMAN_KEY = lazy_compile(r"h_[0-9a-f]{14}")
_LEGACY_KEY = lazy_compile(r"[0-9a-f]{16}|[0-9a-f]{7}")
_RANGE = lazy_compile(r"([0-9]{1,9})(?:-([0-9]{1,9}))?")
_ENTRY = lazy_compile(r"  ([^ ]+) ([^ ]+)")
_LABEL_UNSAFE = lazy_compile(r"[^A-Za-z0-9._:@/+-]")
_MAX_LABEL = 64
_TRACE_PREFIX = "agent-trace:"


@dataclass(frozen=True)
class Attestation:
    """One entry line of a note: `key` wrote `ranges` (inclusive, 1-based, in the commit's
    version of `path`). `actor` is `agent` for session/legacy keys, `human` for `h_` keys;
    `tool`/`model` come from the key's `agent_id` (None for humans)."""

    path: str
    key: str
    ranges: tuple[tuple[int, int], ...]
    actor: Literal["agent", "human"]
    tool: str | None = None
    model: str | None = None


@dataclass(frozen=True)
class AuthorshipLog:
    """A parsed, valid note of one commit: its attestations in note order."""

    commit: str
    schema_version: str
    attestations: tuple[Attestation, ...]


@dataclass(frozen=True)
class NoteProblem:
    """A note that was ignored, and why (quotes only validated keys and numbers from it)."""

    commit: str
    reason: str

    def __str__(self) -> str:
        return f"git-ai note ({NOTES_REF}) on commit {self.commit[:12]} ignored: {self.reason}"


class _Bad(ValueError):
    """Internal: the note is malformed; the message is the reason."""


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    schema: dict[str, Any] = json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _ranges(text: str, where: str) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for part in text.split(","):
        match = _RANGE.fullmatch(part)
        if match is None:
            raise _Bad(f"{where}: a line range is not N or N-M (N up to 9 digits)")
        lo = int(match.group(1))
        hi = int(match.group(2)) if match.group(2) is not None else lo
        if lo < 1 or hi < lo:
            raise _Bad(f"{where}: line range {lo}-{hi} is empty or not 1-based")
        out.append((lo, hi))
    return tuple(out)


def _entries(section: list[str]) -> list[tuple[str, str, tuple[tuple[int, int], ...], int]]:
    """Attestation lines → (path, key, ranges, note line number)."""
    out: list[tuple[str, str, tuple[tuple[int, int], ...], int]] = []
    path: str | None = None
    for number, line in enumerate(section, start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        if not line[0].isspace():
            if line.startswith('"'):
                if len(line) < 3 or not line.endswith('"'):
                    raise _Bad(f"{where}: unterminated quoted file path")
                line = line[1:-1]
            path = line
            continue
        match = _ENTRY.fullmatch(line)
        if match is None:
            raise _Bad(f"{where}: not a file path or a 2-space `<key> <ranges>` entry")
        if path is None:
            raise _Bad(f"{where}: attestation entry before any file path")
        out.append((path, match.group(1), _ranges(match.group(2), where), number))
    return out


def label(value: object) -> str | None:
    """A tool/model name safe to show in reports (untrusted input: clipped, no odd chars)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _LABEL_UNSAFE.sub("_", value.strip())[:_MAX_LABEL]


def parse_note(commit: str, raw: bytes | None) -> AuthorshipLog | NoteProblem:
    """Parse one `refs/notes/ai` note (`raw` None: the note was too large to read).

    Returns the `AuthorshipLog`, or a `NoteProblem` naming the first thing wrong (see the
    module docstring for what a valid note is). Never raises on any input.
    """
    if raw is None:
        return NoteProblem(commit, "the note is too large or not a blob, not read")
    try:
        return _parse(commit, raw)
    except _Bad as bad:
        return NoteProblem(commit, str(bad))


def _parse(commit: str, raw: bytes) -> AuthorshipLog:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Bad(f"not UTF-8 (byte {exc.start})") from None
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if "---" not in lines:
        raise _Bad("no `---` line between the attestation and metadata sections")
    divider = lines.index("---")
    entries = _entries(lines[:divider])
    try:
        meta = json.loads("\n".join(lines[divider + 1 :]))
    except (ValueError, RecursionError) as exc:
        raise _Bad(f"metadata section is not valid JSON ({type(exc).__name__})") from None
    error = jsonschema.exceptions.best_match(_validator().iter_errors(meta))
    if error is not None:  # described from the schema's side: never echoes the note's values
        at = "/".join(str(p)[:40] for p in error.absolute_path) or "(top level)"
        if error.validator == "required":
            detail = error.message
        elif error.validator in ("type", "pattern", "minLength"):
            detail = f"fails {error.validator} {error.validator_value}"
        else:
            detail = f"fails `{error.validator}`"
        raise _Bad(f"metadata {at}: {detail}")
    prompts: Mapping[str, Any] = meta["prompts"]
    sessions: Mapping[str, Any] = meta.get("sessions", {})
    humans: Mapping[str, Any] = meta.get("humans", {})
    out: list[Attestation] = []
    for path, key, ranges, number in entries:
        session = _SESSION_KEY.fullmatch(key)
        record: Mapping[str, Any] | None
        if session is not None:
            record = sessions.get(session.group(1))
        elif _HUMAN_KEY.fullmatch(key):
            if key not in humans:
                raise _Bad(f"line {number}: key {key} is not in metadata `humans`")
            out.append(Attestation(path, key, ranges, "human"))
            continue
        elif _LEGACY_KEY.fullmatch(key):
            record = prompts.get(key)
        else:
            raise _Bad(f"line {number}: the key is not an s_, h_ or legacy hex key")
        if record is None:
            where = "sessions" if session is not None else "prompts"
            raise _Bad(f"line {number}: key {key} is not in metadata `{where}`")
        agent_id = record["agent_id"]
        out.append(Attestation(path, key, ranges, "agent", label(agent_id.get("tool")),
                               label(agent_id.get("model"))))
    return AuthorshipLog(commit, str(meta["schema_version"]), tuple(out))


def parse_notes(
    notes: Mapping[str, bytes | None],
) -> tuple[dict[str, AuthorshipLog], list[NoteProblem]]:
    """Parse every note (`checker.git.read_ai_notes` output): (sha → valid log, problems),
    problems sorted by commit."""
    logs: dict[str, AuthorshipLog] = {}
    problems: list[NoteProblem] = []
    for sha in sorted(notes):
        parsed = parse_note(sha, notes[sha])
        if isinstance(parsed, NoteProblem):
            problems.append(parsed)
        else:
            logs[sha] = parsed
    return logs, problems


def note_provenance(commit: str, att: Attestation) -> Provenance:
    """The actor a note gives the lines of `att` in `commit`: an agent, on strong evidence.
    An Agent Trace attestation (key `agent-trace:<where>:<line>`,
    `checker.provenance.agent_trace`) says so under its own signature and source."""
    who = "/".join(p for p in (att.tool, att.model) if p) or "unknown tool"
    if att.key.startswith(_TRACE_PREFIX):
        where = att.key[len(_TRACE_PREFIX):]
        return Provenance(commit=commit, actor_kind="agent", agent=f"Agent Trace: {who}",
                          evidence=(Evidence("agent-trace", "note", f"{where} ({who})",
                                             "strong"),))
    return Provenance(
        commit=commit,
        actor_kind="agent",
        agent=f"git-ai: {who}",
        evidence=(Evidence(SIGNATURE, "note", f"{NOTES_REF} {att.key} ({who})", "strong"),),
    )


class _Segments:
    """A commit's AI-written lines of one file as sorted disjoint `(lo, hi, provenance)`
    segments; where two ranges overlap, the one that starts first keeps the overlap."""

    def __init__(self, items: list[tuple[int, int, Provenance]]) -> None:
        self.los: list[int] = []
        self.his: list[int] = []
        self.provs: list[Provenance] = []
        for lo, hi, prov in sorted(items, key=lambda item: (item[0], item[1])):
            if self.his and lo <= self.his[-1]:
                lo = self.his[-1] + 1
            if lo <= hi:
                self.los.append(lo)
                self.his.append(hi)
                self.provs.append(prov)

    def at(self, line: int) -> Provenance | None:
        i = bisect.bisect_right(self.los, line) - 1
        return self.provs[i] if i >= 0 and line <= self.his[i] else None


def _segments(log: AuthorshipLog) -> dict[str, _Segments]:
    items: dict[str, list[tuple[int, int, Provenance]]] = {}
    provs: dict[str, Provenance] = {}
    for att in log.attestations:
        if att.actor != "agent":
            continue
        prov = provs.setdefault(att.key, note_provenance(log.commit, att))
        items.setdefault(att.path, []).extend((lo, hi, prov) for lo, hi in att.ranges)
    return {path: _Segments(found) for path, found in items.items()}


class _ToCommit:
    """Carries head line numbers of one file back to an older commit's version of it."""

    def __init__(self, path: str | None, hunks: Sequence[tuple[int, int, int, int]]) -> None:
        self.path = path
        self.hunks = tuple(hunks)
        #: last head line at or before each hunk (its insertion point when it adds nothing)
        self.ends = [ns + nc - 1 if nc else ns for _os, _oc, ns, nc in self.hunks]
        self.shift: list[int] = []
        total = 0
        for _os, oc, _ns, nc in self.hunks:
            total += nc - oc
            self.shift.append(total)

    def line(self, head_line: int) -> int | None:
        """The commit's line number of head line `head_line`; None when the line was written
        after the commit (inside a hunk of the commit → head diff)."""
        k = bisect.bisect_left(self.ends, head_line)
        if k < len(self.hunks):
            _os, _oc, ns, nc = self.hunks[k]
            if nc and ns <= head_line:
                return None
        return head_line - (self.shift[k - 1] if k else 0)


def _to_commit(path: str, deltas: Sequence[FileDelta]) -> _ToCommit:
    """How head `path` maps into a commit whose diff to head is `deltas`."""
    for delta in deltas:
        if delta.new_path == path:
            if delta.opaque or delta.old_path is None:
                return _ToCommit(None, ())
            return _ToCommit(delta.old_path, delta.hunks)
    if any(delta.old_path == path for delta in deltas):
        return _ToCommit(None, ())  # the commit's `path` is not head's `path`
    return _ToCommit(path, ())


def ai_lines(
    cf: ChangedFile,
    logs: Mapping[str, AuthorshipLog],
    deltas: Mapping[str, Sequence[FileDelta]],
) -> dict[int, Provenance]:
    """Head line → agent provenance for the lines of `cf` that a valid note on the commit
    that introduced them (`cf.line_commits`) attributes to an AI session.

    `deltas` is `checker.git.diffs_to_head` for the noted commits (the head commit needs
    none). Lines the note does not name, lines of commits without a valid note, and lines
    changed after the noted commit are absent.
    """
    out: dict[int, Provenance] = {}
    cache: dict[str, tuple[_ToCommit, _Segments | None]] = {}
    for line in sorted(cf.line_commits):
        sha = cf.line_commits[line]
        log = logs.get(sha)
        if log is None:
            continue
        if sha not in cache:
            to_commit = _to_commit(cf.path, deltas.get(sha, ()))
            by_path = _segments(log)
            cache[sha] = (to_commit, by_path.get(to_commit.path) if to_commit.path else None)
        to_commit, found = cache[sha]
        if found is None:
            continue
        old_line = to_commit.line(line)
        prov = found.at(old_line) if old_line is not None else None
        if prov is not None:
            out[line] = prov
    return out


def annotate(
    changeset: ChangeSet,
    logs: Mapping[str, AuthorshipLog],
    deltas: Mapping[str, Sequence[FileDelta]],
) -> ChangeSet:
    """`changeset` with `ChangedFile.ai_lines` set from the notes (files without AI lines are
    returned unchanged)."""
    if not logs:
        return changeset
    files = []
    for cf in changeset.files:
        found = ai_lines(cf, logs, deltas)
        files.append(replace(cf, ai_lines=found) if found else cf)
    return replace(changeset, files=tuple(files))


def diff_request(
    logs: Mapping[str, AuthorshipLog], changeset: ChangeSet
) -> tuple[list[str], list[str]]:
    """What `checker.git.diffs_to_head` must compute for `annotate`: (the noted commits that
    introduced a line still added at head, other than head; the paths their notes attribute
    to an AI plus both names of each changed file with such a line, so that renames since
    the noted commit are detected). Empty lists when nothing needs a diff."""
    shas: set[str] = set()
    paths: set[str] = set()
    for cf in changeset.files:
        found = {sha for sha in cf.line_commits.values() if sha in logs}
        if found:
            shas.update(found)
            paths.update(p for p in (cf.path, cf.old_path) if p)
    shas.discard(changeset.head or "")
    if not shas:
        return [], []
    paths.update(att.path for sha in shas for att in logs[sha].attestations
                 if att.actor == "agent")
    return sorted(shas), sorted(paths)
