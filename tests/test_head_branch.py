"""The head branch's name reaches branch evidence however the head is given (issue 14,
"Explicit --head drops branch evidence"): `--head HEAD` on the branch, `--head <branch>`,
`--head-ref`, `GITHUB_HEAD_REF` and the event's `pull_request.head.ref`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main

KEY = 'resource "aws_iam_access_key" "ci" {\n  user = "ci"\n}\n'
CONFIG = "agents: {branches: ['ai/*']}\n"


def _branch_change(repo: GitRepo) -> tuple[str, str]:
    """Base on `main` with the config; branch `ai/keys` with a commit that has no agent
    evidence but its branch name. Returns (base, head)."""
    base = repo.commit({".nhi-gate.yaml": CONFIG}, author=HUMAN)
    repo.checkout("ai/keys", create=True)
    head = repo.commit({"iam.tf": KEY}, author=HUMAN)
    return base, head


def _run(repo: GitRepo, base: str, *extra: str,
         capsys: pytest.CaptureFixture[str]) -> tuple[int, set[tuple[str, str, bool]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, *extra, "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    return code, {(f["rule_id"], f["actor_kind"], f["blocking"]) for f in findings}


@pytest.mark.parametrize("head", ["HEAD", "ai/keys", "SHA"])
def test_explicit_head_keeps_the_branch_evidence(
        make_repo: Callable[..., GitRepo], head: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GITHUB_HEAD_REF", raising=False)
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    repo = make_repo()
    base, sha = _branch_change(repo)
    code, found = _run(repo, base, "--head", sha if head == "SHA" else head, capsys=capsys)
    assert code == 1
    assert ("NHI101", "agent", True) in found


def test_head_ref_and_the_event_name_a_detached_head(
        make_repo: Callable[..., GitRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GITHUB_HEAD_REF", raising=False)
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    repo = make_repo()
    base, head = _branch_change(repo)
    repo.git("checkout", "--quiet", "--detach", base)
    code, found = _run(repo, base, "--head", head, capsys=capsys)
    assert code == 0 and all(kind == "human" for _, kind, _ in found)
    code, found = _run(repo, base, "--head", head, "--head-ref", "ai/keys", capsys=capsys)
    assert (code, ("NHI101", "agent", True) in found) == (1, True)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"base": {"sha": base},
                                                  "head": {"sha": head, "ref": "ai/keys"}}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    code, found = _run(repo, base, "--head", head, capsys=capsys)
    assert (code, ("NHI101", "agent", True) in found) == (1, True)
