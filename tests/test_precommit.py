"""The pre-commit hooks (`.pre-commit-hooks.yaml`), run by real pre-commit in temp git repos.

`pre-commit try-repo` installs the hook repository with pip into its own environment, so the
hook repository is a committed snapshot of this checkout (tracked and untracked, not ignored,
files): try-repo would otherwise ignore uncommitted new files. try-repo builds a fresh store
(and pip environment) on every call, so each hook is run once through `try-repo`; the other
variants run through `pre-commit run -c CONFIG` with a `.pre-commit-config.yaml` pointing at the
same snapshot and PRE_COMMIT_HOME in a temp dir shared by the module (environment built once).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import COPILOT, DOCUMENTED, HUMAN, SA_KEY, GitRepo, agent_branch

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"

pytestmark = pytest.mark.skipif(shutil.which("pre-commit") is None,
                                reason="pre-commit is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed copy of this checkout's files, for `pre-commit try-repo`."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True,
    ).stdout.decode("utf-8").split("\0")
    snap = tmp_path_factory.mktemp("hookrepo")
    for rel in filter(None, listed):
        src = ROOT / rel
        if src.is_file():
            (snap / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, snap / rel)
    env = {**os.environ, "GIT_AUTHOR_NAME": HUMAN[0], "GIT_AUTHOR_EMAIL": HUMAN[1],
           "GIT_COMMITTER_NAME": HUMAN[0], "GIT_COMMITTER_EMAIL": HUMAN[1],
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (["init", "-q"], ["add", "-A"],
                 ["-c", "commit.gpgsign=false", "commit", "-q", "-m", "snapshot"]):
        subprocess.run(["git", "-C", str(snap), *args], env=env, check=True)
    return snap


@pytest.fixture(scope="module")
def pc_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def _env(pc_home: Path, extra: Mapping[str, str] | None) -> dict[str, str]:
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("PRE_COMMIT_FROM", "PRE_COMMIT_TO", "GITHUB_"))}
    full.update({"PRE_COMMIT_HOME": str(pc_home), "NO_COLOR": "1", **(extra or {})})
    return full


def try_repo(repo: GitRepo, hook_repo: Path, pc_home: Path, hook: str, *args: str,
             env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`pre-commit try-repo HOOK_REPO HOOK --verbose ARGS` in `repo`."""
    return subprocess.run(
        ["pre-commit", "try-repo", str(hook_repo), hook, "--verbose", *args],
        cwd=repo.path, env=_env(pc_home, env), capture_output=True, text=True, check=False,
    )


def run_configured(repo: GitRepo, hook_repo: Path, pc_home: Path, hook: str, *args: str
                   ) -> subprocess.CompletedProcess[str]:
    """`pre-commit run -c CONFIG HOOK --verbose ARGS`, CONFIG naming the snapshot's hooks."""
    config = pc_home / "config.yaml"
    if not config.exists():
        sha = subprocess.run(["git", "-C", str(hook_repo), "rev-parse", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        config.write_text(
            f"repos:\n  - repo: {hook_repo}\n    rev: {sha}\n    hooks:\n"
            "      - {id: nhi-gate}\n      - {id: nhi-gate-commit-msg}\n"
            "      - {id: nhi-gate-pre-push}\n", encoding="utf-8")
    return subprocess.run(
        ["pre-commit", "run", "-c", str(config), hook, "--verbose", *args],
        cwd=repo.path, env=_env(pc_home, None), capture_output=True, text=True, check=False,
    )


def test_manifest_validates(tmp_path: Path) -> None:
    ok = subprocess.run(["pre-commit", "validate-manifest", str(MANIFEST)],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(MANIFEST.read_text(encoding="utf-8").replace("types: [text]",
                                                                "types: [textt]"),
                   encoding="utf-8")
    failed = subprocess.run(["pre-commit", "validate-manifest", str(bad)],
                            capture_output=True, text=True, check=False)
    assert failed.returncode == 1 and "textt" in failed.stdout


def test_pre_commit_stage_blocks_agent_committer(
    make_repo: Any, hook_repo: Path, pc_home: Path
) -> None:
    repo = make_repo()
    repo.commit({"README.md": "x\n"})
    repo.git("config", "user.name", COPILOT[0])
    repo.git("config", "user.email", COPILOT[1])
    repo.stage({"infra/iam.tf": SA_KEY, "notes.md": "not checked\n"})
    run = try_repo(repo, hook_repo, pc_home, "nhi-gate", "--files", "infra/iam.tf", "notes.md")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "nhi-gate (identities in staged files)" in run.stdout
    assert "Failed" in run.stdout
    assert "L1  NHI101  error  BLOCKING  google_service_account.deployer" in run.stdout
    assert "notes.md" not in run.stdout.split("hook id: nhi-gate", 1)[1]


def test_pre_commit_stage_passes_human_documented(
    make_repo: Any, hook_repo: Path, pc_home: Path
) -> None:
    repo = make_repo()
    repo.commit({"README.md": "x\n"})
    repo.stage({"infra/etl.tf": DOCUMENTED})
    run = run_configured(repo, hook_repo, pc_home, "nhi-gate", "--files", "infra/etl.tf")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Passed" in run.stdout


def test_pre_commit_stage_blocks_a_staged_state_file_by_a_human(
    make_repo: Any, hook_repo: Path, pc_home: Path
) -> None:
    """The manifest's `files` pattern passes `.tfstate` and `.tfstate.backup` files (JSON of no
    known format) to the hook, and NHI408 blocks a human's commit of them."""
    repo = make_repo()
    repo.commit({"README.md": "x\n"})
    state = '{\n  "version": 4,\n  "resources": []\n}\n'
    repo.stage({"infra/terraform.tfstate": state, "infra/terraform.tfstate.backup": state})
    run = run_configured(repo, hook_repo, pc_home, "nhi-gate", "--files",
                         "infra/terraform.tfstate", "infra/terraform.tfstate.backup")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "Failed" in run.stdout
    assert run.stdout.count("NHI408  error  BLOCKING") == 2, run.stdout


def test_commit_msg_hook(make_repo: Any, hook_repo: Path, pc_home: Path) -> None:
    repo = make_repo()
    repo.commit({"README.md": "x\n"})
    repo.git("config", "user.email", COPILOT[1])
    msg = repo.path / "msg.txt"
    msg.write_text("Add deployer\n", encoding="utf-8")
    args = ("--hook-stage", "commit-msg", "--commit-msg-filename", "msg.txt")
    run = try_repo(repo, hook_repo, pc_home, "nhi-gate-commit-msg", *args)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "NHI103" in run.stdout and "Requested-by" in run.stdout
    msg.write_text("Add deployer\n\nRequested-by: Alice <alice@example.com>\n", encoding="utf-8")
    run = run_configured(repo, hook_repo, pc_home, "nhi-gate-commit-msg", *args)
    assert run.returncode == 0, run.stdout + run.stderr


def test_pre_push_hook_uses_the_pushed_range(
    make_repo: Any, hook_repo: Path, pc_home: Path
) -> None:
    repo = make_repo()
    base, head = agent_branch(repo, {"infra/iam.tf": SA_KEY})
    run = try_repo(repo, hook_repo, pc_home, "nhi-gate-pre-push", "--hook-stage", "pre-push",
                   "--from-ref", base, "--to-ref", head)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "NHI101" in run.stdout and "google_service_account.deployer" in run.stdout
    # a range without the agent commit passes
    human = repo.commit({"README.md": "y\n"}, author=HUMAN, message="docs")
    run = run_configured(repo, hook_repo, pc_home, "nhi-gate-pre-push", "--hook-stage",
                         "pre-push", "--from-ref", head, "--to-ref", human)
    assert run.returncode == 0, run.stdout + run.stderr


def test_pre_push_without_refs_checks_the_whole_branch(
    make_repo: Any, hook_repo: Path, pc_home: Path
) -> None:
    repo = make_repo()
    agent_branch(repo, {"infra/iam.tf": SA_KEY})
    repo.commit({"README.md": "y\n"}, author=HUMAN, message="docs")
    run = run_configured(repo, hook_repo, pc_home, "nhi-gate-pre-push", "--hook-stage",
                         "pre-push", "--all-files")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "NHI101" in run.stdout


@pytest.mark.parametrize("argv", [
    ["hook", "infra/iam.tf"],
    ["commit-msg", "msg.txt"],
    ["check", "--pre-push"],
])
def test_hooks_do_not_import_pygithub(make_repo: Any, argv: list[str]) -> None:
    repo = make_repo()
    agent_branch(repo, {"infra/iam.tf": SA_KEY})
    (repo.path / "msg.txt").write_text("x\n", encoding="utf-8")
    repo.stage({"infra/iam.tf": SA_KEY + "\n" + DOCUMENTED})
    code = (
        "import sys\n"
        "from checker.cli import main\n"
        f"rc = main({argv!r})\n"
        "loaded = sorted(m for m in sys.modules if m == 'github' or m.startswith('github.'))\n"
        "print('RC', rc, 'GITHUB', loaded)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    out = subprocess.run([sys.executable, "-c", code], cwd=repo.path, env=env,
                         capture_output=True, text=True, check=False)
    assert "GITHUB []" in out.stdout, out.stdout + out.stderr
    assert "RC 1" in out.stdout or "RC 0" in out.stdout, out.stderr


def test_pre_push_first_push_of_the_default_branch(
    make_repo: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No refs and no other branch to compare with: everything after the root commit counts."""
    from checker.cli import main

    repo = make_repo()
    repo.commit({"README.md": "x\n"}, author=HUMAN)
    repo.commit({"infra/iam.tf": SA_KEY}, author=COPILOT, message="Add SA")
    for var in ("PRE_COMMIT_FROM_REF", "PRE_COMMIT_TO_REF", "GITHUB_EVENT_PATH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(repo.path)
    assert main(["check", "--pre-push", "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert '"rule_id": "NHI101"' in out
