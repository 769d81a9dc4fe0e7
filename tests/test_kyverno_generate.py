"""A Kyverno policy's `generate` rule creates objects (`checker.parsers.kubernetes.generators`):
a ClusterRoleBinding or RoleBinding it generates is judged as one (the /work/nu8 attacker pass:
a ClusterPolicy generating a cluster-admin binding in every namespace passed `check`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import CLAUDE_TRAILER, HUMAN, GitRepo

from checker.cli import main
from checker.model import SourceFile
from checker.pipeline import parse_sources
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config

POLICY = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: ns-defaults
spec:
  rules:
    - name: admin-binding
      match:
        any:
          - resources:
              kinds: [Namespace]
      generate:
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        name: ci-admin
        namespace: "{{request.object.metadata.name}}"
        synchronize: true
        data:
          roleRef:
            apiGroup: rbac.authorization.k8s.io
            kind: ClusterRole
            name: ROLE
          subjects:
            - kind: ServiceAccount
              name: ci
              namespace: ci
    - name: quota
      generate:
        apiVersion: v1
        kind: ConfigMap
        name: defaults
        namespace: "{{request.object.metadata.name}}"
        data:
          data: {team: x}
    - name: copy-pull-secret
      generate:
        apiVersion: v1
        kind: Secret
        name: regcred
        namespace: "{{request.object.metadata.name}}"
        clone: {namespace: default, name: regcred}
"""

FOREACH = """\
apiVersion: kyverno.io/v2beta1
kind: Policy
metadata: {name: per-ns, namespace: team}
spec:
  rules:
    - name: bindings
      generate:
        generateExisting: true
        foreach:
          - list: request.object.spec.teams
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRoleBinding
            name: "{{element}}-admin"
            data:
              roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
              subjects: [{kind: Group, name: "{{element}}"}]
"""


def _objects(text: str) -> list[Any]:
    parsed = parse_sources([SourceFile("policy.yaml", text.encode())], load_catalogue(), Config())
    return [o for o in parsed.objects if o.derived_from is None]


def test_a_generated_binding_is_read_as_the_binding() -> None:
    (obj,) = _objects(POLICY.replace("ROLE", "cluster-admin"))
    assert (obj.address, obj.type) == ("ClusterPolicy/ns-defaults:admin-binding", "RoleBinding")
    assert [g.action for g in obj.privileges] == ["ClusterRole/cluster-admin"]
    assert obj.location.start_line == 13  # the rule's `apiVersion:` line


def test_foreach_entries_and_non_identities() -> None:
    (obj,) = _objects(FOREACH)
    assert (obj.address, obj.type) == ("Policy/per-ns:bindings[0]", "ClusterRoleBinding")
    assert [g.action for g in obj.privileges] == ["ClusterRole/cluster-admin"]
    assert _objects(POLICY.replace("kyverno.io/v1", "example.com/v1")) == []


def _check(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> tuple[int, set[tuple[str, bool]]]:
    code = main(["check", "--repo", str(repo.path), "--base", "HEAD~1", "--head", "HEAD",
                 "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    return code, {(f["rule_id"], f["blocking"]) for f in findings
                  if f["rule_id"] in ("NHI101", "NHI301", "NHI302")}


@pytest.mark.parametrize("agent", [True, False])
def test_an_agent_generating_a_cluster_admin_binding_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], agent: bool,
) -> None:
    repo = make_repo()
    repo.commit({"README.md": "x\n"}, author=HUMAN)
    repo.commit({"policies/ns.yaml": POLICY.replace("ROLE", "cluster-admin")}, author=HUMAN,
                message="Defaults for namespaces",
                trailers=[CLAUDE_TRAILER] if agent else [])
    code, found = _check(repo, capsys)
    if agent:
        assert code == 1 and ("NHI301", True) in found and ("NHI101", True) in found
    else:
        assert code == 0 and ("NHI301", False) in found


def test_narrowing_a_generated_binding_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    repo.commit({"policies/ns.yaml": POLICY.replace("ROLE", "cluster-admin")}, author=HUMAN)
    repo.commit({"policies/ns.yaml": POLICY.replace("ROLE", "view")}, author=HUMAN,
                message="Only view", trailers=[CLAUDE_TRAILER])
    code, found = _check(repo, capsys)
    assert code == 0 and not any(blocking for _, blocking in found)
