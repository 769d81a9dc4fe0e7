"""Terraform module values: a privilege that comes from `local.X` / `var.X` is read through the
directory's `locals`, variable defaults and auto-loaded `.tfvars`, and a change to one of those
lines judges the identity that reads it, although the identity's own file is unchanged.

The `check`, `hook` and `scan` scenarios are data: `fixtures/scenarios/tf-*/` (run by
tests/test_scenarios.py). Here: the hook's module listing (counted through a patched
`git.read_directory_entries`) and unit checks of how module values resolve.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import COPILOT, GitRepo

from checker import git
from checker.cli import main
from checker.model import Location, ModuleSources, SourceFile
from checker.parsers import terraform
from checker.parsers.common import VAR_FILE_DIRS
from checker.policy.catalogue import load_catalogue
from checker.sources.modules import group_modules

#: The identity: its role comes from `local.ci_role` (line 4); the block starts on line 2.
MAIN_LOCAL = """\
# nhi-gate: owner=team-ci ticket=OPS-1
resource "google_project_iam_member" "ci" {
  project = "p"
  role    = local.ci_role
  member  = "serviceAccount:ci@p.iam.gserviceaccount.com"
}
"""


def _locals(role: str, region: str = "europe-west1") -> str:
    return f'locals {{\n  region  = "{region}"\n  ci_role = "{role}"\n}}\n'


def _variables(role: str) -> str:
    return f'variable "ci_role" {{\n  type    = string\n  default = "{role}"\n}}\n'


# ----------------------------------------------------------------------------- hook


def _hook_json(repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: Any
               ) -> tuple[int, dict[str, Any]]:  # fmt: skip
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", COPILOT[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", COPILOT[1])
    code = main(["hook", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_hook_lists_a_module_only_when_a_module_file_is_staged(
    make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    repo = make_repo()
    base = repo.commit({"main.tf": MAIN_LOCAL, "locals.tf": _locals("roles/owner")})
    repo.stage({"README.md": "docs\n"})
    listed: list[object] = []
    real = git.read_directory_entries

    def counting(*args: Any, **kwargs: Any) -> Any:
        if args[2] != [".github/workflows"]:  # the gate job's workflows (an agent committing)
            listed.append(args[1:3])
        return real(*args, **kwargs)

    monkeypatch.setattr(git, "read_directory_entries", counting)
    code, report = _hook_json(repo, monkeypatch, capsys)
    assert (code, report["findings"], listed) == (0, [], [])
    # One listing of the module's directory (and its var-file folders) per side: the index,
    # then HEAD.
    repo.stage({"locals.tf": _locals("roles/owner", region="us-east1")})
    code, report = _hook_json(repo, monkeypatch, capsys)
    folders = ["", *VAR_FILE_DIRS]
    assert (code, report["findings"], listed) == (0, [], [(None, folders), (base, folders)])


# ----------------------------------------------------------------------------- values


def _module(files: dict[str, str]) -> ModuleSources:
    sources = [SourceFile(p, t.encode()) for p, t in files.items()]
    return group_modules(sources)[""]


def test_values_follow_terraform_precedence_and_chains() -> None:
    module = _module({
        "variables.tf": _variables("roles/viewer"),
        "terraform.tfvars": 'ci_role = "roles/editor"\n',
        "b.auto.tfvars": 'ci_role = "roles/owner"\n',
        "a.auto.tfvars": 'ci_role = "roles/browser"\n',
        "locals.tf": 'locals {\n  role = local.chosen\n  chosen = var.ci_role\n'
                     '  dyn = "roles/${var.ci_role}"\n  list = [\n    "a",\n    local.chosen,\n'
                     '  ]\n\n}\n',
        "override.tf": 'locals {\n  chosen = "roles/iam.securityAdmin"\n}\n',
    })  # fmt: skip
    values = terraform.module_values(module).values
    assert values["var.ci_role"].value == "roles/owner"  # b.auto.tfvars is loaded last
    assert values["var.ci_role"].inputs == (("var.ci_role", Location("b.auto.tfvars", 1, 1)),)
    assert values["local.role"].value == "roles/iam.securityAdmin"  # override.tf wins
    assert values["local.role"].inputs == (
        ("local.role", Location("locals.tf", 2, 2)),
        ("local.chosen", Location("override.tf", 2, 2)),
    )
    assert values["local.list"].value == ["a", "roles/iam.securityAdmin"]
    assert values["local.list"].inputs[0] == ("local.list", Location("locals.tf", 5, 8))
    # A template is an expression: computed, its inputs after its own definition.
    assert values["local.dyn"] == terraform.ModuleValue("roles/roles/owner", (
        ("local.dyn", Location("locals.tf", 4, 4)),
        ("var.ci_role", Location("b.auto.tfvars", 1, 1)),
    ))


def test_tfvars_json_files_take_their_place_in_terraform_precedence() -> None:
    """terraform.tfvars < terraform.tfvars.json < *.auto.tfvars(.json) in lexical order:
    https://developer.hashicorp.com/terraform/language/values/variables#variable-definition-precedence"""
    files = {
        "variables.tf": _variables("roles/viewer") + 'variable "members" {}\n',
        "terraform.tfvars": 'ci_role = "roles/editor"\n',
        "terraform.tfvars.json": '{\n  "ci_role": "roles/browser",\n  "members": [\n'
                                 '    "user:a@example.com"\n  ]\n}\n',
        "prod.tfvars.json": '{"ci_role": "roles/iam.securityAdmin"}\n',  # -var-file only
    }
    values = terraform.module_values(_module(files)).values
    assert values["var.ci_role"].value == "roles/browser"  # .json is loaded after .tfvars
    assert values["var.ci_role"].inputs == (
        ("var.ci_role", Location("terraform.tfvars.json", 2, 2)),)
    assert values["var.members"].value == ["user:a@example.com"]
    assert values["var.members"].inputs == (
        ("var.members", Location("terraform.tfvars.json", 3, 5)),)
    files["a.auto.tfvars.json"] = '{"ci_role": "roles/owner"}\n'
    files["b.auto.tfvars"] = 'ci_role = "roles/editor"\n'
    values = terraform.module_values(_module(files)).values
    assert values["var.ci_role"].inputs == (("var.ci_role", Location("b.auto.tfvars", 1, 1)),)
    files["c.auto.tfvars.json"] = '{"ci_role": "roles/owner"}\n'
    values = terraform.module_values(_module(files)).values
    assert values["var.ci_role"].value == "roles/owner"
    assert values["var.ci_role"].inputs == (
        ("var.ci_role", Location("c.auto.tfvars.json", 1, 1)),)
    files["d.auto.tfvars.json"] = '{"ci_role": '  # unreadable: its values stay out
    assert terraform.module_values(_module(files)).values["var.ci_role"].value == "roles/owner"


def test_inline_policy_actions_and_attachments_resolve() -> None:
    main_tf = """\
resource "aws_iam_policy" "p" {
  policy = jsonencode({
    Statement = [{ Effect = "Allow", Action = local.actions, Resource = "*" }]
  })
}
resource "aws_iam_role_policy_attachment" "a" {
  role       = "ci"
  policy_arn = var.arn
}
resource "aws_iam_role_policy_attachment" "unknown" {
  role       = "ci"
  policy_arn = var.undefined
}
"""
    files = {"main.tf": main_tf,
             "locals.tf": 'locals {\n  actions = ["s3:GetObject", "iam:*"]\n}\n',
             "variables.tf": 'variable "arn" {\n  default = "arn:aws:iam::aws:policy/'
                             'AdministratorAccess"\n}\nvariable "undefined" {}\n'}  # fmt: skip
    module = _module(files)
    result = terraform.parse(SourceFile("main.tf", main_tf.encode()), load_catalogue(),
                             module=module)  # fmt: skip
    got = {o.address: ([(g.action, g.line) for g in o.privileges], o.inputs)
           for o in result.objects}  # fmt: skip
    assert got == {
        "aws_iam_policy.p": ([("s3:GetObject", 3), ("iam:*", 3)],
                             (("local.actions", Location("locals.tf", 2, 2)),)),
        "aws_iam_role_policy_attachment.a": (
            [("arn:aws:iam::aws:policy/AdministratorAccess", 8)],
            (("var.arn", Location("variables.tf", 2, 2)),)),
        "aws_iam_role_policy_attachment.unknown": ([("${var.undefined}", 12)], ()),
    }
