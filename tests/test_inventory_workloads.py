"""`inventory` shows a workload as what it is (issue 12 slice): terraform-aws-eks
`examples/karpenter/inflate.yaml`, a plain Deployment, was listed as kind `role_binding` with
`created_by` null although the file is committed. Now it is kind `workload`, `runs_as` names the
identity it runs as, and `created_by` is the commit that added it (the ledger records
workloads)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.cli import main
from tests.conftest import CLAUDE_TRAILER, HUMAN, GitRepo

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: inflate
  namespace: web
spec:
  replicas: 5
  selector:
    matchLabels: {app: inflate}
  template:
    metadata:
      labels: {app: inflate}
    spec:
      serviceAccountName: deployer
      containers:
        - name: inflate
          image: public.ecr.aws/eks-distro/kubernetes/pause:3.7
"""
ACCOUNT = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: deployer\n  namespace: web\n"


def test_a_deployment_is_a_workload_with_its_creator(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    repo.commit({"README.md": "eks\n"})
    added = repo.commit({"k8s/inflate.yaml": DEPLOYMENT}, author=HUMAN, message="inflate")
    repo.commit({"k8s/sa.yaml": ACCOUNT}, author=HUMAN, message="account",
                trailers=[CLAUDE_TRAILER])
    assert main(["inventory", str(repo.path), "--format", "json",
                 "--db", str(tmp_path / "ledger.sqlite")]) == 0
    rows = {r["address"]: r for r in json.loads(capsys.readouterr().out)["identities"]}
    row = rows["Deployment/web/inflate"]
    assert (row["kind"], row["type"], row["runs_as"]) == (
        "workload", "Deployment", ["ServiceAccount/web/deployer"])  # was: role_binding
    assert row["created_by"] is not None  # was: null
    assert (row["created_by"]["commit"], row["created_by"]["actor_kind"]) == (added, "human")
    account = rows["ServiceAccount/web/deployer"]
    assert (account["kind"], account["runs_as"], account["created_by"]["actor_kind"]) == (
        "service_account", [], "agent")
