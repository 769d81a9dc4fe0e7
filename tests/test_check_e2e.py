"""End to end: real git repos in temp dirs, `nhi-gate check` through `cli.main`, real SARIF.

Each scenario asserts exit code, rule ids, lines, actor and SARIF fields, and validates every
SARIF file against the official 2.1.0 schema.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import COPILOT, HUMAN, WEB_FLOW, GitRepo

from checker.cli import main

#: The rules this file is about; other rule families have their own tests.
CORE = {"NHI101", "NHI201", "NHI202", "NHI203", "NHI301"}
SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "sarif-schema-2.1.0.json"

GCP_SA_AND_KEY = """\
resource "google_service_account" "deployer" {
  account_id   = "ci-deployer"
  display_name = "CI deployer"
}

resource "google_service_account_key" "deployer" {
  service_account_id = google_service_account.deployer.name
}
"""

DOCUMENTED_SA = """\
# nhi-gate: owner=team-data ticket=DATA-1
resource "google_service_account" "etl" {
  account_id = "etl"
}
"""

K8S_ADMIN = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: deployer
  namespace: ci
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: deployer-admin
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - kind: ServiceAccount
    name: deployer
    namespace: ci
"""


def validate_sarif(path: Path) -> dict[str, Any]:
    """Load a SARIF file and validate it against the official schema (skip if absent)."""
    log: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if not SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SCHEMA} (../shared is absent)")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER).validate(log)
    return log


def run_check(repo: GitRepo, base: str, head: str, tmp_path: Path,
              capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any],
                                                                  dict[str, Any]]:
    """Run `check` with JSON on stdout and SARIF to a file; return (code, json, sarif)."""
    sarif = tmp_path / "out.sarif"
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json", "--sarif", str(sarif), *extra])
    out = capsys.readouterr().out
    return code, json.loads(out), validate_sarif(sarif)


def results(log: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
         r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in log["runs"][0]["results"]
    ]


def test_agent_adds_gcp_sa_and_key_blocks(make_repo: Callable[..., GitRepo], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    repo.checkout("copilot/add-sa", create=True)
    head = repo.commit({"infra/ci.tf": GCP_SA_AND_KEY}, author=COPILOT, committer=WEB_FLOW,
                       message="Add CI deployer")
    code, report, log = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1
    assert report["verdict"] == "fail"
    got = {(f["rule_id"], f["path"], f["start_line"]) for f in report["findings"]
           if f["rule_id"] in CORE}
    assert got == {
        ("NHI101", "infra/ci.tf", 1), ("NHI201", "infra/ci.tf", 1), ("NHI202", "infra/ci.tf", 1),
        ("NHI101", "infra/ci.tf", 6), ("NHI201", "infra/ci.tf", 6), ("NHI202", "infra/ci.tf", 6),
        ("NHI203", "infra/ci.tf", 6),
    }
    assert {f["actor_kind"] for f in report["findings"]} == {"agent"}
    assert {f["commit"] for f in report["findings"]} == {head}
    blocking = {(f["rule_id"], f["address"]) for f in report["findings"] if f["blocking"]}
    assert ("NHI101", "google_service_account.deployer") in blocking
    assert ("NHI101", "google_service_account_key.deployer") in blocking
    assert {r for r in results(log) if r[0] in CORE} == got
    sarif_results = log["runs"][0]["results"]
    assert all(r["properties"]["actor_kind"] == "agent" for r in sarif_results)
    assert all("nhiGate/v1" in r["partialFingerprints"] for r in sarif_results)


def test_same_change_by_a_human_is_reported_not_blocking(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    head = repo.commit({"infra/ci.tf": GCP_SA_AND_KEY}, author=HUMAN, message="Add CI deployer")
    code, report, log = run_check(repo, base, head, tmp_path, capsys)
    assert code == 0
    assert report["verdict"] == "pass"
    # The verdict says why errors do not block, not just "nothing blocks".
    assert report["reason"] == (
        "nothing blocks: 4 finding(s) at --fail-on error are on lines people wrote, and identity "
        "rules gate only agent- and bot-written lines (--all-authors gates every author)")
    rules = sorted(f["rule_id"] for f in report["findings"] if f["rule_id"] in CORE)
    assert rules == ["NHI201", "NHI201", "NHI202", "NHI202", "NHI203"]
    assert not any(f["blocking"] for f in report["findings"])
    assert {f["actor_kind"] for f in report["findings"]} == {"human"}
    assert len(log["runs"][0]["results"]) == len(report["findings"])


def test_human_change_blocks_with_all_authors(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    head = repo.commit({"infra/ci.tf": GCP_SA_AND_KEY}, author=HUMAN)
    code, report, _ = run_check(repo, base, head, tmp_path, capsys, "--all-authors")
    assert code == 1
    assert {f["rule_id"] for f in report["findings"] if f["blocking"]} == {"NHI201", "NHI202"}


def test_agent_editing_only_a_readme_next_to_an_identity_passes(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n", "infra/ci.tf": GCP_SA_AND_KEY}, author=HUMAN)
    head = repo.commit({"README.md": "# infra\n\nNow with docs.\n"}, author=COPILOT,
                       committer=WEB_FLOW)
    code, report, log = run_check(repo, base, head, tmp_path, capsys)
    assert code == 0
    assert report["findings"] == []
    assert log["runs"][0]["results"] == []


def test_k8s_cluster_admin_by_human_with_claude_coauthor_blocks(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# cluster\n"}, author=HUMAN)
    head = repo.commit({"k8s/deployer.yaml": K8S_ADMIN}, author=HUMAN,
                       message="Add deployer", trailers=[("Co-authored-by",
                                                          "Claude <noreply@anthropic.com>")])
    code, report, log = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1
    got = {(f["rule_id"], f["start_line"], f["address"]) for f in report["findings"]}
    assert ("NHI101", 1, "ServiceAccount/ci/deployer") in got
    assert ("NHI201", 1, "ServiceAccount/ci/deployer") in got
    assert ("NHI101", 7, "ClusterRoleBinding/deployer-admin") in got
    assert ("NHI301", 14, "ClusterRoleBinding/deployer-admin") in got
    assert {f["actor_kind"] for f in report["findings"]} == {"agent"}
    assert all(f["blocking"] for f in report["findings"] if f["rule_id"] in {"NHI101", "NHI301"})
    assert ("NHI301", "k8s/deployer.yaml", 14) in results(log)


def test_agent_change_to_existing_identity_is_changed_not_created(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"infra/etl.tf": DOCUMENTED_SA}, author=HUMAN)
    head = repo.commit({"infra/etl.tf": DOCUMENTED_SA.replace('"etl"\n}', '"etl-v2"\n}')},
                       author=COPILOT, committer=WEB_FLOW)
    code, report, _ = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1
    [finding] = [f for f in report["findings"] if f["rule_id"] in CORE]
    assert finding["rule_id"] == "NHI101"
    assert finding["start_line"] == 3  # the changed line, inside the diff
    assert "was changed by agent" in finding["message"]


def test_malformed_file_is_reported_and_rest_still_checked(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"}, author=HUMAN)
    head = repo.commit({"infra/bad.tf": 'resource "aws_iam_user" "x" {\n  name = "a\n}\n',
                        "infra/ci.tf": GCP_SA_AND_KEY,
                        "k8s/bad.yaml": "apiVersion: v1\nkind: Secret\nmetadata: [\n",
                        "infra/latin1.tf": b'# caf\xe9\nresource "aws_iam_user" "u" {}\n'},
                       author=HUMAN)
    code, report, log = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1  # fail-closed: an unreadable file blocks whoever wrote it
    by_rule = {(f["rule_id"], f["path"]) for f in report["findings"] if f["blocking"]}
    assert by_rule == {("NHI901", "infra/bad.tf"), ("NHI901", "k8s/bad.yaml"),
                       ("NHI902", "infra/latin1.tf")}
    assert ("NHI201", "infra/ci.tf") in {(f["rule_id"], f["path"]) for f in report["findings"]}
    notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert sorted(n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                  for n in notes) == ["infra/bad.tf", "infra/latin1.tf", "k8s/bad.yaml"]
    assert "Traceback" not in capsys.readouterr().err


def test_missing_ref_is_exit_2_with_message(make_repo: Callable[..., GitRepo],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    repo.commit({"README.md": "x\n"}, author=HUMAN)
    code = main(["check", "--repo", str(repo.path), "--base", "nope", "--head", "HEAD"])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown revision 'nope'" in err
    assert "Traceback" not in err


def test_not_a_repo_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--repo", str(tmp_path)])
    assert code == 2
    assert "not a git repository" in capsys.readouterr().err


def test_config_is_read_from_base_not_head(make_repo: Callable[..., GitRepo], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({".nhi-gate.yaml": "fail_on: error\n"}, author=HUMAN)
    head = repo.commit({".nhi-gate.yaml": "fail_on: never\n", "infra/ci.tf": GCP_SA_AND_KEY},
                       author=COPILOT, committer=WEB_FLOW)
    code, report, _ = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1
    assert report["verdict"] == "fail"


def test_invalid_config_is_exit_2_naming_the_key(make_repo: Callable[..., GitRepo],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({".nhi-gate.yaml": "rules: {NHI201: {level: fatal}}\n"}, author=HUMAN)
    head = repo.commit({"infra/ci.tf": GCP_SA_AND_KEY}, author=COPILOT)
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head])
    err = capsys.readouterr().err
    assert code == 2
    assert ".nhi-gate.yaml: rules/NHI201/level:" in err


def test_text_report_groups_by_file_with_fix(make_repo: Callable[..., GitRepo],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"}, author=HUMAN)
    head = repo.commit({"infra/ci.tf": GCP_SA_AND_KEY}, author=COPILOT, committer=WEB_FLOW)
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[0].startswith("infra/ci.tf")
    assert "NHI101" in out and "fix:" in out and "FAIL" in out


def test_demo_exits_1_with_findings(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo"])
    out = capsys.readouterr().out
    assert code == 1
    for rule in ("NHI101", "NHI201", "NHI202", "NHI203", "NHI301"):
        assert rule in out
    sarif_line = next(line for line in out.splitlines() if line.startswith("SARIF written to "))
    sarif = Path(sarif_line.removeprefix("SARIF written to "))
    try:
        validate_sarif(sarif)
    finally:
        shutil.rmtree(sarif.parent)  # the demo keeps its repo for people; tests clean up


def test_agent_deleting_an_owner_tag_is_a_change(make_repo: Callable[..., GitRepo],
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    tagged = ('resource "aws_iam_user" "ci" {\n  name = "ci"\n  tags = {\n'
              '    owner  = "team-ci"\n    ticket = "OPS-1"\n  }\n}\n')
    repo = make_repo()
    base = repo.commit({"iam.tf": tagged}, author=HUMAN)
    head = repo.commit({"iam.tf": tagged.replace('    owner  = "team-ci"\n', "")},
                       author=COPILOT, committer=WEB_FLOW)
    code, report, _ = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1
    got = {(f["rule_id"], f["start_line"], f["actor_kind"]) for f in report["findings"]
           if f["rule_id"] in CORE}
    # metadata only: no approval needed (no NHI101), but the missing owner still blocks
    assert got == {("NHI201", 1, "agent")}
    assert [(f["rule_id"], f["level"]) for f in report["findings"] if f["rule_id"] == "NHI302"
            ] == [("NHI302", "note")]


def test_agent_editing_the_metadata_comment_is_a_change(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"infra/etl.tf": DOCUMENTED_SA}, author=HUMAN)
    head = repo.commit({"infra/etl.tf": DOCUMENTED_SA.replace("ticket=DATA-1", "")},
                       author=COPILOT, committer=WEB_FLOW)
    code, report, _ = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1  # metadata only: the missing ticket blocks, no NHI101
    assert {f["rule_id"] for f in report["findings"] if f["rule_id"] in CORE} == {"NHI202"}


def test_human_reformatting_an_identity_adds_no_finding(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"infra/etl.tf": "\n\n" + DOCUMENTED_SA}, author=HUMAN)
    head = repo.commit({"infra/etl.tf": DOCUMENTED_SA}, author=COPILOT, committer=WEB_FLOW)
    code, report, _ = run_check(repo, base, head, tmp_path, capsys)
    assert code == 0
    assert report["findings"] == []
