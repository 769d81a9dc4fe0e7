"""The closure, second pass: values an identity reads from files Terraform does not load by
itself or that the parser did not follow. Each case is a real git repo with a human base; the
agent's widening blocks and names the input, the same change by a human does not block."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.cli import main

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
REQUESTED = [("Requested-by", "Alice Example <alice@example.com>")]
META = "# nhi-gate: owner=team-a ticket=OPS-1 expires=2027-01-01\n"

Found = list[tuple[str, int, bool, str]]


def _run(make_repo: Callable[..., GitRepo], capsys: Any, base: dict[str, str],
         head: dict[str, str], author: Identity, name: str = "repo") -> tuple[int, Found]:
    repo = make_repo(name)
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author, trailers=REQUESTED if author == CLAUDE else None)
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["start_line"], f["blocking"], f["message"])
                  for f in report["findings"]]


# --------------------------------------------------------------------------- B3: -var-file files

POLICY_VAR = META + """\
resource "aws_iam_role_policy" "p" {
  name   = "p"
  role   = "app"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = var.actions, Resource = "*" }]
  })
}
variable "actions" { type = list(string) }
"""
TRUST_VAR = META + """\
resource "aws_iam_role" "r" {
  name = "ci"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = {
        Federated = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
      }
      Condition = {
        StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
        StringLike   = { "token.actions.githubusercontent.com:sub" = var.sub }
      }
    }]
  })
}
variable "sub" { type = string }
"""
COUNT_VAR = """\
variable "breakglass" { type = bool }
""" + META + """\
resource "aws_iam_role_policy_attachment" "admin" {
  count      = var.breakglass ? 1 : 0
  role       = "ci"
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
"""
FOR_EACH_VAR = """\
variable "roles" { type = set(string) }
""" + META + """\
resource "google_project_iam_member" "m" {
  for_each = var.roles
  project  = "p"
  role     = each.value
  member   = "serviceAccount:ci@p.iam.gserviceaccount.com"
}
"""
DYNAMIC_VAR = META + """\
resource "aws_iam_policy" "p" {
  name   = "p"
  policy = data.aws_iam_policy_document.d.json
}
variable "stmts" { type = map(list(string)) }
data "aws_iam_policy_document" "d" {
  dynamic "statement" {
    for_each = var.stmts
    content {
      actions   = statement.value
      resources = ["*"]
    }
  }
}
"""

VAR_FILE_CASES = [
    pytest.param(POLICY_VAR, "prod.tfvars", 'actions = ["s3:GetObject"]\n',
                 'actions = ["iam:*"]\n', "var.actions (prod.tfvars:1)", id="actions"),
    pytest.param(POLICY_VAR, "envs/prod.tfvars", 'actions = ["s3:GetObject"]\n',
                 'actions = ["iam:*"]\n', "var.actions (envs/prod.tfvars:1)", id="envs-dir"),
    pytest.param(POLICY_VAR, "vars/ci.tfvars.json", '{"actions": ["s3:GetObject"]}\n',
                 '{"actions": ["iam:*"]}\n', "var.actions (vars/ci.tfvars.json:1)", id="json"),
    pytest.param(TRUST_VAR, "ci.tfvars", 'sub = "repo:org/app:ref:refs/heads/main"\n',
                 'sub = "*"\n', "var.sub (ci.tfvars:1)", id="oidc-sub"),
    pytest.param(COUNT_VAR, "prod.tfvars", "breakglass = false\n", "breakglass = true\n",
                 "var.breakglass (prod.tfvars:1)", id="count"),
    pytest.param(FOR_EACH_VAR, "prod.tfvars", 'roles = ["roles/viewer"]\n',
                 'roles = ["roles/viewer", "roles/owner"]\n', "var.roles (prod.tfvars:1)",
                 id="for-each"),
    pytest.param(DYNAMIC_VAR, "prod.tfvars", 'stmts = { a = ["s3:GetObject"] }\n',
                 'stmts = { a = ["iam:*"] }\n', "var.stmts (prod.tfvars:1)", id="dynamic"),
]


@pytest.mark.parametrize(("tf", "path", "before", "after", "via"), VAR_FILE_CASES)
def test_var_file_widening_by_an_agent_blocks_naming_the_file(
        make_repo: Callable[..., GitRepo], capsys: Any, tf: str, path: str, before: str,
        after: str, via: str) -> None:
    code, found = _run(make_repo, capsys, {"main.tf": tf, path: before}, {path: after}, CLAUDE)
    assert code == 1
    blocking = {rule for rule, _, block, _ in found if block}
    assert "NHI101" in blocking and blocking & {"NHI301", "NHI302"}
    assert all(via in message for _, _, block, message in found if block)


@pytest.mark.parametrize(("tf", "path", "before", "after", "via"), VAR_FILE_CASES)
def test_var_file_widening_by_a_human_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: Any, tf: str, path: str, before: str,
        after: str, via: str) -> None:
    code, found = _run(make_repo, capsys, {"main.tf": tf, path: before}, {path: after}, HUMAN)
    assert code == 0
    assert not [f for f in found if f[2]]


def test_var_file_of_another_module_is_not_read(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    """`other/prod.tfvars` belongs to `other/`, not to the root module; no module is in
    `other/`, so nhi-gate cannot know who reads it: an agent's change of a grant-like value
    fails closed (NHI106, naming the file), never silently (issue 12)."""
    code, found = _run(make_repo, capsys,
                       {"main.tf": POLICY_VAR, "other/prod.tfvars": 'actions = ["s3:Get"]\n'},
                       {"other/prod.tfvars": 'actions = ["iam:*"]\n'}, CLAUDE)
    assert code == 1
    assert [(rule, line, block) for rule, line, block, _ in found] == [("NHI106", 1, True)]
    assert "other/prod.tfvars: a var file read by no module" in found[0][3]


# --------------------------------------------------------------------------- B4: file() reads

DOC = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",'
       '"Resource":"arn:aws:s3:::b/*"}]}\n')
WIDE = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}\n'
YAML_DOC = ('Version: "2012-10-17"\nStatement:\n- Effect: Allow\n  Action: s3:GetObject\n'
            '  Resource: "*"\n')


def _file_policy(call: str) -> str:
    return META + f'resource "aws_iam_policy" "p" {{\n  name   = "p"\n  policy = {call}\n}}\n'


FILE_CASES = [
    pytest.param({"main.tf": _file_policy(
        'jsonencode(jsondecode(file("${path.module}/policy.json")))'), "policy.json": DOC},
        {"policy.json": WIDE}, "main.tf", 'file("policy.json") (policy.json:1)', id="jsondecode"),
    pytest.param({"main.tf": _file_policy(
        'jsonencode(yamldecode(file("${path.module}/policy.yaml")))'), "policy.yaml": YAML_DOC},
        {"policy.yaml": YAML_DOC.replace("s3:GetObject", '"*"')}, "main.tf",
        'file("policy.yaml") (policy.yaml:1)', id="yamldecode"),
    pytest.param({"main.tf": _file_policy('file("${path.module}/${local.f}")'),
                  "locals.tf": 'locals { f = "policy.json" }\n', "policy.json": DOC},
                 {"policy.json": WIDE}, "main.tf", 'file("policy.json") (policy.json:1)',
                 id="path-via-local"),
    pytest.param({"infra/main.tf": _file_policy('file("${path.module}/../shared/policy.json")'),
                  "shared/policy.json": DOC}, {"shared/policy.json": WIDE}, "infra/main.tf",
                 'file("../shared/policy.json") (shared/policy.json:1)', id="outside-module"),
    pytest.param({"main.tf": _file_policy('file("${path.module}/policies/reader")'),
                  "policies/reader": DOC}, {"policies/reader": WIDE}, "main.tf",
                 'file("policies/reader") (policies/reader:1)', id="no-extension"),
    pytest.param({"main.tf": _file_policy('file("${path.module}/policy.jsn")'),
                  "policy.jsn": DOC}, {"policy.jsn": WIDE}, "main.tf",
                 'file("policy.jsn") (policy.jsn:1)', id="other-extension"),
]


def _found_json(capsys: Any) -> dict[str, Any]:
    return dict(json.loads(capsys.readouterr().out))


@pytest.mark.parametrize(("base", "head", "tf", "via"), FILE_CASES)
def test_file_document_widening_by_an_agent_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any, base: dict[str, str],
        head: dict[str, str], tf: str, via: str) -> None:
    code, found = _run(make_repo, capsys, base, head, CLAUDE)
    assert code == 1
    assert {rule for rule, _, block, _ in found if block} == {"NHI101", "NHI301", "NHI302"}
    assert all(via in message for rule, _, _, message in found if rule == "NHI302")


@pytest.mark.parametrize(("base", "head", "tf", "via"), FILE_CASES)
def test_file_document_widening_by_a_human_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: Any, base: dict[str, str],
        head: dict[str, str], tf: str, via: str) -> None:
    code, found = _run(make_repo, capsys, base, head, HUMAN)
    assert code == 0
    assert not [f for f in found if f[2]]


def test_a_file_not_read_is_nhi106_naming_it(tmp_path: Any, capsys: Any) -> None:
    (tmp_path / "main.tf").write_text(_file_policy('file("${path.module}/missing.json")'))
    main(["scan", str(tmp_path), "--format", "json"])
    found = [(f["rule_id"], f["start_line"], f["message"])
             for f in _found_json(capsys)["findings"]]
    assert [(r, line) for r, line, _ in found] == [("NHI106", 4)]
    assert "(file not read: missing.json (not found))" in found[0][2]


# --------------------------------------------------------------------------- B6: terragrunt

MODULE_TF = """\
variable "actions" { type = list(string) }
""" + META + """\
resource "aws_iam_policy" "p" {
  name   = "p"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow",
    Action = var.actions, Resource = "*" }] })
}
"""
TERRAGRUNT_LOCALS = """\
terraform { source = "../../modules/iam" }
locals { acts = ["s3:GetObject"] }
inputs = { actions = local.acts }
"""


@pytest.mark.parametrize(("author", "code", "blocking"), [
    (CLAUDE, 1, {"NHI101", "NHI301"}), (HUMAN, 0, set())])
def test_terragrunt_inputs_read_locals_of_the_same_file(
        make_repo: Callable[..., GitRepo], capsys: Any, author: Identity, code: int,
        blocking: set[str]) -> None:
    wide = TERRAGRUNT_LOCALS.replace('"s3:GetObject"', '"iam:*"')
    got, found = _run(make_repo, capsys, {"modules/iam/main.tf": MODULE_TF,
                                          "live/ci/terragrunt.hcl": TERRAGRUNT_LOCALS},
                      {"live/ci/terragrunt.hcl": wide}, author)
    assert got == code
    assert {rule for rule, _, block, _ in found if block} == blocking
    if author == CLAUDE:
        assert "via local.acts (live/ci/terragrunt.hcl:2)" in next(
            m for rule, _, _, m in found if rule == "NHI301")


# --------------------------------------------------------------------------- B5: time_rotating

ROTATED_PASSWORD = """\
resource "time_rotating" "r" {
  rotation_days = 30
}
""" + META + """\
resource "azuread_application_password" "p" {
  application_id = "/applications/00000000-0000-0000-0000-000000000000"
  end_date       = time_rotating.r.rotation_rfc3339
}
"""
ROTATED_KEY = """\
resource "time_rotating" "r" {
  rotation_days = 30
}
""" + META + """\
resource "google_service_account_key" "k" {
  service_account_id = "projects/p/serviceAccounts/ci@p.iam.gserviceaccount.com"
  keepers            = { rotation_time = time_rotating.r.rotation_rfc3339 }
}
"""


@pytest.mark.parametrize("tf", [ROTATED_PASSWORD, ROTATED_KEY], ids=["password", "sa-key"])
def test_time_rotating_period_is_the_lifetime(
        make_repo: Callable[..., GitRepo], capsys: Any, tf: str) -> None:
    longer = tf.replace("rotation_days = 30", "rotation_days = 3650")
    code, found = _run(make_repo, capsys, {"main.tf": tf}, {"main.tf": longer}, CLAUDE)
    assert code == 1
    message = next(m for rule, _, block, m in found if rule == "NHI302" and block)
    assert "lives longer: 3650 days (was 30)" in message
    assert "via time_rotating.r (main.tf:1)" in message
    code, found = _run(make_repo, capsys, {"main.tf": tf}, {"main.tf": longer}, HUMAN, "human")
    assert code == 0
    assert not [f for f in found if f[2]]
