"""Admission control that guards identity creation, weakened (session 9, fix-M): Validating
Admission Policies and their bindings, validating/mutating webhooks, Kyverno and Gatekeeper.
An agent's weakening blocks (NHI302), a person's is a note, a tightening is a `narrowed`
note. Real git repos: base by a human, head by Claude (or a person)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

CLAUDE = ("Claude", "noreply@anthropic.com")

VAP = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: deny-cluster-admin-bindings
spec:
  failurePolicy: %s
  matchConstraints:
    resourceRules:
      - apiGroups: ["rbac.authorization.k8s.io"]
        apiVersions: ["*"]
        operations: ["CREATE", "UPDATE"]
        resources: ["clusterrolebindings"]
  validations:
    - expression: "object.roleRef.name != 'cluster-admin'"
"""
BINDING = """\
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: deny-cluster-admin-bindings
spec:
  policyName: deny-cluster-admin-bindings
  validationActions: [%s]
"""
WEBHOOK = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: gatekeeper
webhooks:
  - name: validation.gatekeeper.sh
    failurePolicy: %s
%s    sideEffects: None
    admissionReviewVersions: ["v1"]
    clientConfig:
      service: {name: gatekeeper-webhook, namespace: gatekeeper-system, path: /v1/admit}
    rules:
      - apiGroups: ["*"]
        apiVersions: ["*"]
        operations: ["CREATE", "UPDATE"]
        resources: ["*"]
"""
SELECTOR = """\
    namespaceSelector:
      matchExpressions:
        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [web]}
"""
KYVERNO = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: restrict-cluster-admin
spec:
  validationFailureAction: %s
  rules:
    - name: no-cluster-admin
      match:
        any:
          - resources: {kinds: [ClusterRoleBinding]}
      validate:
        message: cluster-admin bindings need review
        deny:
          conditions:
            any:
              - {key: "{{ request.object.roleRef.name }}", operator: Equals, value: cluster-admin}
"""
GATEKEEPER = """\
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sDenyClusterAdmin
metadata:
  name: deny-cluster-admin
spec:
  enforcementAction: %s
  match:
    kinds:
      - apiGroups: ["rbac.authorization.k8s.io"]
        kinds: ["ClusterRoleBinding"]
"""


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            base: str, head: str | None, author: tuple[str, str] = CLAUDE
            ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    repo.commit({"README.md": "# app\n", "policy.yaml": base}, author=HUMAN)
    repo.checkout("claude/change", create=True)
    repo.commit({"policy.yaml": head}, author=author, message="change",
                trailers=[("Requested-by", "Alice Admin <alice@corp.example>")])
    return check_findings(repo, "main", capsys)


def _found(findings: list[dict[str, Any]]) -> set[tuple[str, int, str, bool]]:
    return {(f["rule_id"], f["start_line"], f["level"], f["blocking"]) for f in findings}


def test_policy_ignore_and_binding_audit_block_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, VAP % "Fail" + BINDING % "Deny",
                             VAP % "Ignore" + BINDING % "Audit")
    assert code == 1
    assert _found(findings) == {("NHI302", 6, "error", True), ("NHI302", 22, "error", True)}
    messages = " ".join(f["message"] for f in findings)
    assert "`failurePolicy` Fail -> Ignore" in messages
    assert "`validationActions` Deny -> Audit" in messages


def test_a_persons_weakening_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, VAP % "Fail" + BINDING % "Deny",
                             VAP % "Ignore" + BINDING % "Audit", author=HUMAN)
    assert code == 0
    assert _found(findings) == {("NHI302", 6, "note", False), ("NHI302", 22, "note", False)}


def test_binding_deleted_weakens_the_policy(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, VAP % "Fail" + BINDING % "Deny", VAP % "Fail")
    assert code == 1
    assert _found(findings) == {("NHI302", 1, "error", True)}
    assert "binding `deny-cluster-admin-bindings` deleted" in findings[0]["message"]


def test_webhook_ignore_and_namespace_exclusion_block_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, WEBHOOK % ("Fail", ""),
                             WEBHOOK % ("Ignore", SELECTOR))
    assert code == 1
    assert _found(findings) == {("NHI302", 7, "error", True)}
    message = findings[0]["message"]
    assert "`webhooks.validation.gatekeeper.sh.failurePolicy` Fail -> Ignore" in message
    assert "`webhooks.validation.gatekeeper.sh.namespaceSelector` added" in message


@pytest.mark.parametrize(("template", "was", "now", "line"), [
    (KYVERNO, "Enforce", "Audit", 6),
    (GATEKEEPER, "deny", "dryrun", 6),
    (GATEKEEPER, "deny", "warn", 6),
])
def test_kyverno_and_gatekeeper_enforcement_relaxed_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        template: str, was: str, now: str, line: int) -> None:
    code, findings = _change(make_repo, capsys, template % was, template % now)
    assert code == 1
    assert _found(findings) == {("NHI302", line, "error", True)}
    assert f"{was} -> {now}" in findings[0]["message"]


@pytest.mark.parametrize(("base", "head"), [
    (VAP % "Ignore" + BINDING % "Audit", VAP % "Fail" + BINDING % "Deny"),
    (WEBHOOK % ("Fail", SELECTOR), WEBHOOK % ("Fail", "")),
    (KYVERNO % "Audit", KYVERNO % "Enforce"),
])
def test_tightening_is_a_narrowed_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        base: str, head: str) -> None:
    code, findings = _change(make_repo, capsys, base, head)
    assert code == 0
    assert findings and all(
        (f["rule_id"], f["level"], f["blocking"]) == ("NHI302", "note", False)
        for f in findings)


def test_a_new_policy_is_not_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, "# none\n", VAP % "Ignore" + BINDING % "Audit")
    assert (code, findings) == (0, [])


@pytest.mark.parametrize(("author", "code", "level"), [(CLAUDE, 1, "error"),
                                                       (HUMAN, 0, "note")])
def test_an_admission_file_deleted_is_a_weakening(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int, level: str) -> None:
    """The whole file goes (read at base): the binding stops denying."""
    got, findings = _change(make_repo, capsys, BINDING % "Deny", None, author=author)
    assert got == code
    assert _found(findings) == {("NHI302", 2, level, author == CLAUDE)}
    assert "admission control removed" in findings[0]["message"]
