"""Reporters: SARIF (schema-valid, GitHub fields), text, JSON contract, GitHub annotations/summary.

Verdicts are built by hand so each test asserts real values, not just "something was printed".
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sarif_om as om

from checker.fingerprint import fingerprint
from checker.model import Finding, Location, ParseProblem, Verdict
from checker.policy.rule_docs import RuleDoc, load_rule_docs
from checker.reporters import RunInfo, github, json_report, sarif, text

SCHEMA_PATH = Path(__file__).resolve().parents[1].parent / "shared/schemas/sarif-schema-2.1.0.json"
RUN = RunInfo(tool_version="0.1.0", mode="check", base="main", head="bot/iam", fail_on="error")
SPACE_PATH = "infra/a b/über.tf"


def _fp(rule: str, path: str, address: str | None, attribute: str | None = None) -> str:
    return fingerprint(rule, path, address, attribute)


AGENT = Finding(
    rule_id="NHI101",
    level="error",
    message="aws_iam_user.deploy was created by an agent without a human's approval",
    location=Location(SPACE_PATH, 12, 15),
    address="aws_iam_user.deploy",
    kind="user",
    platform="aws",
    actor_kind="agent",
    commit="0123456789abcdef0123456789abcdef01234567",
    agent="claude-code",
    blocking=True,
    fingerprint=_fp("NHI101", SPACE_PATH, "aws_iam_user.deploy"),
)
OWNER = Finding(
    rule_id="NHI201",
    level="error",
    message="aws_iam_user.deploy has no owner",
    location=Location(SPACE_PATH, 12, 15),
    address="aws_iam_user.deploy",
    attribute="tags",
    kind="user",
    platform="aws",
    actor_kind="agent",
    commit="0123456789abcdef0123456789abcdef01234567",
    blocking=True,
    fingerprint=_fp("NHI201", SPACE_PATH, "aws_iam_user.deploy", "tags"),
)
EXPIRY = Finding(
    rule_id="NHI203",
    level="warning",
    message="aws_iam_access_key.ci has no expiry",
    location=Location("infra/keys.tf", 3, 5),
    address="aws_iam_access_key.ci",
    kind="access_key",
    platform="aws",
    actor_kind="human",
    commit="fedcba9876543210fedcba9876543210fedcba98",
    fingerprint=_fp("NHI203", "infra/keys.tf", "aws_iam_access_key.ci"),
)
APPROVED = Finding(
    rule_id="NHI301",
    level="error",
    message="ClusterRoleBinding/deployer-admin binds cluster-admin",
    location=Location("k8s/rbac.yaml", 7, 7),
    address="ClusterRoleBinding/deployer-admin",
    attribute="roleRef",
    kind="role_binding",
    platform="kubernetes",
    actor_kind="agent",
    commit="0123456789abcdef0123456789abcdef01234567",
    approved=True,
    fingerprint=_fp("NHI301", "k8s/rbac.yaml", "ClusterRoleBinding/deployer-admin", "roleRef"),
)
BINARY = ParseProblem("k8s/blob.yaml", "NHI902", "k8s/blob.yaml: binary content (NUL byte)")
BROKEN = ParseProblem("envs/prod/main.tf", "NHI901", "envs/prod/main.tf: unexpected end of file", 9)
BINARY_FINDING = Finding(
    rule_id="NHI902",
    level="error",
    message=BINARY.message,
    location=Location(BINARY.path, 1, 1),
    blocking=True,
    fingerprint=_fp("NHI902", BINARY.path, None),
)
VERDICT = Verdict(
    passed=False,
    findings=(AGENT, OWNER, EXPIRY, APPROVED, BINARY_FINDING),
    reason="agent-introduced identities need human approval",
    problems=(BINARY, BROKEN),
)


@pytest.fixture(scope="module")
def docs() -> Any:
    return load_rule_docs()


@pytest.fixture(scope="module")
def validator() -> Any:
    if not SCHEMA_PATH.is_file():
        pytest.skip(f"SARIF schema not found at {SCHEMA_PATH}")
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)  # the file declares draft-04
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _sarif(verdict: Verdict, docs: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(sarif.render(verdict, docs, RUN))
    return data


def _results(log: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = log["runs"][0]["results"]
    return results


# --- SARIF -------------------------------------------------------------------------------------


def test_sarif_validates_against_official_schema(docs: Any, validator: Any) -> None:
    errors = sorted(validator.iter_errors(_sarif(VERDICT, docs)), key=str)
    assert errors == []
    assert type(validator).__name__ == "Draft4Validator"


def test_sarif_empty_and_undocumented_rule_still_validate(docs: Any, validator: Any) -> None:
    empty = _sarif(Verdict(True, (), "no identity findings"), docs)
    assert list(validator.iter_errors(empty)) == []
    assert _results(empty) == []
    assert "toolExecutionNotifications" not in empty["runs"][0]["invocations"][0]

    odd = replace(EXPIRY, rule_id="NHI499", level="note")
    log = _sarif(Verdict(True, (odd,), "fine"), {})
    assert list(validator.iter_errors(log)) == []
    (rule,) = log["runs"][0]["tool"]["driver"]["rules"]
    assert rule["id"] == "NHI499"
    assert rule["helpUri"].endswith("docs/rules.md#nhi499")
    assert _results(log)[0]["level"] == "note"


def test_sarif_top_level(docs: Any) -> None:
    log = _sarif(VERDICT, docs)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert run["automationDetails"] == {"id": "nhi-gate/"}
    driver = run["tool"]["driver"]
    assert driver["name"] == "nhi-gate"
    assert driver["semanticVersion"] == "0.1.0"
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert invocation["properties"] == {
        "mode": "check",
        "base": "main",
        "head": "bot/iam",
        "fail_on": "error",
    }
    assert "originalUriBaseIds" not in run


def test_sarif_rules_carry_github_fields(docs: Any) -> None:
    rules = _sarif(VERDICT, docs)["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(docs)
    by_id = {r["id"]: r for r in rules}
    nhi203 = by_id["NHI203"]
    assert nhi203["name"] == "missing-or-past-expiry"
    assert nhi203["defaultConfiguration"] == {"level": "warning"}  # kept although the default
    assert nhi203["properties"]["security-severity"] == "5.0"
    assert by_id["NHI101"]["properties"]["security-severity"] == "8.8"
    assert by_id["NHI301"]["properties"]["precision"] == "high"
    for rule in rules:
        props = rule["properties"]
        assert isinstance(props["security-severity"], str)
        assert 0.0 < float(props["security-severity"]) <= 10.0
        assert {"security", "nhi"} <= set(props["tags"])
        assert rule["shortDescription"]["text"] and len(rule["shortDescription"]["text"]) <= 1024
        assert rule["fullDescription"]["text"] and len(rule["fullDescription"]["text"]) <= 1024
        assert rule["help"]["markdown"].startswith("## What it flags\n")
        assert rule["help"]["text"].startswith("What it flags\n")
        assert rule["helpUri"] == (
            f"https://github.com/nhi-gate/nhi-gate/blob/main/docs/rules.md#{rule['id'].lower()}"
        )


def test_sarif_results(docs: Any) -> None:
    log = _sarif(VERDICT, docs)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    results = _results(log)
    order = [
        (
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["ruleId"],
        )
        for r in results
    ]
    assert order == [
        ("infra/a%20b/%C3%BCber.tf", 12, "NHI101"),
        ("infra/a%20b/%C3%BCber.tf", 12, "NHI201"),
        ("infra/keys.tf", 3, "NHI203"),
        ("k8s/blob.yaml", 1, "NHI902"),
        ("k8s/rbac.yaml", 7, "NHI301"),
    ]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert "uriBaseId" not in physical["artifactLocation"]
        assert physical["region"]["endLine"] == physical["region"]["startLine"]
        assert set(result["partialFingerprints"]) == {"nhiGate/v1"}
        assert len(result["partialFingerprints"]["nhiGate/v1"]) == 32

    agent, owner, expiry, binary, approved = results
    assert agent["level"] == "error"
    assert agent["message"]["text"] == AGENT.message
    assert agent["partialFingerprints"]["nhiGate/v1"] == AGENT.fingerprint
    assert agent["locations"][0]["logicalLocations"] == [
        {"fullyQualifiedName": "aws_iam_user.deploy", "kind": "resource"}
    ]
    assert agent["properties"] == {
        "actor_kind": "agent",
        "agent": "claude-code",
        "blocking": True,
        "commit": AGENT.commit,
        "kind": "user",
        "platform": "aws",
    }
    assert expiry["level"] == "warning"  # explicit, not elided as sarif-om's default
    assert binary["properties"] == {"blocking": True}  # None values omitted
    assert "logicalLocations" not in binary["locations"][0]
    assert approved["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "Approved by a human reviewer under the nhi-gate approval policy.",
        }
    ]
    for result in (agent, owner, expiry, binary):
        assert "suppressions" not in result


def test_sarif_raw_text_details(docs: Any) -> None:
    raw = sarif.render(VERDICT, docs, RUN)
    assert raw.endswith("}\n")
    assert '"level": "warning"' in raw
    assert '"security-severity": "8.8"' in raw
    assert "primaryLocationLineHash" not in raw
    assert "Time" not in raw  # no startTimeUtc / endTimeUtc / timeUtc: no clocks in output
    assert '"uri": "infra/a%20b/%C3%BCber.tf"' in raw
    assert raw.isascii()  # safe on any console encoding; non-ASCII text is \\u-escaped


def test_sarif_notifications_one_per_problem(docs: Any) -> None:
    run = _sarif(VERDICT, docs)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["descriptor"] for n in notes] == [{"id": "NHI901"}, {"id": "NHI902"}]
    first = notes[0]
    assert first["level"] == "error"
    assert first["message"]["text"] == BROKEN.message
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "envs/prod/main.tf"},
        "region": {"startLine": 9, "endLine": 9},
    }
    for note in notes:
        assert rules[note["associatedRule"]["index"]]["id"] == note["associatedRule"]["id"]
    # the engine's NHI902 finding is a result; the unmirrored NHI901 problem is not made one
    assert [r["ruleId"] for r in run["results"]].count("NHI901") == 0


def test_sarif_deterministic_under_shuffle(docs: Any) -> None:
    first = sarif.render(VERDICT, docs, RUN)
    rng = random.Random(7)
    for _ in range(5):
        findings = list(VERDICT.findings)
        problems = list(VERDICT.problems)
        rng.shuffle(findings)
        rng.shuffle(problems)
        shuffled = replace(VERDICT, findings=tuple(findings), problems=tuple(problems))
        assert sarif.render(shuffled, docs, RUN) == first
        assert json_report.render(shuffled, RUN) == json_report.render(VERDICT, RUN)
        assert text.render(shuffled, docs, RUN, color=False) == text.render(
            VERDICT, docs, RUN, color=False
        )
        assert github.render_annotations(shuffled) == github.render_annotations(VERDICT)
        assert github.render_summary(shuffled, docs, RUN) == github.render_summary(
            VERDICT, docs, RUN
        )


def test_serialiser_keeps_explicit_defaults_and_renames_suppression_state() -> None:
    result = om.Result(message=om.Message(text="m"), level="warning", rule_index=0)
    assert sarif._to_json(result) == {"message": {"text": "m"}, "level": "warning", "ruleIndex": 0}
    suppression = om.Suppression(kind="external", state="accepted")
    assert sarif._to_json(suppression) == {"kind": "external", "status": "accepted"}
    region = om.Region(start_line=3)
    assert sarif._to_json(region) == {"startLine": 3}  # byteOffset/charOffset -1 defaults gone
    with pytest.raises(TypeError):
        sarif._to_json(Path("x"))


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("infra/iam.tf", "infra/iam.tf"),
        ("infra/a b/über.tf", "infra/a%20b/%C3%BCber.tf"),
        ("./k8s/50%.yaml", "k8s/50%25.yaml"),
        ("ci/#1?.yml", "ci/%231%3F.yml"),
    ],
)
def test_artifact_uri(path: str, uri: str) -> None:
    assert sarif.artifact_uri(path) == uri


# --- text --------------------------------------------------------------------------------------


def test_text_report_lines(docs: Any) -> None:
    out = text.render(VERDICT, docs, RUN, color=False)
    lines = out.splitlines()
    assert "\x1b" not in out
    files = [line for line in lines if line and not line.startswith(" ")][:-2]
    assert files == [
        "envs/prod/main.tf",
        SPACE_PATH,
        "infra/keys.tf",
        "k8s/blob.yaml",
        "k8s/rbac.yaml",
    ]
    at = lines.index(SPACE_PATH)
    assert lines[at + 1] == "  L12  NHI101  error  BLOCKING  aws_iam_user.deploy"
    assert lines[at + 2] == f"       {AGENT.message}"
    assert lines[at + 3] == "       by: agent (claude-code) in 0123456789ab"
    assert lines[at + 4] == f"       why: {docs['NHI101'].short}"
    assert lines[at + 5] == f"       fix: {docs['NHI101'].fix}"
    assert docs["NHI101"].fix.startswith("Ask a human who did not author the change")
    assert "  L3  NHI203  warning  non-blocking  aws_iam_access_key.ci" in lines
    assert "  L7  NHI301  error  approved  ClusterRoleBinding/deployer-admin" in lines
    assert "  L9  NHI901  error  NOT-ANALYSED" in lines
    assert f"       {BROKEN.message}" in lines
    # the NHI902 problem is shown once, as the engine's finding
    assert sum("NHI902" in line for line in lines) == 1
    assert lines[-2] == (
        "5 findings: 4 error, 1 warning, 0 note; 3 blocking, 1 approved; "
        "2 files not analysed (fail-on: error)"
    )
    assert lines[-1] == (
        "nhi-gate: FAIL — 3 blocking findings (agent-introduced identities need human approval)"
    )
    assert out.endswith("\n")


def test_text_colour_and_pass(docs: Any) -> None:
    coloured = text.render(VERDICT, docs, RUN, color=True)
    assert "\x1b[1;31mBLOCKING\x1b[0m" in coloured
    passed = Verdict(True, (replace(EXPIRY, blocking=False),), "1 finding(s), none blocking")
    out = text.render(passed, docs, RUN, color=False)
    assert (
        out.splitlines()[-1] == "nhi-gate: PASS — 0 blocking findings (1 finding(s), none blocking)"
    )
    empty = text.render(Verdict(True, (), ""), docs, RUN, color=False)
    assert empty.splitlines() == [
        "No identity findings.",
        "",
        "0 findings: 0 error, 0 warning, 0 note; 0 blocking, 0 approved (fail-on: error)",
        "nhi-gate: PASS — 0 blocking findings",
    ]


def test_text_neutralises_terminal_escapes(docs: Any) -> None:
    evil = replace(
        EXPIRY,
        message="key\x1b[2J cleared\nfake line",
        address="aws_iam_access_key.\u202eci",
    )
    out = text.render(Verdict(True, (evil,), ""), docs, RUN, color=False)
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "key\\x1b[2J cleared\\x0afake line" in out
    assert "aws_iam_access_key.\\u202eci" in out


# --- JSON --------------------------------------------------------------------------------------

FINDING_KEYS = [
    "rule_id",
    "level",
    "path",
    "start_line",
    "end_line",
    "address",
    "attribute",
    "kind",
    "platform",
    "blocking",
    "approved",
    "actor_kind",
    "commit",
    "agent",
    "message",
    "fingerprint",
]


def test_json_contract() -> None:
    raw = json_report.render(VERDICT, RUN)
    assert raw.startswith('{\n  "verdict": "fail",')
    assert raw.isascii() and "\\u00fc" in raw
    data = json.loads(raw)
    assert list(data) == ["verdict", "reason", "findings", "problems", "run"]
    assert data["reason"] == VERDICT.reason
    assert [f["rule_id"] for f in data["findings"]] == [
        "NHI101",
        "NHI201",
        "NHI203",
        "NHI902",
        "NHI301",
    ]
    for item in data["findings"]:
        assert list(item) == FINDING_KEYS
        assert item["level"] in ("error", "warning", "note")
        assert isinstance(item["blocking"], bool) and isinstance(item["approved"], bool)
    assert data["findings"][0] == {
        "rule_id": "NHI101",
        "level": "error",
        "path": SPACE_PATH,
        "start_line": 12,
        "end_line": 15,
        "address": "aws_iam_user.deploy",
        "attribute": None,
        "kind": "user",
        "platform": "aws",
        "blocking": True,
        "approved": False,
        "actor_kind": "agent",
        "commit": AGENT.commit,
        "agent": "claude-code",
        "message": AGENT.message,
        "fingerprint": AGENT.fingerprint,
    }
    assert data["findings"][4]["approved"] is True
    assert data["problems"] == [
        {
            "rule_id": "NHI901",
            "level": "error",
            "path": "envs/prod/main.tf",
            "line": 9,
            "message": BROKEN.message,
        },
        {
            "rule_id": "NHI902",
            "level": "error",
            "path": "k8s/blob.yaml",
            "line": 1,
            "message": BINARY.message,
        },
    ]
    assert data["run"] == {
        "tool_version": "0.1.0",
        "mode": "check",
        "base": "main",
        "head": "bot/iam",
        "fail_on": "error",
    }
    assert json.loads(json_report.render(Verdict(True, (), "ok"), RUN))["verdict"] == "pass"


# --- GitHub ------------------------------------------------------------------------------------


def test_workflow_command_escaping() -> None:
    assert github.escape_data("a,b:c%\r\nd") == "a,b:c%25%0D%0Ad"
    assert github.escape_property("a,b:c%\r\nd") == "a%2Cb%3Ac%25%0D%0Ad"


def test_annotations(docs: Any) -> None:
    lines = github.render_annotations(VERDICT).splitlines()
    assert lines[0] == (
        "::error file=infra/a b/über.tf,line=12,endLine=12,title=NHI101%3A aws_iam_user.deploy"
        f"::{AGENT.message} [blocking: needs approval from a human who is not an author of the "
        "change]"
    )
    assert not any("NHI301" in line for line in lines)  # approved: not annotated
    assert (
        "::error file=envs/prod/main.tf,line=9,endLine=9,title=NHI901::" + BROKEN.message in lines
    )
    assert any(line.startswith("::warning file=infra/keys.tf,line=3,") for line in lines)
    assert github.render_annotations(Verdict(True, (), "")) == ""


def test_annotation_injection_is_escaped() -> None:
    evil = replace(
        EXPIRY,
        location=Location("x,y:z%.tf", 2, 2),
        address="a,b:c",
        message="line one\n::error::forged\r\n100%",
    )
    out = github.render_annotations(Verdict(True, (evil,), ""))
    assert out.count("\n") == 1
    assert out == (
        "::warning file=x%2Cy%3Az%25.tf,line=2,endLine=2,title=NHI203%3A a%2Cb%3Ac"
        "::line one%0A::error::forged%0D%0A100%25\n"
    )


def test_annotations_capped_per_level() -> None:
    errors = [
        replace(AGENT, location=Location(f"f{i:02}.tf", 1, 1), blocking=i % 2 == 0)
        for i in range(25)
    ]
    warnings = [replace(EXPIRY, location=Location(f"w{i:02}.tf", 1, 1)) for i in range(12)]
    notes = [replace(EXPIRY, level="note", location=Location(f"n{i}.tf", 1, 1)) for i in range(3)]
    verdict = Verdict(False, (*errors, *warnings, *notes, APPROVED), "")
    lines = github.render_annotations(verdict).splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 10
    assert sum(line.startswith("::warning ") for line in lines) == 10
    assert sum(line.startswith("::notice ") for line in lines) == 3
    # blocking first: the 10 shown errors are the 13 blocking ones' first 10, in file order
    shown = [line.split(",")[0] for line in lines if line.startswith("::error ")]
    assert shown == [f"::error file=f{i:02}.tf" for i in range(0, 20, 2)]
    assert lines[-1] == (
        "::notice::nhi-gate: 17 more findings not shown as annotations (GitHub shows at most 10 "
        "per level per step); see the job summary or the SARIF report"
    )


def test_summary(docs: Any) -> None:
    out = github.render_summary(VERDICT, docs, RUN)
    assert out.startswith("## nhi-gate: ❌ FAIL\n\n**3 blocking findings** — ")
    assert "| Location | Rule | Identity | Actor | Who must approve |" in out
    assert (
        "| `infra/a b/über.tf:12` | [NHI101](https://github.com/nhi-gate/nhi-gate/blob/main/"
        "docs/rules.md#nhi101) agent-created-identity-without-approval | `aws_iam_user.deploy` | "
        "agent (claude-code) `0123456789ab` | a human reviewer who is not an author of the "
        "change, on the latest commit |"
    ) in out
    assert "### Files not analysed" in out
    assert "`envs/prod/main.tf:9`" in out
    assert "<details>" in out and "approved |" in out
    assert out.rstrip().endswith(
        "<sub>nhi-gate 0.1.0 · check · main..bot/iam · fail-on error</sub>"
    )
    assert "No identity or credential findings" in github.render_summary(
        Verdict(True, (), "no identity findings"), docs, RUN
    )


def test_summary_escapes_table_cells(docs: Any) -> None:
    evil = replace(AGENT, address="a|b`c", agent="<img src=x>", blocking=True)
    out = github.render_summary(Verdict(False, (evil,), "x|y"), docs, RUN)
    row = next(line for line in out.splitlines() if line.startswith("| `infra"))
    assert "| ``a\\|b`c`` |" in row
    assert "&lt;img src=x&gt;" in row and "<img" not in out
    assert row.count(" | ") == 4  # five cells, no stray separators


def test_summary_is_capped(docs: Any) -> None:
    many = [
        replace(AGENT, location=Location(f"m/{i:05}.tf", 1, 1), address="x" * 5000)
        for i in range(3000)
    ]
    out = github.render_summary(Verdict(False, tuple(many), "many"), docs, RUN)
    assert len(out.encode("utf-8")) < github.MAX_SUMMARY_BYTES < 1024 * 1024
    assert "…and 2950 blocking findings more" in out
    long_row = next(line for line in out.splitlines() if line.startswith("| `m/00000"))
    assert len(long_row) < 2 * github.MAX_CELL + 400


def test_summary_hard_cap() -> None:
    text_in = "| row |\n" * 100_000
    capped = github._cap(text_in)
    assert len(capped.encode("utf-8")) <= github.MAX_SUMMARY_BYTES
    assert capped.endswith("…summary truncated; see the SARIF or JSON report.\n")


def test_docs_type_is_ruledoc(docs: Any) -> None:
    assert all(isinstance(d, RuleDoc) for d in docs.values())
