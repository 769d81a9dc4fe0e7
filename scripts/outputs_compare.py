"""Compare two `outputs_snapshot.py` folders, allowing for rules added in between.

    python scripts/outputs_compare.py BEFORE AFTER [NEW_RULE_ID ...]

Without rule ids this is `diff -r`: every file byte for byte. With them, results of those rules
are dropped from AFTER, their entries from the SARIF rule list, and SARIF `ruleIndex` values
(which shift when a rule is inserted) are compared by rule id instead. Prints each file that
differs; exit 1 when any does, else 0.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _sarif(data: Any, new: set[str]) -> Any:
    for run in data.get("runs", []):
        driver = run["tool"]["driver"]
        driver["rules"] = [r for r in driver.get("rules", []) if r["id"] not in new]
        run["results"] = [r for r in run.get("results", []) if r["ruleId"] not in new]
        for result in run["results"]:
            result.pop("ruleIndex", None)
        for invocation in run.get("invocations", []):
            for note in invocation.get("toolExecutionNotifications", []):
                note.get("associatedRule", {}).pop("index", None)
    return data


def _json(data: Any, new: set[str]) -> Any:
    if isinstance(data, dict) and "findings" in data:
        data["findings"] = [f for f in data["findings"] if f["rule_id"] not in new]
    return data


def _same(a: Path, b: Path, new: set[str]) -> bool:
    if not new:
        return a.read_bytes() == b.read_bytes()
    if a.name == "exits.txt":
        kept = [line for line in b.read_text().splitlines()
                if not any(f"/{rule}/" in line for rule in new)]
        return a.read_text().splitlines() == kept
    if a.suffix == ".sarif":
        old, now = json.loads(a.read_text()), json.loads(b.read_text())
        return bool(_sarif(old, new) == _sarif(now, new))
    if a.suffix == ".json":
        return bool(_json(json.loads(a.read_text()), new) == _json(json.loads(b.read_text()), new))
    return a.read_bytes() == b.read_bytes()


def main(argv: list[str]) -> int:
    """Compare `argv[0]` (before) with `argv[1]` (after); `argv[2:]` are new rule ids."""
    before, after, new = Path(argv[0]), Path(argv[1]), set(argv[2:])
    differ = 0
    for a in sorted(p for p in before.rglob("*") if p.is_file()):
        rel = a.relative_to(before)
        b = after / rel
        if not b.is_file() or not _same(a, b, new):
            print(f"differs: {rel}")
            differ += 1
    for b in sorted(p for p in after.rglob("*") if p.is_file()):
        rel = b.relative_to(after)
        if not (before / rel).exists() and not any(f"/{rule}/" in f"/{rel}" for rule in new):
            print(f"only in {after}: {rel}")
            differ += 1
    print(f"{differ} file(s) differ")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
