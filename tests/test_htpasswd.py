"""Basic-auth user files (`.htpasswd`, `checker.secrets.htpasswd`): each `user:hash` entry is a
credential, NHI401 on its line whoever commits it (secret material); comments, blank lines,
locked entries and placeholders are none. Attacker re-check case `sec-htpasswd`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from checker.secrets.htpasswd import htpasswd_hit, htpasswd_path
from checker.sources.discovery import classify
from tests.conftest import HUMAN, GitRepo, check_findings, found_at

AGENT = ("Claude", "noreply@anthropic.com")
# Hash-shaped values assembled at run time (no credential-shaped literal in this file).
APR1 = "$apr1$" + "Xy7Qz9Lk$" + "Jq8v9bN2mP4rT6wY1uE3i."
BCRYPT = "$2y$05$" + "Q0uU8kYh3tqv1z0Fv6m7Ge" + "Rz5yq8w3JcV2nB7xK4pL9sD1aT6uH0eMi"
SHA = "{SHA}" + "W6ph5Mm5Pz8GgiULbPgzG37mj9g="
CRYPT = "rl0fTQ/" + "7r/YoQ"
SHA512 = ("$6$" + "saltsalt$" + "qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9Yte"
          "rLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/")


@pytest.mark.parametrize("who", ["agent", "human"])
def test_a_committed_htpasswd_entry_blocks_whoever_commits_it(
    make_repo: Any, capsys: pytest.CaptureFixture[str], who: str
) -> None:
    repo: GitRepo = make_repo()
    base = repo.commit({".htpasswd": "\n"}, author=HUMAN)
    repo.commit({".htpasswd": f"# staff\nadmin:{APR1}\n"},
                author=AGENT if who == "agent" else ("Bob Builder", "bob@example.com"))
    code, found = check_findings(repo, base, capsys)
    assert code == 1
    assert found_at(found) == {("NHI401", ".htpasswd", 2, True)}
    (finding,) = found
    assert "htpasswd password hash hardcoded in `admin`" in finding["message"]
    assert APR1 not in json.dumps(found)


@pytest.mark.parametrize("value", [APR1, BCRYPT, SHA, CRYPT, SHA512, "{PLAIN}" + "s3cr3t-Pa55"])
def test_every_documented_hash_format_is_a_credential(value: str) -> None:
    hit = htpasswd_hit(3, f"deploy:{value}")
    assert hit is not None
    assert (hit.line, hit.key, hit.detector) == (3, "deploy", "htpasswd password hash")
    assert value not in hit.redacted


@pytest.mark.parametrize("line", [
    "# admin:" + APR1, "", "   ", "locked:*", "locked:!", "empty:", "doc:<hash>",
    "doc:${ADMIN_HASH}", "doc:changeme", "doc:$apr1$xxxxxxxx$xxxxxxxxxxxxxxxxxxxxxx",
])  # fmt: skip
def test_comments_locked_entries_and_placeholders_are_no_credential(line: str) -> None:
    assert htpasswd_hit(1, line) is None


@pytest.mark.parametrize(("path", "expected"), [
    (".htpasswd", True), ("deploy/nginx/htpasswd", True), ("auth/admin.htpasswd", True),
    ("docs/htpasswd.md", False), (".htaccess", False),
])  # fmt: skip
def test_htpasswd_files_are_read_by_name(path: str, expected: bool) -> None:
    assert htpasswd_path(path) is expected
    assert (classify(path) == "secret_values") is expected
