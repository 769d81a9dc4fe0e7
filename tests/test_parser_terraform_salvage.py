"""Per-block salvage: when python-hcl2 7.3.1 rejects a `.tf` file, only the blocks it rejects
are lost (issue 12). `fixtures/parsers/terraform/salvage.tf` holds two invalid blocks (two
operands with no operator between them, which Terraform rejects too) between identities; the
valid constructs python-hcl2 7.3.1 rejects (#246, #234) are parsed since the continuation
rewrite (tests/test_parser_terraform_continuation.py). Every line number asserted here was read
off the fixture.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker import secrets
from checker.cli import main
from checker.model import Location, ModuleSources, SourceFile
from checker.parsers import terraform
from checker.parsers.terraform.salvage import chunks
from checker.policy.catalogue import load_catalogue
from checker.sources.modules import group_modules

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = "fixtures/parsers/terraform/salvage.tf"


def _source() -> SourceFile:
    return SourceFile(FIXTURE, (ROOT / FIXTURE).read_bytes())


def test_rejected_blocks_are_nhi901_on_their_lines_and_the_rest_is_read() -> None:
    result = terraform.parse(_source(), load_catalogue())
    assert [(p.rule_id, p.line, p.end_line, p.address, p.message) for p in result.problems] == [
        ("NHI901", 3, 10, "locals",
         f"{FIXTURE}: HCL syntax error in locals (lines 3-10) at line 8, column 5: "
         "unexpected token; the file's other blocks were read"),
        ("NHI901", 18, 29, "azurerm_postgresql_flexible_server.this",
         f'{FIXTURE}: HCL syntax error in resource "azurerm_postgresql_flexible_server" "this" '
         "(lines 18-29) at line 25, column 9: unexpected token; the file's other blocks were "
         "read"),
    ]  # fmt: skip
    found = [(o.address, o.kind, o.location.start_line, o.location.end_line)
             for o in result.objects]
    assert found == [
        ("aws_iam_user_policy_attachment.ci_admin", "role_binding", 13, 16),
        ("aws_iam_access_key.ci", "access_key", 31, 33),
    ]
    admin = result.objects[0]
    assert [(g.action, g.resource, g.line) for g in admin.privileges] == [
        ("arn:aws:iam::aws:policy/AdministratorAccess", "*", 15),
    ]
    assert dict(admin.metadata) == {"owner": "team-ci", "ticket": "OPS-7"}


@pytest.mark.parametrize("shared_parse", [True, False], ids=["shared", "own"])
def test_salvaged_file_is_secret_scanned(shared_parse: bool) -> None:
    src = _source()
    hcl = terraform.load(src) if shared_parse else None
    facets = secrets.scan(src, "terraform", hcl=hcl).objects
    assert [(f.type, f.address, f.location.start_line) for f in facets] == [
        ("secret_output", "output.ci_secret#aws_iam_access_key.ci.secret", 35),
    ]


def test_scan_reports_every_identity_and_one_nhi901_per_bad_block(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["scan", FIXTURE, "--format", "json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]
    rows = [(f["rule_id"], f["start_line"], f["address"], f["blocking"]) for f in findings]
    assert ("NHI301", 15, "aws_iam_user_policy_attachment.ci_admin", True) in rows
    assert ("NHI201", 31, "aws_iam_access_key.ci", True) in rows
    assert ("NHI403", 36, "output.ci_secret#aws_iam_access_key.ci.secret", True) in rows
    bad = [(f["start_line"], f["address"]) for f in findings if f["rule_id"] == "NHI901"]
    assert bad == [(3, "locals"), (18, "azurerm_postgresql_flexible_server.this")]
    prints = [f["fingerprint"] for f in findings if f["rule_id"] == "NHI901"]
    assert len(set(prints)) == 2


def _module(files: dict[str, str]) -> ModuleSources:
    return group_modules([SourceFile(p, t.encode()) for p, t in files.items()])[""]


def test_module_values_are_read_from_a_salvaged_file() -> None:
    locals_tf = (
        "locals {\n"
        "  dedup = {\n"
        "    for k, v in local.all :\n"
        "    k => v\n"
        "    if !contains(keys(local.other), k)\n"
        "    !contains(keys(local.more), k)\n"  # no operator: invalid HCL
        "  }\n"
        "}\n"
        "\n"
        "locals {\n"
        "  ci_role = \"roles/owner\"\n"
        "}\n"
    )
    rejected = terraform.load(SourceFile("locals.tf", locals_tf.encode()))
    assert [(p.line, p.end_line, p.address) for p in rejected.problems] == [(1, 8, "locals")]
    main_tf = (
        'resource "google_project_iam_member" "ci" {\n'
        '  project = "p"\n'
        "  role    = local.ci_role\n"
        '  member  = "serviceAccount:ci@p.iam.gserviceaccount.com"\n'
        "}\n"
    )
    module = _module({"locals.tf": locals_tf, "main.tf": main_tf})
    values = terraform.module_values(module).values
    assert values["local.ci_role"].value == "roles/owner"
    assert values["local.ci_role"].inputs == (("local.ci_role", Location("locals.tf", 11, 11)),)
    result = terraform.parse(SourceFile("main.tf", main_tf.encode()), load_catalogue(),
                             module=module)
    (binding,) = result.objects
    assert [g.action for g in binding.privileges] == ["roles/owner"]
    assert binding.inputs == (("local.ci_role", Location("locals.tf", 11, 11)),)


def test_a_stray_brace_is_its_own_block_and_the_next_blocks_still_parse() -> None:
    text = (
        'resource "aws_iam_user" "a" {\n'
        '  name = "a"\n'
        "}\n"
        "}\n"
        'resource "aws_iam_user" "b" {\n'
        '  name = "b"\n'
        "}\n"
    )
    assert [(c.start, c.end, c.address) for c in chunks(text.split("\n"))] == [
        (1, 3, "aws_iam_user.a"), (4, 4, None), (5, 7, "aws_iam_user.b"),
    ]
    result = terraform.parse(SourceFile("stray.tf", text.encode()), load_catalogue())
    assert [o.address for o in result.objects] == ["aws_iam_user.a", "aws_iam_user.b"]
    assert [(p.line, p.end_line, p.address) for p in result.problems] == [(4, 4, None)]


def test_the_file_error_stays_when_every_block_parses_alone() -> None:
    # An attribute defined twice at the top level: each definition parses alone.
    text = 'resource "aws_iam_user" "a" {\n  name = "a"\n}\nx = 1\nx = 2\n'
    result = terraform.parse(SourceFile("twice.tf", text.encode()), load_catalogue())
    assert [o.address for o in result.objects] == ["aws_iam_user.a"]
    (problem,) = result.problems
    assert (problem.line, problem.end_line, problem.address) == (5, None, None)
    assert problem.message == (
        "twice.tf: HCL syntax error at line 5, column 1: attribute defined twice"
    )
