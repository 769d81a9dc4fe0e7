"""Parse sources and run the rules: the pure middle of the data flow.

SourceFiles (head and base) -> parsers -> IdentityObjects -> engine -> Findings -> gate.
Callers (commands) do the I/O: reading git objects or files, and writing reports.
"""

from __future__ import annotations

import functools
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
    ParseResult,
    Provenance,
    SourceFile,
    Verdict,
)
from checker.parsers import build_parsers, gitlab_ci, secrets
from checker.parsers.common import decode
from checker.privileges import load_admin_table

#: Marks findings approved; returns all of them (same length, same order or re-sorted).
Approver = Callable[[list[Finding]], list[Finding]]


@dataclass(frozen=True)
class Parsed:
    """Identities and problems from a set of files."""

    objects: tuple[IdentityObject, ...]
    problems: tuple[ParseProblem, ...]


def parse_sources(
    sources: Sequence[SourceFile],
    catalogue: Catalogue,
    config: Config,
    *,
    prefilter: bool = True,
    workers: int | None = None,
) -> Parsed:
    """Classify and parse each file; files nhi-gate does not read are skipped silently.

    Excluded paths (config `exclude`) are skipped. A file over `config.max_file_bytes` is an
    NHI903 problem and is not parsed. With `prefilter` (the default) a file whose bytes name no
    catalogued type/kind/action is not parsed (`checker.prefilter`: it cannot define an
    identity). Each parse is bounded by `config.parse_seconds` (NHI903 when over); many files
    are parsed on `workers` processes (default: every available core; `checker.budget`).
    """
    from checker.budget import parse_many
    from checker.prefilter import build_tokens, may_define_identity

    parsers = build_parsers()
    tokens = build_tokens(catalogue) if prefilter else None
    objects: list[IdentityObject] = []
    problems: list[ParseProblem] = []
    facets: list[IdentityObject] = []  # secret-material scan of every file read (NHI31x/4xx)
    gitlab_includes = gitlab_ci.included_paths(sources)
    jobs = []
    for src in sources:
        if excluded(src.path, config.exclude):
            continue
        fmt = classify(src.path, src.raw[:4096])
        if fmt is None and src.path in gitlab_includes:
            fmt = "gitlab_ci"
        if fmt is None or fmt not in parsers:
            continue
        if len(src.raw) > config.max_file_bytes:
            text = decode(src, config.max_file_bytes)
            if isinstance(text, ParseProblem):
                problems.append(text)
                continue
        identities = tokens is None or may_define_identity(
            fmt, src.raw, tokens, config.max_file_bytes
        )
        jobs.append((functools.partial(_analyse_file, fmt, identities), src))
    for result in parse_many(jobs, catalogue, config.parse_seconds, workers=workers):
        objects.extend(o for o in result.objects if o.derived_from is None)
        facets.extend(o for o in result.objects if o.derived_from is not None)
        problems.extend(result.problems)
    objects.extend(facets)
    return Parsed(tuple(objects), tuple(problems))


def _analyse_file(
    fmt: str, identities: bool, src: SourceFile, catalogue: Catalogue
) -> ParseResult:
    """One budgeted job: the secret-material scan of `src` and, when `identities` (the
    pre-filter kept it), its format parser. Identity objects first, then facets.

    A `.tf` file the format parser reads is parsed by python-hcl2 once (`terraform.load`) and
    the result handed to both the parser and the secret scan (the parse is most of the cost).
    """
    if fmt == "terraform" and identities:
        from checker.parsers import terraform

        loaded = terraform.load(src)
        facets = secrets.scan(src, fmt, hcl=loaded).objects
        result = terraform.parse(src, catalogue, loaded=loaded)
        return ParseResult(result.objects + facets, result.problems)
    facets = secrets.scan(src, fmt).objects
    if not identities:
        return ParseResult(facets)
    result = build_parsers()[fmt](src, catalogue)
    return ParseResult(result.objects + facets, result.problems)


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
