"""`nhi-gate inventory` answers the platform team's questions (issue 17): owner, ticket,
expiry and days left, environment, privilege flags per identity, and the files it could not
read as `problems` in JSON and a count in the table."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.cli import main
from tests.conftest import COPILOT, HUMAN, GitRepo

TF = """\
resource "aws_iam_user" "deploy" {
  name = "deploy"
  tags = {
    owner   = "team-pay"
    ticket  = "PAY-7"
    expires = "2999-01-31"
  }
}

resource "aws_iam_user_policy" "deploy" {
  user   = aws_iam_user.deploy.name
  policy = jsonencode({
    Statement = [{ Effect = "Allow", Action = "iam:*", Resource = "*" }]
  })
}
"""

EXPIRED = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ci
  namespace: prod
  annotations:
    owner: team-ci
    expires: "2020-01-01"
"""


def _tree(tmp_path: Path) -> Path:
    (tmp_path / ".nhi-gate.yaml").write_text("budgets: {parse_seconds: 600}\n")  # busy CI
    (tmp_path / "iam.tf").write_text(TF, encoding="utf-8")
    (tmp_path / "sa.yaml").write_text(EXPIRED, encoding="utf-8")
    (tmp_path / "broken.tf").write_bytes(b'resource "aws_iam_user" "x" {\n  name = \xff\xfe\n')
    return tmp_path


def test_inventory_json_has_governance_columns_and_problems(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", str(_tree(tmp_path)), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rows = {r["address"]: r for r in data["identities"]}
    user = rows["aws_iam_user.deploy"]
    days = (dt.date(2999, 1, 31) - dt.date.today()).days
    assert (user["owner"], user["ticket"], user["expiry"], user["expiry_days_left"]) == (
        "team-pay", "PAY-7", "2999-01-31", days)
    assert user["created_by"] is None and user["approval"] is None
    assert len(user["identity_id"]) == 16
    policy = rows["aws_iam_user_policy.deploy"]["privileges"]
    assert (policy["admin"], policy["wildcard"], policy["escalation"]) == (True, True, True)
    assert policy["summary"] == "iam:* on *"
    sa = rows["ServiceAccount/prod/ci"]
    assert (sa["owner"], sa["ticket"], sa["environment"], sa["expiry"]) == (
        "team-ci", None, "prod", "2020-01-01")
    assert sa["expiry_days_left"] == (dt.date(2020, 1, 1) - dt.date.today()).days < 0
    assert [(p["path"], p["rule_id"]) for p in data["problems"]] == [("broken.tf", "NHI902")]


def test_inventory_table_counts_the_files_not_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", str(_tree(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("3 identities, 1 file(s) not read")
    assert "team-pay" in out and "2999-01-31" in out


def test_inventory_reads_who_created_and_changed_each_identity_from_history(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    first = repo.commit({".nhi-gate.yaml": "budgets: {parse_seconds: 600}\n", "iam.tf": TF},
                        author=COPILOT, message="Add the deploy user")
    second = repo.commit({"iam.tf": TF.replace("PAY-7", "PAY-8")}, author=HUMAN,
                         message="Retag (#12)")
    db = tmp_path / "ledger.sqlite"
    assert main(["inventory", str(repo.path), "--format", "json", "--db", str(db)]) == 0
    rows = {r["address"]: r for r in json.loads(capsys.readouterr().out)["identities"]}
    user, policy = rows["aws_iam_user.deploy"], rows["aws_iam_user_policy.deploy"]
    assert (user["created_by"]["actor_kind"], user["created_by"]["commit"]) == ("agent", first)
    assert user["created_by"]["agent"] == "GitHub Copilot coding agent"
    assert user["created_by"]["author"] == f"{COPILOT[0]} <{COPILOT[1]}>"
    assert (user["last_changed_by"]["actor_kind"], user["last_changed_by"]["commit"]) == (
        "human", second)
    assert user["approval"] is None  # created by a direct commit, no pull request
    assert policy["last_changed_by"]["commit"] == first  # the retag did not touch it
    assert main(["inventory", str(repo.path), "--format", "json", "--no-history"]) == 0
    rows = {r["address"]: r for r in json.loads(capsys.readouterr().out)["identities"]}
    assert rows["aws_iam_user.deploy"]["created_by"] is None


def test_inventory_says_on_stderr_that_its_first_run_builds_the_ledger_and_how_to_skip_it(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    repo.commit({"iam.tf": TF}, author=COPILOT, message="Add the deploy user")
    db = tmp_path / "ledger.sqlite"
    assert main(["inventory", str(repo.path), "--format", "json", "--db", str(db)]) == 0
    err = capsys.readouterr().err
    assert "building the identity ledger" in err and "`--no-history` skips this" in err
    assert f"ledger {db}: 1 commit(s) walked" in err
    assert main(["inventory", str(repo.path), "--format", "json", "--db", str(db)]) == 0
    assert capsys.readouterr().err == ""  # up to date: nothing to say
    repo.commit({"iam.tf": TF.replace("PAY-7", "PAY-8")}, author=HUMAN, message="Retag")
    assert main(["inventory", str(repo.path), "--format", "json", "--db", str(db)]) == 0
    err = capsys.readouterr().err
    assert "building" not in err and f"ledger {db}: 1 commit(s) walked" in err
    assert main(["inventory", str(repo.path), "--format", "json", "--no-history"]) == 0
    assert capsys.readouterr().err == ""


CI = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make
  deploy:
    uses: org/shared/.github/workflows/deploy.yml@v1
    secrets: inherit
"""


def test_inventory_attributes_ci_credentials_from_history(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A workflow's CI credentials (a persisted checkout token, `secrets: inherit`) are in the
    inventory; the ledger records them too, so their history columns are filled."""
    repo = make_repo()
    first = repo.commit({".github/workflows/ci.yml": CI}, author=HUMAN, message="CI")
    second = repo.commit({".github/workflows/ci.yml": CI.replace("make", "make test")},
                         author=COPILOT, message="Run the tests")
    db = tmp_path / "ledger.sqlite"
    assert main(["inventory", str(repo.path), "--format", "json", "--db", str(db)]) == 0
    rows = {r["type"]: r for r in json.loads(capsys.readouterr().out)["identities"]}
    for kind in ("checkout_persisted_token", "secrets_inherit"):
        assert rows[kind]["created_by"]["commit"] == first, kind
        assert rows[kind]["created_by"]["actor_kind"] == "human"
    assert all(r["created_by"] is not None for r in rows.values())
    assert second  # the agent's commit changed no credential
