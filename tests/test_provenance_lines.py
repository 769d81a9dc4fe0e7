"""Provenance end to end on real repositories: who wrote which identity line.

- Agent signatures: twelve agent identities from rules/agents.yaml and seven humans whose names
  or addresses look like agents (Devin, Claude, Cody, a `codex` domain, a `cursor` word, a
  privacy noreply address, an agent-like branch) each make a real commit adding a service
  account; `nhi-gate check` must call every agent an agent (NHI101, the right product) and no
  human one.
- Line attribution across the range (blame restricted to base..head): human-first then
  agent; agent then a human editing the same line; a human rewriting the agent's identity
  entirely; merge commits in the range.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, REVIEWER, GitRepo, Identity

from checker import git as cg
from checker.cli import main
from checker.policy.config import Config
from checker.provenance.agents import load_agent_signatures
from checker.provenance.classify import classify_commit

NOREPLY = "users.noreply.github.com"


def sa(name: str, account: str | None = None) -> str:
    return (f"# nhi-gate: owner=team-data ticket=DATA-1\n"
            f'resource "google_service_account" "{name}" {{\n'
            f'  account_id = "{account or name}"\n'
            f"}}\n")


def check(repo: GitRepo, base: str, head: str,
          capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out)["findings"]


def nhi101(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["address"]: f for f in findings if f["rule_id"] == "NHI101"}


# (case, author, trailers, expected product)
AGENTS: list[tuple[str, Identity, list[tuple[str, str]], str]] = [
    ("copilot-agent", COPILOT, [], "GitHub Copilot coding agent"),
    ("claude-code-trailer", HUMAN, [("Co-Authored-By", "Claude <noreply@anthropic.com>")],
     "Claude Code"),
    ("claude-app", ("claude[bot]", f"209825114+claude[bot]@{NOREPLY}"), [],
     "Claude (GitHub App)"),
    ("cursor-trailer", HUMAN, [("Co-authored-by", "Cursor Agent <cursoragent@cursor.com>")],
     "Cursor"),
    ("devin", ("Devin AI", f"158243242+devin-ai-integration[bot]@{NOREPLY}"), [], "Devin"),
    ("jules-coauthor", HUMAN,
     [("Co-Authored-By", f"google-labs-jules[bot] <161369871+google-labs-jules[bot]@{NOREPLY}>")],
     "Google Jules"),
    ("codex-connector", ("Codex", f"199175422+chatgpt-codex-connector[bot]@{NOREPLY}"), [],
     "OpenAI Codex (ChatGPT connector)"),
    ("aider-trailer", HUMAN, [("Co-authored-by", "aider (gpt-4o) <aider@aider.chat>")],
     "aider"),
    ("amazon-q", ("amazon-q-developer[bot]", f"208079219+amazon-q-developer[bot]@{NOREPLY}"),
     [], "Amazon Q Developer"),
    ("gemini-code-assist",
     ("gemini-code-assist[bot]", f"176961590+gemini-code-assist[bot]@{NOREPLY}"), [],
     "Gemini Code Assist"),
    ("cline", ("cline[bot]", f"205137888+cline[bot]@{NOREPLY}"), [], "Cline"),
    ("assisted-by-trailer", HUMAN, [("Assisted-by", "Claude:claude-3-opus coccinelle")],
     "AI assistant (Assisted-by trailer)"),
]

# (case, author, trailers, branch)
HUMANS: list[tuple[str, Identity, list[tuple[str, str]], str]] = [
    ("devin-smith", ("Devin Smith", "devin@example.com"), [], "feature/x"),
    ("claude-monet", ("Claude Monet", "claude@monet.fr"), [], "feature/x"),
    ("cody-banks", ("Cody Banks", "cody@example.com"), [], "feature/x"),
    ("codex-domain", ("Jane Doe", "jane@codex.io"), [], "feature/x"),
    ("cursor-word", ("Ana Cursor Lopez", "ana@example.org"),
     [("Co-authored-by", "Cursor Fan <cursor@example.org>")], "feature/x"),
    ("privacy-noreply", ("alice", f"12345+alice@{NOREPLY}"), [], "feature/x"),
    ("agent-like-branch", ("Devin", "devin@example.net"), [], "devin/1700000000-fix"),
]


@pytest.mark.parametrize(("case", "author", "trailers", "product"), AGENTS,
                         ids=[a[0] for a in AGENTS])
def test_agent_signatures_end_to_end(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
    case: str, author: Identity, trailers: list[tuple[str, str]], product: str,
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    head = repo.commit({"infra/sa.tf": sa("etl")}, author=author, message="Add SA",
                       trailers=trailers)
    code, findings = check(repo, base, head, capsys)
    assert code == 1
    f = nhi101(findings)["google_service_account.etl"]
    assert (f["actor_kind"], f["agent"], f["commit"], f["start_line"]) == (
        "agent", product, head, 2)


@pytest.mark.parametrize(("case", "author", "trailers", "branch"), HUMANS,
                         ids=[h[0] for h in HUMANS])
def test_lookalike_humans_end_to_end(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
    case: str, author: Identity, trailers: list[tuple[str, str]], branch: str,
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.checkout(branch, create=True)
    head = repo.commit({"infra/sa.tf": sa("etl")}, author=author, message="Add SA",
                       trailers=trailers)
    code, findings = check(repo, base, head, capsys)
    assert nhi101(findings) == {}
    assert {f["actor_kind"] for f in findings} <= {"human"}
    assert code == 0
    with cg.repo_session(repo.path) as r:
        commits = cg.read_commits(r, base, head)
    prov = classify_commit(commits[0], load_agent_signatures(), branch)
    assert (prov.actor_kind, prov.agent) == ("human", None)


def test_human_first_then_agent(
    git_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    base = git_repo.commit({"README.md": "x\n"})
    human = git_repo.commit({"infra/sa.tf": sa("etl")}, author=REVIEWER)
    agent = git_repo.commit({"infra/sa.tf": sa("etl") + "\n" + sa("loader")}, author=COPILOT)
    code, findings = check(git_repo, base, agent, capsys)
    assert code == 1
    found = nhi101(findings)
    assert list(found) == ["google_service_account.loader"]
    assert (found["google_service_account.loader"]["commit"],
            found["google_service_account.loader"]["start_line"]) == (agent, 7)
    with cg.repo_session(git_repo.path) as r:
        cs = cg.build_changeset(r, base, agent)
    [cf] = cs.files
    assert dict(cf.line_commits) == {**dict.fromkeys(range(1, 5), human),
                                     **dict.fromkeys(range(5, 10), agent)}


def test_agent_then_human_edits_same_line(
    git_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    base = git_repo.commit({"README.md": "x\n"})
    agent = git_repo.commit({"infra/sa.tf": sa("etl")}, author=COPILOT)
    human = git_repo.commit({"infra/sa.tf": sa("etl", "etl-renamed")}, author=REVIEWER)
    with cg.repo_session(git_repo.path) as r:
        cs = cg.build_changeset(r, base, human)
    [cf] = cs.files
    assert dict(cf.line_commits) == {1: agent, 2: agent, 3: human, 4: agent}
    code, findings = check(git_repo, base, human, capsys)
    assert code == 1  # the human's edit does not launder the agent's other lines
    f = nhi101(findings)["google_service_account.etl"]
    assert (f["actor_kind"], f["commit"]) == ("agent", agent)


def test_agent_first_then_human_identity_is_human(
    git_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    """A human identity written after the agent's, in the same file, is not blamed on it."""
    base = git_repo.commit({"README.md": "x\n"})
    agent = git_repo.commit({"infra/sa.tf": sa("etl")}, author=COPILOT)
    human = git_repo.commit({"infra/sa.tf": sa("etl") + "\n" + sa("loader")}, author=REVIEWER)
    with cg.repo_session(git_repo.path) as r:
        cs = cg.build_changeset(r, base, human)
    [cf] = cs.files
    assert dict(cf.line_commits) == {**dict.fromkeys(range(1, 5), agent),
                                     **dict.fromkeys(range(5, 10), human)}
    code, findings = check(git_repo, base, human, capsys)
    assert code == 1
    assert list(nhi101(findings)) == ["google_service_account.etl"]
    assert nhi101(findings)["google_service_account.etl"]["commit"] == agent


def test_merge_commits_in_range(
    git_repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = "# header\n" + "\n".join(f"# pad {i}" for i in range(8)) + "\n"
    base = git_repo.commit({"infra/main.tf": shared, "README.md": "x\n"})
    git_repo.checkout("feature", create=True)
    human = git_repo.commit({"infra/human.tf": sa("etl"),
                             "infra/main.tf": shared + sa("bottom")}, author=REVIEWER)
    git_repo.checkout("agent-side", create=True, start=base)
    agent = git_repo.commit({"infra/agent.tf": sa("loader"),
                             "infra/main.tf": sa("top") + shared}, author=COPILOT)
    git_repo.checkout("feature")
    merge = git_repo.merge("agent-side", author=REVIEWER)
    with cg.repo_session(git_repo.path) as r:
        cs = cg.build_changeset(r, base, merge)
    assert {c.sha for c in cs.commits} == {human, agent, merge}
    files = {f.path: f for f in cs.files}
    assert set(files["infra/agent.tf"].line_commits.values()) == {agent}
    assert set(files["infra/human.tf"].line_commits.values()) == {human}
    # head infra/main.tf: the agent's 4 lines on top, 9 base lines, the human's 4 at the end;
    # the merge commit itself wrote nothing and base lines are not in the range
    assert dict(files["infra/main.tf"].line_commits) == {
        **dict.fromkeys(range(1, 5), agent), **dict.fromkeys(range(14, 18), human)}
    code, findings = check(git_repo, base, merge, capsys)
    assert code == 1
    found = nhi101(findings)
    assert sorted(found) == ["google_service_account.loader", "google_service_account.top"]
    assert {f["commit"] for f in found.values()} == {agent}


def test_config_signatures_and_branches(
    git_repo: GitRepo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_HEAD_REF", "ai/task-1")
    cfg = "agents:\n  emails: [release-robot@example.com]\n  branches: ['ai/*']\n"
    base = git_repo.commit({".nhi-gate.yaml": cfg})
    git_repo.checkout("ai/task-1", create=True)
    head = git_repo.commit({"infra/sa.tf": sa("etl")}, author=HUMAN)
    code, findings = check(git_repo, base, head, capsys)
    assert code == 1  # the configured branch pattern is policy, not weak evidence
    assert nhi101(findings)["google_service_account.etl"]["actor_kind"] == "agent"
    monkeypatch.setenv("GITHUB_HEAD_REF", "feature")
    git_repo.checkout("feature", create=True, start=base)
    head = git_repo.commit({"infra/sa.tf": sa("etl")},
                           author=("Release Robot", "release-robot@example.com"))
    code, findings = check(git_repo, base, head, capsys)
    assert code == 1
    assert Config().agent_emails == ()
