"""Terraform `module` calls that grant admin or create identities (found by a new-user test).

Before, only terraform-aws-modules/iam was read: a local module handed AdministratorAccess, the
terraform-google-modules service-accounts module granting `roles/owner` with a static key, and
a cloudposse system user with an access key all passed `nhi-gate check` with exit 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, GitRepo, Identity

from checker.cli import main
from checker.model import IdentityObject, SourceFile
from checker.parsers import terraform
from checker.pipeline import parse_sources
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config
from checker.sources.modules import group_modules

#: A local module that attaches whatever ARNs it is given (the repository's own code).
LOCAL_MODULE = """\
variable "policy_arns" {
  type = list(string)
}

resource "aws_iam_role_policy_attachment" "this" {
  for_each   = toset(var.policy_arns)
  role       = "ci"
  policy_arn = each.value
}
"""

#: The three module calls of the report; line numbers are asserted below.
CALLS = """\
module "ci" {
  source      = "./modules/role"
  policy_arns = ["arn:aws:iam::aws:policy/AdministratorAccess"]
}

module "sa" {
  source        = "terraform-google-modules/service-accounts/google"
  project_id    = "p"
  names         = ["deployer"]
  project_roles = ["p=>roles/owner"]
  generate_keys = true
}

module "u" {
  source = "cloudposse/iam-system-user/aws"
  name   = "ci"
}
"""


def _check(repo: GitRepo, author: Identity, capsys: Any) -> tuple[int, list[dict[str, Any]]]:
    repo.commit({"infra/modules/role/main.tf": LOCAL_MODULE})
    repo.checkout("change", create=True)
    repo.commit({"infra/main.tf": CALLS}, author=author, message="Add CI identities",
                trailers=[("Requested-by", "Alice <alice@example.com>")])  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", "main", "--head", "HEAD",
                 "--format", "json"])  # fmt: skip
    findings = json.loads(capsys.readouterr().out)["findings"]
    paths = ("infra/main.tf", "infra/modules/role/main.tf")
    return code, [f for f in findings if f["path"] in paths]


def test_an_agents_module_calls_block_with_admin_and_static_key_findings(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    code, findings = _check(make_repo(), COPILOT, capsys)
    assert code == 1
    got = {(f["rule_id"], f["address"], f["start_line"]) for f in findings
           if f["rule_id"] in ("NHI101", "NHI301", "NHI303")}  # fmt: skip
    assert got == {
        # The local module is read with the call's arguments: its attachment is judged where it
        # is written, through the call (`via module.ci argument policy_arns (infra/main.tf:3)`).
        ("NHI301", "module.ci.aws_iam_role_policy_attachment.this", 8),
        ("NHI301", "module.sa", 10),
        ("NHI101", "module.ci.aws_iam_role_policy_attachment.this", 5),
        ("NHI101", "module.sa", 6),
        ("NHI101", "module.u", 14),
        ("NHI101", "module.sa.google_service_account_key.keys", 6),
        ("NHI101", "module.u.aws_iam_access_key.default", 14),
        ("NHI303", "module.sa.google_service_account_key.keys", 6),
        ("NHI303", "module.u.aws_iam_access_key.default", 14),
    }
    blocking = {(f["rule_id"], f["address"]) for f in findings if f["blocking"]}
    ci = "module.ci.aws_iam_role_policy_attachment.this"
    assert {("NHI301", ci), ("NHI301", "module.sa"), ("NHI101", "module.u")} <= blocking
    admin = next(f for f in findings if f["rule_id"] == "NHI301" and f["address"] == ci)
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in admin["message"]
    assert "via module.ci argument policy_arns (infra/main.tf:3)" in admin["message"]
    assert admin["kind"] == "role_binding" and admin["platform"] == "aws"
    owner = next(f for f in findings if f["rule_id"] == "NHI301" and f["address"] == "module.sa")
    assert "roles/owner on p" in owner["message"] and owner["platform"] == "gcp"
    # The service account and the system user need an owner and a ticket like any account.
    assert {(f["rule_id"], f["address"]) for f in findings if f["rule_id"] == "NHI201"} == {
        ("NHI201", "module.sa"), ("NHI201", "module.sa.google_service_account_key.keys"),
        ("NHI201", "module.u"), ("NHI201", "module.u.aws_iam_access_key.default"),
    }


def test_a_humans_copy_is_reported_but_not_blocking(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    code, findings = _check(make_repo(), HUMAN, capsys)
    assert code == 0
    assert not [f for f in findings if f["blocking"]]
    assert {f["rule_id"] for f in findings} >= {"NHI301", "NHI303"}
    assert "NHI101" not in {f["rule_id"] for f in findings}


def _parse(text: str, prefilter: bool = True) -> list[IdentityObject]:
    parsed = parse_sources([SourceFile("infra/main.tf", text.encode())], load_catalogue(),
                           Config(), prefilter=prefilter)  # fmt: skip
    assert not parsed.problems
    return [o for o in parsed.objects if o.derived_from is None]


@pytest.mark.parametrize("source", [
    "terraform-google-modules/service-accounts/google",
    "registry.terraform.io/terraform-google-modules/service-accounts/google",
    "terraform-google-modules/service-accounts/google//modules/simple-sa",
    "git::https://github.com/terraform-google-modules/terraform-google-service-accounts.git?ref=v4.4.0",
    "github.com/terraform-google-modules/terraform-google-service-accounts",
])  # fmt: skip
def test_the_service_accounts_module_is_recognised_by_any_source_form(source: str) -> None:
    text = (f'module "sa" {{\n  source = "{source}"\n  project_id = "p"\n  name = "ci-deploy"\n'
            '  names = ["ci-deploy"]\n  project_roles = ["roles/viewer"]\n}\n')  # fmt: skip
    [obj] = _parse(text)
    assert (obj.type, obj.kind, obj.platform, obj.address) == (
        "module:terraform-google-modules/service-accounts/google", "service_account", "gcp",
        "module.sa",
    )
    assert obj.principals == ("gcp-sa:ci-deploy@p.iam.gserviceaccount.com",)


def test_service_account_prefix_key_and_project_role_targets() -> None:
    text = (
        'module "sa" {\n'
        '  source        = "terraform-google-modules/service-accounts/google"\n'
        '  project_id    = "p"\n'
        '  prefix        = "ci"\n'
        '  names         = ["Deployer", "runner"]\n'
        '  project_roles = [\n'
        '    "other-project=>roles/storage.objectViewer",\n'
        '    "${var.project}=>roles/editor",\n'
        '  ]\n'
        '  generate_keys = true\n'
        '}\n'
    )
    sa, key = _parse(text)
    assert [(g.action, g.resource, g.line) for g in sa.privileges] == [
        ("roles/storage.objectViewer", "other-project", 7),
        ("roles/editor", "${var.project}", 8),
    ]
    assert sa.principals == ("gcp-sa:ci-deployer@p.iam.gserviceaccount.com",
                             "gcp-sa:ci-runner@p.iam.gserviceaccount.com")
    assert (key.type, key.kind, key.location.start_line, key.references) == (
        "google_service_account_key", "access_key", 1, ("module.sa",))


@pytest.mark.parametrize(("extra", "key"), [
    ("", ("module.u.aws_iam_access_key.default", 1, None)),
    ("  create_iam_access_key = true\n", ("module.u.aws_iam_access_key.default", 1, None)),
    ("  iam_access_key_max_age = 86400\n",
     ("module.u.awsutils_expiring_iam_access_key.default", 1, 24.0)),
    ("  create_iam_access_key = false\n", None),
])  # fmt: skip
def test_system_user_access_key(extra: str, key: tuple[str, int, float | None] | None) -> None:
    text = (f'module "u" {{\n  source = "cloudposse/iam-system-user/aws?ref=1.2.0"\n{extra}'
            '  inline_policies_map = {\n    s3 = jsonencode({Statement = [{Effect = "Allow", '
            'Action = "s3:*", Resource = "*"}]})\n  }\n}\n')  # fmt: skip
    user, *rest = _parse(text)
    assert (user.kind, user.type) == ("user", "module:cloudposse/iam-system-user/aws")
    assert [(g.action, g.resource) for g in user.privileges] == [("s3:*", "*")]
    got = [(o.address, o.location.start_line, o.lifetime.hours if o.lifetime else None)
           for o in rest]  # fmt: skip
    assert got == ([key] if key else [])


@pytest.mark.parametrize("body", [
    '  policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]\n',
    '  tags = { Role = "Owner" }\n  labels = { r = "roles/owner" }\n',
    '  allowed = ["*"]\n  name = "owner"\n',
    '  actions = ["Microsoft.Authorization/*"]\n',
])  # fmt: skip
def test_module_calls_without_a_named_admin_grant_stay_invisible(body: str) -> None:
    assert _parse(f'module "m" {{\n  source = "./m"\n{body}}}\n', prefilter=False) == []


def test_a_module_value_read_through_locals_is_a_grant_with_its_input() -> None:
    text = ('locals {\n  admin = "roles/owner"\n}\n\nmodule "m" {\n  source = "./m"\n'
            '  roles = [local.admin]\n}\n')  # fmt: skip
    src = SourceFile("infra/main.tf", text.encode())
    [(_, module)] = group_modules([src]).items()
    [obj] = terraform.parse(src, load_catalogue(), module=module).objects
    assert (obj.type, obj.platform, obj.kind) == ("module:./m", "gcp", "role_binding")
    assert [(g.action, g.line) for g in obj.privileges] == [("roles/owner", 7)]
    assert [name for name, _ in obj.inputs] == ["local.admin"]


@pytest.mark.parametrize("body", [
    # a tag map nested in another argument (found on a real repository: read as Azure Owner)
    '  node_pools = {\n    a = {\n      tags = { Owner = "secondary" }\n    }\n  }\n',
    '  settings = { Owner = "team" }\n',
    '  role_assignments = {\n    a = { description = "Owner", role = "Reader" }\n  }\n',
    '  extra = [{ name = "roles/owner", labels = { r = "Contributor" } }]\n',
])  # fmt: skip
def test_privilege_names_outside_a_role_position_are_not_grants(body: str) -> None:
    assert _parse(f'module "m" {{\n  source = "./m"\n{body}}}\n', prefilter=False) == []


@pytest.mark.parametrize(("body", "line"), [
    ('  role_assignments = {\n    a = {\n      role_definition_name = "Owner"\n'
     '      tags = { Owner = "x" }\n    }\n  }\n', 5),
    ('  iam_by_principals = {\n    "group:ops@example.com" = ["roles/owner"]\n  }\n', 4),
    ('  clusters = {\n    a = { iam = { "roles/owner" = ["user:a@example.com"] } }\n  }\n', 4),
])  # fmt: skip
def test_privilege_names_in_a_role_position_at_any_depth_are_grants(body: str,
                                                                    line: int) -> None:
    [obj] = _parse(f'module "m" {{\n  source = "./m"\n{body}}}\n', prefilter=False)
    assert [g.line for g in obj.privileges] == [line]
