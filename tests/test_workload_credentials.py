"""Credentials a Kubernetes workload gains without a `serviceAccountName` line (session 11,
fixK): a service-account token Secret defined in an unchanged file, a `hostPath` volume of the
node's credentials, and the pod templates of OpenShift `DeploymentConfig`, KServe
`InferenceService` and unknown custom resources. Every case runs `nhi-gate check` on a real
temporary git repository: base by a person, head by an agent (or a person, where said)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import GitRepo, check_range, human_base_then

AGENT = ("Claude", "noreply@anthropic.com")
PERSON = ("Bob Builder", "bob@example.com")

RBAC = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: admin
  namespace: ops
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ops-admin
subjects:
- kind: ServiceAccount
  name: admin
  namespace: ops
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
"""
TOKEN = """\
apiVersion: v1
kind: Secret
metadata:
  name: admin-token
  namespace: ops
  annotations:
    kubernetes.io/service-account.name: admin
type: kubernetes.io/service-account-token
"""
WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: ops
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      automountServiceAccountToken: false
      containers:
      - name: web
        image: nginx:1.27
"""
ENV = """\
        env:
        - name: KUBE_TOKEN
          valueFrom:
            secretKeyRef: {name: admin-token, key: token}
"""
VOLUME = """\
        volumeMounts:
        - {name: tok, mountPath: /etc/tok}
      volumes:
      - name: tok
        secret: {secretName: admin-token}
"""


run = check_range


def change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
           files: dict[str, str], edited: dict[str, str], author: tuple[str, str] = AGENT
           ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    return human_base_then(make_repo, capsys, files, edited, author, "web: change\n\n"
                           "Requested-by: Alice Example <alice@example.com>")


def picked(findings: list[dict[str, Any]], *rules: str) -> set[tuple[str, str, int, bool]]:
    return {(f["rule_id"], f["level"], f["start_line"], f["blocking"]) for f in findings
            if f["rule_id"] in rules}


def messages(findings: list[dict[str, Any]], rule: str) -> list[str]:
    return [f["message"] for f in findings if f["rule_id"] == rule]


# 1. a token Secret (and its account's bindings) in files the change does not touch


PROJECTED = """\
        volumeMounts:
        - {name: tok, mountPath: /etc/tok}
      volumes:
      - name: tok
        projected: {sources: [{secret: {name: admin-token}}]}
"""


@pytest.mark.parametrize(("use", "line"), [(ENV, 18), (VOLUME, 19), (PROJECTED, 19)])
def test_agent_using_an_unchanged_token_secret_runs_as_its_account(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        use: str, line: int) -> None:
    code, findings = change(make_repo, capsys,
                            {"k/rbac.yaml": RBAC, "k/token.yaml": TOKEN, "k/web.yaml": WEB},
                            {"k/web.yaml": WEB + use})
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", line, True),
                                                    ("NHI302", "error", line, True)}
    [drift] = messages(findings, "NHI302")
    assert ("Deployment/ops/web now runs as ServiceAccount/ops/admin (was "
            "ServiceAccount/ops/default), granted ClusterRole/cluster-admin in every "
            "namespace") in drift
    [approval] = messages(findings, "NHI101")
    assert "uses the API token in Secret `admin-token` (ServiceAccount/ops/admin)" in approval
    # the unchanged files are read, not judged
    assert {f["path"] for f in findings} == {"k/web.yaml"}


def test_token_secret_in_one_unchanged_file_bindings_in_another(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys,
                            {"k/rbac.yaml": RBAC, "k/token.yaml": TOKEN,
                             "other/unrelated.yaml": "apiVersion: v1\nkind: ConfigMap\n"
                             "metadata: {name: x}\n", "k/web.yaml": WEB},
                            {"k/web.yaml": WEB + ENV})
    assert code == 1
    [drift] = messages(findings, "NHI302")
    assert "cluster-admin" in drift


def test_a_person_using_an_unchanged_token_secret_is_a_warning(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys,
                            {"k/all.yaml": RBAC + "---\n" + TOKEN, "k/web.yaml": WEB},
                            {"k/web.yaml": WEB + ENV}, author=PERSON)
    assert code == 0
    assert picked(findings, "NHI101", "NHI302") == {("NHI302", "warning", 18, False)}


def test_an_unchanged_opaque_secret_is_no_account_switch(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    opaque = TOKEN.replace("kubernetes.io/service-account-token", "Opaque")
    code, findings = change(make_repo, capsys,
                            {"k/all.yaml": RBAC + "---\n" + opaque, "k/web.yaml": WEB},
                            {"k/web.yaml": WEB + ENV})
    assert code == 0
    assert picked(findings, "NHI101", "NHI302") == set()


# 2. hostPath volumes of the node's credentials

HOST = """\
        volumeMounts:
        - {name: kube, mountPath: /kube, readOnly: true}
      volumes:
      - name: kube
        hostPath: {path: PATH}
"""


@pytest.mark.parametrize("path", ["/etc/kubernetes", "/etc/kubernetes/pki/", "/var/lib/kubelet",
                                  "/root/.kube", "/var/run/secrets/kubernetes.io",
                                  "/run/containerd/containerd.sock", "/var/run/docker.sock",
                                  "/etc", "/"])
def test_agent_mounting_node_credentials_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        path: str) -> None:
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB},
                            {"k/web.yaml": WEB + HOST.replace("PATH", path)})
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", 19, True),
                                                    ("NHI302", "error", 19, True)}
    [drift] = messages(findings, "NHI302")
    assert f"Deployment/ops/web gains node credentials via hostPath {path}" in drift
    [approval] = messages(findings, "NHI101")
    assert f"gains node credentials via hostPath {path}" in approval


def test_agent_creating_a_workload_with_node_credentials_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys, {"README.md": "x\n"},
                            {"k/web.yaml": WEB + HOST.replace("PATH", "/etc/kubernetes")})
    assert code == 1
    [approval] = [f for f in findings if f["rule_id"] == "NHI101"]
    assert approval["blocking"] and approval["start_line"] == 19
    assert "gains node credentials via hostPath /etc/kubernetes" in approval["message"]


def test_a_person_mounting_node_credentials_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB},
                            {"k/web.yaml": WEB + HOST.replace("PATH", "/etc/kubernetes")},
                            author=PERSON)
    assert code == 0
    assert picked(findings, "NHI101", "NHI302") == {("NHI302", "note", 19, False)}


@pytest.mark.parametrize("path", ["/var/log", "/data/cache", "/etc/ssl/certs"])
def test_other_host_paths_are_no_credential(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        path: str) -> None:
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB},
                            {"k/web.yaml": WEB + HOST.replace("PATH", path)})
    assert (code, picked(findings, "NHI101", "NHI302")) == (0, set())


def test_removing_a_node_credential_mount_is_a_narrowing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys,
                            {"k/web.yaml": WEB + HOST.replace("PATH", "/etc/kubernetes")},
                            {"k/web.yaml": WEB})
    assert code == 0
    assert [(f["rule_id"], f["level"]) for f in findings] == [("NHI302", "note")]
    assert "no longer mounts node credentials (hostPath /etc/kubernetes" in findings[0][
        "message"]


# 3. pod templates of more controllers, and of unknown custom resources

ACCOUNTS = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: app}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ops, namespace: app}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-admin}
subjects: [{kind: ServiceAccount, name: ops, namespace: app}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
"""
KINDS = {
    "DeploymentConfig": ("""\
apiVersion: apps.openshift.io/v1
kind: DeploymentConfig
metadata: {name: web, namespace: app}
spec:
  replicas: 1
  selector: {app: web}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: nginx}]
""", 10),
    "InferenceService": ("""\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: web, namespace: app}
spec:
  predictor:
    serviceAccountName: web
    model:
      modelFormat: {name: sklearn}
      storageUri: s3://models/web
""", 6),
    "unknown pod template": ("""\
apiVersion: example.com/v1
kind: Runner
metadata: {name: web, namespace: app}
spec:
  template:
    spec:
      serviceAccountName: web
      containers: [{name: web, image: nginx}]
""", 7),
    "unknown component": ("""\
apiVersion: example.com/v1
kind: Pipeline
metadata: {name: web, namespace: app}
spec:
  worker:
    replicas: 2
    serviceAccountName: web
""", 7),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_agent_switching_more_pod_templates_to_an_admin_account_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        kind: str) -> None:
    text, line = KINDS[kind]
    code, findings = change(make_repo, capsys, {"k/rbac.yaml": ACCOUNTS, "k/wl.yaml": text},
                            {"k/wl.yaml": text.replace("serviceAccountName: web",
                                                       "serviceAccountName: ops")})
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", line, True),
                                                    ("NHI302", "error", line, True)}
    [drift] = messages(findings, "NHI302")
    assert "now runs as ServiceAccount/app/ops (was ServiceAccount/app/web)" in drift
    assert "cluster-admin" in drift


def test_an_unknown_resource_without_a_pod_template_is_no_workload(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = ("apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t, namespace: app}\n"
            "spec:\n  template: {size: SIZE}\n  owner: {name: web}\n")
    code, findings = change(make_repo, capsys, {"k/t.yaml": text.replace("SIZE", "1")},
                            {"k/t.yaml": text.replace("SIZE", "2")})
    assert (code, findings) == (0, [])


TF_DEPLOYMENT = """\
resource "kubernetes_deployment" "web" {
  metadata {
    name      = "web"
    namespace = "ops"
  }
  spec {
    template {
      spec {
        automount_service_account_token = false
        container {
          name  = "web"
          image = "nginx:1.27"
        }
VOLUME      }
    }
  }
}
"""
TF_HOST = """\
        volume {
          name = "kube"
          host_path {
            path = "/etc/kubernetes"
          }
        }
"""


def test_agent_mounting_node_credentials_in_terraform_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys, {"main.tf": TF_DEPLOYMENT.replace("VOLUME", "")},
                            {"main.tf": TF_DEPLOYMENT.replace("VOLUME", TF_HOST)})
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", 16, True),
                                                    ("NHI302", "error", 16, True)}
    [drift] = messages(findings, "NHI302")
    assert ("kubernetes_deployment.web gains node credentials via hostPath /etc/kubernetes "
            "(volume `kube`)") in drift


@pytest.mark.parametrize(("text", "address", "line"), [
    (KINDS["InferenceService"][0] + "  transformer:\n    serviceAccountName: web\n"
     "    containers: [{name: t, image: nginx}]\n", "InferenceService/app/web:transformer", 11),
    (KINDS["unknown component"][0] + "  driver:\n    serviceAccountName: web\n",
     "Pipeline/app/web:driver", 9),
])
def test_agent_switching_a_second_component_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        text: str, address: str, line: int) -> None:
    lines = text.splitlines(keepends=True)
    lines[line - 1] = lines[line - 1].replace("web", "ops")
    code, findings = change(make_repo, capsys, {"k/rbac.yaml": ACCOUNTS, "k/wl.yaml": text},
                            {"k/wl.yaml": "".join(lines)})
    assert code == 1
    [drift] = [f for f in findings if f["rule_id"] == "NHI302"]
    assert (drift["address"], drift["start_line"], drift["blocking"]) == (address, line, True)
    assert f"{address} now runs as ServiceAccount/app/ops" in drift["message"]
