"""Issue 12, the attacker's second round of Terraform bypasses and false blocks: a command or a
remote module argument changed through its inputs, documents read through `fileset()` or a
decoded file, a grant turned off by `count`, and functions the evaluator computes that NHI106
called unknown. Real git repositories in temp dirs, `check` through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

CLAUDE = ("Claude", "noreply@anthropic.com")


def _run(make_repo: Callable[..., GitRepo], base: dict[str, str], head: dict[str, str],
         author: tuple[str, str], capsys: Any) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author)
    return check_findings(repo, sha, capsys)


def _rules(findings: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    return sorted((f["rule_id"], f["level"], f["blocking"]) for f in findings)


#: function -> an action list that computes to `iam:*` with it.
COMPUTED = {
    "concat": 'concat(["s3:GetObject"], ["iam:*"])',
    "flatten": 'flatten([["s3:GetObject"], ["iam:*"]])',
    "distinct": 'distinct(["s3:GetObject", "iam:*", "iam:*"])',
}
DOCUMENT = """\
data "aws_iam_policy_document" "d" {
  statement {
    actions   = %s
    resources = ["*"]
  }
}
"""
INLINE = """\
resource "aws_iam_role_policy" "ci" {
  name = "ci"
  role = "ci"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = %s, Resource = ["*"] }]
  })
}
"""


@pytest.mark.parametrize("template", [DOCUMENT, INLINE], ids=["document", "jsonencode"])
@pytest.mark.parametrize("function", sorted(COMPUTED))
def test_a_computed_function_is_not_an_unknown_function(
        function: str, template: str, make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base = {"main.tf": template % '["s3:GetObject"]'}
    head = {"main.tf": template % COMPUTED[function]}
    code, findings = _run(make_repo, base, head, CLAUDE, capsys)
    assert code == 1
    assert [f["message"] for f in findings if f["rule_id"] == "NHI106"] == []
    assert ("NHI302", "error", True) in _rules(findings)  # iam:* gained, computed
    gained = next(f["message"] for f in findings if f["rule_id"] == "NHI302")
    assert "iam:*" in gained


RUN = 'resource "null_resource" "b" {\n  provisioner "local-exec" {\n    command = %s\n  }\n}\n'
GRANT = ("aws iam attach-role-policy --role-name ci "
         "--policy-arn arn:aws:iam::aws:policy/AdministratorAccess")
SOURCE = "git::https://github.com/org/tf-iam.git?ref=0123456789abcdef0123456789abcdef01234567"
CALL = 'module "ci" {\n  source = "' + SOURCE + '"\n  %s = %s\n}\n'
VARIABLE = 'variable "%s" {\n  type = string\n}\n'
DEFAULT = 'variable "%s" {\n  type    = string\n  default = "%s"\n}\n'
LOCALS = 'locals {\n  %s = "%s"\n}\n'

#: attack -> (base files, head files, NHI106 address, its line, the input it names).
INDIRECT: dict[str, tuple[dict[str, str], dict[str, str], str, int, str]] = {
    "tf-cmdvar": ({"main.tf": VARIABLE % "cmd" + RUN % "var.cmd",
                   "terraform.tfvars": 'cmd = "echo hi"\n'},
                  {"terraform.tfvars": f'cmd = "{GRANT}"\n'},
                  "null_resource.b.provisioner.local-exec", 6, "via var.cmd (terraform.tfvars:1)"),
    "tf-cmdlocal": ({"locals.tf": LOCALS % ("cmd", "echo hi"), "main.tf": RUN % "local.cmd"},
                    {"locals.tf": LOCALS % ("cmd", GRANT)},
                    "null_resource.b.provisioner.local-exec", 3, "via local.cmd (locals.tf:2)"),
    "tf-cmdlocal-same": ({"main.tf": LOCALS % ("cmd", "echo hi") + RUN % "local.cmd"},
                         {"main.tf": LOCALS % ("cmd", GRANT) + RUN % "local.cmd"},
                         "null_resource.b.provisioner.local-exec", 6,
                         "via local.cmd (main.tf:2)"),
    "mod-tfvars": ({"main.tf": DEFAULT % ("admin", "no") + CALL % ("admin", "var.admin"),
                    "terraform.tfvars": 'admin = "no"\n'},
                   {"terraform.tfvars": 'admin = "yes"\n'}, "module.ci", 7,
                   "its arguments changed: admin; "),
    "mod-default": ({"main.tf": DEFAULT % ("mode", "reader") + CALL % ("mode", "var.mode")},
                    {"main.tf": DEFAULT % ("mode", "poweruser") + CALL % ("mode", "var.mode")},
                    "module.ci", 7, "via var.mode (main.tf:3)"),
    "mod-envtfvars": ({"main.tf": VARIABLE % "mode" + CALL % ("mode", "var.mode"),
                       "envs/prod.tfvars": 'mode = "reader"\n'},
                      {"envs/prod.tfvars": 'mode = "poweruser"\n'}, "module.ci", 6,
                      "via var.mode (envs/prod.tfvars:1)"),
    "mod-local": ({"locals.tf": LOCALS % ("policy", "ReadOnlyAccess"),
                   "main.tf": CALL % ("policy", "local.policy")},
                  {"locals.tf": LOCALS % ("policy", "AdministratorAccess")}, "module.ci", 3,
                  "via local.policy (locals.tf:2)"),
    "mod-local-same": ({"main.tf": LOCALS % ("policy", "ReadOnlyAccess")
                        + CALL % ("policy", "local.policy")},
                       {"main.tf": LOCALS % ("policy", "AdministratorAccess")
                        + CALL % ("policy", "local.policy")}, "module.ci", 6,
                       "via local.policy (main.tf:2)"),
}


@pytest.mark.parametrize("attack", sorted(INDIRECT))
def test_an_agents_change_of_what_a_command_or_module_argument_reads_is_blocked(
        attack: str, make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base, head, address, line, part = INDIRECT[attack]
    code, findings = _run(make_repo, base, head, CLAUDE, capsys)
    assert code == 1
    nhi106 = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["address"], f["start_line"], f["level"], f["blocking"]) for f in nhi106] == [
        (address, line, "error", True)]
    assert part in nhi106[0]["message"]
    assert "AdministratorAccess" not in nhi106[0]["message"]  # never a value


@pytest.mark.parametrize("attack", sorted(INDIRECT))
def test_a_persons_change_of_what_a_command_or_module_argument_reads_is_a_note_at_most(
        attack: str, make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base, head, address, _, _ = INDIRECT[attack]
    code, findings = _run(make_repo, base, head, HUMAN, capsys)
    assert code == 0
    assert {(f["rule_id"], f["level"]) for f in findings} <= {("NHI106", "note")}
    assert all(f["address"] == address for f in findings)


def test_a_command_reading_an_unchanged_value_is_not_judged(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base = {"main.tf": VARIABLE % "cmd" + RUN % "var.cmd", "terraform.tfvars": 'cmd = "x"\n'}
    head = {"terraform.tfvars": 'cmd = "x"  # same value\n'}
    code, findings = _run(make_repo, base, head, CLAUDE, capsys)
    assert (code, findings) == (0, [])


POWER = """\
resource "aws_iam_role_policy_attachment" "a" {
  %s
  role       = "ci"
  policy_arn = "arn:aws:iam::aws:policy/PowerUserAccess"
}
"""
EACH = POWER.replace('role       = "ci"', 'role       = each.value')


@pytest.mark.parametrize("base, head", [
    ({"main.tf": POWER % "count      = 1"}, {"main.tf": POWER % "count      = 0"}),
    ({"main.tf": 'variable "n" {\n  default = 1\n}\n' + POWER % "count = var.n"},
     {"main.tf": 'variable "n" {\n  default = 0\n}\n' + POWER % "count = var.n"}),
    ({"main.tf": EACH % 'for_each = toset(["ci"])'}, {"main.tf": EACH % "for_each = toset([])"}),
], ids=["count", "count-default", "for_each"])
def test_an_agent_turning_a_grant_off_is_a_note(
        base: dict[str, str], head: dict[str, str], make_repo: Callable[..., GitRepo],
        capsys: Any) -> None:
    code, findings = _run(make_repo, base, head, CLAUDE, capsys)
    assert code == 0
    assert _rules(findings) == [("NHI302", "note", False)]
    assert "turned off" in findings[0]["message"]


def test_an_agent_turning_a_grant_on_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base, head = {"main.tf": POWER % "count      = 0"}, {"main.tf": POWER % "count      = 1"}
    code, findings = _run(make_repo, base, head, CLAUDE, capsys)
    assert code == 1
    assert ("NHI101", "error", True) in _rules(findings)


SCRIPTED = """\
resource "null_resource" "b" {
  triggers = { h = filesha256("${path.module}/scripts/setup.sh") }
  provisioner "local-exec" {
    command = "${path.module}/scripts/setup.sh"
  }
}
"""


@pytest.mark.parametrize("author, level", [(CLAUDE, "error"), (HUMAN, "note")])
def test_a_change_of_only_the_script_a_command_runs_is_a_change_of_the_command(
        author: tuple[str, str], level: str, make_repo: Callable[..., GitRepo],
        capsys: Any) -> None:
    base = {"main.tf": SCRIPTED, "scripts/setup.sh": "#!/bin/sh\necho hello\n"}
    head = {"scripts/setup.sh": f"#!/bin/sh\necho hello\n{GRANT}\n"}
    code, findings = _run(make_repo, base, head, author, capsys)
    assert code == (1 if level == "error" else 0)
    nhi106 = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["address"], f["start_line"], f["level"]) for f in nhi106] == [
        ("null_resource.b.provisioner.local-exec", 4, level)]
    assert "(./scripts/setup.sh)" in nhi106[0]["message"]
    assert 'via script("scripts/setup.sh") (scripts/setup.sh:1)' in nhi106[0]["message"]
    assert "it runs aws iam attach-role-policy" in nhi106[0]["message"]


def test_a_script_the_agent_did_not_change_is_not_judged(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base = {"main.tf": SCRIPTED, "scripts/setup.sh": "#!/bin/sh\necho hello\n",
            "scripts/other.sh": "echo a\n"}
    head = {"scripts/other.sh": f"{GRANT}\n"}
    code, findings = _run(make_repo, base, head, CLAUDE, capsys)
    assert (code, findings) == (0, [])


YAML_GRANTS = """\
locals { cfg = yamldecode(file("${path.module}/iam.yaml")) }
resource "aws_iam_role_policy_attachment" "a" {
  for_each   = toset(local.cfg.policies)
  role       = "ci"
  policy_arn = each.value
}
"""
JSON_GRANTS = YAML_GRANTS.replace("yamldecode", "jsondecode").replace("iam.yaml", "iam.json")
CSV_GRANTS = """\
locals {
  rows = csvdecode(file("${path.module}/grants.csv"))
}
resource "google_project_iam_member" "m" {
  for_each = { for r in local.rows : r.member => r }
  project  = "p"
  role     = each.value.role
  member   = each.value.member
}
"""
RO, ADMIN = "arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AdministratorAccess"
SA = "serviceAccount:ci@p.iam.gserviceaccount.com"
#: decoder -> (base files, the decoded file at head, its path, the NHI302 line).
DECODED: dict[str, tuple[dict[str, str], str, str, int]] = {
    "yamldecode": ({"main.tf": YAML_GRANTS, "iam.yaml": f"policies:\n  - {RO}\n"},
                   f"policies:\n  - {RO}\n  - {ADMIN}\n", "iam.yaml", 5),
    "jsondecode": ({"main.tf": JSON_GRANTS, "iam.json": json.dumps({"policies": [RO]})},
                   json.dumps({"policies": [RO, ADMIN]}), "iam.json", 5),
    "csvdecode": ({"main.tf": CSV_GRANTS, "grants.csv": f"member,role\n{SA},roles/viewer\n"},
                  f"member,role\n{SA},roles/owner\n", "grants.csv", 7),
}


@pytest.mark.parametrize("decoder", sorted(DECODED))
def test_grants_decoded_from_a_module_file_are_computed(
        decoder: str, make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base, changed, path, line = DECODED[decoder]
    code, findings = _run(make_repo, base, {path: changed}, CLAUDE, capsys)
    assert code == 1
    assert {(f["rule_id"], f["start_line"], f["blocking"]) for f in findings
            if f["rule_id"] in ("NHI301", "NHI302")} == {("NHI301", line, True),
                                                          ("NHI302", line, True)}
    gained = next(f["message"] for f in findings if f["rule_id"] == "NHI302")
    assert f"({path}:1)" in gained
    assert not [f for f in findings if f["rule_id"] == "NHI106"]


@pytest.mark.parametrize("decoder", sorted(DECODED))
def test_a_persons_change_of_a_decoded_file_does_not_block(
        decoder: str, make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base, changed, path, _ = DECODED[decoder]
    code, findings = _run(make_repo, base, {path: changed}, HUMAN, capsys)
    assert code == 0
    assert "NHI302" in {f["rule_id"] for f in findings}  # reported, not blocking
    assert not any(f["blocking"] for f in findings)


FILESET = """\
resource "aws_iam_policy" "p" {
  for_each = fileset("${path.module}/policies", "*.json")
  name     = each.key
  policy   = file("${path.module}/policies/${each.value}")
}
"""
READ_ONLY = '{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}\n'
EVERYTHING = '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}\n'


@pytest.mark.parametrize("changed", ["policies/admin.json", "policies/ro.json"],
                         ids=["added", "edited"])
@pytest.mark.parametrize("author, level", [(CLAUDE, "error"), (HUMAN, "note")])
def test_a_policy_file_a_fileset_selects_fails_closed_naming_fileset(
        changed: str, author: tuple[str, str], level: str, make_repo: Callable[..., GitRepo],
        capsys: Any) -> None:
    base = {"main.tf": FILESET, "policies/ro.json": READ_ONLY}
    code, findings = _run(make_repo, base, {changed: EVERYTHING}, author, capsys)
    assert code == (1 if level == "error" else 0)
    nhi106 = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["address"], f["start_line"], f["level"]) for f in nhi106] == [
        ("aws_iam_policy.p", 2, level)]
    assert '`fileset("policies/*.json")` (unknown function fileset())' in nhi106[0]["message"]
    assert f"({changed}:1)" in nhi106[0]["message"]


def test_a_file_beside_the_fileset_glob_is_not_judged(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base = {"main.tf": FILESET, "policies/ro.json": READ_ONLY}
    code, findings = _run(make_repo, base, {"policies/notes.txt": "x\n"}, CLAUDE, capsys)
    assert (code, findings) == (0, [])
