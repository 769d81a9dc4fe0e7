"""What a Terraform configuration adopts or runs as, and grants laundered through another format
(issue 12, attacker pass s9):

- an `import` block that targets a catalogued identity type is judged as creating it (the
  grant from an attachment's `id`; NHI106 when what it imports cannot be read);
- a `provider` block's `assume_role` (or Google `impersonate_service_account`) is the
  identity Terraform runs as: an agent switching it blocks (NHI101, NHI302 fail closed when
  the new role is not defined in the change), a person's switch is a warning;
- a person who deletes an agent's new grant and adds the same in another file or format
  (`iam.tf` -> `iam.tf.json`, a YAML ClusterRoleBinding -> `rbac.json`) does not become its
  creator: the agent's creation still blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

CLAUDE = ("Claude", "noreply@anthropic.com")
TRAILER = [("Requested-by", "Alice Admin <alice@corp.example>")]
ROLE = (
    'resource "aws_iam_role" "ci" {\n'
    '  name               = "ci"\n'
    '  assume_role_policy = jsonencode({ Version = "2012-10-17", '
    'Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", '
    'Principal = { Service = "ec2.amazonaws.com" } }] })\n'
    '  tags = { owner = "alice", ticket = "SEC-1", expires = "2027-01-01" }\n'
    '}\n'
)
IMPORT_ADMIN = """\
import {
  to = aws_iam_role_policy_attachment.admin
  id = "ci/arn:aws:iam::aws:policy/AdministratorAccess"
}
"""
IMPORT_USER = """\
import {
  to = aws_iam_user.legacy
  id = "legacy-deployer"
}
"""
PROVIDER = """\
provider "aws" {
  region = "us-east-1"
  assume_role {
    role_arn = "arn:aws:iam::111122223333:role/ROLE"
  }
}
"""
GOOGLE = """\
provider "google" {
  project                     = "p"
  impersonate_service_account = "SA@p.iam.gserviceaccount.com"
}
"""


def _two(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
         base: dict[str, str], head: dict[str, str | None],
         author: tuple[str, str] = CLAUDE) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    first = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author, trailers=TRAILER)
    return check_findings(repo, first, capsys)


def _rules(findings: list[dict[str, Any]]) -> list[tuple[str, str, str, int, bool]]:
    return sorted((f["rule_id"], f["path"], f["address"], f["start_line"], f["blocking"])
                  for f in findings)


def test_an_agent_importing_an_admin_attachment_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _two(make_repo, capsys, {"main.tf": ROLE},
                          {"main.tf": ROLE + IMPORT_ADMIN})
    assert code == 1
    assert _rules(findings) == [
        ("NHI101", "main.tf", "aws_iam_role_policy_attachment.admin", 6, True),
        ("NHI301", "main.tf", "aws_iam_role_policy_attachment.admin", 8, True)]
    by_rule = {f["rule_id"]: f["message"] for f in findings}
    assert "imported into the configuration (an `import` block)" in by_rule["NHI101"]
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in by_rule["NHI301"]


def test_a_person_importing_an_admin_attachment_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _two(make_repo, capsys, {"main.tf": ROLE},
                          {"main.tf": ROLE + IMPORT_ADMIN}, author=HUMAN)
    assert code == 0
    assert _rules(findings) == [
        ("NHI301", "main.tf", "aws_iam_role_policy_attachment.admin", 8, False)]


def test_an_import_whose_grants_cannot_be_read_fails_closed(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _two(make_repo, capsys, {"main.tf": ROLE},
                          {"main.tf": ROLE + IMPORT_USER})
    assert code == 1
    unresolved = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["address"], f["start_line"], f["blocking"]) for f in unresolved] == [
        ("aws_iam_user.legacy", 8, True)]
    assert "imported: what it grants is read from the existing resource" in (
        unresolved[0]["message"])


def test_an_import_of_a_block_the_file_defines_is_that_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    block = ('resource "aws_iam_role_policy_attachment" "admin" {\n  role       = "ci"\n'
             '  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"\n}\n')
    code, findings = _two(make_repo, capsys, {"main.tf": ROLE},
                          {"main.tf": ROLE + block + IMPORT_ADMIN})
    assert code == 1
    assert [(f["rule_id"], f["start_line"]) for f in findings] == [("NHI101", 6)]


@pytest.mark.parametrize(("old", "new", "rules"), [
    (PROVIDER.replace("ROLE", "tf-readonly"),
     PROVIDER.replace("ROLE", "OrganizationAccountAccessRole"),
     [("NHI101", "providers.tf", "provider.aws", 4, True),
      ("NHI302", "providers.tf", "provider.aws", 4, True)]),
    (GOOGLE.replace("SA", "tf-read"), GOOGLE.replace("SA", "tf-owner"),
     [("NHI101", "providers.tf", "provider.google", 3, True),
      ("NHI302", "providers.tf", "provider.google", 3, True)]),
])
def test_an_agent_switching_the_identity_terraform_runs_as_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], old: str,
        new: str, rules: list[tuple[str, str, str, int, bool]]) -> None:
    code, findings = _two(make_repo, capsys, {"providers.tf": old}, {"providers.tf": new})
    assert code == 1
    assert _rules(findings) == rules
    drift = next(f["message"] for f in findings if f["rule_id"] == "NHI302")
    assert "could not check what" in drift
    assert "a human must check its privileges" in drift
    assert "OrganizationAccountAccessRole" in drift or "tf-owner@p" in drift


def test_a_person_switching_the_provider_role_is_a_warning(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _two(make_repo, capsys,
                          {"providers.tf": PROVIDER.replace("ROLE", "tf-readonly")},
                          {"providers.tf": PROVIDER.replace("ROLE", "OrganizationAccount"
                                                            "AccessRole")}, author=HUMAN)
    assert code == 0
    assert [(f["rule_id"], f["level"], f["blocking"]) for f in findings] == [
        ("NHI302", "warning", False)]


def test_a_provider_change_that_keeps_its_role_is_no_finding(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    old = PROVIDER.replace("ROLE", "tf-readonly")
    code, findings = _two(make_repo, capsys, {"providers.tf": old},
                          {"providers.tf": old.replace("us-east-1", "eu-west-1")})
    assert (code, findings) == (0, [])


ATTACH_TF = """\
resource "aws_iam_role_policy_attachment" "ci_admin" {
  role       = "ci"
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
"""
ATTACH_JSON = ('{"resource":{"aws_iam_role_policy_attachment":{"ci_admin":{"role":"ci",'
               '"policy_arn":"arn:aws:iam::aws:policy/AdministratorAccess"}}}}\n')
CRB_YAML = """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: web-admin
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
  - kind: ServiceAccount
    name: web
    namespace: web
"""
CRB_JSON = ('{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",'
            '"metadata":{"name":"web-admin"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io",'
            '"kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"ServiceAccount",'
            '"name":"web","namespace":"web"}]}\n')
LAUNDERED = {
    "tf-to-tf-json": ({"main.tf": "# base\n"}, "iam.tf", ATTACH_TF, "iam.tf.json", ATTACH_JSON,
                      "aws_iam_role_policy_attachment.ci_admin"),
    "yaml-to-json": ({"sa.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web\n"},
                     "crb.yaml", CRB_YAML, "rbac.json", CRB_JSON, "ClusterRoleBinding/web-admin"),
}


def _launder(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], case: str,
             writer: tuple[str, str]) -> tuple[int, list[dict[str, Any]]]:
    base, old, old_text, new, new_text, _ = LAUNDERED[case]
    repo = make_repo()
    first = repo.commit(base, author=HUMAN)
    repo.commit({old: old_text}, author=writer, trailers=TRAILER)
    repo.commit({old: None, new: new_text}, author=HUMAN, message="json")
    return check_findings(repo, first, capsys)


@pytest.mark.parametrize("case", sorted(LAUNDERED))
def test_a_person_moving_an_agents_grant_to_another_format_does_not_launder_it(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], case: str
) -> None:
    code, findings = _launder(make_repo, capsys, case, CLAUDE)
    path, address = LAUNDERED[case][3], LAUNDERED[case][5]
    assert code == 1
    assert _rules(findings) == [("NHI101", path, address, 1, True),
                                ("NHI301", path, address, 1, True)]
    assert all(f["actor_kind"] == "agent" for f in findings)
    assert "was created by agent (Claude Code)" in next(
        f["message"] for f in findings if f["rule_id"] == "NHI101")


@pytest.mark.parametrize("case", sorted(LAUNDERED))
def test_the_same_move_of_a_persons_grant_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], case: str
) -> None:
    code, findings = _launder(make_repo, capsys, case, HUMAN)
    path, address = LAUNDERED[case][3], LAUNDERED[case][5]
    assert code == 0
    assert _rules(findings) == [("NHI301", path, address, 1, False)]


def test_a_person_moving_a_base_grant_an_agent_only_commented_on_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The agent touched the file the grant was moved from, but not the grant: no creator."""
    repo = make_repo()
    first = repo.commit({"crb.yaml": CRB_YAML}, author=HUMAN)
    repo.commit({"crb.yaml": "# reviewed\n" + CRB_YAML}, author=CLAUDE, trailers=TRAILER)
    repo.commit({"crb.yaml": None, "rbac.json": CRB_JSON}, author=HUMAN, message="json")
    code, findings = check_findings(repo, first, capsys)
    assert code == 0
    assert _rules(findings) == [("NHI301", "rbac.json", "ClusterRoleBinding/web-admin", 1, False)]


def test_a_move_on_a_merged_branch_does_not_launder_it_either(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The person's move is a commit of a merged branch (not on the first-parent line the
    ChangeSet walk lists): its paths come from one `git log` of the range, not a process per
    commit, and the agent stays the creator."""
    base, old, old_text, new, new_text, address = LAUNDERED["yaml-to-json"]
    repo = make_repo()
    first = repo.commit(base, author=HUMAN)
    repo.commit({old: old_text}, author=CLAUDE, trailers=TRAILER)
    repo.checkout("json", create=True)
    repo.commit({old: None, new: new_text}, author=HUMAN, message="json")
    repo.checkout("main")
    repo.merge("json")
    code, findings = check_findings(repo, first, capsys)
    assert code == 1
    assert ("NHI101", new, address, 1, True) in _rules(findings)


VIA_VARIABLE = ('variable "deploy_role" {\n  default = "ROLE"\n}\n'
                'provider "aws" {\n  assume_role {\n'
                '    role_arn = "arn:aws:iam::111122223333:role/${var.deploy_role}"\n  }\n}\n')
ONE_LINE = ('provider "aws" {\n  region = "us-east-1"\n'
            '  assume_role { role_arn = "arn:aws:iam::111122223333:role/ROLE" }\n}\n')
PROFILE = 'provider "aws" {\n  region  = "us-east-1"\n  profile = "ROLE"\n}\n'


@pytest.mark.parametrize(("text", "line"), [(VIA_VARIABLE, 6), (ONE_LINE, 3), (PROFILE, 3)],
                         ids=["variable-default", "one-line-block", "profile"])
@pytest.mark.parametrize(("author", "code"), [(CLAUDE, 1), (HUMAN, 0)])
def test_the_provider_identity_through_a_variable_a_one_line_block_or_a_profile(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], text: str,
        line: int, author: tuple[str, str], code: int) -> None:
    """`role_arn` reading a variable is the role the variable holds (a changed default is the
    switch), a one-line `assume_role { ... }` is read, and a shared-config `profile` names the
    identity too."""
    got, findings = _two(make_repo, capsys, {"providers.tf": text.replace("ROLE", "tf-deploy")},
                         {"providers.tf": text.replace("ROLE", "org-admin")}, author=author)
    assert got == code
    assert {(f["rule_id"], f["start_line"], f["blocking"]) for f in findings} == (
        {("NHI101", line, True), ("NHI302", line, True)} if author == CLAUDE
        else {("NHI302", line, False)})


@pytest.mark.parametrize(("author", "code"), [(CLAUDE, 1), (HUMAN, 0)])
def test_an_import_into_a_module_address_adopts_what_its_id_names(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int) -> None:
    """`to = module.att.<type>.<name>`: the id's AdministratorAccess is what is adopted,
    whatever the module's own block says."""
    text = IMPORT_ADMIN.replace("aws_iam_role_policy_attachment.admin",
                                "module.att.aws_iam_role_policy_attachment.this")
    got, findings = _two(make_repo, capsys, {"main.tf": "# base\n"}, {"imports.tf": text},
                         author=author)
    assert got == code
    rows = {(f["rule_id"], f["address"], f["start_line"], f["blocking"]) for f in findings}
    address = "module.att.aws_iam_role_policy_attachment.this"
    assert ("NHI301", address, 3, author == CLAUDE) in rows
    assert (("NHI101", address, 1, True) in rows) == (author == CLAUDE)
