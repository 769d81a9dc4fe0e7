"""A chart that never renders with its default values (session 12, `fb-helm-chart-needs-values-
external-dns`: a values schema requires `policy`) changed only in files its render does not
read (README.md, a `.helmignore`d folder): base failed the same way, so the NHI107 is a note
(variant `unread`) for an agent too, and it keeps helm's schema reason (`at '/policy': got
null, want string`). A change to a template, or to a README a template reads with `.Files`,
still blocks an agent."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity, check_findings, found_at

from checker.sources.render.helm_ignore import ignored, renders_nothing

needs_helm = pytest.mark.skipif(shutil.which("helm") is None, reason="helm is not installed")

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
SCHEMA = ('{"$schema": "https://json-schema.org/draft-07/schema#", "type": "object",'
          ' "properties": {"policy": {"type": "string"}}, "required": ["policy"]}\n')
SA = ("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: dns\n"
      "  annotations: {policy: '{{ .Values.policy }}'}\n")
CHART = {"charts/dns/Chart.yaml": "apiVersion: v2\nname: dns\nversion: 1.0.0\n",
         "charts/dns/values.yaml": "policy: null\n",
         "charts/dns/values.schema.json": SCHEMA,
         "charts/dns/.helmignore": "ci/\ntests/\n",
         "charts/dns/README.md": "# dns\n",
         "charts/dns/templates/sa.yaml": SA}


def _run(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
         head: dict[str, str], base: dict[str, str] | None = None
         ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    sha = repo.commit({**CHART, **(base or {})}, author=HUMAN)
    repo.commit(head, author=CLAUDE, trailers=[("Requested-by", "Alice <a@x.example>")])
    return check_findings(repo, sha, capsys)


@needs_helm
@pytest.mark.parametrize("path", ["charts/dns/README.md", "charts/dns/tests/sa_test.yaml"])
def test_a_change_to_files_the_render_does_not_read_is_a_note(
        path: str, make_repo: Callable[..., GitRepo],
        capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, capsys, {path: "# dns\n\nSee the docs.\n"})
    assert code == 0
    assert found_at(findings) == {("NHI107", path, 1, False)}
    message = findings[0]["message"]
    assert findings[0]["level"] == "note"
    assert "at '/policy': got null, want string" in message
    assert "base failed the same way" in message


@needs_helm
def test_a_template_change_in_a_chart_that_does_not_render_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, capsys, {
        "charts/dns/README.md": "# dns\n\nmore\n",
        "charts/dns/templates/sa.yaml": SA.replace("name: dns", "name: dns-admin")})
    assert code == 1
    assert [(f["rule_id"], f["blocking"]) for f in findings] == [("NHI107", True)]
    assert "base failed the same way" not in findings[0]["message"]


@needs_helm
def test_a_readme_a_template_reads_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    notes = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: doc}\n" \
            "data: {doc: {{ .Files.Get \"README.md\" | quote }}}\n"
    code, findings = _run(make_repo, capsys, {"charts/dns/README.md": "# dns\n\nmore\n"},
                          {"charts/dns/templates/doc.yaml": notes})
    assert code == 1
    assert found_at(findings) == {("NHI107", "charts/dns/README.md", 1, True)}


def test_files_a_chart_render_does_not_read() -> None:
    texts = {"c/.helmignore": b"# vcs\n.git/\n*.bak\nci/\ndocs/*.md\n",
             "c/templates/sa.yaml": b"kind: ServiceAccount\n",
             "c/templates/NOTES.txt": b"{{ .Release.Name }}\n"}
    assert ignored("ci/values.yaml", "ci/\n") and ignored("a/x.bak", "*.bak\n")
    assert not ignored("ci", "ci/\n") and not ignored("x.yaml", "!x.yaml\n*.yaml\n")
    assert [p for p in ("c/README.md", "c/LICENSE", "c/ci/x.yaml", "c/docs/a.md",
                        "c/templates/NOTES.txt") if renders_nothing(p, "c", texts)] == [
        "c/README.md", "c/LICENSE", "c/ci/x.yaml", "c/docs/a.md", "c/templates/NOTES.txt"]
    assert [p for p in ("c/values.yaml", "c/values-prod.yaml", "c/Chart.yaml", "c/.helmignore",
                        "c/templates/sa.yaml", "c/crds/x.yaml", "c/charts/d/README.md")
            if renders_nothing(p, "c", texts)] == []
    texts["c/templates/cm.yaml"] = b'{{ .Files.Get "README.md" }}'
    assert not renders_nothing("c/README.md", "c", texts)


@needs_helm
def test_an_agents_readme_edit_is_no_input_of_a_persons_widening(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    # the argo-helm "via rendered input (README.md:1)" lists: a README is no rendered input
    role = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
            "metadata: {name: ops}\nroleRef: {apiGroup: rbac.authorization.k8s.io, "
            "kind: ClusterRole, name: '{{ .Values.role }}'}\n"
            "subjects: [{kind: ServiceAccount, name: ops, namespace: ops}]\n")
    repo = make_repo()
    sha = repo.commit({"charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
                       "charts/app/values.yaml": "role: view\n",
                       "charts/app/README.md": "# app\n",
                       "charts/app/templates/crb.yaml": role})
    repo.commit({"charts/app/values.yaml": "role: edit\n"}, author=HUMAN)
    repo.commit({"charts/app/README.md": "# app\n\nThe ops binding.\n"}, author=CLAUDE,
                trailers=[("Requested-by", "Alice <a@x.example>")])
    code, findings = check_findings(repo, sha, capsys)
    assert code == 0
    assert [(f["rule_id"], f["blocking"], f["actor_kind"]) for f in findings
            if f["rule_id"] == "NHI302"] == [("NHI302", False, "human")]
    assert all("README.md" not in f["message"] for f in findings)
