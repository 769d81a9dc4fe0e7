"""The ledger walk's memory is bounded by what it still needs (issue 12 slice): argo-cd's first
`inventory` (10,478 commits) held 1.35 GB, its blob cache bounded by count (4096 blobs of up to
2 MB manifests) and every (path, blob) parse kept for the whole run. Now the blob cache is
bounded in bytes and a version's parse is dropped once a later commit replaces it; the ledger
it writes is the same."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from checker.cli import main
from checker.commands import ledger_walk
from tests.conftest import HUMAN, GitRepo

ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
  annotations:
    note: "{pad}"
rules:
  - apiGroups: [""]
    resources: [{resources}]
    verbs: [get, list]
"""


def test_the_walk_keeps_only_current_versions(
        make_repo: Callable[..., GitRepo], tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo()
    kinds = ["pods", "services", "configmaps", "secrets", "nodes", "events"]
    for n in range(1, len(kinds) + 1):
        text = ROLE.format(resources=", ".join(kinds[:n]), pad="x" * 600)
        repo.commit({"k8s/role.yaml": text}, author=HUMAN, message=f"role {n}")
    seen: list[tuple[int, int]] = []
    forget = ledger_walk.Parser.forget

    def watched(self: ledger_walk.Parser, files: dict[str, str]) -> None:
        forget(self, files)
        seen.append((len(self.parsed), self.blob_bytes))

    monkeypatch.setattr(ledger_walk, "BLOB_CACHE_BYTES", 1500)
    monkeypatch.setattr(ledger_walk.Parser, "forget", watched)
    assert main(["ledger", str(repo.path), "--db", str(tmp_path / "l.sqlite"),
                 "--format", "json", "--include-removed"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(seen) == len(kinds)  # one call per walked commit
    assert max(parsed for parsed, _ in seen) <= 1  # was: one more kept per commit (6)
    assert max(size for _, size in seen) <= 1500  # the cache is bounded in bytes
    [row] = data["identities"]
    assert (row["address"], row["status"]) == ("ClusterRole/reader", "live")
    assert [e["event"] for e in data["events"]] == ["created"] + ["widened"] * 5
