"""Offline approval with real SSH keys (`ssh-keygen`), real `git commit -S` with
`gpg.format=ssh`, real `git verify-commit` against the BASE revision's allowed-signers file;
plus NHI102 (policy changed by an agent), NHI103/NHI104 and `nhi-gate commit-msg`."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import CLAUDE_TRAILER, COPILOT, HUMAN, REVIEWER, GitRepo, Identity
from test_check_e2e import validate_sarif

from checker.cli import main

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")

SA = """\
# nhi-gate: owner=team-data ticket=DATA-1
resource "google_service_account" "etl" {
  account_id = "etl"
}
"""
SA_B = """\
# nhi-gate: owner=team-data ticket=DATA-2
resource "google_service_account" "loader" {
  account_id = "loader"
}
"""
SIGNERS = ".github/allowed_signers"
CONFIG = f"approval:\n  allowed_signers: {SIGNERS}\n"


def keygen(tmp_path: Path, name: str) -> tuple[Path, str]:
    """A fresh ed25519 key pair; returns (private key path, public key line)."""
    key = tmp_path / "keys" / name
    key.parent.mkdir(exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                   check=True, capture_output=True)
    return key, key.with_suffix(".pub").read_text(encoding="utf-8").strip()


def signed_commit(repo: GitRepo, key: Path, files: dict[str, str] | None = None, *,
                  author: Identity = REVIEWER, message: str = "Approve",
                  trailers: Sequence[tuple[str, str]] = ()) -> str:
    """Stage `files` and make an SSH-signed commit with the real git CLI (`-S`)."""
    repo.stage(files or {})
    text = message + ("\n\n" + "\n".join(f"{k}: {v}" for k, v in trailers) if trailers else "")
    repo.git("-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "commit", "-S",
             "--quiet", "--allow-empty", "--cleanup=verbatim", "-F", "-",
             env=repo._env(author, None), input=(text + "\n").encode())
    return repo.sha()


APPROVE = [("Approved-by", f"{REVIEWER[0]} <{REVIEWER[1]}>")]


class Offline:
    """base (human: config + allowed signers) -> agent adds a service account."""

    def __init__(self, repo: GitRepo, tmp_path: Path, signers: str) -> None:
        self.repo, self.tmp = repo, tmp_path
        self.base = repo.commit({".nhi-gate.yaml": CONFIG, SIGNERS: signers,
                                 "README.md": "x\n"}, message="base")
        repo.checkout("claude/add-sa", create=True)
        self.agent = repo.commit({"infra/sa.tf": SA}, author=HUMAN, message="Add SA",
                                 trailers=[CLAUDE_TRAILER])

    def check(self, capsys: pytest.CaptureFixture[str], head: str | None = None,
              ) -> tuple[int, dict[str, Any], dict[str, Any], str]:
        sarif = self.tmp / "out.sarif"
        code = main(["check", "--repo", str(self.repo.path), "--base", self.base,
                     "--head", head or self.repo.sha(), "--format", "json",
                     "--sarif", str(sarif)])
        out, err = capsys.readouterr()
        return code, json.loads(out), validate_sarif(sarif), err


def by_rule(report: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["rule_id"] == rule]


@pytest.fixture
def bob_key(tmp_path: Path) -> tuple[Path, str]:
    return keygen(tmp_path, "bob")


@pytest.fixture
def offline(make_repo: Callable[..., GitRepo], tmp_path: Path,
            bob_key: tuple[Path, str]) -> Callable[..., Offline]:
    def factory(signers: str | None = None) -> Offline:
        text = signers if signers is not None else f"{REVIEWER[1]} {bob_key[1]}\n"
        return Offline(make_repo(), tmp_path, text)
    return factory


def test_signed_approval_by_allowed_signer_passes(
    offline: Callable[..., Offline], bob_key: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    o = offline()
    code, report, _, err = o.check(capsys)
    assert code == 1  # control: without the approval the agent's identity blocks
    approval = signed_commit(o.repo, bob_key[0], trailers=APPROVE)
    code, report, sarif, err = o.check(capsys)
    assert code == 0, err
    [f] = by_rule(report, "NHI101")
    assert (f["approved"], f["blocking"], f["commit"], f["start_line"]) == (
        True, False, o.agent, 2)
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "NHI101")
    assert result["suppressions"] == [{
        "kind": "external", "status": "accepted",
        "justification": f"Approved by {REVIEWER[1]} (signed commit {approval[:12]})",
    }]


def test_signer_key_added_by_agent_inside_the_change_blocks(
    offline: Callable[..., Offline], bob_key: tuple[Path, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, alice_pub = keygen(tmp_path, "alice")
    o = offline(signers=f"{HUMAN[1]} {alice_pub}\n")
    o.repo.commit({SIGNERS: f"{HUMAN[1]} {alice_pub}\n{REVIEWER[1]} {bob_key[1]}\n"},
                  author=COPILOT, message="trust bob")
    signed_commit(o.repo, bob_key[0], trailers=APPROVE)
    code, report, sarif, err = o.check(capsys)
    assert code == 1
    [trust] = by_rule(report, "NHI102")
    assert (trust["path"], trust["start_line"], trust["blocking"], trust["actor_kind"]) == (
        SIGNERS, 2, True, "agent")
    assert not by_rule(report, "NHI101")[0]["approved"]
    assert "signature does not verify against" in err
    assert any(r["ruleId"] == "NHI102" for r in sarif["runs"][0]["results"])


def test_unsigned_approved_by_trailer_blocks(
    offline: Callable[..., Offline], capsys: pytest.CaptureFixture[str]
) -> None:
    o = offline()
    o.repo.commit(author=REVIEWER, message="Approve", trailers=APPROVE, allow_empty=True)
    code, report, _, err = o.check(capsys)
    assert code == 1
    assert not by_rule(report, "NHI101")[0]["approved"]
    assert "the approval commit is not signed" in err


def test_agent_commit_after_a_valid_approval_blocks(
    offline: Callable[..., Offline], bob_key: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    o = offline()
    signed_commit(o.repo, bob_key[0], trailers=APPROVE)
    late = o.repo.commit({"infra/loader.tf": SA_B}, author=COPILOT, message="one more")
    code, report, _, _ = o.check(capsys)
    assert code == 1
    found = {f["path"]: (f["approved"], f["blocking"], f["commit"])
             for f in by_rule(report, "NHI101")}
    assert found == {"infra/sa.tf": (True, False, o.agent),
                     "infra/loader.tf": (False, True, late)}


def test_agent_edit_of_an_approved_identity_needs_new_approval(
    offline: Callable[..., Offline], bob_key: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    o = offline()
    signed_commit(o.repo, bob_key[0], trailers=APPROVE)
    o.repo.commit({"infra/sa.tf": SA.replace('"etl"\n}', '"etl"\n  disabled = false\n}')},
                  author=COPILOT, message="tweak")
    code, report, _, _ = o.check(capsys)
    assert code == 1
    [f] = by_rule(report, "NHI101")
    assert (f["approved"], f["blocking"]) == (False, True)
    signed_commit(o.repo, bob_key[0], trailers=APPROVE, message="Approve again")
    code, report, _, err = o.check(capsys)
    assert code == 0, err


def test_approval_signed_by_a_key_not_in_base_signers_blocks(
    offline: Callable[..., Offline], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eve_key, _ = keygen(tmp_path, "eve")
    o = offline()
    signed_commit(o.repo, eve_key, trailers=APPROVE)
    code, _, _, err = o.check(capsys)
    assert code == 1
    assert "signature does not verify against" in err


def test_approval_commit_by_an_agent_does_not_count(
    offline: Callable[..., Offline], bob_key: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    o = offline()
    signed_commit(o.repo, bob_key[0], author=COPILOT, trailers=APPROVE)
    code, _, _, err = o.check(capsys)
    assert code == 1
    assert "the approval commit is by an agent, not a human" in err


def test_approved_by_must_name_the_signer(
    offline: Callable[..., Offline], bob_key: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    o = offline()
    signed_commit(o.repo, bob_key[0], trailers=[("Approved-by", "Carol <carol@example.com>")])
    code, _, _, err = o.check(capsys)
    assert code == 1
    assert "Approved-by names carol@example.com but the commit is signed by bob@example.com" in err


def test_signer_who_co_authored_the_agent_commit_cannot_approve(
    make_repo: Callable[..., GitRepo], tmp_path: Path, bob_key: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    o = Offline.__new__(Offline)
    o.repo, o.tmp = repo, tmp_path
    o.base = repo.commit({".nhi-gate.yaml": CONFIG, SIGNERS: f"{REVIEWER[1]} {bob_key[1]}\n"})
    o.agent = repo.commit({"infra/sa.tf": SA}, author=REVIEWER, message="Add SA",
                          trailers=[CLAUDE_TRAILER])
    signed_commit(repo, bob_key[0], trailers=APPROVE)
    code, _, _, err = o.check(capsys)
    assert code == 1
    assert "co-authored an agent commit it would approve" in err


def test_config_change_by_agent_is_nhi102_and_not_applied(
    offline: Callable[..., Offline], capsys: pytest.CaptureFixture[str]
) -> None:
    o = offline()
    o.repo.commit({".nhi-gate.yaml": CONFIG + "fail_on: never\n"}, author=COPILOT,
                  message="relax")
    code, report, _, _ = o.check(capsys)
    assert code == 1  # base config (fail_on: error) still judges the change
    [trust] = by_rule(report, "NHI102")
    assert (trust["path"], trust["start_line"], trust["level"]) == (".nhi-gate.yaml", 3, "error")


def test_deleting_codeowners_by_agent_is_nhi102(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    base = repo.commit({"CODEOWNERS": "* @erin\n", "README.md": "x\n"})
    head = repo.commit({"CODEOWNERS": None}, author=COPILOT, message="drop owners")
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    [trust] = by_rule(report, "NHI102")
    assert (trust["path"], trust["start_line"], trust["commit"]) == ("CODEOWNERS", 1, head)


def test_human_change_to_policy_is_not_nhi102(
    offline: Callable[..., Offline], capsys: pytest.CaptureFixture[str]
) -> None:
    o = offline()
    o.repo.commit({".nhi-gate.yaml": CONFIG + "fail_on: error\n"}, author=HUMAN)
    _, report, _, _ = o.check(capsys)
    assert not by_rule(report, "NHI102")


# -- NHI103 / NHI104 -------------------------------------------------------------------------


def test_nhi103_requester_or_ticket_trailer(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    bare = repo.commit({"infra/sa.tf": SA}, author=COPILOT, message="Add SA")
    asked = repo.commit({"infra/loader.tf": SA_B}, author=COPILOT, message="Add loader",
                        trailers=[("Requested-by", "Alice Example <alice@example.com>")])
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", asked,
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    [f] = by_rule(report, "NHI103")
    assert (f["path"], f["start_line"], f["commit"], f["level"], f["address"]) == (
        "infra/sa.tf", 2, bare, "warning", "google_service_account.etl")


@pytest.mark.parametrize(
    ("trailer", "ok"),
    [
        (("Ticket", "OPS-12"), True),
        (("Refs", "JIRA-9"), True),
        (("Requested-by", "Alice <alice@example.com>"), True),
        (("Requested-by", "Copilot <198982749+Copilot@users.noreply.github.com>"), False),
        (("Requested-by", "dependabot[bot]"), False),
        (("Reviewed-by", "Alice <alice@example.com>"), False),
    ],
)
def test_commit_msg_stage(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    trailer: tuple[str, str], ok: bool,
) -> None:
    git_repo.commit({"README.md": "x\n"})
    monkeypatch.chdir(git_repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", COPILOT[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", COPILOT[1])
    msg = git_repo.path / "MSG"
    msg.write_text(f"Add SA\n\n{trailer[0]}: {trailer[1]}\n", encoding="utf-8")
    assert main(["commit-msg", str(msg)]) == (0 if ok else 1)
    err = capsys.readouterr().err
    assert ("NHI103" in err) is (not ok)


def test_commit_msg_human_passes_without_trailers(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    git_repo.commit({"README.md": "x\n"})
    monkeypatch.chdir(git_repo.path)
    msg = git_repo.path / "MSG"
    msg.write_text("Docs\n", encoding="utf-8")
    assert main(["commit-msg", str(msg)]) == 0
    msg.write_text(f"Docs\n\nCo-authored-by: {CLAUDE_TRAILER[1]}\n", encoding="utf-8")
    assert main(["commit-msg", str(msg)]) == 1  # the trailer makes it an agent commit


def test_nhi104_unsigned_agent_commit_when_required(
    make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, pub = keygen(tmp_path, "agent")
    repo = make_repo()
    base = repo.commit({
        ".nhi-gate.yaml": "approval:\n  require_signed_agent_commits: true\n"
                          f"  allowed_signers: {SIGNERS}\n",
        SIGNERS: f"{COPILOT[1]} {pub}\n",
    })
    unsigned = repo.commit({"infra/sa.tf": SA}, author=COPILOT, message="Add SA")
    signed_commit(repo, key, {"infra/loader.tf": SA_B}, author=COPILOT, message="Add loader")
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", repo.sha(),
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    [f] = by_rule(report, "NHI104")
    assert (f["path"], f["start_line"], f["commit"], f["blocking"]) == (
        "infra/sa.tf", 2, unsigned, True)


def test_nhi104_off_by_default(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    head = repo.commit({"infra/sa.tf": SA}, author=COPILOT, message="Add SA")
    main(["check", "--repo", str(repo.path), "--base", base, "--head", head, "--format", "json"])
    assert not by_rule(json.loads(capsys.readouterr().out), "NHI104")
