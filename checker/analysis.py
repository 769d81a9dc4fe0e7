"""Parse sources and run the rules: the pure middle of the data flow.

SourceFiles (head and base) -> parsers -> IdentityObjects -> engine -> Findings -> gate.
Callers (commands) do the I/O: reading git objects or files, and writing reports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from checker.catalogue import Catalogue, load_catalogue
from checker.config import Config
from checker.discovery import classify, excluded
from checker.engine import Context, evaluate, problem_findings
from checker.gate import decide
from checker.model import (
    ChangeSet,
    Finding,
    IdentityObject,
    ParseProblem,
    Provenance,
    SourceFile,
    Verdict,
)
from checker.parsers import build_parsers
from checker.parsers.common import decode
from checker.privileges import load_admin_table

#: Marks findings approved; returns all of them (same length, same order or re-sorted).
Approver = Callable[[list[Finding]], list[Finding]]


@dataclass(frozen=True)
class Parsed:
    """Identities and problems from a set of files."""

    objects: tuple[IdentityObject, ...]
    problems: tuple[ParseProblem, ...]


def parse_sources(sources: Sequence[SourceFile], catalogue: Catalogue, config: Config) -> Parsed:
    """Classify and parse each file; files nhi-gate does not read are skipped silently.

    Excluded paths (config `exclude`) are skipped. A file over `config.max_file_bytes` is an
    NHI903 problem and is not parsed.
    """
    parsers = build_parsers()
    objects: list[IdentityObject] = []
    problems: list[ParseProblem] = []
    for src in sources:
        if excluded(src.path, config.exclude):
            continue
        fmt = classify(src.path, src.raw[:4096])
        if fmt is None or fmt not in parsers:
            continue
        if len(src.raw) > config.max_file_bytes:
            text = decode(src, config.max_file_bytes)
            if isinstance(text, ParseProblem):
                problems.append(text)
                continue
        result = parsers[fmt](src, catalogue)
        objects.extend(result.objects)
        problems.extend(result.problems)
    return Parsed(tuple(objects), tuple(problems))


def run_rules(
    head: Parsed,
    base: Parsed,
    *,
    mode: str,
    config: Config,
    changeset: ChangeSet,
    provenance: Mapping[str, Provenance],
    hook_actor: Provenance | None = None,
    fail_on: str | None = None,
    all_authors: bool = False,
    approvals: Sequence[Approver] = (),
) -> tuple[Verdict, list[IdentityObject]]:
    """Evaluate rules and the gate; return the verdict and the identities (environment set).

    `approvals` run in order between the rules and the gate; each may mark findings
    `approved` (a PR review, a signed approval commit, a reasoned inline suppression, a baseline)
    and must keep every finding: approved findings stay in the output, they just do not block.
    """
    ctx = Context(
        mode=mode,
        config=config,
        catalogue=load_catalogue(),
        admin_table=load_admin_table(),
        changeset=changeset,
        provenance=provenance,
        hook_actor=hook_actor,
    )
    findings, identities = evaluate(head.objects, base.objects, ctx)
    findings.extend(problem_findings(head.problems, config))
    for approve in approvals:
        findings = approve(findings)
    verdict = decide(
        findings,
        head.problems,
        mode=mode,
        fail_on=fail_on or config.fail_on,
        all_authors=all_authors,
    )
    return verdict, identities
