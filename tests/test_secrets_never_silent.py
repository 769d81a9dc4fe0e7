"""Issue 12: a credential never passes silently (the attacker's findings in secret material).

Each case is a real git repository: a human base commit, then an agent's commit
(`Claude <noreply@anthropic.com>`), judged by `nhi-gate check`:

- a placeholder word beside a random rest (`changeme-<random>`, `<password><random>`,
  `<random>-CHANGEME`, a Helm value `"changeme-<random>"`) and a shell default
  (`${DB_PASSWORD:-<random>}`) hide no secret; true placeholders stay quiet;
- format tokens in text files no parser reads (`.env.example`, `config/settings.json`, a root
  `mcp.json`, `.windsurf/mcp_config.json`, `claude_desktop_config.json`, `*-values.yml`);
- a keyed password beside a token on one JSON line, a Bearer token in an MCP server's headers;
- an Argo CD repository Secret holding only settings is no secret material (NHI404).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import HUMAN, GitRepo, check_findings, found_at

AGENT = ("Claude", "noreply@anthropic.com")
#: A random value of the attacker's shape (no format plugin matches it).
RANDOM = "8fbpaxmaL2fS-C-wK5mDiFlz"
#: A GitHub token's shape (the detect-secrets GitHub plugin matches it).
PAT = "ghp_bBAOnUjlrDybUNRzTCyCQDlNrt5yAtaKSYLv"
#: A random AWS secret access key shape (40 characters), unquoted: no plugin matches it.
AWS_SECRET = "l6TUc9kl3JDX3E6iOYBFBCSV0+4C+t67LU9KrgOy"


def _agent_adds(make_repo: Any, capsys: pytest.CaptureFixture[str],
                files: dict[str, str]) -> tuple[int, set[tuple[str, str, int, bool]], str]:
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "# app\n"}, author=HUMAN)
    repo.commit(files, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    secrets = {f for f in found_at(found) if f[0].startswith("NHI40")}
    return code, secrets, json.dumps(found)


@pytest.mark.parametrize(("path", "text", "line"), [
    (".env", f"API_KEY=changeme-{RANDOM}\n", 1),
    (".env", f"DB_PASSWORD=<password>{RANDOM}\n", 1),
    (".env", f"DB_PASSWORD={RANDOM}-CHANGEME\n", 1),
    (".env", f"DB_PASSWORD=${{DB_PASSWORD:-{RANDOM}}}\n", 1),
    ("charts/app/values.yaml", f'postgresql:\n  auth:\n    password: "changeme-{RANDOM}"\n', 3),
    ("terraform.tfvars", f'db_password = "changeme{RANDOM}"\n', 1),
])  # fmt: skip
def test_a_placeholder_word_does_not_hide_a_random_secret(
    make_repo: Any, capsys: pytest.CaptureFixture[str], path: str, text: str, line: int
) -> None:
    code, found, out = _agent_adds(make_repo, capsys, {path: text})
    assert code == 1
    assert found == {("NHI401", path, line, True)}
    assert RANDOM not in out


@pytest.mark.parametrize("text", [
    "API_KEY=changeme\n",
    "DB_PASSWORD=${DB_PASSWORD:-changeme}\n",
    "DB_PASSWORD=${DB_PASSWORD}\n",
    "DB_PASSWORD=${DB_PASSWORD:-}\n",
    "API_KEY=your-api-key-here\n",
    "DB_PASSWORD=<password>\n",
    "SECRET_KEY=changeme_in_production_2024_secret_key\n",
])  # fmt: skip
def test_true_placeholders_stay_quiet(
    make_repo: Any, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    code, found, _ = _agent_adds(make_repo, capsys, {".env": text})
    assert (code, found) == (0, set())


@pytest.mark.parametrize(("path", "text", "line"), [
    (".env.sample", f"GITHUB_TOKEN={PAT}\n", 1),
    ("config/settings.json", json.dumps({"github": {"token": PAT}}) + "\n", 1),
    ("config/settings.yaml", f"github:\n  token: {PAT}\n", 2),
    ("docs/setup.md", f"Run with:\n\n    export GITHUB_TOKEN={PAT}\n", 3),
    ("claude_desktop_config.json", json.dumps({"mcpServers": {"gh": {
        "command": "npx", "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": PAT}}}}) + "\n", 1),
])  # fmt: skip
def test_format_tokens_in_files_no_parser_reads_block(
    make_repo: Any, capsys: pytest.CaptureFixture[str], path: str, text: str, line: int
) -> None:
    code, found, out = _agent_adds(make_repo, capsys, {path: text})
    assert code == 1
    assert found == {("NHI401", path, line, True)}
    assert PAT not in out


def test_an_env_example_holds_documentation_and_credentials_apart(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """`.env.example`: the token, the random AWS secret key and the random password are
    credentials; a weak documented default (`postgres`) and a placeholder are not."""
    text = (f"GITHUB_TOKEN={PAT}\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\n"
            f"DB_PASSWORD={RANDOM}\nPOSTGRES_PASSWORD=postgres\nAPI_KEY=changeme\n")
    code, found, _ = _agent_adds(make_repo, capsys, {".env.example": text})
    assert code == 1
    assert found == {("NHI401", ".env.example", n, True) for n in (1, 2, 3)}


@pytest.mark.parametrize(("path", "text", "line"), [
    ("mcp.json", json.dumps({"mcpServers": {"api": {
        "url": "https://mcp.example.com/sse",
        "headers": {"Authorization": f"Bearer {RANDOM}"}}}}) + "\n", 1),
    (".cursor/mcp.json", json.dumps({"mcpServers": {"api": {
        "url": "https://mcp.example.com/sse",
        "headers": {"Authorization": f"Bearer {RANDOM}"}}}}) + "\n", 1),
    (".windsurf/mcp_config.json", json.dumps({"mcpServers": {"api": {
        "serverUrl": "https://mcp.example.com/sse",
        "headers": {"X-API-Key": RANDOM}}}}) + "\n", 1),
    ("deploy/prod/app-values.yml", f'auth:\n  password: "{RANDOM}"\n', 2),
])  # fmt: skip
def test_keyed_credentials_in_mcp_configs_and_values_files_block(
    make_repo: Any, capsys: pytest.CaptureFixture[str], path: str, text: str, line: int
) -> None:
    code, found, out = _agent_adds(make_repo, capsys, {path: text})
    assert code == 1
    assert found == {("NHI401", path, line, True)}
    assert RANDOM not in out


def test_a_bearer_reference_in_mcp_headers_is_no_secret(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps({"mcpServers": {"api": {"url": "https://mcp.example.com/sse", "headers": {
        "Authorization": "Bearer ${input:api-token}"}}}}) + "\n"
    _, found, _ = _agent_adds(make_repo, capsys, {".cursor/mcp.json": text})
    assert found == set()


def test_a_password_beside_a_token_on_one_json_line_is_found_too(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps({"db_password": RANDOM, "github_token": PAT}) + "\n"
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "# app\n"}, author=HUMAN)
    repo.commit({"config/prod.tfvars.json": text}, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert code == 1
    assert sorted(f["address"].split(":", 1)[0] for f in found if f["rule_id"] == "NHI401") == [
        "config/prod.tfvars.json#secret.db_password",
        "config/prod.tfvars.json#secret.github_token"]


ARGO_REPO = """\
apiVersion: v1
kind: Secret
metadata:
  name: public-helm-repo
  namespace: argocd
  labels:
    argocd.argoproj.io/secret-type: repository
stringData:
  url: https://charts.example.com
  name: example
  type: helm
  enableOCI: "false"
  insecure: "false"
  enableLfs: "true"
"""


def test_an_argocd_repository_secret_of_settings_only_is_no_secret_material(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "# x\n"}, author=HUMAN)
    repo.commit({"k8s/repo.yaml": ARGO_REPO}, author=HUMAN)
    code, found = check_findings(repo, base, capsys)
    assert code == 0
    assert [f for f in found if f["rule_id"] == "NHI404"] == []


def test_an_argocd_repository_secret_with_a_password_is_secret_material(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "# x\n"}, author=HUMAN)
    repo.commit({"k8s/repo.yaml": ARGO_REPO + f"  password: {RANDOM}\n"}, author=HUMAN)
    code, found = check_findings(repo, base, capsys)
    assert code == 1
    nhi404 = [(f["rule_id"], f["start_line"], f["blocking"]) for f in found
              if f["rule_id"] == "NHI404"]
    assert nhi404 == [("NHI404", 15, True)]
    assert "stringData.password" in json.dumps(found)
    assert "stringData.type" not in json.dumps(found)


def test_scan_reads_dotenv_templates_but_leaves_unread_files_to_check(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """`scan` reads `.env.example` (a `secret_template`) but does not run the format plugins
    over every other text file (README "Files and directories": the cost on a whole tree);
    `check` and `hook` do, on the changed files."""
    from checker.cli import main

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.json").write_text(json.dumps({"token": PAT}) + "\n")
    (tmp_path / ".env.example").write_text(f"GITHUB_TOKEN={PAT}\nPOSTGRES_PASSWORD=postgres\n")
    code = main(["scan", str(tmp_path), "--format", "json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert [(f["rule_id"], f["path"].rsplit("/", 1)[-1], f["start_line"]) for f in found] == [
        ("NHI401", ".env.example", 1)]


def test_the_hook_reads_format_tokens_in_a_staged_file_no_parser_reads(
    make_repo: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from checker.cli import main

    repo: GitRepo = make_repo()
    repo.commit({"README.md": "# app\n"}, author=HUMAN)
    repo.stage({"config/settings.json": json.dumps({"github": {"token": PAT}}) + "\n"})
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", AGENT[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", AGENT[1])
    code = main(["hook", "config/settings.json", "--format", "json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert found_at(found) == {("NHI401", "config/settings.json", 1, True)}


def _pem_body(seed: int) -> str:
    import base64
    import random

    rng = random.Random(seed)
    return "\n".join(base64.b64encode(bytes(rng.randrange(256) for _ in range(48))).decode()
                     for _ in range(4))


@pytest.mark.parametrize(("path", "text", "expected"), [
    ("internal/testdata/keys.go",
     f'package keys\n\nconst key = `-----BEGIN RSA PRIVATE KEY-----\n{_pem_body(1)}\n'
     "-----END RSA PRIVATE KEY-----`\n", {("NHI401", "internal/testdata/keys.go", 3, True)}),
    ("docs/api/spec.md",
     "<p>&ldquo;private-key&rdquo;: &ldquo;&mdash;&ndash;BEGIN PRIVATE KEY&mdash;&ndash;\\n"
     "<private-key>\\n&mdash;&ndash;END PRIVATE KEY&mdash;&ndash;\\n&rdquo;</p>\n", set()),
])  # fmt: skip
def test_a_private_key_in_an_unread_file_needs_its_key_material(
    make_repo: Any, capsys: pytest.CaptureFixture[str], path: str, text: str,
    expected: set[tuple[str, str, int, bool]],
) -> None:
    """In prose and code a private-key header counts only with a whole block of key material
    (the generated-docs line is from external-secrets' docs/api/spec.md)."""
    code, found, _ = _agent_adds(make_repo, capsys, {path: text})
    assert found == expected
    assert code == (1 if expected else 0)
