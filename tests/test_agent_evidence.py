"""Issue 14, agent identities and evidence: the late-2026 conventions of `rules/agents.yaml`,
the strength of each signal, the pull-request channels, git-ai notes without a human author,
bots with ordinary accounts, and the commits list every report carries.

Commits are built to match the real conventions (author, committer, trailers, PR event
payloads, notes); the sources are cited beside each entry in `rules/agents.yaml`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, WEB_FLOW, GitRepo, agent_branch
from test_check_e2e import validate_sarif
from test_provenance import commit

from checker.change import Commit
from checker.cli import main
from checker.provenance import ai_notes
from checker.provenance.agents import AgentSignatures, load_agent_signatures
from checker.provenance.channels import (
    PullRequestFacts,
    body_disclosure,
    pull_request_facts,
    with_pull_request,
)
from checker.provenance.classify import classify_commit, logs_url, strength_of

NOREPLY = "users.noreply.github.com"
#: A workflow that StepSecurity's "Harden GitHub Actions" PR turns into one with OIDC.
WORKFLOW = ("name: ci\non: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - run: make\n")
HARDENED = WORKFLOW.replace("on: push\n", "on: push\npermissions:\n  id-token: write\n")
SA = 'resource "google_service_account" "etl" {\n  account_id = "etl"\n}\n'


# --------------------------------------------------------------------------------------------
# The catalogue: conventions it did not know (strong evidence)

NEW_AGENTS = [
    ("copilot-cli-trailer",
     commit(trailers=(("Co-authored-by", f"Copilot <223556219+Copilot@{NOREPLY}>"),)),
     "GitHub Copilot CLI", "copilot-cli"),
    ("codex-account-trailer",
     commit(trailers=(("Co-authored-by", f"Codex <267193182+codex@{NOREPLY}>"),)),
     "OpenAI Codex", "codex-account"),
    ("codex-account-author", commit("Codex", f"267193182+codex@{NOREPLY}"),
     "OpenAI Codex", "codex-account"),
    ("codex-sandbox-author", commit("Codex", "codex@example.com"), "OpenAI Codex",
     "codex-sandbox"),
    ("qwen-code-trailer",
     commit(trailers=(("Co-authored-by", "Qwen-Coder <qwen-coder@alibabacloud.com>"),)),
     "Qwen Code", "qwen-code"),
    ("copilot-autofix-trailer",
     commit(message="Potential fix for code scanning alert no. 6",
            trailers=(("Co-authored-by", "Copilot Autofix powered by AI "
                       f"<62310815+github-advanced-security[bot]@{NOREPLY}>"),)),
     "GitHub Copilot Autofix", "copilot-autofix"),
    ("made-with-cursor", commit(trailers=(("Made-with", "Cursor"),)), "Cursor", "cursor"),
    ("agent-logs-url",
     commit(*HUMAN, committer=WEB_FLOW, trailers=(
         ("Agent-Logs-Url", "https://github.com/go-kratos/kratos/sessions/"
          "6ae6cae0-5dff-4c44-96e9-22e44ff40211"),
         ("Co-authored-by", f"shenqidebaozi <1234567+shenqidebaozi@{NOREPLY}>"))),
     "GitHub Copilot coding agent", "copilot-agent-logs"),
    ("assisted-by-kernel-shape",
     commit(trailers=(("Assisted-by", "Claude:claude-3-opus coccinelle sparse"),)),
     "AI assistant (Assisted-by trailer)", "assisted-by"),
    ("assisted-by-names-a-tool", commit(trailers=(("Assisted-by", "Claude Code"),)),
     "Claude Code", "assisted-by"),
    ("agent-hq-claude",
     commit("anthropic-code-agent[bot]", f"242468646+Claude@{NOREPLY}", committer=WEB_FLOW),
     "Claude (GitHub Agent HQ)", "claude-agent-hq"),
]


@pytest.mark.parametrize(("case", "c", "product", "signature"), NEW_AGENTS,
                         ids=[a[0] for a in NEW_AGENTS])
def test_new_conventions_are_strong_agent_evidence(
    signatures: AgentSignatures, case: str, c: Commit, product: str, signature: str
) -> None:
    prov = classify_commit(c, signatures)
    assert (prov.actor_kind, prov.agent) == ("agent", product), prov
    assert any(e.signature == signature and e.strength == "strong" for e in prov.evidence)
    assert strength_of(prov) == "strong"


def test_agent_logs_url_is_read_from_the_trailer() -> None:
    url = "https://github.com/o/r/sessions/01ABC"
    assert logs_url(commit(trailers=(("Agent-Logs-Url", url),))) == url
    assert logs_url(commit(trailers=(("Agent-Logs-Url", "javascript:alert(1)"),))) is None
    assert logs_url(commit()) is None


# --------------------------------------------------------------------------------------------
# Weak signals: recorded, reported, never deciding by default

WEAK = [
    ("copilot-editor-inserted",
     commit(trailers=(("Co-authored-by", "Copilot <copilot@github.com>"),)), "copilot-coauthor"),
    ("assisted-by-credits-a-maintainer",
     commit(trailers=(("Assisted-By", "Greg Maintainer"),)), "assisted-by-weak"),
    ("assisted-by-person-named-claude",
     commit(trailers=(("Assisted-by", "Claude Dupont <claude@dupont.fr>"),)), "assisted-by-weak"),
    ("display-name-only", commit("Devin", "devin@example.com"), "devin-weak"),
    ("claude-coauthor-at-vendor-domain",
     commit(trailers=(("Co-authored-by", "Claude Sonnet 4.5 <claude@anthropic.com>"),)),
     "claude-coauthor-vendor"),
]


@pytest.mark.parametrize(("case", "c", "signature"), WEAK, ids=[w[0] for w in WEAK])
def test_weak_signals_are_recorded_not_deciding(
    signatures: AgentSignatures, case: str, c: Commit, signature: str
) -> None:
    prov = classify_commit(c, signatures)
    assert prov.actor_kind == "human", prov
    assert [e.strength for e in prov.evidence if e.signature == signature] == ["weak"]
    assert strength_of(prov) == "weak"


# --------------------------------------------------------------------------------------------
# CHAOSS-style human look-alikes: zero agents

LOOKALIKES = [
    commit("Devin Patel", "devin.patel@example.org"),
    commit("Devin", "devin@gmail.com"),
    commit("Jules Durand", "jules@durand.fr"),
    commit("Jules", "jules@example.com"),
    commit("Claude Shannon", "claude@bell-labs.example"),
    commit("Claude", "claude.martin@example.fr"),
    commit("Dario", "dario@anthropic.com"),
    commit("Amanda Askell", "amanda@anthropic.com"),
    commit(trailers=(("Co-authored-by", "Chris Olah <chris@anthropic.com>"),)),
    commit(trailers=(("Co-authored-by", "Claude Shannon <claude@bell-labs.example>"),)),
    commit(trailers=(("Co-authored-by", "Claudette Ops <claudette@anthropic.com>"),)),
    commit("Jane Doe", "jane@codex.io"),
    commit("Bob", "bob@codexlabs.com"),
    commit(trailers=(("Co-authored-by", "Ana <ana@codex-systems.dev>"),)),
    commit("Qwen Li", "qwen@alibabacloud.com"),
    commit(message="README generated with terraform-docs"),
    commit(message="Generated with the help of our release script"),
    commit(trailers=(("Assisted-by", "Jules Verne <jules@nautilus.fr>"),)),
    commit(trailers=(("Signed-off-by", "Alice Example <alice@example.com>"),)),
    commit("Copilot Fan", f"9999+copilot-fan@{NOREPLY}"),
]


def test_human_lookalikes_are_never_agents(signatures: AgentSignatures) -> None:
    kinds = [classify_commit(c, signatures) for c in LOOKALIKES]
    assert [p.actor_kind for p in kinds] == ["human"] * len(LOOKALIKES), kinds
    assert all(e.strength == "weak" for p in kinds for e in p.evidence)


def test_prose_is_no_disclosure_unless_it_names_ai(signatures: AgentSignatures) -> None:
    assert body_disclosure("Docs generated with terraform-docs v0.16.", signatures) is None
    assert body_disclosure("Made with love by Claude Monet's fan club", signatures) is None
    assert body_disclosure("This PR was AI-assisted.", signatures) == "AI-assisted"
    assert body_disclosure("Written with Claude Code and reviewed by me.", signatures) == (
        "Written with Claude Code and reviewed by me.")
    assert body_disclosure("generated using an LLM", signatures) == "generated using an LLM"


# --------------------------------------------------------------------------------------------
# Channels: the pull-request author and body


def test_agent_pr_author_makes_every_commit_agent(signatures: AgentSignatures) -> None:
    facts = pull_request_facts({"user": {"login": "Copilot", "type": "Bot"}, "body": None})
    prov = {"c" * 40: classify_commit(commit(), signatures)}
    out = with_pull_request(prov, facts, signatures)["c" * 40]
    assert (out.actor_kind, out.agent) == ("agent", "GitHub Copilot coding agent")
    assert [(e.field, e.value, e.strength) for e in out.evidence] == [
        ("pr_author", "Copilot", "strong")]


def test_human_pr_author_changes_nothing_and_body_is_weak(signatures: AgentSignatures) -> None:
    facts = PullRequestFacts("alice", "User", "Disclosure: AI-generated with Cursor.")
    prov = {"c" * 40: classify_commit(commit(), signatures)}
    out = with_pull_request(prov, facts, signatures)["c" * 40]
    assert out.actor_kind == "human"
    assert [(e.field, e.strength) for e in out.evidence] == [("pr_body", "weak")]


def _event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: str, head: str,
           login: str, kind: str, body: str | None) -> None:
    payload = {"pull_request": {"user": {"login": login, "type": kind}, "body": body,
                                "base": {"sha": base}, "head": {"sha": head}}}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))


def _check(repo: GitRepo, base: str, capsys: pytest.CaptureFixture[str],
           *extra: str) -> tuple[int, dict[str, Any]]:  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", repo.sha(),
                 "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_pr_opened_by_agent_app_blocks_a_human_authored_commit(
    make_repo: Callable[..., GitRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    base, head = agent_branch(repo, {"infra/sa.tf": SA}, author=HUMAN)
    _event(tmp_path, monkeypatch, base, head, "Copilot", "Bot", "Fixes #12")
    code, report = _check(repo, base, capsys)
    assert code == 1
    nhi101 = [f for f in report["findings"] if f["rule_id"] == "NHI101"]
    assert [(f["actor_kind"], f["agent"], f["strength"], f["blocking"]) for f in nhi101] == [
        ("agent", "GitHub Copilot coding agent", "strong", True)]
    [listed] = report["commits"]
    assert listed["sha"] == head and listed["actor_kind"] == "agent"
    # the checked-out branch `copilot/add-sa` is the head: its (weak) branch evidence is listed
    assert [e["field"] for e in listed["evidence"]] == ["branch", "pr_author"]


def test_pr_body_disclosure_is_reported_weak_and_gates_only_when_configured(
    make_repo: Callable[..., GitRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    base, head = agent_branch(repo, {"infra/sa.tf": SA}, author=HUMAN)
    _event(tmp_path, monkeypatch, base, head, "alice", "User",
           "Adds the ETL account.\n\nThis change was generated with Claude Code.")
    code, report = _check(repo, base, capsys)
    assert code == 0  # a person's identity: reported, not blocked
    [listed] = report["commits"]
    assert (listed["actor_kind"], listed["strength"]) == ("human", "weak")
    assert [(e["field"], e["strength"]) for e in listed["evidence"]] == [
        ("branch", "weak"), ("pr_body", "weak")]  # the checked-out head branch copilot/add-sa
    config = tmp_path / "gate.yaml"
    config.write_text("agents: {weak_evidence: gate}\n", encoding="utf-8")
    code, report = _check(repo, base, capsys, "--config", str(config))
    assert code == 1
    assert {(f["rule_id"], f["actor_kind"], f["strength"]) for f in report["findings"]
            if f["blocking"]} >= {("NHI101", "agent", "weak")}


def test_claude_branch_alone_is_reported_in_every_output(
    make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    monkeypatch.setenv("GITHUB_HEAD_REF", "claude/add-sa")  # the branch of an explicit --head
    repo.checkout("claude/add-sa", create=True)
    head = repo.commit({"infra/sa.tf": SA}, author=HUMAN)
    code, report = _check(repo, base, capsys)
    assert code == 0
    assert report["commits"] == [{
        "sha": head, "actor_kind": "human", "agent": None, "strength": "weak",
        "evidence": [{"signature": "claude-weak", "field": "branch", "value": "claude/add-sa",
                      "strength": "weak"}],
        "logs_url": None}]
    assert {f["strength"] for f in report["findings"]} == {"weak"}
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
          "--format", "github", "--sarif", str(tmp_path / "out.sarif")])
    text = summary.read_text(encoding="utf-8")
    assert "### Commits" in text and f"`{head[:12]}` | human | weak |" in text
    sarif = validate_sarif(tmp_path / "out.sarif")
    run = sarif["runs"][0]
    assert [c["strength"] for c in run["properties"]["commits"]] == ["weak"]
    assert {r["properties"]["strength"] for r in run["results"]} == {"weak"}


# --------------------------------------------------------------------------------------------
# Invisible actors: an agent commit with no finding is listed


def test_agent_commit_without_finding_is_listed(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    url = "https://github.com/o/r/sessions/6ae6cae0-5dff-4c44-96e9-22e44ff40211"
    docs = repo.commit({"README.md": "y\n"}, author=COPILOT, committer=WEB_FLOW,
                       trailers=[("Agent-Logs-Url", url)])
    human = repo.commit({"infra/sa.tf": "# nhi-gate: owner=a ticket=OPS-1 expires=2027-01-01\n"
                         + SA})
    code, report = _check(repo, base, capsys)
    assert code == 0 and report["findings"] == []
    assert [(c["sha"], c["actor_kind"], c["agent"], c["strength"], c["logs_url"])
            for c in report["commits"]] == [
        (docs, "agent", "GitHub Copilot coding agent", "strong", url),
        (human, "human", None, None, None)]
    main(["check", "--repo", str(repo.path), "--base", base, "--head", human])
    text = capsys.readouterr().out
    assert f"  {docs[:12]}  agent (GitHub Copilot coding agent)  strong" in text
    assert f"logs: {url}" in text and f"  {human[:12]}  human  no evidence" in text


# --------------------------------------------------------------------------------------------
# Bots that are not GitHub Apps


def test_stepsecurity_pr_adding_id_token_write_is_a_bots_change(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    base = repo.commit({".github/workflows/ci.yml": WORKFLOW})
    repo.commit({".github/workflows/ci.yml": HARDENED},
                author=("StepSecurity Bot", "bot@stepsecurity.io"),
                message="[StepSecurity] ci: Harden GitHub Actions",
                trailers=[("Signed-off-by", "StepSecurity Bot <bot@stepsecurity.io>")])
    code, report = _check(repo, base, capsys)
    assert code == 1
    blocking = {(f["rule_id"], f["actor_kind"], f["agent"]) for f in report["findings"]
                if f["blocking"]}
    assert ("NHI101", "bot", "StepSecurity") in blocking


def test_semantic_release_and_configured_bots(tmp_path: Path) -> None:
    sigs = load_agent_signatures()
    release = commit("semantic-release-bot", "semantic-release-bot@martynus.net",
                     message="chore(release): 1.2.0 [skip ci]")
    assert classify_commit(release, sigs).actor_kind == "bot"
    step = commit("Alice", "alice@example.com",
                  trailers=(("Signed-off-by", "StepSecurity Bot <bot@stepsecurity.io>"),))
    assert classify_commit(step, sigs).agent == "StepSecurity"
    ours = load_agent_signatures(bot_emails=["release@corp.example"], bot_names=["Deploy Bot"],
                                 bot_logins=["corp-release"])
    by_email = classify_commit(commit("R", "Release@Corp.example"), ours)
    by_name = classify_commit(commit("deploy bot", "ops@corp.example"), ours)
    assert (by_email.actor_kind, by_email.agent) == ("bot", "configured bot (agents.bots)")
    assert by_name.actor_kind == "bot"
    assert classify_commit(commit("Deploy Bot", "ops@corp.example"), sigs).actor_kind == "human"


def test_config_bots_gate_through_check(
    make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({"infra/sa.tf": SA}, author=("Release Robot", "robot@corp.example"))
    config = tmp_path / "bots.yaml"
    config.write_text("agents: {bots: {emails: [robot@corp.example]}}\n", encoding="utf-8")
    assert _check(repo, base, capsys)[0] == 0
    code, report = _check(repo, base, capsys, "--config", str(config))
    assert code == 1
    assert report["commits"][0]["actor_kind"] == "bot"


# --------------------------------------------------------------------------------------------
# git-ai notes written by git-ai 1.6.x: `human_author: null`


def _note(human_author: object) -> bytes:
    meta = {"schema_version": "authorship/3.0.0", "git_ai_version": "1.6.2",
            "base_commit_sha": "7734793b756b3921c88db5375a8c156e9532447b", "prompts": {},
            "sessions": {"s_c9883b05a2487d": {"agent_id": {"tool": "claude", "model": "m"},
                                              "human_author": human_author}}}
    return ("infra/sa.tf\n  s_c9883b05a2487d::t_9f8e7d6c5b4a32 1-3\n---\n"
            + json.dumps(meta)).encode()


def test_git_ai_note_with_null_human_author_is_accepted() -> None:
    parsed = ai_notes.parse_note("a" * 40, _note(None))
    assert isinstance(parsed, ai_notes.AuthorshipLog), parsed
    assert [(a.actor, a.tool, a.ranges) for a in parsed.attestations] == [
        ("agent", "claude", ((1, 3),))]
    assert isinstance(ai_notes.parse_note("a" * 40, _note(7)), ai_notes.NoteProblem)


def test_noted_commit_is_listed_as_agent_and_missing_notes_warn(
    make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    noted = repo.commit({"infra/sa.tf": SA})
    repo.git("notes", "--ref=ai", "add", "-m", _note(None).decode(), noted)
    bare = repo.commit({"README.md": "y\n"})
    config = tmp_path / "notes.yaml"
    config.write_text("agents: {notes_expected: true}\n", encoding="utf-8")
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", bare,
                 "--format", "json", "--config", str(config)])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 1  # the noted lines are an agent's: NHI101
    assert [(c["sha"], c["actor_kind"], c["strength"]) for c in report["commits"]] == [
        (noted, "agent", "strong"), (bare, "human", None)]
    assert f"commit {bare[:12]} has no git-ai note" in err
    assert f"commit {noted[:12]} has no git-ai note" not in err


# --------------------------------------------------------------------------------------------
# `nhi-gate rules --agents` and docs/agents.md list the conventions read


def test_rules_agents_lists_every_convention_with_strength_and_source(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["rules", "--agents"]) == 0
    text = capsys.readouterr().out
    for entry in ("copilot-cli", "codex-account", "codex-sandbox", "qwen-code",
                  "copilot-autofix", "copilot-agent-logs", "semantic-release", "stepsecurity"):
        assert any(line.startswith(entry + " ") and "strong" in line
                   for line in text.splitlines()), entry
    assert main(["rules", "--agents", "--format", "markdown"]) == 0
    markdown = capsys.readouterr().out
    docs = Path(__file__).resolve().parents[1] / "docs" / "agents.md"
    assert docs.read_text(encoding="utf-8") == markdown, (
        "regenerate: nhi-gate rules --agents --format markdown > docs/agents.md")
    assert "| `copilot-coauthor` | GitHub Copilot | weak |" in markdown


# --------------------------------------------------------------------------------------------
# Agent Trace records (https://agent-trace.dev/): in the tree, or in refs/notes/agent-trace


def _trace(kind: str, path: str = "infra/sa.tf", lines: tuple[int, int] = (1, 3)) -> str:
    return json.dumps({
        "version": "1.0", "id": "3f1c2b9e-8a4d-4c6b-9f0e-1a2b3c4d5e6f",
        "timestamp": "2026-11-02T10:00:00Z", "tool": {"name": "cursor", "version": "2.1"},
        "vcs": {"type": "git", "revision": "0" * 40},
        "files": [{"path": path, "conversations": [{
            "contributor": {"type": kind, "model_id": "anthropic/claude-opus-4-5"},
            "ranges": [{"start_line": lines[0], "end_line": lines[1]}]}]}]})


@pytest.mark.parametrize(("kind", "agent"), [("ai", True), ("mixed", True), ("human", False)])
def test_agent_trace_file_in_the_tree(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], kind: str,
    agent: bool,
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n", ".agent-trace/traces.jsonl": ""})
    head = repo.commit({"infra/sa.tf": SA, ".agent-trace/traces.jsonl": _trace(kind) + "\n"})
    code, report = _check(repo, base, capsys)
    nhi101 = [(f["actor_kind"], f["agent"], f["blocking"]) for f in report["findings"]
              if f["rule_id"] == "NHI101"]
    [listed] = report["commits"]
    if agent:
        assert code == 1
        assert nhi101 == [("agent", "Agent Trace: cursor/anthropic/claude-opus-4-5", True)]
        assert (listed["sha"], listed["actor_kind"], listed["strength"]) == (head, "agent",
                                                                            "strong")
        assert [e["signature"] for e in listed["evidence"]] == ["agent-trace"]
    else:
        assert code == 0 and listed["actor_kind"] == "human"


def test_agent_trace_notes_ref_and_malformed_records(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    head = repo.commit({"infra/sa.tf": SA})
    repo.git("notes", "--ref=agent-trace", "add", "-m", '{"files": 3}\n' + _trace("ai"), head)
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1
    assert json.loads(out)["commits"][0]["agent"] == "Agent Trace: cursor/anthropic/claude-opus-4-5"
    assert "Agent Trace record (refs/notes/agent-trace" in err and "`files` is not a list" in err


# --------------------------------------------------------------------------------------------
# The Action fetches a fork PR's notes from its head repository


def test_action_fetches_notes_from_a_fork_pr_head_repository(
    make_repo: Callable[..., GitRepo],
) -> None:
    from checker.action import _fetch_ai_notes, fork_url

    upstream = make_repo("upstream")
    base = upstream.commit({"README.md": "x\n"})
    fork = make_repo("fork")
    fork.git("fetch", "--quiet", str(upstream.path), "main")
    fork.git("reset", "--quiet", "--hard", base)
    head = fork.commit({"infra/sa.tf": SA})
    fork.git("notes", "--ref=ai", "add", "-m", "noted", head)
    fork.git("notes", "--ref=agent-trace", "add", "-m", "traced", head)
    work = make_repo("work")
    work.git("remote", "add", "origin", str(upstream.path))
    event = {"pull_request": {
        "head": {"repo": {"full_name": "someone/app", "clone_url": str(fork.path)}},
        "base": {"repo": {"full_name": "org/app", "clone_url": str(upstream.path)}}}}
    assert fork_url(event) == str(fork.path)
    same = {"pull_request": {"head": {"repo": {"full_name": "org/app", "clone_url": "u"}},
                             "base": {"repo": {"full_name": "org/app"}}}}
    assert fork_url(same) is None and fork_url({}) is None
    _fetch_ai_notes(work.path, fork_url(event))
    assert work.git("notes", "--ref=ai", "show", head).strip() == "noted"
    assert work.git("notes", "--ref=agent-trace", "show", head).strip() == "traced"


def test_claude_coauthor_at_the_vendors_domain_is_weak_evidence_in_check(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
) -> None:
    # attack-dis-trailer-altemail: a person's commit co-authored by Claude at another
    # anthropic.com address than noreply@ was "no evidence"; it is weak evidence now
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({"infra/sa.tf": SA}, author=HUMAN, message="tweak",
                trailers=(("Co-authored-by", "Claude Sonnet 4.5 <claude@anthropic.com>"),))
    code, report = _check(repo, base, capsys)
    assert code == 0  # weak evidence reports, it does not gate by default
    [listed] = report["commits"]
    assert (listed["actor_kind"], listed["strength"]) == ("human", "weak")
    assert [(e["signature"], e["field"], e["strength"]) for e in listed["evidence"]] == [
        ("claude-coauthor-vendor", "trailer", "weak")]
