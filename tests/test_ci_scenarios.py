"""CI identities and secret material: the issue's three scenarios on real git repos with agent
commits. The CI rules' pass/fail fixtures live in `fixtures/rules/<ID>/` and are checked
line-exactly by `test_rule_fixtures.py`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import COPILOT, HUMAN, WEB_FLOW, GitRepo
from test_check_e2e import results, run_check

from checker.cli import main
from checker.model import SourceFile
from checker.parsers import github_actions
from checker.policy.catalogue import load_catalogue

# Fake credential built at run time so this file holds no token-shaped literal.
GITHUB_TOKEN = "ghp_" + "Q7mZ2xV9kL4pT8wR1nB6cY3hJ5fD0sGa2E" + "uK"

DEPLOY_WORKFLOW = """\
name: deploy
on:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  deploy:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
      contents: read
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::123456789012:role/deploy
          aws-region: eu-west-1
      - run: ./deploy.sh
"""

K8S_SECRET = f"""\
apiVersion: v1
kind: Secret
metadata:
  name: github-token
  namespace: ci
stringData:
  token: {GITHUB_TOKEN}
"""

TLS_TO_FILE = """\
resource "tls_private_key" "x" {
  algorithm = "ED25519"
}

resource "local_file" "x" {
  content  = tls_private_key.x.private_key_pem
  filename = "${path.module}/x.pem"
}
"""


def test_agent_deploy_workflow_with_oidc_and_no_environment_blocks(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# app\n"}, author=HUMAN)
    repo.checkout("copilot/deploy", create=True)
    head = repo.commit({".github/workflows/deploy.yml": DEPLOY_WORKFLOW}, author=COPILOT,
                       committer=WEB_FLOW, message="Add deploy workflow")
    code, report, log = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1
    assert report["verdict"] == "fail"
    path = ".github/workflows/deploy.yml"
    got = {(f["rule_id"], f["path"], f["start_line"]) for f in report["findings"]}
    assert ("NHI316", path, 17) in got  # the AWS credential step, job has no environment
    assert ("NHI101", path, 17) in got  # the credential step itself needs approval
    assert ("NHI101", path, 11) in got  # so does the job's OIDC token
    nhi316 = [f for f in report["findings"] if f["rule_id"] == "NHI316"]
    assert [(f["actor_kind"], f["blocking"], f["commit"]) for f in nhi316] == [
        ("agent", True, head)]
    assert nhi316[0]["address"] == f"{path}#jobs.deploy.steps[1]"
    assert ("NHI316", path, 17) in set(results(log))


def test_same_deploy_workflow_with_environment_has_no_nhi316(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# app\n"}, author=HUMAN)
    with_env = DEPLOY_WORKFLOW.replace(
        "    runs-on: ubuntu-latest\n", "    runs-on: ubuntu-latest\n    environment: prod\n")
    head = repo.commit({".github/workflows/deploy.yml": with_env}, author=COPILOT,
                       committer=WEB_FLOW)
    _, report, _ = run_check(repo, base, head, tmp_path, capsys)
    assert "NHI316" not in {f["rule_id"] for f in report["findings"]}


def test_agent_kubernetes_secret_with_github_token_blocks_and_never_shows_it(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# app\n"}, author=HUMAN)
    repo.checkout("copilot/token", create=True)
    head = repo.commit({"k8s/token.yaml": K8S_SECRET}, author=COPILOT, committer=WEB_FLOW)
    sarif = tmp_path / "out.sarif"
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json", "--sarif", str(sarif)])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 1
    got = {(f["rule_id"], f["start_line"], f["actor_kind"], f["blocking"])
           for f in report["findings"]}
    assert ("NHI401", 7, "agent", True) in got
    assert ("NHI404", 7, "agent", True) in got
    everything = captured.out + captured.err + sarif.read_text(encoding="utf-8")
    assert GITHUB_TOKEN not in everything
    assert GITHUB_TOKEN[4:20] not in everything
    nhi401 = next(f for f in report["findings"] if f["rule_id"] == "NHI401")
    assert "ghp_…(sha256:" in nhi401["message"]


def test_agent_writing_tls_private_key_to_local_file_blocks(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    repo.checkout("copilot/tls", create=True)
    head = repo.commit({"infra/tls.tf": TLS_TO_FILE}, author=COPILOT, committer=WEB_FLOW)
    code, report, log = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1
    nhi402 = [f for f in report["findings"] if f["rule_id"] == "NHI402"]
    assert [(f["path"], f["start_line"], f["actor_kind"], f["blocking"]) for f in nhi402] == [
        ("infra/tls.tf", 6, "agent", True)]
    assert "tls_private_key.x.private_key_pem" in nhi402[0]["message"]
    assert ("NHI402", "infra/tls.tf", 6) in set(results(log))


def test_secret_rules_block_a_human_too(make_repo: Callable[..., GitRepo], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# infra\n"}, author=HUMAN)
    head = repo.commit({"infra/tls.tf": TLS_TO_FILE}, author=HUMAN)
    code, report, _ = run_check(repo, base, head, tmp_path, capsys)
    assert code == 1
    blocking = {f["rule_id"] for f in report["findings"] if f["blocking"]}
    assert blocking == {"NHI402"}


COMPOSITE_ACTION = """\
name: deploy
description: Deploy with a cloud role and a bot token.
inputs:
  github-token:
    required: true
  role:
    required: true
runs:
  using: composite
  steps:
    - uses: actions/checkout@v4
    - uses: aws-actions/configure-aws-credentials@v4
      with:
        role-to-assume: ${{ inputs.role }}
        aws-region: eu-west-1
    - run: echo "token is ${{ inputs.github-token }}"
      shell: bash
    - run: echo "role is ${{ inputs.role }}"
      shell: bash
    - uses: actions/create-github-app-token@v2
      with:
        app-id: ${{ vars.APP_ID }}
        private-key: ${{ secrets.APP_PRIVATE_KEY }}
"""


def test_composite_action_steps_are_read_like_a_job(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "repo"
    action = root / ".github" / "actions" / "deploy" / "action.yml"
    action.parent.mkdir(parents=True)
    action.write_text(COMPOSITE_ACTION, encoding="utf-8")
    # a JavaScript action's metadata is not a CI file: nothing is read from it
    node = root / "tools" / "action.yml"
    node.parent.mkdir(parents=True)
    node.write_text("name: x\nruns:\n  using: node20\n  main: index.js\n"
                    "  env:\n    TOKEN: ${{ secrets.TOKEN }}\n", encoding="utf-8")
    code = main(["scan", str(root), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    got = {(f["rule_id"], f["path"].rsplit("repo/", 1)[-1], f["start_line"])
           for f in report["findings"]}
    path = ".github/actions/deploy/action.yml"
    assert ("NHI314", path, 11) in got  # checkout keeps its token in .git/config
    assert ("NHI406", path, 16) in got  # a secret-named input echoed to the log
    assert ("NHI406", path, 18) not in got  # `role` is an identifier, not a secret
    assert not any(rule == "NHI316" for rule, _, _ in got)  # the caller's job decides
    assert not any(p.startswith("tools/") for _, p, _ in got)
    addresses = {f["address"] for f in report["findings"]}
    assert any(a.startswith(f"{path}#runs.steps[") for a in addresses)
    assert code == 1
    steps = github_actions.parse(SourceFile(path, COMPOSITE_ACTION.encode()), load_catalogue())
    assert [(o.type, o.platform, o.address, o.location.start_line) for o in steps.objects] == [
        ("aws-actions/configure-aws-credentials", "aws", f"{path}#runs.steps[1]", 12),
        ("actions/create-github-app-token", "github", f"{path}#runs.steps[4]", 20)]
    assert all(o.attribute_lines["runs.using"] == 9 for o in steps.objects)
