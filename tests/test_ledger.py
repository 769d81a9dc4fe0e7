"""`nhi-gate ledger` on real git histories (issue 17): identities created by an agent, then a
human edits one, an agent widens another, one is removed, one is moved to another file; the
ledger holds exactly those events with the right actors, and a second run after one more
commit adds only that commit's events."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import jsonschema
import pytest
from fake_github import FakeGitHub, FakePull, FakeUser, serve

from checker.cli import main
from tests.conftest import CLAUDE_TRAILER, COPILOT, HUMAN, GitRepo

CONFIG = "budgets: {parse_seconds: 600}\n"  # a busy machine never turns a file into NHI903
IAM = """\
resource "aws_iam_user" "deploy" {
  name = "deploy"
}

resource "aws_iam_user" "old" {
  name = "old"
}
"""
IAM_OWNED = IAM.replace('  name = "deploy"\n', '  name = "deploy"\n  tags = {\n'
                        '    owner = "team-pay"\n  }\n')
ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: reader
  namespace: apps
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["get"]
"""
SA = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ci
  namespace: apps
"""


def _history(make_repo: Callable[..., GitRepo]) -> tuple[GitRepo, list[str]]:
    repo = make_repo()
    shas = [
        repo.commit({".nhi-gate.yaml": CONFIG, "iam.tf": IAM, "k8s/rbac.yaml": ROLE + "---\n" + SA},
                    author=COPILOT, message="Add deploy identities"),
        repo.commit({"iam.tf": IAM_OWNED}, author=HUMAN, message="Tag the deploy user"),
        repo.commit({"k8s/rbac.yaml": ROLE.replace('["get"]', '["*"]') + "---\n" + SA},
                    author=COPILOT, message="Let the reader do everything"),
        repo.commit({"iam.tf": IAM_OWNED.split("\n\n")[0] + "\n"}, author=HUMAN,
                    message="Remove the old user"),
        repo.commit({"k8s/rbac.yaml": ROLE.replace('["get"]', '["*"]'), "k8s/sa.yaml": SA},
                    author=HUMAN, message="Move the service account", trailers=[CLAUDE_TRAILER]),
    ]
    return repo, shas


def _events(db: Path) -> list[tuple[str, str, str, str | None, str]]:
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT i.address, e.event, e.actor_kind, e.agent, e.commit_sha FROM events e "
            "JOIN identities i USING (identity_id) ORDER BY e.seq").fetchall()
    return [tuple(r) for r in rows]


def test_ledger_records_each_lifecycle_event_with_its_actor(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo, shas = _history(make_repo)
    db = tmp_path / "ledger.sqlite"
    assert main(["ledger", str(repo.path), "--db", str(db), "--format", "json"]) == 0
    out = capsys.readouterr()
    assert "5 commit(s) walked, 8 event(s) added" in out.err
    copilot = "GitHub Copilot coding agent"
    assert _events(db) == [
        ("aws_iam_user.deploy", "created", "agent", copilot, shas[0]),
        ("aws_iam_user.old", "created", "agent", copilot, shas[0]),
        ("Role/apps/reader", "created", "agent", copilot, shas[0]),
        ("ServiceAccount/apps/ci", "created", "agent", copilot, shas[0]),
        ("aws_iam_user.deploy", "metadata_changed", "human", None, shas[1]),
        ("Role/apps/reader", "widened", "agent", copilot, shas[2]),
        ("aws_iam_user.old", "removed", "human", None, shas[3]),
        ("ServiceAccount/apps/ci", "moved", "agent", "Claude Code", shas[4]),
    ]
    data = json.loads(out.out)
    moved = next(e for e in data["events"] if e["event"] == "moved")
    assert (moved["evidence"], moved["strength"], moved["author"]) == (
        ["claude-code:trailer", "claude-weak:trailer"], "strong",
        "Alice Example <alice@example.com>")
    assert moved["detail"] == "moved from k8s/rbac.yaml:11"
    rows = {r["address"]: r for r in data["identities"]}
    assert sorted(rows) == ["Role/apps/reader", "ServiceAccount/apps/ci", "aws_iam_user.deploy"]
    sa = rows["ServiceAccount/apps/ci"]
    assert (sa["path"], sa["line"], sa["status"]) == ("k8s/sa.yaml", 1, "live")
    assert sa["created_by"]["actor_kind"] == "agent" and sa["created_by"]["commit"] == shas[0]
    assert sa["last_changed_by"]["agent"] == "Claude Code"
    deploy = rows["aws_iam_user.deploy"]
    assert (deploy["owner"], deploy["last_changed_by"]["actor_kind"]) == ("team-pay", "human")
    assert deploy["approved"] is False


def test_a_second_run_adds_only_the_new_commits_events(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo, _ = _history(make_repo)
    db = tmp_path / "ledger.sqlite"
    assert main(["ledger", str(repo.path), "--db", str(db)]) == 0
    before = _events(db)
    new = repo.commit({"iam.tf": IAM_OWNED.split("\n\n")[0] + "\n\n"
                       'resource "aws_iam_user" "extra" {\n  name = "extra"\n}\n'},
                      author=HUMAN, message="Add extra (#7)")
    capsys.readouterr()
    assert main(["ledger", str(repo.path), "--db", str(db), "--format", "jsonl"]) == 0
    out = capsys.readouterr()
    assert "1 commit(s) walked, 1 event(s) added" in out.err
    assert _events(db) == [*before, ("aws_iam_user.extra", "created", "human", None, new)]
    rows = [json.loads(line) for line in out.out.splitlines()]
    extra = next(r for r in rows
                 if r["table"] == "identity" and r["address"] == "aws_iam_user.extra")
    assert extra["approved"] is True and extra["approval"] == {
        "merge_commit": new, "pr": 7, "reviews": []}


def test_ledger_queries(make_repo: Callable[..., GitRepo], tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    repo, _ = _history(make_repo)
    db = tmp_path / "ledger.sqlite"

    def query(*flags: str) -> list[str]:
        capsys.readouterr()
        assert main(["ledger", str(repo.path), "--db", str(db), "--format", "json",
                     *flags]) == 0
        return [r["address"] for r in json.loads(capsys.readouterr().out)["identities"]]

    assert query("--agent-created") == ["aws_iam_user.deploy", "Role/apps/reader",
                                        "ServiceAccount/apps/ci"]
    assert query("--widened") == ["Role/apps/reader"]
    assert query("--without-owner") == ["Role/apps/reader", "ServiceAccount/apps/ci"]
    assert query("--unapproved-agent", "--without-owner", "--widened") == ["Role/apps/reader"]
    assert query("--include-removed", "--agent-created")[:2] == ["aws_iam_user.deploy",
                                                                  "aws_iam_user.old"]
    assert query("--expiring", "30") == []


def test_every_jsonl_row_matches_the_shipped_schema(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    schema = json.loads((Path(__file__).resolve().parent.parent / "checker" / "schemas"
                         / "ledger-row.schema.json").read_text(encoding="utf-8"))
    repo, _ = _history(make_repo)
    assert main(["ledger", str(repo.path), "--db", str(tmp_path / "l.sqlite"),
                 "--format", "jsonl", "--include-removed"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["table"] for r in rows].count("event") == 8
    for row in rows:
        jsonschema.validate(row, schema)


def test_a_version_that_cannot_be_read_changes_nothing(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo, _ = _history(make_repo)
    db = tmp_path / "ledger.sqlite"
    assert main(["ledger", str(repo.path), "--db", str(db)]) == 0
    before = _events(db)
    repo.commit({"k8s/rbac.yaml": ROLE + "rules: [\n"}, author=COPILOT, message="Break it")
    fixed = repo.commit({"k8s/rbac.yaml": ROLE}, author=HUMAN, message="Fix it")
    capsys.readouterr()
    assert main(["ledger", str(repo.path), "--db", str(db), "--format", "json"]) == 0
    out = capsys.readouterr()
    assert "2 commit(s) walked, 1 event(s) added" in out.err
    assert _events(db) == [*before, ("Role/apps/reader", "narrowed", "human", None, fixed)]
    assert json.loads(out.out)["problems"] == []


@pytest.fixture
def gh() -> Iterator[FakeGitHub]:
    """A fake GitHub API on a loopback port (tests/fake_github.py)."""
    yield from serve(FakeGitHub())


def test_reviews_of_the_pull_request_with_a_token(
        make_repo: Callable[..., GitRepo], tmp_path: Path, gh: FakeGitHub,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    sha = repo.commit({".nhi-gate.yaml": CONFIG, "k8s/sa.yaml": SA}, author=COPILOT,
                      message="Add the CI account (#5)")
    bob = FakeUser("bob", id=7)
    gh.pulls[5] = FakePull(5, FakeUser("copilot-swe-agent", "Bot", id=8), sha, sha,
                           reviews=[(bob, "APPROVED", sha)])
    db = str(tmp_path / "l.sqlite")
    args = ["ledger", str(repo.path), "--db", db, "--format", "json"]
    assert main(args) == 0  # no token, no repository: nothing read from the network
    rows = json.loads(capsys.readouterr().out)["identities"]
    assert rows[0]["approval"] == {"merge_commit": sha, "pr": 5, "reviews": []}
    assert gh.requests == []
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    monkeypatch.setenv("GITHUB_API_URL", gh.url)
    assert main([*args, "--github-repo", "octo/infra", "--unapproved-agent"]) == 0
    assert json.loads(capsys.readouterr().out)["identities"] == []  # a PR brought it in
    assert main([*args, "--github-repo", "octo/infra", "--agent-created"]) == 0
    rows = json.loads(capsys.readouterr().out)["identities"]
    assert rows[0]["approval"]["reviews"] == [
        {"login": "bob", "user_type": "User", "state": "APPROVED", "commit_id": sha}]


def test_a_workload_is_recorded_as_a_workload(make_repo: Callable[..., GitRepo], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A Deployment or an EC2 instance is kept as a `workload` row (as `inventory` shows it),
    not as the role binding that links it to the identity it runs as."""
    repo = make_repo()
    deploy = SA + ("---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
                   "  namespace: apps\nspec:\n  template:\n    spec:\n"
                   "      serviceAccountName: ci\n      containers:\n        - name: web\n"
                   "          image: nginx\n")
    ec2 = ('resource "aws_instance" "web" {\n  ami = "ami-1"\n'
           '  iam_instance_profile = "web-profile"\n}\n')
    repo.commit({".nhi-gate.yaml": CONFIG, "k8s/web.yaml": deploy, "ec2.tf": ec2},
                author=COPILOT, message="Add the web workloads")
    assert main(["ledger", str(repo.path), "--db", str(tmp_path / "l.sqlite"),
                 "--format", "json"]) == 0
    kinds = {r["address"]: r["kind"] for r in json.loads(capsys.readouterr().out)["identities"]}
    assert kinds["Deployment/apps/web"] == "workload"
    assert kinds["aws_instance.web"] == "workload"
    assert kinds["ServiceAccount/apps/ci"] == "service_account"
