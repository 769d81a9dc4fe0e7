"""False blocks a hostile tester found (session 9, fix-M): a shorter projected token is a
narrowing; a Dependabot SHA bump of a credential step is no identity change over a range; a
helm-unittest snapshot is no deployed manifest; a committed symlink inside the repository is
read as its target (one pointing outside stays NHI902). Real git repos, a human base."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import DEPENDABOT, HUMAN, GitRepo, check_findings

CLAUDE = ("Claude", "noreply@anthropic.com")
ASKED = [("Requested-by", "Alice Admin <alice@corp.example>")]


def _found(findings: list[dict[str, Any]]) -> set[tuple[str, str, int, bool]]:
    return {(f["rule_id"], f["path"], f["start_line"], f["blocking"]) for f in findings}


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            base: dict[str, str], head: dict[str, str], author: tuple[str, str] = CLAUDE,
            links: dict[str, str] | None = None) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    repo.commit({"README.md": "# app\n", **base}, author=HUMAN)
    repo.checkout("claude/change", create=True)
    for link, target in (links or {}).items():
        repo.symlink(link, target)
    repo.commit(head, author=author, message="change", trailers=ASKED)
    return check_findings(repo, "main", capsys)


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      automountServiceAccountToken: false
      containers:
        - name: web
          image: nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000
          volumeMounts: [{name: tok, mountPath: /var/run/secrets/tokens}]
      volumes:
        - name: tok
          projected:
            sources:
              - serviceAccountToken:
                  audience: vault
                  expirationSeconds: %d
                  path: token
"""


def test_shorter_projected_token_is_a_narrowing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """expirationSeconds 315360000 -> 3600 of the same token: an NHI302 note, no NHI101."""
    code, findings = _change(make_repo, capsys, {"dep.yaml": DEPLOYMENT % 315360000},
                             {"dep.yaml": DEPLOYMENT % 3600})
    assert code == 0
    assert _found(findings) == {("NHI302", "dep.yaml", 21, False)}
    assert findings[0]["level"] == "note"
    assert "expirationSeconds 315360000 -> 3600" in findings[0]["message"]


def test_longer_projected_token_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {"dep.yaml": DEPLOYMENT % 3600},
                             {"dep.yaml": DEPLOYMENT % 315360000})
    assert code == 1
    assert _found(findings) == {("NHI101", "dep.yaml", 21, True),
                                ("NHI302", "dep.yaml", 21, True)}
    drift = next(f for f in findings if f["rule_id"] == "NHI302")
    assert "longer-lived than base's 3600 seconds" in drift["message"]


WORKFLOW = """\
name: e2e
on: {push: {branches: [main]}}
permissions: {contents: read, id-token: write}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - name: Configure AWS Credentials
        uses: aws-actions/configure-aws-credentials@%s # %s
        with:
          role-to-assume: arn:aws:iam::123456789012:role/e2e
          aws-region: eu-west-1
"""
SHA_1 = "e3dd6a429d7300a6a4c196c26e071d42e0343502"
SHA_2 = "517a711dbcd0e402f90c77e7e2f81e849156e31d"
SHA_3 = "e6de054238d6b7531b4efff3b6587d9aade6a06c"


def test_dependabot_repins_are_no_identity_change_over_a_range(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A person adds the credential step in the range, Dependabot bumps its pinned SHA twice:
    the bot changed no identity (no NHI101), and the missing `environment:` the person's step
    already had is the person's (NHI316 does not block)."""
    repo = make_repo()
    base = repo.commit({"README.md": "# app\n"}, author=HUMAN)
    wf = ".github/workflows/e2e.yml"
    repo.commit({wf: WORKFLOW % (SHA_1, "v4.0.2")}, author=HUMAN, message="e2e")
    repo.commit({wf: WORKFLOW % (SHA_2, "v6.2.2")}, author=DEPENDABOT, message="bump")
    repo.commit({wf: WORKFLOW % (SHA_3, "v6.2.3")}, author=DEPENDABOT, message="bump")
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    assert not [f for f in findings if f["rule_id"] == "NHI101"]
    assert (("NHI316", wf, 9, False)) in _found(findings)


SNAPSHOT = """\
apiVersion: external-secrets.io/v1
kind: ClusterSecretStore
metadata: {}
spec:
  provider:
    kubernetes:
      auth:
        serviceAccount:
          name: string
          namespace: string
      remoteNamespace: string
      server:
        url: string
"""


@pytest.mark.parametrize("path", [
    "tests/__snapshot__/clustersecretstore-v1.yaml",
    "charts/app/tests/__snapshot__/store_test.yaml",
])
def test_test_snapshots_are_not_manifests(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        path: str) -> None:
    """A helm-unittest snapshot is a test's expected output, never applied: not judged."""
    code, findings = _change(make_repo, capsys, {}, {path: SNAPSHOT})
    assert (code, findings) == (0, [])


def test_the_same_store_outside_a_snapshot_is_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {}, {"deploy/store.yaml": SNAPSHOT})
    assert code == 1
    assert ("NHI101", "deploy/store.yaml", 1, True) in _found(findings)


CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: \"1\"}\n"
ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ci, namespace: prod}\n"


def test_a_persons_symlink_inside_the_repository_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {"k8s/cm.yaml": CONFIG_MAP}, {},
                             author=HUMAN, links={"k8s/cm-link.yaml": "cm.yaml"})
    assert (code, findings) == (0, [])


def test_an_agents_symlink_inside_the_repository_is_judged_as_its_target(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """`prod/sa.yaml -> ../dev/sa.yaml` places the ServiceAccount in `prod/`: NHI101 there."""
    code, findings = _change(make_repo, capsys, {"dev/sa.yaml": ACCOUNT}, {},
                             links={"prod/sa.yaml": "../dev/sa.yaml"})
    assert code == 1
    assert ("NHI101", "prod/sa.yaml", 1, True) in _found(findings)
    assert not [f for f in findings if f["rule_id"] == "NHI902"]


@pytest.mark.parametrize("target", ["/etc/hostname", "../../outside.yaml"])
def test_a_symlink_out_of_the_repository_stays_nhi902(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        target: str) -> None:
    code, findings = _change(make_repo, capsys, {}, {}, author=HUMAN,
                             links={"k8s/out.yaml": target})
    assert code == 1
    assert _found(findings) == {("NHI902", "k8s/out.yaml", 1, True)}


def test_scan_reads_symlinks_inside_the_tree_and_flags_those_outside(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from checker.cli import main

    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "cm.yaml").write_text(CONFIG_MAP, encoding="utf-8")
    (tmp_path / "k8s" / "cm-link.yaml").symlink_to("cm.yaml")
    (tmp_path / "k8s" / "out.yaml").symlink_to("/etc/hostname")
    code = main(["scan", str(tmp_path), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert {(f["rule_id"], f["path"]) for f in findings} == {("NHI902", "k8s/out.yaml")}
