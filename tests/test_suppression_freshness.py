"""A suppression approves what was there when it was approved (issue 14, "Suppressions that
outlive their meaning"): a base `nhi-gate:ignore` comment does not cover a key an agent inserts
under it, nor a new line inside the YAML node it sits on; a YAML suppression on an object
reaches the lines of its block scalars."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, WEB_FLOW, GitRepo

from checker.cli import main
from checker.parsers.suppressions import find_suppressions

OLD_KEY = "AKIAZ7Q3M5N2P4R6T8VX"
NEW_KEY = "AKIAW2X4C6V8B1N3M5QP"
TF = """\
locals {{
  # nhi-gate:ignore NHI401 revoked test key kept for the replay tests, SEC-9
{inserted}  fixture_key = "{old}"
  region      = "{region}"
}}
"""
SECRET = """\
# nhi-gate:ignore NHI401 revoked fixture credentials, SEC-9
apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  app.ini: |
    [db]
    aws_access_key_id = {old}
{inserted}  other: x
"""


def _check(repo: GitRepo, base: str, head: str, capsys: pytest.CaptureFixture[str]
           ) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "json"])
    return code, [f for f in json.loads(capsys.readouterr().out)["findings"]
                  if f["rule_id"] == "NHI401"]


def test_base_suppression_does_not_cover_a_key_an_agent_inserts_under_it(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"app.tf": TF.format(inserted="", old=OLD_KEY, region="eu-west-1")},
                       author=HUMAN)
    head = repo.commit({"app.tf": TF.format(inserted=f'  live_key    = "{NEW_KEY}"\n',
                                            old=OLD_KEY, region="eu-west-1")},
                       author=COPILOT, committer=WEB_FLOW)
    code, found = _check(repo, base, head, capsys)
    live = [f for f in found if f["start_line"] == 3]
    assert code == 1
    assert [(f["approved"], f["blocking"]) for f in live] == [(False, True)]
    assert "predates this change" in live[0]["message"] and "judged afresh" in live[0]["message"]


def test_base_suppression_keeps_covering_what_it_approved(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"app.tf": TF.format(inserted="", old=OLD_KEY, region="eu-west-1")},
                       author=HUMAN)
    head = repo.commit({"app.tf": TF.format(inserted="", old=OLD_KEY, region="eu-west-2")},
                       author=COPILOT, committer=WEB_FLOW)
    code, found = _check(repo, base, head, capsys)
    assert code == 0
    assert all(f["approved"] and not f["blocking"] for f in found)


def test_yaml_suppression_reaches_into_block_scalars(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    text = SECRET.format(old=OLD_KEY, inserted="")
    (tmp_path / "cm.yaml").write_text(text, encoding="utf-8")
    assert [(s.target, s.reach) for s in find_suppressions("cm.yaml", text)] == [(2, 10)]
    assert main(["scan", str(tmp_path), "--format", "json"]) == 0
    found = [f for f in json.loads(capsys.readouterr().out)["findings"]
             if f["rule_id"] == "NHI401"]
    assert [(f["start_line"], f["approved"]) for f in found] == [(9, True)]


def test_yaml_suppression_does_not_cover_a_key_added_inside_its_object(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"cm.yaml": SECRET.format(old=OLD_KEY, inserted="")}, author=HUMAN)
    head = repo.commit({"cm.yaml": SECRET.format(
        old=OLD_KEY, inserted=f"    aws_access_key_id_2 = {NEW_KEY}\n")},
        author=COPILOT, committer=WEB_FLOW)
    code, found = _check(repo, base, head, capsys)
    assert code == 1
    new = [f for f in found if f["start_line"] == 10]
    assert [(f["approved"], f["blocking"]) for f in new] == [(False, True)]
    assert "on line 1 predates this change" in new[0]["message"]
