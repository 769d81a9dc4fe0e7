"""Classify a change to an existing identity by what it means (DESIGN.md "What counts as a
change"): IAM conditions, trust widening, permissions boundaries. Each case is a real git repo
with a human base; the widening by an agent blocks with NHI302 naming what was gained, the same
change by a human does not block, and a narrowing by an agent is a note with exit 0."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.cli import main

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
REQUESTED = [("Requested-by", "Alice Example <alice@example.com>")]
META = "# nhi-gate: owner=team-ci ticket=OPS-1 expires=2027-01-01\n"

Found = list[tuple[str, int, str, bool, str]]


def _run(make_repo: Callable[..., GitRepo], capsys: Any, base: dict[str, str],
         head: dict[str, str], author: Identity) -> tuple[int, Found]:
    repo = make_repo()
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author, trailers=REQUESTED if author == CLAUDE else None)
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["start_line"], f["level"], f["blocking"], f["message"])
                  for f in report["findings"]]


def _rules(found: Found) -> list[tuple[str, str, bool]]:
    return [(r, level, blocking) for r, _, level, blocking, _ in found]


def _message(found: Found, rule: str) -> str:
    return next(m for r, _, _, _, m in found if r == rule)


# --------------------------------------------------------------------------- conditions

POLICY = META + """\
resource "aws_iam_policy" "logs" {
  name = "logs"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = ["s3:*"]
      Resource  = "*"
      Condition = { StringEquals = { "aws:SourceVpce" = "vpce-0123" } }
    }]
  })
}
"""
UNCONDITIONAL = POLICY.replace(
    '      Condition = { StringEquals = { "aws:SourceVpce" = "vpce-0123" } }\n', "").replace(
    'Resource  = "*"', 'Resource  = "*"')

DOCUMENT = META + """\
data "aws_iam_policy_document" "logs" {
  statement {
    actions   = ["s3:*"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:SourceVpce"
      values   = ["vpce-0123"]
    }
  }
}
"""
DOCUMENT_UNCONDITIONAL = DOCUMENT.replace(
    '    condition {\n      test     = "StringEquals"\n      variable = "aws:SourceVpce"\n'
    '      values   = ["vpce-0123"]\n    }\n', "")


def _scan(tmp_path: Path, text: str, capsys: Any) -> Found:
    (tmp_path / "iam.tf").write_text(text)
    main(["scan", str(tmp_path / "iam.tf"), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return [(f["rule_id"], f["start_line"], f["level"], f["blocking"], f["message"])
            for f in report["findings"] if f["rule_id"] == "NHI301"]


@pytest.mark.parametrize("text", [POLICY, DOCUMENT], ids=["json", "policy_document"])
def test_a_wildcard_under_a_condition_is_a_warning_naming_it(
        tmp_path: Path, capsys: Any, text: str) -> None:
    found = _scan(tmp_path, text, capsys)
    assert [(r, level, blocking) for r, _, level, blocking, _ in found] == [
        ("NHI301", "warning", False)]
    assert "only under IAM conditions" in found[0][4]
    assert "s3:* on * when StringEquals:aws:SourceVpce" in found[0][4]
    assert "vpce-0123" not in found[0][4]  # condition values are never shown


def test_a_wildcard_under_secure_transport_only_is_unconditional(
        tmp_path: Path, capsys: Any) -> None:
    text = DOCUMENT.replace('"StringEquals"', '"Bool"').replace(
        '"aws:SourceVpce"', '"aws:SecureTransport"').replace('"vpce-0123"', '"true"')
    found = _scan(tmp_path, text, capsys)
    assert [(r, line, level) for r, line, level, _, _ in found] == [("NHI301", 4, "error")]


@pytest.mark.parametrize(("base", "head", "line"), [
    (POLICY, UNCONDITIONAL, 3), (DOCUMENT, DOCUMENT_UNCONDITIONAL, 4)],
    ids=["json", "policy_document"])
def test_an_agent_removing_a_condition_is_a_blocking_widening(
        make_repo: Callable[..., GitRepo], capsys: Any, base: str, head: str, line: int) -> None:
    code, found = _run(make_repo, capsys, {"iam.tf": base}, {"iam.tf": head}, CLAUDE)
    assert code == 1
    assert ("NHI302", "error", True) in _rules(found)
    assert ("NHI301", "error", True) in _rules(found)
    assert "s3:* on * (condition StringEquals:aws:SourceVpce removed)" in _message(
        found, "NHI302")


@pytest.mark.parametrize(("base", "head"), [(POLICY, UNCONDITIONAL),
                                            (DOCUMENT, DOCUMENT_UNCONDITIONAL)],
                         ids=["json", "policy_document"])
def test_a_human_removing_a_condition_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: Any, base: str, head: str) -> None:
    code, found = _run(make_repo, capsys, {"iam.tf": base}, {"iam.tf": head}, HUMAN)
    assert code == 0
    assert not any(blocking for *_, blocking, _ in found)


@pytest.mark.parametrize(("base", "head", "line"), [
    (UNCONDITIONAL, POLICY, 10), (DOCUMENT_UNCONDITIONAL, DOCUMENT, 6)],
    ids=["json", "policy_document"])
def test_an_agent_adding_a_condition_is_a_narrowing_note(
        make_repo: Callable[..., GitRepo], capsys: Any, base: str, head: str, line: int) -> None:
    code, found = _run(make_repo, capsys, {"iam.tf": base}, {"iam.tf": head}, CLAUDE)
    assert code == 0
    assert [(r, ln, level, b) for r, ln, level, b, _ in found] == [
        ("NHI302", line, "note", False)]


# --------------------------------------------------------------------------- trust

ROLE = META + """\
resource "aws_iam_role" "deploy" {
  name = "deploy"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRoleWithWebIdentity"
      Principal = { Federated = "PROVIDER" }
      Condition = {
        StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
        StringLike   = { "token.actions.githubusercontent.com:sub" = SUB }
      }
    }]
  })
}
"""
GITHUB = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
SUB_LINE = '        StringLike   = { "token.actions.githubusercontent.com:sub" = SUB }\n'


def _role(sub: str = '"repo:acme/app:*"') -> str:
    return ROLE.replace("SUB", sub).replace("PROVIDER", GITHUB)


@pytest.mark.parametrize(("head", "gained"), [
    (_role().replace(f'Principal = {{ Federated = "{GITHUB}" }}', 'Principal = { AWS = "*" }'),
     "any AWS principal can now assume it (AWS:*)"),
    (_role().replace(SUB_LINE.replace("SUB", '"repo:acme/app:*"'), ""),
     "any GitHub repository can now assume it (OIDC sub condition removed; "
     "was repo:acme/app:*)"),
    (_role('"repo:acme/*"'),
     "GitHub repositories and refs matching repo:acme/* can now assume it "
     "(was repo:acme/app:*)"),
    (_role().replace(
        '        StringEquals = { "token.actions.githubusercontent.com:aud" = '
        '"sts.amazonaws.com" }\n', ""),
     "condition StringEquals:token.actions.githubusercontent.com:aud removed"),
], ids=["principal-star", "sub-deleted", "sub-widened", "aud-deleted"])
def test_an_agent_widening_a_trust_policy_blocks_naming_the_gain(
        make_repo: Callable[..., GitRepo], capsys: Any, head: str, gained: str) -> None:
    code, found = _run(make_repo, capsys, {"iam.tf": _role()}, {"iam.tf": head}, CLAUDE)
    assert code == 1
    assert ("NHI302", "error", True) in _rules(found)
    assert f"aws_iam_role.deploy trusts more principals: {gained}" in _message(found, "NHI302")
    # the same change by a human does not block
    code, found = _run(make_repo, capsys, {"iam.tf": _role()}, {"iam.tf": head}, HUMAN)
    assert code == 0
    assert not any(blocking for *_, blocking, _ in found)


TFVARS_BASE = {
    "infra/iam.tf": _role("var.github_sub"),
    "infra/variables.tf": 'variable "github_sub" {\n  type = string\n}\n',
    "infra/terraform.tfvars": 'github_sub = "repo:acme/app:*"\n',
}


def test_a_sub_widened_in_tfvars_alone_blocks_an_agent_via_the_tfvars(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = {"infra/terraform.tfvars": 'github_sub = "repo:acme/*"\n'}
    code, found = _run(make_repo, capsys, TFVARS_BASE, head, CLAUDE)
    assert code == 1
    message = _message(found, "NHI302")
    assert "GitHub repositories and refs matching repo:acme/* can now assume it" in message
    assert "via var.github_sub (infra/terraform.tfvars:1)" in message
    code, found = _run(make_repo, capsys, TFVARS_BASE, head, HUMAN)
    assert code == 0


def test_an_agent_narrowing_a_trust_subject_does_not_widen(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = _role('"repo:acme/app:ref:refs/heads/main"')
    code, found = _run(make_repo, capsys, {"iam.tf": _role()}, {"iam.tf": head}, CLAUDE)
    assert code == 0
    assert [(r, level, b) for r, _, level, b, _ in found] == [("NHI302", "note", False)]
    assert "trust narrowed" in found[0][4]


# --------------------------------------------------------------------------- boundary

BOUNDED = META + """\
resource "aws_iam_role" "ci" {
  name                 = "ci"
  assume_role_policy   = jsonencode({ Statement = [{
    Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ec2.amazonaws.com" }
  }] })
  permissions_boundary = "arn:aws:iam::111122223333:policy/ci-boundary"
}
"""


@pytest.mark.parametrize(("head", "gained"), [
    (BOUNDED.replace(
        '  permissions_boundary = "arn:aws:iam::111122223333:policy/ci-boundary"\n', ""),
     "permissions boundary arn:aws:iam::111122223333:policy/ci-boundary removed"),
    (BOUNDED.replace("policy/ci-boundary", "policy/broad-boundary"),
     "permissions boundary changed to arn:aws:iam::111122223333:policy/broad-boundary"),
], ids=["deleted", "replaced"])
def test_an_agent_removing_a_permissions_boundary_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any, head: str, gained: str) -> None:
    code, found = _run(make_repo, capsys, {"iam.tf": BOUNDED}, {"iam.tf": head}, CLAUDE)
    assert code == 1
    assert ("NHI302", "error", True) in _rules(found)
    assert f"aws_iam_role.ci privileges widened: {gained}" in _message(found, "NHI302")
    code, found = _run(make_repo, capsys, {"iam.tf": BOUNDED}, {"iam.tf": head}, HUMAN)
    assert code == 0


# --------------------------------------------------------------------------- narrowing

K8S_ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: deployer
  namespace: apps
  labels: {owner: team-ci, ticket: OPS-1, expires: "2027-01-01"}
rules:
  - apiGroups: ["apps"]
    resources: ["deployments", "statefulsets"]
    verbs: ["get", "list", "update", "delete"]
"""
TF_K8S_ROLE = META + """\
resource "kubernetes_role_v1" "deployer" {
  metadata {
    name      = "deployer"
    namespace = "apps"
  }
  rule {
    api_groups = ["apps"]
    resources  = ["deployments", "statefulsets"]
    verbs      = ["get", "list", "update", "delete"]
  }
}
"""
TF_ROLE = META + """\
resource "aws_iam_role" "ci" {
  name                = "ci"
  assume_role_policy  = jsonencode({ Statement = [{
    Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "ec2.amazonaws.com" }
  }] })
  managed_policy_arns = [
    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess",
  ]
}
"""


@pytest.mark.parametrize(("path", "base", "head", "line", "gone"), [
    ("k8s/role.yaml", K8S_ROLE, K8S_ROLE.replace(', "delete"]', "]"), 10, "delete on apps/"),
    ("k8s/role.yaml", K8S_ROLE, K8S_ROLE.replace(', "statefulsets"]', "]"), 9,
     "on apps/statefulsets"),
    ("iam.tf", TF_K8S_ROLE, TF_K8S_ROLE.replace(', "delete"]', "]"), 10, "delete on "),
    ("iam.tf", TF_ROLE, TF_ROLE.replace(
        '    "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess",\n', ""), 7,
     "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"),
], ids=["k8s-verb", "k8s-resource", "terraform-k8s-verb", "iam-role-managed-policy"])
def test_an_agent_narrowing_a_role_gets_a_note_and_passes(
        make_repo: Callable[..., GitRepo], capsys: Any, path: str, base: str, head: str,
        line: int, gone: str) -> None:
    code, found = _run(make_repo, capsys, {path: base}, {path: head}, CLAUDE)
    assert code == 0
    assert [(r, ln, level, b) for r, ln, level, b, _ in found] == [
        ("NHI302", line, "note", False)]
    assert "privileges narrowed (no longer grants" in found[0][4]
    assert gone in found[0][4]


@pytest.mark.parametrize(("path", "base", "head"), [
    ("k8s/role.yaml", K8S_ROLE, K8S_ROLE.replace('"delete"]', '"delete", "patch"]')),
    ("k8s/role.yaml", K8S_ROLE, K8S_ROLE.replace(', "delete"]', "]").replace(
        "name: deployer", "name: deployer2")),
    ("iam.tf", TF_K8S_ROLE, TF_K8S_ROLE.replace('"delete"]', '"delete", "patch"]')),
], ids=["k8s-verb-added", "k8s-renamed-too", "terraform-k8s-verb-added"])
def test_a_role_change_that_is_not_only_a_narrowing_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any, path: str, base: str, head: str
        ) -> None:  # fmt: skip
    code, found = _run(make_repo, capsys, {path: base}, {path: head}, CLAUDE)
    assert code == 1
    assert ("NHI101", "error", True) in _rules(found)
    assert not any(level == "note" for _, level, _ in _rules(found))


# --------------------------------------------------------------------------- metadata only

TAGGED = """\
resource "aws_iam_user" "deploy" {
  name = "deploy"
  tags = {
    owner   = "team-ci"
    ticket  = "OPS-1"
    expires = "2027-01-01"
  }
}
"""


def test_an_agent_changing_only_the_owner_gets_a_note_and_passes(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = TAGGED.replace('"team-ci"', '"team-platform"')
    code, found = _run(make_repo, capsys, {"iam.tf": TAGGED}, {"iam.tf": head}, CLAUDE)
    assert code == 0
    assert [(r, ln, level, b) for r, ln, level, b, _ in found] == [("NHI302", 4, "note", False)]
    assert "only its metadata changed (owner); its access is unchanged" in found[0][4]


def test_an_agent_deleting_the_owner_is_still_judged_by_nhi201(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = TAGGED.replace('    owner   = "team-ci"\n', "")
    code, found = _run(make_repo, capsys, {"iam.tf": TAGGED}, {"iam.tf": head}, CLAUDE)
    assert code == 1
    assert sorted(_rules(found)) == [("NHI201", "error", True), ("NHI302", "note", False)]


def test_an_agent_extending_the_expiry_blocks_as_a_longer_life(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = TAGGED.replace('"2027-01-01"', '"2027-02-01"')
    code, found = _run(make_repo, capsys, {"iam.tf": TAGGED}, {"iam.tf": head}, CLAUDE)
    assert code == 1
    assert ("NHI302", "error", True) in _rules(found)
    assert (_message(found, "NHI302")
            == "aws_iam_user.deploy lives longer: expires 2027-02-01 (was 2027-01-01)")
    code, found = _run(make_repo, capsys, {"iam.tf": TAGGED}, {"iam.tf": head}, HUMAN)
    assert code == 0


TRUST_DOCUMENT = META + """\
data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["PROVIDER"]
    }
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:acme/app:*"]
    }
  }
}
""".replace("PROVIDER", GITHUB)


def test_an_agent_deleting_the_sub_condition_of_a_trust_document_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    head = TRUST_DOCUMENT.replace(
        '    condition {\n      test     = "StringLike"\n      variable = '
        '"token.actions.githubusercontent.com:sub"\n      values   = ["repo:acme/app:*"]\n'
        '    }\n', "")
    code, found = _run(make_repo, capsys, {"iam.tf": TRUST_DOCUMENT}, {"iam.tf": head}, CLAUDE)
    assert code == 1
    messages = [m for r, _, _, blocking, m in found if r == "NHI302" and blocking]
    assert ("data.aws_iam_policy_document.trust trusts more principals: any GitHub repository "
            "can now assume it (OIDC sub condition removed; was repo:acme/app:*)") in messages
