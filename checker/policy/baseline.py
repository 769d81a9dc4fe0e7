"""Baseline files: adopt nhi-gate on a repository without fixing its history first.

`nhi-gate baseline create` records the fingerprint of every current finding; afterwards a
finding whose fingerprint is in the baseline is approved (it stays in every report, as a SARIF
result with an `external` suppression) and only new findings block. Fingerprints hash rule id,
path, identity address and attribute, never a line number (checker/fingerprint.py), so a
baselined finding stays baselined when lines move above it.

Never baselined: NHI1xx (agent provenance; lifted only by a human approval) and NHI9xx (a file
that cannot be read is never a pass; `exclude` it instead).

File shape (JSON, sorted keys, deterministic; validated by checker/schemas/baseline.schema.json):

    {"version": 1, "tool": "nhi-gate",
     "findings": [{"fingerprint": "3b33...", "rule_id": "NHI201",
                   "path": "infra/iam.tf", "address": "aws_iam_user.deploy"}]}

In `check` mode the baseline is read from the base revision (like the config), so a change
cannot baseline its own findings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checker.errors import ConfigError
from checker.model import Finding
from checker.policy.config import DEFAULT_BASELINE

VERSION = 1
_SCHEMA_PATH = Path(__file__).parent.parent / "schemas" / "baseline.schema.json"
_NEVER = ("NHI1", "NHI9")


@dataclass(frozen=True)
class BaselineEntry:
    """One baselined finding: its 32-hex `fingerprint` and, for reviewers, where it was."""

    fingerprint: str
    rule_id: str
    path: str
    address: str | None


@dataclass(frozen=True)
class Baseline:
    """The entries of one baseline file; `source` names it in messages."""

    entries: tuple[BaselineEntry, ...]
    source: str

    @property
    def fingerprints(self) -> frozenset[str]:
        """Every fingerprint in the file."""
        return frozenset(e.fingerprint for e in self.entries)


def eligible(finding: Finding) -> bool:
    """True when a finding may be baselined (not NHI1xx, not NHI9xx)."""
    return not finding.rule_id.startswith(_NEVER)


def from_findings(findings: Iterable[Finding], source: str = DEFAULT_BASELINE) -> Baseline:
    """A baseline of the eligible findings, one entry per fingerprint, sorted."""
    by_fp: dict[str, BaselineEntry] = {}
    for f in findings:
        if eligible(f) and f.fingerprint:
            by_fp.setdefault(
                f.fingerprint, BaselineEntry(f.fingerprint, f.rule_id, f.location.path, f.address)
            )
    entries = sorted(by_fp.values(), key=lambda e: (e.path, e.rule_id, e.address or "",
                                                    e.fingerprint))
    return Baseline(tuple(entries), source)


def dumps(baseline: Baseline) -> str:
    """The file text: 2-space JSON, sorted keys, trailing newline."""
    data = {
        "version": VERSION,
        "tool": "nhi-gate",
        "findings": [
            {"fingerprint": e.fingerprint, "rule_id": e.rule_id, "path": e.path,
             "address": e.address}
            for e in baseline.entries
        ],
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def loads(text: str, source: str) -> Baseline:
    """Parse and validate baseline text. Raises `ConfigError` naming `source` and the key path."""
    try:
        data: Any = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{source}: baseline is not valid JSON: {exc}") from exc
    import jsonschema  # only when a baseline exists (keeps it off the pre-commit path)

    schema = json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(data),
        key=lambda e: [str(p) for p in e.absolute_path],
    )
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(f"{source}: baseline {where}: {err.message}")
    entries = tuple(
        BaselineEntry(i["fingerprint"], i["rule_id"], i["path"], i.get("address"))
        for i in data["findings"]
    )
    return Baseline(entries, source)


def load(path: Path) -> Baseline:
    """Read a baseline file from disk; `ConfigError` when it is unreadable or invalid."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read baseline: {exc}") from exc
    return loads(text, str(path))


def stale(baseline: Baseline, findings: Sequence[Finding]) -> list[BaselineEntry]:
    """Entries no current finding matches (fixed since the baseline was made), sorted."""
    current = {f.fingerprint for f in findings}
    return [e for e in baseline.entries if e.fingerprint not in current]
