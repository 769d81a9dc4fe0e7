"""False blocks an attack pass found (session 11, fixF), Terraform: an agent's change that
gives no access blocked. A statement `Sid`, a policy moved from `jsonencode(...)` into an
equivalent `data "aws_iam_policy_document"`, `lifecycle { prevent_destroy }` and `depends_on`
change nothing (no finding); a shorter `max_session_duration` is a narrowing (a note), a longer
one a widening. Each with a real widening in the same block, which still blocks. Real git
repos: a human base, then the agent's commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings, found_at

CLAUDE = ("Claude", "noreply@anthropic.com")
ASKED = [("Requested-by", "Alice Admin <alice@corp.example>")]

ROLE = """\
resource "aws_iam_role" "app" {
  name                 = "app"
  max_session_duration = %(session)s
  tags                 = { owner = "team-a", ticket = "OPS-1", expires = "2027-01-01" }
  assume_role_policy   = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", \
Action = "sts:AssumeRole", Principal = { Service = "%(principal)s" } }] })
}
"""

POLICY = """
resource "aws_iam_role_policy" "app" {
  name = "app"
  role = aws_iam_role.app.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{%(sid)s
      Effect   = "Allow"
      Action   = [%(actions)s]
      Resource = "*"
    }]
  })
}
"""

DOCUMENT_POLICY = """
resource "aws_iam_role_policy" "app" {
  name   = "app"
  role   = aws_iam_role.app.id
  policy = data.aws_iam_policy_document.app.json
}

data "aws_iam_policy_document" "app" {
  statement {
    effect    = "Allow"
    actions   = [%(actions)s]
    resources = ["*"]
  }
}
"""


def _iam(session: str = "7200", principal: str = "lambda.amazonaws.com", sid: str = "",
         actions: str = '"s3:*"', policy: str = POLICY) -> str:
    return (ROLE % {"session": session, "principal": principal}
            + policy % {"sid": sid, "actions": actions})


BASE = _iam()


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            head: str, base: str = BASE) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    repo.commit({"README.md": "# app\n", "iam.tf": base}, author=HUMAN)
    repo.checkout("claude/change", create=True)
    repo.commit({"iam.tf": head}, author=CLAUDE, message="iam: tidy", trailers=ASKED)
    return check_findings(repo, "main", capsys)


def _message(findings: list[dict[str, Any]], rule: str) -> str:
    return next(f["message"] for f in findings if f["rule_id"] == rule)


def test_sid_added_is_no_change(make_repo: Callable[..., GitRepo],
                                capsys: pytest.CaptureFixture[str]) -> None:
    """A `Sid` names a statement; IAM never reads it for access: no finding, and the
    person's `s3:*` is not the agent's."""
    code, findings = _change(make_repo, capsys, _iam(sid='\n      Sid      = "AppS3"'))
    assert (code, findings) == (0, [])


def test_sid_added_with_a_new_action_blocks(make_repo: Callable[..., GitRepo],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, _iam(sid='\n      Sid      = "AppS3"',
                                                     actions='"s3:*", "iam:PassRole"'))
    assert code == 1
    assert {("NHI101", "iam.tf", 14, True), ("NHI302", "iam.tf", 16, True)} <= found_at(findings)
    assert "gains iam:PassRole on *" in _message(findings, "NHI302")


def test_jsonencode_to_policy_document_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The same statement written as a `data "aws_iam_policy_document"`: the policy's resolved
    document is base's, and the new document grants nothing through any other block."""
    code, findings = _change(make_repo, capsys, _iam(policy=DOCUMENT_POLICY))
    assert (code, findings) == (0, [])


def test_policy_document_with_a_new_action_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, _iam(policy=DOCUMENT_POLICY,
                                                     actions='"s3:*", "iam:PassRole"'))
    assert code == 1
    assert {("NHI101", "iam.tf", 9, True), ("NHI302", "iam.tf", 11, True),
            ("NHI101", "iam.tf", 14, True)} <= found_at(findings)
    assert "gains iam:PassRole on *" in _message(findings, "NHI302")


def test_shorter_max_session_is_a_narrowing(make_repo: Callable[..., GitRepo],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, _iam(session="3600"))
    assert code == 0
    assert found_at(findings) == {("NHI302", "iam.tf", 3, False)}
    assert findings[0]["level"] == "note"
    assert ("aws_iam_role.app sessions last at most 1h (max_session_duration 3600, was 7200)"
            in findings[0]["message"])


def test_longer_max_session_blocks(make_repo: Callable[..., GitRepo],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, _iam(session="43200"))
    assert code == 1
    assert found_at(findings) == {("NHI101", "iam.tf", 3, True), ("NHI302", "iam.tf", 3, True)}
    assert ("aws_iam_role.app sessions may last 12h (max_session_duration 43200, was 7200)"
            in _message(findings, "NHI302"))


def test_max_session_set_where_base_had_the_default_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """No `max_session_duration` is AWS's default, one hour: setting 7200 doubles it."""
    base = BASE.replace("  max_session_duration = 7200\n", "")
    code, findings = _change(make_repo, capsys, BASE, base=base)
    assert code == 1
    assert ("sessions may last 2h (max_session_duration 7200, was the default 3600)"
            in _message(findings, "NHI302"))


def test_shorter_session_with_wider_trust_blocks(make_repo: Callable[..., GitRepo],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, _iam(session="3600", principal="*"))
    assert code == 1
    assert found_at(findings) == {("NHI101", "iam.tf", 3, True), ("NHI302", "iam.tf", 5, True)}
    assert "trusts more principals: principal Service:*" in _message(findings, "NHI302")


LIFECYCLE = [('  name                 = "app"\n',
              '  name                 = "app"\n  lifecycle {\n    prevent_destroy = true\n  }\n'),
             ("  role = aws_iam_role.app.id\n",
              "  role       = aws_iam_role.app.id\n  depends_on = [aws_iam_role.app]\n")]


def _with_lifecycle(text: str) -> str:
    for old, new in LIFECYCLE:
        assert old in text
        text = text.replace(old, new)
    return text


def test_lifecycle_and_depends_on_are_no_change(make_repo: Callable[..., GitRepo],
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, _with_lifecycle(BASE))
    assert (code, findings) == (0, [])


def test_lifecycle_with_a_new_action_blocks(make_repo: Callable[..., GitRepo],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys,
                             _with_lifecycle(_iam(actions='"s3:*", "iam:PassRole"')))
    assert code == 1
    assert "gains iam:PassRole on *" in _message(findings, "NHI302")
    assert all(f["address"] == "aws_iam_role_policy.app" for f in findings)


def test_lifecycle_replace_triggered_by_stays_a_change(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Only `prevent_destroy`, `create_before_destroy` and `ignore_changes` are left out."""
    head = BASE.replace('  name                 = "app"\n', '  name                 = "app"\n'
                        "  lifecycle {\n    replace_triggered_by = [aws_iam_role.app]\n  }\n")
    code, findings = _change(make_repo, capsys, head)
    assert code == 1
    assert ("NHI101", "iam.tf", 3, True) in found_at(findings)


def test_policy_document_with_an_unmerged_source_document_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The same statements plus a `source_policy_documents` nhi-gate does not merge: the
    policy's document is not proven base's, so the move is judged (fail closed)."""
    source = ('data "aws_iam_policy_document" "app" {\n  source_policy_documents = [jsonencode('
              '{ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "*", '
              'Resource = "*" }] })]\n')
    head = _iam(policy=DOCUMENT_POLICY.replace('data "aws_iam_policy_document" "app" {\n',
                                               source))
    code, findings = _change(make_repo, capsys, head)
    assert code == 1
    assert {("NHI101", "iam.tf", 9, True), ("NHI101", "iam.tf", 14, True)} <= found_at(findings)


def test_policy_document_with_an_unknown_dynamic_statement_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """A `dynamic "statement"` over a value not known before apply may add any statement."""
    dynamic = ('data "aws_iam_policy_document" "app" {\n  dynamic "statement" {\n'
               '    for_each = var.extra\n    content {\n      actions   = statement.value\n'
               '      resources = ["*"]\n    }\n  }\n')
    head = _iam(policy=DOCUMENT_POLICY.replace('data "aws_iam_policy_document" "app" {\n',
                                               dynamic)) + 'variable "extra" {}\n'
    code, findings = _change(make_repo, capsys, head)
    assert code == 1
    assert ("NHI101", "iam.tf", 9, True) in found_at(findings)
