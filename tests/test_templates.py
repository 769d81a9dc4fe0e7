"""Templates are not YAML (issue 13): a Helm chart's templates and Jinja/Go-templated YAML are
NHI107 (unrendered-source), never NHI901; its level depends on who changed the file.

Real temp git repos for `check` (agent and human author) and `hook`, real folders for `scan`.
A chart is a folder whose `Chart.yaml` exists at the same revision; a `templates/` folder that
is not in a chart holds plain manifests, which are read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.change import ChangedFile, ChangeSet, Provenance
from checker.checks.api import Context
from checker.checks.engine import problem_findings
from checker.cli import main
from checker.model import ParseProblem
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config
from checker.policy.privileges import load_admin_table
from checker.policy.rule_docs import load_rule_docs
from checker.sources.templates import template_language

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
REQUESTED = [("Requested-by", "Alice Example <alice@example.com>")]
CHART = "apiVersion: v2\nname: app\nversion: 0.1.0\n"
TEMPLATE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {{ .Values.rbac.clusterRole }}
subjects:
  - kind: ServiceAccount
    name: {{ .Values.serviceAccount.name }}
    namespace: {{ .Release.Namespace }}
"""
PLAIN_CRB = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ci}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: ci, namespace: default}]
"""
JINJA_CRB = "{% if rbac %}\n" + PLAIN_CRB.replace("name: ci}", "name: {{ app }}}") + "{% endif %}\n"
JINJA_CONFIG = """\
# An Ansible-style template: nothing in it can define an identity.
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ app_name }}
data:
{% for key, value in settings.items() %}
  {{ key }}: "{{ value }}"
{% endfor %}
"""

Found = set[tuple[str, str, int, str, bool]]


def _found(report: dict[str, Any]) -> Found:
    return {(f["rule_id"], f["path"], f["start_line"], f["level"], f["blocking"])
            for f in report["findings"]}


def _check(make_repo: Callable[..., GitRepo], capsys: Any, base: Mapping[str, str | None],
           head: Mapping[str, str | None], author: Identity) -> tuple[int, Found, dict[str, Any]]:
    repo = make_repo()
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author, trailers=REQUESTED if author == CLAUDE else ())
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, _found(report), report


CHART_BASE = {"charts/app/Chart.yaml": CHART, "charts/app/templates/rbac.yaml": TEMPLATE,
              "charts/app/templates/_helpers.tpl": '{{- define "app.fullname" -}}app{{- end }}\n',
              "charts/app/templates/NOTES.txt": "Installed {{ .Release.Name }}\n"}
CHART_HEAD = {"charts/app/templates/rbac.yaml": TEMPLATE.replace("roleRef:", "# widened\nroleRef:"),
              "charts/app/templates/_helpers.tpl": '{{- define "app.fullname" -}}x{{- end }}\n',
              "charts/app/templates/NOTES.txt": "Installed {{ .Release.Name }}!\n"}


def test_an_agents_chart_template_change_blocks_as_nhi107_not_nhi901(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    code, found, report = _check(make_repo, capsys, CHART_BASE, CHART_HEAD, CLAUDE)
    assert code == 1
    # The chart cannot render (its template includes an undefined helper): said once for the
    # chart, on the first changed YAML template, with the reason and the other changed
    # templates of the same commit counted (`sources.render.chart_problems`; issue 12, fixT).
    assert found == {("NHI107", "charts/app/templates/rbac.yaml", 1, "error", True)}
    [finding] = [f for f in report["findings"] if f["path"].endswith("rbac.yaml")]
    assert finding["message"].endswith("; 1 more changed template of the chart not checked")
    assert finding["actor_kind"] == "agent" and finding["commit"]
    assert "Helm chart template (chart charts/app/)" in finding["message"]
    assert "helm template charts/app" in finding["message"]


def test_a_humans_chart_template_change_is_a_note_and_passes(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    code, found, report = _check(make_repo, capsys, CHART_BASE, CHART_HEAD, HUMAN)
    assert code == 0
    assert found == {("NHI107", "charts/app/templates/rbac.yaml", 1, "note", False)}
    assert report["findings"][0]["actor_kind"] == "human"


def test_a_templates_folder_outside_a_chart_holds_plain_manifests(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    """No `Chart.yaml` above it: the binding an agent adds under `templates/` is judged."""
    code, found, _ = _check(make_repo, capsys, {"README.md": "x\n"},
                            {"deploy/templates/crb.yaml": PLAIN_CRB}, CLAUDE)
    assert code == 1
    rules = {r for r, *_ in found}
    assert {"NHI101", "NHI301"} <= rules and "NHI107" not in rules


def test_chart_yaml_deleted_at_head_makes_the_folder_plain_again(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    """A chart is decided at each revision: without `Chart.yaml` the file is a manifest."""
    code, found, _ = _check(
        make_repo, capsys, {"c/Chart.yaml": CHART, "c/templates/crb.yaml": "kind: x\n"},
        {"c/Chart.yaml": None, "c/templates/crb.yaml": PLAIN_CRB}, CLAUDE)
    assert code == 1
    assert "NHI301" in {r for r, *_ in found}
    assert "NHI107" not in {r for r, *_ in found}


@pytest.mark.parametrize(("text", "agent_level"), [(JINJA_CRB, "error"), (JINJA_CONFIG, "note")])
def test_jinja_yaml_is_nhi107_error_only_when_an_agents_text_can_define_an_identity(
    make_repo: Callable[..., GitRepo], capsys: Any, text: str, agent_level: str
) -> None:
    line = text.splitlines().index(next(x for x in text.splitlines() if "{" in x and (
        "{%" in x or "{{" in x))) + 1
    code, found, _ = _check(make_repo, capsys, {"README.md": "x\n"}, {"docs/rbac.yaml": text},
                            CLAUDE)
    assert found == {("NHI107", "docs/rbac.yaml", line, agent_level, agent_level == "error")}
    assert code == (1 if agent_level == "error" else 0)


def test_jinja_yaml_changed_by_a_human_is_a_note(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    code, found, _ = _check(make_repo, capsys, {"README.md": "x\n"},
                            {"docs/rbac.yaml": JINJA_CRB}, HUMAN)
    assert code == 0
    assert found == {("NHI107", "docs/rbac.yaml", 1, "note", False)}


def _staged_hook(make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch,
                 capsys: Any, author: Identity) -> tuple[int, Found]:
    repo = make_repo()
    repo.commit(CHART_BASE, author=HUMAN)
    repo.stage(CHART_HEAD)
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", author[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", author[1])
    code = main(["hook", "--format", "json"])
    return code, _found(json.loads(capsys.readouterr().out))


@pytest.mark.parametrize(("author", "level", "code"), [(CLAUDE, "error", 1), (HUMAN, "note", 0)])
def test_hook_on_a_staged_chart_template(
    make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch, capsys: Any,
    author: Identity, level: str, code: int,
) -> None:
    got, found = _staged_hook(make_repo, monkeypatch, capsys, author)
    assert got == code
    assert found == {("NHI107", "charts/app/templates/rbac.yaml", 1, level, level == "error")}


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("target", [".", "charts/app", "charts/app/templates",
                                    "charts/app/templates/rbac.yaml"])
def test_scan_of_a_chart_is_a_note_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, target: str
) -> None:
    """However the chart is named on the command line, its template is a chart template."""
    _write(tmp_path, {**CHART_BASE, "plain/templates/crb.yaml": PLAIN_CRB,
                      "docs/snippet.yaml": JINJA_CRB})
    monkeypatch.chdir(tmp_path)
    code = main(["scan", target, "--format", "json"])
    found = _found(json.loads(capsys.readouterr().out))
    template = [f for f in found if f[1].endswith("templates/rbac.yaml")]
    assert [(r, line, level, b) for r, _, line, level, b in template] == [
        ("NHI107", 1, "note", False)]
    assert not any(r == "NHI901" for r, *_ in found)
    if target == ".":
        assert ("NHI107", "docs/snippet.yaml", 1, "note", False) in found
        assert ("NHI301", "plain/templates/crb.yaml", 4, "error", True) in found
        assert code == 1
    else:
        assert code == 0


def test_a_real_yaml_error_without_template_tags_stays_nhi901(
    tmp_path: Path, capsys: Any
) -> None:
    target = tmp_path / "sa.yaml"
    target.write_text("apiVersion: v1\nkind: ServiceAccount\nmetadata: [unclosed\n")
    code = main(["scan", str(target), "--format", "json"])
    found = {(r, level) for r, _, _, level, _ in _found(json.loads(capsys.readouterr().out))}
    assert code == 1 and found == {("NHI901", "error")}


@pytest.mark.parametrize(("text", "expected"), [
    ("{% if x %}\na: 1\n{% endif %}\n", ("Jinja template", 1)),
    ("a: 1\n{# note #}\n", ("Jinja template", 2)),
    ("a:\n  {{- toYaml .Values.x | nindent 2 }}\n", ("Go template", 2)),
    ("a: {{ value }}\n", ("template", 1)),
    ("run: echo ${{ github.sha }}\n", None),  # GitHub Actions expression, not a template tag
    ("a: [unclosed\n", None),
])  # fmt: skip
def test_template_language(text: str, expected: tuple[str, int] | None) -> None:
    assert template_language(text) == expected


# ------------------------------------------------------------------ the engine's actor-aware level


def _ctx(mode: str, files: tuple[ChangedFile, ...], provenance: dict[str, Provenance],
         committer: Provenance | None = None) -> Context:
    return Context(mode=mode, config=Config(), catalogue=load_catalogue(),
                   admin_table=load_admin_table(), changeset=ChangeSet("b", "h", files=files),
                   provenance=provenance, committer=committer)


AGENT = Provenance("a1", "agent", "claude")
PERSON = Provenance("h1", "human")
TEMPLATE_PROBLEM = ParseProblem("c/templates/x.yaml", "NHI107", "c/templates/x.yaml: template")
INERT_PROBLEM = ParseProblem("docs/x.yaml", "NHI107", "docs/x.yaml: Jinja", 3, variant="inert")


@pytest.mark.parametrize(("problem", "files", "ctx_mode", "expected"), [
    # the path's own commits decide: an agent's change is an error, a person's a note
    (TEMPLATE_PROBLEM, (ChangedFile("c/templates/x.yaml", "M", commits=("a1",)),), "check",
     ("error", "agent", ("a1",))),
    (TEMPLATE_PROBLEM, (ChangedFile("c/templates/x.yaml", "M", commits=("h1", "a1")),),
     "check", ("error", "agent", ("h1", "a1"))),
    (TEMPLATE_PROBLEM, (ChangedFile("c/templates/x.yaml", "M", commits=("h1",)),), "check",
     ("note", "human", ("h1",))),
    # a path the change did not touch (a chart rendered again): every changed file's commits
    (TEMPLATE_PROBLEM, (ChangedFile("c/values.yaml", "M", commits=("a1",)),), "check",
     ("error", "agent", ("a1",))),
    # a commit with no provenance is an unknown actor: fail closed
    (TEMPLATE_PROBLEM, (ChangedFile("c/templates/x.yaml", "M", commits=("u1",)),), "check",
     ("error", "unknown", ("u1",))),
    # a template that cannot define an identity is a note even for an agent
    (INERT_PROBLEM, (ChangedFile("docs/x.yaml", "A", commits=("a1",)),), "check",
     ("note", "agent", ("a1",))),
    (TEMPLATE_PROBLEM, (), "scan", ("note", None, ())),
    # NHI9xx levels never depend on the actor
    (ParseProblem("x.yaml", "NHI901", "x.yaml: syntax"),
     (ChangedFile("x.yaml", "M", commits=("h1",)),), "check", ("error", None, ())),
])  # fmt: skip
def test_problem_level_follows_who_changed_the_path(
    problem: ParseProblem, files: tuple[ChangedFile, ...], ctx_mode: str,
    expected: tuple[str, str | None, tuple[str, ...]],
) -> None:
    ctx = _ctx(ctx_mode, files, {"a1": AGENT, "h1": PERSON})
    [finding] = problem_findings([problem], ctx.config, load_rule_docs(), ctx)
    assert (finding.level, finding.actor_kind, finding.commits) == expected
    assert finding.location.start_line == problem.line


def test_problem_level_in_hook_mode_is_the_committers() -> None:
    files = (ChangedFile("c/templates/x.yaml", "M"),)
    for committer, level in ((AGENT, "error"), (PERSON, "note")):
        ctx = _ctx("hook", files, {}, committer)
        [finding] = problem_findings([TEMPLATE_PROBLEM], ctx.config, load_rule_docs(), ctx)
        assert (finding.level, finding.actor_kind) == (level, committer.actor_kind)


def test_problem_without_context_is_the_scan_note() -> None:
    [finding] = problem_findings([TEMPLATE_PROBLEM], Config(), load_rule_docs())
    assert (finding.level, finding.actor_kind) == ("note", None)


def test_sarif_notification_of_a_template_has_its_findings_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    _write(tmp_path, CHART_BASE)
    monkeypatch.chdir(tmp_path)
    assert main(["scan", ".", "--format", "sarif"]) == 0
    [run] = json.loads(capsys.readouterr().out)["runs"]
    [note] = run["invocations"][0]["toolExecutionNotifications"]
    [result] = run["results"]
    assert (note["descriptor"]["id"], note["level"]) == ("NHI107", "note")
    assert (result["ruleId"], result["level"]) == ("NHI107", "note")


def test_template_test_is_linear_in_the_text() -> None:
    """It runs before any budgeted parse, on a file an agent wrote: a line of a million `{{`
    (or `${{ }}` pairs) must cost what its length costs, not its square."""
    start = time.process_time()
    assert template_language("a: " + "{{" * 1_000_000 + "\n") is None
    assert template_language(("${{ x }}" * 100_000 + "\n") * 5) is None
    assert time.process_time() - start < 2.0
