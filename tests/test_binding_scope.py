"""A binding whose kind changed is the same binding with another scope (attacker pass, session
10): a `ClusterRoleBinding` turned into a `RoleBinding` of the same name, subjects and
`roleRef` now grants its role in one namespace instead of every one, a narrowing (an NHI302
`narrowed` note, never blocking); the reverse grants it in every namespace, a widening that
blocks an agent. In plain manifests and in a Helm chart's subchart pulled in under a
dependency `alias`. Real git repos: base by a human, head by Claude (or a person)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

CLAUDE = ("Claude", "noreply@anthropic.com")

CLUSTER = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: deployer-read
  labels: {owner: team-a, ticket: OPS-1}
subjects:
- kind: ServiceAccount
  name: deployer
  namespace: apps
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
"""
NAMESPACED = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: deployer-read
  namespace: apps
  labels: {owner: team-a, ticket: OPS-1}
subjects:
- kind: ServiceAccount
  name: deployer
  namespace: apps
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: view
"""


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            files: dict[str, str], head: dict[str, str], author: tuple[str, str] = CLAUDE
            ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    repo.commit({"README.md": "# app\n", **files}, author=HUMAN)
    repo.checkout("claude/rbac", create=True)
    repo.commit(head, author=author, message="rbac",
                trailers=[("Requested-by", "Alice Admin <alice@corp.example>")])
    return check_findings(repo, "main", capsys)


def _found(findings: list[dict[str, Any]]) -> set[tuple[str, str, int, str, bool]]:
    return {(f["rule_id"], f["address"], f["start_line"], f["level"], f["blocking"])
            for f in findings}


@pytest.mark.parametrize("author", [CLAUDE, HUMAN])
def test_a_cluster_role_binding_made_a_role_binding_is_a_narrowing_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str]) -> None:
    code, findings = _change(make_repo, capsys, {"rbac.yaml": CLUSTER},
                             {"rbac.yaml": NAMESPACED}, author)
    assert code == 0
    assert _found(findings) == {
        ("NHI302", "RoleBinding/apps/deployer-read", 2, "note", False)}  # kind:
    message = findings[0]["message"]
    assert "no longer grants ClusterRole/view on *" in message
    assert "(was ClusterRoleBinding/deployer-read at base) privileges narrowed" in message


def test_a_role_binding_made_a_cluster_role_binding_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {"rbac.yaml": NAMESPACED},
                             {"rbac.yaml": CLUSTER})
    assert code == 1
    assert _found(findings) == {
        ("NHI101", "ClusterRoleBinding/deployer-read", 2, "error", True),
        ("NHI302", "ClusterRoleBinding/deployer-read", 2, "error", True)}
    nhi101 = next(f["message"] for f in findings if f["rule_id"] == "NHI101")
    assert "was changed (was RoleBinding/apps/deployer-read at base) by agent" in nhi101
    widened = next(f["message"] for f in findings if f["rule_id"] == "NHI302")
    assert "gains ClusterRole/view on *" in widened
    assert "base allowed: ClusterRole/view on apps" in widened


def test_a_narrowed_kind_that_also_binds_a_new_subject_is_no_narrowing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    wider = NAMESPACED.replace("- kind: ServiceAccount\n",
                               "- kind: Group\n  name: devs\n- kind: ServiceAccount\n", 1)
    code, findings = _change(make_repo, capsys, {"rbac.yaml": CLUSTER}, {"rbac.yaml": wider})
    assert code == 1
    assert {(f["rule_id"], f["blocking"]) for f in findings} >= {("NHI101", True),
                                                                 ("NHI302", True)}
    trust = next(f["message"] for f in findings if f["rule_id"] == "NHI302")
    assert "subject Group/devs" in trust


def test_a_base_cluster_role_binding_kept_beside_a_new_role_binding_is_a_creation(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, {"rbac.yaml": CLUSTER},
                             {"rbac.yaml": CLUSTER + "---\n" + NAMESPACED})
    assert code == 1
    nhi101 = [f["message"] for f in findings if f["rule_id"] == "NHI101"]
    assert len(nhi101) == 1 and "RoleBinding/apps/deployer-read" in nhi101[0]
    assert "was created" in nhi101[0]


needs_helm = pytest.mark.skipif(shutil.which("helm") is None, reason="helm is not installed")

PARENT = """\
apiVersion: v2
name: app
version: 0.1.0
dependencies:
  - name: rbac
    alias: access
    version: 0.1.0
"""
SUBCHART = "apiVersion: v2\nname: rbac\nversion: 0.1.0\n"


def _template(doc: str) -> str:
    return doc.replace("name: deployer-read", "name: {{ .Release.Name }}-read").replace(
        "namespace: apps\n  labels", "namespace: {{ .Release.Namespace }}\n  labels")


@needs_helm
@pytest.mark.parametrize(("before", "after", "code", "rule", "level"), [
    (CLUSTER, NAMESPACED, 0, "NHI302", "note"),
    (NAMESPACED, CLUSTER, 1, "NHI302", "error"),
])
def test_the_kind_change_inside_an_aliased_subchart_is_judged_by_scope(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        before: str, after: str, code: int, rule: str, level: str) -> None:
    template = "charts/app/charts/rbac/templates/binding.yaml"
    got, findings = _change(make_repo, capsys, {
        "charts/app/Chart.yaml": PARENT, "charts/app/values.yaml": "{}\n",
        "charts/app/charts/rbac/Chart.yaml": SUBCHART, template: _template(before)},
        {template: _template(after)})
    assert got == code
    assert {(f["rule_id"], f["path"], f["level"]) for f in findings
            if f["rule_id"] != "NHI101"} == {(rule, template, level)}
    if code == 0:
        assert not [f for f in findings if f["rule_id"] == "NHI101"]
        assert "no longer grants ClusterRole/view on *" in findings[0]["message"]
    else:
        assert "gains ClusterRole/view on *" in next(
            f["message"] for f in findings if f["rule_id"] == "NHI302")
