"""At organisation scale (issue 17): the reusable gate workflow, the organisation's required
workflow that calls it, the scheduled inventory workflow, and the SQL recipe that loads the
inventory's ledger rows into one table (docs/sql/, run here on SQLite, and on DuckDB when it
is installed)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from checker.cli import build_parser, main
from tests.conftest import COPILOT, HUMAN, GitRepo

ROOT = Path(__file__).resolve().parent.parent
REUSABLE = ROOT / ".github" / "workflows" / "nhi-gate.yml"
REQUIRED = ROOT / "docs" / "workflows" / "nhi-gate-required.yml"
INVENTORY = ROOT / "docs" / "workflows" / "nhi-gate-inventory.yml"
SQL = ROOT / "docs" / "sql"
SAMPLES = ROOT / "fixtures" / "html"
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True)  # YAML 1.1 reads the key `on` as a boolean
    return dict(doc)


def steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


@pytest.mark.parametrize("path", [REUSABLE, REQUIRED, INVENTORY], ids=lambda p: p.name)
def test_workflows_are_valid_github_workflows(path: Path) -> None:
    exe = shutil.which("check-jsonschema")
    if exe is None:
        pytest.skip("check-jsonschema is not installed (pip install -e '.[test]')")
    run = subprocess.run([exe, "--builtin-schema", "vendor.github-workflows", str(path)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert load(path)["permissions"] == {}  # every job asks for what it needs


def test_third_party_actions_are_pinned_by_sha() -> None:
    for path in (REUSABLE, INVENTORY):
        for step in steps(load(path)):
            uses = step.get("uses", "")
            if uses and not uses.startswith("nhi-gate/nhi-gate@"):
                assert SHA_PIN.match(uses), f"{path.name}: {uses}"


def test_reusable_workflow_forwards_its_inputs_to_the_action() -> None:
    doc = load(REUSABLE)
    call = doc["on"]["workflow_call"]
    assert set(doc["on"]) == {"workflow_call"}
    gate = [s for s in steps(doc) if s.get("uses", "").startswith("nhi-gate/nhi-gate@")]
    assert len(gate) == 1
    given = gate[0]["with"]
    assert set(given) <= set(ACTION["inputs"])  # every `with:` is an action input
    for name, spec in call["inputs"].items():
        assert given[name] == "${{ inputs." + name + " }}"
        assert str(spec.get("default", "")) == str(ACTION["inputs"][name]["default"]), name
    assert given["upload-sarif"] == "true"
    job = doc["jobs"]["nhi-gate"]
    assert job["permissions"]["security-events"] == "write"
    checkout = [s for s in steps(doc) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout[0]["with"]["fetch-depth"] == 0
    for name, out in call["outputs"].items():
        assert out["value"] == "${{ jobs.nhi-gate.outputs." + name + " }}"
        assert job["outputs"][name] == "${{ steps.gate.outputs." + name + " }}"
        assert name in ACTION["outputs"]


def test_required_workflow_calls_the_reusable_one_with_its_inputs() -> None:
    doc = load(REQUIRED)
    assert "pull_request" in doc["on"] and "merge_group" in doc["on"]
    assert "pull_request_target" not in doc["on"]
    (job,) = doc["jobs"].values()
    target, _, ref = job["uses"].partition("@")
    assert target == "nhi-gate/nhi-gate/" + REUSABLE.relative_to(ROOT).as_posix() and ref
    called = load(REUSABLE)
    assert set(job["with"]) <= set(called["on"]["workflow_call"]["inputs"])
    # a called workflow gets at most what its caller grants
    assert job["permissions"] == called["jobs"]["nhi-gate"]["permissions"]


def _ledger_command(script: str) -> list[str]:
    line = next(ln for ln in script.replace("\\\n", " ").splitlines() if " ledger " in ln)
    words = shlex.split(line.replace('"$RUNNER_TEMP', '"/tmp'))
    return words[words.index("ledger"):]


def test_inventory_workflow_runs_the_ledger_per_repository() -> None:
    doc = load(INVENTORY)
    assert doc["on"]["schedule"] and "workflow_dispatch" in doc["on"]
    ledger = doc["jobs"]["ledger"]
    assert ledger["strategy"]["matrix"]["repository"] == \
        "${{ fromJSON(needs.repositories.outputs.repos) }}"
    assert ledger["needs"] == "repositories"
    run = next(s["run"] for s in ledger["steps"] if "run" in s)
    argv = _ledger_command(run)
    args = build_parser().parse_args(argv)  # the flags exist
    assert (args.command, args.format, args.db) == ("ledger", "jsonl", "/tmp/ledger.sqlite")
    uploads = [s for s in ledger["steps"] if s.get("uses", "").startswith(
        "actions/upload-artifact@")]
    assert uploads and "${{ strategy.job-index }}" in uploads[0]["with"]["name"]
    assert doc["jobs"]["join"]["needs"] == "ledger"


def _tag_rows(script: str, runner_temp: Path, repository: str) -> None:
    """The workflow's own lines after the ledger command (`mkdir`, `jq`), run by bash as
    written: each row of `$RUNNER_TEMP/rows.jsonl` gains `repository`."""
    tail = script.replace("\\\n", " ").split(" ledger ", 1)[1].split("\n", 1)[1]
    subprocess.run(["bash", "-euo", "pipefail", "-c", tail], check=True,
                   env={"PATH": "/usr/bin:/bin", "RUNNER_TEMP": str(runner_temp),
                        "REPOSITORY": repository})


def _sqlite(lines: list[str]) -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE ledger_raw (row TEXT)")
    con.executemany("INSERT INTO ledger_raw VALUES (?)", ((ln,) for ln in lines if ln))
    con.executescript((SQL / "load-sqlite.sql").read_text())
    return con


def queries() -> dict[str, str]:
    named: dict[str, str] = {}
    for block in (SQL / "queries.sql").read_text().split("-- name: ")[1:]:
        name, _, body = block.partition("\n")
        named[name.strip()] = body
    return named


def test_the_sql_recipe_answers_the_questions_on_the_sample_rows() -> None:
    lines = []
    for repository in ("acme/infra", "acme/payments"):
        for line in (SAMPLES / "ledger.jsonl").read_text().splitlines():
            lines.append(json.dumps({**json.loads(line), "repository": repository}))
    rows = [json.loads(ln) for ln in lines]
    ids = [r for r in rows if r["table"] == "identity"]
    live = [r for r in ids if r["status"] == "live"]
    today = date.today()
    con = _sqlite(lines)
    q = queries()
    assert set(q) == {"agent_created", "without_owner", "expiring_30_days",
                      "widened_since_creation", "agent_created_never_approved",
                      "per_repository", "agent_creations_by_month"}
    got = con.execute(q["agent_created"]).fetchall()
    assert sorted((r[0], r[1]) for r in got) == sorted(
        (r["repository"], r["address"]) for r in live
        if r["created_by"] and r["created_by"]["actor_kind"] == "agent")
    assert len(got) == 12
    assert len(con.execute(q["without_owner"]).fetchall()) == sum(
        not r["owner"] for r in live) == 10
    soon = con.execute(q["expiring_30_days"]).fetchall()
    assert sorted((r[0], r[1], r[3]) for r in soon) == sorted(
        (r["repository"], r["address"], (date.fromisoformat(r["expiry"]) - today).days)
        for r in live if r["expiry"] and (date.fromisoformat(r["expiry"]) - today).days <= 30)
    widened = con.execute(q["widened_since_creation"]).fetchall()
    assert {(r[0], r[1], r[2]) for r in widened} == {
        (repo, addr, 1) for repo in ("acme/infra", "acme/payments")
        for addr in ("aws_iam_role.deploy", "azurerm_role_assignment.reader")}
    unapproved = con.execute(q["agent_created_never_approved"]).fetchall()
    assert len(unapproved) == 12 and all(r[4] for r in unapproved)
    expired = {repo: sum(1 for r in live if r["repository"] == repo and r["expiry"]
                         and date.fromisoformat(r["expiry"]) < today)
               for repo in ("acme/infra", "acme/payments")}
    assert con.execute(q["per_repository"]).fetchall() == [
        ("acme/infra", 12, 6, 5, expired["acme/infra"]),
        ("acme/payments", 12, 6, 5, expired["acme/payments"])]
    months = con.execute(q["agent_creations_by_month"]).fetchall()
    assert ("2025-05", "agent", 4) in months


def test_the_inventory_steps_and_sql_on_real_ledgers(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("jq") is None:
        pytest.skip("needs jq (the inventory workflow's runner has it)")
    script = next(s["run"] for s in load(INVENTORY)["jobs"]["ledger"]["steps"] if "run" in s)
    for name, author in (("acme/infra", COPILOT), ("acme/payments", HUMAN)):
        repo = make_repo(name.split("/")[1])
        repo.commit({"README.md": "hi\n"})
        repo.commit({"iam.tf": 'resource "aws_iam_user" "ci" {\n  name = "ci"\n}\n'},
                    author=author, message="Add the ci user")
        argv = _ledger_command(script)
        argv[argv.index("--db") + 1] = str(tmp_path / "ledger.sqlite")
        argv[argv.index("--output") + 1] = str(tmp_path / "rows.jsonl")
        assert main([*argv, str(repo.path)]) == 0
        _tag_rows(script, tmp_path, name)
        (tmp_path / "ledger.sqlite").unlink()  # each matrix job starts afresh
    parts = sorted((tmp_path / "out").glob("*.jsonl"))
    assert [p.name for p in parts] == ["acme__infra.jsonl", "acme__payments.jsonl"]
    joined = [ln for p in parts for ln in p.read_text().splitlines()]
    capsys.readouterr()
    con = _sqlite(joined)
    q = queries()
    assert con.execute(q["agent_created"]).fetchall() == [
        ("acme/infra", "aws_iam_user.ci", "iam.tf", 1, "GitHub Copilot coding agent",
         "2025-01-01T00:02:00+00:00")]
    assert [r[:2] for r in con.execute(q["agent_created_never_approved"]).fetchall()] == [
        ("acme/infra", "aws_iam_user.ci")]
    assert con.execute(q["per_repository"]).fetchall() == [
        ("acme/infra", 1, 1, 1, 0), ("acme/payments", 1, 0, 1, 0)]
    events = con.execute("SELECT repository, event, actor_kind FROM nhi_event "
                         "ORDER BY repository").fetchall()
    assert events == [("acme/infra", "created", "agent"), ("acme/payments", "created", "human")]


def test_the_duckdb_recipe_gives_the_sqlite_answers(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    duckdb = pytest.importorskip("duckdb", reason="DuckDB is optional (pip install duckdb)")
    lines = [json.dumps({**json.loads(ln), "repository": "acme/infra"})
             for ln in (SAMPLES / "ledger.jsonl").read_text().splitlines()]
    (tmp_path / "ledger-rows.jsonl").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    con = duckdb.connect()
    con.execute((SQL / "load-duckdb.sql").read_text())
    lite = _sqlite(lines)
    for name, sql in queries().items():
        want = lite.execute(sql).fetchall()
        assert want, name  # every query has an answer on the sample
        assert [tuple(r) for r in con.execute(sql).fetchall()] == want, name
