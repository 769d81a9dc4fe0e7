"""NHI204: one identity referenced from more than one environment (real git repos)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from conftest import COPILOT, HUMAN, GitRepo

from checker.checks.cross_environment import identity_keys
from checker.checks.environments import infer_environment
from checker.cli import main
from checker.model import IdentityObject, Location
from checker.policy.config import Config

BINDING = """\
# nhi-gate: owner=team-ci ticket=OPS-{n}
resource "google_project_iam_member" "deployer" {{
  project = "acme-{env}"
  role    = "roles/run.developer"
  member  = "serviceAccount:{sa}@acme-ci.iam.gserviceaccount.com"
}}
"""


def _findings(repo: GitRepo, base: str, head: str,
              capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    main(["check", "--repo", str(repo.path), "--base", base, "--head", head, "--format", "json"])
    findings: list[dict[str, object]] = json.loads(capsys.readouterr().out)["findings"]
    return findings


def test_same_sa_bound_in_prod_and_staging(make_repo: Callable[..., GitRepo],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "infra\n"}, author=HUMAN)
    repo.checkout("copilot/deployer", create=True)
    head = repo.commit({
        "envs/prod/iam.tf": BINDING.format(n=1, env="prod", sa="deployer"),
        "envs/staging/iam.tf": BINDING.format(n=2, env="staging", sa="deployer"),
    }, author=COPILOT, message="Bind deployer")
    found = [f for f in _findings(repo, base, head, capsys) if f["rule_id"] == "NHI204"]
    assert sorted((f["path"], f["start_line"]) for f in found) == [
        ("envs/prod/iam.tf", 2), ("envs/staging/iam.tf", 2)]
    assert found[0]["message"] == (
        "google_project_iam_member.deployer in environment prod uses service account "
        "deployer@acme-ci.iam.gserviceaccount.com, which is also used in staging "
        "(envs/staging/iam.tf); give each environment its own identity")
    assert all(f["level"] == "error" and f["blocking"] for f in found)


def test_one_sa_per_environment_passes(make_repo: Callable[..., GitRepo],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base = repo.commit({"README.md": "infra\n"}, author=HUMAN)
    repo.checkout("copilot/deployer", create=True)
    head = repo.commit({
        "envs/prod/iam.tf": BINDING.format(n=1, env="prod", sa="deployer-prod"),
        "envs/staging/iam.tf": BINDING.format(n=2, env="staging", sa="deployer-staging"),
    }, author=COPILOT, message="Bind deployers")
    found = _findings(repo, base, head, capsys)
    assert found and not [f for f in found if f["rule_id"] == "NHI204"]


def test_environment_from_config_label_and_path() -> None:
    obj = IdentityObject("role", "aws", "aws_iam_role", "aws_iam_role.r",
                         Location("live/eu/main.tf", 1, 2))
    assert infer_environment(obj, Config()) is None
    labelled = IdentityObject("role", "aws", "aws_iam_role", "aws_iam_role.r",
                              Location("live/eu/main.tf", 1, 2),
                              metadata={"Environment": "Production"})
    assert infer_environment(labelled, Config()) == "prod"
    config = Config(environments={"staging": ("live/**",)})
    assert infer_environment(labelled, config) == "staging"


def test_identity_keys_from_references() -> None:
    step = IdentityObject("ci_credential", "aws", "aws-actions/configure-aws-credentials",
                          "ci.yml#jobs.d.steps[0]", Location(".github/workflows/ci.yml", 3, 6),
                          references=("arn:aws:iam::123456789012:role/deploy", "ci.yml#id"))
    assert identity_keys(step) == ("aws-role:arn:aws:iam::123456789012:role/deploy",)
