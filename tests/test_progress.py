"""`scan` shows a progress line on stderr for big scans, only when stderr is a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from checker.commands.scan import PROGRESS_MIN_FILES

SA = 'resource "google_service_account" "sa{n}" {{\n  account_id = "sa{n}"\n}}\n'


def _tree(root: Path, count: int) -> None:
    for n in range(count):
        (root / f"f{n:04d}.tf").write_text(SA.format(n=n), encoding="utf-8")


def _scan(root: Path, tty: bool) -> tuple[int, str, str]:
    code = "import sys; from checker.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "scan", str(root), "--format", "json", "--fail-on",
            "never"]
    if not tty:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        return done.returncode, done.stdout, done.stderr
    leader, follower = pty.openpty()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    out, _ = proc.communicate()
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO once the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.returncode, out, b"".join(chunks).decode("utf-8", "replace")


def test_progress_on_a_terminal_only(tmp_path: Path) -> None:
    count = PROGRESS_MIN_FILES + 1
    _tree(tmp_path, count)
    code, out, err = _scan(tmp_path, tty=True)
    assert code == 0
    assert f"nhi-gate: parsed {count}/{count} files" in err
    assert out.count('"rule_id": "NHI201"') == count  # progress never goes to stdout
    code, out_plain, err_plain = _scan(tmp_path, tty=False)
    assert code == 0 and "parsed" not in err_plain and out_plain == out


def test_no_progress_for_small_scans(tmp_path: Path) -> None:
    _tree(tmp_path, 3)
    _, _, err = _scan(tmp_path, tty=True)
    assert "parsed" not in err
