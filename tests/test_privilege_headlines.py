"""NHI301's headline says what kind of grant it found (new-user pass on real repositories,
session 11: `scan` of external-secrets' `deploy/` said "grants wildcard or admin privileges:
get on /secrets"). Reading Secrets is a privilege escalation in the rule's tables (Kubernetes
"RBAC good practices", listing Secrets), not a wildcard: the headline says "reads Secrets",
and the core API group is printed as `core`, not as an empty group before `/secrets`.
Source: https://kubernetes.io/docs/concepts/security/rbac-good-practices/#listing-secrets"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from checker.cli import main

READER = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: external-secrets-cert-controller
  annotations: {owner: team-sec, ticket: SEC-1}
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get", "list", "watch"]
"""
MIXED = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: everything
  annotations: {owner: team-sec, ticket: SEC-1}
rules:
  - apiGroups: ["apps"]
    resources: ["*"]
    verbs: ["*"]
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get"]
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["create"]
"""
PASS_ROLE = """\
# nhi-gate: owner=team-ci ticket=OPS-1
resource "aws_iam_policy" "pass_any_role" {
  name   = "pass"
  policy = jsonencode({
    Statement = [{ Effect = "Allow", Action = "iam:PassRole", Resource = "*" }]
  })
}
"""


def _nhi301(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str,
            text: str) -> dict[str, Any]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    main(["scan", str(tmp_path), "--format", "json"])
    (hit,) = [f for f in json.loads(capsys.readouterr().out)["findings"]
              if f["rule_id"] == "NHI301"]
    return dict(hit)


def test_a_secret_reader_reads_secrets(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    hit = _nhi301(tmp_path, capsys, "role.yaml", READER)
    assert (hit["start_line"], hit["level"]) == (7, "error")
    assert hit["message"] == (
        "ClusterRole/external-secrets-cert-controller reads Secrets: get on core/secrets "
        "(reading Secrets reveals every service-account token and credential in scope); "
        "list on core/secrets (listing Secrets returns their contents, every service-account "
        "token and credential in scope); watch on core/secrets (watching Secrets reveals "
        "every service-account token and credential in scope)")


def test_a_wildcard_beside_escalations_names_both(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hit = _nhi301(tmp_path, capsys, "role.yaml", MIXED)
    assert hit["message"].startswith(
        "ClusterRole/everything grants wildcard or admin privileges, reads Secrets and "
        "creates Pods: * on apps/* (")
    assert "get on core/secrets (reading Secrets" in hit["message"]


def test_an_aws_escalation_says_it_manages_iam(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hit = _nhi301(tmp_path, capsys, "iam.tf", PASS_ROLE)
    assert hit["message"] == (
        "aws_iam_policy.pass_any_role manages IAM permissions on every resource: iam:PassRole "
        "on * (IAM permissions management on every resource: can grant itself more)")
