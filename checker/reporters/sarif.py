"""SARIF 2.1.0 for GitHub code scanning, built with sarif-om and serialised by a small walker.

Sources: the OASIS SARIF 2.1.0 schema (`../shared/schemas/sarif-schema-2.1.0.json`, draft-04;
every log we write validates against it in tests) and GitHub's "SARIF support for code
scanning" (what it reads: rule help, `security-severity` as a string, `partialFingerprints`,
`automationDetails.id`, `locations[0]` only, alerts shown only on added lines of the diff).

Shape of the log (one run):
- `tool.driver`: name `nhi-gate`, `semanticVersion`, `informationUri`, and `rules`: every
  documented rule in id order (so GitHub keeps full help for rules that have no result in this
  run), plus a minimal descriptor for any result rule id that has no doc.
- `results`, sorted by (path, line, rule): `ruleId`, `ruleIndex`, explicit `level`,
  `message.text`, one location with a relative percent-encoded `artifactLocation.uri` (no
  `uriBaseId`), a one-line `region`, a `logicalLocations` entry for the identity address,
  `relatedLocations` for the changed inputs it came through (`Finding.related`: a local's
  line, a var file, a kustomize `replacements` source), each `message` naming the input,
  `partialFingerprints` {`nhiGate/v1`: fingerprint} (no `primaryLocationLineHash`: upload-sarif
  computes that one from the checkout), `properties` {actor_kind, agent, blocking, commit, kind,
  platform, and in `check` the commit's evidence `strength` and `logs_url`}, and
  `suppressions` [{external, accepted}] when a human approved it, whose
  `justification` names the approver (`Finding.approved_by`); an inline `nhi-gate:ignore`
  gives kind `inSource` with the comment's reason, a baseline entry kind `external` naming the
  file (`checker.model.WaivedFinding.waiver`).
- Parse problems: a `toolExecutionNotification` each (level error, or its finding's level,
  the file and line, the NHI9xx or NHI107 id as `descriptor` and `associatedRule`). The
  engine also turns each problem into a finding, which becomes an ordinary result (unless
  config switched the rule off).
- `run.properties.commits` (`check`): every commit of the range with its actor kind, agent
  product, evidence and strength (`reporters.commit_dict`), so an agent commit with no
  finding is still in the log.
- `automationDetails.id` `nhi-gate/`, `invocations[0].executionSuccessful` true. No clocks.

Serialiser: sarif-om 1.0.4 ships attrs classes but no usable serialiser (jschema_to_python
drops fields equal to their defaults, losing `level: "warning"`, and is slow). `_to_json`
walks the attrs fields, drops None and default values except those listed in `_KEEP`, and
renames to the schema's camelCase names. sarif-om predates the final 2.1.0 schema in one place
we use: its `Suppression.state` is `status` in the standard, so `_RENAME` fixes the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import attr
import sarif_om as om

from checker.fingerprint import fingerprint
from checker.model import Finding, ParseProblem, Verdict
from checker.policy.rule_docs import RuleDoc, help_uri
from checker.reporters import RunInfo, commit_dict, sorted_findings, sorted_problems

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "nhi-gate"
INFORMATION_URI = "https://github.com/nhi-gate/nhi-gate"
AUTOMATION_ID = "nhi-gate/"
FINGERPRINT_KEY = "nhiGate/v1"
APPROVAL_JUSTIFICATION = "Approved by a human reviewer under the nhi-gate approval policy."

#: (class, attribute) pairs written even when equal to the attrs default.
_KEEP = frozenset(
    {
        (om.Result, "level"),
        (om.ReportingConfiguration, "level"),
        (om.Notification, "level"),
    }
)
#: (class, attribute) -> JSON key, where sarif-om's name differs from SARIF 2.1.0.
_RENAME: Mapping[tuple[type, str], str] = {(om.Suppression, "state"): "status"}


def _to_json(obj: object) -> object:
    """attrs objects -> dicts with schema keys; None and attrs defaults dropped (see `_KEEP`).

    Plain dicts (property bags, fingerprints) pass through with None values dropped; lists and
    tuples become lists; everything else must already be a JSON scalar.
    """
    cls = type(obj)
    if attr.has(cls):
        out: dict[str, object] = {}
        for field in attr.fields(cls):
            value = getattr(obj, field.name)
            if value is None:
                continue
            default = field.default
            if isinstance(default, attr.Factory):  # type: ignore[arg-type]
                default = default.factory()
            if default is not attr.NOTHING and value == default and (cls, field.name) not in _KEEP:
                continue
            key = _RENAME.get((cls, field.name)) or field.metadata.get(
                "schema_property_name", field.name
            )
            out[key] = _to_json(value)
        return out
    if isinstance(obj, dict):
        return {str(k): _to_json(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, (list, tuple)):
        return [_to_json(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"cannot serialise {cls.__name__} into SARIF")


def artifact_uri(path: str) -> str:
    """Repository-relative, `/`-separated, percent-encoded: `infra/a b.tf` -> `infra/a%20b.tf`.

    Non-ASCII is encoded as UTF-8 octets (RFC 3986). A leading `./` is dropped.
    """
    clean = path.replace("\\", "/")
    while clean.startswith("./"):
        clean = clean[2:]
    return quote(clean, safe="/")


def _descriptor(rule_id: str, doc: RuleDoc | None) -> Any:
    """A `reportingDescriptor` from a rule doc (or a placeholder when the rule is undocumented)."""
    if doc is None:
        text = f"{rule_id} has no documentation in rules/docs/*.yaml yet."
        return om.ReportingDescriptor(
            id=rule_id,
            short_description=om.MultiformatMessageString(text=text),
            full_description=om.MultiformatMessageString(text=text),
            help=om.MultiformatMessageString(text=text, markdown=text),
            help_uri=help_uri(rule_id),
            properties={"tags": ["security", "nhi"]},
        )
    return om.ReportingDescriptor(
        id=doc.id,
        name=doc.name,
        short_description=om.MultiformatMessageString(text=doc.short),
        full_description=om.MultiformatMessageString(text=doc.full),
        help=om.MultiformatMessageString(text=doc.help_text, markdown=doc.help_markdown),
        help_uri=doc.help_uri,
        default_configuration=om.ReportingConfiguration(level=doc.level),
        properties={
            "tags": list(doc.tags),
            "precision": doc.precision,
            "security-severity": doc.security_severity,
        },
    )


def _physical(path: str, line: int) -> Any:
    line = max(1, line)
    return om.PhysicalLocation(
        artifact_location=om.ArtifactLocation(uri=artifact_uri(path)),
        region=om.Region(start_line=line, end_line=line),
    )


def _result(finding: Finding, rule_index: int, run: RunInfo | None = None) -> Any:
    """One `result` for one finding (approved findings carry an accepted suppression)."""
    location = om.Location(
        physical_location=_physical(finding.location.path, finding.location.start_line)
    )
    if finding.address:
        location.logical_locations = [
            om.LogicalLocation(fully_qualified_name=finding.address, kind="resource")
        ]
    properties = {
        "actor_kind": finding.actor_kind,
        "agent": finding.agent,
        "blocking": finding.blocking,
        "commit": finding.commit,
        "kind": finding.kind,
        "platform": finding.platform,
    }
    listed = run.commit(finding.commit) if run is not None else None
    if listed is not None:  # None values are dropped: a scan's results are unchanged
        properties["strength"] = listed.strength
        properties["logs_url"] = listed.logs_url
    suppressions = None
    waiver = getattr(finding, "waiver", None)  # checker.model.WaivedFinding
    if finding.approved and waiver is not None:
        # an inline `nhi-gate:ignore` (kind inSource, the comment's reason) or a baseline
        suppressions = [
            om.Suppression(kind=waiver.kind, state="accepted", justification=waiver.justification)
        ]
    elif finding.approved:
        suppressions = [
            om.Suppression(
                kind="external",
                state="accepted",
                justification=(
                    f"Approved by {finding.approved_by}"
                    if finding.approved_by
                    else APPROVAL_JUSTIFICATION
                ),
            )
        ]
    related = [
        om.Location(id=index, physical_location=_physical(where.path, where.start_line),
                    message=om.Message(text=f"changed input: {name}"))
        for index, (name, where) in enumerate(finding.related)
    ] or None
    return om.Result(
        message=om.Message(text=finding.message),
        rule_id=finding.rule_id,
        rule_index=rule_index,
        level=finding.level,
        locations=[location],
        related_locations=related,
        partial_fingerprints={FINGERPRINT_KEY: finding.fingerprint or _fallback_fp(finding)},
        properties=properties,
        suppressions=suppressions,
    )


def _fallback_fp(finding: Finding) -> str:
    return fingerprint(finding.rule_id, finding.location.path, finding.address, finding.attribute)


def _notification(problem: ParseProblem, rule_index: int, level: str = "error") -> Any:
    return om.Notification(
        message=om.Message(text=problem.message),
        level=level,
        locations=[om.Location(physical_location=_physical(problem.path, problem.line))],
        descriptor=om.ReportingDescriptorReference(id=problem.rule_id),
        associated_rule=om.ReportingDescriptorReference(id=problem.rule_id, index=rule_index),
    )


def build(verdict: Verdict, docs: Mapping[str, RuleDoc], run: RunInfo) -> object:
    """The SARIF log as plain JSON data (dicts, lists, scalars), before encoding."""
    findings = sorted_findings(verdict.findings)
    problems = sorted_problems(verdict.problems)
    rule_ids = sorted(set(docs) | {f.rule_id for f in findings} | {p.rule_id for p in problems})
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    # A problem's finding may have a lower level (NHI107 is a note for a person's change).
    levels = {(f.rule_id, f.location.path, f.location.start_line): f.level for f in findings}
    driver = om.ToolComponent(
        name=TOOL_NAME,
        semantic_version=run.tool_version,
        information_uri=INFORMATION_URI,
        rules=[_descriptor(rule_id, docs.get(rule_id)) for rule_id in rule_ids],
    )
    invocation_properties = {
        "mode": run.mode,
        "base": run.base,
        "head": run.head,
        "fail_on": run.fail_on,
    }
    invocation = om.Invocation(
        execution_successful=True,
        tool_execution_notifications=[
            _notification(p, index[p.rule_id], levels.get((p.rule_id, p.path, p.line), "error"))
            for p in problems] or None,
        properties=invocation_properties,
    )
    log = om.SarifLog(
        schema_uri=SCHEMA_URI,
        version=SARIF_VERSION,
        runs=[
            om.Run(
                tool=om.Tool(driver=driver),
                automation_details=om.RunAutomationDetails(id=AUTOMATION_ID),
                invocations=[invocation],
                results=[_result(f, index[f.rule_id], run) for f in findings],
                properties=(None if run.commits is None
                            else {"commits": [commit_dict(c) for c in run.commits]}),
            )
        ],
    )
    return _to_json(log)


def render(verdict: Verdict, docs: Mapping[str, RuleDoc], run: RunInfo) -> str:
    """SARIF 2.1.0 text: 2-space indented JSON, ASCII-only (`\\uXXXX` escapes), final newline.

    ASCII output cannot fail on a console or pipe with a legacy encoding, and decodes to the
    same UTF-8 content.

    Deterministic for equal inputs in any order (no timestamps, sorted results), so golden
    files stay byte-stable. `results` is `[]` when there are no findings, which tells GitHub
    that earlier alerts are fixed.
    """
    return json.dumps(build(verdict, docs, run), indent=2) + "\n"
