"""GitLab CI parser: id_tokens, secrets, CI_JOB_TOKEN, environments, protected refs, includes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checker.cli import main
from checker.model import Grant, SourceFile
from checker.parsers import gitlab_ci
from checker.pipeline import parse_sources
from checker.policy.catalogue import load_catalogue
from checker.policy.config import Config

PIPELINE = """\
stages: [build, deploy]
variables:
  IMAGE: registry.example.com/app
include:
  - local: ci/deploy.yml
  - remote: https://example.com/ci.yml
# nhi-gate: owner=team-ci
.vault:
  id_tokens:
    VAULT_ID_TOKEN:
      aud: https://vault.example.com
deploy:
  stage: deploy
  environment:
    name: production
  id_tokens:
    AWS_TOKEN:
      aud: [sts.amazonaws.com, https://gitlab.example.com]
  secrets:
    DB_PASSWORD:
      vault: production/db/password@ops
      token: $AWS_TOKEN
    GCP_KEY:
      gcp_secret_manager:
        name: deploy-key
  script:
    - ./deploy.sh
publish:
  rules:
    - if: $CI_COMMIT_TAG
  script:
    - >
      curl --header "JOB-TOKEN: $CI_JOB_TOKEN"
      https://gitlab.example.com/api/v4/projects/1/packages
"""


def _parse(text: str, path: str = ".gitlab-ci.yml") -> list[object]:
    return list(gitlab_ci.parse(SourceFile(path, text.encode()), load_catalogue()).objects)


def test_objects_shapes() -> None:
    result = gitlab_ci.parse(SourceFile(".gitlab-ci.yml", PIPELINE.encode()), load_catalogue())
    assert result.problems == ()
    got = [(o.type, o.kind, o.platform, o.address, o.location.start_line, o.environment)
           for o in result.objects]
    assert got == [
        ("id_token", "oidc_trust", "gitlab", ".gitlab-ci.yml#.vault.id_tokens.VAULT_ID_TOKEN",
         10, None),
        ("id_token", "oidc_trust", "gitlab", ".gitlab-ci.yml#deploy.id_tokens.AWS_TOKEN", 17,
         "production"),
        ("job_secrets", "ci_credential", "vault", ".gitlab-ci.yml#deploy.secrets.DB_PASSWORD",
         20, "production"),
        ("job_secrets", "ci_credential", "gcp", ".gitlab-ci.yml#deploy.secrets.GCP_KEY", 23,
         "production"),
        ("ci_job_token", "ci_credential", "gitlab", ".gitlab-ci.yml#publish.CI_JOB_TOKEN", 33,
         None),
    ]
    template, aws, vault, gcp, job_token = result.objects
    assert template.attribute_lines["template"] == 8
    assert template.metadata == {"owner": "team-ci"}
    assert aws.privileges == (Grant("id_token", "sts.amazonaws.com", line=18),
                              Grant("id_token", "https://gitlab.example.com", line=18))
    assert aws.attribute_lines["environment"] == 14
    assert vault.references == ("production/db/password@ops",)
    assert vault.attribute_lines["token"] == 22
    assert gcp.references == ("deploy-key",)
    assert job_token.attribute_lines["protected_ref"] == 30


def test_id_token_without_aud_is_a_wildcard_audience() -> None:
    (obj,) = _parse("job:\n  id_tokens:\n    TOKEN: {}\n  script: [x]\n")
    assert obj.privileges == (Grant("id_token", "*", line=3),)  # type: ignore[attr-defined]


def test_only_main_counts_as_protected() -> None:
    text = "job:\n  only: [main, tags]\n  secrets:\n    X:\n      vault: a/b@c\n"
    (obj,) = _parse(text)
    assert obj.attribute_lines["protected_ref"] == 2  # type: ignore[attr-defined]
    text = "job:\n  only: [feature]\n  secrets:\n    X:\n      vault: a/b@c\n"
    (obj,) = _parse(text)
    assert "protected_ref" not in obj.attribute_lines  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("raw", "rule"),
    [(b"job: [unclosed\n", "NHI901"), (b"\xff\xfd", "NHI902"),
     (b"job:\n  script: \x00\n", "NHI902")],
)
def test_bad_input_is_a_problem_not_a_traceback(raw: bytes, rule: str) -> None:
    result = gitlab_ci.parse(SourceFile(".gitlab-ci.yml", raw), load_catalogue())
    assert result.objects == ()
    assert [p.rule_id for p in result.problems] == [rule]
    assert ".gitlab-ci.yml" in result.problems[0].message


def test_non_mapping_document_gives_nothing() -> None:
    assert _parse("- a\n- b\n") == []
    assert _parse("") == []


def test_included_paths_resolve_against_the_including_file() -> None:
    sources = [
        SourceFile("app/.gitlab-ci.yml", PIPELINE.encode()),
        SourceFile("other.yml", b"include: ci/x.yml\n"),  # not a .gitlab-ci.yml: ignored
        SourceFile(".gitlab-ci.yml", b"include: /ci/root.yml\n"),
        SourceFile("bad/.gitlab-ci.yml", b"\xff"),
    ]
    assert gitlab_ci.included_paths(sources) == frozenset({"app/ci/deploy.yml", "ci/root.yml"})


def test_included_file_is_parsed_as_gitlab_ci() -> None:
    included = b"deploy:\n  id_tokens:\n    T:\n      aud: x\n  script: [./d.sh]\n"
    sources = [
        SourceFile(".gitlab-ci.yml", b"include:\n  - local: ci/deploy.yml\n"),
        SourceFile("ci/deploy.yml", included),
        SourceFile("ci/unrelated.yml", included),
    ]
    parsed = parse_sources(sources, load_catalogue(), Config())
    addresses = sorted(o.address for o in parsed.objects if o.derived_from is None)
    assert addresses == ["ci/deploy.yml#deploy.id_tokens.T"]


def test_scan_directory_with_include(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / ".gitlab-ci.yml").write_text("include:\n  - local: ci/deploy.yml\n",
                                             encoding="utf-8")
    (tmp_path / "ci" / "deploy.yml").write_text(
        "deploy:\n  id_tokens:\n    T:\n      aud: x\n  script: [./d.sh]\n", encoding="utf-8")
    code = main(["inventory", str(tmp_path), "--format", "json"])
    items = json.loads(capsys.readouterr().out)["identities"]
    assert code == 0
    assert [(i["type"], i["path"], i["start_line"]) for i in items] == [
        ("id_token", "ci/deploy.yml", 3)]


CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


@pytest.mark.parametrize(("path", "fmt"), [
    ("lib/gitlab/ci/templates/Cosign.gitlab-ci.yml", "gitlab_ci"),
    ("templates/deploy.gitlab-ci.yaml", "gitlab_ci"),
    (".gitlab-ci.yml", "gitlab_ci"),
    ("docs/gitlab-ci.yml", None),  # no leading dot and no template prefix: not a CI file
])
def test_gitlab_templates_are_classified_as_gitlab_ci(path: str, fmt: str | None) -> None:
    from checker.sources.discovery import classify

    assert classify(path, b"build:\n  script: [make]\n") == fmt


def test_cosign_template_from_the_corpus_is_read(capsys: pytest.CaptureFixture[str]) -> None:
    template = CORPUS / "gitlab-ci/gitlabhq__gitlabhq/lib/gitlab/ci/templates/Cosign.gitlab-ci.yml"
    if not template.is_file():
        pytest.skip(f"corpus not found at {CORPUS} (GitLab's Cosign template)")
    code = main(["inventory", str(template), "--format", "json"])
    items = json.loads(capsys.readouterr().out)["identities"]
    assert code == 0
    assert [(i["type"], i["start_line"]) for i in items] == [("id_token", 17)]
    assert items[0]["path"].endswith("Cosign.gitlab-ci.yml")
