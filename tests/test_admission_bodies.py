"""An admission policy's rule body (CEL validations, Gatekeeper rego, Kyverno patterns and
conditions) changed (session 11, fixK). nhi-gate does not interpret CEL, rego or Kyverno
patterns, so it fails closed: an agent's change to a body is NHI106 and blocks, a person's is a
note, a policy's metadata alone is no finding. Real git repos: base by a human, head by Claude
(or a person)."""

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
  name: no-cluster-admin-bindings
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: ["rbac.authorization.k8s.io"]
      apiVersions: ["v1"]
      operations: ["CREATE", "UPDATE"]
      resources: ["clusterrolebindings", "rolebindings"]
  validations:
  - expression: "object.roleRef.name != 'cluster-admin'"
    message: "cluster-admin may not be bound"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: no-cluster-admin-bindings
spec:
  policyName: no-cluster-admin-bindings
  validationActions: [Deny]
"""
TEMPLATE = """\
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8snoclusteradmin
spec:
  crd:
    spec:
      names:
        kind: K8sNoClusterAdmin
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8snoclusteradmin
      violation[{"msg": msg}] {
        input.review.object.roleRef.name == "cluster-admin"
        msg := "bound to cluster-admin"
      }
"""
CONSTRAINT = """\
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sNoClusterAdmin
metadata:
  name: no-cluster-admin
spec:
  enforcementAction: deny
  match:
    kinds:
    - apiGroups: ["rbac.authorization.k8s.io"]
      kinds: ["ClusterRoleBinding", "RoleBinding"]
  parameters:
    roles: [cluster-admin]
"""
KYVERNO = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: restrict-bindings
spec:
  validationFailureAction: Enforce
  rules:
  - name: no-cluster-admin
    match:
      any:
      - resources:
          kinds: [ClusterRoleBinding, RoleBinding]
    validate:
      message: "cluster-admin may not be bound"
      pattern:
        roleRef:
          name: "!cluster-admin"
"""

#: (base, head, line of the finding: the first changed line of the body, words the message
#: names)
BODIES = {
    "vap expression": (VAP, VAP.replace("!= 'cluster-admin'\"", "!= 'cluster-admin' || true\""),
                       14, "`validations`"),
    "rego condition": (TEMPLATE, TEMPLATE.replace(
        '"cluster-admin"\n', '"cluster-admin"\n        input.review.object.metadata.labels'
        '["audit"] == "strict"\n', 1), 16, "`targets`"),
    "kyverno pattern": (KYVERNO, KYVERNO.replace('"!cluster-admin"', '"!cluster-admin-legacy"'),
                        17, "`rules.no-cluster-admin.validate`"),
    "kyverno pattern to deny": (KYVERNO, KYVERNO.replace(
        "      pattern:\n        roleRef:\n          name: \"!cluster-admin\"\n",
        "      deny:\n        conditions:\n          any: []\n"), 15,
        "`rules.no-cluster-admin.validate`"),
    "constraint parameters": (CONSTRAINT, CONSTRAINT.replace("[cluster-admin]",
                                                             "[cluster-admin-legacy]"),
                              12, "`parameters`"),
}


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            base: str, head: str, author: tuple[str, str] = CLAUDE
            ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    repo.commit({"README.md": "# app\n", "policy.yaml": base}, author=HUMAN)
    repo.checkout("claude/change", create=True)
    repo.commit({"policy.yaml": head}, author=author, message="change",
                trailers=[("Requested-by", "Alice Admin <alice@corp.example>")])
    return check_findings(repo, "main", capsys)


def _found(findings: list[dict[str, Any]]) -> set[tuple[str, int, str, bool]]:
    return {(f["rule_id"], f["start_line"], f["level"], f["blocking"]) for f in findings}


@pytest.mark.parametrize("body", sorted(BODIES))
def test_agent_changing_a_policy_body_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        body: str) -> None:
    base, head, line, named = BODIES[body]
    assert base != head
    code, findings = _change(make_repo, capsys, base, head)
    assert code == 1
    assert _found(findings) == {("NHI106", line, "error", True)}
    message = findings[0]["message"]
    assert "policy body changed" in message and named in message
    assert "could not be judged" in message


@pytest.mark.parametrize("body", sorted(BODIES))
def test_a_persons_policy_body_change_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        body: str) -> None:
    base, head, line, _ = BODIES[body]
    code, findings = _change(make_repo, capsys, base, head, author=HUMAN)
    assert code == 0
    assert _found(findings) == {("NHI106", line, "note", False)}


@pytest.mark.parametrize("base", [VAP, TEMPLATE, KYVERNO, CONSTRAINT])
def test_a_policys_metadata_or_message_alone_is_quiet(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        base: str) -> None:
    head = base.replace("metadata:\n  name:", "metadata:\n  labels: {owner: team-sec}\n  name:")
    head = head.replace('"cluster-admin may not be bound"', '"cluster-admin: ask #security"')
    assert head != base
    code, findings = _change(make_repo, capsys, base, head)
    assert (code, findings) == (0, [])


def test_a_reformatted_policy_body_is_quiet(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = KYVERNO.replace('        roleRef:\n          name: "!cluster-admin"\n',
                           '        roleRef: {name: "!cluster-admin"}\n')
    code, findings = _change(make_repo, capsys, KYVERNO, head)
    assert (code, findings) == (0, [])


def test_body_change_beside_a_weakening_reports_both(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = BODIES["vap expression"][1].replace("failurePolicy: Fail", "failurePolicy: Ignore")
    code, findings = _change(make_repo, capsys, VAP, head)
    assert code == 1
    assert _found(findings) == {("NHI106", 14, "error", True), ("NHI302", 6, "error", True)}


def test_a_new_constraint_template_is_not_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, "# none\n", TEMPLATE)
    assert (code, findings) == (0, [])


def test_a_validation_added_to_a_policy_is_a_narrowing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    # every validation must hold, so one more only denies more
    head = VAP.replace('''    message: "cluster-admin may not be bound"
''', '''    message: "cluster-admin may not be bound"
  - expression: "object.roleRef.name != 'admin'"
''')
    code, findings = _change(make_repo, capsys, VAP, head)
    assert code == 0
    assert _found(findings) == {("NHI302", 16, "note", False)}
    assert "tightened or unchanged in effect" in findings[0]["message"]


def test_a_validation_removed_from_a_policy_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    two = VAP.replace('''    message: "cluster-admin may not be bound"
''', '''    message: "cluster-admin may not be bound"
  - expression: "object.roleRef.name != 'admin'"
''')
    code, findings = _change(make_repo, capsys, two, VAP)
    assert code == 1
    assert [(f["rule_id"], f["blocking"]) for f in findings] == [("NHI106", True)]
