"""INI-style configuration files beyond `.ini` (issue 12, session 9): `.cfg` and `.conf` files
(`pip.conf`, `setup.cfg`, `boto.cfg`, `rclone.conf`) and the credential files `.s3cfg`
(s3cmd) and `.boto` are read for credential-named keys with `.env`'s placeholder rules, and a
line starting with `;` is a comment in every INI file (`.ini`, `.cfg`, `.conf`): only a value
whose format proves it is a credential counts there. Real git repos in temp dirs: an agent's
commit blocks on the line, a person's does not.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from checker.secrets.config_values import ini_path
from checker.sources.discovery import classify
from tests.conftest import HUMAN, GitRepo, check_findings, found_at

AGENT = ("Claude", "noreply@anthropic.com")
# Values assembled at run time (no secret-shaped literal in this file).
PASSWORD = "WPn5p50M" + "Yrfxqz1t8nDcC18drOzx3YIl"
SECRET = "q8Xr2vLm" + "T0pZ4wN9bK7sY1cF6hJ3dG5aE8uR2iO4"
KEY_ID = "AKIA" + "QX7RJ2LMT4ZPW9SA"
PYPI = "pypi-" + "AgEIcHlwaS5vcmcCJGJmYzQ4YjU2LTk3OGQtNDQ0ZS05ZjA1LWI3ZDc1YzE0ZjJkNwACKlszLCI"

#: path -> (content, the lines NHI401 must block on)
INI_SECRETS: dict[str, tuple[str, set[int]]] = {
    # pip: an index URL with a password in it (basic auth).
    "pip.conf": (f"[global]\nindex-url = https://ci:{PASSWORD}@pypi.corp.example/simple\n",
                 {2}),
    # setup.cfg with a distutils upload section (the `.pypirc` keys).
    "setup.cfg": ("[metadata]\nname = shop\n\n[distutils]\nindex-servers = pypi\n\n[pypi]\n"
                  f"username = __token__\npassword = {PYPI}\n", {9}),
    # boto 2 / gsutil: `[Credentials]` with the AWS key pair.
    "deploy/boto.cfg": (f"[Credentials]\naws_access_key_id = {KEY_ID}\n"
                        f"aws_secret_access_key = {SECRET}\n", {2, 3}),
    # rclone: an S3 remote's key pair.
    "rclone.conf": (f"[backup]\ntype = s3\nprovider = AWS\naccess_key_id = {KEY_ID}\n"
                    f"secret_access_key = {SECRET}\n", {4, 5}),
    # s3cmd.
    ".s3cfg": (f"[default]\naccess_key = {KEY_ID}\nsecret_key = {SECRET}\nuse_https = True\n",
               {2, 3}),
    # `key: value` lines (configparser accepts `:` too).
    "etc/app.conf": (f"[db]\nhost: db\npassword: {PASSWORD}\n", {3}),
}

#: The same kinds of files with references, placeholders, settings and `;` comments: nothing.
INI_CLEAN: dict[str, str] = {
    "pip.conf": "[global]\nindex-url = https://pypi.corp.example/simple\ntimeout = 60\n",
    "setup.cfg": ("[metadata]\nname = shop\n\n[tool:pytest]\naddopts = -q\n\n[flake8]\n"
                  "max-line-length = 100\n"),
    "deploy/boto.cfg": ("[Credentials]\naws_access_key_id = ${AWS_ACCESS_KEY_ID}\n"
                        "aws_secret_access_key = <your-secret-key>\n"),
    "rclone.conf": "[backup]\ntype = s3\nprovider = AWS\nenv_auth = true\n",
    ".s3cfg": "[default]\naccess_key = \nsecret_key = \nuse_https = True\n",
    # `;` comments: a commented-out example is documentation (also in `.ini`).
    "etc/app.conf": f"[db]\n; password = {PASSWORD}\npassword = changeme\n",
    "conf/app.ini": f"[database]\n;password = {PASSWORD}\n  ; token: {SECRET}\n",
    "conf/tox.cfg": f"[testenv]\n; api_key = {SECRET}\n",
    # `.conf` is many programs' suffix: a password-named key's short word is no password there
    # (glibc's nsswitch database, PostgreSQL settings, OpenSSL `req` prompts).
    "etc/nsswitch.conf": "passwd:         files\ngroup:          files\n",
    "etc/postgresql.conf": "#password_encryption = scram-sha-256\t# or md5\n",
    "ssl/req.conf": "[ req_attributes ]\nchallengePassword       = A challenge password\n",
}


@pytest.mark.parametrize("path", sorted(INI_SECRETS))
def test_an_agent_adding_a_credential_to_an_ini_style_file_blocks_line_exact(
    make_repo: Any, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    text, lines = INI_SECRETS[path]
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({path: text}, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert {f for f in found_at(found) if f[0].startswith("NHI4")} == {
        ("NHI401", path, line, True) for line in lines}
    assert code == 1
    assert all(v not in json.dumps(found) for v in (PASSWORD, SECRET, PYPI))


def test_a_person_adding_the_same_credentials_is_judged_as_a_dotenv_password(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Secret material blocks whoever commits it (NHI401 has no `human` variant: issue 12,
    "secret material aside"), so a person's credential in a `.cfg`/`.conf` file is judged as
    the same person's password in `.env`: an error on every line, exit 1."""
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({p: t for p, (t, _) in INI_SECRETS.items()}, author=HUMAN)
    code, found = check_findings(repo, base, capsys)
    agent_repo: GitRepo = make_repo("agent")
    agent_base = agent_repo.commit({"README.md": "x\n"})
    agent_repo.commit({".env": f"DB_PASSWORD={PASSWORD}\n"}, author=HUMAN)
    env_code, env_found = check_findings(agent_repo, agent_base, capsys)
    # The same verdict as a person's `.env` with a password, on every file's lines.
    assert {(f[1], f[2]) for f in found_at(found) if f[0] == "NHI401"} == {
        (p, line) for p, (_, lines) in INI_SECRETS.items() for line in lines}
    assert {f["blocking"] for f in found if f["rule_id"] == "NHI401"} == {
        f["blocking"] for f in env_found if f["rule_id"] == "NHI401"} == {True}
    assert code == env_code == 1


def test_references_placeholders_and_semicolon_comments_in_ini_files_pass(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit(INI_CLEAN, author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert [f for f in found if f["rule_id"].startswith("NHI4")] == []
    assert code == 0


def test_a_real_token_in_a_semicolon_comment_still_blocks(
    make_repo: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `;` comment is read like a `#` one: a value whose format proves it is a credential
    (an AWS key id) counts there, a credential-named key's value does not."""
    repo: GitRepo = make_repo()
    base = repo.commit({"README.md": "x\n"})
    repo.commit({"conf/app.ini": f"[aws]\n; key id {KEY_ID}\n; password = {PASSWORD}\n"},
                author=AGENT)
    code, found = check_findings(repo, base, capsys)
    assert {f for f in found_at(found) if f[0].startswith("NHI4")} == {
        ("NHI401", "conf/app.ini", 2, True)}
    assert code == 1


@pytest.mark.parametrize(("path", "fmt", "ini"), [
    ("pip.conf", "secret_values", True),
    ("setup.cfg", "secret_values", True),
    ("deploy/boto.cfg", "secret_values", True),
    ("etc/nginx/nginx.conf", "secret_values", True),
    (".s3cfg", "secret_values", True),
    ("home/.boto", "secret_values", True),
    ("conf/app.ini", "secret_values", True),
    (".pypirc", "secret_values", True),
    ("src/main/resources/application.properties", "secret_values", False),
    ("conf/settings.toml", "secret_values", False),
    ("config.cfg.example", None, False),
])  # fmt: skip
def test_ini_style_files_are_read_by_name(path: str, fmt: str | None, ini: bool) -> None:
    assert classify(path) == fmt
    assert ini_path(path) is ini
