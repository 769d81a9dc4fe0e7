"""An identity's inputs in other files: `file()`/`templatefile()` documents, local module calls and
terragrunt `inputs` (the git-range cases are scenarios: `fixtures/scenarios/tf-file-*`,
`tf-templatefile-*`, `tf-hook-staged-file-*`, `tf-module-*`, `tf-terragrunt-*`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from checker.commands.scan import parse_tree
from checker.model import IdentityObject, Location, Trust
from checker.parsers.common import file_reference
from checker.parsers.terraform.files import _Unrenderable, render
from checker.policy.config import Config

TRUST_TF = """\
resource "aws_iam_role" "deploy" {
  name               = "deploy"
  assume_role_policy = templatefile("${path.module}/trust/deploy.json.tpl", {
    account = var.account
  })
}
variable "account" {
  default = "123456789012"
}
"""
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
TRUST_TPL = """\
{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
  "Principal": {"AWS": "arn:aws:iam::${account}:root"}}]}
"""


def test_render_for_if_strip_and_escapes() -> None:
    template = ('%{ for k, v in m ~}\n  [${k}=${v}]\n%{~ endfor }|%{ if on }T%{ else }F%{ endif }'
                '%{ if !on }x%{ endif }|${jsonencode(l)}|${m.a}|${l[1]}|$${keep} %%{keep}')
    got = render(template, {"m": {"a": 1, "b": "c"}, "on": True, "l": ["p", "q"]})
    assert got == '[a=1][b=c]|T|["p","q"]|1|q|${keep} %{keep}'


@pytest.mark.parametrize("template", [
    "${upper(x)}",                      # a function other than jsonencode
    "%{ if x == 1 }a%{ endif }",        # an operator
    "${missing}",                       # a variable the call does not pass
    "%{ for a in l }${a}",              # no endfor
    "${l}",                             # a collection in an interpolation
])
def test_render_refuses_what_it_does_not_model(template: str) -> None:
    with pytest.raises(_Unrenderable):
        render(template, {"x": 1, "l": ["a"]})


def test_file_reference_paths() -> None:
    assert file_reference("infra", "${path.module}/policies/a.json") == "infra/policies/a.json"
    assert file_reference("infra", "policies/a.json") == "infra/policies/a.json"
    assert file_reference("", "${path.root}/a.json") == "a.json"
    assert file_reference("infra/iam", "../shared/a.json") == "infra/shared/a.json"
    assert file_reference("infra", "../../a.json") is None       # leaves the repository
    assert file_reference("infra", "${var.dir}/a.json") is None  # not known before apply
    assert file_reference("infra", "/etc/a.json") is None


def _scan(tmp_path: Path, files: dict[str, str]) -> dict[str, IdentityObject]:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    parsed = parse_tree([str(tmp_path / "infra")], Config())
    return {o.address: o for o in parsed.objects if o.derived_from is None}


def test_scan_reads_a_template_the_walk_does_not_list(tmp_path: Path) -> None:
    """`.tpl` is no file `scan` walks; the `.tf` file names it, so it is read from disk."""
    found = _scan(tmp_path, {"infra/main.tf": TRUST_TF,
                             "infra/trust/deploy.json.tpl": TRUST_TPL})
    role = found["aws_iam_role.deploy"]
    assert role.trust == (Trust(principal="AWS:arn:aws:iam::123456789012:root", line=3),)
    assert role.inputs == (
        ('templatefile("trust/deploy.json.tpl")', Location("trust/deploy.json.tpl", 1, 2)),
        ("var.account", Location("main.tf", 8, 8)),
    )


def test_an_unrenderable_template_is_left_unresolved(tmp_path: Path) -> None:
    """A template with a construct the renderer does not model gives no trust at all: never
    a guess (here the principal would otherwise read as `${upper(account)}`)."""
    found = _scan(tmp_path, {"infra/main.tf": TRUST_TF,
                             "infra/trust/deploy.json.tpl": TRUST_TPL.replace(
                                 "${account}", "${upper(account)}")})
    role = found["aws_iam_role.deploy"]
    assert role.trust == ()
    assert role.inputs == ()


def test_terragrunt_inputs_in_scan_and_other_hcl_ignored(tmp_path: Path) -> None:
    found = _scan(tmp_path, {
        "infra/terragrunt.hcl": 'terraform {\n  source = "../modules/ci"\n}\ninputs = {\n'
                                f'  policy_arns = ["{ADMIN}"]\n}}\n',
        "infra/other.hcl": f'inputs = {{\n  policy_arns = ["{ADMIN}"]\n}}\n',
    })
    assert list(found) == ["module.terragrunt"]
    obj = found["module.terragrunt"]
    assert obj.location == Location("terragrunt.hcl", 4, 6)
    assert [(g.action, g.line) for g in obj.privileges] == [
        (ADMIN, 5)]


def test_local_module_read_with_the_callers_arguments(tmp_path: Path) -> None:
    found = _scan(tmp_path, {
        "infra/main.tf": 'module "ci" {\n  source = "./iam"\n'
                         '  arn    = "arn:aws:iam::aws:policy/IAMFullAccess"\n}\n',
        "infra/iam/main.tf": 'variable "arn" {\n'
                             '  default = "arn:aws:iam::aws:policy/ReadOnlyAccess"\n}\n'
                             'resource "aws_iam_role_policy_attachment" "this" {\n'
                             '  role       = "ci"\n  policy_arn = var.arn\n}\n',
    })
    called = found["module.ci.aws_iam_role_policy_attachment.this"]
    assert [g.action for g in called.privileges] == [
        "arn:aws:iam::aws:policy/IAMFullAccess"]
    assert called.inputs == (
        ("module.ci argument arn", Location("main.tf", 3, 3)),
        ("module.ci call", Location("main.tf", 1, 2)),
    )
    own = found["aws_iam_role_policy_attachment.this"]  # the module on its own: its default
    assert [g.action for g in own.privileges] == [
        "arn:aws:iam::aws:policy/ReadOnlyAccess"]
