"""Issue 12, the new-user and attacker passes of session 8: inputs of an identity that were
read silently (a grant's resource a variable no one sets, a decoded or templated file, a
`fileset()` over a variable's directory, a script a command runs) must never pass an agent's
change without a finding. Real git repositories in temp dirs, `check` through the CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

CLAUDE = ("Claude", "noreply@anthropic.com")


def _run(make_repo: Callable[..., GitRepo], base: dict[str, str | None],
         head: dict[str, str | None], author: tuple[str, str], capsys: Any
         ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author)
    return check_findings(repo, sha, capsys)


def _found(findings: list[dict[str, Any]], rule: str) -> list[tuple[str, int, str, bool]]:
    return [(f["address"], f["start_line"], f["level"], f["blocking"]) for f in findings
            if f["rule_id"] == rule]


RESOURCE_VAR = """\
variable "arn" {
  type = string
}
resource "aws_iam_role_policy" "ci" {
  name   = "ci"
  role   = "ci"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["s3:GetObject"], Resource = %s }]
  })
}
"""


@pytest.mark.parametrize("author, level, blocking", [(CLAUDE, "error", True),
                                                     (HUMAN, "error", False)])
def test_a_resource_changed_to_a_variable_no_one_sets_is_named(
        author: tuple[str, str], level: str, blocking: bool,
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base = {"main.tf": RESOURCE_VAR % '"arn:aws:s3:::b/*"'}
    head = {"main.tf": RESOURCE_VAR % "var.arn"}
    code, findings = _run(make_repo, base, head, author, capsys)
    assert code == (1 if blocking else 0)
    assert _found(findings, "NHI302") == [("aws_iam_role_policy.ci", 9, level, blocking)]
    message = next(f["message"] for f in findings if f["rule_id"] == "NHI302")
    assert "gains s3:GetObject on ${var.arn} (var.arn not known before apply" in message


def test_a_wildcard_resource_changed_to_a_variable_is_still_a_narrowing(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base = {"main.tf": RESOURCE_VAR % '"*"'}
    head = {"main.tf": RESOURCE_VAR % "var.arn"}
    code, findings = _run(make_repo, base, head, CLAUDE, capsys)
    assert code == 0
    assert [(f["rule_id"], f["level"]) for f in findings] == [("NHI302", "note")]


RUN = 'resource "null_resource" "b" {\n  provisioner "local-exec" {\n    command = %s\n  }\n}\n'
EXTERNAL = 'data "external" "e" {\n  program = %s\n}\n'
PY_GRANT = ("import subprocess\nsubprocess.run(['aws', 'iam', 'attach-role-policy', "
            "'--role-name', 'ci', '--policy-arn', "
            "'arn:aws:iam::aws:policy/AdministratorAccess'])\n")
SH_GRANT = "aws iam attach-role-policy --role-name ci --policy-arn x\n"
#: case -> (the .tf file, the script's path, its base text, head text, NHI106 address, line).
SCRIPTS: dict[str, tuple[str, str, str, str, str, int]] = {
    "py-module": (RUN % '"python3 ${path.module}/scripts/grant.py"', "scripts/grant.py",
                  "print('hi')\n", PY_GRANT, "null_resource.b.provisioner.local-exec", 3),
    "py-relative": (RUN % '"python3 scripts/grant.py"', "scripts/grant.py", "print('hi')\n",
                    PY_GRANT, "null_resource.b.provisioner.local-exec", 3),
    "sh-relative": (RUN % '"./scripts/setup.sh"', "scripts/setup.sh", "echo hi\n", SH_GRANT,
                    "null_resource.b.provisioner.local-exec", 3),
    "external-py": (EXTERNAL % '["python3", "${path.module}/ext.py"]', "ext.py",
                    "print('{}')\n", PY_GRANT, "data.external.e", 2),
}


@pytest.mark.parametrize("case", sorted(SCRIPTS))
@pytest.mark.parametrize("author, level", [(CLAUDE, "error"), (HUMAN, "note")])
def test_an_edit_of_a_python_or_relative_script_a_command_runs_fails_closed(
        case: str, author: tuple[str, str], level: str, make_repo: Callable[..., GitRepo],
        capsys: Any) -> None:
    tf, script, before, after, address, line = SCRIPTS[case]
    base: dict[str, str | None] = {"infra/main.tf": tf, f"infra/{script}": before}
    code, findings = _run(make_repo, base, {f"infra/{script}": after}, author, capsys)
    assert code == (1 if level == "error" else 0)
    assert _found(findings, "NHI106") == [(address, line, level, level == "error")]
    message = next(f["message"] for f in findings if f["rule_id"] == "NHI106")
    assert f'via script("infra/{script}") (infra/{script}:1)' in message
    assert "it runs aws iam attach-role-policy" in message


def test_a_python_file_no_command_runs_is_not_judged(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base: dict[str, str | None] = {"infra/main.tf": RUN % '"python3 scripts/grant.py"',
                                   "infra/scripts/grant.py": "print('hi')\n",
                                   "infra/scripts/other.py": "print('a')\n"}
    code, findings = _run(make_repo, base, {"infra/scripts/other.py": PY_GRANT}, CLAUDE, capsys)
    assert (code, findings) == (0, [])


ROLE = """\
resource "aws_iam_role_policy" "ci" {
  name   = "ci"
  role   = "ci"
  policy = %s
}
"""
DECODED_LOCAL = "locals {\n  doc = %s\n}\n" + ROLE % "jsonencode(local.doc)"
YAML_RO = "Statement:\n- Effect: Allow\n  Action: s3:GetObject\n  Resource: '*'\n"
YAML_ALL = "Statement:\n- Effect: Allow\n  Action: '*'\n  Resource: '*'\n"
JSON_RO = '{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}\n'
JSON_ALL = '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}\n'


def test_a_template_outside_the_module_without_template_syntax_is_computed(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    call = 'yamldecode(templatefile("${path.module}/../shared/policy.yaml", {}))'
    base: dict[str, str | None] = {"iam/main.tf": DECODED_LOCAL % call,
                                   "shared/policy.yaml": YAML_RO}
    code, findings = _run(make_repo, base, {"shared/policy.yaml": YAML_ALL}, CLAUDE, capsys)
    assert code == 1
    assert _found(findings, "NHI302") == [("aws_iam_role_policy.ci", 7, "error", True)]
    assert "(shared/policy.yaml:1)" in next(f["message"] for f in findings
                                             if f["rule_id"] == "NHI302")
    assert _found(findings, "NHI106") == []


#: case -> (base files, the changed file and its head text, the NHI106 line, its reason).
UNCOMPUTED: dict[str, tuple[dict[str, str | None], str, str, int, str]] = {
    "template-outside": (
        {"iam/main.tf": DECODED_LOCAL % (
            'yamldecode(templatefile("${path.module}/../shared/p.yaml", { svc = "s3" }))'),
         "shared/p.yaml": YAML_RO.replace("s3:", "${svc}:")},
        "shared/p.yaml", YAML_ALL + "# ${svc}\n", 7,
        "file not read: shared/p.yaml (templatefile() result not computed)"),
    "path-root-decoded": (
        {"iam/main.tf": DECODED_LOCAL % 'jsondecode(file("${path.root}/policies/p.json"))',
         "policies/p.json": JSON_RO},
        "policies/p.json", JSON_ALL, 7,
        "file not read: policies/p.json (${path.root}/policies/p.json: path.root is the "
        "directory of the root module that calls this one, not known)"),
    "path-root-file": (
        {"iam/main.tf": ROLE % 'file("${path.root}/policies/p.json")',
         "policies/p.json": JSON_RO},
        "policies/p.json", JSON_ALL, 4, "file not read: policies/p.json (${path.root}/"),
}


@pytest.mark.parametrize("case", sorted(UNCOMPUTED))
@pytest.mark.parametrize("author, level", [(CLAUDE, "error"), (HUMAN, "note")])
def test_an_edit_of_a_file_read_but_not_computed_fails_closed(
        case: str, author: tuple[str, str], level: str, make_repo: Callable[..., GitRepo],
        capsys: Any) -> None:
    base, path, text, line, reason = UNCOMPUTED[case]
    code, findings = _run(make_repo, base, {path: text}, author, capsys)
    assert code == (1 if level == "error" else 0)
    assert _found(findings, "NHI106") == [
        ("aws_iam_role_policy.ci", line, level, level == "error")]
    message = next(f["message"] for f in findings if f["rule_id"] == "NHI106")
    assert reason in message
    assert f'via file("{path}") ({path}:1)' in message
    assert "s3" not in message  # a literal of the template's variables is never shown


def test_an_absolute_path_fails_closed_when_an_agent_adds_it(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base: dict[str, str | None] = {"iam/main.tf": ROLE % '"{}"'}
    head: dict[str, str | None] = {"iam/main.tf": ROLE % 'file("/etc/policy.json")'}
    code, findings = _run(make_repo, base, head, CLAUDE, capsys)
    assert code == 1
    assert _found(findings, "NHI106") == [("aws_iam_role_policy.ci", 4, "error", True)]
    assert "file not read: /etc/policy.json (path not known before apply, or outside the " \
           "repository)" in next(f["message"] for f in findings if f["rule_id"] == "NHI106")


FILESET = """\
variable "dir" {
  type = string%s
}
locals {
  files = fileset("${path.module}/policies", "*.json")
}
resource "aws_iam_policy" "p" {
  for_each = %s
  name     = each.key
  policy   = file("${path.module}/policies/${each.value}")
}
"""
#: case -> (the .tf file, the NHI106 expression and reason shown).
FILESETS: dict[str, tuple[str, str]] = {
    "variable": (FILESET % ("", 'fileset(var.dir, "*.json")'),
                 '`fileset(var.dir, "*.json")` (unknown function fileset() (directory not known '
                 "before apply: every matching file of the module is an input, files elsewhere "
                 "are not read))"),
    "variable-default": (FILESET % ('\n  default = "policies"', 'fileset(var.dir, "*.json")'),
                         '`fileset("policies/*.json")` (unknown function fileset())'),
    "interpolated": (FILESET % ("", 'fileset("${path.module}/${var.dir}", "*.json")'),
                     '`fileset("${path.module}/${var.dir}", "*.json")` (unknown function '
                     "fileset() (directory not known"),
    "local": (FILESET % ("", "local.files"),
              '`fileset("policies/*.json")` (unknown function fileset())'),
}


@pytest.mark.parametrize("case", sorted(FILESETS))
@pytest.mark.parametrize("author, level", [(CLAUDE, "error"), (HUMAN, "note")])
def test_a_policy_file_added_to_a_fileset_over_an_expression_fails_closed(
        case: str, author: tuple[str, str], level: str, make_repo: Callable[..., GitRepo],
        capsys: Any) -> None:
    tf, shown = FILESETS[case]
    base: dict[str, str | None] = {"main.tf": tf, "policies/ro.json": JSON_RO}
    code, findings = _run(make_repo, base, {"policies/admin.json": JSON_ALL}, author, capsys)
    assert code == (1 if level == "error" else 0)
    line = 9 if case == "variable-default" else 8  # the `for_each` line
    assert _found(findings, "NHI106") == [("aws_iam_policy.p", line, level, level == "error")]
    message = next(f["message"] for f in findings if f["rule_id"] == "NHI106")
    assert shown in message
    assert "(policies/admin.json:1)" in message


def test_a_file_outside_the_pattern_of_a_fileset_over_a_variable_is_not_judged(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base: dict[str, str | None] = {"main.tf": FILESET % ("", 'fileset(var.dir, "*.json")'),
                                   "policies/ro.json": JSON_RO}
    code, findings = _run(make_repo, base, {"policies/notes.txt": "x\n"}, CLAUDE, capsys)
    assert (code, findings) == (0, [])
