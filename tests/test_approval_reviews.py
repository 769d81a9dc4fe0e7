"""Approval: ticket trailers and signed agent commits. Regressions for two gaps a hostile new-user
test found:

1. `approval.require_signed_agent_commits` accepted an agent commit signed by ANY key git
   called good. A signature now counts only when `git` verifies it against the allowed-signers
   file as committed at the BASE revision (real `ssh-keygen` keys, real `git commit -S`).
2. A ticket trailer whose value is a placeholder (`Ticket: none`, `Refs: -`, ...) satisfied
   NHI103 and the `commit-msg` hook when no ticket pattern is configured.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import COPILOT, GitRepo
from test_approval_offline import SA, SA_B, SIGNERS, by_rule, keygen, signed_commit

from checker.cli import main
from checker.provenance.agents import load_agent_signatures
from checker.provenance.trailers import requester_problem, ticket_problem

needs_ssh = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")

AGENT_SIGNER = COPILOT[1]
REQUIRE = f"approval:\n  require_signed_agent_commits: true\n  allowed_signers: {SIGNERS}\n"


def check(repo: GitRepo, base: str, capsys: pytest.CaptureFixture[str]
          ) -> tuple[int, dict[str, Any], str]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", repo.sha(),
                 "--format", "json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def nhi104(report: dict[str, Any]) -> list[tuple[str, int, str, bool]]:
    return [(f["path"], f["start_line"], f["commit"], f["blocking"])
            for f in by_rule(report, "NHI104")]


# -- 1. signed agent commits must verify against the base allowed signers --------------------


@needs_ssh
def test_agent_commit_signed_by_a_key_not_in_base_signers_is_nhi104(
    make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trusted, trusted_pub = keygen(tmp_path, "agent")
    rogue, _ = keygen(tmp_path, "rogue")
    repo = make_repo()
    base = repo.commit({".nhi-gate.yaml": REQUIRE,
                        SIGNERS: f"{AGENT_SIGNER} {trusted_pub}\n", "README.md": "x\n"})
    good = signed_commit(repo, trusted, {"infra/sa.tf": SA}, author=COPILOT, message="Add SA",
                         trailers=[("Ticket", "OPS-1")])
    bad = signed_commit(repo, rogue, {"infra/loader.tf": SA_B}, author=COPILOT,
                        message="Add loader", trailers=[("Ticket", "OPS-2")])
    # control: git itself calls the rogue signature good when it is not asked about signers
    assert repo.git("-c", "gpg.format=ssh", "log", "--no-walk", "--format=%G?", bad) != "B"
    code, report, _ = check(repo, base, capsys)
    assert code == 1
    assert nhi104(report) == [("infra/loader.tf", 2, bad, True)]
    [f] = by_rule(report, "NHI104")
    assert "allowed-signers file at the base revision" in f["message"]
    assert good not in {f["commit"] for f in by_rule(report, "NHI104")}


@needs_ssh
def test_signer_added_by_the_change_itself_is_not_trusted(
    make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trusted, trusted_pub = keygen(tmp_path, "agent")
    rogue, rogue_pub = keygen(tmp_path, "rogue")
    repo = make_repo()
    base = repo.commit({".nhi-gate.yaml": REQUIRE,
                        SIGNERS: f"{AGENT_SIGNER} {trusted_pub}\n", "README.md": "x\n"})
    widen = signed_commit(repo, trusted,
                          {SIGNERS: f"{AGENT_SIGNER} {trusted_pub}\n{AGENT_SIGNER} {rogue_pub}\n"},
                          author=COPILOT, message="trust rogue", trailers=[("Ticket", "OPS-1")])
    bad = signed_commit(repo, rogue, {"infra/sa.tf": SA}, author=COPILOT, message="Add SA",
                        trailers=[("Ticket", "OPS-2")])
    code, report, _ = check(repo, base, capsys)
    assert code == 1
    assert nhi104(report) == [("infra/sa.tf", 2, bad, True)]
    assert [(f["path"], f["commit"]) for f in by_rule(report, "NHI102")] == [(SIGNERS, widen)]


@needs_ssh
def test_signed_agent_commit_without_base_signers_is_nhi104(
    make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = keygen(tmp_path, "agent")
    repo = make_repo()
    base = repo.commit({".nhi-gate.yaml": "approval:\n  require_signed_agent_commits: true\n",
                        "README.md": "x\n"})
    head = signed_commit(repo, key, {"infra/sa.tf": SA}, author=COPILOT, message="Add SA",
                         trailers=[("Ticket", "OPS-1")])
    code, report, _ = check(repo, base, capsys)
    assert code == 1
    assert nhi104(report) == [("infra/sa.tf", 2, head, True)]


@needs_ssh
def test_gpg_format_signature_is_never_counted(
    make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `gpgsig` header that is not an SSH signature cannot be checked against the base
    allowed-signers file, so it does not count (the local keyring is not a trust root)."""
    _, trusted_pub = keygen(tmp_path, "agent")
    repo = make_repo()
    base = repo.commit({".nhi-gate.yaml": REQUIRE,
                        SIGNERS: f"{AGENT_SIGNER} {trusted_pub}\n", "README.md": "x\n"})
    repo.commit({"infra/sa.tf": SA}, author=COPILOT, message="Add SA",
                trailers=[("Ticket", "OPS-1")])
    raw = repo.git("cat-file", "commit", "HEAD")
    header, _, body = raw.partition("\n\n")
    fake_sig = ("gpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEzBAABCAAdFiEE\n"
                " -----END PGP SIGNATURE-----")
    forged = repo.git("hash-object", "-t", "commit", "-w", "--stdin",
                      input=f"{header}\n{fake_sig}\n\n{body}\n".encode())
    repo.git("update-ref", "HEAD", forged)
    code, report, _ = check(repo, base, capsys)
    assert code == 1
    assert nhi104(report) == [("infra/sa.tf", 2, forged, True)]


# -- 2. placeholder ticket trailers ----------------------------------------------------------


PLACEHOLDERS = [
    ("Ticket", "none"), ("Ticket", "N/A"), ("Refs", "-"), ("Jira", "TBD"), ("Issue", "0"),
    ("Ticket", "n/a"), ("Refs", "#0"), ("Ticket", "TODO"), ("Ticket", "https://"),
    ("Change-Id", "none"), ("Change-Id", "I123"), ("Jira", "ABC-0"),
]
REFERENCES = [
    ("Ticket", "OPS-12"), ("Jira", "DATA_ENG-7"), ("Refs", "#123"),
    ("Issue", "example-org/infra#42"), ("Refs", "https://jira.example.com/browse/OPS-12"),
    ("Change-Id", "I" + "0123456789abcdef" * 2 + "01234567"), ("Refs", "OPS-12, OPS-13"),
]


@pytest.mark.parametrize(("key", "value"), PLACEHOLDERS)
def test_ticket_placeholder_is_refused_with_a_reason(key: str, value: str) -> None:
    problem = ticket_problem(key, value, None)
    assert problem is not None
    assert f"`{key}: {value}`" in problem
    assert "not a ticket reference" in problem
    assert requester_problem([(key, value)], load_agent_signatures(), None) is not None


@pytest.mark.parametrize(("key", "value"), REFERENCES)
def test_ticket_reference_is_accepted(key: str, value: str) -> None:
    assert ticket_problem(key, value, None) is None
    assert requester_problem([(key, value)], load_agent_signatures(), None) is None


def test_empty_ticket_value_is_refused() -> None:
    assert ticket_problem("Ticket", "  ", None) == "`Ticket:` is empty"
    # message_trailers never yields an empty value; a caller passing one still gets a refusal
    assert requester_problem([("Ticket", "")], load_agent_signatures(), None) is not None


def test_gerrit_change_id_only_for_the_change_id_trailer() -> None:
    change_id = "I" + "a" * 40
    assert ticket_problem("Change-Id", change_id, None) is None
    assert ticket_problem("Ticket", change_id, None) is not None


def test_configured_pattern_unchanged() -> None:
    pattern = re.compile(r"(?i)^n/?a$")  # a (silly) configured pattern is still the policy
    assert ticket_problem("Ticket", "N/A", pattern) is None
    problem = ticket_problem("Ticket", "OPS-12", pattern)
    assert problem == "`Ticket: OPS-12` does not match the configured ticket pattern `(?i)^n/?a$`"


def test_requester_problem_names_the_placeholder_and_the_agent_requester() -> None:
    signatures = load_agent_signatures()
    assert requester_problem([("Ticket", "OPS-1")], signatures, None) is None
    alice = [("Requested-by", "Alice <alice@example.com>")]
    assert requester_problem(alice, signatures, None) is None
    none = requester_problem([("Ticket", "none")], signatures, None)
    assert none is not None and "`Ticket: none` is a placeholder" in none
    copilot = requester_problem([("Requested-by", f"Copilot <{COPILOT[1]}>")], signatures, None)
    assert copilot is not None
    assert "names an agent (GitHub Copilot coding agent), not a human" in copilot
    for placeholder in ("none", "N/A", "-", "@tbd"):
        assert requester_problem([("Requested-by", placeholder)], signatures, None) == (
            f"`Requested-by: {placeholder}` is a placeholder, not a person"
        )
    assert requester_problem([("Requested-by", "@alice")], signatures, None) is None  # a login
    assert requester_problem([("Requested-by", "none <none>")], signatures, None) == (
        "`Requested-by:` names nobody"
    )
    missing = requester_problem([("Reviewed-by", "Alice <alice@example.com>")], signatures, None)
    assert missing is not None and "Requested-by: Name <email>" in missing
    # one good trailer is enough, whatever else the message says
    assert requester_problem([("Ticket", "none"), ("Refs", "OPS-9")], signatures, None) is None


def agent_commit_msg(repo: GitRepo, monkeypatch: pytest.MonkeyPatch, text: str) -> Path:
    repo.commit({"README.md": "x\n"})
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", COPILOT[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", COPILOT[1])
    msg = repo.path / "MSG"
    msg.write_text(text, encoding="utf-8")
    return msg


@pytest.mark.parametrize(("key", "value"), [*PLACEHOLDERS[:5], ("Ticket", "")])
def test_commit_msg_refuses_placeholder_tickets(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    key: str, value: str,
) -> None:
    msg = agent_commit_msg(git_repo, monkeypatch, f"Add SA\n\n{key}: {value}\n")
    assert main(["commit-msg", str(msg)]) == 1
    assert "NHI103" in capsys.readouterr().err


@pytest.mark.parametrize(("key", "value"), REFERENCES)
def test_commit_msg_accepts_ticket_references(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    key: str, value: str,
) -> None:
    msg = agent_commit_msg(git_repo, monkeypatch, f"Add SA\n\n{key}: {value}\n")
    assert main(["commit-msg", str(msg)]) == 0
    assert capsys.readouterr().err == ""


def test_commit_msg_with_configured_pattern_keeps_its_behaviour(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    git_repo.commit({".nhi-gate.yaml": "required_metadata:\n  ticket:\n"
                     "    pattern: '^(CHG[0-9]+|none)$'\n"})
    msg = agent_commit_msg(git_repo, monkeypatch, "Add SA\n\nTicket: CHG42\n")
    assert main(["commit-msg", str(msg)]) == 0
    msg.write_text("Add SA\n\nTicket: none\n", encoding="utf-8")
    assert main(["commit-msg", str(msg)]) == 0  # the configured pattern allows it: policy
    msg.write_text("Add SA\n\nTicket: OPS-12\n", encoding="utf-8")
    assert main(["commit-msg", str(msg)]) == 1  # a Jira key does not match CHG…
    assert "NHI103" in capsys.readouterr().err


def test_nhi103_message_says_why_the_ticket_does_not_count(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    head = repo.commit({"infra/sa.tf": SA}, author=COPILOT, message="Add SA",
                       trailers=[("Ticket", "N/A")])
    code, report, _ = check(repo, base, capsys)
    assert code == 1
    [f] = by_rule(report, "NHI103")
    assert (f["path"], f["start_line"], f["commit"]) == ("infra/sa.tf", 2, head)
    assert "`Ticket: N/A` is a placeholder, not a ticket reference" in f["message"]


def test_commit_msg_says_why_a_placeholder_does_not_count(
    git_repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    msg = agent_commit_msg(git_repo, monkeypatch, "Add SA\n\nTicket: none\n")
    assert main(["commit-msg", str(msg)]) == 1
    assert "`Ticket: none` is a placeholder, not a ticket reference" in capsys.readouterr().err


def test_jira_key_is_upper_case_as_jira_defines_it() -> None:
    assert ticket_problem("Ticket", "OPS-12", None) is None
    assert ticket_problem("Ticket", "ops-12", None) == (
        "`Ticket: ops-12` is not a ticket reference: give an issue key such as OPS-142, #123, "
        "org/repo#123, a link to the ticket"
    )
