"""A finding that came through a changed input in another file (a `local` in `locals.tf`, a var
file, a kustomize `replacements` source) names it in SARIF `relatedLocations` and gets a GitHub
annotation on the input's line too: the identity's own file may be outside the pull request's
diff, where GitHub shows no inline annotation (the /work/nu8 attacker pass, attack-kz-repl)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
from conftest import CLAUDE_TRAILER, HUMAN, GitRepo

from checker.checks.engine import via_location
from checker.cli import main
from checker.model import Location

IAM = """\
resource "aws_iam_role_policy" "ci" {
  role = "ci"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = local.actions, Resource = "*" }]
  })
}
"""
SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "sarif-schema-2.1.0.json"


def test_via_location_reads_the_touch_entries() -> None:
    assert via_location("local.actions (infra/locals.tf:2)") == (
        "local.actions", Location("infra/locals.tf", 2, 2))
    assert via_location("rendered input (overlays/prod/settings.yaml:1 at base)") == (
        "rendered input", Location("overlays/prod/settings.yaml", 1, 1))
    assert via_location("something without a place") is None


def test_a_widening_through_a_local_points_at_the_local(
        make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    repo = make_repo()
    repo.commit({"infra/iam.tf": IAM,
                 "infra/locals.tf": 'locals {\n  actions = ["s3:GetObject"]\n}\n'}, author=HUMAN)
    repo.commit({"infra/locals.tf": 'locals {\n  actions = ["iam:*"]\n}\n'}, author=HUMAN,
                message="more", trailers=[CLAUDE_TRAILER])
    sarif = tmp_path / "out.sarif"
    code = main(["check", "--repo", str(repo.path), "--base", "HEAD~1", "--head", "HEAD",
                 "--format", "github", "--sarif", str(sarif)])
    out = capsys.readouterr().out
    assert code == 1
    log = json.loads(sarif.read_text(encoding="utf-8"))
    if SCHEMA.is_file():
        jsonschema.validate(log, json.loads(SCHEMA.read_text(encoding="utf-8")))
    (drift,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "NHI302"]
    assert drift["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "infra/iam.tf"
    (related,) = drift["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "infra/locals.tf"
    assert related["physicalLocation"]["region"]["startLine"] == 2
    assert related["message"]["text"] == "changed input: local.actions"
    on_input = [line for line in out.splitlines()
                if line.startswith("::error file=infra/locals.tf,line=2,")]
    assert any("title=NHI302 via local.actions" in line and "(the identity is at infra/iam.tf:"
               in line for line in on_input), out
