"""Account switches a workload's `serviceAccountName` line does not show (issue 13, attack
report A5/A6/A7): a namespace move (plain or through a kustomize overlay's `namespace:`), a
pod using another account's token Secret, and the pod-template kinds of common controllers
beyond the eight core ones. Every case runs `nhi-gate check` on a real temporary git
repository: base by a person, head by an agent (or a person, where said)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_range, human_base_then

from checker.sources.render.kustomize import find_kustomize

AGENT = ("Claude", "noreply@anthropic.com")
PERSON = ("Bob Builder", "bob@example.com")

ADMIN_BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: controller-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: controller, namespace: platform}]
"""


def deployment(namespace: str) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {namespace}}}
spec:
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      serviceAccountName: controller
      containers: [{{name: c, image: nginx}}]
"""


run = check_range


def change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
           files: dict[str, str], edited: dict[str, str], author: tuple[str, str] = AGENT
           ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    return human_base_then(make_repo, capsys, files, edited, author, "move web\n\n"
                           "Requested-by: Alice Example <alice@example.com>")


def picked(findings: list[dict[str, Any]], *rules: str) -> set[tuple[str, str, bool]]:
    return {(f["rule_id"], f["level"], f["blocking"]) for f in findings
            if f["rule_id"] in rules}


def messages(findings: list[dict[str, Any]], rule: str) -> list[str]:
    return [f["message"] for f in findings if f["rule_id"] == rule]


# A5: a namespace move is an account switch


def test_agent_moving_a_workload_to_another_namespace_switches_its_account(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys,
                            {"k/d.yaml": deployment("team"), "k/rbac.yaml": ADMIN_BINDING},
                            {"k/d.yaml": deployment("platform")})
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", True),
                                                    ("NHI302", "error", True)}
    [drift] = messages(findings, "NHI302")
    assert ("Deployment/platform/web now runs as ServiceAccount/platform/controller (was "
            "ServiceAccount/team/controller)") in drift
    assert {f["start_line"] for f in findings if f["rule_id"] == "NHI101"} == {3}


def test_namespace_move_onto_a_cluster_admin_account_names_it(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    # the binding is in the change: what the new account may do is shown
    code, findings = change(make_repo, capsys, {"k/d.yaml": deployment("team")},
                            {"k/d.yaml": deployment("platform") + "---\n" + ADMIN_BINDING})
    assert code == 1
    [drift] = messages(findings, "NHI302")
    assert "cluster-admin" in drift and "ServiceAccount/platform/controller" in drift


def test_a_person_moving_a_workload_is_a_warning(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys, {"k/d.yaml": deployment("team")},
                            {"k/d.yaml": deployment("platform")}, author=PERSON)
    assert code == 0
    assert picked(findings, "NHI101", "NHI302") == {("NHI302", "warning", False)}


def test_a_new_workload_next_to_the_old_one_is_no_move(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    # the team copy stays at head: the platform copy is a new workload, not a moved one
    code, findings = change(make_repo, capsys, {"k/d.yaml": deployment("team")},
                            {"k/d.yaml": deployment("team") + "---\n" + deployment("platform")},
                            author=PERSON)
    assert code == 0
    assert picked(findings, "NHI302") == set()


@pytest.mark.skipif(find_kustomize() is None, reason="neither kustomize nor kubectl is installed")
def test_agent_changing_an_overlays_namespace_switches_the_account(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    overlay = "resources: [../k/d.yaml]\nnamespace: {}\n"
    code, findings = change(
        make_repo, capsys,
        {"k/d.yaml": deployment("team"), "ov/kustomization.yaml": overlay.format("team")},
        {"ov/kustomization.yaml": overlay.format("platform")})
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", True),
                                                    ("NHI302", "error", True)}
    [drift] = messages(findings, "NHI302")
    assert ("ov/kustomization.yaml:Deployment/platform/web now runs as "
            "ov/kustomization.yaml:ServiceAccount/platform/controller (was "
            "ov/kustomization.yaml:ServiceAccount/team/controller)") in drift


# A7: pod templates of common controllers beyond the eight core kinds

OPS = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: ops, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: ops, namespace: default}]
"""


def templated(api: str, kind: str, account: str = "app", opt_out: bool = True) -> str:
    off = "      automountServiceAccountToken: false\n" if opt_out else ""
    return (f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: ro, namespace: default}}\n"
            "spec:\n  selector: {matchLabels: {app: ro}}\n  template:\n"
            "    metadata: {labels: {app: ro}}\n    spec:\n"
            f"      serviceAccountName: {account}\n{off}"
            "      containers: [{name: c, image: nginx}]\n")


CONTROLLERS = [("argoproj.io/v1alpha1", "Rollout"), ("apps.kruise.io/v1alpha1", "CloneSet"),
               ("serving.knative.dev/v1", "Service"), ("serving.knative.dev/v1", "Configuration"),
               ("apps.kruise.io/v1beta1", "StatefulSet")]


@pytest.mark.parametrize(("api", "kind"), CONTROLLERS)
def test_agent_switching_a_controllers_pod_template_to_an_admin_account_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        api: str, kind: str) -> None:
    code, findings = change(make_repo, capsys,
                            {"k/ro.yaml": templated(api, kind), "k/rbac.yaml": OPS},
                            {"k/ro.yaml": templated(api, kind, account="ops"),
                             "k/rbac.yaml": OPS + "# reviewed\n"})
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", True),
                                                    ("NHI302", "error", True)}
    [drift] = messages(findings, "NHI302")
    assert f"{kind}/default/ro now runs as ServiceAccount/default/ops" in drift
    assert "cluster-admin" in drift
    assert {f["start_line"] for f in findings if f["rule_id"] == "NHI302"} == {9}


def test_agent_removing_a_rollouts_automount_opt_out_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    api = "argoproj.io/v1alpha1"
    code, findings = change(make_repo, capsys, {"k/ro.yaml": templated(api, "Rollout")},
                            {"k/ro.yaml": templated(api, "Rollout", opt_out=False)})
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", True),
                                                    ("NHI302", "error", True)}
    [drift] = messages(findings, "NHI302")
    assert "Rollout/default/ro mounts the API token of ServiceAccount/default/app" in drift


def test_a_core_service_is_no_workload(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    service = ("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n"
               "spec:\n  selector: {app: web}\n  ports: [{port: PORT}]\n")
    code, findings = change(make_repo, capsys, {"k/s.yaml": service.replace("PORT", "80")},
                            {"k/s.yaml": service.replace("PORT", "8080")})
    assert (code, findings) == (0, [])


# A6: a pod that uses another account's token Secret runs as that account

TOKEN = """\
apiVersion: v1
kind: Secret
metadata:
  name: ops-token
  namespace: default
  annotations: {kubernetes.io/service-account.name: ops}
type: kubernetes.io/service-account-token
"""

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: app
      automountServiceAccountToken: false
"""

PLAIN = WEB + "      containers: [{name: c, image: nginx}]\n"

#: How a pod can use the token Secret: (containers and volumes, line of the Secret's name).
USES = {
    "volume at the token path": ("""\
      containers:
      - name: c
        image: nginx
        volumeMounts: [{name: t, mountPath: /var/run/secrets/kubernetes.io/serviceaccount}]
      volumes:
      - name: t
        secret: {secretName: ops-token}
""", 17),
    "secretKeyRef": ("""\
      containers:
      - name: c
        image: nginx
        env:
        - name: KUBE_TOKEN
          valueFrom: {secretKeyRef: {name: ops-token, key: token}}
""", 16),
    "envFrom": ("""\
      containers:
      - name: c
        image: nginx
        envFrom: [{secretRef: {name: ops-token}}]
""", 14),
    "projected secret": ("""\
      containers:
      - name: c
        image: nginx
        volumeMounts: [{name: p, mountPath: /etc/kube}]
      volumes:
      - name: p
        projected: {sources: [{secret: {name: ops-token}}]}
""", 17),
}


@pytest.mark.parametrize("use", sorted(USES))
def test_agent_giving_a_pod_another_accounts_token_secret_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], use: str) -> None:
    pod, line = USES[use]
    # the token Secret is in the change (an agent edits it in the same commit)
    code, findings = change(make_repo, capsys, {"k/d.yaml": PLAIN, "k/tok.yaml": TOKEN},
                            {"k/d.yaml": WEB + pod, "k/tok.yaml": TOKEN + "data: {}\n"})
    assert code == 1
    drift = [f for f in findings if f["rule_id"] == "NHI302"]
    assert [(f["level"], f["start_line"]) for f in drift] == [("error", line)]
    assert ("Deployment/default/web now runs as ServiceAccount/default/ops (was "
            "ServiceAccount/default/app)") in drift[0]["message"]
    [approval] = [f for f in findings if f["rule_id"] == "NHI101"
                  and f["address"] == "Deployment/default/web"]
    assert approval["blocking"] and approval["start_line"] == line
    assert "Secret `ops-token` (ServiceAccount/default/ops)" in approval["message"]


def test_token_secret_outside_the_change_mounted_at_the_token_path_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    # attack-wl1's shape: the Secret was added by a person before; the agent only mounts it
    repo = make_repo()
    repo.commit({"k/d.yaml": PLAIN, "k/rbac.yaml": OPS}, author=HUMAN)
    base = repo.commit({"k/tok.yaml": TOKEN}, author=HUMAN)
    head = repo.commit({"k/d.yaml": WEB + USES["volume at the token path"][0]}, author=AGENT,
                       message="mount\n\nRequested-by: Alice Example <alice@example.com>")
    code, findings = run(repo, base, head, capsys)
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", True),
                                                    ("NHI302", "error", True)}
    [drift] = messages(findings, "NHI302")
    # the unchanged Secret and bindings are read (commands/workload_context.py)
    assert "now runs as ServiceAccount/default/ops (was ServiceAccount/default/app)" in drift
    assert "cluster-admin" in drift


def test_token_path_secret_the_repository_does_not_define_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys, {"k/d.yaml": PLAIN},
                            {"k/d.yaml": WEB + USES["volume at the token path"][0]})
    assert code == 1
    [drift] = messages(findings, "NHI302")
    assert "now runs as the account of Secret default/ops-token" in drift


def test_an_ordinary_secret_is_no_account_switch(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    opaque = TOKEN.replace("kubernetes.io/service-account-token", "Opaque")
    pod = USES["secretKeyRef"][0]
    _, findings = change(make_repo, capsys, {"k/d.yaml": PLAIN, "k/tok.yaml": opaque},
                            {"k/d.yaml": WEB + pod, "k/tok.yaml": opaque + "data: {}\n"})
    assert picked(findings, "NHI302") == set()
    assert not [f for f in findings if f["rule_id"] == "NHI101"
                and f["address"] == "Deployment/default/web"]


def test_a_person_mounting_a_token_secret_is_a_warning(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys, {"k/d.yaml": PLAIN, "k/tok.yaml": TOKEN},
                            {"k/d.yaml": WEB + USES["envFrom"][0],
                             "k/tok.yaml": TOKEN + "data: {}\n"}, author=PERSON)
    assert code == 0
    assert picked(findings, "NHI101", "NHI302") == {("NHI302", "warning", False)}
