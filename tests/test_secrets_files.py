"""Issue 15, secret material in files nhi-gate did not read: dotenv files, Helm values files,
`terraform.tfvars.json` and MCP client configurations (`.mcp.json`, `.vscode/mcp.json`,
`.cursor/mcp.json`, agent settings with `mcpServers`), line-exact, and their absence."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main
from checker.sources.discovery import classify
from tests.conftest import HUMAN, GitRepo, check_findings, found_at

ROOT = Path(__file__).resolve().parents[1]
# Fake values assembled at run time (no token-shaped literal in this file).
PAT = "ghp_" + "Z9yX8wV7uT6sR5qP4oN3mL2kJ1iH0gF9eD8c"
PASSWORD = "Qm8" + "vT2xLp9Rz4Kw"
AGENT = ("Claude", "noreply@anthropic.com")

MCP = json.dumps({"mcpServers": {"github": {
    "command": "docker", "args": ["run", "-i", "ghcr.io/github/github-mcp-server"],
    "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": PAT}}}}, indent=2) + "\n"
MCP_REFERENCE = json.dumps({"servers": {"github": {
    "type": "http", "url": "https://api.githubcopilot.com/mcp/",
    "headers": {"Authorization": "Bearer ${input:github_token}"}}}}, indent=2) + "\n"
TREE = {
    "app/.env": f"# local settings\nDB_HOST=db\nDB_PASSWORD={PASSWORD}\n",
    "app/.env.production": f"GITHUB_TOKEN={PAT}\n",
    "app/.env.example": "DB_PASSWORD=your-password-here\nAPI_TOKEN=changeme\n",
    "infra/terraform.tfvars.json": json.dumps({"region": "eu-west-1", "db_password": PASSWORD},
                                              indent=2) + "\n",
    "charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
    "charts/app/values.yaml": f"image: app:1\npostgresql:\n  auth:\n    password: {PASSWORD}\n",
    "charts/app/values-prod.yaml": "postgresql:\n  auth:\n    existingSecret: db\n",
    ".mcp.json": MCP,
    ".cursor/mcp.json": MCP,
    ".vscode/mcp.json": MCP_REFERENCE,
    ".claude/settings.json": json.dumps({"mcpServers": {"db": {
        "command": "npx", "env": {"PGPASSWORD": PASSWORD}}}}, indent=2) + "\n",
}


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def test_scan_reads_dotenv_values_tfvars_json_and_mcp_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path / "repo", TREE)
    code = main(["scan", str(tmp_path / "repo"), "--format", "json"])
    out = capsys.readouterr().out
    found: list[dict[str, Any]] = json.loads(out)["findings"]
    assert code == 1
    assert sorted((f["rule_id"], f["path"], f["start_line"]) for f in found) == [
        ("NHI401", ".claude/settings.json", 6),
        ("NHI401", ".cursor/mcp.json", 11),
        ("NHI401", ".mcp.json", 11),
        ("NHI401", "app/.env", 3),
        ("NHI401", "app/.env.production", 1),
        ("NHI401", "charts/app/values.yaml", 4),
        ("NHI401", "infra/terraform.tfvars.json", 3),
    ]
    assert PAT not in out and PASSWORD not in out


@pytest.mark.parametrize(("path", "fmt"), [
    (".env", "secret_values"),
    ("app/.env.production", "secret_values"),
    ("deploy/prod.env", "secret_values"),
    ("app/.env.example", "secret_template"),
    ("app/.env.sample", "secret_template"),
    (".mcp.json", "mcp_config"),
    ("tools/.vscode/mcp.json", "mcp_config"),
    (".cursor/mcp.json", "mcp_config"),
    (".claude/settings.json", "mcp_config"),
    (".claude/settings.local.json", "mcp_config"),
    ("docs/mcp.json", None),
    ("mcp.json", "mcp_config"),
    (".windsurf/mcp_config.json", "mcp_config"),
    ("claude_desktop_config.json", "mcp_config"),
])  # fmt: skip
def test_classify_dotenv_and_mcp_files_by_name(path: str, fmt: str | None) -> None:
    assert classify(path, b"{}") == fmt


def test_classify_helm_values_by_name_and_content() -> None:
    assert classify("charts/app/values.yaml", b"auth:\n  password: x\n") == "secret_values"
    assert classify("charts/app/values.prod.yaml", b"a: 1\n") == "secret_values"
    assert classify("config/settings.yaml", b"auth:\n  password: x\n") is None
    manifest = b"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n"
    assert classify("values.yaml", manifest) == "kubernetes"


def test_the_precommit_hook_passes_every_text_file() -> None:
    """No `files:` filter: dotenv, MCP, values and any other text file reach `nhi-gate hook`
    (format tokens are read in every text file, issue 12)."""
    manifest = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    hook = manifest.split("- id: nhi-gate\n", 1)[1].split("\n- id:", 1)[0]
    assert "types: [text]" in hook
    assert re.search(r"^\s+files:", hook, re.MULTILINE) is None


def test_agent_adding_a_dotenv_and_an_mcp_token_blocks_line_exact(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({"app/.env": TREE["app/.env"], ".mcp.json": MCP,
                 ".vscode/mcp.json": MCP_REFERENCE}, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert code == 1
    assert {f for f in found_at(found) if f[0].startswith("NHI40")} == {
        ("NHI401", "app/.env", 3, True), ("NHI401", ".mcp.json", 11, True)}


MCP_SERVER = json.dumps({"mcpServers": {
    "docs": {"command": "npx", "args": ["-y", "docs-mcp"]},
    "github": {"command": "docker", "args": ["run", "-i", "ghcr.io/github/github-mcp-server"],
               "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${GITHUB_PAT}"}}}}, indent=2) + "\n"


@pytest.mark.parametrize(("author", "expected"), [
    (AGENT, {("NHI101", ".mcp.json", 10, True)}),
    (HUMAN, set()),
])  # fmt: skip
def test_an_agent_adding_an_mcp_server_with_a_credential_needs_approval(
    make_repo: Any, capsys: pytest.CaptureFixture[str], author: tuple[str, str],
    expected: set[tuple[str, str, int, bool]],
) -> None:
    """The credentialed server (github, line 10) is an identity; the docs server has none."""
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({".mcp.json": MCP_SERVER}, author=author)
    code, found = check_findings(repo, base, capsys)
    assert {f for f in found_at(found) if f[0] == "NHI101"} == expected
    assert code == (1 if expected else 0)


def test_an_agent_changing_an_mcp_servers_credential_needs_approval(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    repo: GitRepo = make_repo()
    base = repo.commit({".mcp.json": MCP_SERVER}, author=HUMAN)
    repo.commit({".mcp.json": MCP_SERVER.replace("${GITHUB_PAT}", "${ORG_ADMIN_PAT}")},
                author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert code == 1
    assert {(f["rule_id"], f["path"], f["address"]) for f in found
            if f["rule_id"] == "NHI101"} == {("NHI101", ".mcp.json", ".mcp.json#mcpServers.github")}


def test_vscode_mcp_json_with_comments_is_read_line_exact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # VS Code reads .vscode/mcp.json as JSON with comments and trailing commas
    repo = GitRepo(tmp_path / "repo")
    base = repo.commit({"README.md": "x\n"})
    text = ("{\n  // tool servers\n  \"servers\": {\n    /* GitHub */\n    \"github\": {\n"
            "      \"url\": \"https://api.githubcopilot.com/mcp/\",\n"
            "      \"headers\": {\"Authorization\": \"Bearer ${input:token}\"},\n"
            "    },\n  },\n}\n")
    repo.commit({".vscode/mcp.json": text}, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert code == 1
    assert [(f["rule_id"], f["start_line"], f["blocking"]) for f in found
            if f["rule_id"] in ("NHI101", "NHI901")] == [("NHI101", 5, True)]
