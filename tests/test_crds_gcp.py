"""Crossplane's GCP IAM kinds (`cloudplatform.gcp.upbound.io`, `crds_gcp`) are read like
their Terraform equivalents (the /work/nu8 attacker pass: a `ProjectIAMMember` granting
`roles/owner` passed `check`)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import CLAUDE_TRAILER, HUMAN, GitRepo

from checker.cli import main
from checker.model import SourceFile
from checker.pipeline import parse_sources
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config

MEMBER = """\
apiVersion: cloudplatform.gcp.upbound.io/v1beta1
kind: ProjectIAMMember
metadata:
  name: ci-owner
spec:
  forProvider:
    projectRef: {name: corp-prod}
    role: ROLE
    member: serviceAccount:ci@corp-prod.iam.gserviceaccount.com
    condition: {title: business-hours, expression: "request.time < timestamp('2030-01-01')"}
"""


def test_a_project_member_is_a_grant_with_its_condition_and_principal() -> None:
    parsed = parse_sources([SourceFile("m.yaml", MEMBER.replace("ROLE", "roles/owner").encode())],
                           load_catalogue(), Config())
    (obj,) = [o for o in parsed.objects if o.derived_from is None]
    assert obj.type == "cloudplatform.gcp.upbound.io/ProjectIAMMember"
    assert [(g.action, g.resource, g.line, g.conditions) for g in obj.privileges] == [
        ("roles/owner", "projectRef/corp-prod", 8, ("business-hours",))]
    assert obj.principals == ("gcp-sa:ci@corp-prod.iam.gserviceaccount.com",)


@pytest.mark.parametrize("agent", [True, False])
def test_an_agent_granting_owner_through_crossplane_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], agent: bool,
) -> None:
    repo = make_repo()
    repo.commit({"iam/member.yaml": MEMBER.replace("ROLE", "roles/viewer")}, author=HUMAN)
    repo.commit({"iam/member.yaml": MEMBER.replace("ROLE", "roles/owner")}, author=HUMAN,
                message="owner", trailers=[CLAUDE_TRAILER] if agent else [])
    code = main(["check", "--repo", str(repo.path), "--base", "HEAD~1", "--head", "HEAD",
                 "--format", "json"])
    found = {(f["rule_id"], f["start_line"], f["blocking"])
             for f in json.loads(capsys.readouterr().out)["findings"]}
    assert ("NHI301", 8, agent) in found and ("NHI302", 8, agent) in found
    assert code == (1 if agent else 0)
