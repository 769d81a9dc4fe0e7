"""Kubernetes labels and annotations that only describe an object are metadata, like Terraform
tags (issue 12, attack-fb-salabel / attack-fb-rolelabel): an agent adding `tier: backend` to a
ServiceAccount, Role or binding gets an NHI302 `metadata-only` note and passes. Keys a
controller reads (IRSA's `eks.amazonaws.com/role-arn`, a ClusterRole's
`rbac.authorization.k8s.io/aggregate-to-*` label, any ClusterRole label) stay changes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.cli import main

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
META = """\
    owner: team-a
    ticket: OPS-1
    expires: "2027-01-01"
"""
SA = f"""\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  namespace: app
  labels:
{META}"""
ROLE = f"""\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: r
  namespace: app
  labels:
{META}rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get]
"""
CLUSTER_ROLE = ROLE.replace("kind: Role", "kind: ClusterRole").replace(
    "  namespace: app\n", "")

Found = list[tuple[str, int, str, bool, str]]


def _run(make_repo: Callable[..., GitRepo], capsys: Any, path: str, base: str, head: str,
         author: Identity = CLAUDE) -> tuple[int, Found]:
    repo = make_repo()
    sha = repo.commit({path: base}, author=HUMAN)
    repo.commit({path: head}, author=author, trailers=[("Requested-by", "Alice <a@x.example>")])
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["start_line"], f["level"], f["blocking"], f["message"])
                  for f in report["findings"]]


@pytest.mark.parametrize(("path", "text", "address"), [
    ("k8s/sa.yaml", SA, "ServiceAccount/app/app"),
    ("k8s/role.yaml", ROLE, "Role/app/r"),
])
def test_an_agent_adding_a_descriptive_label_gets_a_metadata_only_note(
        make_repo: Callable[..., GitRepo], capsys: Any, path: str, text: str,
        address: str) -> None:
    head = text.replace("    owner: team-a\n", "    owner: team-a\n    tier: backend\n")
    code, found = _run(make_repo, capsys, path, text, head)
    assert code == 0
    assert [(r, ln, level, b) for r, ln, level, b, _ in found] == [("NHI302", 8, "note", False)]
    assert found[0][4] == (f"{address}: only its metadata changed (tier); its access is "
                           "unchanged, so the change needs no approval")


def test_an_agent_adding_descriptive_annotations_gets_a_note(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = SA + ("  annotations:\n    app.kubernetes.io/managed-by: helm\n"
                 "    description: the app's account\n")
    code, found = _run(make_repo, capsys, "k8s/sa.yaml", SA, head)
    assert code == 0
    assert [(r, level, b) for r, _, level, b, _ in found] == [("NHI302", "note", False)]


def test_an_irsa_annotation_is_an_identity_change(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = SA + "  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::1:role/admin\n"
    code, found = _run(make_repo, capsys, "k8s/sa.yaml", SA, head)
    assert code == 1
    assert ("NHI101", "error", True) in [(r, level, b) for r, _, level, b, _ in found]
    assert not any("only its metadata changed" in m for *_, m in found)


@pytest.mark.parametrize("label", [
    'rbac.authorization.k8s.io/aggregate-to-admin: "true"',
    "tier: backend",  # a custom aggregationRule may select any label
])
def test_a_cluster_role_label_stays_a_change(
        make_repo: Callable[..., GitRepo], capsys: Any, label: str) -> None:
    head = CLUSTER_ROLE.replace("    owner: team-a\n", f"    owner: team-a\n    {label}\n")
    code, found = _run(make_repo, capsys, "k8s/cr.yaml", CLUSTER_ROLE, head)
    assert code == 1
    assert ("NHI101", "error", True) in [(r, level, b) for r, _, level, b, _ in found]


def test_a_person_adding_a_label_gets_the_same_note(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = SA.replace("    owner: team-a\n", "    owner: team-a\n    tier: backend\n")
    code, found = _run(make_repo, capsys, "k8s/sa.yaml", SA, head, HUMAN)
    assert code == 0
    assert [(r, level, b) for r, _, level, b, _ in found] == [("NHI302", "note", False)]
