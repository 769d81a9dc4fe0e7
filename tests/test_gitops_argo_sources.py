"""Files an Argo CD Application reads through another source or whole (issue 12, GitOps
inputs; attacker re-check, session 9): a multi-source Application's `$values/...` value file
(the `ref: values` source of this repository) and `helm.fileParameters` (`--set-file`). An
agent's edit that turns on a cluster-admin binding through one blocks, naming the file; a
person's does not; turning it off is a note at most; a `$ref` value file of another
repository or revision fails closed. Real temp git repos through `cli.main`, with a real
`helm`."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import HUMAN, GitRepo
from test_gitops_renders import (
    AGENT,
    APP_ADMIN,
    CHART,
    ENV,
    OFF,
    ON,
    TEMPLATE,
    _message,
    _rows,
    needs_helm,
)
from test_gitops_renders import _run as run

from checker.sources.render.argo_sources import repository, repository_path
from checker.sources.render.gitops import application_uses

MULTI = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
spec:
  project: web
  destination: {{server: https://kubernetes.default.svc, namespace: web}}
  sources:
  - repoURL: {ref_url}
    targetRevision: {ref_rev}
    ref: values
  - repoURL: https://github.com/corp/deploy.git
    targetRevision: main
    path: charts/web
    helm:
      valueFiles:
      - $values/{values}
"""
FILE_PARAM = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
spec:
  project: web
  destination: {server: https://kubernetes.default.svc, namespace: web}
  source:
    repoURL: https://github.com/corp/deploy.git
    path: charts/web
    helm:
      fileParameters:
      - name: rbac.role
        path: ../../envs/prod/role.txt
"""
ROLE_CRB = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ .Release.Name }}-admin
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ .Values.rbac.role | trim }}
subjects:
  - kind: ServiceAccount
    name: web
    namespace: web
"""
ROLE_CHART = {**CHART, "charts/web/templates/crb.yaml": ROLE_CRB,
              "charts/web/values.yaml": "rbac:\n  role: view\n"}
ROLE = "envs/prod/role.txt"


def _multi(url: str = "https://github.com/corp/deploy", rev: str = "main") -> dict[str, str]:
    return {**CHART, "apps/web.yaml": MULTI.format(ref_url=url, ref_rev=rev, values=ENV)}


@needs_helm
def test_agent_turning_on_admin_in_a_dollar_values_file_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = run(make_repo, {**_multi(), ENV: OFF}, {ENV: ON}, AGENT, capsys)
    assert code == 1
    assert {("NHI101", APP_ADMIN, TEMPLATE, 3, True),
            ("NHI301", APP_ADMIN, TEMPLATE, 6, True)} <= _rows(findings)
    assert f"via rendered input ({ENV}:1)" in _message(findings, "NHI301")


@needs_helm
def test_person_turning_on_admin_in_a_dollar_values_file_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = run(make_repo, {**_multi(), ENV: OFF}, {ENV: ON}, HUMAN, capsys)
    assert code == 0
    assert ("NHI301", APP_ADMIN, TEMPLATE, 6, False) in _rows(findings)


@needs_helm
def test_agent_turning_admin_off_in_a_dollar_values_file_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = run(make_repo, {**_multi(), ENV: ON}, {ENV: OFF}, AGENT, capsys)
    assert code == 0
    assert not [f for f in findings if f["blocking"]]


@needs_helm
def test_a_dollar_values_file_at_another_revision_fails_closed_naming_it(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    files = _multi(rev="release")
    code, findings = run(make_repo, {**files, ENV: OFF}, {ENV: ON}, AGENT, capsys)
    assert code == 1
    assert ("NHI107", None, ENV, 1, True) in _rows(findings)
    assert f"is {ENV} at revision `release`" in _message(findings, "NHI107")


def test_dollar_values_paths() -> None:
    chart = {"repoURL": "https://github.com/Corp/deploy.git", "path": "charts/web"}
    ours = {"repoURL": "git@github.com:corp/deploy", "ref": "values"}
    theirs = {"repoURL": "https://github.com/corp/values.git", "ref": "cfg"}
    sources = [chart, ours, theirs]
    assert repository_path("$values/envs/a.yaml", "charts/web", chart, sources) == (
        "envs/a.yaml", "")
    assert repository_path("../../envs/a.yaml", "charts/web", chart, sources) == (
        "envs/a.yaml", "")
    path, why = repository_path("$cfg/a.yaml", "charts/web", chart, sources)
    assert path == "a.yaml"  # kept as an input, not computed
    assert why.startswith("value file `$cfg/a.yaml` is read from another repository")
    assert repository_path("$values/../x.yaml", "charts/web", chart, sources)[0] == ""
    assert "names no source" in repository_path("$nope/a.yaml", "charts/web", chart,
                                                 sources)[1]
    assert repository("ssh://git@github.com/corp/deploy.git/") == "github.com/corp/deploy"


@needs_helm
def test_agent_widening_a_file_parameter_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    files = {**ROLE_CHART, "apps/web.yaml": FILE_PARAM}
    code, findings = run(make_repo, {**files, ROLE: "view\n"}, {ROLE: "cluster-admin\n"},
                         AGENT, capsys)
    assert code == 1
    assert {("NHI101", APP_ADMIN, TEMPLATE, 2, True), ("NHI302", APP_ADMIN, TEMPLATE, 5, True),
            ("NHI301", APP_ADMIN, TEMPLATE, 5, True)} <= _rows(findings)
    assert f"via rendered input ({ROLE}:1)" in _message(findings, "NHI301")


@needs_helm
def test_person_widening_a_file_parameter_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    files = {**ROLE_CHART, "apps/web.yaml": FILE_PARAM}
    code, findings = run(make_repo, {**files, ROLE: "view\n"}, {ROLE: "cluster-admin\n"},
                         HUMAN, capsys)
    assert code == 0
    assert ("NHI301", APP_ADMIN, TEMPLATE, 5, False) in _rows(findings)


def test_file_parameters_are_read_as_files() -> None:
    spec = {"source": {"repoURL": "https://github.com/corp/deploy.git", "path": "charts/web",
                       "helm": {"fileParameters": [{"name": "a.b", "path": "x/../f.txt"},
                                                   {"name": "c", "path": "../../e.txt"}]}}}
    (use,) = application_uses("apps/web.yaml", 1, "Application argocd/web", spec,
                              {"charts/web/Chart.yaml"})
    assert use.files == (("a.b", "charts/web/f.txt"), ("c", "e.txt"))
    assert use.problem == ""


REMOTE = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
  namespace: argocd
spec:
  project: web
  destination: {server: https://kubernetes.default.svc, namespace: web}
  sources:
  - repoURL: https://charts.example.com
    chart: web
    targetRevision: 1.2.0
    helm:
      valueFiles:
      - $values/envs/prod/web.yaml
  - repoURL: https://github.com/corp/deploy.git
    ref: values
"""


@pytest.mark.parametrize(("author", "code", "level"), [(AGENT, 1, "error"), (HUMAN, 0, "note")])
def test_a_dollar_values_file_of_a_chart_from_elsewhere_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int, level: str) -> None:
    """No chart here: Argo CD renders a chart nhi-gate does not hold with this file."""
    got, findings = run(make_repo, {"apps/web.yaml": REMOTE, ENV: OFF}, {ENV: ON}, author,
                        capsys)
    assert got == code
    assert _rows(findings) == {("NHI107", None, ENV, 1, author == AGENT)}
    assert findings[0]["level"] == level
    assert ("value file `$values/envs/prod/web.yaml` feeds the chart `web` of "
            "https://charts.example.com") in findings[0]["message"]
