"""Where secret material is searched (session 12, slice fixCI, attacks
`secret-file-with-nul-byte` and `secret-in-excluded-folder`): a dotenv file or a script that
is binary only by a NUL byte (a shell still sources it) is searched like text, while a real
binary is not; and a format token an agent or bot writes under a folder the base config
excludes still blocks (a person's is a note: the exclusion is the owners' choice for their
fixtures and samples). Real git repos: base by a human, head by Claude or by a person."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings, found_at

CLAUDE = ("Claude", "noreply@anthropic.com")
TOKEN = "ghp_" + "hGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rES"  # assembled: no token-shaped literal
ENV = f"GITHUB_TOKEN={TOKEN}\n".encode()
SCRIPT = f"#!/bin/sh\nexport GITHUB_TOKEN={TOKEN}\ngh release list\n".encode()
#: A PNG's signature and an IHDR chunk, then a text chunk holding a token: a real binary.
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\x1ctEXtComment\x00" + ENV + b"\xde\xad\xbe\xef")


def _check(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
           files: Mapping[str, str | bytes], author: tuple[str, str] = CLAUDE,
           base: Mapping[str, str] | None = None) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    repo.commit({"README.md": "# app\n", **(base or {})}, author=HUMAN)
    repo.checkout("claude/tools", create=True)
    repo.commit(dict(files), author=author, message="add release tooling",
                trailers=[("Requested-by", "Alice Admin <alice@corp.example>")])
    return check_findings(repo, "main", capsys)


@pytest.mark.parametrize("author", [CLAUDE, HUMAN], ids=["agent", "person"])
def test_a_file_binary_only_by_a_nul_byte_is_searched(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str]) -> None:
    """`tools.env` and `deploy.sh` ending in one NUL byte (git says `Bin`), and a script with
    a NUL past git's 8 KiB probe: the token blocks whoever wrote it, at its line."""
    late = SCRIPT + b"#" * 9000 + b"\n\x00\n"
    code, findings = _check(make_repo, capsys, {"tools.env": ENV + b"\x00",
                                                "deploy.sh": SCRIPT + b"\x00",
                                                "bin/release": late}, author)
    assert code == 1
    assert found_at(findings) == {("NHI401", "tools.env", 1, True),
                                  ("NHI401", "deploy.sh", 2, True),
                                  ("NHI401", "bin/release", 2, True)}
    message = next(f["message"] for f in findings if f["path"] == "tools.env")
    assert "GITHUB_TOKEN" in message and TOKEN not in message


def test_a_real_binary_is_not_searched(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A PNG (invalid UTF-8 from its first byte) is not text, whatever its chunks hold."""
    code, findings = _check(make_repo, capsys, {"docs/logo.png": PNG})
    assert (code, found_at(findings)) == (0, set())


CONFIG = {".nhi-gate.yaml": 'exclude: ["examples/**"]\n'}
EXAMPLE = {"examples/.env": f"GITHUB_TOKEN={TOKEN}\n",
           "examples/main.tf": f'provider "github" {{\n  token = "{TOKEN}"\n}}\n'}


@pytest.mark.parametrize("author", [CLAUDE, ("renovate[bot]",
                         "29139614+renovate[bot]@users.noreply.github.com")], ids=["agent", "bot"])
def test_a_token_an_agent_writes_under_an_excluded_folder_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str]) -> None:
    """The README's own sample config excludes `examples/**`: identity noise, not secrets."""
    code, findings = _check(make_repo, capsys, EXAMPLE, author, base=CONFIG)
    assert code == 1
    assert found_at(findings) == {("NHI401", "examples/.env", 1, True),
                                  ("NHI401", "examples/main.tf", 2, True)}
    assert all(f["level"] == "error" for f in findings)
    message = next(f["message"] for f in findings if f["path"] == "examples/.env")
    assert "under a path the config excludes" in message and TOKEN not in message


def test_a_token_a_person_writes_under_an_excluded_folder_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _check(make_repo, capsys, EXAMPLE, HUMAN, base=CONFIG)
    assert code == 0
    assert {(f["rule_id"], f["path"], f["level"], f["blocking"]) for f in findings} == {
        ("NHI401", "examples/.env", "note", False), ("NHI401", "examples/main.tf", "note", False)}


def test_an_excluded_folder_stays_quiet_for_what_is_no_format_token(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Exclusion keeps its meaning: an agent's sample identity and a password-named key's
    literal there are not judged; only a token's shape is."""
    files = {"examples/iam.tf": 'resource "aws_iam_user" "demo" {\n  name = "demo"\n}\n',
             "examples/.env": "DB_PASSWORD=Xk9q2LmZ7vRt4WpB\n"}
    code, findings = _check(make_repo, capsys, files, base=CONFIG)
    assert (code, findings) == (0, [])


@pytest.mark.parametrize(("author", "level"), [(CLAUDE, "error"), (HUMAN, "note")],
                         ids=["agent", "person"])
def test_a_token_added_then_deleted_under_an_excluded_folder_is_in_history(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], level: str) -> None:
    """A token one commit writes to `examples/.env` and the next deletes is still published by
    a merge that keeps the commits: NHI401 on that commit, an error for an agent."""
    repo = make_repo()
    repo.commit({"README.md": "# app\n", **CONFIG}, author=HUMAN)
    repo.checkout("claude/tools", create=True)
    added = repo.commit({"examples/.env": f"GITHUB_TOKEN={TOKEN}\n"}, author=author,
                        message="add example", trailers=[("Requested-by", "Alice <a@corp.ex>")])
    repo.commit({"examples/.env": None}, author=author, message="drop it",
                trailers=[("Requested-by", "Alice <a@corp.ex>")])
    code, findings = check_findings(repo, "main", capsys)
    assert code == (1 if level == "error" else 0)
    assert [(f["rule_id"], f["path"], f["start_line"], f["level"], f["commit"])
            for f in findings] == [("NHI401", "examples/.env", 1, level, added)]
    assert "under a path the config excludes" in findings[0]["message"]
