"""Workload service-account facets (NHI321/NHI322, NHI101 for an agent-attached account),
SSM SecureString parameters and KMS grants: parser shapes, and end-to-end checks on real git
repositories."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, WEB_FLOW, GitRepo

from checker.cli import main
from checker.model import IdentityObject, SourceFile
from checker.parsers import kubernetes, terraform
from checker.pipeline import parse_sources
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config

TOKEN = "automount:/var/run/secrets/kubernetes.io/serviceaccount"

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      serviceAccountName: deployer
      containers:
        - name: web
          image: nginx:1.27
"""

CRONJOB = """\
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          automountServiceAccountToken: false
          containers:
            - name: report
              image: busybox:1.36
"""


def k8s(text: str, path: str = "k8s/app.yaml") -> list[IdentityObject]:
    result = kubernetes.parse(SourceFile(path, text.encode()), load_catalogue())
    assert result.problems == ()
    return list(result.objects)


def test_deployment_facet_shape() -> None:
    (obj,) = k8s(DEPLOYMENT)
    assert (obj.kind, obj.platform, obj.type) == ("role_binding", "kubernetes", "Deployment")
    assert obj.address == "Deployment/shop/web"
    assert obj.derived_from == obj.address
    assert (obj.location.start_line, obj.location.end_line) == (1, 16)
    assert obj.references == ("ServiceAccount/shop/deployer",)
    assert obj.principals == ("k8s-sa:shop/deployer",)
    assert obj.secret_sinks == (TOKEN,)
    assert obj.attribute_lines["podSpec"] == 12
    assert obj.attribute_lines["serviceAccountName"] == 13
    assert "automountServiceAccountToken" not in obj.attribute_lines


def test_cronjob_pod_spec_is_found_under_job_template() -> None:
    (obj,) = k8s(CRONJOB)
    assert obj.references == ("ServiceAccount/default",)
    assert obj.principals == ()  # each namespace has its own default account
    assert obj.secret_sinks == ()
    assert obj.attribute_lines["podSpec"] == 10
    assert obj.attribute_lines["automountServiceAccountToken"] == 11


def test_service_account_records_its_token_mount() -> None:
    on, off = k8s("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n---\n"
                  "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: b}\n"
                  "automountServiceAccountToken: false\n")
    assert on.secret_sinks == (TOKEN,)
    assert off.secret_sinks == ()


def test_a_configmap_is_still_not_an_identity() -> None:
    assert k8s("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n") == []


def tf(text: str) -> list[IdentityObject]:
    result = terraform.parse(SourceFile("infra/main.tf", text.encode()), load_catalogue())
    assert result.problems == ()
    return list(result.objects)


def test_only_securestring_ssm_parameters_are_secrets() -> None:
    objs = tf('resource "aws_ssm_parameter" "db" {\n  name = "/db"\n  type = "SecureString"\n'
              '  value = var.pw\n}\n'
              'resource "aws_ssm_parameter" "region" {\n  name = "/r"\n  type = "String"\n'
              '  value = "eu-west-1"\n}\n'
              'resource "aws_ssm_parameter" "unknown" {\n  name = "/u"\n  type = var.t\n}\n')
    assert [(o.address, o.kind, o.type) for o in objs] == [
        ("aws_ssm_parameter.db", "secret", "aws_ssm_parameter:SecureString")]


def test_a_file_holding_only_an_ssm_securestring_passes_the_prefilter() -> None:
    raw = b'resource "aws_ssm_parameter" "db" {\n  type = "SecureString"\n}\n'
    parsed = parse_sources([SourceFile("main.tf", raw)], load_catalogue(), Config(), workers=1)
    assert [o.address for o in parsed.objects] == ["aws_ssm_parameter.db"]


def test_kms_grant_operations_are_grants_on_the_key() -> None:
    (obj,) = tf('resource "aws_kms_grant" "app" {\n  key_id = "k-1"\n'
                '  grantee_principal = "arn:aws:iam::123456789012:role/app"\n'
                '  operations = ["Decrypt", "CreateGrant"]\n}\n')
    assert obj.kind == "role_binding"
    assert [(g.action, g.resource, g.line) for g in obj.privileges] == [
        ("Decrypt", "k-1", 4), ("CreateGrant", "k-1", 4)]
    assert obj.principals == ("aws-role:arn:aws:iam::123456789012:role/app",)


# --------------------------------------------------------------------------- end to end

def run_check(repo: GitRepo, base: str, head: str,
              capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict[str, Any]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


def found(findings: list[dict[str, Any]]) -> set[tuple[str, int, bool]]:
    return {(f["rule_id"], f["start_line"], f["blocking"]) for f in findings
            if f["rule_id"] in ("NHI101", "NHI321", "NHI322")}


def test_agent_pointing_a_deployment_at_an_account_needs_approval(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# app\n"}, author=HUMAN)
    repo.checkout("copilot/web", create=True)
    head = repo.commit({"k8s/web.yaml": DEPLOYMENT}, author=COPILOT, committer=WEB_FLOW)
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert found(findings) == {("NHI101", 13, True), ("NHI322", 12, False)}
    (nhi101,) = [f for f in findings if f["rule_id"] == "NHI101"]
    assert nhi101["address"] == "Deployment/shop/web"
    assert "ServiceAccount/shop/deployer" in nhi101["message"]


def test_agent_bumping_an_image_needs_no_identity_approval(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"k8s/web.yaml": DEPLOYMENT}, author=HUMAN)
    head = repo.commit({"k8s/web.yaml": DEPLOYMENT.replace("nginx:1.27", "nginx:1.28")},
                       author=COPILOT, committer=WEB_FLOW)
    code, findings = run_check(repo, base, head, capsys)
    assert code == 0
    assert {f["rule_id"] for f in findings} & {"NHI101"} == set()


def test_agent_switching_the_account_needs_approval(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"k8s/web.yaml": DEPLOYMENT}, author=HUMAN)
    head = repo.commit({"k8s/web.yaml": DEPLOYMENT.replace("deployer", "cluster-ops")},
                       author=COPILOT, committer=WEB_FLOW)
    code, findings = run_check(repo, base, head, capsys)
    assert code == 1
    assert ("NHI101", 13, True) in found(findings)


def test_agent_workload_on_the_default_account_is_a_warning_not_an_approval(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "# app\n"}, author=HUMAN)
    text = DEPLOYMENT.replace("      serviceAccountName: deployer\n", "")
    head = repo.commit({"k8s/web.yaml": text}, author=COPILOT, committer=WEB_FLOW)
    code, findings = run_check(repo, base, head, capsys)
    assert code == 0  # warnings do not block at the default --fail-on error
    assert found(findings) == {("NHI321", 12, False)}


def test_scan_of_the_rule_fixtures_reports_sarif_ids(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "rules" / "NHI322" / "fail.yaml"
    sarif = tmp_path / "out.sarif"
    code = main(["scan", str(fixture), "--format", "sarif", "--output", str(sarif)])
    capsys.readouterr()
    assert code == 1  # the ServiceAccounts carry no owner or ticket (NHI201/NHI202 errors)
    log = json.loads(sarif.read_text())
    got = sorted((r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
                 for r in log["runs"][0]["results"] if r["ruleId"] in ("NHI321", "NHI322"))
    assert got == [("NHI322", 3), ("NHI322", 15), ("NHI322", 31), ("NHI322", 59)]
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["NHI322"]["properties"]["security-severity"] == "4.3"
