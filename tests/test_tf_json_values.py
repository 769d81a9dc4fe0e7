"""Module values written in Terraform JSON syntax: a `locals` block or a `variable` default in
a `.tf.json`/`.tofu.json` file is read like one in a `.tf` file
(https://developer.hashicorp.com/terraform/language/syntax/json). Each case is a real git
repo with a human base; the agent's widening through the JSON file blocks and names it, the
same change by a human does not block, and the same value reformatted is no change."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.cli import main

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
META = "# nhi-gate: owner=team-a ticket=OPS-1 expires=2027-01-01\n"


def _policy(ref: str) -> str:
    return META + f"""\
resource "aws_iam_role_policy" "p" {{
  name   = "p"
  role   = "app"
  policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{{ Effect = "Allow", Action = {ref}, Resource = "*" }}]
  }})
}}
"""


def _locals(actions: str) -> str:
    return '{\n  "locals": {\n    "actions": ' + actions + "\n  }\n}\n"


def _variables(actions: str) -> str:
    return ('{\n  "variable": {\n    "actions": {\n      "type": "list(string)",\n'
            f'      "default": {actions}\n    }}\n  }}\n}}\n')


CASES = [
    pytest.param("local.actions", "locals.tf.json", _locals, "local.actions (locals.tf.json:3)",
                 id="locals"),
    pytest.param("var.actions", "variables.tf.json", _variables,
                 "var.actions (variables.tf.json:5)", id="variable-default"),
    pytest.param("local.actions", "locals.tofu.json", _locals,
                 "local.actions (locals.tofu.json:3)", id="tofu-json"),
]


def _run(make_repo: Callable[..., GitRepo], capsys: Any, base: dict[str, str],
         head: dict[str, str], author: Identity) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    sha = repo.commit(base, author=HUMAN)
    repo.commit(head, author=author)
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    return code, json.loads(capsys.readouterr().out)["findings"]


@pytest.mark.parametrize(("ref", "path", "body", "via"), CASES)
def test_json_value_widened_by_an_agent_blocks_naming_the_file(
        make_repo: Callable[..., GitRepo], capsys: Any, ref: str, path: str,
        body: Callable[[str], str], via: str) -> None:
    code, found = _run(make_repo, capsys, {"main.tf": _policy(ref), path:
                                           body('["s3:GetObject"]')},
                       {path: body('["*"]')}, CLAUDE)
    assert code == 1
    blocking = {(f["rule_id"], f["path"], f["start_line"]) for f in found if f["blocking"]}
    assert {("NHI301", "main.tf", 7), ("NHI302", "main.tf", 7)} <= blocking
    widened = next(f["message"] for f in found if f["rule_id"] == "NHI302")
    assert "gains * on *" in widened and via in widened


@pytest.mark.parametrize(("ref", "path", "body", "via"), CASES)
def test_json_value_widened_by_a_human_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: Any, ref: str, path: str,
        body: Callable[[str], str], via: str) -> None:
    code, found = _run(make_repo, capsys, {"main.tf": _policy(ref), path:
                                           body('["s3:GetObject"]')},
                       {path: body('["*"]')}, HUMAN)
    assert code == 0
    assert not [f for f in found if f["blocking"]]
    assert any(f["rule_id"] == "NHI302" and via in f["message"] for f in found)


@pytest.mark.parametrize(("ref", "path", "body", "via"), CASES)
def test_json_value_reformatted_is_no_change(
        make_repo: Callable[..., GitRepo], capsys: Any, ref: str, path: str,
        body: Callable[[str], str], via: str) -> None:
    code, found = _run(make_repo, capsys, {"main.tf": _policy(ref), path:
                                           body('["s3:GetObject"]')},
                       {path: json.dumps(json.loads(body('["s3:GetObject"]')))}, CLAUDE)
    assert (code, found) == (0, [])


def test_json_override_file_replaces_the_local(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    """`locals_override.tf.json` replaces `locals.tf`'s value (override files load last:
    https://developer.hashicorp.com/terraform/language/files/override)."""
    code, found = _run(make_repo, capsys,
                       {"main.tf": _policy("local.actions"),
                        "locals.tf": 'locals {\n  actions = ["s3:GetObject"]\n}\n'},
                       {"locals_override.tf.json": _locals('["iam:*"]')}, CLAUDE)
    assert code == 1
    widened = next(f["message"] for f in found if f["rule_id"] == "NHI302")
    assert "gains iam:* on *" in widened and "locals_override.tf.json:3" in widened
