"""`fileset()` whose directory is outside the module (`"${path.module}/../policies"`, a
variable whose value is such a path, an absolute path) and `file()`/`templatefile()` paths that
leave the repository (issue 12, session 9): every file the glob may select in the repository is
an input of the identity, so an agent's edit of one fails closed (NHI106 naming the file);
what nhi-gate cannot read (outside the repository) is named in the NHI106 of the change that
adds it. A person's same change is a note. Real git repos in temp dirs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import HUMAN, GitRepo, check_findings

AGENT = ("Claude", "noreply@anthropic.com")
READ_ONLY = '{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}\n'
EVERYTHING = '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}\n'
FILESET = """\
%s
resource "aws_iam_policy" "p" {
  for_each = %s
  name     = each.key
  policy   = file("%s/${each.value}")
}
"""
#: case -> (iam/main.tf, the message part naming the fileset)
OUTSIDE = {
    "parent": (FILESET % ("", 'fileset("${path.module}/../policies", "*.json")',
                          "${path.module}/../policies"),
               '`fileset("policies/*.json")` (unknown function fileset())'),
    "variable": (FILESET % ('variable "dir" {\n  default = "../policies"\n}',
                            'fileset(var.dir, "*.json")', "${var.dir}"),
                 '`fileset("policies/*.json")` (unknown function fileset())'),
    "local": (FILESET % ('locals {\n  dir = "../policies"\n}',
                         'fileset("${path.module}/${local.dir}", "*.json")', "${local.dir}"),
              '`fileset("policies/*.json")` (unknown function fileset())'),
    "local-path": (FILESET % ('locals {\n  dir = "${path.module}/../policies"\n}',
                              'fileset(local.dir, "*.json")', "${local.dir}"),
                   '`fileset("policies/*.json")` (unknown function fileset())'),
}


def _run(make_repo: Callable[..., GitRepo], base: dict[str, str], head: dict[str, str],
         author: tuple[str, str], capsys: Any) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author)
    return check_findings(repo, sha, capsys)


@pytest.mark.parametrize("case", sorted(OUTSIDE))
@pytest.mark.parametrize("changed", ["policies/admin.json", "policies/ro.json"],
                         ids=["added", "edited"])
@pytest.mark.parametrize("author, level", [(AGENT, "error"), (HUMAN, "note")],
                         ids=["agent", "person"])
def test_a_policy_file_outside_the_module_a_fileset_selects_fails_closed(
        case: str, changed: str, author: tuple[str, str], level: str,
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    tf, named = OUTSIDE[case]
    line = tf.split("\n").index('resource "aws_iam_policy" "p" {') + 2
    base = {"iam/main.tf": tf, "policies/ro.json": READ_ONLY}
    code, findings = _run(make_repo, base, {changed: EVERYTHING}, author, capsys)
    nhi106 = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["path"], f["address"], f["start_line"], f["level"]) for f in nhi106] == [
        ("iam/main.tf", "aws_iam_policy.p", line, level)]
    assert named in nhi106[0]["message"]
    assert f"({changed}:1)" in nhi106[0]["message"]
    assert code == (1 if level == "error" else 0)


def test_a_file_outside_the_glob_is_not_judged(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    tf, _ = OUTSIDE["parent"]
    base = {"iam/main.tf": tf, "policies/ro.json": READ_ONLY}
    code, findings = _run(make_repo, base, {"policies/notes.txt": "x\n"}, AGENT, capsys)
    assert (code, findings) == (0, [])


UNREADABLE = {
    "absolute": ('fileset("/etc/policies", "*.json")', "/etc/policies",
                 '`fileset("/etc/policies", "*.json")` (unknown function fileset() (directory '
                 "outside the repository: its files are not read))"),
    "leaves-repo": ('fileset("${path.module}/../../policies", "*.json")',
                    "${path.module}/../../policies",
                    '`fileset("${path.module}/../../policies", "*.json")` (unknown function '
                    "fileset() (directory outside the repository: its files are not read))"),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
@pytest.mark.parametrize("author, level", [(AGENT, "error"), (HUMAN, "note")],
                         ids=["agent", "person"])
def test_a_fileset_outside_the_repository_names_what_is_not_read(
        case: str, author: tuple[str, str], level: str, make_repo: Callable[..., GitRepo],
        capsys: Any) -> None:
    """Switching a policy's fileset to a directory outside the repository: its files cannot be
    inputs, so the NHI106 says they are not read."""
    call, directory, named = UNREADABLE[case]
    base_tf, _ = OUTSIDE["parent"]
    head_tf = FILESET % ("", call, directory)
    base = {"iam/main.tf": base_tf, "policies/ro.json": READ_ONLY}
    code, findings = _run(make_repo, base, {"iam/main.tf": head_tf}, author, capsys)
    nhi106 = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["address"], f["start_line"], f["level"]) for f in nhi106] == [
        ("aws_iam_policy.p", 3, level)]
    assert named in nhi106[0]["message"]
    assert code == (1 if level == "error" else 0)


FILE_OUTSIDE = """\
resource "aws_iam_policy" "p" {
  name   = "p"
  policy = %s
}
"""


@pytest.mark.parametrize("call", [
    'file("${path.module}/../../shared/policy.json")',
    'templatefile("${path.module}/../../shared/policy.json.tpl", {})',
], ids=["file", "templatefile"])
@pytest.mark.parametrize("author, level", [(AGENT, "error"), (HUMAN, "note")],
                         ids=["agent", "person"])
def test_a_file_read_from_outside_the_repository_fails_closed(
        call: str, author: tuple[str, str], level: str, make_repo: Callable[..., GitRepo],
        capsys: Any) -> None:
    base = {"iam/main.tf": FILE_OUTSIDE % 'file("${path.module}/policy.json")',
            "iam/policy.json": READ_ONLY}
    code, findings = _run(make_repo, base, {"iam/main.tf": FILE_OUTSIDE % call}, author,
                          capsys)
    nhi106 = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["address"], f["start_line"], f["level"]) for f in nhi106] == [
        ("aws_iam_policy.p", 3, level)]
    assert "outside the repository" in nhi106[0]["message"]
    assert code == (1 if level == "error" else 0)
