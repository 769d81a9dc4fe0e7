"""Workload identity changes (issue 13): an agent that re-enables a service-account token,
adds a projected token or switches a workload to a wider account is blocked (NHI302 error and
NHI101); a person's same change is a warning and exits 0; taking a token away is a note.
Every case runs `nhi-gate check` on a real temporary git repository."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from conftest import GitRepo, check_range, human_base_then

from checker.cli import main
from checker.model import PROJECTED_TOKEN, SourceFile
from checker.parsers import kubernetes
from checker.policy.catalogue import load_catalogue

AGENT = ("Claude", "noreply@anthropic.com")
PERSON = ("Bob Builder", "bob@example.com")

POD_SPEC = """\
serviceAccountName: web
automountServiceAccountToken: false
containers:
  - name: web
    image: nginx:1.27
"""

#: The eight workload kinds: the object around a pod spec, `{spec}` indented in place.
KINDS = {
    "Pod": "spec:\n{spec:2}",
    "Deployment": "spec:\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n"
                  "    metadata: {{labels: {{app: web}}}}\n    spec:\n{spec:6}",
    "StatefulSet": "spec:\n  serviceName: web\n  template:\n    spec:\n{spec:6}",
    "DaemonSet": "spec:\n  template:\n    spec:\n{spec:6}",
    "ReplicaSet": "spec:\n  replicas: 2\n  template:\n    spec:\n{spec:6}",
    "ReplicationController": "spec:\n  template:\n    spec:\n{spec:6}",
    "Job": "spec:\n  template:\n    spec:\n{spec:6}",
    "CronJob": "spec:\n  schedule: '0 3 * * *'\n  jobTemplate:\n    spec:\n      template:\n"
               "        spec:\n{spec:10}",
}
API = {"Pod": "v1", "ReplicationController": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}


def workload(kind: str, spec: str = POD_SPEC) -> str:
    body = KINDS[kind]
    for width in (2, 6, 10):
        body = body.replace(f"{{spec:{width}}}", textwrap.indent(spec, " " * width).rstrip("\n"))
    body = body.replace("{{", "{").replace("}}", "}")
    return (f"apiVersion: {API.get(kind, 'apps/v1')}\nkind: {kind}\n"
            f"metadata:\n  name: web\n  namespace: shop\n{body}\n")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


run = check_range


def picked(findings: list[dict[str, Any]], *rules: str) -> set[tuple[str, str, int, bool]]:
    return {(f["rule_id"], f["level"], f["start_line"], f["blocking"]) for f in findings
            if f["rule_id"] in rules}


def change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
           files: dict[str, str], edited: dict[str, str], author: tuple[str, str],
           name: str = "repo") -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    return human_base_then(make_repo, capsys, files, edited, author, "deploy web\n\n"
                           "Requested-by: Alice Example <alice@example.com>", name)


# --------------------------------------------------------------------------- parser


def test_projected_tokens_are_recorded_with_audience_and_expiry() -> None:
    spec = POD_SPEC + textwrap.dedent("""\
        volumes:
          - name: vault-token
            projected:
              sources:
                - serviceAccountToken: {audience: vault, expirationSeconds: 600, path: t}
                - configMap: {name: ca}
          - name: api
            projected:
              sources:
                - serviceAccountToken:
                    path: token
        """)
    text = workload("Deployment", spec)
    (obj,) = kubernetes.parse(SourceFile("k8s/web.yaml", text.encode()), load_catalogue()).objects
    assert obj.secret_sinks == (f"{PROJECTED_TOKEN}vault-token|vault|600",
                                f"{PROJECTED_TOKEN}api|(the API server)|3600")
    assert obj.attribute_lines["projectedToken.vault-token"] == line_of(text, "audience: vault")
    assert obj.attribute_lines["projectedToken.api"] == line_of(text, "path: token") - 1


# --------------------------------------------------------------------------- token re-enabled


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_agent_removing_the_automount_opt_out_blocks(
        kind: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    text = workload(kind)
    edited = text.replace("Token: false", "Token: true")
    code, findings = change(make_repo, capsys, {"k8s/web.yaml": text}, {"k8s/web.yaml": edited},
                            AGENT)
    line = line_of(edited, "automountServiceAccountToken: true")
    assert code == 1
    assert picked(findings, "NHI101", "NHI302") == {("NHI101", "error", line, True),
                                                    ("NHI302", "error", line, True)}
    (drift,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert drift["message"] == (
        f"{kind}/shop/web mounts the API token of ServiceAccount/shop/web into every container "
        "again (`automountServiceAccountToken: false` changed to true)")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_person_removing_the_automount_opt_out_is_a_warning(
        kind: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    text = workload(kind)
    edited = "".join(line for line in text.splitlines(keepends=True)
                     if "automountServiceAccountToken" not in line)
    code, findings = change(make_repo, capsys, {"k8s/web.yaml": text}, {"k8s/web.yaml": edited},
                            PERSON)
    assert code == 0  # no line added: on the pod spec's `spec:` line
    assert picked(findings, "NHI101", "NHI302") == {
        ("NHI302", "warning", line_of(text, "serviceAccountName") - 1, False)}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_adding_the_automount_opt_out_is_a_narrowing_note(
        kind: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    opted_out = workload(kind)
    text = opted_out.replace("Token: false", "Token: true")
    code, findings = change(make_repo, capsys, {"k8s/web.yaml": text},
                            {"k8s/web.yaml": opted_out}, AGENT)
    assert code == 0
    assert picked(findings, "NHI101", "NHI302", "NHI322") == {
        ("NHI302", "note", line_of(opted_out, "automountServiceAccountToken"), False)}


SERVICE_ACCOUNT = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: shop
  labels: {owner: shop-team, ticket: OPS-1}
automountServiceAccountToken: false
"""


@pytest.mark.parametrize(("author", "code", "level"), [(AGENT, 1, "error"),
                                                       (PERSON, 0, "warning")])
def test_removing_a_service_accounts_opt_out(
        author: tuple[str, str], code: int, level: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    edited = SERVICE_ACCOUNT.replace("automountServiceAccountToken: false\n", "")
    got, findings = change(make_repo, capsys, {"k8s/sa.yaml": SERVICE_ACCOUNT},
                           {"k8s/sa.yaml": edited}, author)
    assert got == code
    drift = [f for f in findings if f["rule_id"] == "NHI302"]
    assert [(f["level"], f["blocking"], f["message"]) for f in drift] == [
        (level, author == AGENT, "ServiceAccount/shop/web mounts its API token into every pod "
         "that uses it again (`automountServiceAccountToken: false` removed)")]


def test_adding_a_service_accounts_opt_out_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    mounted = SERVICE_ACCOUNT.replace("automountServiceAccountToken: false\n", "")
    code, findings = change(make_repo, capsys, {"k8s/sa.yaml": mounted},
                            {"k8s/sa.yaml": SERVICE_ACCOUNT}, AGENT)
    assert code == 0
    assert picked(findings, "NHI101", "NHI302", "NHI322") == {("NHI302", "note", 7, False)}


# --------------------------------------------------------------------------- projected tokens

PROJECTED = """\
volumes:
  - name: vault-token
    projected:
      sources:
        - serviceAccountToken:
            audience: vault
            expirationSeconds: 86400
            path: token
"""


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize(("author", "code", "level"), [(AGENT, 1, "error"),
                                                       (PERSON, 0, "warning")])
def test_adding_a_projected_token(
        kind: str, author: tuple[str, str], code: int, level: str,
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = workload(kind)
    edited = workload(kind, POD_SPEC + PROJECTED)
    got, findings = change(make_repo, capsys, {"k8s/web.yaml": text}, {"k8s/web.yaml": edited},
                           author)
    line = line_of(edited, "- serviceAccountToken:")
    assert got == code
    expected = {("NHI302", level, line, author == AGENT)}
    if author == AGENT:
        expected.add(("NHI101", "error", line, True))
    assert picked(findings, "NHI101", "NHI302") == expected
    drift = next(f for f in findings if f["rule_id"] == "NHI302")
    assert drift["message"] == (f"{kind}/shop/web mounts a projected service-account token in "
                                "volume `vault-token` (audience vault, expirationSeconds 86400)")


def test_removing_a_projected_token_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = workload("Deployment", POD_SPEC + PROJECTED)
    edited = workload("Deployment")
    code, findings = change(make_repo, capsys, {"k8s/web.yaml": text}, {"k8s/web.yaml": edited},
                            AGENT)
    assert code == 0
    (note,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert (note["level"], note["blocking"]) == ("note", False)
    assert "no longer mounts a projected service-account token in volume `vault-token`" in (
        note["message"])
    assert picked(findings, "NHI101") == set()


def test_an_agents_new_workload_with_a_projected_token_needs_approval(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    spec = POD_SPEC.replace("serviceAccountName: web\n", "") + PROJECTED
    text = workload("Job", spec)
    code, findings = change(make_repo, capsys, {"README.md": "# app\n"}, {"k8s/job.yaml": text},
                            AGENT)
    assert code == 1
    (nhi101,) = [f for f in findings if f["rule_id"] == "NHI101"]
    assert nhi101["start_line"] == line_of(text, "- serviceAccountToken:")
    assert "audience vault, expirationSeconds 86400" in nhi101["message"]


# --------------------------------------------------------------------------- account switch

RBAC = """\
apiVersion: v1
kind: ServiceAccount
metadata: {name: ops, namespace: shop, labels: {owner: ops, ticket: OPS-2}}
automountServiceAccountToken: false
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ops-admin, labels: {owner: ops, ticket: OPS-2}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
  - {kind: ServiceAccount, name: ops, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: shop, labels: {owner: ops, ticket: OPS-2}}
rules:
  - {apiGroups: [""], resources: [configmaps], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: web-reader, namespace: shop, labels: {owner: ops, ticket: OPS-2}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects:
  - {kind: ServiceAccount, name: web, namespace: shop}
  - {kind: ServiceAccount, name: narrow, namespace: shop}
"""


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize(("author", "code", "level"), [(AGENT, 1, "error"),
                                                       (PERSON, 0, "warning")])
def test_switching_to_a_cluster_admin_account(
        kind: str, author: tuple[str, str], code: int, level: str,
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = workload(kind)
    edited = text.replace("serviceAccountName: web", "serviceAccountName: ops")
    got, findings = change(make_repo, capsys, {"k8s/web.yaml": text, "k8s/rbac.yaml": RBAC},
                           {"k8s/web.yaml": edited, "k8s/rbac.yaml": RBAC + "\n"}, author)
    line = line_of(edited, "serviceAccountName: ops")
    assert got == code
    expected = {("NHI302", level, line, author == AGENT)}
    if author == AGENT:
        expected.add(("NHI101", "error", line, True))
    assert picked(findings, "NHI101", "NHI302") == expected
    drift = next(f for f in findings if f["rule_id"] == "NHI302")
    assert drift["message"].startswith(
        f"{kind}/shop/web now runs as ServiceAccount/shop/ops (was ServiceAccount/shop/web), "
        "which may do more: admin: ClusterRole/cluster-admin (super-user access")


def test_switching_to_a_wildcard_role_account_names_the_wildcard(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    wide = RBAC.replace("kind: ClusterRole, name: cluster-admin", "kind: ClusterRole, name: all")
    wide += textwrap.dedent("""\
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: ClusterRole
        metadata: {name: all, labels: {owner: ops, ticket: OPS-2}}
        rules:
          - {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
        """)
    text = workload("Deployment")
    edited = text.replace("serviceAccountName: web", "serviceAccountName: ops")
    code, findings = change(make_repo, capsys, {"k8s/web.yaml": text, "k8s/rbac.yaml": wide},
                            {"k8s/web.yaml": edited, "k8s/rbac.yaml": wide + "\n"}, AGENT)
    assert code == 1
    (drift,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert "which may do more: admin: ClusterRole/all: * on */*" in drift["message"]


def test_switching_to_an_unknown_account_says_what_was_not_checked(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = workload("StatefulSet")
    edited = text.replace("serviceAccountName: web", "serviceAccountName: elsewhere")
    code, findings = change(make_repo, capsys, {"k8s/web.yaml": text}, {"k8s/web.yaml": edited},
                            AGENT)
    assert code == 1
    (drift,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert drift["message"] == (
        "StatefulSet/shop/web now runs as ServiceAccount/shop/elsewhere (was "
        "ServiceAccount/shop/web): nhi-gate could not check what ServiceAccount/shop/elsewhere "
        "may do: no RoleBinding or ClusterRoleBinding in the change binds it; a human must "
        "check its privileges")
    assert (drift["level"], drift["blocking"]) == ("error", True)


def test_switching_to_an_account_with_the_same_grants_is_no_widening(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = workload("DaemonSet")
    edited = text.replace("serviceAccountName: web", "serviceAccountName: narrow")
    code, findings = change(make_repo, capsys, {"k8s/web.yaml": text, "k8s/rbac.yaml": RBAC},
                            {"k8s/web.yaml": edited, "k8s/rbac.yaml": RBAC + "\n"}, PERSON)
    assert code == 0
    assert picked(findings, "NHI101", "NHI302") == set()


# --------------------------------------------------------------------------- kubernetes_manifest

TF_DEPLOYMENT = """\
resource "kubernetes_manifest" "web" {
  manifest = {
    apiVersion = "apps/v1"
    kind       = "Deployment"
    metadata = {
      name      = "web"
      namespace = "shop"
    }
    spec = {
      template = {
        spec = {
          serviceAccountName           = "web"
          automountServiceAccountToken = false
          containers = [{ name = "web", image = "nginx:1.27" }]
        }
      }
    }
  }
}
"""


@pytest.mark.parametrize(("author", "code", "level"), [(AGENT, 1, "error"),
                                                       (PERSON, 0, "warning")])
def test_kubernetes_manifest_deployment_re_enabling_the_token(
        author: tuple[str, str], code: int, level: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    edited = TF_DEPLOYMENT.replace("automountServiceAccountToken = false",
                                   "automountServiceAccountToken = true")
    got, findings = change(make_repo, capsys, {"main.tf": TF_DEPLOYMENT}, {"main.tf": edited},
                           author)
    assert got == code
    expected = {("NHI302", level, 13, author == AGENT)}
    if author == AGENT:
        expected.add(("NHI101", "error", 13, True))
    assert picked(findings, "NHI101", "NHI302") == expected
    drift = next(f for f in findings if f["rule_id"] == "NHI302")
    assert drift["address"] == "kubernetes_manifest.web"


# --------------------------------------------------------------------------- kubernetes_* resources

TF_POD_SPEC = """\
service_account_name            = "web"
automount_service_account_token = false
container {
  name  = "web"
  image = "nginx:1.27"
}
"""
TF_PATHS = {"kubernetes_pod_v1": ("spec",),
            "kubernetes_deployment": ("spec", "template", "spec"),
            "kubernetes_daemon_set_v1": ("spec", "template", "spec"),
            "kubernetes_cron_job_v1": ("spec", "job_template", "spec", "template", "spec")}
TF_PROJECTED = """\
volume {
  name = "vault-token"
  projected {
    sources {
      service_account_token {
        audience           = "vault"
        expiration_seconds = 7200
        path               = "token"
      }
    }
  }
}
"""


def tf_workload(rtype: str, spec: str = TF_POD_SPEC) -> str:
    body = spec
    for name in reversed(TF_PATHS[rtype]):
        body = f"{name} {{\n{textwrap.indent(body, '  ')}}}\n"
    return (f'resource "{rtype}" "web" {{\n  metadata {{\n    name      = "web"\n'
            f'    namespace = "shop"\n  }}\n{textwrap.indent(body, "  ")}}}\n')


def test_terraform_workload_facet_shape() -> None:
    from checker.parsers import terraform
    text = tf_workload("kubernetes_cron_job_v1", TF_POD_SPEC + TF_PROJECTED)
    (obj,) = terraform.parse(SourceFile("main.tf", text.encode()), load_catalogue()).objects
    assert (obj.kind, obj.platform, obj.type) == ("role_binding", "kubernetes",
                                                  "kubernetes_cron_job_v1")
    assert obj.derived_from == obj.address == "kubernetes_cron_job_v1.web"
    assert obj.references == ("ServiceAccount/shop/web",)
    assert obj.secret_sinks == (f"{PROJECTED_TOKEN}vault-token|vault|7200",)
    assert obj.attribute_lines == {
        "spec": line_of(text, "        spec {"), "service_account_name": line_of(text, "service_"),
        "automount_service_account_token": line_of(text, "automount_"),
        "volume.vault-token.service_account_token": line_of(text, "service_account_token {")}


@pytest.mark.parametrize("rtype", sorted(TF_PATHS))
@pytest.mark.parametrize(("author", "code", "level"), [(AGENT, 1, "error"),
                                                       (PERSON, 0, "warning")])
def test_terraform_workload_re_enabling_the_token(
        rtype: str, author: tuple[str, str], code: int, level: str,
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = tf_workload(rtype)
    edited = text.replace("token = false", "token = true")
    got, findings = change(make_repo, capsys, {"main.tf": text}, {"main.tf": edited}, author)
    line = line_of(edited, "token = true")
    assert got == code
    expected = {("NHI302", level, line, author == AGENT)}
    if author == AGENT:
        expected.add(("NHI101", "error", line, True))
    assert picked(findings, "NHI101", "NHI302") == expected


@pytest.mark.parametrize("rtype", sorted(TF_PATHS))
def test_terraform_workload_projected_token_and_narrowing(
        rtype: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    text = tf_workload(rtype)
    edited = tf_workload(rtype, TF_POD_SPEC + TF_PROJECTED)
    code, findings = change(make_repo, capsys, {"main.tf": text}, {"main.tf": edited}, AGENT)
    assert code == 1
    line = line_of(edited, "service_account_token {")
    assert picked(findings, "NHI101", "NHI302") == {("NHI302", "error", line, True),
                                                    ("NHI101", "error", line, True)}
    code, findings = change(make_repo, capsys, {"main.tf": edited}, {"main.tf": text}, AGENT,
                            name="narrowed")
    assert code == 0
    assert [(f["rule_id"], f["level"]) for f in findings if f["rule_id"] in (
        "NHI101", "NHI302")] == [("NHI302", "note")]


# --------------------------------------------------------------------------- AWS workloads

LAMBDA = """\
# nhi-gate: owner=team-a ticket=OPS-3
resource "aws_iam_role" "reader" {
  name               = "reader"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy" "reader" {
  role   = aws_iam_role.reader.id
  policy = jsonencode({
    Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }]
  })
}

# nhi-gate: owner=team-a ticket=OPS-3
resource "aws_iam_role" "admin" {
  name               = "admin"
  assume_role_policy = "{}"
}

resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.admin.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

resource "aws_lambda_function" "fn" {
  function_name = "fn"
  role          = aws_iam_role.reader.arn
}
"""


@pytest.mark.parametrize(("author", "code", "level"), [(AGENT, 1, "error"),
                                                       (PERSON, 0, "warning")])
def test_lambda_switched_to_an_admin_role(
        author: tuple[str, str], code: int, level: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    edited = LAMBDA.replace("aws_iam_role.reader.arn", "aws_iam_role.admin.arn")
    got, findings = change(make_repo, capsys, {"iam.tf": LAMBDA}, {"iam.tf": edited}, author)
    line = line_of(edited, "aws_iam_role.admin.arn")
    assert got == code
    expected = {("NHI302", level, line, author == AGENT)}
    if author == AGENT:
        expected.add(("NHI101", "error", line, True))
    assert picked(findings, "NHI101", "NHI302") == expected
    drift = next(f for f in findings if f["rule_id"] == "NHI302")
    assert drift["message"].startswith(
        "aws_lambda_function.fn now runs as aws_iam_role.admin (was aws_iam_role.reader), which "
        "may do more: admin: arn:aws:iam::aws:policy/AdministratorAccess (")


def test_lambda_switched_to_a_role_outside_the_change_is_not_checked(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    edited = LAMBDA.replace("aws_iam_role.reader.arn",
                            '"arn:aws:iam::123456789012:role/elsewhere"')
    code, findings = change(make_repo, capsys, {"iam.tf": LAMBDA}, {"iam.tf": edited}, PERSON)
    assert code == 0
    (drift,) = [f for f in findings if f["rule_id"] == "NHI302"]
    assert drift["message"] == (
        "aws_lambda_function.fn now runs as aws-role:arn:aws:iam::123456789012:role/elsewhere "
        "(was aws_iam_role.reader): nhi-gate could not check what "
        "aws-role:arn:aws:iam::123456789012:role/elsewhere may do: the role is not defined in "
        "the change; a human must check its privileges")
    assert drift["level"] == "warning"


def test_lambda_switched_to_a_narrower_role_is_no_widening(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    wide = LAMBDA.replace("aws_iam_role.reader.arn", "aws_iam_role.admin.arn")
    code, findings = change(make_repo, capsys, {"iam.tf": wide}, {"iam.tf": LAMBDA}, PERSON)
    assert code == 0
    assert picked(findings, "NHI302") == set()


def test_scan_of_a_terraform_pod_on_the_default_account_speaks_terraform(
        tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    spec = 'container {\n  name  = "web"\n  image = "nginx:1.27"\n}\n'
    (tmp_path / "pod.tf").write_text(tf_workload("kubernetes_pod_v1", spec))
    main(["scan", str(tmp_path / "pod.tf"), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [(f["rule_id"], f["start_line"], f["message"]) for f in findings] == [
        ("NHI321", 6, "kubernetes_pod_v1.web runs as the namespace's default service account "
         "with its token mounted: set `service_account_name` to an account of its own, or "
         "`automount_service_account_token = false`")]


def test_removing_the_pod_opt_out_under_an_opted_out_account_gains_nothing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = workload("Deployment")
    edited = "".join(line for line in text.splitlines(keepends=True)
                     if "automountServiceAccountToken" not in line)
    code, findings = change(make_repo, capsys,
                            {"k8s/web.yaml": text, "k8s/sa.yaml": SERVICE_ACCOUNT},
                            {"k8s/web.yaml": edited, "k8s/sa.yaml": SERVICE_ACCOUNT + "\n"},
                            AGENT)
    assert code == 0  # the pod inherits the account's `automountServiceAccountToken: false`
    assert picked(findings, "NHI101", "NHI302", "NHI322") == set()
