"""False blocks an attack pass found (session 11, fixF), Kubernetes and GitHub Actions: an
agent's change that gives no access blocked. An explicit `apiGroup: ""` on a ServiceAccount
subject (the default), the deprecated `serviceAccount` for `serviceAccountName` with the same
account, and an Argo CD `sync-wave` or Helm `resource-policy` annotation change nothing (no
finding, or the metadata-only note); secrets moved from a job's `env:` to the steps that use
them are a narrowing (a note). Each with a real widening in the same object, which still
blocks. Real git repos: a human base, then the agent's commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings, found_at

CLAUDE = ("Claude", "noreply@anthropic.com")
ASKED = [("Requested-by", "Alice Admin <alice@corp.example>")]

APP = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  namespace: app
  labels: {owner: team-a, ticket: OPS-1, expires: "2027-01-01"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: app-reader
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: app-reader
subjects:
- kind: ServiceAccount
  name: app
  namespace: app
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: app-reader
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  namespace: app
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      serviceAccountName: app
      containers:
      - name: app
        image: nginx:1.27
"""

LABELS = '  labels: {owner: team-a, ticket: OPS-1, expires: "2027-01-01"}\n'


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            path: str, base: str, head: str) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    repo.commit({"README.md": "# app\n", path: base}, author=HUMAN)
    repo.checkout("claude/change", create=True)
    repo.commit({path: head}, author=CLAUDE, message="tidy", trailers=ASKED)
    return check_findings(repo, "main", capsys)


def _edit(old: str, new: str, text: str = APP) -> str:
    assert old in text
    return text.replace(old, new, 1)


def _k8s(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
         head: str) -> tuple[int, list[dict[str, Any]]]:
    return _change(make_repo, capsys, "k8s/app.yaml", APP, head)


def test_explicit_service_account_api_group_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """`apiGroup: ""` is what the API server defaults a ServiceAccount subject to."""
    head = _edit("- kind: ServiceAccount\n  name: app", '- kind: ServiceAccount\n  apiGroup: ""\n'
                 "  name: app")
    assert _k8s(make_repo, capsys, head) == (0, [])


def test_explicit_api_group_with_a_new_subject_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = _edit("- kind: ServiceAccount\n  name: app", '- kind: ServiceAccount\n  apiGroup: ""\n'
                 "  name: app\n  namespace: app\n- kind: ServiceAccount\n  name: ci")
    code, findings = _k8s(make_repo, capsys, head)
    assert code == 1
    assert {("NHI101", "k8s/app.yaml", 23, True),
            ("NHI302", "k8s/app.yaml", 23, True)} <= found_at(findings)
    drift = next(f for f in findings if f["rule_id"] == "NHI302")
    assert "subject ServiceAccount/app/ci" in drift["message"]


def test_deprecated_service_account_field_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """`serviceAccount` is the deprecated alias of `serviceAccountName`: the same account."""
    head = _edit("      serviceAccountName: app", "      serviceAccount: app")
    assert _k8s(make_repo, capsys, head) == (0, [])


def test_deprecated_field_naming_another_account_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = _edit("      serviceAccountName: app", "      serviceAccount: admin")
    code, findings = _k8s(make_repo, capsys, head)
    assert code == 1
    assert ("NHI101", "k8s/app.yaml", 40, True) in found_at(findings)
    approval = next(f for f in findings if f["rule_id"] == "NHI101")
    assert "ServiceAccount/app/admin" in approval["message"]


@pytest.mark.parametrize("annotation", ['argocd.argoproj.io/sync-wave: "-1"',
                                        "helm.sh/resource-policy: keep"])
def test_ordering_and_keep_annotations_are_metadata_only(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        annotation: str) -> None:
    """Argo CD's sync order and Helm's keep-on-uninstall say when the ServiceAccount is
    applied or deleted, not what it may do: the metadata-only note, nothing that blocks."""
    head = _edit(LABELS, f"{LABELS}  annotations:\n    {annotation}\n")
    code, findings = _k8s(make_repo, capsys, head)
    assert code == 0
    assert found_at(findings) == {("NHI302", "k8s/app.yaml", 7, False)}
    assert findings[0]["level"] == "note"
    assert "only its metadata changed" in findings[0]["message"]


def test_a_role_arn_annotation_beside_sync_wave_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = _edit(LABELS, f'{LABELS}  annotations:\n    argocd.argoproj.io/sync-wave: "-1"\n'
                 "    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/admin\n")
    code, findings = _k8s(make_repo, capsys, head)
    assert code == 1
    assert ("NHI101", "k8s/app.yaml", 7, True) in found_at(findings)
    approval = next(f for f in findings if f["rule_id"] == "NHI101")
    assert "metadata.annotations.eks.amazonaws.com/role-arn" in approval["message"]


def test_cluster_role_binding_to_role_binding_is_a_narrowing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Fixed on main before this slice (checks/moves.rescoped_twin): verified here."""
    head = _edit("kind: ClusterRoleBinding\nmetadata:\n  name: app-reader\n",
                 "kind: RoleBinding\nmetadata:\n  name: app-reader\n  namespace: app\n")
    code, findings = _k8s(make_repo, capsys, head)
    assert code == 0
    assert [(f["rule_id"], f["level"]) for f in findings] == [("NHI302", "note")]


RELEASE = """\
name: release
on:
  push:
    tags: ['v*']
permissions:
  contents: read
jobs:
  publish:
    runs-on: ubuntu-latest
    env:
      NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
      SENTRY_TOKEN: ${{ secrets.SENTRY_TOKEN }}
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - run: npm ci
      - run: npm publish
      - run: npx sentry-cli releases new "$GITHUB_REF_NAME"
"""

JOB_ENV = """\
    env:
      NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
      SENTRY_TOKEN: ${{ secrets.SENTRY_TOKEN }}
"""
STEP_ENV = """\
      - run: npm publish
        env:
          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
      - run: npx sentry-cli releases new "$GITHUB_REF_NAME"
        env:
          SENTRY_TOKEN: ${{ secrets.SENTRY_TOKEN }}
"""


def _to_steps(text: str = RELEASE) -> str:
    text = _edit(JOB_ENV, "", text)
    return _edit('      - run: npm publish\n      - run: npx sentry-cli releases new '
                 '"$GITHUB_REF_NAME"\n', STEP_ENV, text)


def _gha(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
         head: str) -> tuple[int, list[dict[str, Any]]]:
    return _change(make_repo, capsys, ".github/workflows/release.yml", RELEASE, head)


def test_secrets_moved_from_job_env_to_their_steps_are_a_narrowing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Each secret reaches one step instead of every step of the job: a note each."""
    code, findings = _gha(make_repo, capsys, _to_steps())
    assert code == 0
    path = ".github/workflows/release.yml"
    assert found_at(findings) == {("NHI302", path, 17, False), ("NHI302", path, 20, False)}
    assert {f["level"] for f in findings} == {"note"}
    npm = next(f for f in findings if f["address"].endswith("secrets.NPM_TOKEN"))
    assert ("`secrets.NPM_TOKEN` moved from the job's env to steps[2].env.NPM_TOKEN: it "
            "reaches fewer steps") in npm["message"]


def test_secret_moved_to_a_step_of_a_new_action_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Handed to an action it did not reach at base: no narrowing."""
    head = _to_steps().replace("      - run: npm publish\n        env:\n",
                               "      - uses: example/publish@v1\n        env:\n")
    code, findings = _gha(make_repo, capsys, head)
    assert code == 1
    npm = next(f for f in findings if f["rule_id"] == "NHI101"
               and f["address"].endswith("secrets.NPM_TOKEN"))
    assert npm["blocking"]
    assert "example/publish@v1" in npm["message"]
