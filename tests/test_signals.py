"""An interrupted or cancelled run never reads as a pass: exit 2, a message, no process left.

CI cancels jobs with SIGTERM and people press Ctrl-C (SIGINT); `check`/`hook` also run a forked
`ParseWorker`. Each case runs `python -m checker` as its own process on a change big enough to
be stopped in the middle.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import COPILOT, GitRepo

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ROOT = Path(__file__).resolve().parents[1]


def _big_change(repo: GitRepo, files: int = 1500) -> None:
    repo.commit({"README.md": "x\n"})
    repo.checkout("agent", create=True)
    body = "".join(f'resource "aws_iam_user" "u{i}" {{\n  name = "u{i}"\n}}\n' for i in range(40))
    repo.commit({f"infra/m{i:04}.tf": body for i in range(files)}, author=COPILOT)


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True, check=False).stdout  # fmt: skip
    return [int(x) for x in out.split()]


@pytest.mark.parametrize(("sig", "word"), [(signal.SIGTERM, "terminated (SIGTERM)"),
                                           (signal.SIGINT, "interrupted (SIGINT)")])
def test_a_signalled_check_exits_2_and_leaves_no_worker(
    make_repo: object, sig: signal.Signals, word: str
) -> None:
    repo = make_repo()  # type: ignore[operator]
    _big_change(repo)
    proc = subprocess.Popen(
        [sys.executable, "-m", "checker", "check", "--repo", str(repo.path), "--base", "main",
         "--head", "HEAD"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None and not _children(proc.pid):
        time.sleep(0.02)  # the worker (or git) has started: the run is under way
    time.sleep(0.3)
    assert proc.poll() is None, "the run ended before it could be signalled; make it bigger"
    workers = _children(proc.pid)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert f"nhi-gate: {word}: no verdict" in err
    assert "PASS" not in out
    time.sleep(0.2)
    for pid in workers:  # reaped: gone, or at most a zombie of a process that no longer exists
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()


def test_closed_stdout_is_no_pass(make_repo: object) -> None:
    repo = make_repo()  # type: ignore[operator]
    _big_change(repo, files=3)
    proc = subprocess.Popen(
        [sys.executable, "-m", "checker", "check", "--repo", str(repo.path), "--base", "main",
         "--head", "HEAD"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `nhi-gate check | head -0`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 2
    assert "standard output was closed before the report was written: no verdict" in err
