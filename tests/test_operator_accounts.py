"""A custom resource whose operator makes its pods' service account (CloudNativePG's Pooler)
runs as that account, not as the namespace's `default` (`workloads.OPERATOR_ACCOUNTS`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.cli import main

POOLER = """\
apiVersion: postgresql.cnpg.io/v1
kind: Pooler
metadata:
  name: pg-pooler-rw
  namespace: db
spec:
  cluster:
    name: pg
  instances: 2
  type: rw
  template:
    metadata:
      labels:
        app: pooler
    spec:
      containers:
      - name: pgbouncer
        image: ghcr.io/cloudnative-pg/pgbouncer:1.23.0
"""
#: Another operator's resource with a pod template and no account: still `default`.
OTHER = POOLER.replace("postgresql.cnpg.io/v1", "example.com/v1").replace("Pooler", "Widget")


def _findings(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
              ) -> list[tuple[str, str]]:  # fmt: skip
    (tmp_path / "pooler.yaml").write_text(text)
    main(["scan", str(tmp_path), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    return [(f["rule_id"], f["message"]) for f in out["findings"]]


def test_a_pooler_without_an_account_runs_as_the_one_its_operator_makes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = _findings(tmp_path, POOLER, capsys)
    assert [r for r, _ in found] == ["NHI322"]
    assert "ServiceAccount/db/pg-pooler-rw" in found[0][1]


def test_a_pooler_naming_an_account_runs_as_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    named = POOLER.replace("    spec:\n      containers:",
                           "    spec:\n      serviceAccountName: pooler-sa\n      containers:")
    found = _findings(tmp_path, named, capsys)
    assert [r for r, _ in found] == ["NHI322"]
    assert "ServiceAccount/db/pooler-sa" in found[0][1]


def test_another_operators_resource_without_an_account_runs_as_default(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    found = _findings(tmp_path, OTHER, capsys)
    assert [r for r, _ in found] == ["NHI321"]
    assert "Widget/db/pg-pooler-rw runs as the namespace's default service account" in found[0][1]
