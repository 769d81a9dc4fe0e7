"""Per-file budgets in CPU time, not wall-clock time (issue 16): the same input gets the same
verdict on an idle and on a loaded machine.

Unit cases call `budget.parse_one` and `cputime.Watch` on real parses and real processes; the
loaded-machine case runs `nhi-gate check` on a real repository once as it is and once with
every core kept busy by processes the test starts and kills itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import CLAUDE_TRAILER, GitRepo

from checker.errors import ConfigError
from checker.model import ParseResult, SourceFile
from checker.parsers import terraform
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config, parse_config
from checker.sources import budget
from checker.sources.cputime import Budget, Watch

ROOT = Path(__file__).resolve().parents[1]
USER_TF = 'resource "aws_iam_user" "bot" {\n  name = "bot"\n}\n'


def _nap(source: SourceFile, catalogue: Any) -> ParseResult:
    time.sleep(0.8)  # wall-clock time, almost no CPU time
    return terraform.parse(source, catalogue)


def test_a_parse_that_waits_is_not_charged_for_wall_clock_time() -> None:
    got = budget.parse_one(_nap, SourceFile("a.tf", USER_TF.encode()), load_catalogue(), 0.3)
    assert got.problems == ()
    assert [o.address for o in got.objects] == ["aws_iam_user.bot"]


def _module(size: int) -> bytes:
    """A .tf file of exactly `size` bytes: one IAM user, then many buckets, then padding."""
    blocks = "".join(f'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "b{i}"\n}}\n'
                     for i in range(size // 60))  # fmt: skip
    body = (USER_TF + blocks).encode()[: size - 2]
    body = body[: body.rindex(b"}\n") + 2]
    return body + b"#" * (size - len(body) - 1) + b"\n"


def test_the_budget_grows_with_the_file_size() -> None:
    assert Budget(5.0, 10.0).for_size(0) == 5.0
    assert Budget(5.0, 10.0).for_size(1 << 20) == 15.0
    assert Budget(5.0, 10.0).for_size(3 << 19) == 20.0
    raw = _module(1 << 18)  # 256 KiB: about a second of python-hcl2
    assert len(raw) == 1 << 18
    src, catalogue = SourceFile("big/main.tf", raw), load_catalogue()
    flat = budget.parse_one(terraform.parse, src, catalogue, Budget(0.001, 0.001))
    assert [(p.rule_id, p.message) for p in flat.problems] == [
        ("NHI903", "big/main.tf: parsing used more than its 0.00125-second CPU-time budget; "
                   "not analysed"),
    ]  # fmt: skip
    scaled = budget.parse_one(terraform.parse, src, catalogue, Budget(0.001, 100.0))
    assert scaled.problems == ()
    assert [o.address for o in scaled.objects] == ["aws_iam_user.bot"]


def test_config_sets_the_base_and_the_per_mib_budget() -> None:
    assert budget.parse_budget(Config()) == Budget(5.0, 10.0)
    config = parse_config("budgets: {parse_seconds: 2, parse_seconds_per_mib: 0.5}\n", "cfg")
    assert (config.parse_seconds, config.parse_seconds_per_mib) == (2.0, 0.5)
    assert budget.parse_budget(config) == Budget(2.0, 0.5)
    with pytest.raises(ConfigError, match="cfg: budgets/parse_seconds_per_mib: -1 is less than"):
        parse_config("budgets: {parse_seconds_per_mib: -1}\n", "cfg")


# ------------------------------------------------------------------------------------------
# Watch: the budgets of a process this one waits on


def _python(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)


@contextmanager
def _child(code: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = _python(code)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


pytestmark_linux = pytest.mark.skipif(
    not Path("/proc/self/stat").is_file(), reason="Watch reads CPU time from /proc"
)


@pytestmark_linux
def test_watch_stops_waiting_on_a_process_that_stalls() -> None:
    with _child("import time; time.sleep(60)") as proc:
        assert proc.stdout is not None
        watch = Watch(proc.pid, 5.0, 0.5)
        start = time.monotonic()
        assert watch.wait(proc.stdout.fileno()) is False
        assert watch.over == "stalled"
        assert time.monotonic() - start < 30


@pytestmark_linux
def test_watch_stops_waiting_on_a_process_over_its_cpu_time() -> None:
    with _child("while True: pass") as proc:
        assert proc.stdout is not None
        watch = Watch(proc.pid, 0.3, 60.0)
        assert watch.wait(proc.stdout.fileno()) is False
        assert watch.over == "cpu"


@pytestmark_linux
def test_watch_waits_for_a_busy_process_past_its_window() -> None:
    code = ("import time\nend = time.process_time() + 3\nwhile time.process_time() < end: pass\n"
            "print('done', flush=True)\ntime.sleep(60)\n")  # fmt: skip
    with _child(code) as proc:
        assert proc.stdout is not None
        # At least one window passes while it computes (2 s: /proc counts CPU time in ticks).
        watch = Watch(proc.pid, 30.0, 2.0)
        assert watch.wait(proc.stdout.fileno()) is True
        assert watch.over is None
        assert proc.stdout.readline() == b"done\n"


# ------------------------------------------------------------------------------------------
# The loaded machine


def _dense_tf(items: int) -> str:
    """An IAM user and a long list of numbers: python-hcl2 needs about 1 s of CPU time per
    50,000 items (~100 KiB), the same on an idle and on a busy machine."""
    return USER_TF + "locals {\n  xs = [" + ",".join("1" for _ in range(items)) + "]\n}\n"


def _check(repo: GitRepo) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "checker", "check", "--repo", str(repo.path), "--base", "main",
         "--head", "HEAD", "--format", "json"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


@contextmanager
def _busy_cores(seconds: float) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Two busy-looping processes per core, each ending by itself after `seconds` at most, and
    killed on the way out."""
    code = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end: pass\n"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(2 * (os.cpu_count() or 1)):
            procs.append(subprocess.Popen([sys.executable, "-c", code]))
        time.sleep(0.5)
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_the_same_check_gives_the_same_verdict_on_a_busy_machine(
    make_repo: Callable[..., GitRepo],
) -> None:
    repo = make_repo()
    # The base's config sets a low budget so the test is quick; this file needs about half of
    # it (2 s + 10 s per MiB of ~0.1 MiB) in CPU time, and fits on an idle machine in 2 s of
    # wall-clock time, the budget today's `parse_seconds` would give it.
    repo.commit({".nhi-gate.yaml": "budgets: {parse_seconds: 2}\n", "README.md": "x\n"})
    repo.checkout("agent", create=True)
    repo.commit({"infra/main.tf": _dense_tf(50_000)}, trailers=[CLAUDE_TRAILER])
    idle = _check(repo)
    with _busy_cores(600.0) as spinners:
        busy = _check(repo)
        assert all(p.poll() is None for p in spinners), "the cores were busy throughout"
    code, out, err = idle
    assert (code, err) == (1, "")
    report = json.loads(out)
    assert report["problems"] == []
    assert sorted({(f["rule_id"], f["path"], f["start_line"]) for f in report["findings"]}) == [
        ("NHI101", "infra/main.tf", 1), ("NHI103", "infra/main.tf", 1),
        ("NHI201", "infra/main.tf", 1), ("NHI202", "infra/main.tf", 1),
    ]  # fmt: skip
    assert busy == idle
