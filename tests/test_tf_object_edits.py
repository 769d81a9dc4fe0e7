"""`kubernetes_labels` and `kubernetes_annotations` (hashicorp/kubernetes) edit a Kubernetes
object defined elsewhere; they are judged as what the edit grants
(https://registry.terraform.io/providers/hashicorp/kubernetes/latest/docs/resources/labels,
.../annotations): an aggregation label on a ClusterRole hands its rules to every holder of the
aggregating role, a workload identity annotation binds a cloud identity to a ServiceAccount.
Each case is a real git repo with a human base; an agent's edit blocks, a person's does not,
and a descriptive label or annotation is nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, Identity

from checker.cli import main

CLAUDE: Identity = ("Claude", "noreply@anthropic.com")
BASE = 'provider "kubernetes" {}\n'
AGGREGATE = BASE + """\
resource "kubernetes_labels" "ops" {
  api_version = "rbac.authorization.k8s.io/v1"
  kind        = "ClusterRole"
  metadata { name = "ops" }
  labels = { "rbac.authorization.k8s.io/aggregate-to-admin" = "true" }
}
"""


def _annotations(key: str, value: str) -> str:
    return BASE + f"""\
resource "kubernetes_annotations" "web_sa" {{
  api_version = "v1"
  kind        = "ServiceAccount"
  metadata {{
    name      = "web"
    namespace = "apps"
  }}
  annotations = {{ "{key}" = "{value}" }}
}}
"""


IRSA = _annotations("eks.amazonaws.com/role-arn", "arn:aws:iam::111122223333:role/admin")


def _run(make_repo: Callable[..., GitRepo], capsys: Any, base: str, head: str,
         author: Identity) -> tuple[int, list[tuple[str, int, bool, str]]]:
    repo = make_repo()
    sha = repo.commit({"main.tf": base}, author=HUMAN)
    repo.commit({"main.tf": head}, author=author)
    code = main(["check", "--repo", str(repo.path), "--base", sha, "--head", "HEAD",
                 "--format", "json"])
    return code, [(f["rule_id"], f["start_line"], f["blocking"], f["message"])
                  for f in json.loads(capsys.readouterr().out)["findings"]]


def test_an_agent_labelling_a_cluster_role_aggregate_to_admin_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, BASE, AGGREGATE, CLAUDE)
    assert code == 1
    blocking = {(rule, line) for rule, line, block, _ in found if block}
    assert blocking == {("NHI101", 2), ("NHI106", 6)}
    unknown = next(m for rule, _, _, m in found if rule == "NHI106")
    assert "rules of ClusterRole ops defined outside this block: every holder of " \
           "ClusterRole/admin gains them" in unknown


def test_a_person_labelling_a_cluster_role_gets_a_note(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, BASE, AGGREGATE, HUMAN)
    assert code == 0
    assert not [f for f in found if f[2]]
    assert any(rule == "NHI106" and "ClusterRole/admin" in m for rule, _, _, m in found)


def test_an_agent_removing_the_aggregation_label_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, AGGREGATE, BASE, CLAUDE)
    assert code == 0
    assert not [f for f in found if f[2]]


@pytest.mark.parametrize(("key", "value"), [
    ("eks.amazonaws.com/role-arn", "arn:aws:iam::111122223333:role/admin"),
    ("iam.gke.io/gcp-service-account", "admin@p.iam.gserviceaccount.com"),
    ("azure.workload.identity/client-id", "00000000-0000-0000-0000-000000000001"),
])
def test_an_agent_annotating_a_workload_identity_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any, key: str, value: str) -> None:
    code, found = _run(make_repo, capsys, BASE, _annotations(key, value), CLAUDE)
    assert code == 1
    assert ("NHI101", 2, True) in [(r, line, b) for r, line, b, _ in found]
    created = next(m for r, _, _, m in found if r == "NHI101")
    assert created.startswith("kubernetes_annotations.web_sa (kubernetes service_account) "
                              "was created by agent")


def test_an_agent_switching_the_annotated_role_blocks(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    before = IRSA.replace("role/admin", "role/web")
    code, found = _run(make_repo, capsys, before, IRSA, CLAUDE)
    assert code == 1
    assert ("NHI101", 9, True) in [(r, line, b) for r, line, b, _ in found]
    changed = next(m for r, _, _, m in found if r == "NHI101")
    assert "annotations" in changed, changed
    code, found = _run(make_repo, capsys, before, IRSA, HUMAN)
    assert code == 0


def test_a_person_annotating_a_workload_identity_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: Any) -> None:
    code, found = _run(make_repo, capsys, BASE, IRSA, HUMAN)
    assert code == 0
    assert not [f for f in found if f[2]]


@pytest.mark.parametrize("head", [
    _annotations("owner", "team-a"),
    BASE + """\
resource "kubernetes_labels" "web" {
  api_version = "apps/v1"
  kind        = "Deployment"
  metadata {
    name      = "web"
    namespace = "apps"
  }
  labels = { team = "a" }
}
""",
], ids=["descriptive-annotation", "deployment-label"])
def test_a_descriptive_label_or_annotation_is_nothing(
        make_repo: Callable[..., GitRepo], capsys: Any, head: str) -> None:
    assert _run(make_repo, capsys, BASE, head, CLAUDE) == (0, [])
