"""What Terraform runs or fetches that nhi-gate cannot read (issue 12, the hostile tester's
Terraform bypasses): a provisioner's or `external` program's command, a remote module call, a
var file no module reads. Fail closed for agents (NHI106 error), stay quiet for people (a note
at most). Real git repositories in temp dirs, `check` through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main
from checker.parsers.terraform.unread import grant_verbs

CLAUDE = ("Claude", "noreply@anthropic.com")

ROLE = """\
resource "aws_iam_role" "ci" {
  name               = "ci"
  assume_role_policy = "{}"
}
"""
ATTACH = ROLE + """
resource "terraform_data" "attach" {
  provisioner "local-exec" {
    command = "aws iam attach-role-policy --role-name ci --policy-arn ${local.arn}"
  }
}
"""
MODULE = """\
module "ci_user" {
  source = "git::https://github.com/example/tf-mods.git//user?ref=main"
  name   = "ci"
}
"""
ADMIN = MODULE.replace('  name   = "ci"\n', '  name   = "ci"\n  admin  = true\n')
POLICY = """\
variable "actions" { type = list(string) }
resource "aws_iam_role_policy" "ci" {
  name   = "ci"
  role   = "ci"
  policy = jsonencode({ Version = "2012-10-17",
    Statement = [{ Effect = "Allow", Action = var.actions, Resource = ["*"] }] })
}
"""
VARS = "config/prod.tfvars.json"

#: bypass -> (base files, head files, (address, line) of the NHI106 finding, message part).
BYPASSES: dict[str, tuple[dict[str, str], dict[str, str], tuple[str, int], str]] = {
    "provisioner": ({"main.tf": ROLE}, {"main.tf": ATTACH},
                    ("terraform_data.attach.provisioner.local-exec", 8),
                    "it runs aws iam attach-role-policy, which grants access nhi-gate cannot "
                    "compute"),
    "remote-module": ({"main.tf": MODULE}, {"main.tf": ADMIN}, ("module.ci_user", 4),
                      "remote module git::https://github.com/example/tf-mods.git//user?ref=main"
                      " not read, unpinned; its arguments changed: admin"),
    "var-file": ({"main.tf": POLICY, VARS: '{"actions": ["s3:GetObject"]}\n'},
                 {VARS: '{"actions": ["iam:*"]}\n'}, (VARS, 1),
                 "values named like a grant, principal or count changed: actions"),
}


def _check(repo: GitRepo, base: str, capsys: Any, *extra: str) -> tuple[int, list[dict[str, Any]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json", *extra])
    return code, json.loads(capsys.readouterr().out)["findings"]


def _nhi106(findings: list[dict[str, Any]]) -> list[tuple[str, str, int, bool]]:
    return [(f["level"], f["address"], f["start_line"], f["blocking"])
            for f in findings if f["rule_id"] == "NHI106"]


def _repo(make_repo: Callable[..., GitRepo], base: dict[str, str], head: dict[str, str],
          author: tuple[str, str]) -> tuple[GitRepo, str]:
    repo = make_repo()
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author)
    return repo, sha


@pytest.mark.parametrize("bypass", sorted(BYPASSES))
def test_an_agents_unreadable_terraform_change_is_blocked(
        bypass: str, make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base, head, (address, line), part = BYPASSES[bypass]
    repo, sha = _repo(make_repo, base, head, CLAUDE)
    code, findings = _check(repo, sha, capsys)
    assert code == 1
    assert _nhi106(findings) == [("error", address, line, True)]
    message = next(f["message"] for f in findings if f["rule_id"] == "NHI106")
    assert part in message
    assert "iam:*" not in message  # never a value


@pytest.mark.parametrize("bypass", sorted(BYPASSES))
def test_a_persons_same_change_is_a_note(
        bypass: str, make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    base, head, (address, line), _ = BYPASSES[bypass]
    repo, sha = _repo(make_repo, base, head, HUMAN)
    code, findings = _check(repo, sha, capsys)
    assert code == 0
    assert _nhi106(findings) == [("note", address, line, False)]


def test_an_agents_command_without_a_known_verb_still_fails_closed_and_a_persons_is_quiet(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = ROLE + """
resource "null_resource" "setup" {
  provisioner "local-exec" {
    command = "./scripts/setup.sh ci"
  }
}
"""
    repo, sha = _repo(make_repo, {"main.tf": ROLE}, {"main.tf": head}, CLAUDE)
    code, findings = _check(repo, sha, capsys)
    assert (code, _nhi106(findings)) == (
        1, [("error", "null_resource.setup.provisioner.local-exec", 8, True)])
    message = next(f["message"] for f in findings if f["rule_id"] == "NHI106")
    assert "(./scripts/setup.sh)" in message and "no known grant verb found" in message
    person, sha = _repo(lambda: make_repo("person"), {"main.tf": ROLE}, {"main.tf": head}, HUMAN)
    code, findings = _check(person, sha, capsys)
    assert (code, _nhi106(findings)) == (0, [])


def test_external_data_source_and_remote_exec_are_read(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = ROLE + """
data "external" "grant" {
  program = ["bash", "-c", "az role assignment create --assignee x --role Owner --scope /"]
}

resource "aws_instance" "bastion" {
  ami = "ami-1"
  provisioner "remote-exec" {
    inline = ["kubectl create clusterrolebinding ci --clusterrole=cluster-admin --user=ci"]
  }
}
"""
    repo, sha = _repo(make_repo, {"main.tf": ROLE}, {"main.tf": head}, CLAUDE)
    code, findings = _check(repo, sha, capsys)
    assert code == 1
    assert _nhi106(findings) == [
        ("error", "data.external.grant", 7, True),
        ("error", "aws_instance.bastion.provisioner.remote-exec", 13, True)]
    messages = [f["message"] for f in findings if f["rule_id"] == "NHI106"]
    assert "it runs az role assignment create" in messages[0]
    assert "it runs kubectl create clusterrolebinding" in messages[1]


def test_a_provisioner_the_agent_only_reformats_or_leaves_alone_is_not_judged(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    moved = ATTACH.replace("    command = ", "    command     = ").replace(
        '  name               = "ci"', '  name               = "ci-role"')
    repo, sha = _repo(make_repo, {"main.tf": ATTACH}, {"main.tf": moved}, CLAUDE)
    _, findings = _check(repo, sha, capsys)
    assert _nhi106(findings) == []
    assert {f["rule_id"] for f in findings} >= {"NHI101"}  # the role itself changed


def test_a_changed_command_with_the_same_verb_is_judged(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    other = ATTACH.replace("${local.arn}", "arn:aws:iam::aws:policy/IAMFullAccess")
    repo, sha = _repo(make_repo, {"main.tf": ATTACH}, {"main.tf": other}, CLAUDE)
    code, findings = _check(repo, sha, capsys)
    assert (code, _nhi106(findings)) == (
        1, [("error", "terraform_data.attach.provisioner.local-exec", 8, True)])
    assert "IAMFullAccess" not in json.dumps(findings)  # never a value


@pytest.mark.parametrize(("source", "version", "unpinned"), [
    ("git::https://github.com/example/m.git?ref=" + "a" * 40, None, False),
    ("example/iam/aws", '"5.39.0"', False),
    ("example/iam/aws", '"~> 5.0"', True),
    ("example/iam/aws", None, True),
])
def test_remote_module_pinning_is_named(source: str, version: str | None, unpinned: bool,
                                        make_repo: Callable[..., GitRepo],
                                        capsys: Any) -> None:
    call = f'module "m" {{\n  source = "{source}"\n' + (
        f"  version = {version}\n" if version else "") + "  deny_all = true\n}\n"
    repo, sha = _repo(make_repo, {"main.tf": call}, {"main.tf": call.replace(
        "  deny_all = true\n", "")}, CLAUDE)
    code, findings = _check(repo, sha, capsys)
    assert (code, [a for _, a, _, _ in _nhi106(findings)]) == (1, ["module.m"])
    message = next(f["message"] for f in findings if f["rule_id"] == "NHI106")
    assert "its arguments changed: deny_all (removed)" in message
    assert ("unpinned" in message) is unpinned


def test_an_agents_new_source_names_only_the_source(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo, sha = _repo(make_repo, {"main.tf": ADMIN}, {"main.tf": ADMIN.replace(
        "example/tf-mods", "example/other-mods")}, CLAUDE)
    code, findings = _check(repo, sha, capsys)
    assert (code, _nhi106(findings)) == (1, [("error", "module.ci_user", 2, True)])
    assert "its arguments changed: source;" in next(
        f["message"] for f in findings if f["rule_id"] == "NHI106")


def test_an_agents_version_bump_of_a_remote_module_is_judged(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    call = 'module "m" {\n  source  = "example/iam/aws"\n  version = "5.39.0"\n}\n'
    repo, sha = _repo(make_repo, {"main.tf": call}, {"main.tf": call.replace("5.39.0", "6.0.0")},
                      CLAUDE)
    code, findings = _check(repo, sha, capsys)
    assert (code, _nhi106(findings)) == (1, [("error", "module.m", 3, True)])
    assert "its arguments changed: version" in next(
        f["message"] for f in findings if f["rule_id"] == "NHI106")


def test_a_var_file_value_not_named_like_a_grant_is_a_note_naming_the_file(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo, sha = _repo(make_repo, {"main.tf": POLICY, VARS: '{"region": "eu-west-1"}\n'},
                      {VARS: '{"region": "us-east-1"}\n'}, CLAUDE)
    code, findings = _check(repo, sha, capsys)
    assert (code, _nhi106(findings)) == (0, [("note", VARS, 1, False)])
    assert "values changed: region" in next(
        f["message"] for f in findings if f["rule_id"] == "NHI106")


def test_a_var_file_beside_its_module_is_read_as_its_values_not_as_unread(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo, sha = _repo(make_repo, {"main.tf": POLICY, "prod.tfvars.json": '{"actions": ["s3:Get"]}'},
                      {"prod.tfvars.json": '{"actions": ["iam:*"]}'}, CLAUDE)
    code, findings = _check(repo, sha, capsys)
    assert code == 1
    assert _nhi106(findings) == []
    assert "NHI301" in {f["rule_id"] for f in findings}  # judged through the values


def test_scan_notes_a_grant_command_and_inventory_lists_no_facet(
        tmp_path: Any, capsys: Any) -> None:
    (tmp_path / "main.tf").write_text(ATTACH + MODULE)
    (tmp_path / "config").mkdir()
    (tmp_path / VARS).write_text('{"actions": ["iam:*"]}\n')
    main(["scan", str(tmp_path), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert _nhi106(findings) == [
        ("note", "terraform_data.attach.provisioner.local-exec", 8, False)]
    main(["inventory", str(tmp_path), "--format", "json", "--no-history"])
    rows = json.loads(capsys.readouterr().out)["identities"]
    assert [r["address"] for r in rows] == ["aws_iam_role.ci"]


def test_grant_verbs_name_each_cli_family() -> None:
    text = ("aws --profile x iam create-access-key --user-name ci; "
            "gcloud iam service-accounts keys create k.json --iam-account=a@b && "
            "az ad sp create-for-rbac -n x | kubectl apply -f rbac/ci-rolebinding.yaml")
    assert grant_verbs(text) == [
        ("aws", "aws iam create-access-key"),
        ("gcp", "gcloud iam service-accounts keys create"),
        ("azure", "az ad sp create-for-rbac"),
        ("kubernetes", "kubectl apply")]
    assert grant_verbs("aws s3 cp a b; kubectl get pods; echo iam attach-role-policy") == []


def test_a_file_holding_only_a_command_or_a_remote_module_is_parsed(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    """The pre-filter keeps files whose only construct is a provisioner, an `external` data
    source or a `module` call (no catalogued type named in them)."""
    only = {
        "grant.tf": 'resource "null_resource" "g" {\n  provisioner "local-exec" {\n'
                    '    command = "gcloud projects add-iam-policy-binding p --role=roles/owner"'
                    '\n  }\n}\n',
        "ext.tf": 'data "external" "e" {\n  program = ["./grant.sh"]\n}\n',
        "mods.tf": 'module  "u" {\n  source = "example/user/aws"\n  enabled = true\n}\n',
    }
    repo, sha = _repo(make_repo, {"main.tf": ROLE}, only, CLAUDE)
    code, findings = _check(repo, sha, capsys)
    assert code == 1
    assert sorted(_nhi106(findings)) == [
        ("error", "data.external.e", 2, True), ("error", "module.u", 2, True),
        ("error", "null_resource.g.provisioner.local-exec", 3, True)]
