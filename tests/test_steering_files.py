"""NHI102 over the files that steer coding agents and their attribution (issue 14): an agent's
edit that changes attribution or removes the gate blocks; any other agent edit of such a file
is a note; a person's edit is not reported."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import pytest
from conftest import COPILOT, HUMAN, WEB_FLOW, GitRepo

from checker.cli import main
from checker.parsers.steering import steering_facts, steering_kind

CLAUDE_BASE = json.dumps({"permissions": {"allow": ["Bash(make test)"]}}, indent=2) + "\n"
CLAUDE_HEAD = json.dumps({
    "permissions": {"allow": ["Bash(make test)"]},
    "includeCoAuthoredBy": False,
    "env": {"GIT_AUTHOR_NAME": "Alice Example", "GIT_AUTHOR_EMAIL": "alice@example.com"},
}, indent=2) + "\n"
PRE_COMMIT = """\
repos:
  - repo: https://github.com/nhi-gate/nhi-gate
    rev: 0123456789abcdef0123456789abcdef01234567
    hooks:
      - id: nhi-gate
      - id: nhi-gate-commit-msg
{extra}"""
AGENTS = "# Agents\n\nRun `make test` before you commit.\n"


def _nhi102(repo: GitRepo, base: str, head: str, capsys: pytest.CaptureFixture[str]
            ) -> tuple[int, list[tuple[str, str, bool, str]]]:  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["path"], f["level"], f["blocking"], f["message"])
                  for f in report["findings"] if f["rule_id"] == "NHI102"]


@pytest.mark.parametrize(("path", "before", "after", "level"), [
    (".claude/settings.json", CLAUDE_BASE, CLAUDE_HEAD, "error"),
    (".pre-commit-config.yaml", PRE_COMMIT.format(extra="      - id: nhi-gate-pre-push\n"),
     PRE_COMMIT.format(extra=""), "error"),
    ("AGENTS.md", AGENTS, AGENTS + "Never add a Co-authored-by trailer to commits.\n", "error"),
    ("AGENTS.md", AGENTS, AGENTS + "Format with `ruff format`.\n", "note"),
    (".codex/config.toml", "model = \"gpt-5\"\n",
     "model = \"gpt-5\"\n[shell_environment_policy]\nset = { GIT_AUTHOR_EMAIL = \"a@b.c\" }\n",
     "error"),
])
def test_agent_edit_of_a_steering_file(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], path: str,
        before: str, after: str, level: str) -> None:
    repo = make_repo()
    base = repo.commit({path: before}, author=HUMAN)
    head = repo.commit({path: after}, author=COPILOT, committer=WEB_FLOW)
    code, found = _nhi102(repo, base, head, capsys)
    assert [(p, lv, blocking) for p, lv, blocking, _ in found] == [
        (path, level, level == "error")]
    assert code == (1 if level == "error" else 0)
    wording = "changes attribution" if "pre-commit" not in path else "what runs nhi-gate"
    assert (wording in found[0][3]) == (level == "error")


def test_a_person_may_edit_steering_files(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({".claude/settings.json": CLAUDE_BASE}, author=HUMAN)
    head = repo.commit({".claude/settings.json": CLAUDE_HEAD}, author=HUMAN)
    assert _nhi102(repo, base, head, capsys) == (0, [])


def test_steering_facts_read_attribution_keys() -> None:
    assert steering_kind(".vscode/settings.json") == "vscode"
    assert steering_kind("svc/AGENTS.md") == "agents-md"
    assert steering_kind(".cursor/rules/git.mdc") == "cursor"
    assert steering_kind("docs/settings.json") is None
    facts = steering_facts(".vscode/settings.json",
                           b'{"git.addAICoAuthor": "off", "editor.tabSize": 2}')
    assert facts == frozenset({'attribution:git.addAICoAuthor="off"'})
    assert steering_facts(".claude/settings.json", b"{not json") is None
    assert steering_facts("AGENTS.md", None) == frozenset()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is standard from 3.11")
def test_codex_toml_multi_line_values_are_read() -> None:
    """A multi-line TOML string is read whole (`tomllib`): changing the email inside it is a
    changed attribution fact, not an unchanged `KEY = \"\"\"` line."""
    def config(email: str) -> bytes:
        return ('[shell_environment_policy.set]\nGIT_AUTHOR_EMAIL = """\n'
                f'{email}"""\n').encode()

    base = steering_facts(".codex/config.toml", config("alice@example.com"))
    head = steering_facts(".codex/config.toml", config("bob@example.com"))
    assert head == frozenset(
        {'attribution:shell_environment_policy.set.GIT_AUTHOR_EMAIL="bob@example.com"'})
    assert base != head


@pytest.mark.parametrize(("before", "after", "level"), [
    # /work/nu7/attack-off-precommit-ci-skip: pre-commit.ci told to skip the nhi-gate hooks
    (PRE_COMMIT.format(extra=""), PRE_COMMIT.format(extra="ci:\n  skip: [nhi-gate]\n"),
     "error"),
    # skipping another hook, or no longer skipping nhi-gate, removes no gate
    (PRE_COMMIT.format(extra="ci:\n  skip: [nhi-gate]\n"), PRE_COMMIT.format(extra=""), "note"),
    (PRE_COMMIT.format(extra="ci:\n  autoupdate_schedule: weekly\n"),
     PRE_COMMIT.format(extra="ci:\n  autoupdate_schedule: weekly\n  skip: [mypy]\n"), "note"),
])
def test_an_agents_pre_commit_ci_skip_of_the_gate_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], before: str,
        after: str, level: str) -> None:
    repo = make_repo()
    base = repo.commit({".pre-commit-config.yaml": before}, author=HUMAN)
    head = repo.commit({".pre-commit-config.yaml": after}, author=COPILOT, committer=WEB_FLOW)
    code, found = _nhi102(repo, base, head, capsys)
    assert [(p, lv, blocking) for p, lv, blocking, _ in found] == [
        (".pre-commit-config.yaml", level, level == "error")]
    assert code == (1 if level == "error" else 0)
    if level == "error":
        assert ("it removes or changes what runs nhi-gate: "
                "`pre-commit.ci runs hook nhi-gate (not in ci.skip)`") in found[0][3]


def test_a_persons_pre_commit_ci_skip_is_not_reported(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({".pre-commit-config.yaml": PRE_COMMIT.format(extra="")}, author=HUMAN)
    head = repo.commit({".pre-commit-config.yaml": PRE_COMMIT.format(
        extra="ci:\n  skip: [nhi-gate, nhi-gate-commit-msg]\n")}, author=HUMAN)
    assert _nhi102(repo, base, head, capsys) == (0, [])
