"""Write nhi-gate's outputs on the shared corpus and on every rule fixture to a folder.

Run before and after a change that must not alter behaviour, then compare the folders:

    python scripts/outputs_snapshot.py /tmp/before
    ... change ...
    python scripts/outputs_snapshot.py /tmp/after
    diff -r /tmp/before /tmp/after

Each output is one file: ``corpus.json`` and ``corpus.sarif`` (``scan ../shared/corpus``),
``corpus-inventory.json``, and ``fixtures/<rule>/<file>.sarif`` and ``.json`` for each
``fixtures/rules/<ID>/*`` file scanned alone, plus ``exit`` codes in ``exits.txt``.
Paths inside the outputs are relative to the repository root, so two snapshots of the same
tree compare byte for byte. The per-file parse budget is raised (a config with
`budgets: {parse_seconds: 600}`), so a busy machine does not turn a large file into NHI903 in
one snapshot and not in the other.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


def _run(args: list[str], out: Path, config: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "checker", *args, "--config", str(config)],
        cwd=ROOT, capture_output=True, check=False,
    )
    out.write_bytes(proc.stdout)
    return proc.returncode


def main(argv: list[str]) -> int:
    """Write the snapshot into ``argv[0]``; returns 0."""
    dest = Path(argv[0]).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    config = dest / "nhi-gate-snapshot.yaml"
    config.write_text("budgets: {parse_seconds: 600}\n")
    exits: list[str] = []
    if CORPUS.is_dir():
        rel = str(CORPUS.relative_to(ROOT.parent).as_posix())
        corpus = "../" + rel
        for fmt, name in (("json", "corpus.json"), ("sarif", "corpus.sarif")):
            code = _run(["scan", corpus, "--format", fmt], dest / name, config)
            exits.append(f"{name} {code}")
        code = _run(
            ["inventory", corpus, "--format", "json"], dest / "corpus-inventory.json", config
        )
        exits.append(f"corpus-inventory.json {code}")
    for path in sorted((ROOT / "fixtures" / "rules").glob("*/*")):
        rel = path.relative_to(ROOT).as_posix()
        for fmt in ("sarif", "json"):
            out = dest / "fixtures" / path.parent.name / f"{path.name}.{fmt}"
            code = _run(["scan", rel, "--format", fmt], out, config)
            exits.append(f"{rel} {fmt} {code}")
    (dest / "exits.txt").write_text("\n".join(exits) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
