"""Terraform parser: kinds, addresses, exact lines, metadata, grants, lifetimes and problems.

Fixtures live in `fixtures/parsers/terraform/`; every line number asserted here was read off
the fixture by hand. The corpus test reads `../shared/corpus` (real public Terraform files).
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from checker.model import (
    KINDS,
    PLATFORMS,
    UNREAD,
    Grant,
    IdentityObject,
    Lifetime,
    ParseResult,
    SourceFile,
)
from checker.parsers import Parser, terraform
from checker.policy.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "parsers" / "terraform"
CORPUS = Path(__file__).parents[1] / ".." / "shared" / "corpus"


def parse_fixture(name: str) -> ParseResult:
    """Parse one fixture with the parser its name calls for, path relative like the CLI's."""
    raw = (FIXTURES / name).read_bytes()
    parser: Parser = terraform.parse_json if name.endswith(".tf.json") else terraform.parse
    return parser(SourceFile(f"fixtures/parsers/terraform/{name}", raw), load_catalogue())


def parse_text(text: str, name: str = "inline.tf") -> ParseResult:
    return terraform.parse(SourceFile(name, text.encode()), load_catalogue())


def by_address(result: ParseResult) -> dict[str, IdentityObject]:
    """The identities of `result` by address (not the `unread` facets NHI106 judges)."""
    assert not result.problems, result.problems
    return {o.address: o for o in result.objects if not o.type.startswith(UNREAD)}


def spans(result: ParseResult) -> list[tuple[str, str, int, int]]:
    return [(o.address, o.kind, o.location.start_line, o.location.end_line) for o in result.objects]


def grants(obj: IdentityObject) -> list[tuple[str, str, str, bool, int | None]]:
    return [(g.action, g.resource, g.effect, g.not_action, g.line) for g in obj.privileges]


# --------------------------------------------------------------------------- catalogue

REQUIRED = {
    "aws_iam_user": "user",
    "aws_iam_access_key": "access_key",
    "aws_iam_user_login_profile": "api_token",
    "aws_iam_role": "role",
    "aws_iam_instance_profile": "role",
    "aws_iam_service_linked_role": "role",
    "aws_iam_policy": "policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_user_policy": "policy",
    "aws_iam_group_policy": "policy",
    "aws_iam_role_policy_attachment": "role_binding",
    "aws_iam_user_policy_attachment": "role_binding",
    "aws_iam_group_policy_attachment": "role_binding",
    "aws_iam_policy_attachment": "role_binding",
    "aws_iam_openid_connect_provider": "oidc_trust",
    "aws_iam_saml_provider": "oidc_trust",
    "aws_iam_server_certificate": "certificate",
    "aws_acm_certificate": "certificate",
    "aws_secretsmanager_secret": "secret",
    "aws_secretsmanager_secret_version": "secret",
    "data.aws_iam_policy_document": "policy",
    "google_service_account": "service_account",
    "google_service_account_key": "access_key",
    "google_project_iam_member": "role_binding",
    "google_project_iam_binding": "role_binding",
    "google_project_iam_policy": "policy",
    "google_folder_iam_member": "role_binding",
    "google_organization_iam_binding": "role_binding",
    "google_service_account_iam_member": "role_binding",
    "google_storage_bucket_iam_member": "role_binding",
    "google_storage_bucket_iam_binding": "role_binding",
    "google_iam_workload_identity_pool": "oidc_trust",
    "google_iam_workload_identity_pool_provider": "oidc_trust",
    "google_storage_hmac_key": "access_key",
    "google_secret_manager_secret": "secret",
    "google_secret_manager_secret_version": "secret",
    "azuread_application": "service_account",
    "azuread_application_password": "api_token",
    "azuread_application_certificate": "certificate",
    "azuread_service_principal": "service_account",
    "azuread_service_principal_password": "api_token",
    "azuread_application_federated_identity_credential": "oidc_trust",
    "azurerm_user_assigned_identity": "service_account",
    "azurerm_role_assignment": "role_binding",
    "azurerm_role_definition": "policy",
    "azurerm_key_vault_secret": "secret",
    "azurerm_key_vault_key": "private_key",
    "azurerm_key_vault_certificate": "certificate",
    "tls_private_key": "private_key",
    "tls_self_signed_cert": "certificate",
    "tls_locally_signed_cert": "certificate",
    "tls_cert_request": "certificate",
    "acme_certificate": "certificate",
    "kubernetes_service_account": "service_account",
    "kubernetes_service_account_v1": "service_account",
    "kubernetes_secret": "secret",
    "kubernetes_secret_v1": "secret",
    "kubernetes_cluster_role_binding": "role_binding",
    "kubernetes_cluster_role_binding_v1": "role_binding",
    "kubernetes_role_binding": "role_binding",
    "kubernetes_role_binding_v1": "role_binding",
    "kubernetes_cluster_role": "policy",
    "kubernetes_cluster_role_v1": "policy",
    "kubernetes_role": "policy",
    "kubernetes_role_v1": "policy",
    "vault_approle_auth_backend_role": "role",
    "vault_approle_auth_backend_role_secret_id": "api_token",
    "vault_token": "api_token",
    "vault_jwt_auth_backend_role": "oidc_trust",
    "vault_generic_secret": "secret",
    "vault_policy": "policy",
    "github_actions_secret": "secret",
    "github_actions_organization_secret": "secret",
    "github_repository_deploy_key": "access_key",
    "github_user_ssh_key": "access_key",
    "random_password": "secret",
    "module:terraform-aws-modules/iam/aws": "role",
}


def test_catalogue_loads_and_has_every_required_type() -> None:
    catalogue = load_catalogue()
    for type_, kind in REQUIRED.items():
        entry = catalogue.get("terraform", type_)
        assert entry is not None, type_
        assert entry.kind == kind, type_
    for (fmt, type_), entry in catalogue.entries.items():
        if fmt != "terraform":
            continue
        assert entry.kind in KINDS and entry.platform in PLATFORMS, type_
        assert entry.source.startswith("https://registry.terraform.io/"), type_


def test_parsers_satisfy_the_protocol() -> None:
    parsers: list[Parser] = [terraform.parse, terraform.parse_json]
    assert all(callable(p) for p in parsers)


# --------------------------------------------------------------------------- AWS


def test_aws_kinds_addresses_and_locations() -> None:
    result = parse_fixture("aws.tf")
    objs = by_address(result)
    assert spans(result) == [
        ("aws_iam_user.deploy", "user", 4, 13),
        ("aws_iam_access_key.deploy", "access_key", 15, 18),
        ("aws_iam_policy.wildcard", "policy", 20, 40),
        ("data.aws_iam_policy_document.assume", "policy", 42, 55),
        ("aws_iam_user_policy.heredoc", "policy", 57, 69),
        ("aws_iam_role.ci", "role", 71, 84),
        ("aws_iam_role_policy_attachment.ci_admin", "role_binding", 86, 89),
    ]
    assert "aws_s3_bucket.logs" not in objs  # not catalogued
    user = objs["aws_iam_user.deploy"]
    assert user.platform == "aws" and user.type == "aws_iam_user"
    assert user.location.path == "fixtures/parsers/terraform/aws.tf"
    assert objs["data.aws_iam_policy_document.assume"].type == "data.aws_iam_policy_document"


def test_aws_metadata_tags_win_and_comment_fills_missing_keys() -> None:
    user = by_address(parse_fixture("aws.tf"))["aws_iam_user.deploy"]
    # Owner from tags beats owner= in the comment; ticket/expires come from the comment;
    # CostCenter = var.cost_center is an expression and skipped.
    assert dict(user.metadata) == {
        "Owner": "team-data",
        "Environment": "prod",
        "ticket": "OPS-1",
        "expires": "2027-01-31",
    }
    assert dict(user.attribute_lines) == {"name": 5, "path": 6, "tags": 8}


def test_aws_description_key_values_become_metadata() -> None:
    policy = by_address(parse_fixture("aws.tf"))["aws_iam_policy.wildcard"]
    assert dict(policy.metadata) == {"owner": "team-platform", "ticket": "OPS-42"}
    assert policy.attribute_lines["description"] == 22
    assert policy.attribute_lines["policy"] == 24


def test_aws_jsonencode_policy_grants_with_statement_lines() -> None:
    policy = by_address(parse_fixture("aws.tf"))["aws_iam_policy.wildcard"]
    logs = "${aws_s3_bucket.logs.arn}/*"
    assert grants(policy) == [
        ("*", "*", "allow", False, 30),
        ("s3:GetObject", "arn:aws:s3:::logs", "deny", True, 35),
        ("s3:GetObject", logs, "deny", True, 35),
        ("s3:ListBucket", "arn:aws:s3:::logs", "deny", True, 35),
        ("s3:ListBucket", logs, "deny", True, 35),
    ]
    assert str(policy.privileges[1]) == "deny not s3:GetObject on arn:aws:s3:::logs"


def test_aws_policy_document_statements() -> None:
    doc = by_address(parse_fixture("aws.tf"))["data.aws_iam_policy_document.assume"]
    secret = "arn:aws:secretsmanager:*:*:secret:app/*"
    assert grants(doc) == [
        ("secretsmanager:GetSecretValue", secret, "allow", False, 45),
        ("kms:Decrypt", secret, "allow", False, 45),
        ("iam:*", "*", "deny", True, 53),
    ]
    assert doc.attribute_lines["statement"] == 43
    assert doc.attribute_lines["statement.actions"] == 45


def test_aws_heredoc_policy_and_references() -> None:
    objs = by_address(parse_fixture("aws.tf"))
    heredoc = objs["aws_iam_user_policy.heredoc"]
    assert grants(heredoc) == [("iam:CreateAccessKey", "*", "allow", False, 65)]
    assert heredoc.references == ("aws_iam_user.deploy",)
    assert objs["aws_iam_access_key.deploy"].references == ("aws_iam_user.deploy",)
    assert objs["aws_iam_user.deploy"].references == ()


def test_aws_role_managed_arns_inline_policy_and_attachment() -> None:
    objs = by_address(parse_fixture("aws.tf"))
    role = objs["aws_iam_role.ci"]
    # assume_role_policy is trust, not privileges; it is still a reference.
    assert grants(role) == [
        ("arn:aws:iam::aws:policy/AdministratorAccess", "*", "allow", False, 74),
        ("sts:AssumeRole", "*", "allow", False, 81),
    ]
    assert role.references == ("data.aws_iam_policy_document.assume",)
    assert role.attribute_lines["inline_policy"] == 78
    assert role.attribute_lines["inline_policy.policy"] == 80
    attachment = objs["aws_iam_role_policy_attachment.ci_admin"]
    arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/PowerUserAccess"
    assert attachment.privileges == (Grant(action=arn, resource="*", line=88),)
    assert attachment.references == ("aws_iam_role.ci",)


# --------------------------------------------------------------------------- GCP


def test_gcp_service_account_key_and_roles() -> None:
    result = parse_fixture("gcp.tf")
    objs = by_address(result)
    assert [(o.address, o.kind, o.location.start_line) for o in result.objects] == [
        ("google_service_account.ci", "service_account", 2),
        ("google_service_account_key.ci", "access_key", 8),
        ("google_project_iam_member.ci_owner", "role_binding", 12),
        ("google_storage_bucket_iam_binding.reader", "role_binding", 18),
        ("google_project_iam_custom_role.minimal", "policy", 24),
    ]
    sa = objs["google_service_account.ci"]
    assert sa.platform == "gcp"
    assert dict(sa.metadata) == {"owner": "team-ci", "ticket": "OPS-7", "expires": "2026-12-31"}
    assert objs["google_service_account_key.ci"].references == ("google_service_account.ci",)
    owner = objs["google_project_iam_member.ci_owner"]
    assert grants(owner) == [("roles/owner", "${var.project_id}", "allow", False, 14)]
    assert owner.references == ("google_service_account.ci",)
    reader = objs["google_storage_bucket_iam_binding.reader"]
    assert grants(reader) == [("roles/storage.objectViewer", "artifacts", "allow", False, 20)]
    custom = objs["google_project_iam_custom_role.minimal"]
    assert [g.action for g in custom.privileges] == ["storage.objects.get", "storage.objects.list"]


# --------------------------------------------------------------------------- Azure and TLS


def test_azure_passwords_role_assignment_and_tls_lifetime() -> None:
    objs = by_address(parse_fixture("azure_tls.tf"))
    app = objs["azuread_application.app"]
    assert app.kind == "service_account" and app.platform == "azure"
    # notes= key/values plus azuread's list-of-strings tags ("env=prod"; "HideApp" has no value)
    assert dict(app.metadata) == {"env": "prod", "owner": "team-azure", "ticket": "AZ-9"}

    password = objs["azuread_application_password.app"]
    assert password.kind == "api_token"
    assert password.lifetime == Lifetime(expires="2026-06-30T00:00:00Z", attribute="end_date")
    assert password.attribute_lines["end_date"] == 11
    assert password.references == ("azuread_application.app",)

    relative = objs["azuread_service_principal_password.sp"]
    assert relative.lifetime == Lifetime(hours=720.0, attribute="end_date")

    assignment = objs["azurerm_role_assignment.owner"]
    assert grants(assignment) == [
        ("Owner", "/subscriptions/00000000-0000-0000-0000-000000000000", "allow", False, 21)
    ]
    assert assignment.references == ("azurerm_user_assigned_identity.ci",)

    cert = objs["tls_self_signed_cert.ca"]
    assert cert.kind == "certificate" and cert.platform == "tls"
    assert cert.lifetime == Lifetime(hours=8760.0, attribute="validity_period_hours")
    assert cert.location.start_line == 38 and cert.location.end_line == 47
    assert cert.attribute_lines["subject"] == 44
    assert cert.references == ("tls_private_key.ca",)
    assert objs["tls_private_key.ca"].kind == "private_key"
    assert objs["tls_private_key.ca"].lifetime is None


# --------------------------------------------------------------------------- Kubernetes provider


def test_kubernetes_binding_role_and_service_account() -> None:
    objs = by_address(parse_fixture("kubernetes.tf"))
    sa = objs["kubernetes_service_account_v1.deployer"]
    assert sa.kind == "service_account" and sa.platform == "kubernetes"
    assert sa.namespace == "payments"
    assert dict(sa.metadata) == {"owner": "team-payments", "example.com/ticket": "PAY-3"}
    assert sa.attribute_lines["metadata.labels"] == 6

    binding = objs["kubernetes_cluster_role_binding.deployer_admin"]
    assert binding.location.start_line == 15 and binding.location.end_line == 29
    assert binding.namespace is None
    assert grants(binding) == [("ClusterRole/cluster-admin", "*", "allow", False, 22)]
    assert binding.references == ("kubernetes_service_account_v1.deployer",)

    role = objs["kubernetes_role_v1.secrets"]
    assert role.kind == "policy" and role.namespace == "payments"
    assert [(g.action, g.resource, g.line) for g in role.privileges] == [
        ("get", "/secrets", 37),
        ("get", "/configmaps", 37),
        ("list", "/secrets", 37),
        ("list", "/configmaps", 37),
        ("*", "apps/deployments", 43),
    ]


# --------------------------------------------------------------------------- modules


def test_terraform_aws_modules_iam_submodules() -> None:
    result = parse_fixture("modules.tf")
    objs = by_address(result)
    assert set(objs) == {"module.ci_user", "module.irsa", "module.policy"}  # not module.vpc
    user = objs["module.ci_user"]
    assert (user.kind, user.platform, user.type) == (
        "user",
        "aws",
        "module:terraform-aws-modules/iam/aws",
    )
    assert (user.location.start_line, user.location.end_line) == (2, 11)
    assert dict(user.metadata) == {"Owner": "team-ci"}  # Ticket = var.ticket is skipped
    irsa = objs["module.irsa"]
    assert irsa.kind == "role"
    assert dict(irsa.metadata) == {"owner": "team-eks", "ticket": "EKS-5"}  # comment above
    assert grants(irsa) == [
        ("arn:aws:iam::aws:policy/AdministratorAccess", "*", "allow", False, 18)
    ]
    policy = objs["module.policy"]
    assert policy.kind == "policy"
    assert grants(policy) == [("ec2:*", "*", "allow", False, 28)]


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("terraform-aws-modules/iam/aws//modules/iam-assumable-role-with-oidc", "role"),
        ("terraform-aws-modules/iam/aws//modules/iam-role", "role"),
        ("terraform-aws-modules/iam/aws//modules/iam-group-with-policies", "role_binding"),
        ("terraform-aws-modules/iam/aws//modules/iam-github-oidc-provider", "oidc_trust"),
        ("terraform-aws-modules/iam/aws//modules/iam-read-only-policy", "policy"),
        ("terraform-aws-modules/iam/aws", "role"),
        (
            "git::https://github.com/terraform-aws-modules/terraform-aws-iam.git"
            "//modules/iam-user?ref=v5.0.0",
            "user",
        ),
    ],
)
def test_module_kind_follows_the_submodule(source: str, kind: str) -> None:
    objs = by_address(parse_text(f'module "m" {{\n  source = "{source}"\n}}\n'))
    assert objs["module.m"].kind == kind


# --------------------------------------------------------------------------- positions


def test_attribute_scan_ignores_braces_in_strings_comments_and_heredocs() -> None:
    text = """resource "aws_iam_user" "tricky" {
  name = "a { b"   # } comment with a brace
  /* tags = { fake = "x" } */
  path = "/${lookup(var.m, "k", "}")}/"
  permissions_boundary = <<EOT
tags = {
EOT
  force_destroy = true
  tags = {
    owner = "team-x"
  }
}
"""
    user = by_address(parse_text(text))["aws_iam_user.tricky"]
    assert dict(user.attribute_lines) == {
        "name": 2,
        "path": 4,
        "permissions_boundary": 5,
        "force_destroy": 8,
        "tags": 9,
    }
    assert dict(user.metadata) == {"owner": "team-x"}


def test_statement_lines_fall_back_to_the_policy_attribute_when_ambiguous() -> None:
    statements = '{ Action = "s3:*", Resource = "*" }, { Action = "ec2:*", Resource = "*" }'
    policy_line = f"  policy = jsonencode({{ Statement = [{statements}] }})"
    text = f'resource "aws_iam_policy" "p" {{\n{policy_line}\n}}\n'
    policy = by_address(parse_text(text))["aws_iam_policy.p"]
    assert [(g.action, g.line) for g in policy.privileges] == [("s3:*", 2), ("ec2:*", 2)]


def test_jsonencode_with_nested_quotes_in_expressions() -> None:
    text = """resource "aws_iam_policy" "p" {
  policy = jsonencode({
    Statement = [{
      Action   = local.admin ? "*" : "s3:GetObject"
      Resource = ["${var.enabled ? "a" : "b"}"]
    }]
  })
}
"""
    policy = by_address(parse_text(text))["aws_iam_policy.p"]
    assert grants(policy) == [
        ('${local.admin ? "*" : "s3:GetObject"}', '${var.enabled ? "a" : "b"}', "allow", False, 4)
    ]


def test_vault_policy_paths_and_capabilities() -> None:
    text = """resource "vault_policy" "ci" {
  name   = "ci"
  policy = <<EOT
path "secret/data/ci/*" {
  capabilities = ["read", "list"]
}
EOT
}
"""
    policy = by_address(parse_text(text))["vault_policy.ci"]
    assert [(g.action, g.resource, g.line) for g in policy.privileges] == [
        ("read", "secret/data/ci/*", 4),
        ("list", "secret/data/ci/*", 4),
    ]


# --------------------------------------------------------------------------- bad input


def test_malformed_hcl_is_nhi901_at_the_unclosed_block() -> None:
    result = parse_fixture("malformed.tf")
    # The block before the unclosed one is salvaged (tests/test_parser_terraform_salvage.py).
    assert [o.address for o in result.objects] == ["aws_iam_user.ok"]
    (problem,) = result.problems
    assert problem.rule_id == "NHI901"
    # lark only notices at the end of the file; the problem points at the block left open.
    assert (problem.line, problem.end_line, problem.address) == (5, 6, "aws_iam_access_key.broken")
    assert problem.path == "fixtures/parsers/terraform/malformed.tf"
    assert problem.message == (
        "fixtures/parsers/terraform/malformed.tf: HCL syntax error in resource "
        '"aws_iam_access_key" "broken" (lines 5-6) at line 5, column 1: '
        "not closed before the end of the file (missing }, ], ), quote or heredoc end); "
        "the file's other blocks were read"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('resource "aws_iam_user" "a" {\n  name = "open\n}\n', 1),
        ('locals {\n  x = 1\n}\n\nresource "aws_iam_user" "b" {\n  tags = {\n', 5),
        ('resource "aws_iam_policy" "p" {\n  policy = <<EOT\n{}\n', 2),  # at the heredoc
        ('resource "aws_iam_user" "c"\n', 1),
    ],
)
def test_end_of_file_errors_point_at_the_open_construct(text: str, line: int) -> None:
    (problem,) = parse_text(text).problems
    assert (problem.rule_id, problem.line) == ("NHI901", line)


def test_duplicate_attribute_is_nhi901_at_the_second_definition() -> None:
    (problem,) = parse_fixture("duplicate.tf").problems
    assert problem.rule_id == "NHI901"
    assert problem.line == 4
    assert "defined twice" in problem.message
    assert "two" not in problem.message


def test_bad_token_reports_its_line_and_column() -> None:
    (problem,) = parse_text('resource "aws_iam_user" "u" {\n  name = @\n}\n').problems
    assert (problem.rule_id, problem.line) == ("NHI901", 2)
    assert "line 2, column 10" in problem.message


def test_non_utf8_is_nhi902() -> None:
    # Bytes built here, not read from a fixture, so no checkout line-ending filter can alter them.
    raw = b'resource "aws_iam_user" "u" {\n  name = "caf\xe9"\n}\n'
    result = terraform.parse(SourceFile("latin1.tf", raw), load_catalogue())
    assert result.objects == ()
    (problem,) = result.problems
    assert (problem.rule_id, problem.line) == ("NHI902", 2)
    assert "caf" not in problem.message


def test_binary_and_oversize_files() -> None:
    catalogue = load_catalogue()
    binary = terraform.parse(SourceFile("bin.tf", b"\x00\x01resource"), catalogue)
    assert [p.rule_id for p in binary.problems] == ["NHI902"]
    huge = terraform.parse(SourceFile("huge.tf", b"#" * (2 * 1024 * 1024 + 1)), catalogue)
    assert [p.rule_id for p in huge.problems] == ["NHI903"]
    huge_json = terraform.parse_json(
        SourceFile("huge.tf.json", b" " * (2 * 1024 * 1024 + 1)), catalogue
    )
    assert [p.rule_id for p in huge_json.problems] == ["NHI903"]


def test_bom_and_crlf() -> None:
    raw = (
        b"\xef\xbb\xbf# nhi-gate: owner=team-bom\r\n"
        b'resource "aws_iam_user" "bom" {\r\n  name = "bom"\r\n}\r\n'
    )
    objs = by_address(terraform.parse(SourceFile("bom.tf", raw), load_catalogue()))
    user = objs["aws_iam_user.bom"]
    assert (user.location.start_line, user.location.end_line) == (2, 4)
    assert dict(user.metadata) == {"owner": "team-bom"}
    assert dict(user.attribute_lines) == {"name": 3}


def test_empty_and_comment_only_files() -> None:
    assert parse_text("") == ParseResult()
    assert parse_text("# nothing here\n") == ParseResult()


def test_garbage_never_raises() -> None:
    rng = random.Random(20240601)
    alphabet = '{}[]()"=$#/*<>\n \\resourcedatamodule"aws_iam_user"EOT-.,:'
    catalogue = load_catalogue()
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        for parser in (terraform.parse, terraform.parse_json):
            result = parser(SourceFile("g.tf", text.encode()), catalogue)
            assert all(p.rule_id == "NHI901" for p in result.problems)


# --------------------------------------------------------------------------- .tf.json


def test_tf_json_objects_lines_and_metadata() -> None:
    result = parse_fixture("main.tf.json")
    objs = by_address(result)
    assert spans(result) == [
        ("aws_iam_user.json_user", "user", 4, 8),
        ("aws_iam_policy.json_policy", "policy", 11, 13),
        ("data.aws_iam_policy_document.doc", "policy", 21, 25),
        ("module.json_role", "role", 29, 32),
    ]
    user = objs["aws_iam_user.json_user"]
    assert dict(user.metadata) == {"Owner": "team-json", "ticket": "OPS-99"}
    assert dict(user.attribute_lines) == {"name": 6, "tags": 7}
    policy = objs["aws_iam_policy.json_policy"]
    assert grants(policy) == [("s3:*", "*", "allow", False, 12)]
    doc = objs["data.aws_iam_policy_document.doc"]
    assert grants(doc) == [("sqs:SendMessage", "*", "allow", False, 23)]
    assert dict(objs["module.json_role"].metadata) == {"Owner": "team-json"}


def test_tf_json_array_forms() -> None:
    text = '{"resource": [{"aws_iam_user": [{"u": [{\n"name": "x"\n}]}]}]}'
    result = terraform.parse_json(SourceFile("a.tf.json", text.encode()), load_catalogue())
    (user,) = result.objects
    assert user.address == "aws_iam_user.u"
    assert user.attribute_lines == {"name": 2}


def test_malformed_tf_json_is_nhi901() -> None:
    (problem,) = parse_fixture("malformed.tf.json").problems
    assert (problem.rule_id, problem.line) == ("NHI901", 4)
    assert "line 4, column 25" in problem.message


# --------------------------------------------------------------------------- real corpus


def corpus_files() -> list[Path]:
    roots = [CORPUS / "terraform", CORPUS / "real-repos"]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.tf"))


@pytest.mark.skipif(
    not corpus_files(), reason="../shared/corpus (real Terraform files) is not checked out here"
)
def test_every_corpus_file_parses_without_exceptions_or_problems() -> None:
    catalogue = load_catalogue()
    found = 0
    for path in corpus_files():
        raw = path.read_bytes()
        result = terraform.parse(SourceFile(path.as_posix(), raw), catalogue)
        assert result.problems == (), path
        lines = raw.decode("utf-8-sig").splitlines()
        for obj in result.objects:
            found += 1
            start, end = obj.location.start_line, obj.location.end_line
            assert 1 <= start <= end <= len(lines), (path, obj.address)
            # an `unread` facet starts at its provisioner, remote module call or `external` data
            heads = ("provisioner", "module", "data") if obj.type.startswith(UNREAD) else (
                "resource", "data", "module")
            assert lines[start - 1].lstrip().startswith(heads), (path, obj.address)
            for attr, line in obj.attribute_lines.items():
                assert start <= line <= end, (path, obj.address, attr)
                # `anchor` names no attribute: the line a facet's finding goes on (a volume's
                # path in a `kubernetes_manifest`, `parsers/kubernetes/volumes.py`)
                assert attr == "anchor" or attr.rsplit(".", 1)[-1] in lines[line - 1], (
                    path, obj.address, attr)
            for grant in obj.privileges:
                assert grant.line is not None and start <= grant.line <= end, (path, obj.address)
    assert found > 100
