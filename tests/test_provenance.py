"""provenance.classify: agents, bots and look-alike humans (signatures from rules/agents.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import COPILOT, HUMAN, WEB_FLOW, GitRepo

import checker.git as cg
from checker.change import Commit
from checker.errors import RulePackError
from checker.policy.catalogue import rules_dir
from checker.provenance.agents import AgentSignatures, load_agent_signatures
from checker.provenance.classify import (
    address_of,
    classify_actor,
    classify_commit,
    classify_login,
    message_trailers,
)

NOREPLY = "users.noreply.github.com"


def commit(
    name: str = HUMAN[0],
    email: str = HUMAN[1],
    *,
    message: str = "Change",
    trailers: tuple[tuple[str, str], ...] = (),
    committer: tuple[str, str] | None = None,
) -> Commit:
    cname, cemail = committer or (name, email)
    if trailers:
        message += "\n\n" + "\n".join(f"{k}: {v}" for k, v in trailers)
    return Commit(
        sha="c" * 40,
        parents=("p" * 40,),
        author_name=name,
        author_email=email,
        committer_name=cname,
        committer_email=cemail,
        message=message,
        trailers=trailers,
    )


AGENTS = [
    # (case id, commit, product)
    ("copilot-agent", commit(*COPILOT, committer=WEB_FLOW), "GitHub Copilot coding agent"),
    (
        "copilot-175",
        commit("copilot", f"175728472+copilot@{NOREPLY}"),
        "GitHub Copilot coding agent",
    ),
    (
        "copilot-swe-agent-app",
        commit("copilot-swe-agent[bot]", f"203108557+copilot-swe-agent[bot]@{NOREPLY}"),
        "GitHub Copilot coding agent",
    ),
    (
        "claude-code-coauthor-model-name",
        commit(trailers=(("Co-Authored-By", "Claude Opus 4.5 <noreply@anthropic.com>"),)),
        "Claude Code",
    ),
    (
        "claude-code-footer-only",
        commit(message="Fix\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)"),
        "Claude Code",
    ),
    (
        "claude-session-trailer",
        commit(trailers=(("Claude-Session", "https://claude.ai/code/session_01abc"),)),
        "Claude Code",
    ),
    (
        "claude-bot",
        commit("claude[bot]", f"209825114+claude[bot]@{NOREPLY}"),
        "Claude (GitHub App)",
    ),
    (
        "claude-code-action",
        commit("claude-code-action[bot]", f"208546643+claude-code-action[bot]@{NOREPLY}"),
        "Claude (GitHub App)",
    ),
    (
        "cursor-coauthor",
        commit(trailers=(("Co-authored-by", "Cursor Agent <cursoragent@cursor.com>"),)),
        "Cursor",
    ),
    ("cursor-bot", commit("cursor[bot]", f"206951365+cursor[bot]@{NOREPLY}"), "Cursor"),
    (
        "devin-bot",
        commit("Devin AI", f"158243242+devin-ai-integration[bot]@{NOREPLY}"),
        "Devin",
    ),
    (
        "devin-renamed-login-same-id",
        commit("Devin AI", f"158243242+devin-renamed[bot]@{NOREPLY}"),
        "Devin",
    ),
    (
        "jules-coauthor",
        commit(
            trailers=(
                (
                    "Co-authored-by",
                    f"google-labs-jules[bot] <161369871+google-labs-jules[bot]@{NOREPLY}>",
                ),
            )
        ),
        "Google Jules",
    ),
    (
        "gemini-code-assist",
        commit("gemini-code-assist[bot]", f"176961590+gemini-code-assist[bot]@{NOREPLY}"),
        "Gemini Code Assist",
    ),
    (
        "codex-connector",
        commit("Codex", f"199175422+chatgpt-codex-connector[bot]@{NOREPLY}"),
        "OpenAI Codex (ChatGPT connector)",
    ),
    (
        "openai-codex-bot",
        commit("openai-codex[bot]", f"215057067+openai-codex[bot]@{NOREPLY}"),
        "OpenAI Codex",
    ),
    (
        "aider-coauthor",
        commit(trailers=(("Co-authored-by", "aider (openai/gpt-4o) <aider@aider.chat>"),)),
        "aider",
    ),
    (
        "aider-old-coauthor",
        commit(trailers=(("Co-authored-by", "aider (gpt-4) <noreply@aider.chat>"),)),
        "aider",
    ),
    ("aider-name-suffix", commit("Alice Example (aider)", HUMAN[1]), "aider"),
    (
        "aider-committer-suffix",
        commit(*HUMAN, committer=("Alice Example (aider)", HUMAN[1])),
        "aider",
    ),
    (
        "amazon-q",
        commit("amazon-q-developer[bot]", f"208079219+amazon-q-developer[bot]@{NOREPLY}"),
        "Amazon Q Developer",
    ),
    ("cline", commit("cline[bot]", f"205137888+cline[bot]@{NOREPLY}"), "Cline"),
    ("continue", commit("continue[bot]", f"230936708+continue[bot]@{NOREPLY}"), "Continue"),
    (
        "cody",
        commit("sourcegraph-cody[bot]", f"201248094+sourcegraph-cody[bot]@{NOREPLY}"),
        "Sourcegraph Cody",
    ),
    (
        "jetbrains-ai",
        commit("jetbrains-ai[bot]", f"220155983+jetbrains-ai[bot]@{NOREPLY}"),
        "JetBrains AI",
    ),
    (
        "amp-coauthor",
        commit(trailers=(("Co-authored-by", "Amp <amp@ampcode.com>"),)),
        "Amp (Sourcegraph)",
    ),
    (
        "replit",
        commit(
            trailers=(
                ("Replit-Commit-Author", "Agent"),
                ("Replit-Commit-Session-Id", "0d1f-22"),
            )
        ),
        "Replit Agent",
    ),
    (
        "opencode",
        commit(trailers=(("Co-Authored-By", "opencode <noreply@opencode.ai>"),)),
        "opencode",
    ),
    ("codebuff-footer", commit(message="Refactor\n\nGenerated with Codebuff"), "Codebuff"),
    (
        "assisted-by-any-value",
        commit(trailers=(("Assisted-by", "Claude:claude-3-opus coccinelle sparse"),)),
        "AI assistant (Assisted-by trailer)",
    ),
    (
        "generic-generated-footer",
        commit(message="Add SA\n\n🤖 Generated with [Foo Agent](https://foo.dev)"),
        "AI coding agent (Generated with footer)",
    ),
    (
        "coauthor-outside-final-block",
        commit(
            message="Add SA\n\nCo-authored-by: Claude <noreply@anthropic.com>\n\nMore prose after."
        ),
        "Claude Code",
    ),
    (
        "agent-as-committer",
        commit(*HUMAN, committer=("Copilot", f"198982749+Copilot@{NOREPLY}")),
        "GitHub Copilot coding agent",
    ),
    ("generated-by-claude", commit(trailers=(("Generated-by", "Claude"),)), "Claude"),
    (
        "generated-by-copilot",
        commit(trailers=(("Generated-by", "GitHub Copilot"),)),
        "GitHub Copilot",
    ),
    ("generated-by-cursor", commit(trailers=(("Generated-by", "Cursor"),)), "Cursor"),
    ("generated-by-model-id", commit(trailers=(("Generated-By", "claude-opus-4-6"),)), "Claude"),
    (
        "generated-by-openinfra-form",
        commit(trailers=(("Generated-By", "Claude Code (claude-sonnet-4-6)"),)),
        "Claude Code",
    ),
    (
        "generated-by-display-name-of-pack",
        commit(trailers=(("Generated-by", "Jules"),)),
        "Google Jules",
    ),
    (
        "generated-by-outside-final-block",
        commit(message="Add SA\n\nGenerated-by: Codex / gpt-5\n\nMore prose after."),
        "OpenAI Codex",
    ),
    # A Renovate or Dependabot author with an agent's trailer is the bot's: see
    # tests/test_attribution_precision.py::test_a_dependency_bot_quoting_an_agent_trailer_is_the_bot
]


@pytest.mark.parametrize(("case", "c", "product"), AGENTS, ids=[a[0] for a in AGENTS])
def test_agents(signatures: AgentSignatures, case: str, c: Commit, product: str) -> None:
    prov = classify_commit(c, signatures)
    assert (prov.actor_kind, prov.agent) == ("agent", product), prov
    assert prov.commit == c.sha
    assert any(e.strength == "strong" for e in prov.evidence)


def test_copilot_web_flow_committer_is_not_evidence(signatures: AgentSignatures) -> None:
    prov = classify_commit(commit(*COPILOT, committer=WEB_FLOW), signatures)
    assert [(e.signature, e.field, e.strength) for e in prov.evidence] == [
        ("copilot-coding-agent", "author_email", "strong"),
        ("copilot-weak", "author_name", "weak"),
    ]


def test_claude_trailer_evidence_names_the_email_trailer(signatures: AgentSignatures) -> None:
    c = commit(trailers=(("Co-Authored-By", "Claude Sonnet 4 <noreply@anthropic.com>"),))
    prov = classify_commit(c, signatures)
    assert prov.evidence[0].signature == "claude-code"
    assert prov.evidence[0].field == "trailer"
    assert prov.evidence[0].value == "Co-Authored-By: Claude Sonnet 4 <noreply@anthropic.com>"


HUMANS = [
    ("devin-smith", commit("Devin Smith", "devin@example.com")),
    ("claude-monet", commit("Claude Monet", "claude@monet.fr")),
    ("claude-coauthor-person", commit(trailers=(("Co-authored-by", "Claude <claude@monet.fr>"),))),
    ("cody-banks", commit("Cody Banks", "cody@example.com")),
    ("codex-domain", commit("Jane Doe", "jane@codex.io")),
    ("cursor-in-name", commit("Ana Cursor Lopez", "ana@example.org")),
    ("cursor-in-email-local-part", commit("Sam", "cursoragent@cursor.com.example.org")),
    ("privacy-address", commit("alice", f"12345+alice@{NOREPLY}")),
    ("privacy-address-copilot-like", commit("copilot-fan", f"9999+copilot@{NOREPLY}")),
    (
        "anthropic-lookalike",
        commit(trailers=(("Co-authored-by", "X <noreply@anthropic.com.evil>"),)),
    ),
    ("generated-with-prose", commit(message="Docs generated with terraform-docs v0.16")),
    ("jules-verne", commit("Jules Verne", "jules@nautilus.fr")),
    ("amp-word", commit("Amp Lifier", "amp@example.com")),
    (
        "indented-quoted-trailer",
        commit(message="Revert\n\n    Co-authored-by: C <copilot@github.com>"),
    ),
    ("signed-off-by", commit(trailers=(("Signed-off-by", "Alice Example <alice@example.com>"),))),
    ("generated-by-other-tool", commit(trailers=(("Generated-by", "terraform-docs v0.16"),))),
    ("generated-by-lookalike-word", commit(trailers=(("Generated-by", "claudette 2.1"),))),
    ("generated-by-empty-name", commit(trailers=(("Generated-by", "<bot@example.com>"),))),
    ("coauthor-named-like-a-product", commit(trailers=(("Co-authored-by", "GitHub Copilot"),))),
]


@pytest.mark.parametrize(("case", "c"), HUMANS, ids=[h[0] for h in HUMANS])
def test_lookalike_humans(signatures: AgentSignatures, case: str, c: Commit) -> None:
    prov = classify_commit(c, signatures)
    assert (prov.actor_kind, prov.agent) == ("human", None), prov
    assert all(e.strength == "weak" for e in prov.evidence)


def test_display_name_alone_is_weak_evidence(signatures: AgentSignatures) -> None:
    for name, signature in (
        ("Devin", "devin-weak"),
        ("Claude", "claude-weak"),
        ("Copilot", "copilot-weak"),
    ):
        prov = classify_commit(commit(name, f"{name.lower()}@example.com"), signatures)
        assert prov.actor_kind == "human"
        assert [(e.signature, e.field, e.value, e.strength) for e in prov.evidence] == [
            (signature, "author_name", name, "weak")
        ]


def test_generated_by_names_the_product_and_cites_the_trailer(signatures: AgentSignatures) -> None:
    prov = classify_commit(commit(trailers=(("Generated-by", "Claude"),)), signatures)
    assert (prov.actor_kind, prov.agent) == ("agent", "Claude")
    assert [(e.signature, e.field, e.value, e.strength) for e in prov.evidence] == [
        ("generated-by-trailer", "trailer", "Generated-by: Claude", "strong"),
    ]
    # the stable co-author address still names the product first when both are present
    both = commit(trailers=(("Co-authored-by", "Claude <noreply@anthropic.com>"),
                            ("Generated-by", "Claude")))
    assert classify_commit(both, signatures).agent == "Claude Code"


def test_human_named_claude_is_not_an_agent_by_name_alone(signatures: AgentSignatures) -> None:
    """`Claude` as an author or co-author display name stays weak evidence; only the
    `Generated-by:` trailer, which a tool writes about the commit, decides."""
    author = classify_commit(commit("Claude", "claude@monet.fr"), signatures)
    assert (author.actor_kind, author.agent) == ("human", None)
    coauthor = classify_commit(
        commit(trailers=(("Co-authored-by", "Claude <claude@monet.fr>"),)), signatures
    )
    assert coauthor.actor_kind == "human"
    assert [(e.signature, e.field, e.strength) for e in coauthor.evidence] == [
        ("claude-weak", "trailer", "weak")
    ]
    tool = classify_commit(
        commit("Claude", "claude@monet.fr", trailers=(("Generated-by", "Claude"),)), signatures
    )
    assert (tool.actor_kind, tool.agent) == ("agent", "Claude")


def test_generated_by_at_commit_msg_time(signatures: AgentSignatures) -> None:
    msg = "Add SA\n\nGenerated-by: GitHub Copilot\n# Please enter the commit message.\n"
    prov = classify_actor(*HUMAN, msg, signatures)
    assert (prov.actor_kind, prov.agent) == ("agent", "GitHub Copilot")
    commented = "Add SA\n\n# Generated-by: GitHub Copilot\n"
    assert classify_actor(*HUMAN, commented, signatures).actor_kind == "human"


def test_generated_by_products_come_from_the_pack(tmp_path: Path) -> None:
    pack = tmp_path / "agents.yaml"
    pack.write_text(
        """
coauthor_trailers: [Co-authored-by]
fingerprints:
  - {id: foo, product: Foo Agent, actor_kind: agent, strength: strong, source: somewhere,
     emails: [foo@foo.dev]}
  - {id: foo-weak, product: Foo Agent, actor_kind: agent, strength: weak, source: somewhere,
     names: [Fooey]}
  - {id: some-bot, product: Some Bot, actor_kind: bot, strength: strong, source: somewhere,
     emails: [bot@some.dev]}
  - {id: gen, product: Generated-by trailer, actor_kind: agent, strength: strong,
     source: somewhere, trailers: [{key: Generated-by}]}
""",
        encoding="utf-8",
    )
    signatures = load_agent_signatures(pack=pack)
    assert signatures.named_product("Fooey 2") == "Foo Agent"
    assert signatures.named_product("foo agent") == "Foo Agent"
    assert signatures.named_product("Claude") is None  # not in this pack
    assert signatures.named_product("Some Bot") is None  # bots are not agent products
    prov = classify_commit(commit(trailers=(("Generated-by", "Fooey"),)), signatures)
    assert (prov.actor_kind, prov.agent) == ("agent", "Foo Agent")
    claude = classify_commit(commit(trailers=(("Generated-by", "Claude"),)), signatures)
    assert claude.actor_kind == "human"


def test_generated_by_end_to_end(git_repo: GitRepo, signatures: AgentSignatures) -> None:
    base = git_repo.commit({"README.md": "hi\n"})
    agent = git_repo.commit(
        {"iam.tf": 'resource "aws_iam_user" "ci" {\n  name = "ci"\n}\n'},
        message="Add CI user",
        trailers=[("Generated-by", "Cursor")],
    )
    tool = git_repo.commit(
        {"README.md": "hi\nmore\n"}, message="Docs", trailers=[("Generated-by", "terraform-docs")]
    )
    with cg.repo_session(git_repo.path) as repo:
        cs = cg.build_changeset(repo, base, tool)
    by_sha = {c.sha: classify_commit(c, signatures) for c in cs.commits}
    assert (by_sha[agent].actor_kind, by_sha[agent].agent) == ("agent", "Cursor")
    assert by_sha[tool].actor_kind == "human"


BOTS = [
    ("dependabot", commit("dependabot[bot]", f"49699333+dependabot[bot]@{NOREPLY}"), "Dependabot"),
    (
        "github-actions",
        commit("github-actions[bot]", f"41898282+github-actions[bot]@{NOREPLY}"),
        "GitHub Actions",
    ),
    ("renovate", commit("renovate[bot]", f"29139614+renovate[bot]@{NOREPLY}"), "Renovate"),
    ("any-app", commit("my-app[bot]", f"123456+my-app[bot]@{NOREPLY}"), "GitHub App bot"),
    ("old-style-app", commit("my-app[bot]", f"my-app[bot]@{NOREPLY}"), "GitHub App bot"),
    (
        "human-author-bot-committer",
        commit(
            *HUMAN, committer=("github-actions[bot]", f"41898282+github-actions[bot]@{NOREPLY}")
        ),
        "GitHub Actions",
    ),
]


@pytest.mark.parametrize(("case", "c", "product"), BOTS, ids=[b[0] for b in BOTS])
def test_bots(signatures: AgentSignatures, case: str, c: Commit, product: str) -> None:
    prov = classify_commit(c, signatures)
    assert (prov.actor_kind, prov.agent) == ("bot", product), prov


def test_unknown_only_without_an_address(signatures: AgentSignatures) -> None:
    assert classify_commit(commit("x", ""), signatures).actor_kind == "unknown"
    assert classify_commit(commit("x", "not an email"), signatures).actor_kind == "unknown"
    # strong evidence elsewhere still decides
    c = commit("x", "", trailers=(("Co-authored-by", "Claude <noreply@anthropic.com>"),))
    assert classify_commit(c, signatures).actor_kind == "agent"


def test_branch_prefix_is_weak(signatures: AgentSignatures) -> None:
    for branch in ("copilot/fix-1", "refs/heads/claude/x", "devin/1712345-add-sa", "codex/y"):
        prov = classify_commit(commit(), signatures, branch=branch)
        assert prov.actor_kind == "human"
        assert [(e.field, e.strength) for e in prov.evidence] == [("branch", "weak")]
    assert classify_commit(commit(), signatures, branch="feature/copilot/x").evidence == ()
    agent = classify_commit(commit(*COPILOT), signatures, branch="copilot/x")
    assert agent.actor_kind == "agent"
    assert agent.evidence[-1].field == "branch"


def test_config_branches_and_emails_are_policy() -> None:
    signatures = load_agent_signatures(
        extra_emails=["Release-Robot@Example.com"], extra_branches=["ai/*", "bots/", "release-bot"]
    )
    for branch in ("ai/add-sa", "bots/x/y", "release-bot"):
        prov = classify_commit(commit(), signatures, branch=branch)
        assert (prov.actor_kind, prov.agent) == (
            "agent",
            "configured agent branch (agents.branches)",
        )
        assert prov.evidence[-1].strength == "weak"
    assert classify_commit(commit(), signatures, branch="release-bot-2").actor_kind == "human"
    assert classify_commit(commit(), signatures, branch="main").actor_kind == "human"
    robot = classify_commit(commit("Robot", "release-robot@example.com"), signatures)
    assert (robot.actor_kind, robot.agent) == ("agent", "configured agent (agents.emails)")
    # the shipped pack is unchanged when no extras are given
    assert load_agent_signatures() is load_agent_signatures()
    assert len(signatures.entries) == len(load_agent_signatures().entries) + 2


def test_classify_actor_for_hooks(signatures: AgentSignatures) -> None:
    assert classify_actor(*HUMAN, "", signatures).actor_kind == "human"
    assert classify_actor(*COPILOT, "", signatures).actor_kind == "agent"
    msg = (
        "Add SA\n\nCo-authored-by: Claude <noreply@anthropic.com>\n"
        "# Please enter the commit message for your changes.\n"
    )
    prov = classify_actor(*HUMAN, msg, signatures)
    assert (prov.commit, prov.actor_kind, prov.agent) == ("", "agent", "Claude Code")
    below_scissors = (
        "Add SA\n\n# ------------------------ >8 ------------------------\n"
        "Co-authored-by: Claude <noreply@anthropic.com>\n"
    )
    assert classify_actor(*HUMAN, below_scissors, signatures).actor_kind == "human"
    assert classify_actor(*HUMAN, "", signatures, branch="ai/x").actor_kind == "human"
    assert classify_actor(*HUMAN).actor_kind == "human"  # default signatures


def test_classify_login(signatures: AgentSignatures) -> None:
    assert (
        classify_login("Copilot", signatures).actor_kind,
        classify_login("copilot", signatures).agent,
    ) == (
        "agent",
        "GitHub Copilot coding agent",
    )
    assert classify_login("coderabbitai[bot]", signatures).actor_kind == "agent"
    assert classify_login("renovate[bot]", signatures).agent == "Renovate"
    assert classify_login("some-app[bot]", signatures).actor_kind == "bot"
    assert classify_login("claude", signatures).actor_kind == "human"  # a person's account
    assert classify_login("", signatures).actor_kind == "unknown"


def test_helpers() -> None:
    assert address_of("Claude Opus 4.5 <NoReply@Anthropic.com>") == "noreply@anthropic.com"
    assert address_of("bob@example.com") == "bob@example.com"
    assert address_of("Claude") is None
    assert message_trailers("S\n\nA: b\n  not: indented\nC-d:e") == (("A", "b"), ("C-d", "e"))


def test_pack_is_complete_and_sourced(signatures: AgentSignatures) -> None:
    ids = {signature.id for signature in signatures.entries}
    for required in (
        "copilot-coding-agent",
        "copilot-coauthor",
        "claude-code",
        "claude-code-footer",
        "claude-github-app",
        "cursor",
        "devin",
        "jules",
        "gemini-code-assist",
        "codex-connector",
        "openai-codex-bot",
        "aider",
        "amazon-q",
        "cline",
        "continue",
        "sourcegraph-cody",
        "jetbrains-ai",
        "amp",
        "replit",
        "opencode",
        "codebuff",
        "assisted-by",
        "generated-with-footer",
        "dependabot",
        "github-actions",
        "renovate",
        "github-app-bot",
    ):
        assert required in ids
    assert all(s.source for s in signatures.entries)
    assert all(s.strength == "weak" for s in signatures.entries if s.names or s.branches)


def test_bad_packs_are_fatal(tmp_path: Path) -> None:
    pack = tmp_path / "agents.yaml"
    strong_name = """
coauthor_trailers: [Co-authored-by]
fingerprints:
  - {id: x, product: X, actor_kind: agent, strength: strong, source: somewhere, names: [Devin]}
"""
    pack.write_text(strong_name, encoding="utf-8")
    with pytest.raises(RulePackError, match=r"agents\.yaml: fingerprints/0"):
        load_agent_signatures(pack=pack)
    bad_regex = strong_name.replace("names: [Devin]", "email_patterns: ['(']")
    pack.write_text(bad_regex, encoding="utf-8")
    with pytest.raises(RulePackError, match="invalid regex"):
        load_agent_signatures(pack=pack)
    duplicate = bad_regex.replace("email_patterns: ['(']", "emails: [a@b.c]")
    pack.write_text(duplicate + duplicate.split("fingerprints:\n")[1], encoding="utf-8")
    with pytest.raises(RulePackError, match="duplicate id"):
        load_agent_signatures(pack=pack)
    assert (rules_dir() / "agents.yaml").is_file()


def test_end_to_end_range_attribution(git_repo: GitRepo, signatures: AgentSignatures) -> None:
    base = git_repo.commit({"README.md": "hi\n"})
    git_repo.checkout("copilot/add-sa", create=True)
    agent = git_repo.commit(
        {"iam.tf": 'resource "aws_iam_user" "ci" {\n  name = "ci"\n}\n'},
        author=COPILOT,
        committer=WEB_FLOW,
        message="Add CI user",
        trailers=[("Co-authored-by", "Alice Example <alice@example.com>")],
    )
    human = git_repo.commit({"README.md": "hi\nmore\n"}, message="Docs")
    with cg.repo_session(git_repo.path) as repo:
        cs = cg.build_changeset(repo, base, human, branch=cg.current_branch(repo))
    by_sha = {c.sha: classify_commit(c, signatures, cs.branch) for c in cs.commits}
    assert by_sha[agent].actor_kind == "agent"
    assert by_sha[human].actor_kind == "human"
    assert any(e.field == "branch" for e in by_sha[human].evidence)
    files = {f.path: f for f in cs.files}
    kinds = {by_sha[s].actor_kind for s in files["iam.tf"].line_commits.values()}
    assert kinds == {"agent"}
    assert {by_sha[s].actor_kind for s in files["README.md"].line_commits.values()} == {"human"}
