"""Secret material that leaves the range's history but not head: a commit adds a credential, a
later commit of the same branch deletes or replaces it. Head is clean, yet a merge that keeps
the commits publishes the credential, so `check` reports it (NHI401 on the path, line and
commit that added it), blocking whoever wrote it (`commands.history`, `git.history`,
`sources.history`, `checks.secret_material.check_change`).

Token values are assembled at run time (no token-shaped literal in this file) and are not real.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from checker.git import history as git_history
from tests.conftest import HUMAN, GitRepo, check_findings, found_at

CLAUDE = ("Claude", "noreply@anthropic.com")
GITHUB_TOKEN = "ghp_" + "q8ZJr3kM2vT9xWb7nLpQ4sYd6Hf1GcEo5RuA"
AWS_KEY_ID = "AKIA" + "Z4QJ7MKTRXW2L5PN"
AWS_SECRET = "q8ZJr3kM2vT9xWb7" + "nLpQ4sYd6Hf1GcEo5RuAiK0t"
DOTENV = (f"GITHUB_TOKEN={GITHUB_TOKEN}\nAWS_ACCESS_KEY_ID={AWS_KEY_ID}\n"
          f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}\n")


def _range(make_repo: Callable[..., GitRepo], *changes: dict[str, str | None],
           author: tuple[str, str] = CLAUDE, base_files: dict[str, str] | None = None,
           ) -> tuple[GitRepo, str, list[str]]:
    repo = make_repo()
    base = repo.commit({"README.md": "# app\n", **(base_files or {})})
    repo.checkout("feature", create=True)
    shas = [repo.commit(files, author=author, message=f"step {n}")
            for n, files in enumerate(changes, start=1)]
    return repo, base, shas


def _nhi401(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f["rule_id"] == "NHI401"]


@pytest.mark.parametrize(("author", "actor"), [(CLAUDE, "agent"), (HUMAN, "human")])
def test_secret_added_then_deleted_in_the_range_blocks(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
    author: tuple[str, str], actor: str,
) -> None:
    repo, base, (added, _) = _range(make_repo, {"deploy/.env": DOTENV}, {"deploy/.env": None},
                                    author=author)
    code, findings = check_findings(repo, base, capsys)
    assert code == 1  # secret material blocks people too
    assert found_at(findings) == {("NHI401", "deploy/.env", 1, True),
                                  ("NHI401", "deploy/.env", 2, True),
                                  ("NHI401", "deploy/.env", 3, True)}
    assert {(f["commit"], f["actor_kind"], f["attribute"]) for f in findings} == {
        (added, actor, "history")}
    first = next(f for f in findings if f["start_line"] == 1)
    assert first["message"].startswith(
        "GitHub Token hardcoded in `GITHUB_TOKEN` (ghp_…(sha256:")
    assert f"by commit {added[:12]} is in the range's history" in first["message"]
    assert "Rotate it" in first["message"] and "squash" in first["message"]
    text = repr(findings)
    assert GITHUB_TOKEN not in text and AWS_SECRET not in text and AWS_KEY_ID not in text


def test_secret_replaced_by_a_reference_later_is_reported_on_the_commit_that_added_it(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
) -> None:
    workflow = ".github/workflows/ci.yml"
    job = ("on: push\npermissions: {}\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
           "    steps:\n      - run: make\n        env:\n          GH_TOKEN: {token}\n")
    repo, base, (added, _) = _range(
        make_repo, {"app/settings.py": f'TOKEN = "{GITHUB_TOKEN}"\nDEBUG = False\n',
                    workflow: job.replace("{token}", GITHUB_TOKEN)},
        {"app/settings.py": 'import os\nTOKEN = os.environ["TOKEN"]\nDEBUG = False\n',
         workflow: job.replace("{token}", "${{ secrets.GH_TOKEN }}")})
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    history = _nhi401(findings)
    # one finding per secret value: the second file's copy of the same token is not said twice
    assert [(f["path"], f["start_line"], f["commit"], f["blocking"]) for f in history] == [
        (".github/workflows/ci.yml", 9, added, True)]


def test_secret_still_at_head_is_reported_once_at_head(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
) -> None:
    repo, base, (added, _) = _range(
        make_repo, {"deploy/.env": DOTENV}, {"deploy/.env": DOTENV + "REGION=eu-west-1\n"})
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    # the first version is gone at head, but its secrets are head's findings: not twice
    assert {(f["start_line"], f["attribute"], f["commit"]) for f in _nhi401(findings)} == {
        (1, "GITHUB_TOKEN", added), (2, "AWS_ACCESS_KEY_ID", added),
        (3, "AWS_SECRET_ACCESS_KEY", added)}


def test_secret_the_base_already_had_is_not_the_ranges(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
) -> None:
    # base already holds the token (another finding's business); the agent renames the file,
    # edits it and deletes it: no commit of the range added the token
    repo, base, _ = _range(
        make_repo, {"deploy/.env": f"GITHUB_TOKEN={GITHUB_TOKEN}\nA=1\n", "config/.env": None},
        {"deploy/.env": f"GITHUB_TOKEN={GITHUB_TOKEN}\nA=2\n"}, {"deploy/.env": None},
        base_files={"config/.env": f"GITHUB_TOKEN={GITHUB_TOKEN}\nA=1\n"})
    code, findings = check_findings(repo, base, capsys)
    assert (code, _nhi401(findings)) == (0, [])


def test_placeholders_in_history_do_not_fire(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
) -> None:
    """(An agent's token under an excluded path does fire since session 12:
    `tests/test_secret_reach.py`; a person's is a note.)"""
    repo, base, _ = _range(
        make_repo,
        {"deploy/.env": "GITHUB_TOKEN=ghp_" + "x" * 36 + "\nAWS_ACCESS_KEY_ID=AKIAIOSFODNN7"
         + "EXAMPLE\n", "examples/.env": "DB_PASSWORD=Xk9q2LmZ7vRt4WpB\n"},
        {"deploy/.env": None, "examples/.env": None},
        base_files={".nhi-gate.yaml": "exclude: ['examples/**']\n"})
    code, findings = check_findings(repo, base, capsys)
    assert (code, _nhi401(findings)) == (0, [])


def test_history_is_read_with_one_git_log(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo, base, _ = _range(make_repo, {"deploy/.env": DOTENV}, {"deploy/.env": "A=1\n"},
                           {"deploy/.env": "A=2\n"}, {"deploy/.env": None})
    calls: list[tuple[str, ...]] = []
    run_git = git_history.run_git

    def counting(repo_: Any, *args: str) -> bytes:
        calls.append(args)
        return run_git(repo_, *args)

    monkeypatch.setattr(git_history, "run_git", counting)
    code, findings = check_findings(repo, base, capsys)
    assert code == 1 and len(_nhi401(findings)) == 3
    assert [a[0] for a in calls] == ["log"]


def test_side_branch_merged_into_the_range_is_searched_and_main_merged_in_is_not(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    repo.commit({"README.md": "# app\n"})
    repo.checkout("feature", create=True)
    repo.commit({"app.txt": "one\n"}, author=CLAUDE)
    # main moves on: a person adds a token and removes it again, and main is merged in
    repo.checkout("main")
    repo.commit({"ops/.env": f"GITHUB_TOKEN={GITHUB_TOKEN}\n"})
    repo.commit({"ops/.env": "GITHUB_TOKEN=\n"})
    main_tip = repo.sha()
    repo.checkout("feature")
    repo.merge("main")
    # an agent's side branch adds AWS keys and deletes them; merged without squashing
    repo.checkout("agent/side", create=True)
    added = repo.commit({"deploy/.env": DOTENV.split("\n", 1)[1]}, author=CLAUDE)
    repo.commit({"deploy/.env": None}, author=CLAUDE)
    repo.checkout("feature")
    repo.merge("agent/side")
    code, findings = check_findings(repo, main_tip, capsys)
    assert code == 1
    assert [(f["path"], f["start_line"], f["commit"], f["actor_kind"], f["blocking"])
            for f in _nhi401(findings)] == [("deploy/.env", 1, added, "agent", True),
                                            ("deploy/.env", 2, added, "agent", True)]


STATE = ('{"version": 4, "terraform_version": "1.6.0", "serial": 1, "lineage": "x",\n'
         ' "outputs": {},\n "resources": [{"mode": "managed", "type": "random_password",\n'
         '   "name": "p", "instances": [{"attributes": {"result": "'
         + "Zq8mVn2" + 'kLp9wX"}}]}]}\n')


@pytest.mark.parametrize("path", ["terraform.tfstate", "infra/prod.tfstate.backup"])
def test_terraform_state_added_then_deleted_in_the_range_blocks(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], path: str,
) -> None:
    repo, base, (added, _) = _range(make_repo, {path: STATE}, {path: None})
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    assert found_at(findings) == {("NHI408", path, 1, True)}
    only = findings[0]
    assert (only["commit"], only["actor_kind"], only["attribute"]) == (added, "agent", "history")
    assert f"{path} as commit {added[:12]} wrote it is Terraform state" in only["message"]
    assert "Zq8mVn2" not in repr(findings)


def test_terraform_state_still_at_head_is_said_once(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
) -> None:
    repo, base, _ = _range(make_repo, {"terraform.tfstate": STATE},
                           {"terraform.tfstate": STATE.replace('"serial": 1', '"serial": 2')})
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    assert [f["rule_id"] for f in findings] == ["NHI408"]
    assert findings[0]["attribute"] == "state"
