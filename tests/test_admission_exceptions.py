"""A Kyverno `PolicyException` exempts what it matches from the policy rules it names
(attacker re-check, session 9: `adm-kyverno-exception`): one an agent adds or widens weakens
admission control (NHI302, blocking), a person's is a note, one narrowed or deleted is a
`narrowed` note. Real git repos: base by a human, head by Claude (or a person)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings
from test_admission_control import CLAUDE, KYVERNO, _found

EXCEPTION = """\
apiVersion: kyverno.io/v2
kind: PolicyException
metadata:
  name: allow-web
  namespace: kyverno
spec:
  exceptions:
  - policyName: restrict-cluster-admin
    ruleNames: [%s]
  match:
    any:
    - resources: {kinds: [ClusterRoleBinding], names: [%s]}
%s"""
CONDITIONS = """\
  conditions:
    any:
    - {key: "{{ request.object.metadata.labels.team }}", operator: Equals, value: web}
"""
POLICY = KYVERNO % "Enforce"


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            base: str | None, head: str | None, author: tuple[str, str] = CLAUDE
            ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    repo.commit({"README.md": "# app\n", "policy.yaml": POLICY,
                 **({"exception.yaml": base} if base is not None else {})}, author=HUMAN)
    repo.checkout("claude/change", create=True)
    repo.commit({"exception.yaml": head}, author=author, message="change",
                trailers=[("Requested-by", "Alice Admin <alice@corp.example>")])
    return check_findings(repo, "main", capsys)


@pytest.mark.parametrize(("author", "code", "level"), [(CLAUDE, 1, "error"),
                                                       (HUMAN, 0, "note")])
def test_an_added_policy_exception_weakens_admission_control(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int, level: str) -> None:
    got, findings = _change(make_repo, capsys, None,
                            EXCEPTION % ("no-cluster-admin", '"*"', ""), author=author)
    assert got == code
    assert _found(findings) == {("NHI302", 8, level, author == CLAUDE)}
    message = findings[0]["message"]
    assert message.startswith("PolicyException/kyverno/allow-web admission control weakened:")
    assert "exempts from policy `restrict-cluster-admin` rules no-cluster-admin" in message


@pytest.mark.parametrize(("base", "head", "what"), [
    (EXCEPTION % ("a", "web", ""), EXCEPTION % ("a, no-cluster-admin", "web", ""),
     "rules no-cluster-admin"),
    (EXCEPTION % ("a", "web", ""), EXCEPTION % ("a", '"*"', ""), "`match` changed"),
    (EXCEPTION % ("a", "web", CONDITIONS), EXCEPTION % ("a", "web", ""),
     "`conditions` removed"),
])
def test_a_widened_policy_exception_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        base: str, head: str, what: str) -> None:
    code, findings = _change(make_repo, capsys, base, head)
    assert code == 1
    assert [(f["rule_id"], f["blocking"]) for f in findings] == [("NHI302", True)]
    assert "policy exception widened" in findings[0]["message"]
    assert what in findings[0]["message"]


@pytest.mark.parametrize(("base", "head"), [
    (EXCEPTION % ("a, no-cluster-admin", "web", ""), EXCEPTION % ("a", "web", "")),
    (EXCEPTION % ("a", "web", ""), EXCEPTION % ("a", "web", CONDITIONS)),
    (EXCEPTION % ("a", "web", ""), None),
])
def test_a_narrowed_or_deleted_policy_exception_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        base: str, head: str | None) -> None:
    code, findings = _change(make_repo, capsys, base, head)
    assert code == 0
    assert findings and all(
        (f["rule_id"], f["level"], f["blocking"]) == ("NHI302", "note", False)
        for f in findings)
