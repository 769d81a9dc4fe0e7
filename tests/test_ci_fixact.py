"""GitHub Actions gaps a hostile tester found (issue 15, fix-actions): secrets in
workflow-level `env:`, in `secrets['X']`/`format()` expressions and in container and service
keys; `secrets: inherit` to an unpinned third-party workflow; read-only jobs and re-pinned
credential actions that are no new credential. Real git repos: base by a human, head by
Claude."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

CLAUDE = ("Claude", "noreply@anthropic.com")
WF = ".github/workflows/ci.yml"


def _check(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
           base_files: dict[str, str], head_files: dict[str, str], name: str = "repo"
           ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo(name)
    repo.commit({"README.md": "# app\n", **base_files}, author=HUMAN)
    repo.checkout("claude/ci", create=True)
    repo.commit(head_files, author=CLAUDE, message="Update CI")
    return check_findings(repo, "main", capsys)


def _rules(findings: list[dict[str, Any]], blocking: bool | None = None
           ) -> set[tuple[str, int]]:  # fmt: skip
    return {(f["rule_id"], f["start_line"]) for f in findings
            if blocking is None or f["blocking"] is blocking}


WORKFLOW_ENV = """\
name: ci
on: push
permissions:
  contents: read
env:
  AWS_ACCESS_KEY_ID: ${{ secrets.PROD_AWS_ACCESS_KEY_ID }}
  GH_TOKEN: ${{ secrets.ORG_ADMIN_PAT }}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
"""


def test_workflow_env_secrets_are_held_by_every_job(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Secrets in the workflow-level `env:` reach every job: each job holds them (NHI101,
    NHI316 at the `env:` lines), as under `jobs.test.env`; NHI313 still warns."""
    code, findings = _check(make_repo, capsys, {}, {WF: WORKFLOW_ENV})
    assert code == 1
    assert {("NHI101", 6), ("NHI316", 6), ("NHI101", 7), ("NHI316", 7)} <= _rules(
        findings, blocking=True)
    assert {("NHI313", 6), ("NHI313", 7)} <= _rules(findings, blocking=False)
    held = {f["address"] for f in findings if f["rule_id"] == "NHI316"}
    assert held == {f"{WF}#jobs.test.secrets.PROD_AWS_ACCESS_KEY_ID",
                    f"{WF}#jobs.test.secrets.ORG_ADMIN_PAT"}


STEP_ENV = """\
name: ci
on: push
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    environment: prod
    steps:
      - run: make test
        env:
          TOKEN: ${{ %s }}
"""


@pytest.mark.parametrize(("expression", "name"), [
    ("secrets['ORG_ADMIN_PAT']", "ORG_ADMIN_PAT"),
    ("format('{0}', secrets.ORG_ADMIN_PAT)", "ORG_ADMIN_PAT"),
    ("secrets[format('PROD_{0}', 'AWS_KEY')]", "[computed]"),
])
def test_secret_references_in_any_expression_form(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        expression: str, name: str) -> None:
    """Index syntax, a secret inside a function call, and a computed name (an unknown secret,
    fail closed) are held secrets: NHI101 blocks the agent's step at its `env:` line."""
    code, findings = _check(make_repo, capsys, {}, {WF: STEP_ENV % expression})
    assert code == 1
    blocking = [(f["rule_id"], f["start_line"], f["address"]) for f in findings
                if f["blocking"]]
    assert blocking == [("NHI101", 12, f"{WF}#jobs.test.secrets.{name}")]


CONTAINERS = """\
name: ci
on: push
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    environment: prod
    container:
      image: ghcr.io/org/img:1
      credentials:
        username: bot
        password: ${{ secrets.REGISTRY_PASSWORD }}
    services:
      db:
        image: postgres
        env:
          POSTGRES_PASSWORD: ${{ secrets.DB_PASSWORD }}
        credentials:
          username: bot
          password: ${{ secrets.SVC_REGISTRY_PASSWORD }}
    steps:
      - run: make test
"""


def test_container_and_service_secrets_are_held(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """`container.credentials`, `services.<name>.env` and `services.<name>.credentials` hand
    repository secrets to the job: each is a held secret needing approval (NHI101)."""
    code, findings = _check(make_repo, capsys, {}, {WF: CONTAINERS})
    assert code == 1
    blocking = {(f["rule_id"], f["start_line"], f["address"].rsplit(".", 1)[-1])
                for f in findings if f["blocking"]}
    assert blocking == {("NHI101", 13, "REGISTRY_PASSWORD"), ("NHI101", 18, "DB_PASSWORD"),
                        ("NHI101", 21, "SVC_REGISTRY_PASSWORD")}


INHERIT = """\
name: ci
on: push
permissions:
  contents: read
jobs:
  deploy:
    uses: evilorg/wf/.github/workflows/deploy.yml@main
    secrets: inherit
"""


def test_secrets_inherit_to_unpinned_third_party_workflow_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """`secrets: inherit` hands every repository secret to a workflow its owner can move:
    NHI324 names it, and the job holds the secrets, a CI credential needing approval."""
    code, findings = _check(make_repo, capsys, {}, {WF: INHERIT})
    assert code == 1
    assert ("NHI101", 8) in _rules(findings, blocking=True)
    assert {("NHI324", 8), ("NHI311", 8)} <= _rules(findings, blocking=False)
    nhi324 = next(f for f in findings if f["rule_id"] == "NHI324")
    assert "every repository secret (`secrets: inherit`)" in nhi324["message"]
    assert "evilorg/wf/.github/workflows/deploy.yml@main" in nhi324["message"]


READ_ONLY_BASE = """\
name: ci
on: push
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
"""
LINT_JOB = """\
  lint:
    permissions:
      contents: read
      pull-requests: read
    runs-on: ubuntu-latest
    steps:
      - run: make lint
"""


def test_new_read_only_job_in_existing_workflow_passes(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A new read-only job (a read scope the workflow block does not name) holds no secret
    and writes nothing: a note (NHI302 narrowed), no NHI101, exit 0, as in a new workflow."""
    code, findings = _check(make_repo, capsys, {WF: READ_ONLY_BASE},
                            {WF: READ_ONLY_BASE + LINT_JOB})
    assert code == 0
    assert _rules(findings, blocking=True) == set()
    assert ("NHI302", 11) in _rules(findings, blocking=False)
    assert "NHI101" not in {f["rule_id"] for f in findings}


def test_new_job_with_a_write_scope_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The same job with `pull-requests: write` widens the token: NHI101 blocks."""
    code, findings = _check(make_repo, capsys, {WF: READ_ONLY_BASE},
                            {WF: READ_ONLY_BASE + LINT_JOB.replace("requests: read",
                                                                    "requests: write")})
    assert code == 1
    assert ("NHI101", 11) in _rules(findings, blocking=True)


PINNED = """\
name: ci
on: push
permissions:
  contents: read
  id-token: write
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@%s
        with:
          role-to-assume: arn:aws:iam::123456789012:role/deploy
          aws-region: eu-west-1
"""
SHA1, SHA2 = "a" * 40, "b" * 40


def test_sha_bump_of_a_credential_action_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Only the pinned commit of an existing credential step changed: the same identity, a
    note (NHI302 re-pinned); its missing `environment:` predates the change (no NHI316)."""
    code, findings = _check(make_repo, capsys, {WF: PINNED % SHA1}, {WF: PINNED % SHA2})
    assert code == 0
    assert _rules(findings, blocking=True) == set()
    assert [(f["rule_id"], f["start_line"], f["level"]) for f in findings
            if f["rule_id"] != "NHI103"] == [("NHI302", 10, "note")]  # NHI103: no trailer
    assert any("re-pinned" in f["message"] for f in findings)


def test_sha_bump_with_another_change_is_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A bump that also changes an input (or moves to a tag) is judged as a change: blocks."""
    head = (PINNED % SHA2).replace("eu-west-1", "us-east-1")
    code, findings = _check(make_repo, capsys, {WF: PINNED % SHA1}, {WF: head})
    assert code == 1
    assert {("NHI101", 10), ("NHI316", 10)} <= _rules(findings, blocking=True)
    code, findings = _check(make_repo, capsys, {WF: PINNED % SHA1}, {WF: PINNED % "v4"},
                            "tag")
    assert code == 1
