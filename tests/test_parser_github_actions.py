"""GitHub Actions parser: permissions, OIDC tokens and cloud credential steps, line-exact.

Fixtures live in `fixtures/parsers/github_actions/` and are parsed under the path
`.github/workflows/<name>` as the CLI would; every line number asserted here was read off the
fixture by hand. The corpus test reads `../shared/corpus` (real public workflows).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import corpus_yaml_files as corpus_files

from checker.model import KINDS, PLATFORMS, Grant, IdentityObject, ParseResult, SourceFile
from checker.parsers import github_actions
from checker.policy.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "parsers" / "github_actions"
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
WF = ".github/workflows"


def parse_fixture(name: str) -> ParseResult:
    raw = (FIXTURES / name).read_bytes()
    return github_actions.parse(SourceFile(f"{WF}/{name}", raw), load_catalogue())


def parse_text(text: str, name: str = "inline.yml") -> ParseResult:
    return github_actions.parse(SourceFile(f"{WF}/{name}", text.encode()), load_catalogue())


def by_key(result: ParseResult) -> dict[tuple[str, str], IdentityObject]:
    assert not result.problems, result.problems
    return {(o.type, o.address.split("#", 1)[1]): o for o in result.objects}


def spans(result: ParseResult) -> list[tuple[str, str, str, int, int]]:
    return [
        (o.type, o.address, o.kind, o.location.start_line, o.location.end_line)
        for o in result.objects
    ]


def test_deploy_workflow_objects_and_lines() -> None:
    result = parse_fixture("deploy.yml")
    path = f"{WF}/deploy.yml"
    assert spans(result) == [
        ("workflow_permissions", f"{path}#permissions", "ci_credential", 7, 7),
        ("oidc_token", f"{path}#permissions.id-token", "oidc_trust", 7, 7),
        ("workflow_permissions", f"{path}#jobs.deploy.permissions", "ci_credential", 13, 16),
        ("oidc_token", f"{path}#jobs.deploy", "oidc_trust", 16, 16),
        (
            "aws-actions/configure-aws-credentials",
            f"{path}#jobs.deploy.steps[1]",
            "ci_credential",
            20,
            24,
        ),
        ("google-github-actions/auth", f"{path}#jobs.deploy.steps[2]", "ci_credential", 25, 29),
        ("azure/login", f"{path}#jobs.deploy.steps[3]", "ci_credential", 30, 34),
        ("repository_secret", f"{path}#jobs.reuse.secrets.*", "ci_credential", 41, 41),
    ]
    objs = by_key(result)

    top = objs[("workflow_permissions", "permissions")]
    assert (top.platform, top.environment) == ("github", None)
    assert top.privileges == (Grant("*:write", "repository", line=7),)
    # `on:` is read by its text (YAML 1.1 would make it the boolean True)
    assert {k: v for k, v in top.attribute_lines.items() if k.startswith("on")} == {
        "on": 3,
        "on.push": 4,
        "on.pull_request_target": 6,
    }
    assert top.metadata == {"owner": "team-platform"}
    top_oidc = objs[("oidc_token", "permissions.id-token")]
    assert top_oidc.attribute_lines["permissions.id-token"] == 7
    assert top_oidc.privileges == (Grant("id-token:write", "repository", line=7),)
    # the credential job declares its own permissions; `reuse` inherits them with every secret
    assert top_oidc.references == (f"{path}#jobs.reuse.secrets.*",)

    job_perms = objs[("workflow_permissions", "jobs.deploy.permissions")]
    assert job_perms.privileges == (
        Grant("contents:read", "repository", line=14),
        Grant("id-token:write", "repository", line=16),
    )
    assert job_perms.environment == "production"
    assert job_perms.metadata == {"ticket": "OPS-42", "owner": "team-platform"}
    assert job_perms.attribute_lines["permissions"] == 13

    oidc = objs[("oidc_token", "jobs.deploy")]
    assert oidc.platform == "github"
    assert oidc.attribute_lines["permissions.id-token"] == 16
    assert oidc.metadata == {"expires": "2026-12-31", "ticket": "OPS-42", "owner": "team-platform"}
    assert oidc.references == (
        f"{path}#jobs.deploy.steps[1]",
        f"{path}#jobs.deploy.steps[2]",
        f"{path}#jobs.deploy.steps[3]",
    )

    aws = objs[("aws-actions/configure-aws-credentials", "jobs.deploy.steps[1]")]
    assert aws.platform == "aws"
    assert aws.privileges == (
        Grant("sts:AssumeRoleWithWebIdentity", "arn:aws:iam::111122223333:role/deploy", line=23),
    )
    assert [r for r in aws.references if not r.startswith("guard:")] == [
        "arn:aws:iam::111122223333:role/deploy", f"{path}#jobs.deploy"]
    # what guards its OIDC credentials (parsers/github_guards.py)
    assert "guard:environment=production" in aws.references
    assert aws.metadata == {"owner": "team-deploy", "ticket": "OPS-42"}
    assert aws.attribute_lines["with.role-to-assume"] == 23
    assert aws.secret_sinks == ()

    gcp = objs[("google-github-actions/auth", "jobs.deploy.steps[2]")]
    assert gcp.platform == "gcp"
    assert gcp.privileges == (
        Grant(
            "roles/iam.workloadIdentityUser",
            "deployer@example-project.iam.gserviceaccount.com",
            line=29,
        ),
    )
    assert gcp.attribute_lines["with.workload_identity_provider"] == 28

    azure = objs[("azure/login", "jobs.deploy.steps[3]")]
    assert azure.platform == "azure"
    assert azure.attribute_lines["with.client-id"] == 32
    # `${{ }}` values are not identities; the rest are its guards (parsers/github_guards.py)
    assert [r for r in azure.references if not r.startswith("guard:")] == [f"{path}#jobs.deploy"]
    assert azure.privileges == ()


def test_inherited_oidc_static_keys_and_literal_secrets() -> None:
    result = parse_fixture("static.yml")
    path = f"{WF}/static.yml"
    assert [(o.type, o.location.start_line, o.location.end_line) for o in result.objects] == [
        ("workflow_permissions", 2, 5),
        ("oidc_token", 3, 3),
        ("aws-actions/configure-aws-credentials", 13, 17),
        ("google-github-actions/auth", 18, 20),
    ]
    objs = by_key(result)
    perms = objs[("workflow_permissions", "permissions")]
    assert perms.privileges == (
        Grant("id-token:write", "repository", line=3),
        Grant("contents:read", "repository", line=4),
    )  # `packages: none` grants nothing
    assert perms.attribute_lines["permissions.packages"] == 5
    assert {k: v for k, v in perms.attribute_lines.items() if k.startswith("on")} == {
        "on": 1,
        "on.push": 1,
        "on.workflow_dispatch": 1,
    }
    oidc = objs[("oidc_token", "permissions.id-token")]
    assert oidc.references == (f"{path}#jobs.publish.steps[0]", f"{path}#jobs.publish.steps[1]")
    aws = objs[("aws-actions/configure-aws-credentials", "jobs.publish.steps[0]")]
    assert aws.environment == "staging"
    assert aws.privileges == (
        Grant("sts:AssumeRole", "arn:aws:iam::111122223333:role/publish", line=17),
    )
    assert aws.attribute_lines["with.aws-access-key-id"] == 15
    assert aws.secret_sinks == ("literal:with.aws-secret-access-key",)
    assert f"{path}#permissions.id-token" in aws.references
    gcp = objs[("google-github-actions/auth", "jobs.publish.steps[1]")]
    assert gcp.secret_sinks == ()  # `${{ secrets.GCP_KEY }}` is not a literal
    assert gcp.attribute_lines["with.credentials_json"] == 20
    dumped = repr(result)
    assert "wJalrXUtnFEMI" not in dumped and "AKIAIOSFODNN7EXAMPLE" not in dumped


def test_only_secret_inputs_written_as_literals_are_sinks() -> None:
    text = (
        "jobs:\n"
        "  a:\n"
        "    steps:\n"
        "      - uses: google-github-actions/auth@v2\n"
        "        with:\n"
        '          credentials_json: \'{"type": "service_account", "k": "s3cr3t"}\'\n'
        "          token_format: access_token\n"
        "          create_credentials_file: true\n"
    )
    (obj,) = parse_text(text).objects
    assert obj.secret_sinks == ("literal:with.credentials_json",)
    assert obj.privileges == ()  # a key file, not workload identity: its grants are unknown
    assert "s3cr3t" not in repr(obj)


def test_null_jobs_and_odd_shapes_do_not_crash() -> None:
    assert parse_fixture("empty_jobs.yml") == ParseResult()
    odd = (
        "on:\n"
        "jobs:\n"
        "  a: null\n"
        "  b: [not, a, job]\n"
        "  c:\n"
        "    steps: not-a-list\n"
        "  d:\n"
        "    steps:\n"
        "      - just a string\n"
        "      - uses:\n"
        "      - uses: [x]\n"
        "      - uses: ./local-action\n"
        "      - uses: docker://alpine:3\n"
        "      - uses: azure/login\n"  # no @ref, no inputs
        "  e:\n"
        "    uses: org/repo/.github/workflows/deploy.yml@main\n"
        "    permissions: read-all\n"
        "    secrets: inherit\n"
    )
    result = parse_text(odd)
    assert not result.problems
    assert spans(result) == [
        ("azure/login", f"{WF}/inline.yml#jobs.d.steps[5]", "ci_credential", 14, 14),
        ("workflow_permissions", f"{WF}/inline.yml#jobs.e.permissions", "ci_credential", 17, 17),
        ("repository_secret", f"{WF}/inline.yml#jobs.e.secrets.*", "ci_credential", 18, 18),
    ]
    assert result.objects[1].privileges == (Grant("*:read", "repository", line=17),)
    for text in ("", "[a, list]\n", "just text\n", "jobs: 3\n"):
        assert parse_text(text) == ParseResult()


def test_empty_permissions_block_is_reported_without_grants() -> None:
    (obj,) = parse_text("on: push\npermissions: {}\njobs: {}\n").objects
    assert (obj.type, obj.location.start_line, obj.privileges) == ("workflow_permissions", 2, ())


def test_malformed_workflow_is_nhi901() -> None:
    result = parse_text("on: push\njobs:\n  build:\n    steps: [\n      - run: x\n")
    assert result.objects == ()
    (problem,) = result.problems
    assert problem.rule_id == "NHI901"
    assert problem.message.startswith(f"{WF}/inline.yml: YAML syntax error at line ")


def test_catalogue_sources_are_github_docs() -> None:
    catalogue = load_catalogue()
    types = catalogue.types("github_actions")
    assert {"workflow_permissions", "oidc_token", "aws-actions/configure-aws-credentials"} <= types
    # the minting and granting commands cite the tools' own docs
    for type_ in types - {"ci_minted_credential", "ci_granted_access"}:
        entry = catalogue.get("github_actions", type_)
        assert entry is not None and entry.source.startswith("https://docs.github.com/")
    minted = catalogue.get("github_actions", "ci_minted_credential")
    assert minted is not None and minted.source.startswith("https://kubernetes.io/docs/")
    granted = catalogue.get("github_actions", "ci_granted_access")
    assert granted is not None and granted.source.startswith("https://docs.aws.amazon.com/")


def test_corpus_parses_without_exceptions() -> None:
    files = corpus_files()
    if not files:
        pytest.skip(f"corpus not found at {CORPUS} (../shared/corpus next to the repository)")
    catalogue = load_catalogue()
    workflows = 0
    found = 0
    for path in files:
        raw = path.read_bytes()
        rel = path.relative_to(CORPUS).as_posix()
        result = github_actions.parse(SourceFile(rel, raw), catalogue)
        line_count = raw.count(b"\n") + 1
        for obj in result.objects:
            assert obj.kind in KINDS and obj.platform in PLATFORMS, obj
            assert 1 <= obj.location.start_line <= obj.location.end_line <= line_count, obj
            assert obj.address.startswith(rel + "#"), obj
        for problem in result.problems:
            assert problem.rule_id in ("NHI901", "NHI902", "NHI903"), problem
        if "/.github/workflows/" in f"/{rel}":
            workflows += 1
            found += len(result.objects)
    assert workflows > 100 and found > 100
