"""Root on the node from a pod spec (session 12, fixK8S): a `hostPath` volume of a
distribution's credential folder (MicroK8s, GKE, k0s, RKE2, etcd), however the path is spelt,
and the pod-spec settings that escape to the node (`privileged`, `hostPID`, `hostIPC`,
`hostNetwork`, `SYS_ADMIN`/`ALL` capabilities, Windows `hostProcess`). Every case runs
`nhi-gate check` on a real temporary git repository: base by a person, head by an agent (or a
person, where said)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import GitRepo, human_base_then

AGENT = ("Claude", "noreply@anthropic.com")
PERSON = ("Bob Builder", "bob@example.com")

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      automountServiceAccountToken: false
      containers:
      - name: web
        image: nginx:1.27
"""
HOST = """\
        volumeMounts: [{name: h, mountPath: /h}]
      volumes:
      - name: h
        hostPath: {path: 'PATH'}
"""


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


# 1. hostPath folders of distributions' node credentials, and paths spelt another way

@pytest.mark.parametrize("path", [
    "/var/snap/microk8s/current/credentials", "/var/snap/microk8s/current/credentials/",
    "/home/kubernetes", "/var/lib/k0s/pki", "/etc/rancher/rke2", "/var/lib/rancher/rke2",
    "/var/lib/etcd", "/srv/kubernetes", "/var/lib/minikube/certs", "/var/run/secrets",
    "//etc//kubernetes//", "/opt/../etc/kubernetes/pki/.", "/var/lib/kube-proxy", "/home"])
def test_agent_mounting_a_distribution_credential_folder_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        path: str) -> None:
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB},
                            {"k/web.yaml": WEB + HOST.replace("PATH", path)})
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", 19, True),
                                                    ("NHI302", "error", 19, True)}
    [drift] = messages(findings, "NHI302")
    assert f"Deployment/apps/web gains node credentials via hostPath {path}" in drift


def test_a_person_mounting_microk8s_credentials_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB}, {"k/web.yaml": WEB + HOST
                            .replace("PATH", "/var/snap/microk8s/current/credentials")},
                            author=PERSON)
    assert (code, picked(findings, "NHI101", "NHI302")) == (0, {("NHI302", "note", 19, False)})


@pytest.mark.parametrize("path", ["/var/snap/lxd/common/lxd/logs", "/home/app-data",
                                  "/var/lib/app", "/srv/www", "/var/log"])
def test_other_host_folders_are_no_credential(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        path: str) -> None:
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB},
                            {"k/web.yaml": WEB + HOST.replace("PATH", path)})
    assert (code, picked(findings, "NHI101", "NHI302")) == (0, set())


# 2. pod-spec settings that escape to the node (Pod Security Standards "baseline" forbids them)

def _spec(pod: str = "", container: str = "") -> str:
    """WEB with `pod` lines after the pod spec's first key and `container` lines in its
    container."""
    text = WEB.replace("      automountServiceAccountToken: false\n",
                       "      automountServiceAccountToken: false\n" + pod)
    return text + container


@pytest.mark.parametrize(("pod", "container", "line", "said"), [
    ("      hostPID: true\n", "", 13, "`hostPID: true`"),
    ("      hostNetwork: true\n", "", 13, "`hostNetwork: true`"),
    ("      hostIPC: true\n", "", 13, "`hostIPC: true`"),
    ("", "        securityContext: {privileged: true}\n", 16,
     "`securityContext.privileged: true` (container `web`)"),
    ("", "        securityContext:\n          capabilities: {add: [NET_BIND_SERVICE, SYS_ADMIN]}\n",
     17, "`securityContext.capabilities.add: SYS_ADMIN` (container `web`)"),
    ("", "        securityContext:\n          capabilities:\n            add: [\"ALL\"]\n", 18,
     "`securityContext.capabilities.add: ALL` (container `web`)"),
    ("      securityContext:\n        windowsOptions: {hostProcess: true}\n", "", 14,
     "`securityContext.windowsOptions.hostProcess: true`"),
])
def test_agent_making_a_workload_reach_the_node_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        pod: str, container: str, line: int, said: str) -> None:
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB},
                            {"k/web.yaml": _spec(pod, container)})
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", line, True),
                                                    ("NHI302", "error", line, True)}
    [drift] = messages(findings, "NHI302")
    assert drift.startswith(f"Deployment/apps/web gains the node through {said}"), drift
    [approval] = messages(findings, "NHI101")
    assert f"gains the node through {said}" in approval
    assert "credential of the node" in approval


def test_the_attack_pass_case_names_each_setting(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """hostPID, hostNetwork and a privileged container in one change: three NHI302s."""
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB}, {"k/web.yaml": _spec(
        "      hostPID: true\n      hostNetwork: true\n",
        "        securityContext: {privileged: true}\n")})
    assert code == 1
    assert picked(findings, "NHI302") == {("NHI302", "error", 13, True),
                                          ("NHI302", "error", 14, True),
                                          ("NHI302", "error", 18, True)}


def test_a_new_privileged_workload_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys, {"README.md": "x\n"},
                            {"k/web.yaml": _spec("      hostPID: true\n")})
    assert code == 1
    [approval] = [f for f in findings if f["rule_id"] == "NHI101"]
    assert (approval["blocking"], approval["start_line"]) == (True, 13)
    assert "gains the node through `hostPID: true`" in approval["message"]


def test_a_person_making_a_workload_privileged_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB},
                            {"k/web.yaml": _spec("      hostPID: true\n")}, author=PERSON)
    assert (code, picked(findings, "NHI101", "NHI302")) == (0, {("NHI302", "note", 13, False)})


@pytest.mark.parametrize(("pod", "container"), [
    ("      hostPID: false\n      hostNetwork: false\n", "        securityContext: "
     "{privileged: false, capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}}\n"),
    ("      securityContext: {runAsNonRoot: true}\n", ""),
])
def test_harmless_security_settings_are_no_node_access(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        pod: str, container: str) -> None:
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB},
                            {"k/web.yaml": _spec(pod, container)})
    assert (code, picked(findings, "NHI101", "NHI302")) == (0, set())


def test_dropping_privileged_is_a_narrowing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys,
                            {"k/web.yaml": _spec("", "        securityContext: "
                                                     "{privileged: true}\n")},
                            {"k/web.yaml": WEB})
    assert code == 0
    assert [(f["rule_id"], f["level"]) for f in findings] == [("NHI302", "note")]
    assert "no longer reaches the node through `securityContext.privileged: true`" in findings[
        0]["message"]


# 3. node credentials through a PersistentVolume, its claim and the pod's volume

CLAIMED = """\
        volumeMounts: [{name: cache, mountPath: /cache}]
      volumes:
      - name: cache
        persistentVolumeClaim: {claimName: web-cache}
"""
PV = """\
apiVersion: v1
kind: PersistentVolume
metadata: {name: web-cache}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  SOURCE
  CLAIMREF
"""
PVC = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: web-cache, namespace: apps}
spec:
  storageClassName: manual
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  VOLUMENAME
"""
HOST_PV = "hostPath: {path: /var/lib/kubelet}"
LOCAL_PV = "local: {path: /etc/kubernetes}"
CLAIM_REF = "claimRef: {namespace: apps, name: web-cache}"


def _volume(source: str = HOST_PV, claim_ref: bool = True, volume_name: bool = True) -> str:
    return (PV.replace("SOURCE", source).replace("CLAIMREF", CLAIM_REF if claim_ref else "")
            + "---\n" + PVC.replace("VOLUMENAME", "volumeName: web-cache" if volume_name
                                    else ""))


@pytest.mark.parametrize(("source", "claim_ref", "volume_name", "path"), [
    (HOST_PV, True, True, "/var/lib/kubelet"),
    (LOCAL_PV, True, True, "/etc/kubernetes"),
    (HOST_PV, False, True, "/var/lib/kubelet"),  # bound by the claim's volumeName alone
    (HOST_PV, True, False, "/var/lib/kubelet"),  # bound by the volume's claimRef alone
])
def test_agent_mounting_node_credentials_through_a_claim_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        source: str, claim_ref: bool, volume_name: bool, path: str) -> None:
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB}, {
        "k/web.yaml": WEB + CLAIMED, "k/pv.yaml": _volume(source, claim_ref, volume_name)})
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") >= {("NHI101", "error", 19, True),
                                                    ("NHI302", "error", 19, True)}
    drift = [m for m in messages(findings, "NHI302") if m.startswith("Deployment/")]
    assert drift == [f"Deployment/apps/web gains node credentials via PersistentVolume "
                     f"web-cache ({path}), claimed by volume `cache` (PersistentVolumeClaim "
                     "apps/web-cache): the node's kubeconfigs, certificates or container "
                     "runtime socket, which act for the node or the cluster"]


def test_claim_of_an_unchanged_node_credential_volume_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The volume and its claim were there at base (a person's): the agent only mounts it."""
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB, "k/pv.yaml": _volume()},
                            {"k/web.yaml": WEB + CLAIMED})
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", 19, True),
                                                    ("NHI302", "error", 19, True)}


def test_a_person_claiming_a_node_credential_volume_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB, "k/pv.yaml": _volume()},
                            {"k/web.yaml": WEB + CLAIMED}, author=PERSON)
    assert (code, picked(findings, "NHI101", "NHI302")) == (0, {("NHI302", "note", 19, False)})


def test_claim_of_an_ordinary_volume_is_no_node_access(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB}, {
        "k/web.yaml": WEB + CLAIMED, "k/pv.yaml": _volume("hostPath: {path: /data/cache}")})
    assert (code, picked(findings, "NHI101", "NHI302")) == (0, set())


def test_claim_in_another_namespace_is_not_this_volume(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    other = _volume().replace("namespace: apps", "namespace: other")
    code, findings = change(make_repo, capsys, {"k/web.yaml": WEB, "k/pv.yaml": other},
                            {"k/web.yaml": WEB + CLAIMED})
    assert (code, picked(findings, "NHI101", "NHI302")) == (0, set())


TF_DEPLOYMENT = """\
resource "kubernetes_deployment" "web" {
  metadata {
    name      = "web"
    namespace = "apps"
  }
  spec {
    template {
      spec {
        automount_service_account_token = false
POD        container {
          name  = "web"
          image = "nginx:1.27"
CONTAINER        }
      }
    }
  }
}
"""


@pytest.mark.parametrize(("pod", "container", "line", "said"), [
    ("        host_pid = true\n", "", 10, "`hostPID: true`"),
    ("", "          security_context {\n            privileged = true\n          }\n", 14,
     "`securityContext.privileged: true` (container `web`)"),
])
def test_agent_making_a_terraform_workload_reach_the_node_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        pod: str, container: str, line: int, said: str) -> None:
    code, findings = change(
        make_repo, capsys, {"main.tf": TF_DEPLOYMENT.replace("POD", "").replace("CONTAINER", "")},
        {"main.tf": TF_DEPLOYMENT.replace("POD", pod).replace("CONTAINER", container)})
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", line, True),
                                                    ("NHI302", "error", line, True)}
    [drift] = messages(findings, "NHI302")
    assert drift.startswith(f"kubernetes_deployment.web gains the node through {said}"), drift


@pytest.mark.parametrize(("author", "level"), [(AGENT, "error"), (PERSON, "note")])
def test_volume_pointed_at_node_credentials_is_judged_on_the_volume(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], level: str) -> None:
    """The pod already claims the volume (unchanged): the change points the volume at the
    kubelet's folder, so the finding is on the volume."""
    code, findings = change(make_repo, capsys, {
        "k/web.yaml": WEB + CLAIMED, "k/pv.yaml": _volume("hostPath: {path: /data/cache}")},
        {"k/pv.yaml": _volume()}, author=author)
    assert code == (1 if level == "error" else 0)
    assert [(f["rule_id"], f["path"], f["start_line"], f["level"]) for f in findings
            if f["rule_id"] == "NHI302"] == [("NHI302", "k/pv.yaml", 8, level)]
    assert messages(findings, "NHI302") == [
        "PersistentVolume/web-cache is a volume of node credentials (/var/lib/kubelet): every "
        "pod that claims it gets the node's kubeconfigs, certificates or container runtime "
        "socket, which act for the node or the cluster"]
