"""Objects that rewrite other objects or send them out of the cluster (session 12, fixK8S): a
`MutatingWebhookConfiguration` (and a validating one that receives Secrets) sending requests to
a server, a Kyverno `mutate` rule (also on existing objects), a Gatekeeper mutator (`Assign`),
an External Secrets `PushSecret`. nhi-gate does not interpret what they rewrite, so an agent
creating or changing one fails closed (NHI106, naming what it may rewrite or send where), a
person's is a note. Real git repos: base by a human, head by Claude (or a person)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

from checker.cli import main

CLAUDE = ("Claude", "noreply@anthropic.com")

WEBHOOK = """\
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: label-injector}
webhooks:
- name: labels.example.com
  admissionReviewVersions: [v1]
  sideEffects: None
  failurePolicy: Ignore
  clientConfig: {url: "https://hooks.example.net/mutate"}
  rules:
  - operations: [CREATE, UPDATE]
    apiGroups: [""]
    apiVersions: [v1]
    resources: [secrets]
"""
KYVERNO_EXISTING = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: add-labels}
spec:
  rules:
  - name: add-team-label
    match:
      any:
      - resources: {kinds: [ConfigMap], names: [team-config]}
    mutate:
      mutateExistingOnPolicyUpdate: true
      targets:
      - apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRoleBinding
        name: cluster-admin
      patchesJson6902: |-
        - op: add
          path: /subjects/-
          value: {kind: ServiceAccount, name: ci, namespace: apps}
"""
KYVERNO_POD = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: default-sa}
spec:
  rules:
  - name: set-sa
    match:
      any:
      - resources: {kinds: [Pod], namespaces: [apps]}
    mutate:
      patchStrategicMerge:
        spec:
          serviceAccountName: argocd-application-controller
"""
ASSIGN = """\
apiVersion: mutations.gatekeeper.sh/v1
kind: Assign
metadata: {name: set-sa}
spec:
  applyTo: [{groups: [""], kinds: [Pod], versions: [v1]}]
  match: {scope: Namespaced, namespaces: [apps]}
  location: "spec.serviceAccountName"
  parameters: {assign: {value: argocd-application-controller}}
"""
PUSH = """\
apiVersion: external-secrets.io/v1alpha1
kind: PushSecret
metadata: {name: backup, namespace: argocd}
spec:
  secretStoreRefs: [{name: team-vault, kind: ClusterSecretStore}]
  selector: {secret: {name: argocd-secret}}
  data:
  - match: {secretKey: admin.password, remoteRef: {remoteKey: backup/argocd}}
"""
NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n"

#: name -> (file text, line of the finding, what the message must say)
CREATED = {
    "webhook": (WEBHOOK, 5, "MutatingWebhookConfiguration/label-injector: webhook "
                "`labels.example.com` receives CREATE, UPDATE of core/secrets at "
                "https://hooks.example.net/mutate and may rewrite them"),
    "kyverno-existing": (KYVERNO_EXISTING, 10, "ClusterPolicy/add-labels: rule `add-team-label` "
                         "may rewrite existing ClusterRoleBinding/cluster-admin"),
    "kyverno-pod": (KYVERNO_POD, 10, "ClusterPolicy/default-sa: rule `set-sa` may rewrite "
                    "Pod in namespaces apps"),
    "assign": (ASSIGN, 4, "Assign/set-sa: sets `spec.serviceAccountName` of Pod in namespaces "
               "apps"),
    "push": (PUSH, 4, "PushSecret/argocd/backup: sends Secret `argocd-secret` (keys "
             "admin.password) to ClusterSecretStore/team-vault"),
}


def _run(make_repo: Callable[..., GitRepo], capsys: Any, base_files: dict[str, str],
         head_files: dict[str, str], author: tuple[str, str] = CLAUDE
         ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    base = repo.commit(base_files, author=HUMAN)
    repo.commit(head_files, author=author)
    return check_findings(repo, base, capsys)


@pytest.mark.parametrize("case", sorted(CREATED))
def test_agent_creating_a_mutator_or_push_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: Any, case: str) -> None:
    text, line, said = CREATED[case]
    code, findings = _run(make_repo, capsys, {"k8s/ns.yaml": NAMESPACE}, {"k8s/new.yaml": text})
    assert code == 1
    found = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["path"], f["start_line"], f["level"], f["blocking"]) for f in found] == [
        ("k8s/new.yaml", line, "error", True)], findings
    assert found[0]["message"].startswith(said), found[0]["message"]
    assert "a human must review" in found[0]["message"]


@pytest.mark.parametrize("case", sorted(CREATED))
def test_a_person_creating_a_mutator_or_push_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: Any, case: str) -> None:
    text, line, _ = CREATED[case]
    code, findings = _run(make_repo, capsys, {"k8s/ns.yaml": NAMESPACE}, {"k8s/new.yaml": text},
                          author=("Bob Builder", "bob@example.com"))
    assert code == 0
    assert [(f["rule_id"], f["start_line"], f["level"]) for f in findings
            if f["rule_id"] == "NHI106"] == [("NHI106", line, "note")]


@pytest.mark.parametrize(("case", "old", "new", "line"), [
    ("kyverno-pod", "argocd-application-controller", "kube-system-admin", 13),
    ("assign", "value: argocd-application-controller", "value: cluster-admin-sa", 8),
    ("push", "admin.password", "server.secretkey", 8),
])
def test_agent_changing_what_a_mutator_or_push_does_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: Any, case: str, old: str, new: str,
        line: int) -> None:
    text = CREATED[case][0]
    code, findings = _run(make_repo, capsys, {"k8s/new.yaml": text},
                          {"k8s/new.yaml": text.replace(old, new)})
    assert code == 1
    found = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["start_line"], f["blocking"]) for f in found] == [(line, True)], findings


@pytest.mark.parametrize("case", ["kyverno-pod", "assign", "push"])
def test_restyled_mutator_is_no_change(make_repo: Callable[..., GitRepo], capsys: Any,
                                       case: str) -> None:
    text = CREATED[case][0]
    code, findings = _run(make_repo, capsys, {"k8s/new.yaml": text},
                          {"k8s/new.yaml": "# reformatted\n" + text.replace(": ", ":  ")})
    assert (code, findings) == (0, [])


def test_deleting_a_push_secret_is_no_block(make_repo: Callable[..., GitRepo],
                                            capsys: Any) -> None:
    code, findings = _run(make_repo, capsys, {"k8s/new.yaml": PUSH, "k8s/ns.yaml": NAMESPACE},
                          {"k8s/new.yaml": None})  # type: ignore[dict-item]
    assert code == 0
    assert not [f for f in findings if f["blocking"]]


VALIDATING_PODS = WEBHOOK.replace("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"
                                  ).replace("[secrets]", "[pods]")


def test_a_new_validating_webhook_on_pods_is_not_judged(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    """A validating webhook that never sees a Secret rewrites nothing: a new one is a new
    policy (a tightening), as before."""
    code, findings = _run(make_repo, capsys, {"k8s/ns.yaml": NAMESPACE},
                          {"k8s/new.yaml": VALIDATING_PODS})
    assert (code, [f["rule_id"] for f in findings]) == (0, [])


def test_a_new_validating_webhook_on_secrets_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, findings = _run(make_repo, capsys, {"k8s/ns.yaml": NAMESPACE}, {
        "k8s/new.yaml": WEBHOOK.replace("MutatingWebhookConfiguration",
                                        "ValidatingWebhookConfiguration")})
    assert code == 1
    [found] = [f for f in findings if f["rule_id"] == "NHI106"]
    assert found["message"].startswith(
        "ValidatingWebhookConfiguration/label-injector: webhook `labels.example.com` receives "
        "CREATE, UPDATE of core/secrets at https://hooks.example.net/mutate;")


def test_scan_reports_no_mutator(tmp_path: Any, capsys: Any) -> None:
    """`scan` has no change: a PushSecret or mutating webhook is its normal shape."""
    (tmp_path / "push.yaml").write_text(PUSH + "---\n" + WEBHOOK)
    code = main(["scan", str(tmp_path), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert (code, [f["rule_id"] for f in findings if f["rule_id"] == "NHI106"]) == (0, [])
