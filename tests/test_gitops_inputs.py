"""What a GitOps object deploys (issue 12, GitOps leftovers): a change of an Argo CD source's
Helm values, parameters, value files, kustomize patches or directory include, of a Flux
HelmRelease's values or a Flux Kustomization's substitutions, patches, path or source, or of a
Flux `kubeConfig`, changes what the controller deploys in a way nhi-gate does not compute: an
agent's change fails closed (NHI106, naming the key), a person's is a note, and a narrowing
of the object's grants next to unchanged inputs is still a narrowing. Real git repos in temp
dirs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import GitRepo
from test_gitops import CLAUDE, change, check, objects

from checker.cli import main

PERSON = ("Bob Person", "bob@example.com")

APP_HEAD = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
spec:
  project: team-a
  destination:
    server: https://kubernetes.default.svc
    namespace: team-a
"""
#: An Application whose one source (lines 11-) is `body`.
APP_SOURCE = APP_HEAD + """\
  source:
    repoURL: https://github.com/acme/charts
    targetRevision: 1.2.3
{body}"""


def app(body: str) -> str:
    return APP_SOURCE.format(body=body)


APPSET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: guestbook
  namespace: argocd
spec:
  generators: [{{list: {{elements: []}}}}]
  template:
    spec:
      project: team-a
      destination: {{server: https://kubernetes.default.svc, namespace: team-a}}
      sources:
      - repoURL: https://github.com/acme/values
        ref: values
      - repoURL: https://github.com/acme/charts
        chart: guestbook
        helm:
          values: |
            rbac: {{clusterAdmin: {admin}}}
"""

RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: apps
  namespace: team-a
spec:
  interval: 10m
  serviceAccountName: team-a
  chart:
    spec:
      chart: podinfo
      sourceRef: {{kind: HelmRepository, name: podinfo}}
{body}"""

FLUX_KUSTOMIZATION = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: team-a
spec:
  interval: 10m
  serviceAccountName: team-a
  prune: true
  sourceRef:
    kind: GitRepository
    name: {source}
  path: {path}
{body}"""


def kustomization(body: str = "", path: str = "./apps/team-a", source: str = "team-a") -> str:
    return FLUX_KUSTOMIZATION.format(body=body, path=path, source=source)


HELM = "    chart: guestbook\n    helm:\n"
#: case -> (file, base text, head text, line of the key, attribute NHI106 names); the finding
#: is on the key's line when the change added it, else on the first line it changed there.
CASES: dict[str, tuple[str, str, str, int, str]] = {
    "argo-helm-values": (
        "argocd/app.yaml", app(HELM + "      values: |\n        rbac: {clusterAdmin: false}\n"),
        app(HELM + "      values: |\n        rbac: {clusterAdmin: true}\n"), 16,
        "spec.source.helm.values"),
    "argo-values-object": (
        "argocd/app.yaml", app(HELM + "      valuesObject:\n        rbac: {create: false}\n"),
        app(HELM + "      valuesObject:\n        rbac: {create: true}\n"), 16,
        "spec.source.helm.valuesObject"),
    "argo-parameters": (
        "argocd/app.yaml", app(HELM + "      releaseName: gb\n"),
        app(HELM + "      releaseName: gb\n      parameters:\n"
                   "      - {name: rbac.clusterAdmin, value: 'true'}\n"), 17,
        "spec.source.helm.parameters"),
    "argo-value-files": (
        "argocd/app.yaml", app(HELM + "      valueFiles: [values.yaml]\n"),
        app(HELM + "      valueFiles: [values.yaml, values-admin.yaml]\n"), 16,
        "spec.source.helm.valueFiles"),
    "argo-kustomize-patches": (
        "argocd/app.yaml", app("    path: overlays/prod\n"),
        app("    path: overlays/prod\n    kustomize:\n      patches:\n"
            "      - target: {kind: ClusterRoleBinding}\n"
            "        patch: '[{op: replace, path: /roleRef/name, value: cluster-admin}]'\n"), 16,
        "spec.source.kustomize.patches"),
    "argo-kustomize-name-prefix": (
        "argocd/app.yaml", app("    path: overlays/prod\n    kustomize:\n      namePrefix: a-\n"),
        app("    path: overlays/prod\n    kustomize:\n      namePrefix: kube-\n"), 16,
        "spec.source.kustomize.namePrefix"),
    "argo-directory-include": (
        "argocd/app.yaml", app("    path: manifests\n    directory:\n      include: 'app.yaml'\n"),
        app("    path: manifests\n    directory:\n      include: '*.yaml'\n"), 16,
        "spec.source.directory.include"),
    "argo-directory-recurse": (
        "argocd/app.yaml", app("    path: manifests\n    directory:\n      recurse: false\n"),
        app("    path: manifests\n    directory:\n      recurse: true\n"), 16,
        "spec.source.directory.recurse"),
    "argo-plugin": (
        "argocd/app.yaml", app("    path: manifests\n    plugin:\n      env:\n"
                               "      - {name: ROLE, value: view}\n"),
        app("    path: manifests\n    plugin:\n      env:\n"
            "      - {name: ROLE, value: cluster-admin}\n"), 15, "spec.source.plugin"),
    "argo-multi-source-values": (
        "argocd/appset.yaml", APPSET.format(admin="false"), APPSET.format(admin="true"), 18,
        "spec.template.spec.sources[1].helm.values"),
    "flux-helm-values": (
        "flux/release.yaml", RELEASE.format(body="  values:\n    rbac: {clusterAdmin: false}\n"),
        RELEASE.format(body="  values:\n    rbac: {clusterAdmin: true}\n"), 13, "spec.values"),
    "flux-values-from": (
        "flux/release.yaml", RELEASE.format(body=""),
        RELEASE.format(body="  valuesFrom:\n  - {kind: Secret, name: admin-values}\n"), 13,
        "spec.valuesFrom"),
    "flux-substitute": (
        "flux/apps.yaml", kustomization("  postBuild:\n    substitute: {role: view}\n"),
        kustomization("  postBuild:\n    substitute: {role: cluster-admin}\n"), 15,
        "spec.postBuild.substitute"),
    "flux-substitute-from": (
        "flux/apps.yaml", kustomization("  postBuild:\n    substitute: {role: view}\n"),
        kustomization("  postBuild:\n    substitute: {role: view}\n    substituteFrom:\n"
                      "    - {kind: ConfigMap, name: cluster-vars}\n"), 16,
        "spec.postBuild.substituteFrom"),
    "flux-patches": (
        "flux/apps.yaml", kustomization(),
        kustomization("  patches:\n  - target: {kind: RoleBinding}\n"
                      "    patch: '[{op: replace, path: /roleRef/name, value: admin}]'\n"), 14,
        "spec.patches"),
    "flux-path": ("flux/apps.yaml", kustomization(), kustomization(path="./infrastructure"),
                  13, "spec.path"),
    "flux-source": ("flux/apps.yaml", kustomization(), kustomization(source="platform"), 10,
                    "spec.sourceRef"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_agent_changing_what_a_gitops_object_deploys_fails_closed_with_nhi106(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    path, before, after, line, attribute = CASES[case]
    repo, base, head = change(make_repo, path, before, after, CLAUDE)
    code, found = check(repo, base, head, capsys)
    assert code == 1
    assert ("NHI106", _anchor(before, after, line), "error", True) in found, found
    messages = check_messages(repo, base, head, capsys)
    assert any(f"cannot compute `{attribute}`" in m for m in messages), messages


def check_messages(repo: GitRepo, base: str, head: str,
                   capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The NHI106 messages of `check` on the range."""
    main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
          "--format", "json"])
    return [f["message"] for f in json.loads(capsys.readouterr().out)["findings"]
            if f["rule_id"] == "NHI106"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_person_changing_what_a_gitops_object_deploys_gets_a_note(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    path, before, after, line, _ = CASES[case]
    repo, base, head = change(make_repo, path, before, after, PERSON)
    code, found = check(repo, base, head, capsys)
    assert ("NHI106", _anchor(before, after, line), "note", False) in found, found
    assert not any(blocking for _, _, _, blocking in found), found
    assert code == 0


def _anchor(before: str, after: str, line: int) -> int:
    """`line` when the change added it, else the first line at or after it that changed."""
    old, new = before.splitlines(), after.splitlines()
    return next(n for n in range(line, len(new) + 1)
                if n > len(old) or old[n - 1] != new[n - 1])


@pytest.mark.parametrize(("author", "level"), [(CLAUDE, "error"), (PERSON, "note")])
def test_removing_an_input_fails_closed_too(author: tuple[str, str], level: str,
                                            make_repo: Callable[..., GitRepo],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Without its `exclude` (or values, or a patch) the source deploys more, maybe."""
    before = app("    path: manifests\n    directory:\n      recurse: true\n"
                 "      exclude: 'admin/*'\n")
    after = app("    path: manifests\n    directory:\n      recurse: true\n")
    repo, base, head = change(make_repo, "argocd/app.yaml", before, after, author)
    code, found = check(repo, base, head, capsys)
    assert ("NHI106", 1, level, level == "error") in found, found  # no line left: the object
    assert code == (1 if level == "error" else 0)
    messages = check_messages(repo, base, head, capsys)
    assert any("`spec.source.directory.exclude removed`" in m for m in messages), messages


def test_restyling_the_values_is_no_new_input(make_repo: Callable[..., GitRepo],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The digest is of the parsed value: flow vs block style and key order change nothing."""
    before = RELEASE.format(body="  values:\n    rbac: {create: true, clusterAdmin: false}\n")
    after = RELEASE.format(body="  values:\n    rbac:\n      clusterAdmin: false\n"
                                "      create: true\n")
    repo, base, head = change(make_repo, "flux/release.yaml", before, after, CLAUDE)
    _, found = check(repo, base, head, capsys)
    assert not any(rule == "NHI106" for rule, _, _, _ in found), found


#: (file, base, narrowed head): the grant narrows, the deployed inputs stay as they were.
NARROWINGS = {
    "flux-kustomization-sa": (
        "flux/apps.yaml",
        kustomization("  postBuild:\n    substitute: {role: view}\n").replace(
            "  serviceAccountName: team-a\n", ""),
        kustomization("  postBuild:\n    substitute: {role: view}\n")),
    "argo-project": (  # the `default` project may deploy anything team-a may
        "argocd/app.yaml",
        app(HELM + "      values: |\n        rbac: {clusterAdmin: false}\n").replace(
            "project: team-a", "project: default"),
        app(HELM + "      values: |\n        rbac: {clusterAdmin: false}\n")),
}


@pytest.mark.parametrize("case", sorted(NARROWINGS))
def test_an_agent_narrowing_a_gitops_grant_next_to_unchanged_inputs_gets_a_note(
        case: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    path, before, after = NARROWINGS[case]
    repo, base, head = change(make_repo, path, before, after, CLAUDE)
    code, found = check(repo, base, head, capsys)
    assert code == 0, found
    assert {(rule, level) for rule, _, level, _ in found} == {("NHI302", "note")}, found


# ----------------------------------------------------------------------------- kubeConfig

KUBECONFIG = "  kubeConfig:\n    secretRef:\n      name: {name}\n      key: value\n"


@pytest.mark.parametrize("kind", ["Kustomization", "HelmRelease"])
def test_an_agent_adding_a_flux_kubeconfig_fails_closed(
        kind: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    text = kustomization() if kind == "Kustomization" else RELEASE.format(body="")
    line = text.count("\n") + 1
    repo, base, head = change(make_repo, "flux/apps.yaml", text,
                              text + KUBECONFIG.format(name="prod-admin"), CLAUDE)
    code, found = check(repo, base, head, capsys)
    assert code == 1
    assert {("NHI106", line, "error", True), ("NHI302", line, "error", True)} <= found, found
    messages = check_messages(repo, base, head, capsys)
    assert any("credentials in Secret prod-admin" in m for m in messages), messages


def test_an_agent_switching_the_kubeconfig_secret_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = kustomization()
    repo, base, head = change(make_repo, "flux/apps.yaml", text + KUBECONFIG.format(name="dev"),
                              text + KUBECONFIG.format(name="prod-admin"), CLAUDE)
    code, found = check(repo, base, head, capsys)
    assert code == 1
    assert ("NHI106", 16, "error", True) in found, found  # the changed `name:` line


def test_a_person_adding_a_flux_kubeconfig_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = kustomization()
    repo, base, head = change(make_repo, "flux/apps.yaml", text,
                              text + KUBECONFIG.format(name="prod-admin"), PERSON)
    code, found = check(repo, base, head, capsys)
    assert ("NHI106", 14, "note", False) in found, found
    assert not any(blocking for _, _, _, blocking in found), found
    assert code == 0


def test_an_agent_removing_a_flux_kubeconfig_is_a_narrowing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    text = kustomization()
    repo, base, head = change(make_repo, "flux/apps.yaml", text + KUBECONFIG.format(name="dev"),
                              text, CLAUDE)
    code, found = check(repo, base, head, capsys)
    assert code == 0, found
    assert {(rule, level) for rule, _, level, _ in found} == {("NHI302", "note")}, found


def test_shapes_of_the_deployed_inputs_and_the_kubeconfig_grant() -> None:
    (release,) = objects(RELEASE.format(body="  values: {a: 1}\n" + KUBECONFIG.format(
        name="prod-admin")), "flux/release.yaml")
    assert [(u.attribute, u.line) for u in release.unresolved] == [
        ("spec.values", 13), ("spec.kubeConfig", 14)]
    assert release.unresolved[0].reason == (
        "deployed by Flux from chart podinfo: what it renders is not computed")
    assert "{a: 1}" not in release.unresolved[0].expression  # a digest, never the value
    assert [(g.action, g.resource, g.line) for g in release.privileges] == [
        ("flux:apply-as/ServiceAccount/team-a/team-a", "*", 8),
        ("flux:kubeconfig", "Secret/team-a/prod-admin", 14)]
    (plain,) = objects(APP_HEAD, "argocd/app.yaml")
    assert plain.unresolved == ()


def test_scan_reports_no_deployed_input(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """In `scan` there is no change: an Application's values are its normal shape."""
    _, _, after, _, _ = CASES["argo-helm-values"]
    (tmp_path / "app.yaml").write_text(after)
    (tmp_path / "apps.yaml").write_text(kustomization())
    main(["scan", str(tmp_path), "--format", "json"])
    rules = [f["rule_id"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert "NHI106" not in rules, rules
