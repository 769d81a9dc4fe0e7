"""The policy that judges a change comes from before the change, whatever surface runs it.

Regression tests for ways a change could loosen its own check (found by hostile new-user
testing): a staged config in the pre-commit stage, `--config` naming the default file, a file
hidden by a BOM or an OpenTofu extension.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import COPILOT, HUMAN, WEB_FLOW, GitRepo

from checker.cli import main

KEY = 'resource "aws_iam_access_key" "ci" {\n  user = "ci"\n}\n'


def _agent_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", COPILOT[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", COPILOT[1])


def test_hook_ignores_a_staged_config_that_loosens_policy(
        make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    repo.commit({"README.md": "x\n"}, author=HUMAN)
    repo.stage({".nhi-gate.yaml": "fail_on: never\nexclude: ['**']\n", "iam.tf": KEY})
    monkeypatch.chdir(repo.path)
    _agent_env(monkeypatch)
    code = main(["hook", "iam.tf", ".nhi-gate.yaml", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert ("NHI101", "iam.tf") in {(f["rule_id"], f["path"]) for f in report["findings"]
                                    if f["blocking"]}


def test_hook_resolves_files_from_a_subdirectory(
        make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    repo.commit({"README.md": "x\n"}, author=HUMAN)
    repo.stage({"infra/iam.tf": KEY})
    monkeypatch.chdir(repo.path / "infra")
    _agent_env(monkeypatch)
    code = main(["hook", "iam.tf", "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {f["path"] for f in report["findings"]} == {"infra/iam.tf"}


def test_check_config_flag_naming_the_default_file_reads_base(
        make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({".nhi-gate.yaml": "fail_on: error\n"}, author=HUMAN)
    head = repo.commit({".nhi-gate.yaml": "fail_on: never\n", "iam.tf": KEY},
                       author=COPILOT, committer=WEB_FLOW)
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--config", str(repo.path / ".nhi-gate.yaml"), "--format", "json"])
    assert code == 1
    assert json.loads(capsys.readouterr().out)["verdict"] == "fail"


def test_check_config_outside_the_repo_is_read_from_disk(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"}, author=HUMAN)
    head = repo.commit({"iam.tf": KEY}, author=COPILOT, committer=WEB_FLOW)
    outside = tmp_path / "policy.yaml"
    outside.write_text("fail_on: never\n", encoding="utf-8")
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--config", str(outside), "--format", "json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "pass"


def test_config_alias_bomb_is_refused_with_exit_2(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    cfg = tmp_path / "bomb.yaml"
    cfg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "x.tf").write_text(KEY, encoding="utf-8")
    assert main(["scan", str(tmp_path / "x.tf"), "--config", str(cfg)]) == 2
    assert "alias expansion over budget" in capsys.readouterr().err


def test_bom_kubernetes_manifest_and_tofu_file_are_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sa.yaml").write_bytes(
        b"\xef\xbb\xbfapiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\n")
    (tmp_path / "k.tofu").write_text(KEY, encoding="utf-8")
    assert main(["inventory", str(tmp_path), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["identities"]
    assert {(r["path"], r["address"]) for r in rows} >= {
        ("sa.yaml", "ServiceAccount/x"), ("k.tofu", "aws_iam_access_key.ci")}


def test_unknown_github_event_sha_type_is_exit_2(
        make_repo: Callable[..., GitRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    repo.commit({"README.md": "x\n"}, author=HUMAN)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"base": {"sha": 5}}}), encoding="utf-8")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    assert main(["check", "--repo", str(repo.path)]) == 2
    assert "pull_request.base.sha is not a commit sha" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("path", "content"),
    [
        (".gitattributes", "*.tf binary\n"),
        ("infra/.gitattributes", "*.tf -diff\n"),
        (".nhi-gate-baseline.json", '{"version": 1, "fingerprints": []}\n'),
        (".github/workflows/nhi-gate.yml",
         "on: pull_request\njobs:\n  gate:\n    runs-on: ubuntu-latest\n"
         "    continue-on-error: true\n    steps:\n      - uses: nhi-gate/nhi-gate@v0\n"),
    ],
    ids=["root-gitattributes", "nested-gitattributes", "default-baseline", "gate-workflow"],
)
def test_agent_changing_a_file_that_steers_the_gate_is_nhi102(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], path: str, content: str) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"}, author=HUMAN)
    head = repo.commit({path: content}, author=COPILOT, committer=WEB_FLOW)
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert ("NHI102", path) in {(f["rule_id"], f["path"]) for f in report["findings"]
                                if f["blocking"]}


def test_a_human_editing_the_gate_workflow_is_not_nhi102(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "x\n"}, author=HUMAN)
    head = repo.commit({".github/workflows/nhi-gate.yml": "# runs nhi-gate\non: push\n"},
                       author=HUMAN)
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert not [f for f in report["findings"] if f["rule_id"] == "NHI102"]


@pytest.mark.parametrize("root", [".github", ".github/workflows"])
def test_scanning_the_github_folder_still_reads_workflows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], root: str) -> None:
    wf = tmp_path / ".github" / "workflows"
    wf.mkdir(parents=True)
    (wf / "ci.yml").write_text("on: push\npermissions: write-all\njobs: {}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["scan", root, "--format", "json"]) == 1
    paths = {f["path"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert paths == {".github/workflows/ci.yml"}


def test_scan_skips_a_fifo_named_like_terraform(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import os

    (tmp_path / "ok.tf").write_text(KEY, encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.tf")
    assert main(["scan", str(tmp_path), "--format", "json"]) == 1
    assert {f["path"] for f in json.loads(capsys.readouterr().out)["findings"]} == {"ok.tf"}
