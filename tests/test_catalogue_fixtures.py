"""Every catalogue entry has a pass and a fail fixture, tested line-exactly.

`fixtures/catalogue/{pass,fail}.<ext>` hold one instance (or, for NHI204, a prod/staging pair)
of every entry of the matching catalogue pack, with `# expect:` lines above each finding. The
fail fixture shows each identity with a problem (missing owner/ticket/expiry, an admin grant,
reuse across environments, a static credential); the pass fixture a well-governed instance,
where only NHI303 (a credential static by nature) may be expected. Rules are judged in scan mode
with a fixed date, so expiries in the fixtures do not age.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from test_rule_fixtures import expectations

from checker.change import ChangeSet
from checker.checks.api import Context
from checker.checks.engine import evaluate
from checker.model import IdentityObject, SourceFile
from checker.pipeline import parse_sources
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config
from checker.policy.privileges import load_admin_table
from checker.policy.rule_docs import load_rule_docs

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "catalogue"
TODAY = dt.date(2026, 1, 1)
#: Rules the catalogue fixtures are judged on (other families have their own fixtures).
JUDGED = frozenset({"NHI201", "NHI202", "NHI203", "NHI204", "NHI301", "NHI303", "NHI319", "NHI320"})
#: (format, fixture file, path the file is given to the parser under).
FILES = (
    ("terraform", "pass.tf", "fixtures/catalogue/pass.tf"),
    ("terraform", "fail.tf", "fixtures/catalogue/fail.tf"),
    ("kubernetes", "pass.yaml", "fixtures/catalogue/pass.yaml"),
    ("kubernetes", "fail.yaml", "fixtures/catalogue/fail.yaml"),
    ("github_actions", "pass.yml", ".github/workflows/pass.yml"),
    ("github_actions", "fail.yml", ".github/workflows/fail.yml"),
)
#: Entries without a fail case yet, and why (keep this short; each is a known gap).
NO_FAIL_CASE: dict[tuple[str, str], str] = {
    **{("kubernetes", kind): "references a credential held elsewhere: it needs no metadata "
       "and grants nothing admin-equivalent (issue 13)"
       for kind in ("Issuer", "ClusterIssuer", "ExternalSecret", "ClusterExternalSecret",
                    "SecretStore", "ClusterSecretStore", "SecretProviderClass")},
    **{("github_actions", type_): "a secret a job holds: NHI101, NHI316 and NHI324 judge it "
       "(their own fixtures); it carries no metadata or grant judged here (issue 15)"
       for type_ in ("repository_pat", "repository_secret")},
    **{("terraform", type_): "runs as a named instance profile, not a role ARN: reuse across "
       "environments is judged on the profile (`aws_iam_instance_profile`); a switch is "
       "tests/test_cloud_workloads.py"
       for type_ in ("aws_instance", "aws_spot_instance_request", "aws_launch_configuration",
                     "aws_launch_template", "aws_autoscaling_group")},
    **{("terraform", type_): "a service control policy (or its attachment) only takes access "
       "away: removing or weakening one is NHI302 (tests/test_tf_denies.py); nothing here"
       for type_ in ("aws_organizations_policy", "aws_organizations_policy_attachment")},
    ("terraform", "kubernetes_labels"): "labels a ClusterRole defined elsewhere: its rules are "
    "not in the block, so NHI106 and NHI101 judge it (tests/test_tf_object_edits.py)",
    ("terraform", "aws_cognito_identity_pool_roles_attachment"): "hands out a role defined "
    "elsewhere: NHI101 and NHI302 judge who gets it (tests/test_tf_access_resources.py)",
}


def judge(fixture: str, virtual: str) -> tuple[set[tuple[str, int]], list[IdentityObject]]:
    config = Config()
    source = SourceFile(virtual, (FIXTURES / fixture).read_bytes())
    parsed = parse_sources([source], load_catalogue(), config)
    assert not parsed.problems, parsed.problems
    ctx = Context(mode="scan", config=config, catalogue=load_catalogue(),
                  admin_table=load_admin_table(), changeset=ChangeSet(None, None),
                  provenance={}, today=TODAY)
    findings, objects = evaluate(parsed.objects, (), ctx, load_rule_docs())
    return {(f.rule_id, f.location.start_line) for f in findings if f.rule_id in JUDGED}, objects


@pytest.mark.parametrize(("fmt", "fixture", "virtual"), FILES, ids=[f[1] for f in FILES])
def test_catalogue_fixture_is_line_exact(fmt: str, fixture: str, virtual: str) -> None:
    text = (FIXTURES / fixture).read_text(encoding="utf-8")
    expected = {e for e in expectations(text) if e[0] in JUDGED}
    found, objects = judge(fixture, virtual)
    if fixture.startswith("pass"):
        assert {rule for rule, _ in expected} <= {"NHI303"}
    assert sorted(found - expected) == [] and sorted(expected - found) == []
    covered = {o.type for o in objects}
    # A `kubernetes_manifest` identity takes the type of the object it holds (its address keeps
    # the resource type): count a Terraform block as covering its resource type too.
    covered |= {o.address.split(".", 1)[0] for o in objects if fmt == "terraform"}
    entries = {t for f, t in load_catalogue().entries if f == fmt}
    missing = entries - covered
    if fixture.startswith("fail"):
        missing -= {t for f, t in NO_FAIL_CASE if f == fmt}
    assert sorted(missing) == []


def test_every_fail_case_shows_a_problem_on_its_identity() -> None:
    """Each identity in a fail fixture carries at least one judged finding at its lines."""
    for _fmt, fixture, virtual in FILES:
        if not fixture.startswith("fail"):
            continue
        found, objects = judge(fixture, virtual)
        for obj in objects:
            lines = {line for _, line in found}
            hit = any(obj.location.start_line <= ln <= obj.location.end_line for ln in lines)
            assert hit, f"{fixture}: {obj.address} ({obj.type}) has no finding"
