"""NHI302 privilege drift: base vs head, line-exact.

- `fixtures/drift/<case>/{base,head}.*`: head carries `# expect: NHI302` above the line the
  finding must sit on; added lines come from a line diff (expect comments are not counted as
  added, so they never become anchors). A case with no expectation must give no NHI302.
- The issue's scenario on a real git repo: an agent commit widens `s3:GetObject` on one bucket
  to `s3:*` on `*` -> NHI302 at the changed statement; the reverse change -> no NHI302.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import COPILOT, HUMAN, GitRepo
from test_rule_fixtures import expectations

from checker.change import ChangedFile, ChangeSet
from checker.checks.api import Context
from checker.checks.drift import _base_allowed, gained_grants
from checker.checks.engine import evaluate
from checker.cli import main
from checker.model import Grant, IdentityObject, Location, SourceFile
from checker.pipeline import parse_sources
from checker.policy import aws_iam as iam
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config
from checker.policy.privileges import load_admin_table
from checker.policy.rule_docs import load_rule_docs

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted(p for p in (ROOT / "fixtures" / "drift").iterdir() if p.is_dir())


def _added(base: str, head: str) -> tuple[tuple[int, int], ...]:
    """1-based inclusive head line ranges that differ from base, minus `# expect:` lines."""
    head_lines = head.splitlines()
    ranges: list[int] = []
    matcher = difflib.SequenceMatcher(a=base.splitlines(), b=head_lines, autojunk=False)
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            ranges.extend(n for n in range(j1 + 1, j2 + 1) if "# expect:" not in head_lines[n - 1])
    return tuple((n, n) for n in ranges)


def drift_findings(case: Path) -> tuple[set[tuple[str, int]], list[str]]:
    base_file = next(case.glob("base.*"))
    head_file = next(case.glob("head.*"))
    path = f"infra/main{''.join(head_file.suffixes)}"
    base_text = base_file.read_text(encoding="utf-8")
    head_text = head_file.read_text(encoding="utf-8")
    config, catalogue = Config(), load_catalogue()
    head = parse_sources([SourceFile(path, head_text.encode())], catalogue, config)
    base = parse_sources([SourceFile(path, base_text.encode())], catalogue, config)
    assert not head.problems and not base.problems
    changed = ChangedFile(path, "M", added_lines=_added(base_text, head_text))
    ctx = Context(mode="check", config=config, catalogue=catalogue,
                  admin_table=load_admin_table(), changeset=ChangeSet("b", "h", files=(changed,)),
                  provenance={})
    findings, _ = evaluate(head.objects, base.objects, ctx, load_rule_docs())
    drift = [f for f in findings if f.rule_id == "NHI302"]
    return {(f.rule_id, f.location.start_line) for f in drift}, [f.message for f in drift]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_drift_fixture(case: Path) -> None:
    head_text = next(case.glob("head.*")).read_text(encoding="utf-8")
    expected = {e for e in expectations(head_text) if e[0] == "NHI302"}
    found, messages = drift_findings(case)
    assert found == expected, messages


def test_drift_messages_name_what_was_added() -> None:
    _, s3 = drift_findings(ROOT / "fixtures" / "drift" / "s3_widen")
    assert s3 == [
        "aws_iam_policy.reader privileges widened: gains s3:* on * "
        f"({iam.summarise(['s3:*'])}); admin-equivalent: every s3 action on every resource "
        "(base allowed: s3:GetObject on arn:aws:s3:::reports/*)"
    ]
    _, oidc = drift_findings(ROOT / "fixtures" / "drift" / "oidc_subject")
    assert oidc == ["aws_iam_role.deploy trusts more principals: GitHub repositories and refs "
                    "matching repo:acme/* can now assume it "
                    "(was repo:acme/app:ref:refs/heads/main); condition "
                    "StringEquals:token.actions.githubusercontent.com:sub changed to "
                    "StringLike:token.actions.githubusercontent.com:sub in the trust of "
                    "Federated:arn:aws:iam::123456789012:oidc-provider/"
                    "token.actions.githubusercontent.com"]
    _, cert = drift_findings(ROOT / "fixtures" / "drift" / "cert_renewal")
    assert cert == ["tls_self_signed_cert.webhook was renewed with broader scope: adds usages "
                    "client_auth; lives 365 days (was 30) via validity_period_hours"]
    _, role = drift_findings(ROOT / "fixtures" / "drift" / "gcp_role")
    assert len(role) == 1 and "gains roles/editor on acme" in role[0]
    assert "admin-equivalent" in role[0]


def _obj(*grants: Grant) -> IdentityObject:
    return IdentityObject("policy", "aws", "aws_iam_policy", "aws_iam_policy.p",
                          Location("a.tf", 1, 9), privileges=grants)


def test_base_allowed_names_an_action_not_computed_as_such() -> None:
    ctx = Context(mode="check", config=Config(), catalogue=load_catalogue(),
                  admin_table=load_admin_table(), changeset=ChangeSet("b", "h"), provenance={})
    uncomputed = Grant("${statement.value.actions}", "${statement.value.resources}")
    assert _base_allowed(_obj(uncomputed), ctx) == (
        " (what base allowed was not computed: its actions `${statement.value.actions}`)")
    assert _base_allowed(_obj(Grant("s3:GetObject", "*"), uncomputed), ctx) == (
        " (base allowed: s3:GetObject on *; and actions not computed: "
        "`${statement.value.actions}`)")
    assert _base_allowed(_obj(), ctx) == " (base allowed nothing)"


def test_action_coverage_uses_the_iam_database() -> None:
    every_s3 = tuple(Grant(a, "*") for a in sorted(iam.expand("s3:*")))
    assert gained_grants(_obj(Grant("s3:*", "*")), _obj(*every_s3)) == []
    assert gained_grants(_obj(Grant("s3:Get*", "*")), _obj(Grant("s3:*", "*"))) == []
    wider = Grant("s3:GetObject", "arn:aws:s3:::other/*")
    assert gained_grants(_obj(wider), _obj(Grant("s3:*", "arn:aws:s3:::app/*"))) == [wider]
    assert iam.access_level("iam:PassRole") == "Permissions management"


WIDE = """\
resource "aws_iam_policy" "reader" {
  name = "reader"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "s3:*"
      Resource = "*"
    }]
  })
}
"""
NARROW = WIDE.replace('"s3:*"', '"s3:GetObject"').replace(
    'Resource = "*"', 'Resource = "arn:aws:s3:::reports/*"')


def _check(repo: GitRepo, base: str, head: str, capsys: pytest.CaptureFixture[str]) -> list[
        tuple[str, int]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == (1 if report["findings"] else 0)
    return sorted((f["rule_id"], f["start_line"]) for f in report["findings"])


def test_agent_widens_s3_policy(make_repo: Callable[..., GitRepo],
                                capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"iam/reader.tf": NARROW}, author=HUMAN)
    repo.checkout("copilot/widen", create=True)
    head = repo.commit({"iam/reader.tf": WIDE}, author=COPILOT, message="Fix AccessDenied")
    found = _check(repo, base, head, capsys)
    assert ("NHI302", 7) in found
    assert [f for f in found if f[0] == "NHI302"] == [("NHI302", 7)]


def test_agent_narrows_s3_policy(make_repo: Callable[..., GitRepo],
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A narrowing by an agent is a note (NHI302 `narrowed`) and passes; nothing else is
    judged on the identity, and NHI103 does not ask for a requester: a narrowing creates and
    widens nothing."""
    repo = make_repo()
    base = repo.commit({"iam/reader.tf": WIDE}, author=HUMAN)
    repo.checkout("copilot/narrow", create=True)
    head = repo.commit({"iam/reader.tf": NARROW}, author=COPILOT, message="Least privilege")
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert sorted((f["rule_id"], f["level"], f["blocking"]) for f in report["findings"]) == [
        ("NHI302", "note", False)]
