"""Credentials a GitHub Actions job hands on, mints or gains (session 9, fix-M): the job's own
write-scoped GITHUB_TOKEN handed to an unpinned third-party action; a credential minted in a
`run:` script (`kubectl create token`, `aws iam create-access-key`, ...) and where it goes; an
`environment:` added to a job that holds secrets. Real git repos: base by a human, head by
Claude (or by a person, which does not block)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

CLAUDE = ("Claude", "noreply@anthropic.com")
WF = ".github/workflows/ci.yml"

BASE_BUILD = """\
name: ci
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  build:
    runs-on: ubuntu-latest
    permissions: {contents: %s}
    steps:
      - uses: actions/checkout@v5
      - run: make build
"""


def _check(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
           base_files: dict[str, str], head_files: dict[str, str],
           author: tuple[str, str] = CLAUDE) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    repo.commit({"README.md": "# app\n", **base_files}, author=HUMAN)
    repo.checkout("claude/ci", create=True)
    repo.commit(head_files, author=author, message="Update CI",
                trailers=[("Requested-by", "Alice Admin <alice@corp.example>")])
    return check_findings(repo, "main", capsys)


def _found(findings: list[dict[str, Any]]) -> set[tuple[str, int, bool]]:
    return {(f["rule_id"], f["start_line"], f["blocking"]) for f in findings}


TOKEN_STEP = """\
      - uses: someone/release-action@%s
        %s:
          %s: ${{ %s }}
"""


@pytest.mark.parametrize(("ref", "part", "key", "expression"), [
    ("v1", "with", "token", "github.token"),
    ("main", "env", "GITHUB_TOKEN", "secrets.GITHUB_TOKEN"),
])
def test_write_token_to_unpinned_action_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        ref: str, part: str, key: str, expression: str) -> None:
    """The job's write-scoped token handed to `someone/release-action@v1` (or `@main`) is a
    held credential: NHI101 blocks the agent, NHI324 names the unpinned action."""
    head = BASE_BUILD % "write" + TOKEN_STEP % (ref, part, key, expression)
    code, findings = _check(make_repo, capsys, {WF: BASE_BUILD % "write"}, {WF: head})
    assert code == 1
    assert _found(findings) == {("NHI101", 13, True), ("NHI324", 13, False)}
    nhi324 = next(f for f in findings if f["rule_id"] == "NHI324")
    assert nhi324["address"] == f"{WF}#jobs.build.secrets.GITHUB_TOKEN"
    assert f"someone/release-action@{ref}" in nhi324["message"]
    assert "GITHUB_TOKEN, which may write" in nhi324["message"]


def test_write_token_to_unpinned_action_by_a_person_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = BASE_BUILD % "write" + TOKEN_STEP % ("v1", "with", "token", "github.token")
    code, findings = _check(make_repo, capsys, {WF: BASE_BUILD % "write"}, {WF: head},
                            author=HUMAN)
    assert code == 0
    assert _found(findings) == {("NHI324", 13, False)}


@pytest.mark.parametrize(("perms", "ref"), [
    ("read", "v1"),  # a read-only token
    ("write", "0123456789abcdef0123456789abcdef01234567"),  # pinned to a commit
])
def test_read_token_or_pinned_action_is_no_credential(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        perms: str, ref: str) -> None:
    head = BASE_BUILD % perms + TOKEN_STEP % (ref, "with", "token", "github.token")
    code, findings = _check(make_repo, capsys, {WF: BASE_BUILD % perms}, {WF: head})
    assert (code, _found(findings)) == (0, set())


MINT_BASE = """\
name: x
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - run: echo hi
"""
MINT_ARTIFACT = MINT_BASE + """\
      - run: kubectl -n kube-system create token ci-deployer --duration=87600h > token.txt
      - uses: actions/upload-artifact@v4
        with: {name: tok, path: token.txt}
"""


def test_kubectl_token_minted_and_uploaded_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A ten-year token minted in the job is a new credential (NHI101, NHI203 for its
    lifetime) and the artifact it lands in is a secret sink (NHI407)."""
    code, findings = _check(make_repo, capsys, {".github/workflows/ops.yml": MINT_BASE},
                            {".github/workflows/ops.yml": MINT_ARTIFACT})
    assert code == 1
    assert _found(findings) == {("NHI101", 9, True), ("NHI203", 9, False),
                                ("NHI407", 9, True)}
    minted = next(f for f in findings if f["rule_id"] == "NHI101")
    assert minted["address"] == ".github/workflows/ops.yml#jobs.a.steps[1].mints.kubernetes"


def test_kubectl_token_minted_by_a_person_blocks_only_for_the_artifact(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _check(make_repo, capsys, {".github/workflows/ops.yml": MINT_BASE},
                            {".github/workflows/ops.yml": MINT_ARTIFACT}, author=HUMAN)
    assert code == 1
    assert {(r, b) for r, _, b in _found(findings)} == {("NHI203", False), ("NHI407", True)}


@pytest.mark.parametrize(("command", "platform", "rules"), [
    ("aws iam create-access-key --user-name ci", "aws", {"NHI406"}),
    ("gcloud iam service-accounts keys create key.json --iam-account=ci@p.iam.gserviceaccount.com",
     "gcp", set()),
    ("az ad sp credential reset --id 00000000-0000-0000-0000-000000000000 --years 2",
     "azure", {"NHI406"}),
    ("vault token create -ttl=768h", "vault", {"NHI406"}),
    ("TOKEN=$(kubectl create token ci --duration=1h)", "kubernetes", set()),
])
def test_minting_commands_are_identities(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        command: str, platform: str, rules: set[str]) -> None:
    """Each minting command is an identity of its platform (NHI101 for the agent); one whose
    output is printed, not redirected or captured, also puts the credential in the log
    (NHI406)."""
    head = MINT_BASE + f"      - run: {command}\n"
    code, findings = _check(make_repo, capsys, {WF: MINT_BASE}, {WF: head})
    assert code == 1
    assert ("NHI101", 9, True) in _found(findings)
    assert next(f["address"] for f in findings if f["rule_id"] == "NHI101") == (
        f"{WF}#jobs.a.steps[1].mints.{platform}")
    assert {f["rule_id"] for f in findings} - {"NHI101", "NHI203"} == rules


ENV_BASE = """\
name: ci
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  deploy:
    runs-on: ubuntu-latest
%s    steps:
      - uses: actions/checkout@v5
      - run: ./deploy.sh
        env:
          KUBECONFIG_DATA: ${{ secrets.KUBECONFIG_DATA }}
"""


def test_environment_added_to_a_secret_reading_job_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """`environment: production` added: `secrets.KUBECONFIG_DATA` may now be production's
    secret. NHI302 at the `environment:` line says so (and that protection rules may still
    apply); NHI101 for the changed held secret."""
    code, findings = _check(make_repo, capsys, {WF: ENV_BASE % ""},
                            {WF: ENV_BASE % "    environment: production\n"})
    assert code == 1
    assert _found(findings) == {("NHI302", 7, True), ("NHI101", 12, True)}
    message = next(f["message"] for f in findings if f["rule_id"] == "NHI302")
    assert "environment `production`" in message
    assert "protection rules" in message


def test_environment_added_by_a_person_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _check(make_repo, capsys, {WF: ENV_BASE % ""},
                            {WF: ENV_BASE % "    environment: production\n"}, author=HUMAN)
    assert (code, _found(findings)) == (0, {("NHI302", 7, False)})


def test_environment_unchanged_is_not_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The job already ran in `production` at base: a change elsewhere is no widening."""
    base = ENV_BASE % "    environment: production\n"
    code, findings = _check(make_repo, capsys, {WF: base},
                            {WF: base.replace("./deploy.sh", "./deploy.sh --dry-run")})
    assert (code, _found(findings)) == (0, set())
