"""NHI102 over more files that steer coding agents and how commits are attributed (issue 14):
Copilot and Cursor instructions, `CLAUDE.local.md`, `GEMINI.md`, git hooks (`.husky/`,
`.githooks/`) and a `core.hooksPath` change, a dev container's environment and `.envrc`. An
agent's edit that changes attribution blocks, any other agent edit is a note, a person's edit
is not reported."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.parsers.steering import steering_facts, steering_kind

AGENT = ("Claude", "noreply@anthropic.com")
STRIP = "Remove any `Co-authored-by:` trailer from commit messages.\n"
HOOK = "#!/bin/sh\nsed -i '/^Co-authored-by:/d' \"$1\"\n"
DEVCONTAINER = """{
  // the dev container (JSON with comments)
  "image": "mcr.microsoft.com/devcontainers/python:3.12",
  "containerEnv": {"GIT_AUTHOR_NAME": "Alice Example", "GIT_AUTHOR_EMAIL": "alice@example.com"}
}
"""
ENVRC = "export GIT_AUTHOR_NAME='Alice Example'\nexport GIT_COMMITTER_EMAIL=alice@example.com\n"
PACKAGE = json.dumps({"name": "app", "scripts": {
    "prepare": "git config core.hooksPath .githooks"}}, indent=2) + "\n"

#: (path, base content or None, head content, expected NHI102 level)
CASES = [
    (".github/copilot-instructions.md", "# Rules\n", "# Rules\n" + STRIP, "error"),
    (".github/instructions/commits.instructions.md", None, STRIP, "error"),
    (".cursorrules", "Use tabs.\n", "Use tabs.\n" + STRIP, "error"),
    (".cursor/rules/commits.mdc", None, STRIP, "error"),
    ("CLAUDE.local.md", None, STRIP, "error"),
    ("GEMINI.md", "# Gemini\n", "# Gemini\n" + STRIP, "error"),
    ("GEMINI.md", "# Gemini\n", "# Gemini\nRun the tests.\n", "note"),
    (".husky/prepare-commit-msg", None, HOOK, "error"),
    (".githooks/commit-msg", None, HOOK, "error"),
    (".husky/pre-push", "#!/bin/sh\nmake lint\n", "#!/bin/sh\nmake test\n", "note"),
    ("package.json", json.dumps({"name": "app"}) + "\n", PACKAGE, "error"),
    (".devcontainer/devcontainer.json", None, DEVCONTAINER, "error"),
    (".envrc", "layout python\n", "layout python\n" + ENVRC, "error"),
]


def _nhi102(repo: GitRepo, base: str, capsys: pytest.CaptureFixture[str]
            ) -> tuple[int, list[tuple[str, str, bool]]]:  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", repo.sha(),
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["path"], f["level"], f["blocking"])
                  for f in report["findings"] if f["rule_id"] == "NHI102"]


@pytest.mark.parametrize(("path", "before", "after", "level"), CASES)
def test_agent_edit_of_more_steering_files(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], path: str,
        before: str | None, after: str, level: str) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n", **({path: before} if before else {})}, author=HUMAN)
    repo.commit({path: after}, author=AGENT)
    code, found = _nhi102(repo, base, capsys)
    assert found == [(path, level, level == "error")]
    assert code == (1 if level == "error" else 0)


@pytest.mark.parametrize(("path", "before", "after", "level"), CASES)
def test_a_person_may_edit_more_steering_files(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], path: str,
        before: str | None, after: str, level: str) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n", **({path: before} if before else {})}, author=HUMAN)
    repo.commit({path: after}, author=HUMAN)
    assert _nhi102(repo, base, capsys) == (0, [])


def test_an_agent_edit_of_a_package_json_without_hooks_is_not_steering(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"package.json": '{"name": "app"}\n'}, author=HUMAN)
    repo.commit({"package.json": '{"name": "app", "version": "2.0.0"}\n'}, author=AGENT)
    assert _nhi102(repo, base, capsys) == (0, [])


def test_steering_facts_of_more_files() -> None:
    assert steering_kind("src/.cursorrules") == "cursor"
    assert steering_kind("docs/GEMINI.md") == "gemini-md"
    assert steering_kind(".husky/_/husky.sh") == "git-hook"
    assert steering_kind("README.md") is None
    assert steering_facts(".devcontainer/devcontainer.json", DEVCONTAINER.encode()) == {
        'attribution:containerEnv.GIT_AUTHOR_NAME="Alice Example"',
        'attribution:containerEnv.GIT_AUTHOR_EMAIL="alice@example.com"'}
    assert steering_facts(".envrc", ENVRC.encode()) == {
        "attribution:export GIT_AUTHOR_NAME='Alice Example'",
        "attribution:export GIT_COMMITTER_EMAIL=alice@example.com"}


VSCODE_BASE = """{
  // editor
  "editor.formatOnSave": true,
  /* the url below holds // and a comma before a bracket: "a,]" */
  "http.proxy": "http://proxy.example//x,]",
}
"""


@pytest.mark.parametrize(("added", "level"), [
    ('  "editor.tabSize": 2,\n', "note"),
    ('  "git.addAICoAuthor": "off", // no Copilot trailer\n', "error"),
])
def test_vscode_settings_with_comments_and_trailing_commas_are_read(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], added: str,
        level: str) -> None:
    # attack-fb-jsonc: JSONC (which VS Code accepts) was "unreadable at base" and blocked any edit
    repo = make_repo()
    path = ".vscode/settings.json"
    base = repo.commit({path: VSCODE_BASE}, author=HUMAN)
    repo.commit({path: VSCODE_BASE.replace("  // editor\n", "  // editor\n" + added)},
                author=AGENT)
    code, found = _nhi102(repo, base, capsys)
    assert found == [(path, level, level == "error")]
    assert code == (1 if level == "error" else 0)


def test_jsonc_facts_keep_strings_and_lines() -> None:
    assert steering_facts(".vscode/settings.json", VSCODE_BASE.encode()) == frozenset()
    settings = VSCODE_BASE.replace('"http.proxy"', '"git.addAICoAuthor": false, "http.proxy"')
    assert steering_facts(".vscode/settings.json", settings.encode()) == {
        "attribution:git.addAICoAuthor=false"}
    assert steering_facts(".vscode/settings.json", b'{"a": 1,, }') is None  # still invalid
