"""GitHub Actions semantics (issue 15): GITHUB_TOKEN permissions judged as what a job's token
may do (the repository default unknown, judged as write-all when a block goes), and the
repository secrets a job holds as CI credentials. Real git repos with agent commits."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import COPILOT, HUMAN, GitRepo, check_findings, found_at

from checker.model import SourceFile
from checker.parsers import github_actions
from checker.policy.catalogue import load_catalogue

WF = ".github/workflows/ci.yml"

NO_BLOCK = """\
name: ci
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
"""
CONTENTS_READ = NO_BLOCK.replace("on: push\n", "on: push\npermissions:\n  contents: read\n")
CONTENTS_WRITE = CONTENTS_READ.replace("contents: read", "contents: write")

OIDC_AT_WORKFLOW = """\
name: deploy
on: push
permissions:
  id-token: write
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
  deploy:
    runs-on: ubuntu-latest
    environment: prod
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: arn:aws:iam::123456789012:role/deploy
          aws-region: eu-west-1
"""
OIDC_IN_JOB = OIDC_AT_WORKFLOW.replace(
    "  id-token: write\n  contents: read\njobs", "  contents: read\njobs").replace(
    "    environment: prod\n",
    "    environment: prod\n    permissions:\n      id-token: write\n      contents: read\n")

RELEASE = """\
name: release
on:
  push:
    tags: ['v*']
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
          token: ${{ secrets.ORG_ADMIN_PAT }}
      - run: npm publish
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_PAT }}
"""


def _agent_change(make_repo: Callable[..., GitRepo], base_files: dict[str, str],
                  head_files: dict[str, str]) -> tuple[GitRepo, str]:
    repo = make_repo()
    base = repo.commit({"README.md": "# app\n", **base_files}, author=HUMAN)
    repo.checkout("copilot/ci", create=True)
    repo.commit(head_files, author=COPILOT, message="Update CI")
    return repo, base


def test_adding_contents_read_to_a_workflow_without_a_block_is_a_narrowing(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _agent_change(make_repo, {WF: NO_BLOCK}, {WF: CONTENTS_READ})
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    assert ("NHI302", WF, 3, False) in found_at(findings)
    note = next(f for f in findings if f["rule_id"] == "NHI302")
    assert note["level"] == "note" and "narrowed" in note["message"]
    assert "repository default" in note["message"]
    assert not {f["rule_id"] for f in findings} & {"NHI101", "NHI310"}


def test_contents_write_to_read_is_a_note(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _agent_change(make_repo, {WF: CONTENTS_WRITE}, {WF: CONTENTS_READ})
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    assert [(f["rule_id"], f["level"], f["start_line"]) for f in findings
            if f["rule_id"] in ("NHI101", "NHI302")] == [("NHI302", "note", 4)]
    assert "widened" not in findings[0]["message"] + findings[-1]["message"]


def test_contents_read_to_write_still_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _agent_change(make_repo, {WF: CONTENTS_READ}, {WF: CONTENTS_WRITE})
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    assert {("NHI101", WF, 4, True), ("NHI302", WF, 4, True)} <= found_at(findings)


def test_a_write_scope_over_the_unknown_default_is_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """The default may be read-only (restricted), so `contents: write` is no proven narrowing."""
    repo, base = _agent_change(make_repo, {WF: NO_BLOCK}, {WF: CONTENTS_WRITE})
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    assert ("NHI101", WF, 3, True) in found_at(findings)


def test_moving_id_token_from_workflow_to_one_job_does_not_block(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    path = ".github/workflows/deploy.yml"
    repo, base = _agent_change(make_repo, {path: OIDC_AT_WORKFLOW}, {path: OIDC_IN_JOB})
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    assert {f["rule_id"] for f in findings if f["level"] != "warning"} == {"NHI302"}
    assert {(f["start_line"], f["level"]) for f in findings if f["rule_id"] == "NHI302"} == {
        (3, "note"), (13, "note"), (14, "note"), (17, "note")}
    assert "NHI101" not in {f["rule_id"] for f in findings}


def test_new_agent_workflow_with_read_only_permissions_needs_no_approval(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _agent_change(make_repo, {}, {WF: CONTENTS_READ})
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    assert "NHI101" not in {f["rule_id"] for f in findings}
    assert ("NHI302", WF, 3, False) in found_at(findings)


def test_removing_a_permissions_block_is_a_widening_judged_as_write_all(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _agent_change(make_repo, {WF: CONTENTS_READ}, {WF: NO_BLOCK})
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    widened = [f for f in findings if f["rule_id"] == "NHI302"]
    assert [(f["level"], f["start_line"], f["blocking"]) for f in widened] == [
        ("error", 3, True)]
    assert "judges as write-all" in widened[0]["message"]


def test_agent_release_workflow_publishing_with_two_pats_blocks(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    path = ".github/workflows/release.yml"
    repo, base = _agent_change(make_repo, {}, {path: RELEASE})
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    assert {("NHI101", path, 12, True), ("NHI316", path, 12, True),
            ("NHI101", path, 15, True), ("NHI316", path, 15, True)} <= found_at(findings)
    addresses = {f["address"] for f in findings if f["rule_id"] == "NHI101"}
    assert addresses == {f"{path}#jobs.release.secrets.ORG_ADMIN_PAT",
                         f"{path}#jobs.release.secrets.NPM_PAT"}


def test_human_release_workflow_is_reported_not_blocked(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    path = ".github/workflows/release.yml"
    repo = make_repo()
    base = repo.commit({"README.md": "# app\n"}, author=HUMAN)
    repo.commit({path: RELEASE}, author=HUMAN)
    code, findings = check_findings(repo, base, capsys)
    assert code == 0
    assert ("NHI316", path, 12, False) in found_at(findings)


def _objects(text: str) -> dict[str, github_actions.IdentityObject]:
    parsed = github_actions.parse(SourceFile(WF, text.encode()), load_catalogue())
    return {o.address: o for o in parsed.objects}


def test_job_env_and_reusable_workflow_secrets_are_ci_credentials() -> None:
    objects = _objects("""\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    env:
      DB_PASSWORD: ${{ secrets.DB_PASSWORD }}
      AWS_SECRET_ACCESS_KEY: ${{ secrets.AWS_KEY }}
    steps:
      - run: make test
  release:
    uses: org/shared/.github/workflows/release.yml@v1
    secrets:
      npm-token: ${{ secrets.NPM_TOKEN }}
  own-token:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/github-script@v7
        with:
          github-token: ${{ secrets.GITHUB_TOKEN }}
""")
    got = {a.split("#", 1)[1]: (o.type, o.platform, o.location.start_line)
           for a, o in objects.items() if ".secrets." in a}
    assert got == {
        "jobs.test.secrets.DB_PASSWORD": ("repository_secret", "github", 6),
        "jobs.test.secrets.AWS_KEY": ("repository_cloud_keys", "aws", 7),
        "jobs.release.secrets.NPM_TOKEN": ("repository_secret", "github", 13),
    }
    npm = objects[f"{WF}#jobs.release.secrets.NPM_TOKEN"]
    assert npm.attribute_lines["to.org/shared/.github/workflows/release.yml@v1"] == 13
    assert npm.kind == "ci_credential"


def test_secrets_in_a_credential_actions_inputs_stay_that_steps_identity() -> None:
    objects = _objects("""\
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          aws-access-key-id: ${{ secrets.KEY_ID }}
          aws-secret-access-key: ${{ secrets.KEY }}
""")
    assert [a.split("#", 1)[1] for a in objects] == ["jobs.deploy.steps[0]"]


GITLAB_ROOT = """\
stages: [deploy]
include:
  - local: ci/all.yml
"""
GITLAB_ALL = """\
include:
  - local: /ci/deploy.yml
"""
GITLAB_DEPLOY = """\
deploy:
  stage: deploy
  script: [./deploy.sh]
"""
GITLAB_DEPLOY_OIDC = """\
deploy:
  stage: deploy
  id_tokens:
    AWS_TOKEN:
      aud: sts.amazonaws.com
  script: [./deploy.sh]
"""


def test_gitlab_file_included_through_a_nested_include_is_judged_when_only_it_changes(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _agent_change(
        make_repo,
        {".gitlab-ci.yml": GITLAB_ROOT, "ci/all.yml": GITLAB_ALL,
         "ci/deploy.yml": GITLAB_DEPLOY},
        {"ci/deploy.yml": GITLAB_DEPLOY_OIDC})
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    assert {("NHI101", "ci/deploy.yml", 4, True), ("NHI316", "ci/deploy.yml", 4, True)} <= (
        found_at(findings))


def test_gitlab_yaml_file_no_pipeline_includes_is_not_judged(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo, base = _agent_change(
        make_repo, {".gitlab-ci.yml": "stages: [deploy]\n", "ci/deploy.yml": GITLAB_DEPLOY},
        {"ci/deploy.yml": GITLAB_DEPLOY_OIDC})
    code, findings = check_findings(repo, base, capsys)
    assert (code, findings) == (0, [])


def test_included_paths_follow_nested_includes() -> None:
    from checker.parsers import gitlab_ci

    sources = [SourceFile(".gitlab-ci.yml", GITLAB_ROOT.encode()),
               SourceFile("ci/all.yml", GITLAB_ALL.encode()),
               SourceFile("app/.gitlab-ci.yml", b"include: ci/a.yml\n"),
               SourceFile("app/ci/a.yml", b"include:\n  - local: ci/b.yml\n")]
    assert gitlab_ci.included_paths(sources) == frozenset(
        {"ci/all.yml", "ci/deploy.yml", "app/ci/a.yml", "app/ci/b.yml"})


def test_what_a_held_secret_is_follows_what_it_is_bound_to() -> None:
    objects = _objects("""\
on: push
jobs:
  e2e:
    runs-on: ubuntu-latest
    steps:
      - uses: slackapi/slack-github-action@v2
        with:
          token: ${{ secrets.SLACK_BOT_TOKEN }}
      - uses: NVIDIA/holodeck@v0.3.7
        with:
          aws_access_key_id: ${{ secrets.AWS_ACCESS_KEY_ID }}
      - uses: peter-evans/create-pull-request@v7
        with:
          token: ${{ secrets.GH_BOT_TOKEN }}
      - uses: actions/checkout@v4
        with:
          token: ${{ secrets.RELEASE_TOKEN }}
""")
    got = {a.rsplit(".", 1)[1]: (o.type, o.platform) for a, o in objects.items()
           if ".secrets." in a}
    assert got == {
        "SLACK_BOT_TOKEN": ("repository_secret", "github"),  # a Slack token, not GitHub's
        "AWS_ACCESS_KEY_ID": ("repository_cloud_keys", "aws"),
        "GH_BOT_TOKEN": ("repository_pat", "github"),
        "RELEASE_TOKEN": ("repository_pat", "github"),
    }


JOB_ENV_AND_CALL = """\
name: test
on: push
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    env:
      DB_PASSWORD: ${{ secrets.DB_PASSWORD }}
    steps:
      - run: make test
  release:
    uses: ./.github/workflows/release.yml
    secrets:
      npm-token: ${{ secrets.NPM_TOKEN }}
"""


def test_agent_adding_job_env_and_reusable_workflow_secrets_needs_approval(
        make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    plain = JOB_ENV_AND_CALL.replace("    env:\n      DB_PASSWORD: ${{ secrets.DB_PASSWORD }}\n",
                                     "").replace(
        "    secrets:\n      npm-token: ${{ secrets.NPM_TOKEN }}\n", "")
    repo, base = _agent_change(make_repo, {WF: plain}, {WF: JOB_ENV_AND_CALL})
    code, findings = check_findings(repo, base, capsys)
    assert code == 1
    approval = {(f["address"].split("#", 1)[1], f["start_line"], f["blocking"])
                for f in findings if f["rule_id"] == "NHI101"}
    assert approval == {("jobs.test.secrets.DB_PASSWORD", 9, True),
                        ("jobs.release.secrets.NPM_TOKEN", 15, True)}
    # a local reusable workflow is no third-party action; an ordinary secret needs no
    # environment
    assert not {"NHI324", "NHI316"} & {f["rule_id"] for f in findings}
