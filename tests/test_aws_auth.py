"""The EKS `aws-auth` ConfigMap (issue 12, access paths): an IAM principal an agent maps to
Kubernetes groups, in a manifest or in a Terraform `kubernetes_config_map*` block, is a grant
the admin tables judge (NHI301 for `system:masters`, NHI302 for a widened mapping); a person's
change does not block; removing a mapping is a narrowing note. Real git repos in temp dirs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main

CLAUDE = ("Claude", "noreply@anthropic.com")

BASE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: aws-auth
  namespace: kube-system
data:
  mapRoles: |
    - rolearn: arn:aws:iam::123456789012:role/nodes
      username: system:node:{{EC2PrivateDNSName}}
      groups: [system:bootstrappers, system:nodes]
"""
MASTERS = BASE + """\
    - rolearn: arn:aws:iam::123456789012:role/ci
      username: ci
      groups: [system:masters]
"""
USERS = BASE + """\
  mapUsers: |
    - userarn: arn:aws:iam::123456789012:user/deploy
      groups:
        - deployers
"""

TF_BASE = 'terraform {}\n'
TF_HEAD = """\
resource "kubernetes_config_map_v1_data" "aws_auth" {
  metadata {
    name      = "aws-auth"
    namespace = "kube-system"
  }
  force = true
  data = {
    mapRoles = yamlencode([{
      rolearn  = "arn:aws:iam::123456789012:role/ci"
      username = "ci"
      groups   = local.groups
    }])
  }
}

locals {
  groups = ["system:masters"]
}
"""


def run(make_repo: Callable[..., GitRepo], path: str, base: str, head: str,
        author: tuple[str, str], capsys: pytest.CaptureFixture[str]
        ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    first = repo.commit({path: base}, author=HUMAN)
    last = repo.commit({path: head}, author=author, message="map ci")
    code = main(["check", "--repo", str(repo.path), "--base", first, "--head", last,
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def rows(findings: list[dict[str, Any]]) -> set[tuple[str, int, bool]]:
    return {(f["rule_id"], f["start_line"], f["blocking"]) for f in findings}


def test_agent_mapping_a_role_to_system_masters_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = run(make_repo, "k8s/aws-auth.yaml", BASE, MASTERS, CLAUDE, capsys)
    assert code == 1
    assert {("NHI301", 11, True), ("NHI302", 11, True)} <= rows(findings)
    (admin,) = [f for f in findings if f["rule_id"] == "NHI301"]
    assert "Group/system:masters on arn:aws:iam::123456789012:role/ci" in admin["message"]
    assert all(f["address"] == "ConfigMap/kube-system/aws-auth" for f in findings)


def test_person_mapping_a_role_to_system_masters_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = run(make_repo, "k8s/aws-auth.yaml", BASE, MASTERS, HUMAN, capsys)
    assert code == 0
    assert not [f for f in findings if f["blocking"]]


def test_agent_mapping_a_user_to_another_group_is_a_widening(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = run(make_repo, "aws-auth.yaml", BASE, USERS, CLAUDE, capsys)
    assert code == 1
    drift = {f["start_line"]: f for f in findings if f["rule_id"] == "NHI302"}
    assert "subject arn:aws:iam::123456789012:user/deploy" in drift[11]["message"]
    assert drift[12]["blocking"] and drift[11]["blocking"]
    assert "gains Group/deployers on arn:aws:iam::123456789012:user/deploy" in drift[12]["message"]
    assert not [f for f in findings if f["rule_id"] == "NHI301"]


def test_agent_removing_a_masters_mapping_is_a_narrowing_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = run(make_repo, "aws-auth.yaml", MASTERS, BASE, CLAUDE, capsys)
    assert code == 0
    assert [(f["rule_id"], f["level"], f["blocking"]) for f in findings
            if f["rule_id"] == "NHI302"] == [("NHI302", "note", False)]


def test_other_config_maps_are_no_identity(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    other = MASTERS.replace("name: aws-auth", "name: settings")
    code, findings = run(make_repo, "cm.yaml", BASE.replace("aws-auth", "x"), other, CLAUDE,
                         capsys)
    assert code == 0
    assert findings == []


def test_agent_terraform_aws_auth_through_a_local_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = run(make_repo, "eks/auth.tf", TF_BASE, TF_HEAD, CLAUDE, capsys)
    assert code == 1
    (admin,) = [f for f in findings if f["rule_id"] == "NHI301"]
    assert admin["address"] == "kubernetes_config_map_v1_data.aws_auth"
    assert admin["start_line"] == 9 and admin["blocking"]
    assert "Group/system:masters on arn:aws:iam::123456789012:role/ci" in admin["message"]


def test_agent_terraform_aws_auth_not_computed_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = TF_HEAD.replace("yamlencode([{", "yamlencode(concat(var.extra, [{")
    head = head.replace("}])", "}]))")
    code, findings = run(make_repo, "eks/auth.tf", TF_BASE, head, CLAUDE, capsys)
    assert code == 1
    assert ("NHI106", 7, True) in rows(findings)


def test_person_terraform_aws_auth_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = run(make_repo, "eks/auth.tf", TF_BASE, TF_HEAD, HUMAN, capsys)
    assert code == 0
    assert ("NHI301", 9, False) in rows(findings)
