"""Gatekeeper's `Config` (`config.gatekeeper.sh`, named `config`) exempts namespaces from its
processes (attacker pass, session 10): a namespace (or a wildcard, `kube-*`, `*`) added to an
exclusion that covers the admission webhook (`processes` `webhook`, `mutation-webhook` or
`*`) switches admission policy off there, like a Kyverno `PolicyException`: NHI302, blocking
for an agent, a note for a person. An exclusion removed, or one a base wildcard already
covered, is a `narrowed` note; an audit- or sync-only exclusion is no admission change.
Real git repos: base by a human, head by Claude (or a person). Source:
https://open-policy-agent.github.io/gatekeeper/website/docs/exempt-namespaces"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

CLAUDE = ("Claude", "noreply@anthropic.com")

CONFIG = """\
apiVersion: config.gatekeeper.sh/v1alpha1
kind: Config
metadata:
  name: %s
  namespace: gatekeeper-system
spec:
  match:
    - excludedNamespaces: [%s]
      processes: [%s]
    - excludedNamespaces: ["audit-only"]
      processes: ["audit"]
"""


def _config(namespaces: str, processes: str = '"*"', name: str = "config") -> str:
    return CONFIG % (name, namespaces, processes)


def _change(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
            base: str | None, head: str | None, author: tuple[str, str] = CLAUDE
            ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    repo.commit({"README.md": "# app\n", **({"gatekeeper/config.yaml": base}
                                             if base is not None else {})}, author=HUMAN)
    repo.checkout("claude/exempt", create=True)
    repo.commit({"gatekeeper/config.yaml": head}, author=author, message="exempt",
                trailers=[("Requested-by", "Alice Admin <alice@corp.example>")])
    return check_findings(repo, "main", capsys)


def _found(findings: list[dict[str, Any]]) -> set[tuple[str, str, int, str, bool]]:
    return {(f["rule_id"], f["address"], f["start_line"], f["level"], f["blocking"])
            for f in findings}


ADDRESS = "Config/gatekeeper-system/config"


@pytest.mark.parametrize(("author", "code", "level"), [(CLAUDE, 1, "error"),
                                                       (HUMAN, 0, "note")])
def test_a_namespace_added_to_the_webhook_exclusion_weakens_admission_control(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        author: tuple[str, str], code: int, level: str) -> None:
    got, findings = _change(make_repo, capsys, _config('"kube-system"'),
                            _config('"kube-system", "apps"'), author)
    assert got == code
    assert _found(findings) == {("NHI302", ADDRESS, 8, level, author == CLAUDE)}
    message = findings[0]["message"]
    assert message.startswith(f"{ADDRESS} admission control weakened:")
    assert "exempts namespaces apps from Gatekeeper's admission webhook" in message


@pytest.mark.parametrize(("base", "head", "what"), [
    (_config('"kube-system"', '"webhook"'), _config('"kube-*"', '"webhook"'), "kube-*"),
    (_config('"kube-system"', '"webhook"'), _config('"kube-system", "*"', '"webhook"'), "*"),
    (_config('"apps"', '"audit"'), _config('"apps"', '"audit", "webhook"'), "apps"),
    (_config('"apps"', '"audit"'), _config('"apps"', '"mutation-webhook"'), "apps"),
    (_config('"kube-*"', '"webhook"'), _config('"*-system"', '"webhook"'), "*-system"),
])
def test_a_wider_exclusion_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        base: str, head: str, what: str) -> None:
    code, findings = _change(make_repo, capsys, base, head)
    assert code == 1
    assert [(f["rule_id"], f["blocking"]) for f in findings] == [("NHI302", True)]
    assert f"exempts namespaces {what} from Gatekeeper's" in findings[0]["message"]


def test_an_added_config_that_exempts_namespaces_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _change(make_repo, capsys, None, _config('"payments"'))
    assert code == 1
    assert _found(findings) == {("NHI302", ADDRESS, 8, "error", True)}
    assert "exempts namespaces payments from Gatekeeper's admission webhook" in findings[0][
        "message"]


@pytest.mark.parametrize(("base", "head"), [
    (_config('"kube-system", "apps"'), _config('"kube-system"')),  # an exclusion removed
    (_config('"kube-*"', '"webhook"'), _config('"kube-*", "kube-system"', '"webhook"')),
    (_config('"apps"', '"*"'), _config('"apps"', '"audit", "sync"')),  # webhook left
    (_config('"apps"'), None),  # the Config deleted
    (_config('"apps"'), _config('"apps"', name="config-old")),  # Gatekeeper reads `config`
])
def test_a_narrowed_or_covered_exclusion_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        base: str, head: str | None) -> None:
    code, findings = _change(make_repo, capsys, base, head)
    assert code == 0
    assert findings and all(
        (f["rule_id"], f["level"], f["blocking"]) == ("NHI302", "note", False)
        for f in findings)


@pytest.mark.parametrize("head", [
    _config('"kube-system"').replace('["audit-only"]', '["audit-only", "apps"]'),
    _config('"apps"', name="not-read"),  # not named `config`: Gatekeeper ignores it
])
def test_an_exclusion_gatekeeper_does_not_apply_to_admission_is_no_finding(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str],
        head: str) -> None:
    base = _config('"kube-system"') if "audit-only\", " in head else None
    code, findings = _change(make_repo, capsys, base, head)
    assert code == 0
    assert findings == []
