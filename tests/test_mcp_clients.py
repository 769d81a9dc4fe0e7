"""MCP client configurations beyond Claude Code, VS Code and Cursor (Roo Code's `.roo/mcp.json`,
OpenCode's `opencode.json`), and a credential in a server URL's query string
(`?api_key=...`): an agent adding one is NHI101 and the literal is NHI401; a reference
(`${VAR}`, `{env:VAR}`) is no secret; a person's change does not block."""

from __future__ import annotations

import json
from typing import Any

import pytest

from checker.parsers.url_params import query_pairs
from tests.conftest import HUMAN, GitRepo, check_findings

AGENT = ("Claude", "noreply@anthropic.com")
# A fake 40-hex token assembled at run time (no token-shaped literal in this file).
TOKEN = "9f8e7d6c5b4a" + "39281706f5e4d3c2b1a0" + "a1b2c3d4"


def _rows(found: list[dict[str, Any]]) -> set[tuple[str, str, int, bool]]:
    return {(f["rule_id"], f["path"], f["start_line"], f["blocking"]) for f in found
            if f["rule_id"] in ("NHI101", "NHI401")}


CASES = {
    "cursor-url-query": (".cursor/mcp.json", {"mcpServers": {"internal": {
        "url": f"https://mcp.corp.example/sse?team=web&api_key={TOKEN}"}}}),
    "roo-header": (".roo/mcp.json", {"mcpServers": {"linear": {
        "url": "https://mcp.linear.app/sse", "headers": {"Authorization": f"Bearer {TOKEN}"}}}}),
    "opencode-v1-remote": ("opencode.json", {"$schema": "https://opencode.ai/config.json",
                                             "mcp": {"jira": {
        "type": "remote", "url": "https://mcp.atlassian.com/v1/sse",
        "headers": {"Authorization": f"Bearer {TOKEN}"}}}}),
    "opencode-v2-local": (".opencode/opencode.json", {"mcp": {"servers": {"db": {
        "type": "local", "command": ["npx", "-y", "db-mcp"],
        "environment": {"DB_API_TOKEN": TOKEN}}}}}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_agent_adding_a_credentialed_mcp_server_blocks(
    make_repo: Any, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    path, config = CASES[case]
    text = json.dumps(config, indent=2) + "\n"
    line = next(i for i, t in enumerate(text.splitlines(), 1) if TOKEN in t)
    server = next(i for i, t in enumerate(text.splitlines(), 1)
                  if t.strip().startswith(('"internal"', '"linear"', '"jira"', '"db"')))
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"}, author=HUMAN)
    repo.commit({path: text}, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert code == 1
    assert _rows(found) == {("NHI101", path, server, True), ("NHI401", path, line, True)}
    assert TOKEN not in json.dumps(found)  # redacted


def test_a_url_query_reference_is_no_secret_and_a_person_is_not_blocked(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps({"mcpServers": {"internal": {
        "url": "https://mcp.corp.example/sse?api_key=${MCP_API_KEY}"}}}, indent=2) + "\n"
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"}, author=HUMAN)
    repo.commit({".cursor/mcp.json": text}, author=HUMAN)
    code, found = check_findings(repo, base, capsys)
    assert code == 0
    assert _rows(found) == set()


def test_query_pairs_reads_only_url_queries() -> None:
    assert list(query_pairs(f'"url": "https://h/p?a=1&api_key={TOKEN}#frag"')) == [
        ("a", "1"), ("api_key", TOKEN)]
    assert list(query_pairs("run: a=1 && token=x ./go?x")) == []
    assert list(query_pairs("see https://h/p?flag&empty=&k=v")) == [("k", "v")]


def test_opencode_variables_are_references_not_secrets(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """OpenCode reads `{env:NAME}` and `{file:path}` at run time
    (https://opencode.ai/docs/config/#variables): no literal, so no NHI401 (a person's change
    passes; an agent's still needs approval for the credentialed server)."""
    text = json.dumps({"mcp": {"aws": {"type": "local", "command": ["aws-mcp"], "environment": {
        "AWS_SECRET_ACCESS_KEY": "{env:AWS_SECRET_ACCESS_KEY}",
        "AWS_SESSION_TOKEN": "{file:~/.aws/session-token}"}}}}, indent=2) + "\n"
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"}, author=HUMAN)
    repo.commit({"opencode.json": text}, author=HUMAN)
    code, found = check_findings(repo, base, capsys)
    assert code == 0
    assert [f["rule_id"] for f in found if f["rule_id"].startswith("NHI40")] == []
