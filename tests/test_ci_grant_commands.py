"""Access a GitHub Actions `run:` script grants (session 11, fixH, attack
`gha-run-step-iam-grant`): `aws iam attach-role-policy ... AdministratorAccess`,
`put-role-policy` with `"Action": "*"`, `kubectl create clusterrolebinding
--clusterrole=cluster-admin` in an OIDC deploy job are identities of the step
(`<step>.grants.<platform>`): NHI101 for the agent who adds them, NHI301 for an admin
grant, NHI106 for one whose grant is not computed. Real git repos: base by a human, head by
Claude (or by a person, which does not block)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import HUMAN, GitRepo, check_findings

from checker.model import Grant
from checker.parsers.ci_grants import granted
from checker.safeyaml.load import load_text

CLAUDE = ("Claude", "noreply@anthropic.com")
WF = ".github/workflows/deploy.yml"
BASE = """\
name: deploy
on: {push: {branches: [main]}}
permissions: {contents: read}
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: prod
    permissions: {contents: read, id-token: write}
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with: {role-to-assume: "arn:aws:iam::111122223333:role/deploy", aws-region: us-east-1}
      - run: terraform apply -auto-approve
"""
GRANTS = """\
      - run: |
          aws iam attach-role-policy --role-name app \\
            --policy-arn arn:aws:iam::aws:policy/AdministratorAccess
          aws iam put-role-policy --role-name app --policy-name all \\
            --policy-document '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
          kubectl create clusterrolebinding ci-admin --clusterrole=cluster-admin \\
            --serviceaccount=default:ci
"""


def _check(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], head: str,
           author: tuple[str, str] = CLAUDE) -> tuple[int, list[dict[str, Any]]]:
    repo = make_repo()
    repo.commit({"README.md": "# app\n", WF: BASE}, author=HUMAN)
    repo.checkout("claude/ci", create=True)
    repo.commit({WF: head}, author=author, message="deploy: fix app permissions",
                trailers=[("Requested-by", "Alice Admin <alice@corp.example>")])
    return check_findings(repo, "main", capsys)


def _on_grants(findings: list[dict[str, Any]]) -> set[tuple[str, int, str, bool]]:
    return {(f["rule_id"], f["start_line"], f["address"].rsplit("#", 1)[1], f["blocking"])
            for f in findings if ".grants." in f["address"]}


def test_grant_commands_in_a_run_step_block_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _check(make_repo, capsys, BASE + GRANTS)
    assert code == 1
    step = "jobs.deploy.steps[2].grants"
    assert _on_grants(findings) == {
        ("NHI101", 14, f"{step}.aws", True), ("NHI301", 14, f"{step}.aws", True),
        ("NHI101", 16, f"{step}.aws[1]", True), ("NHI301", 16, f"{step}.aws[1]", True),
        ("NHI101", 18, f"{step}.kubernetes", True), ("NHI301", 18, f"{step}.kubernetes", True)}
    messages = {f["address"].rsplit(".", 1)[1]: f["message"] for f in findings
                if f["rule_id"] == "NHI301"}
    assert "arn:aws:iam::aws:policy/AdministratorAccess on role/app" in messages["aws"]
    assert "* on * (every action on every resource)" in messages["aws[1]"]
    assert "ClusterRole/cluster-admin on *" in messages["kubernetes"]


def test_the_same_grant_commands_by_a_person_do_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    code, findings = _check(make_repo, capsys, BASE + GRANTS, author=HUMAN)
    assert code == 0
    assert {(r, b) for r, _, _, b in _on_grants(findings)} <= {("NHI301", False)}


def test_a_grant_read_from_a_file_is_nhi106_for_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    head = BASE + ("      - run: gcloud projects set-iam-policy my-proj policy.json\n"
                   "      - run: aws iam put-user-policy --user-name ci --policy-name p"
                   " --policy-document file://p.json\n")
    code, findings = _check(make_repo, capsys, head)
    assert code == 1
    assert _on_grants(findings) == {
        ("NHI101", 13, "jobs.deploy.steps[2].grants.gcp", True),
        ("NHI106", 13, "jobs.deploy.steps[2].grants.gcp", True),
        ("NHI101", 14, "jobs.deploy.steps[3].grants.aws", True),
        ("NHI106", 14, "jobs.deploy.steps[3].grants.aws", True)}
    nhi106 = next(f["message"] for f in findings if f["rule_id"] == "NHI106"
                  and f["start_line"] == 14)
    assert "`aws iam put-user-policy --policy-document`" in nhi106


def test_a_step_unchanged_but_for_another_line_is_not_judged_again(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """Base already grants: an agent's edit of the step's other line is no new grant."""
    repo = make_repo()
    repo.commit({WF: BASE + GRANTS}, author=HUMAN)
    repo.checkout("claude/ci", create=True)
    repo.commit({WF: (BASE + GRANTS).replace("terraform apply", "terraform apply -lock=true")},
                author=CLAUDE, message="x", trailers=[("Requested-by", "Alice <a@corp.example>")])
    _, findings = check_findings(repo, "main", capsys)
    assert _on_grants(findings) == set()


@pytest.mark.parametrize(("command", "platform", "grants"), [
    ("gcloud projects add-iam-policy-binding my-proj --member=user:a@b --role=roles/owner",
     "gcp", (Grant("roles/owner", "projects/my-proj", line=2),)),
    ("az role assignment create --assignee 0000 --role Owner --scope /subscriptions/1",
     "azure", (Grant("Owner", "/subscriptions/1", line=2),)),
    ("kubectl -n prod create rolebinding x --role=deployer --user=ci",
     "kubernetes", (Grant("Role/deployer", "prod", line=2),)),
    ("aws iam create-policy-version --policy-arn arn:aws:iam::1:policy/p --set-as-default"
     " --policy-document '{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"iam:*\","
     "\"Resource\":\"*\"}}'", "aws", (Grant("iam:*", "*", line=2),)),
])
def test_each_grant_family_names_its_grant(command: str, platform: str,
                                           grants: tuple[Grant, ...]) -> None:
    run = load_text(f"run: |\n  {command}\n", "x.yml").documents[0].value[0][1]
    (found,) = granted(run)
    assert (found.platform, found.grants, found.unresolved) == (platform, grants, ())


def test_minting_commands_are_left_to_ci_minted() -> None:
    run = load_text("run: aws iam create-access-key --user-name ci\n", "x.yml").documents[0]
    assert granted(run.value[0][1]) == []


GITLAB = """\
deploy:
  image: amazon/aws-cli
  script:
    - aws sts get-caller-identity
"""


def test_a_grant_command_in_a_gitlab_job_script_blocks_an_agent(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    repo.commit({".gitlab-ci.yml": GITLAB}, author=HUMAN)
    repo.checkout("claude/ci", create=True)
    repo.commit({".gitlab-ci.yml": GITLAB + (
        "    - aws iam attach-user-policy --user-name ci"
        " --policy-arn arn:aws:iam::aws:policy/IAMFullAccess\n")},
        author=CLAUDE, message="x", trailers=[("Requested-by", "Alice <a@corp.example>")])
    code, findings = check_findings(repo, "main", capsys)
    assert code == 1
    assert {(f["rule_id"], f["start_line"], f["address"], f["blocking"]) for f in findings} == {
        ("NHI101", 5, ".gitlab-ci.yml#deploy.script.grants.aws", True),
        ("NHI301", 5, ".gitlab-ci.yml#deploy.script.grants.aws", True)}


@pytest.mark.parametrize(("before", "after", "code", "found"), [
    ("ReadOnlyAccess", "AdministratorAccess", 1,
     {("NHI101", True), ("NHI301", True), ("NHI302", True)}),
    ("AdministratorAccess", "ReadOnlyAccess", 0, {("NHI302", False)}),  # narrowed: a note
])
def test_a_grant_command_changed_in_place_is_judged_by_what_it_grants(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], before: str,
        after: str, code: int, found: set[tuple[str, bool]]) -> None:
    step = "      - run: aws iam attach-role-policy --role-name app --policy-arn %s\n"
    arn = "arn:aws:iam::aws:policy/"
    repo = make_repo()
    repo.commit({WF: BASE + step % (arn + before)}, author=HUMAN)
    repo.checkout("claude/ci", create=True)
    repo.commit({WF: BASE + step % f"  {arn}{after}"}, author=CLAUDE, message="x",
                trailers=[("Requested-by", "Alice <a@corp.example>")])
    got, findings = check_findings(repo, "main", capsys)
    assert got == code
    assert {(r, b) for r, _, _, b in _on_grants(findings)} == found
