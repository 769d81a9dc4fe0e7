"""`nhi-gate` in a process of its own exits at once with its code (`cli._exit_now`): the
output is complete, the code is the verdict's, and `atexit` work still runs."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from checker import cli

ADMIN_ROLE = """resource "aws_iam_role_policy" "admin" {
  role   = "app"
  policy = jsonencode({
    Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }]
  })
}
"""


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "checker", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_large_output_to_a_pipe_is_complete(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["rules", "--format", "markdown"]) == 0
    in_process = capsys.readouterr().out
    done = _run("rules", "--format", "markdown")
    assert done.returncode == 0
    assert len(in_process) > 10_000
    assert done.stdout == in_process


def test_the_exit_code_is_the_verdicts(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(ADMIN_ROLE)
    done = _run("scan", str(tmp_path), "--format", "json")
    assert done.returncode == 1, done.stderr
    rules = {f["rule_id"] for f in json.loads(done.stdout)["findings"]}
    assert "NHI301" in rules
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    assert _run("scan", str(tmp_path)).returncode == 0
    assert _run("no-such-command").returncode == 2


def test_atexit_functions_still_run(tmp_path: Path) -> None:
    # A program that registers an atexit function and then runs the CLI in its own process.
    marker = tmp_path / "ran"
    program = (
        "import atexit, pathlib, sys\n"
        f"atexit.register(lambda: pathlib.Path({str(marker)!r}).write_text('yes'))\n"
        "from checker.cli import main\n"
        "sys.argv = ['nhi-gate', 'rules']\n"
        "main()\n"
        "raise SystemExit('main() returned: the process should have ended')\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == "yes"


def test_another_running_thread_keeps_the_ordinary_exit() -> None:
    release = threading.Event()
    worker = threading.Thread(target=release.wait, daemon=True)
    worker.start()
    try:
        cli._exit_now(0)  # returns: this test process is still alive below
        assert worker.is_alive()
    finally:
        release.set()
        worker.join()
