"""Values a deploy command line sets (session 11, fixH, attacks `helm-set-in-deploy-script`,
`helmfile-set`, `gha-script-tf-var`): `helm upgrade ... --set rbac.clusterAdmin=true` in a
script or a workflow step, or a helmfile release's `set:`, renders the chart of this repository
with those values (NHI101 and NHI301 on the ClusterRoleBinding they add, addressed under the
file of the call); a value not computed (`--set-file`) or a chart from elsewhere fails closed
(NHI107); a script that hands Terraform `-var 'actions=["*"]'` is NHI107 naming the input.
An agent's change blocks, a person's does not."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity
from test_helm_passed_values import RBAC  # the chart's admin binding template

from checker.cli import main
from checker.commands.deploy_commands import command_values, may_deploy
from checker.policy.config import Config
from checker.sources.render.helm_calls import cli_calls, helmfile_calls

needs_helm = pytest.mark.skipif(
    shutil.which("helm") is None,
    reason="helm is not installed (python scripts/install_helm.py .venv/bin installs it)",
)

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
CHART = {"charts/app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 1.0.0\n",
         "charts/app/values.yaml": "rbac:\n  clusterAdmin: false\n",
         "charts/app/templates/rbac.yaml": RBAC}
WORKFLOW = """\
name: deploy
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
    - uses: actions/checkout@v4
    - run: %s
"""
SCRIPT = "#!/bin/sh\nhelm upgrade --install app charts/app -n prod %s\n"
CRB = "ClusterRoleBinding/release-name-admin"


def _check(make_repo: Callable[..., GitRepo], capsys: Any, base: dict[str, str],
           head: dict[str, str], author: Identity = CLAUDE
           ) -> tuple[int, list[tuple[str, str, int, bool]], list[dict[str, Any]]]:
    repo = make_repo()
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author, trailers=[("Requested-by", "Alice <a@x.example>")])
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    found = sorted((f["rule_id"], f["address"] or f["path"], f["start_line"], f["blocking"])
                   for f in report["findings"])
    return code, found, report["findings"]


def _script(flags: str) -> dict[str, str]:
    return {**CHART, ".github/workflows/deploy.yml": WORKFLOW % "./scripts/deploy.sh",
            "scripts/deploy.sh": SCRIPT % flags}


@needs_helm
@pytest.mark.parametrize(("author", "code", "blocking"), [(CLAUDE, 1, True), (HUMAN, 0, False)])
def test_a_set_in_the_deploy_script_renders_the_chart_with_it(
        make_repo: Callable[..., GitRepo], capsys: Any, author: Identity, code: int,
        blocking: bool) -> None:
    got, found, _ = _check(make_repo, capsys, _script(""),
                           _script("--set rbac.clusterAdmin=true"), author)
    assert got == code
    expected = [("NHI301", f"scripts/deploy.sh:{CRB}", 10, blocking)]
    if author == CLAUDE:
        expected.insert(0, ("NHI101", f"scripts/deploy.sh:{CRB}", 3, True))
    assert found == expected


@needs_helm
def test_a_set_in_a_workflow_step_renders_the_chart_with_it(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base = {**CHART, ".github/workflows/deploy.yml": WORKFLOW % "./scripts/deploy.sh"}
    head = {**CHART, ".github/workflows/deploy.yml": WORKFLOW % (
        "helm upgrade --install app charts/app --set-string x=1 --set rbac.clusterAdmin=true")}
    code, found, _ = _check(make_repo, capsys, base, head)
    assert code == 1
    assert found == [("NHI101", f".github/workflows/deploy.yml:{CRB}", 3, True),
                     ("NHI301", f".github/workflows/deploy.yml:{CRB}", 10, True)]


@needs_helm
def test_a_narrowing_set_and_an_unrelated_set_pass(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found, _ = _check(make_repo, capsys, _script("--set rbac.clusterAdmin=true"),
                            _script("--set rbac.clusterAdmin=false --set image.tag=v2"))
    assert (code, found) == (0, [])


HELMFILE = "releases:\n  - name: app\n    namespace: prod\n    chart: ./charts/app\n"


@needs_helm
@pytest.mark.parametrize("release", [
    "    set:\n      - name: rbac.clusterAdmin\n        value: true\n",
    "    values:\n      - rbac: {clusterAdmin: true}\n",
])
def test_a_helmfile_release_set_or_inline_values_render_the_chart(
        make_repo: Callable[..., GitRepo], capsys: Any, release: str) -> None:
    code, found, _ = _check(make_repo, capsys, {**CHART, "helmfile.yaml": HELMFILE},
                            {**CHART, "helmfile.yaml": HELMFILE + release})
    assert code == 1
    assert found == [("NHI101", f"helmfile.yaml:{CRB}", 3, True),
                     ("NHI301", f"helmfile.yaml:{CRB}", 10, True)]


@pytest.mark.parametrize(("flags", "named"), [
    ("--set-file rbac.clusterAdmin=admin.txt", "`--set-file rbac.clusterAdmin` is not computed"),
    ("--set rbac.clusterAdmin=$ADMIN", "`--set rbac.clusterAdmin` is not computed"),
])
@pytest.mark.parametrize(("author", "code", "blocking"), [(CLAUDE, 1, True), (HUMAN, 0, False)])
def test_a_set_value_not_computed_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: Any, flags: str, named: str,
        author: Identity, code: int, blocking: bool) -> None:
    got, found, findings = _check(make_repo, capsys, _script(""), _script(flags), author)
    assert (got, found) == (code, [
        ("NHI107", "scripts/deploy.sh#helm upgrade charts/app", 2, blocking)])
    assert named in findings[0]["message"]
    assert "helm upgrade of the chart charts/app (line 2)" in findings[0]["message"]
    assert "admin.txt" not in findings[0]["message"] and "$ADMIN" not in findings[0]["message"]


def test_a_set_for_a_chart_from_elsewhere_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base = {"deploy.sh": "#!/bin/sh\nhelm upgrade ing ingress-nginx/ingress-nginx\n"}
    head = {"deploy.sh": "#!/bin/sh\nhelm upgrade ing ingress-nginx/ingress-nginx"
                         " --set rbac.scope=false\n"}
    code, found, findings = _check(make_repo, capsys, base, head)
    assert (code, found) == (1, [
        ("NHI107", "deploy.sh#helm upgrade ingress-nginx/ingress-nginx", 2, True)])
    assert "ingress-nginx/ingress-nginx is not in this repository" in findings[0]["message"]


TF = """\
variable "actions" {
  type    = list(string)
  default = ["s3:GetObject"]
}
resource "aws_iam_role_policy" "app" {
  name   = "app"
  role   = "app"
  policy = jsonencode({Statement = [{Effect = "Allow", Action = var.actions, Resource = "*"}]})
}
"""
TF_SCRIPT = "#!/bin/sh\nset -e\nterraform init -input=false\nterraform apply -auto-approve%s\n"


@pytest.mark.parametrize(("author", "code", "blocking"), [(CLAUDE, 1, True), (HUMAN, 0, False)])
def test_a_terraform_var_in_the_deploy_script_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: Any, author: Identity, code: int,
        blocking: bool) -> None:
    base = {"main.tf": TF, ".github/workflows/deploy.yml": WORKFLOW % "terraform apply"}
    head = {"main.tf": TF, ".github/workflows/deploy.yml": WORKFLOW % "./scripts/deploy.sh",
            "scripts/deploy.sh": TF_SCRIPT % " -var 'actions=[\"*\"]'"}
    got, found, findings = _check(make_repo, capsys, base, head, author)
    assert (got, found) == (code, [
        ("NHI107", "scripts/deploy.sh#terraform-inputs", 4, blocking)])
    assert "`-var actions`" in findings[0]["message"]
    assert '"*"' not in findings[0]["message"]


def test_an_unchanged_terraform_var_is_no_finding(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    script = TF_SCRIPT % " -var 'actions=[\"s3:*\"]'"
    code, found, _ = _check(make_repo, capsys, {"main.tf": TF, "deploy": script},
                            {"main.tf": TF, "deploy": script.replace("set -e", "set -eu")})
    assert (code, found) == (0, [])


def test_command_line_values_are_read_in_helms_order() -> None:
    (call,) = cli_calls("helm upgrade app charts/app --set a=1,b.c=true --set-string a=x"
                        " --set-json 'd={\"e\":[1]}' --set-file f=x.txt")
    assert call.sets == "a: x\nb:\n  c: true\nd:\n  e:\n  - 1\n"
    assert call.named == ("--set-json d", "--set a", "--set b.c", "--set-string a",
                          "--set-file f")
    assert call.uncomputed == ("--set-file f",)
    raw = (b"releases:\n- name: a\n  chart: ./c\n  set:\n  - {name: x.y, value: 1}\n"
           b"  - {name: z, file: z.txt}\n  setString:\n  - {name: n, value: 2}\n")
    (release,) = helmfile_calls("helmfile.yaml", raw)
    assert (release.sets, release.named, release.uncomputed) == (
        "n: '2'\nx:\n  y: 1\n", ("set x.y", "set z", "setString n"), ("set z",))
    assert may_deploy("bin/deploy", b"#!/bin/bash\n") and not may_deploy("bin/x", b"ELF")


def test_several_calls_of_one_chart_are_matched_with_base_as_a_set() -> None:
    """Two installs of one chart with other values (staging, prod), the script edited
    elsewhere: neither call changed, so nothing is rendered or reported."""
    calls = ("helm upgrade app charts/app --set env=staging\n"
             "helm upgrade app charts/app --set env=prod\n")
    jobs, problems = command_values({"d.sh": f"#!/bin/sh\nset -e\n{calls}".encode()},
                                    {"d.sh": f"#!/bin/sh\n{calls}".encode()},
                                    ["charts/app/Chart.yaml"], Config())
    assert (jobs, problems) == ([], [])
    jobs, _ = command_values({"d.sh": calls.replace("prod", "prod,admin=true").encode()},
                             {"d.sh": calls.encode()}, ["charts/app/Chart.yaml"], Config())
    assert [(j.owner, j.line, j.sets, j.base_sets) for j in jobs] == [
        ("d.sh", 2, "admin: true\nenv: prod\n", "env: prod\n")]


GRANT_SCRIPT = ("#!/bin/sh\nset -e\naws iam attach-role-policy --role-name app \\\n"
                "  --policy-arn %s\n")


@pytest.mark.parametrize(("author", "code", "blocking"), [(CLAUDE, 1, True), (HUMAN, 0, False)])
def test_a_grant_command_added_to_a_script_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: Any, author: Identity, code: int,
        blocking: bool) -> None:
    """A script the deploy step runs gets `aws iam attach-role-policy` (its `--policy-arn`
    on a continuation line changed): NHI107 at the command's line, naming the verb."""
    wf = {".github/workflows/deploy.yml": WORKFLOW % "./scripts/deploy.sh"}
    base = {**wf, "scripts/deploy.sh": GRANT_SCRIPT % "arn:aws:iam::1:policy/read"}
    head = {**wf, "scripts/deploy.sh": GRANT_SCRIPT % "arn:aws:iam::aws:policy/PowerUserAccess"}
    got, found, findings = _check(make_repo, capsys, base, head, author)
    assert (got, found) == (code, [("NHI107", "scripts/deploy.sh#grants", 3, blocking)])
    assert "(`aws iam attach-role-policy`)" in findings[0]["message"]
    got, found, _ = _check(make_repo, capsys, base, {
        **wf, "scripts/deploy.sh": (GRANT_SCRIPT % "arn:aws:iam::1:policy/read") + "echo ok\n"})
    assert (got, found) == (0, [])
