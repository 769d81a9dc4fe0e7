"""Line-level AI authorship from Agent Trace records (https://agent-trace.dev/).

Source: the Agent Trace record schema, https://github.com/cursor/agent-trace
(`schemas/trace-record.json`, `$id` https://agent-trace.dev/schemas/v1/trace-record.json) and
its reference store (`reference/trace-store.ts`: one JSON record per line appended to
`.agent-trace/traces.jsonl` in the working tree). A record:

    {"version": "1.0", "id": "<uuid>", "timestamp": "...", "tool": {"name": "cursor"},
     "vcs": {"type": "git", "revision": "<sha>"},
     "files": [{"path": "infra/ci.tf", "conversations": [
        {"contributor": {"type": "ai", "model_id": "anthropic/claude-opus-4-5"},
         "ranges": [{"start_line": 6, "end_line": 8, "contributor": {...}}]}]}]}

Ranges are 1-based, inclusive lines of the file; a range's own `contributor` overrides its
conversation's. nhi-gate reads records from two places:

- `.agent-trace/traces.jsonl` committed in the range: a record speaks for the commit that
  added its line of the file (`ChangedFile.line_commits`), its ranges read as lines of that
  commit's version of the file (the agent records as it writes, and commits both together);
- notes in `refs/notes/agent-trace`: the note on a commit holds that commit's records (JSON
  lines), its ranges read as lines of that commit's version.

Only `ai` and `mixed` contributors count, as an agent's lines (strong evidence,
`Evidence("agent-trace", "note", ...)`); like git-ai notes they only ever raise a line's actor
(`checker.provenance.ai_notes` carries them to head). A record that does not parse, or lacks
`files[].path` and integer ranges, is skipped with a reason: never evidence of anything.

Pure: no git and no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checker.change import ChangedFile
from checker.provenance.ai_notes import Attestation, AuthorshipLog, label

NOTES_REF = "refs/notes/agent-trace"
TRACE_FILE = ".agent-trace/traces.jsonl"
#: The `Evidence.signature` of an Agent Trace record, and the prefix of its attestation keys.
SIGNATURE = "agent-trace"
_AI_TYPES = frozenset({"ai", "mixed"})
_MAX_LINE = 10**9


@dataclass(frozen=True)
class TraceProblem:
    """A record that was skipped, and why (quotes no value from it)."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"Agent Trace record ({self.where}) ignored: {self.reason}"


def _contributor(value: object, default: str | None, model: str | None
                 ) -> tuple[str | None, str | None]:  # fmt: skip
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        return value["type"], label(value.get("model_id")) or model
    return default, model


def _attestations(record: Mapping[str, Any], key: str) -> list[Attestation]:
    """The AI ranges of one record, per file; raises ValueError naming what is malformed."""
    files = record.get("files")
    if not isinstance(files, list):
        raise ValueError("`files` is not a list")
    tool_obj = record.get("tool")
    tool = label(tool_obj.get("name")) if isinstance(tool_obj, dict) else None
    out: list[Attestation] = []
    for entry in files:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise ValueError("a file has no string `path`")
        conversations = entry.get("conversations")
        if not isinstance(conversations, list):
            raise ValueError("a file's `conversations` is not a list")
        by_model: dict[str | None, list[tuple[int, int]]] = {}
        for conv in conversations:
            if not isinstance(conv, dict) or not isinstance(conv.get("ranges"), list):
                raise ValueError("a conversation has no `ranges` list")
            kind, model = _contributor(conv.get("contributor"), None, None)
            for rng in conv["ranges"]:
                lo = rng.get("start_line") if isinstance(rng, dict) else None
                hi = rng.get("end_line") if isinstance(rng, dict) else None
                if not (isinstance(lo, int) and isinstance(hi, int) and 1 <= lo <= hi <= _MAX_LINE):
                    raise ValueError("a range is not 1 <= start_line <= end_line")
                own, own_model = _contributor(rng.get("contributor"), kind, model)
                if own in _AI_TYPES:
                    by_model.setdefault(own_model, []).append((lo, hi))
        for model, ranges in by_model.items():
            out.append(Attestation(entry["path"], key, tuple(ranges), "agent", tool, model))
    return out


def parse_records(text: str, key: str) -> tuple[list[Attestation], list[TraceProblem]]:
    """Each JSON line of `text` (a traces.jsonl file or a note) as attestations keyed
    `agent-trace:<key>:<line>`; blank lines skipped; malformed lines are problems."""
    out: list[Attestation] = []
    problems: list[TraceProblem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{key} line {number}"
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            out += _attestations(record, f"{SIGNATURE}:{key}:{number}")
        except (ValueError, RecursionError) as exc:
            problems.append(TraceProblem(where, str(exc) if isinstance(exc, ValueError)
                                         and not isinstance(exc, json.JSONDecodeError)
                                         else "not valid JSON"))
    return out, problems


def trace_logs(
    notes: Mapping[str, bytes | None],
    tree_file: bytes | None,
    changed: Sequence[ChangedFile],
) -> tuple[dict[str, AuthorshipLog], list[TraceProblem]]:
    """Commit -> an `AuthorshipLog` of its Agent Trace attestations, from the `notes` of
    `refs/notes/agent-trace` (sha -> raw note) and from `tree_file` (the head version of
    `.agent-trace/traces.jsonl`, None when absent): a record line of that file belongs to the
    in-range commit that added it (`changed`'s entry for the file, `line_commits`)."""
    found: dict[str, list[Attestation]] = {}
    problems: list[TraceProblem] = []
    for sha in sorted(notes):
        raw = notes[sha]
        text = raw.decode("utf-8", "replace") if raw is not None else ""
        atts, bad = parse_records(text, f"{NOTES_REF} {sha[:12]}")
        found.setdefault(sha, []).extend(atts)
        problems += bad
    trace = next((cf for cf in changed if cf.path == TRACE_FILE), None)
    if tree_file is not None and trace is not None:
        lines = tree_file.decode("utf-8", "replace").splitlines()
        for number, sha in sorted(trace.line_commits.items()):
            if 1 <= number <= len(lines):
                atts, bad = parse_records(lines[number - 1], f"{TRACE_FILE}:{number}")
                found.setdefault(sha, []).extend(atts)
                problems += bad
    logs = {sha: AuthorshipLog(sha, "agent-trace", tuple(atts))
            for sha, atts in found.items() if atts}
    return logs, problems


def merged(*sources: Mapping[str, AuthorshipLog]) -> dict[str, AuthorshipLog]:
    """The logs of several sources joined per commit (attestations concatenated, first
    source's schema version kept)."""
    out: dict[str, AuthorshipLog] = {}
    for logs in sources:
        for sha, log in logs.items():
            have = out.get(sha)
            out[sha] = log if have is None else AuthorshipLog(
                sha, have.schema_version, have.attestations + log.attestations)
    return out
