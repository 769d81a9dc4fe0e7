"""`hook` as pre-commit runs it (`hook` and FILE arguments) forks its parse worker before the
command line is parsed (`commands.early_parse_worker`); the verdict is the same either way."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import GitRepo

from checker import commands
from checker.cli import main
from checker.sources import budget

ADMIN = """resource "aws_iam_user" "bot" {
  name = "deploy-bot"
}

resource "aws_iam_user_policy_attachment" "admin" {
  user       = aws_iam_user.bot.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
"""

needs_fork = pytest.mark.skipif(not budget.can_fork() or budget.available_cores() < 2,
                                reason="the parse worker needs fork and two cores")  # fmt: skip


@needs_fork
@pytest.mark.parametrize(("words", "early"), [
    (["hook"], True),
    (["hook", "infra/main.tf", "k8s/sa.yaml"], True),
    (["hook", "--format", "json"], False),
    (["hook", "infra/main.tf", "--sarif", "out.sarif"], False),
    (["check"], False),
    (["--version"], False),
    ([], False),
])  # fmt: skip
def test_only_the_pre_commit_form_forks_early(words: list[str], early: bool) -> None:
    with commands.early_parse_worker(words):
        handed = list(commands._EARLY)
        assert len(handed) == (1 if early else 0)
        worker = handed[0] if handed else None
        assert (worker is not None) == early
    assert commands._EARLY == []
    if worker is not None:  # closed on the way out, used or not
        assert not worker._alive


def _staged_agent_change(repo: GitRepo) -> None:
    repo.commit({"README.md": "x\n"})
    repo.stage({"infra/main.tf": ADMIN})
    repo.git("config", "user.name", "Claude")
    repo.git("config", "user.email", "noreply@anthropic.com")


def test_same_verdict_with_and_without_the_early_worker(
    git_repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _staged_agent_change(git_repo)
    monkeypatch.chdir(git_repo.path)
    early = main(["hook"])  # the pre-commit form: early worker
    early_out = capsys.readouterr().out
    late = main(["hook", "--fail-on", "error"])  # an option: the worker forks in `_hook`
    late_out = capsys.readouterr().out
    assert early == late == 1
    assert early_out == late_out
    assert "NHI301" in early_out and "NHI101" in early_out


@needs_fork
def test_the_early_worker_forks_before_argparse_is_imported(git_repo: GitRepo) -> None:
    _staged_agent_change(git_repo)
    program = (
        "import sys\n"
        "from checker.sources import worker\n"
        "seen = []\n"
        "start = worker.ParseWorker.start.__func__\n"
        "def spy(cls, warm):\n"
        "    seen.append('argparse' in sys.modules)\n"
        "    return start(cls, warm)\n"
        "worker.ParseWorker.start = classmethod(spy)\n"
        "from checker import cli\n"
        "code = cli.main(sys.argv[1:])\n"
        "print(seen, code)\n"
    )
    for args, argparse_loaded in ((["hook"], False), (["hook", "--format", "text"], True)):
        done = subprocess.run([sys.executable, "-c", program, *args], cwd=git_repo.path,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.stdout.splitlines()[-1] == f"[{argparse_loaded}] 1", done.stderr
