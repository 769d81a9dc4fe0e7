"""SARIF as GitHub code scanning reads it, asserted on logs written by real end-to-end runs.

For every rule: shortDescription, fullDescription, help.text, help.markdown, helpUri, tags,
`security-severity` as a string, precision. For every result: a one-line region on a line the
change added, `partialFingerprints["nhiGate/v1"]`, a logical location for the identity, a
relative percent-encoded URI; plus `automationDetails.id`, deterministic ordering, suppressions
for suppressed findings, parse failures as `toolExecutionNotifications`, and fingerprints that
survive unrelated lines inserted above the finding. Every log is validated against the official
SARIF 2.1.0 schema.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from conftest import COPILOT, HUMAN, GitRepo

from checker.cli import main

SCHEMA = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "sarif-schema-2.1.0.json"

AGENT_TF = """\
resource "google_service_account" "deployer" {
  account_id = "ci-deployer"
}

resource "google_service_account_key" "deployer" {
  service_account_id = google_service_account.deployer.name
}

# nhi-gate: owner=team-ops ticket=OPS-9
resource "google_project_iam_member" "owner" {
  project = "p"
  role    = "roles/owner"
  member  = "serviceAccount:ci@p.iam.gserviceaccount.com"
}
"""

K8S = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: builder
  namespace: ci
  labels:
    ticket: OPS-44
"""

SUPPRESSED_TF = """\
# nhi-gate: owner=team-ops ticket=OPS-10
resource "aws_iam_role_policy_attachment" "admin" {
  role       = "ci"
  # nhi-gate:ignore NHI301 break-glass role, approved in SEC-12
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
"""


def validate(path: Path) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if not SCHEMA.is_file():
        pytest.skip(f"SARIF schema not found at {SCHEMA} (../shared is absent)")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls(schema, format_checker=cls.FORMAT_CHECKER).validate(log)
    return log


def agent_change(repo: GitRepo) -> tuple[str, str]:
    """Base (a human): README and a suppressed admin attachment. Head: an agent commit adding
    identities in files whose names need percent-encoding, an unparseable file, and a change
    to the suppressed attachment."""
    base = repo.commit({"README.md": "hi\n", "infra/admin.tf": SUPPRESSED_TF}, author=HUMAN)
    repo.checkout("copilot/add-sa", create=True)
    head = repo.commit(
        {
            "infra/prod/iam svc.tf": AGENT_TF,
            "k8s/sä.yaml": K8S,
            "infra/admin.tf": SUPPRESSED_TF.replace('"ci"', '"ci-admin"'),
            "infra/broken.tf": 'resource "aws_iam_user" "x" {\n',
        },
        author=COPILOT,
        message="Add deployer",
    )
    return base, head


def run_sarif(repo: GitRepo, base: str, head: str, out: Path,
              capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main(["check", "--repo", str(repo.path), "--base", base, "--head", head,
                 "--format", "sarif", "--output", str(out), "--github-repo", "o/r"])
    capsys.readouterr()
    return code, validate(out)


@pytest.fixture
def sarif_log(make_repo: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
              monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    repo = make_repo()
    base, head = agent_change(repo)
    code, log = run_sarif(repo, base, head, tmp_path / "a.sarif", capsys)
    assert code == 1
    return log


def test_every_rule_has_github_fields(sarif_log: dict[str, Any]) -> None:
    rules = sarif_log["runs"][0]["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert {"NHI101", "NHI105", "NHI201", "NHI301", "NHI901"} <= set(ids)
    for rule in rules:
        rid = rule["id"]
        assert "name" in rule and "precision" in rule.get("properties", {}), (
            f"{rid} has no documentation in rules/docs/*.yaml (SARIF got a placeholder)"
        )
        assert re.fullmatch(r"[a-z][a-z0-9-]+", rule["name"]), rid
        for key in ("shortDescription", "fullDescription"):
            assert 0 < len(rule[key]["text"]) <= 1024, (rid, key)
        assert rule["help"]["text"].strip(), rid
        assert "## How to fix" in rule["help"]["markdown"], rid
        assert "How to fix" in rule["help"]["text"] and "##" not in rule["help"]["text"], rid
        assert rule["helpUri"].endswith(f"docs/rules.md#{rid.lower()}"), rid
        props = rule["properties"]
        assert "security" in props["tags"] and "nhi" in props["tags"], rid
        assert len(props["tags"]) <= 20, rid
        severity = props["security-severity"]
        assert isinstance(severity, str) and 0.0 < float(severity) <= 10.0, rid
        assert props["precision"] in ("very-high", "high", "medium", "low"), rid
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note"), rid


def test_every_result_has_github_fields(sarif_log: dict[str, Any]) -> None:
    run = sarif_log["runs"][0]
    assert sarif_log["version"] == "2.1.0"
    assert run["automationDetails"]["id"] == "nhi-gate/"
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    seen = {r["ruleId"] for r in results}
    assert {"NHI101", "NHI201", "NHI202", "NHI301", "NHI901"} <= seen
    added = {  # every line of every file the agent commit added
        "infra/prod/iam svc.tf": AGENT_TF.count("\n"),
        "k8s/sä.yaml": K8S.count("\n"),
        "infra/admin.tf": 3,  # the only line the agent changed
        "infra/broken.tf": 1,
    }
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note")
        assert result["message"]["text"]
        assert len(result["locations"]) == 1
        phys = result["locations"][0]["physicalLocation"]
        uri = phys["artifactLocation"]["uri"]
        assert "uriBaseId" not in phys["artifactLocation"]
        assert not uri.startswith(("/", "file:")) and " " not in uri and uri.isascii(), uri
        path = unquote(uri)
        assert path in added, uri
        region = phys["region"]
        assert region["startLine"] == region["endLine"], result["ruleId"]
        if path == "infra/admin.tf":
            assert region["startLine"] == added[path], result
        else:
            assert 1 <= region["startLine"] <= added[path], (path, region)
        fp = result["partialFingerprints"]
        assert re.fullmatch(r"[0-9a-f]{32}", fp["nhiGate/v1"])
        assert "primaryLocationLineHash" not in fp  # left to upload-sarif
        if not result["ruleId"].startswith("NHI9"):
            logical = result["locations"][0]["logicalLocations"][0]
            assert logical["fullyQualifiedName"] and logical["kind"] == "resource"
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert "infra/prod/iam%20svc.tf" in uris and "k8s/s%C3%A4.yaml" in uris
    keys = [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"], r["ruleId"])
            for r in results]
    assert keys == sorted(keys, key=lambda k: (unquote(k[0]), k[1], k[2]))


def test_suppressed_and_unparseable(sarif_log: dict[str, Any]) -> None:
    run = sarif_log["runs"][0]
    admin = [r for r in run["results"] if r["ruleId"] == "NHI301"
             and "admin.tf" in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]]
    assert len(admin) == 1
    assert admin[0]["suppressions"] == [{
        "kind": "inSource", "status": "accepted",
        "justification": "break-glass role, approved in SEC-12",
    }]
    assert admin[0]["properties"]["blocking"] is False
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [(n["descriptor"]["id"], n["locations"][0]["physicalLocation"]["artifactLocation"]
             ["uri"]) for n in notes] == [("NHI901", "infra/broken.tf")]


def test_output_is_deterministic(make_repo: Any, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo()
    base, head = agent_change(repo)
    run_sarif(repo, base, head, tmp_path / "1.sarif", capsys)
    run_sarif(repo, base, head, tmp_path / "2.sarif", capsys)
    assert (tmp_path / "1.sarif").read_bytes() == (tmp_path / "2.sarif").read_bytes()


def _by_identity(log: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    out = {}
    for r in log["runs"][0]["results"]:
        loc = r["locations"][0]
        name = loc.get("logicalLocations", [{}])[0].get("fullyQualifiedName", "")
        out[(r["ruleId"], loc["physicalLocation"]["artifactLocation"]["uri"], name)] = (
            r["partialFingerprints"]["nhiGate/v1"]
        )
    return out


def test_fingerprints_survive_lines_inserted_above(
    make_repo: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    base, head = agent_change(repo)
    pad = "".join(f"# unrelated line {i}\n" for i in range(7))
    moved = repo.commit({"infra/prod/iam svc.tf": pad + AGENT_TF}, author=HUMAN,
                        message="comments")
    _, log1 = run_sarif(repo, base, head, tmp_path / "1.sarif", capsys)
    _, log2 = run_sarif(repo, base, moved, tmp_path / "2.sarif", capsys)
    fps1, fps2 = _by_identity(log1), _by_identity(log2)
    assert fps1 == fps2 and len(fps1) >= 6
    lines1 = {r["ruleId"]: r["locations"][0]["physicalLocation"]["region"]["startLine"]
              for r in log1["runs"][0]["results"] if "iam%20svc" in str(r["locations"])}
    lines2 = {r["ruleId"]: r["locations"][0]["physicalLocation"]["region"]["startLine"]
              for r in log2["runs"][0]["results"] if "iam%20svc" in str(r["locations"])}
    assert lines1 and all(lines2[k] == lines1[k] + 7 for k in lines1)
