"""Meaning, not text, for policy documents (issue 12): an agent's edit that leaves an IAM JSON
document or a Kubernetes Role meaning the same (keys reordered, `jsonencode` -> heredoc, a
`local`, or `file()`, statements/actions/rules reordered, `"x"` <-> `["x"]`, YAML restyled) is
no change; the same edit with one real change (an action, a condition value, a resource, a
verb) still blocks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main

CLAUDE = ("Claude", "noreply@anthropic.com")
HEADER = "# nhi-gate: owner=team-a ticket=OPS-1 expires=2027-01-01\n"

A = {"Sid": "A", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
     "Resource": "arn:aws:s3:::b/*",
     "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}
B = {"Sid": "B", "Effect": "Allow", "Action": ["sqs:SendMessage"],
     "Resource": "arn:aws:sqs:us-east-1:111111111111:q"}
BASE_DOC = {"Version": "2012-10-17", "Statement": [A, B]}


def _reordered(doc: dict[str, Any]) -> dict[str, Any]:
    """The same document: keys reversed, statements and actions reversed, one-element lists
    written as a string and single strings as one-element lists."""
    def flip(v: Any) -> Any:
        if isinstance(v, list):
            return v[0] if len(v) == 1 else list(reversed(v))
        return [v] if isinstance(v, str) else v
    statements = [{k: (flip(s[k]) if k in ("Action", "Resource") else s[k])
                   for k in reversed(list(s))} for s in reversed(doc["Statement"])]
    return {"Statement": statements, "Version": doc["Version"]}


def _hcl(value: Any) -> str:
    if isinstance(value, dict):
        items = [f"{k if k.isidentifier() else json.dumps(k)} = {_hcl(v)}"
                 for k, v in value.items()]
        return "{ " + ", ".join(items) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_hcl(v) for v in value) + "]"
    return json.dumps(value)


def _policy_files(style: str, doc: dict[str, Any]) -> dict[str, str]:
    """`main.tf` (and its document's file) with `doc` written in `style`."""
    head = HEADER + 'resource "aws_iam_policy" "p" {\n  name = "p"\n'
    if style == "jsonencode":
        return {"main.tf": head + f"  policy = jsonencode({_hcl(doc)})\n}}\n"}
    if style == "heredoc":
        return {"main.tf": head + f"  policy = <<JSON\n{json.dumps(doc, indent=2)}\nJSON\n}}\n"}
    if style == "local":
        return {"main.tf": head + "  policy = local.doc\n}\n\n"
                f"locals {{\n  doc = jsonencode({_hcl(doc)})\n}}\n"}
    assert style == "file"
    return {"main.tf": head + '  policy = file("${path.module}/policy.json")\n}\n',
            "policy.json": json.dumps(doc) + "\n"}


def _changed(doc: dict[str, Any], change: str) -> dict[str, Any]:
    a, b = (dict(s) for s in doc["Statement"])
    if change == "action":
        a["Action"] = [*a["Action"], "s3:DeleteObject"]
    elif change == "condition":
        a["Condition"] = {"StringEquals": {"aws:SourceVpce": "vpce-2"}}
    else:
        b["Resource"] = "arn:aws:sqs:us-east-1:111111111111:*"
    return {"Version": doc["Version"], "Statement": [a, b]}


def _check(repo: GitRepo, base: str, capsys: Any) -> tuple[int, list[tuple[str, str]]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    return code, [(f["rule_id"], f["address"]) for f in report["findings"]]


STYLES = ("jsonencode", "heredoc", "local", "file")


@pytest.mark.parametrize("style", STYLES)
def test_the_same_policy_document_written_another_way_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: Any, style: str) -> None:
    repo = make_repo()
    base = repo.commit(_policy_files("jsonencode", BASE_DOC), author=HUMAN)
    repo.commit(_policy_files(style, _reordered(BASE_DOC)), author=CLAUDE)
    assert _check(repo, base, capsys) == (0, [])


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("change", ("action", "condition", "resource"))
def test_the_same_rewrite_with_one_real_change_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any, style: str, change: str) -> None:
    repo = make_repo()
    base = repo.commit(_policy_files("jsonencode", BASE_DOC), author=HUMAN)
    repo.commit(_policy_files(style, _reordered(_changed(BASE_DOC, change))), author=CLAUDE)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    assert ("NHI101", "aws_iam_policy.p") in findings


ROLE = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  {name: r, namespace: app, annotations: {owner: team-a, ticket: OPS-1, expires: "2027-01-01"}}
rules:
  - {apiGroups: [""], resources: ["configmaps", "secrets"], verbs: ["get", "list"]}
  - {apiGroups: ["apps"], resources: ["deployments"], verbs: ["list"]}
"""

# The same Role in block style, keys sorted, rules swapped, verbs and resources reordered.
ROLE_RESTYLED = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  annotations:
    expires: '2027-01-01'
    owner: team-a
    ticket: OPS-1
  name: r
  namespace: app
rules:
- apiGroups:
  - apps
  resources:
  - deployments
  verbs:
  - %s
- apiGroups:
  - ''
  resources:
  - secrets
  - configmaps
  verbs:
  - list
  - get
"""


def test_a_restyled_role_with_its_rules_reordered_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    base = repo.commit({"role.yaml": ROLE}, author=HUMAN)
    repo.commit({"role.yaml": ROLE_RESTYLED % "list"}, author=CLAUDE)
    assert _check(repo, base, capsys) == (0, [])


def test_the_restyled_role_with_one_more_verb_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo = make_repo()
    base = repo.commit({"role.yaml": ROLE}, author=HUMAN)
    repo.commit({"role.yaml": ROLE_RESTYLED % "list\n  - delete"}, author=CLAUDE)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    assert ("NHI101", "Role/app/r") in findings



MODULE = """\
variable "actions" {
  type    = list(string)
  default = ["s3:GetObject"]
}

# nhi-gate: owner=team-a ticket=OPS-1 expires=2027-01-01
resource "aws_iam_policy" "p" {
  name = "p"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = var.actions, Resource = "arn:aws:s3:::%s" }]
  })
}
"""
CALLER = 'module "iam" {\n  source  = "./modules/iam"\n  actions = [%s]\n}\n'
REQUESTED = [("Requested-by", "Alice <alice@example.com>")]


def _module_repo(make_repo: Callable[..., GitRepo]) -> tuple[GitRepo, str]:
    repo = make_repo()
    base = repo.commit({"modules/iam/main.tf": MODULE % "b/*",
                        "main.tf": CALLER % '"s3:GetObject"'}, author=HUMAN)
    return repo, base


def test_a_module_change_read_through_a_caller_is_reported_once(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    """terraform-aws-eks 3bc989bd: the module's own identity and `module.iam.<it>` (read with
    an argument that changes nothing in the change) give the same findings: reported once."""
    repo, base = _module_repo(make_repo)
    repo.commit({"modules/iam/main.tf": MODULE % "*",  # and the caller file, as in eks
                 "main.tf": CALLER % '"s3:GetObject"' + '\noutput "x" {\n  value = 1\n}\n'},
                author=CLAUDE, trailers=REQUESTED)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    assert sorted(findings) == [("NHI101", "aws_iam_policy.p"), ("NHI302", "aws_iam_policy.p")]


def test_a_caller_argument_change_is_still_reported_through_the_call(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    repo, base = _module_repo(make_repo)
    repo.commit({"main.tf": CALLER % '"s3:GetObject", "s3:DeleteObject"'}, author=CLAUDE,
                trailers=REQUESTED)
    code, findings = _check(repo, base, capsys)
    assert code == 1
    assert ("NHI101", "module.iam.aws_iam_policy.p") in findings
    assert not [f for f in findings if f[1] == "aws_iam_policy.p"]


def test_scan_names_the_caller_argument_a_callee_identity_reads(
        tmp_path: Any, capsys: Any) -> None:
    """terraform-aws-eks `module.ack_eks_capability...additional` (modules/capability/main.tf
    :221): the admin grant lives in the caller's argument, and the finding says so."""
    (tmp_path / "modules" / "iam").mkdir(parents=True)
    (tmp_path / "modules" / "iam" / "main.tf").write_text(
        'variable "policy_arn" {\n  type = string\n}\n\n'
        'resource "aws_iam_role_policy_attachment" "a" {\n  role       = "ci"\n'
        '  policy_arn = var.policy_arn\n}\n')
    (tmp_path / "main.tf").write_text(
        'module "ci" {\n  source     = "./modules/iam"\n'
        '  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"\n}\n')
    main(["scan", str(tmp_path), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    [admin] = [f for f in findings if f["rule_id"] == "NHI301"]
    assert admin["address"] == "module.ci.aws_iam_role_policy_attachment.a"
    assert (admin["path"], admin["start_line"]) == ("modules/iam/main.tf", 7)
    assert admin["message"].endswith("; via module.ci argument policy_arn (main.tf:3)")
