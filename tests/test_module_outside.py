"""A local module call whose folder is outside the repository (`source = "../platform/role"`
from the root: issue 12, access paths) is read like a remote one: its code is not in the
repository, so an agent's change of its arguments is NHI106 (an error), a person's a note; a
local module inside the repository is still read as called. Real git repos in temp dirs."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from conftest import HUMAN, GitRepo

from checker.cli import main

AGENT = ("Claude", "noreply@anthropic.com")
CALL = """\
module "ci" {{
  source  = "{source}"
  name    = "ci"
  actions = {actions}
}}
"""
NARROW = '["s3:GetObject"]'
WIDE = '["s3:GetObject", "iam:PassRole", "lambda:CreateFunction"]'
ROLE = """\
variable "name" {}
variable "actions" {}
resource "aws_iam_role_policy" "this" {
  name = var.name
  role = var.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [
    { Effect = "Allow", Action = var.actions, Resource = "*" }] })
}
"""


def _run(make_repo: Callable[..., GitRepo], base: Mapping[str, str], head: Mapping[str, str],
         author: tuple[str, str], capsys: pytest.CaptureFixture[str]
         ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    repo = make_repo()
    first = repo.commit(dict(base), author=HUMAN)
    last = repo.commit(dict(head), author=author, message="widen ci")
    code = main(["check", "--repo", str(repo.path), "--base", first, "--head", last,
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


OUT = "../platform-modules/role"


def test_agent_widening_a_module_outside_the_repository_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, {"main.tf": CALL.format(source=OUT, actions=NARROW)},
                          {"main.tf": CALL.format(source=OUT, actions=WIDE)}, AGENT, capsys)
    assert code == 1
    found = [f for f in findings if f["rule_id"] == "NHI106"]
    assert [(f["address"], f["start_line"], f["blocking"]) for f in found] == [
        ("module.ci", 4, True)]
    assert "local module ../platform-modules/role outside the repository" in found[0]["message"]
    assert "arguments changed: actions" in found[0]["message"]


def test_person_widening_a_module_outside_the_repository_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _run(make_repo, {"main.tf": CALL.format(source=OUT, actions=NARROW)},
                          {"main.tf": CALL.format(source=OUT, actions=WIDE)}, HUMAN, capsys)
    assert code == 0
    assert [(f["rule_id"], f["level"]) for f in findings] == [("NHI106", "note")]


def test_module_outside_a_subfolder_but_inside_the_repository_is_read(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    source = "../modules/role"
    base = {"live/main.tf": CALL.format(source=source, actions=NARROW),
            "modules/role/main.tf": ROLE}
    code, findings = _run(make_repo, base,
                          {"live/main.tf": CALL.format(source=source, actions=WIDE)}, AGENT,
                          capsys)
    assert code == 1
    assert {f["rule_id"] for f in findings} >= {"NHI302"}
    assert "NHI106" not in {f["rule_id"] for f in findings}
    assert {f["address"] for f in findings} == {"module.ci.aws_iam_role_policy.this"}
