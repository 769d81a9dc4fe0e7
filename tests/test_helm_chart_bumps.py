"""A Renovate chart bump is no change of meaning (issue 12, slice fixT, attacker/new-user pass on
prometheus-community/helm-charts `dd25f0cb9`, `1982f1c58`, `6a837b0f6`): a chart's `version`/
`appVersion` bump rewrites only the rendered labels `helm.sh/chart` and
`app.kubernetes.io/version`, so its ServiceAccount, Secret and ClusterRole get a metadata-only
note and no NHI101/NHI201/NHI202/NHI301; a credential-free connection URI in a chart's Secret
(`mongodb://mongodb:27017`) is no literal secret data (NHI404), a URI with a password is."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.cli import main

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None,
    reason="helm is not installed (python scripts/install_helm.py .venv/bin installs it)",
)

RENOVATE: Identity = ("renovate[bot]", "29139614+renovate[bot]@users.noreply.github.com")
CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
CHART = 'apiVersion: v2\nname: app\nversion: {v}\nappVersion: "{v}"\n'
HELPERS = """\
{{- define "app.labels" -}}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
"""
SA = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}-app
  labels:
    {{- include "app.labels" . | nindent 4 }}
"""
SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-app
  labels:
    {{- include "app.labels" . | nindent 4 }}
data:
  db-uri: {{ .Values.db.uri | b64enc }}
"""
CLUSTER_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {{ .Release.Name }}-app
  labels:
    {{- include "app.labels" . | nindent 4 }}
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["*"]
"""

Found = list[tuple[str, str, bool]]


def _chart(version: str, uri: str = "mongodb://mongodb:27017", helpers: str = HELPERS,
           role: str | None = None) -> dict[str, str]:
    files = {"charts/app/Chart.yaml": CHART.format(v=version),
             "charts/app/values.yaml": f'db:\n  uri: "{uri}"\n',
             "charts/app/templates/_helpers.tpl": helpers,
             "charts/app/templates/sa.yaml": SA,
             "charts/app/templates/secret.yaml": SECRET}
    if role is not None:
        files["charts/app/templates/role.yaml"] = role
    return files


def _check(make_repo: Callable[..., GitRepo], capsys: Any, base: dict[str, str],
           head: dict[str, str], author: Identity) -> tuple[int, Found]:
    repo = make_repo()
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author, message="chore(deps): update app to v1.1.0")
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, sorted((f["rule_id"], f["address"].rpartition(":")[2], f["blocking"])
                        for f in report["findings"])


@needs_helm
@pytest.mark.parametrize("author", [RENOVATE, CLAUDE, HUMAN])
@pytest.mark.parametrize("helm_label", [True, False])
def test_a_chart_version_bump_is_a_metadata_only_note(
        make_repo: Callable[..., GitRepo], capsys: Any, author: Identity,
        helm_label: bool) -> None:
    helpers = HELPERS if helm_label else HELPERS.replace(
        "helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}\n", "")
    code, found = _check(make_repo, capsys, _chart("1.0.0", helpers=helpers),
                         _chart("1.1.0", helpers=helpers), author)
    assert code == 0
    assert found == [("NHI302", "Secret/release-name-app", False),
                     ("NHI302", "ServiceAccount/release-name-app", False)]


@needs_helm
def test_a_chart_bump_leaves_an_unchanged_cluster_role_alone(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _check(make_repo, capsys, _chart("1.0.0", role=CLUSTER_ROLE),
                         _chart("1.1.0", role=CLUSTER_ROLE), RENOVATE)
    assert code == 0
    assert found == [("NHI302", "ClusterRole/release-name-app", False),
                     ("NHI302", "Secret/release-name-app", False),
                     ("NHI302", "ServiceAccount/release-name-app", False)]


@needs_helm
def test_an_aggregation_label_on_a_cluster_role_is_still_a_change(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    role = CLUSTER_ROLE.replace('    {{- include "app.labels" . | nindent 4 }}\n',
                                '    {{- include "app.labels" . | nindent 4 }}\n'
                                '    rbac.authorization.k8s.io/aggregate-to-view: "true"\n')
    code, found = _check(make_repo, capsys, _chart("1.0.0", role=CLUSTER_ROLE),
                         _chart("1.1.0", role=role), CLAUDE)
    assert code == 1
    assert ("NHI101", "ClusterRole/release-name-app", True) in found
    assert ("NHI302", "ClusterRole/release-name-app", False) not in found


def test_an_owner_label_removed_in_a_metadata_only_change_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    sa = ("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  namespace: app\n"
          "  labels:\n    owner: team-a\n    ticket: OPS-1\n    tier: api\n")
    code, found = _check(make_repo, capsys, {"k8s/sa.yaml": sa},
                         {"k8s/sa.yaml": sa.replace("    owner: team-a\n", "")}, CLAUDE)
    assert code == 1
    assert found == [("NHI201", "ServiceAccount/app/app", True),
                     ("NHI302", "ServiceAccount/app/app", False)]


@needs_helm
@pytest.mark.parametrize(("uri", "rules"), [
    ("mongodb://mongodb:27017", []),
    ("redis://cache:6379/0?ssl=true", []),
    ("mongodb://exporter:pa55-w0rd-Kq8z@mongodb:27017", [("NHI404", True)]),
    ("postgres://db:5432/app?password=Kq8zpa55w0rd", [("NHI404", True)]),
])
def test_a_credential_free_uri_in_a_chart_secret_is_no_literal_secret_data(
        make_repo: Callable[..., GitRepo], capsys: Any, uri: str,
        rules: list[tuple[str, bool]]) -> None:
    code, found = _check(make_repo, capsys, _chart("1.0.0", uri="mongodb://old:27017"),
                         _chart("1.0.0", uri=uri), HUMAN)
    assert code == (1 if rules else 0)
    assert [(r, b) for r, addr, b in found if r == "NHI404"] == rules


UNVENDORED = ("apiVersion: v2\nname: app\nversion: {v}\ndependencies:\n- name: redis\n"
              "  version: 1.0.0\n  repository: https://charts.example.com\n")


def _unrenderable(version: str, label: str) -> dict[str, str]:
    return {"charts/app/Chart.yaml": UNVENDORED.format(v=version),
            "charts/app/values.yaml": f"label: {label}\n",
            "charts/app/hack/gen.py": f"print({label!r})\n",
            "charts/app/templates/sa-2.yaml": SA.replace("-app", f"-{label}"),
            "charts/app/templates/sa.yaml": SA.replace(
                '    {{- include "app.labels" . | nindent 4 }}\n',
                "    tier: {{ .Values.label }}\n")}


@needs_helm
def test_an_unrenderable_chart_is_one_nhi107_per_chart(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    sha = repo.commit(_unrenderable("1.0.0", "a"), author=HUMAN)
    repo.commit(_unrenderable("1.1.0", "b"), author=RENOVATE)
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert [(f["rule_id"], f["path"], f["blocking"]) for f in found] == [
        ("NHI107", "charts/app/Chart.yaml", True)]
    assert found[0]["message"].count("rendered output could not be computed") == 1
    assert found[0]["message"].endswith("; 1 more changed template of the chart not checked")


@needs_helm
def test_an_unrenderable_chart_keeps_an_nhi107_per_author(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    base = _unrenderable("1.0.0", "a")
    sha = repo.commit(base, author=HUMAN)
    repo.commit({"charts/app/values.yaml": "label: b\n"}, author=HUMAN)
    repo.commit({"charts/app/hack/gen.py": "print('c')\n"}, author=CLAUDE)
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    found = json.loads(capsys.readouterr().out)["findings"]
    assert code == 1
    assert [(f["rule_id"], f["path"], f["blocking"]) for f in found] == [
        ("NHI107", "charts/app/hack/gen.py", True),
        ("NHI107", "charts/app/values.yaml", False)]


SUB_BINDING = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ .Release.Name }}-sub
subjects:
- kind: ServiceAccount
  name: sub
  namespace: default
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
"""


def _parent(crd_version: str, binding: bool = False) -> dict[str, str]:
    files = {"charts/crds/Chart.yaml": ("apiVersion: v2\nname: crds\nversion: 1.0.0\n"
                                         "dependencies:\n- name: sub\n  version: 0.0.0\n"),
             "charts/crds/charts/sub/Chart.yaml": "apiVersion: v2\nname: sub\nversion: 0.0.0\n",
             "charts/crds/charts/sub/templates/cm.yaml": (
                 "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: crd-version\n"
                 f"data:\n  version: {crd_version}\n")}
    if binding:
        files["charts/crds/charts/sub/templates/crb.yaml"] = SUB_BINDING
    return files


@needs_helm
def test_a_vendored_subchart_template_bump_is_rendered_with_its_parent(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _check(make_repo, capsys, _parent("v0.93.0"), _parent("v0.93.1"), RENOVATE)
    assert (code, found) == (0, [])


@needs_helm
def test_a_binding_added_in_a_vendored_subchart_still_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _check(make_repo, capsys, _parent("v0.93.0"),
                         _parent("v0.93.0", binding=True), CLAUDE)
    assert code == 1
    assert [f for f in found if f[0] != "NHI103"] == [
        ("NHI101", "ClusterRoleBinding/release-name-sub", True),
        ("NHI301", "ClusterRoleBinding/release-name-sub", True)]


ARGOCD_CM = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  labels:
    {{{{- include "app.labels" . | nindent 4 }}}}
    app.kubernetes.io/part-of: {part}
data:
{data}"""
RBAC_DATA = "  policy.default: role:readonly\n  policy.csv: |\n    g, my-org:devs, role:readonly\n"


def _argocd(version: str, part: str = "argocd") -> dict[str, str]:
    return {"charts/app/Chart.yaml": CHART.format(v=version),
            "charts/app/values.yaml": "{}\n",
            "charts/app/templates/_helpers.tpl": HELPERS,
            "charts/app/templates/rbac-cm.yaml": ARGOCD_CM.format(
                name="argocd-rbac-cm", part=part, data=RBAC_DATA),
            "charts/app/templates/argocd-cm.yaml": ARGOCD_CM.format(
                name="argocd-cm", part="argocd", data="  url: https://argocd.example.com\n")}


@needs_helm
@pytest.mark.parametrize("author", [CLAUDE, HUMAN])
def test_a_chart_bump_of_argo_cd_config_maps_is_metadata_only(
        make_repo: Callable[..., GitRepo], capsys: Any, author: Identity) -> None:
    # session 12, fb-helm-argocd-cm-chart-bump (argoproj/argo-helm ac92cdc8): NHI101 before
    code, found = _check(make_repo, capsys, _argocd("1.0.0"), _argocd("1.0.1"), author)
    assert code == 0
    assert found == [("NHI302", "ConfigMap/argocd-rbac-cm", False)]


@needs_helm
def test_a_label_argo_cd_selects_its_config_by_is_still_a_change(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _check(make_repo, capsys, _argocd("1.0.0"),
                         _argocd("1.0.1", part="argocd-other"), CLAUDE)
    assert code == 1
    assert ("NHI101", "ConfigMap/argocd-rbac-cm", True) in found
    assert ("NHI302", "ConfigMap/argocd-rbac-cm", False) not in found


ROLE_OF = CLUSTER_ROLE.replace('verbs: ["*"]', "verbs: [{{ .Values.verb | quote }}]")


@needs_helm
def test_a_values_file_render_does_not_repeat_the_charts_findings(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    # session 12, argo-helm: each note was said under Chart.yaml and again under
    # ci/listenerset-values.yaml (the chart rendered with that file too)
    def chart(version: str, ci: str) -> dict[str, str]:
        return {**_chart(version, role=ROLE_OF), "charts/app/values.yaml": "verb: get\n"
                "db:\n  uri: mongodb://mongodb:27017\n", "charts/app/ci/x-values.yaml": ci}
    repo = make_repo()
    sha = repo.commit(chart("1.0.0", "replicas: 1\n"), author=HUMAN)
    repo.commit(chart("1.1.0", "replicas: 2\n"), author=CLAUDE)
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    found = sorted((f["rule_id"], f["address"], f["blocking"])
                   for f in json.loads(capsys.readouterr().out)["findings"])
    assert code == 0
    assert found == [
        ("NHI302", "charts/app/Chart.yaml:ClusterRole/release-name-app", False),
        ("NHI302", "charts/app/Chart.yaml:Secret/release-name-app", False),
        ("NHI302", "charts/app/Chart.yaml:ServiceAccount/release-name-app", False)]
    # what the values file itself changes is still judged under it
    repo.commit(chart("1.1.0", "replicas: 2\nverb: '*'\n"), author=CLAUDE)
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    found = sorted((f["rule_id"], f["address"], f["blocking"])
                   for f in json.loads(capsys.readouterr().out)["findings"])
    assert code == 1
    assert ("NHI302", "charts/app/ci/x-values.yaml:ClusterRole/release-name-app",
            True) in found
