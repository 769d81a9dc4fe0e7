"""Terraform module values: a privilege that comes from `local.X` / `var.X` is read through the
directory's `locals`, variable defaults and auto-loaded `.tfvars`, and a change to one of those
lines judges the identity that reads it, although the identity's own file is unchanged.

Real git repos, `nhi-gate check|hook|scan --format json` through `cli.main`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import COPILOT, HUMAN, GitRepo

from checker import git
from checker.cli import main
from checker.model import Location, ModuleSources, SourceFile
from checker.parsers import terraform
from checker.policy.catalogue import load_catalogue
from checker.sources.modules import group_modules

#: The identity: its role comes from `local.ci_role` (line 4); the block starts on line 2.
MAIN_LOCAL = """\
# nhi-gate: owner=team-ci ticket=OPS-1
resource "google_project_iam_member" "ci" {
  project = "p"
  role    = local.ci_role
  member  = "serviceAccount:ci@p.iam.gserviceaccount.com"
}
"""
MAIN_VAR = MAIN_LOCAL.replace("local.ci_role", "var.ci_role")


def _locals(role: str, region: str = "europe-west1") -> str:
    return f'locals {{\n  region  = "{region}"\n  ci_role = "{role}"\n}}\n'


def _variables(role: str) -> str:
    return f'variable "ci_role" {{\n  type    = string\n  default = "{role}"\n}}\n'


def _check(repo: GitRepo, capsys: Any, base: str = "main") -> tuple[int, dict[str, Any]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", "HEAD",
                 "--format", "json"])  # fmt: skip
    return code, json.loads(capsys.readouterr().out)


def _rows(report: dict[str, Any]) -> set[tuple[str, str, int, str | None]]:
    return {(f["rule_id"], f["path"], f["start_line"], f["actor_kind"])
            for f in report["findings"]}  # fmt: skip


#: Names the human who asked, so the agent's commits carry no NHI103 of their own.
REQUESTED = [("Requested-by", "Alice Example <alice@example.com>")]


def _agent_branch(repo: GitRepo, files: dict[str, str | None]) -> str:
    repo.checkout("copilot/widen", create=True)
    return repo.commit(files, author=COPILOT, message="Tune CI role", trailers=REQUESTED)


# ----------------------------------------------------------------------------- check


def test_agent_widens_a_local_that_an_unchanged_file_reads(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    repo = make_repo()
    repo.commit({"infra/main.tf": MAIN_LOCAL, "infra/locals.tf": _locals("roles/viewer")})
    agent = _agent_branch(repo, {"infra/locals.tf": _locals("roles/owner")})
    code, report = _check(repo, capsys)
    assert code == 1
    assert _rows(report) == {
        ("NHI101", "infra/main.tf", 2, "agent"),
        ("NHI301", "infra/main.tf", 4, "agent"),
        ("NHI302", "infra/main.tf", 4, "agent"),
    }
    by_rule = {f["rule_id"]: f for f in report["findings"]}
    for finding in report["findings"]:
        assert finding["commit"] == agent
        assert finding["address"] == "google_project_iam_member.ci"
        assert finding["blocking"] is True
        assert finding["message"].endswith("; via local.ci_role (infra/locals.tf:3)")
    assert "roles/owner on p" in by_rule["NHI301"]["message"]
    assert "gains roles/owner on p" in by_rule["NHI302"]["message"]
    assert "base allowed: roles/viewer on p" in by_rule["NHI302"]["message"]


def test_agent_changes_a_variable_default(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    repo = make_repo()
    repo.commit({"main.tf": MAIN_VAR, "variables.tf": _variables("roles/viewer")})
    _agent_branch(repo, {"variables.tf": _variables("roles/owner")})
    code, report = _check(repo, capsys)
    assert code == 1
    assert _rows(report) == {
        ("NHI101", "main.tf", 2, "agent"),
        ("NHI301", "main.tf", 4, "agent"),
        ("NHI302", "main.tf", 4, "agent"),
    }
    assert all(f["message"].endswith("; via var.ci_role (variables.tf:3)")
               for f in report["findings"])  # fmt: skip


def test_agent_overrides_a_variable_in_terraform_tfvars(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    repo = make_repo()
    repo.commit({"iam/main.tf": MAIN_VAR, "iam/variables.tf": _variables("roles/viewer")})
    _agent_branch(repo, {"iam/terraform.tfvars": '# CI\nci_role = "roles/owner"\n'})
    code, report = _check(repo, capsys)
    assert code == 1
    assert _rows(report) == {
        ("NHI101", "iam/main.tf", 2, "agent"),
        ("NHI301", "iam/main.tf", 4, "agent"),
        ("NHI302", "iam/main.tf", 4, "agent"),
    }
    assert all(f["message"].endswith("; via var.ci_role (iam/terraform.tfvars:2)")
               for f in report["findings"])  # fmt: skip


def test_agent_deletes_the_tfvars_override_that_narrowed_a_default(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    repo = make_repo()
    repo.commit({"main.tf": MAIN_VAR, "variables.tf": _variables("roles/owner"),
                 "terraform.tfvars": 'ci_role = "roles/viewer"\n'})  # fmt: skip
    agent = _agent_branch(repo, {"terraform.tfvars": None})
    code, report = _check(repo, capsys)
    assert code == 1
    assert _rows(report) == {
        ("NHI101", "main.tf", 2, "agent"),
        ("NHI301", "main.tf", 4, "agent"),
        ("NHI302", "main.tf", 4, "agent"),
    }
    assert {f["commit"] for f in report["findings"]} == {agent}
    assert all(f["message"].endswith("; via var.ci_role (terraform.tfvars:1 at base)")
               for f in report["findings"])  # fmt: skip


def test_agent_hiding_a_role_behind_an_expression_is_still_judged(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    repo = make_repo()
    repo.commit({"main.tf": MAIN_LOCAL, "locals.tf": _locals("roles/viewer")})
    opaque = _locals("roles/viewer").replace('"roles/viewer"', 'lookup(var.roles, "ci")')
    agent = _agent_branch(repo, {"locals.tf": opaque})
    code, report = _check(repo, capsys)
    assert code == 1
    # The role is no longer known: changed by the agent, and a grant base did not have.
    assert {(f["rule_id"], f["path"], f["start_line"], f["actor_kind"], f["commit"])
            for f in report["findings"]} == {("NHI101", "main.tf", 2, "agent", agent),
                                             ("NHI302", "main.tf", 4, "agent", agent)}
    assert all(f["message"].endswith("; via local.ci_role (locals.tf:3 at base)")
               for f in report["findings"])  # fmt: skip


def test_human_changing_an_unrelated_local_judges_nothing(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    repo = make_repo()
    # An existing admin grant and a broken sibling: neither is part of the change.
    admin = MAIN_LOCAL + '\nresource "google_project_iam_member" "old" {\n' \
        '  project = "p"\n  role    = "roles/owner"\n  member  = "user:a@example.com"\n}\n'
    broken = 'resource "google_project_iam_member" "b" {\n  role = local.ci_role\n'
    repo.commit({"main.tf": admin, "locals.tf": _locals("roles/owner"), "broken.tf": broken})
    repo.checkout("tweak", create=True)
    repo.commit({"locals.tf": _locals("roles/owner", region="us-east1")}, author=HUMAN)
    code, report = _check(repo, capsys)
    assert (code, report["findings"], report["verdict"]) == (0, [], "pass")


def test_agent_changing_an_unused_local_judges_no_identity(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    repo = make_repo()
    repo.commit({"main.tf": MAIN_LOCAL, "locals.tf": _locals("roles/owner")})
    _agent_branch(repo, {"locals.tf": _locals("roles/owner", region="us-east1")})
    code, report = _check(repo, capsys)
    assert (code, report["findings"]) == (0, [])


def test_an_identity_changed_directly_and_through_a_local_names_both(
    make_repo: Callable[..., GitRepo], capsys: Any
) -> None:
    repo = make_repo()
    repo.commit({"main.tf": MAIN_LOCAL, "locals.tf": _locals("roles/viewer")})
    repo.checkout("mixed", create=True)
    repo.commit({"main.tf": MAIN_LOCAL.replace('"p"', '"q"')}, author=HUMAN)
    agent = repo.commit({"locals.tf": _locals("roles/owner")}, author=COPILOT,
                        trailers=REQUESTED)
    code, report = _check(repo, capsys)
    assert code == 1
    # Findings sit on its own added line (3), inside the diff; the agent wrote the value, so
    # the agent is the actor.
    assert _rows(report) == {
        ("NHI101", "main.tf", 3, "agent"),
        ("NHI301", "main.tf", 3, "agent"),
        ("NHI302", "main.tf", 3, "agent"),
    }
    assert {f["commit"] for f in report["findings"]} == {agent}
    assert {len(f["message"].split("; via local.ci_role (locals.tf:3)")) for f in
            report["findings"]} == {2}  # fmt: skip


# ----------------------------------------------------------------------------- hook


def _hook_json(repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: Any
               ) -> tuple[int, dict[str, Any]]:  # fmt: skip
    monkeypatch.chdir(repo.path)
    monkeypatch.setenv("GIT_AUTHOR_NAME", COPILOT[0])
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", COPILOT[1])
    code = main(["hook", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_hook_blocks_a_staged_local_that_widens_a_role(
    make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    repo = make_repo()
    repo.commit({"infra/main.tf": MAIN_LOCAL, "infra/locals.tf": _locals("roles/viewer")})
    repo.stage({"infra/locals.tf": _locals("roles/owner")})
    code, report = _hook_json(repo, monkeypatch, capsys)
    assert code == 1
    assert _rows(report) == {
        ("NHI101", "infra/main.tf", 2, "agent"),
        ("NHI301", "infra/main.tf", 4, "agent"),
        ("NHI302", "infra/main.tf", 4, "agent"),
    }
    assert all(f["message"].endswith("; via local.ci_role (infra/locals.tf:3)")
               for f in report["findings"])  # fmt: skip


def test_hook_lists_a_module_only_when_a_module_file_is_staged(
    make_repo: Callable[..., GitRepo], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    repo = make_repo()
    base = repo.commit({"main.tf": MAIN_LOCAL, "locals.tf": _locals("roles/owner")})
    repo.stage({"README.md": "docs\n"})
    listed: list[object] = []
    real = git.read_directory_entries

    def counting(*args: Any, **kwargs: Any) -> Any:
        listed.append(args[1:3])
        return real(*args, **kwargs)

    monkeypatch.setattr(git, "read_directory_entries", counting)
    code, report = _hook_json(repo, monkeypatch, capsys)
    assert (code, report["findings"], listed) == (0, [], [])
    # One listing of the module's directory per side: the index, then HEAD.
    repo.stage({"locals.tf": _locals("roles/owner", region="us-east1")})
    code, report = _hook_json(repo, monkeypatch, capsys)
    assert (code, report["findings"], listed) == (0, [], [(None, [""]), (base, [""])])


# ----------------------------------------------------------------------------- scan


def test_scan_reports_the_resolved_role(tmp_path: Path, capsys: Any) -> None:
    root = tmp_path / "infra"
    root.mkdir()
    (root / "main.tf").write_text(MAIN_LOCAL, encoding="utf-8")
    (root / "locals.tf").write_text(_locals("roles/owner"), encoding="utf-8")
    code = main(["scan", str(root), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(f["rule_id"], f["path"], f["start_line"]) for f in report["findings"]] == [
        ("NHI301", "main.tf", 4)
    ]
    assert "roles/owner on p" in report["findings"][0]["message"]


# ----------------------------------------------------------------------------- values


def _module(files: dict[str, str]) -> ModuleSources:
    sources = [SourceFile(p, t.encode()) for p, t in files.items()]
    return group_modules(sources)[""]


def test_values_follow_terraform_precedence_and_chains() -> None:
    module = _module({
        "variables.tf": _variables("roles/viewer"),
        "terraform.tfvars": 'ci_role = "roles/editor"\n',
        "b.auto.tfvars": 'ci_role = "roles/owner"\n',
        "a.auto.tfvars": 'ci_role = "roles/browser"\n',
        "locals.tf": 'locals {\n  role = local.chosen\n  chosen = var.ci_role\n'
                     '  dyn = "roles/${var.ci_role}"\n  list = [\n    "a",\n    local.chosen,\n'
                     '  ]\n\n}\n',
        "override.tf": 'locals {\n  chosen = "roles/iam.securityAdmin"\n}\n',
    })  # fmt: skip
    values = terraform.module_values(module).values
    assert values["var.ci_role"].value == "roles/owner"  # b.auto.tfvars is loaded last
    assert values["var.ci_role"].inputs == (("var.ci_role", Location("b.auto.tfvars", 1, 1)),)
    assert values["local.role"].value == "roles/iam.securityAdmin"  # override.tf wins
    assert values["local.role"].inputs == (
        ("local.role", Location("locals.tf", 2, 2)),
        ("local.chosen", Location("override.tf", 2, 2)),
    )
    assert values["local.list"].value == ["a", "roles/iam.securityAdmin"]
    assert values["local.list"].inputs[0] == ("local.list", Location("locals.tf", 5, 8))
    assert "local.dyn" not in values  # a template is an expression: left unresolved


def test_inline_policy_actions_and_attachments_resolve() -> None:
    main_tf = """\
resource "aws_iam_policy" "p" {
  policy = jsonencode({
    Statement = [{ Effect = "Allow", Action = local.actions, Resource = "*" }]
  })
}
resource "aws_iam_role_policy_attachment" "a" {
  role       = "ci"
  policy_arn = var.arn
}
resource "aws_iam_role_policy_attachment" "unknown" {
  role       = "ci"
  policy_arn = var.undefined
}
"""
    files = {"main.tf": main_tf,
             "locals.tf": 'locals {\n  actions = ["s3:GetObject", "iam:*"]\n}\n',
             "variables.tf": 'variable "arn" {\n  default = "arn:aws:iam::aws:policy/'
                             'AdministratorAccess"\n}\nvariable "undefined" {}\n'}  # fmt: skip
    module = _module(files)
    result = terraform.parse(SourceFile("main.tf", main_tf.encode()), load_catalogue(),
                             module=module)  # fmt: skip
    got = {o.address: ([(g.action, g.line) for g in o.privileges], o.inputs)
           for o in result.objects}  # fmt: skip
    assert got == {
        "aws_iam_policy.p": ([("s3:GetObject", 3), ("iam:*", 3)],
                             (("local.actions", Location("locals.tf", 2, 2)),)),
        "aws_iam_role_policy_attachment.a": (
            [("arn:aws:iam::aws:policy/AdministratorAccess", 8)],
            (("var.arn", Location("variables.tf", 2, 2)),)),
        "aws_iam_role_policy_attachment.unknown": ([("${var.undefined}", 12)], ()),
    }
