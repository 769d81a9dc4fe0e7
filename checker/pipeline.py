"""Parse sources and run the rules: the pure middle of the data flow.

SourceFiles (head and base) -> parsers -> IdentityObjects -> engine -> Findings -> gate.
Callers (`checker.commands`) do the I/O: reading git objects or files, and writing reports.

The rules side (`checker.checks.engine`, `checker.gate`), the format parsers and the secret scan are
imported inside the functions that use them, not at the top: `hook` and `check` import this
module before they fork the `ParseWorker`, which loads the parsers on the second core, and they
load the rules while it parses (`checker.commands`, "Start-up order").
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from checker.change import ChangeSet, Provenance
from checker.decode import as_utf8, decode
from checker.model import (
    EXCLUDED_TOKENS,
    IdentityObject,
    ModuleSources,
    ParseProblem,
    ParseResult,
    SourceFile,
    Verdict,
)
from checker.parsers import FORMATS, TOKENS, VALUE_FORMATS, build_parsers, gitlab_ci, parser_for
from checker.parsers.ci_tf_inputs import callee_inputs, local_callees
from checker.parsers.suppressions import suppressions_in
from checker.policy.catalogue import Catalogue, load_catalogue
from checker.policy.config import Config
from checker.policy.privileges import load_admin_table
from checker.sources.budget import Job, Pool, parse_budget, parse_many
from checker.sources.discovery import excluded, sniff, text_file
from checker.sources.documents import SharedDocuments, parse_by_documents
from checker.sources.modules import (
    calls_local_module,
    group_modules,
    job_module,
    module_homes,
    moved_files,
    value_identities,
    without_called_repeats,
)
from checker.sources.templates import chart_of, chart_roots, helm_ignored, unrendered
from checker.sources.worker import ParseWorker

if TYPE_CHECKING:
    from checker.approval.apply import Approvals
    from checker.checks.api import ChangeFacts
    from checker.provenance.attribution import CommitMeaning
    from checker.sources.render.api import Rendered


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
    worker: ParseWorker | None = None,
    alongside: Callable[[], object] | None = None,
    pool: Pool | None = None,
) -> Parsed:
    """Classify and parse each file; files nhi-gate does not read are skipped silently.

    Excluded paths (config `exclude`) are skipped. A file over `config.max_file_bytes` is an
    NHI903 problem and is not parsed. A template (a YAML/JSON file under the `templates/` folder
    of a chart whose `Chart.yaml` is among `sources` or the context, or a Jinja/Go template
    elsewhere: `checker.sources.templates`) is an NHI107 problem, never parsed as a manifest;
    only the secret-material scan reads it. With `prefilter` (the default) a file whose bytes
    name no catalogued type/kind/action is not parsed (`checker.sources.prefilter`: it cannot
    define an identity). A `.tf` file reads the `local.X`/`var.X` values of its directory from the
    other `sources` of that directory (`checker.sources.modules`): pass a module's files together.
    A text file no parser reads is skipped here too (`scan`: format tokens are read only in the
    changed files of `start_parse`). Each parse is bounded by the config's CPU-time budget
    (`budget.parse_budget`, NHI903 when over); many files are parsed on `workers` processes
    (default: every core; `pool` when forked earlier), few on `worker` when one was started,
    else here; `alongside` runs here meanwhile (`budget.parse_many`).
    """
    jobs, problems = _plan(sources, catalogue, config, prefilter, format_tokens=False)
    results = parse_many(jobs, catalogue, parse_budget(config), workers=workers, worker=worker,
                         alongside=alongside, pool=pool)
    return _collect(results, problems)


def start_parse(
    sides: Sequence[Sequence[SourceFile]],
    catalogue: Catalogue,
    config: Config,
    worker: ParseWorker | None,
    contexts: Sequence[Sequence[SourceFile]] = (),
    secrets: bool = True,
) -> Callable[[], list[Parsed]]:
    """Begin `parse_sources` of each side (e.g. head and base) on `worker` now, in one message,
    and return the function that waits for the answers: one `Parsed` per side, in order.

    `contexts[i]`, when given, are more files of side `i` that are read only for their
    Terraform module values (`checker.sources.modules`) or, a `Chart.yaml`, to tell which
    files are chart templates; never parsed or reported on their own.
    The caller reads the rest of git while the worker parses. Without a worker, or when it does
    not answer, the returned function parses in this process (same results, same budget).
    Without `secrets` only identities are parsed (no secret scan, no facets: the ledger).
    A text file of `sides` that no parser reads still has its format tokens read
    (`checker.parsers.TOKENS`), and so does one under an excluded path, marked so
    (`checker.model.EXCLUDED_TOKENS`): `check` and `hook` pass the changed files only.
    """
    shared = SharedDocuments()  # a document base and head (or two files) share, parsed once
    plans = [
        _plan(side, catalogue, config, True, contexts[i] if i < len(contexts) else (), secrets,
              shared)
        for i, side in enumerate(sides)
    ]
    every = [job for jobs, _ in plans for job in jobs]
    sent = worker is not None and bool(every) and worker.submit(every, parse_budget(config))

    def finish() -> list[Parsed]:
        answered = worker.collect() if sent and worker is not None else None
        out: list[Parsed] = []
        offset = 0
        for jobs, problems in plans:
            if answered is not None:
                results = answered[offset : offset + len(jobs)]
                offset += len(jobs)
            else:
                results = parse_many(jobs, catalogue, parse_budget(config))
            out.append(_collect(results, problems))
        return out

    return finish


def _plan(
    sources: Sequence[SourceFile], catalogue: Catalogue, config: Config, prefilter: bool,
    context: Sequence[SourceFile] = (), secrets: bool = True,
    shared: SharedDocuments | None = None, format_tokens: bool = True,
) -> tuple[list[Job], list[ParseProblem]]:
    """The parse jobs for `sources` (see `parse_sources`) and the problems found before any
    parse (files over the size limit that cannot be decoded). With `format_tokens` (and `secrets`) a
    text file no parser reads gets a job of the format plugins alone (`TOKENS`), and so does a
    text file under an excluded path (`EXCLUDED_TOKENS`).

    A `.tf` job whose file names a `local.`/`var.` value, and a `.tf`/`.tf.json` job whose
    module has a `moved` block in another file, carries its directory's `ModuleSources` (from
    `sources` and `context`); the jobs of one directory share one object, pickled once per
    batch. The kubernetes jobs share `shared` (default: a new one), so each distinct document
    of a large manifest is parsed once (`checker.sources.documents`).
    """
    from checker.sources.prefilter import build_tokens, may_define_identity

    tokens = build_tokens(catalogue) if prefilter else None
    problems: list[ParseProblem] = []
    gitlab_includes = gitlab_ci.included_paths([*context, *sources])
    callees = callee_inputs([*context, *sources])  # local workflows/actions running Terraform
    modules = group_modules(list({s.path: s for s in [*context, *sources]}.values()))
    moving = {d: moved_files(m) for d, m in modules.items()}
    homes = module_homes([*context, *sources])  # a var file elsewhere: read by no module
    jobs: list[Job] = []
    shared = shared or SharedDocuments()
    ignored, charts = helm_ignored(both := [*context, *sources]), chart_roots(p.path for p in both)
    for raw_src in sources:
        if excluded(raw_src.path, config.exclude):  # its format tokens alone (`EXCLUDED_TOKENS`)
            jobs += [(functools.partial(_analyse_file, EXCLUDED_TOKENS, False), raw_src)] * (
                secrets and format_tokens and text_file(raw_src.raw))
            continue
        src = as_utf8(raw_src)  # a UTF-16 manifest is read like a UTF-8 one
        chart = chart_of(src.path, charts) if src.path not in ignored else None
        sniffed = sniff(src.path, src.raw[: config.max_file_bytes]) if chart is None else None
        if sniffed is None or sniffed.template is not None:  # never parsed as YAML
            inert = sniffed is not None and tokens is not None and not may_define_identity(
                "kubernetes", src.raw, tokens, config.max_file_bytes)
            problems.append(unrendered(src.path, chart, sniffed.template if sniffed else None,
                                       inert, sniffed.line if sniffed else 1, src.raw))
            # Its literal secret material is still material, whoever renders it (NHI4xx).
            jobs += [(functools.partial(_analyse_file, "kubernetes", False), src)] * secrets
            continue
        fmt = sniffed.format
        if sniffed.tokens:  # read by content (a private-key header, an environment map) ...
            if src.path not in gitlab_includes:  # ... by its format tokens only
                jobs += [(functools.partial(_analyse_file, TOKENS, False), src)] * secrets
                continue
            fmt = None
        if fmt is None and src.path in gitlab_includes:
            fmt = "gitlab_ci"
        if fmt is None:
            # A text file no parser reads: its format tokens are still secret material.
            jobs += [(functools.partial(_analyse_file, TOKENS, False), src)] * (
                secrets and format_tokens and text_file(src.raw))
            continue
        if fmt not in FORMATS:
            continue
        if len(src.raw) > config.max_file_bytes:
            text = decode(src, config.max_file_bytes)
            if isinstance(text, ParseProblem):
                problems.append(text)
                continue
        called = {p: callees[p] for p in local_callees(src.raw.decode("utf-8", "replace"))
                  if p in callees} if callees and fmt == "github_actions" else None
        identities = (fmt not in VALUE_FORMATS or value_identities(fmt, src.path, homes)) and (
            tokens is None or may_define_identity(fmt, src.raw, tokens, config.max_file_bytes)
            or (fmt == "terraform" and calls_local_module(src.raw)) or bool(called)
        )
        module = job_module(fmt, src, modules, moving) if identities else None
        job = functools.partial(_analyse_file, fmt, identities, module=module, secrets=secrets,
                                shared=shared, callees=called)
        jobs += [(job, src)] * (secrets or bool(identities))
    return jobs, problems


def _collect(results: Sequence[ParseResult], problems: Sequence[ParseProblem]) -> Parsed:
    """One side's `Parsed`: identity objects in job order, then the secret-scan facets."""
    objects: list[IdentityObject] = []
    facets: list[IdentityObject] = []  # secret-material scan of every file read (NHI31x/4xx)
    found = list(problems)
    for result in results:
        objects.extend(o for o in result.objects if o.derived_from is None)
        facets.extend(o for o in result.objects if o.derived_from is not None)
        found.extend(result.problems)
    return Parsed(tuple(without_called_repeats(objects) + facets), tuple(found))


def warm_parsers(terraform: bool = True) -> Catalogue:
    """Import the format parsers and the secret scan, and with `terraform` the Terraform parser
    (python-hcl2 and its grammar load only for a text its fast path does not read: `hcl.warm`);
    the catalogue. The `warm` function of a `sources.worker.ParseWorker` started before git is
    read. Without `terraform` a job that needs it still imports it (later)."""
    import importlib

    importlib.import_module("checker.secrets")
    if terraform:
        from checker.parsers import terraform as terraform_parser

        build_parsers()
        terraform_parser.warm()
    else:
        for fmt in ("kubernetes", "github_actions", "gitlab_ci", "mcp_config"):
            parser_for(fmt)
    return load_catalogue()


def _analyse_file(
    fmt: str, identities: bool, src: SourceFile, catalogue: Catalogue,
    module: ModuleSources | None = None, secrets: bool = True,
    shared: SharedDocuments | None = None, callees: Mapping[str, frozenset[str]] | None = None,
) -> ParseResult:
    """One budgeted job: the secret-material scan of `src` and, when `identities` (the
    pre-filter kept it), its format parser. Identity objects first, then facets.

    A `.tf` file the format parser reads is parsed by python-hcl2 once (`terraform.load`) and
    the result handed to both the parser and the secret scan (the parse is most of the cost).
    `module` is its directory's value files (read inside this job, so under its budget);
    `callees` a workflow's local callees that hand inputs to Terraform (`callee_inputs`).
    A large multi-document manifest is read a document at a time, each distinct document of
    the batch once (`shared`, see `checker.sources.documents`).
    """
    from checker import secrets as secret_scan

    if identities and (fmt == "terraform" or (fmt == "terraform_json" and module)):
        from checker.parsers import terraform  # JSON with a module: for its `moved` blocks

        loaded = terraform.load(src) if fmt == "terraform" else None
        facets = secret_scan.scan(src, fmt, hcl=loaded).objects if secrets else ()
        parsed = (terraform.parse_json(src, catalogue, module) if loaded is None
                  else terraform.parse(src, catalogue, loaded=loaded, module=module))
        return ParseResult(parsed.objects + facets, parsed.problems)

    def scan(one: SourceFile) -> ParseResult:
        return secret_scan.scan(one, fmt)

    def parse(one: SourceFile) -> ParseResult:
        return parser_for(fmt, callees)(one, catalogue)

    result: ParseResult | None
    if shared is not None and fmt == "kubernetes":
        facets = parse_by_documents(src, scan, shared.secrets).objects if secrets else ()
        result = parse_by_documents(src, parse, shared.identities) if identities else None
    else:
        facets = scan(src).objects if secrets else ()
        result = parse(src) if identities else None
    return ParseResult(facets) if result is None else ParseResult(result.objects + facets,
                                                                  result.problems)


def run_rules(
    head: Parsed,
    base: Parsed,
    *,
    mode: str,
    config: Config,
    changeset: ChangeSet,
    provenance: Mapping[str, Provenance],
    committer: Provenance | None = None,
    fail_on: str | None = None,
    all_authors: bool = False,
    facts: ChangeFacts | None = None,
    sources: Sequence[SourceFile] = (),
    siblings: Sequence[SourceFile] = (),
    approvals: Approvals | None = None,
    meaning: CommitMeaning | None = None,
) -> tuple[Verdict, list[IdentityObject]]:
    """Run the checks, apply approvals and decide; return the verdict and the identities
    (environment set).

    The checks: identity and cross checks on `head` against `base`, NHI9xx for `head`'s parse
    problems, then the change checks (NHI102-NHI105) on `facts` (what the commands gathered
    from git and the base revision; None: only the suppression comments of `sources`). Inline
    suppressions come from `sources` (the files judged) and from `siblings` (unchanged module
    files read for their values) only in a file that has a finding. Then approval, which keeps
    every finding and only marks some approved: valid suppressions, the baseline, PR reviews
    and signed approval commits (`approvals`). Then the gate. `meaning` (`check`) judges
    one commit's change to an identity by meaning, so a commit that only moved it is no writer
    (`provenance.writers`).
    """
    # Imported here, not at the top: `hook`/`check` load the checks while the parse worker
    # parses (`checker.commands.load_while_parsing`), not before git is read.
    from checker.approval.apply import apply_all
    from checker.checks.api import ChangeFacts, Context
    from checker.checks.engine import change_findings, evaluate, problem_findings
    from checker.checks.repeats import without_rendered_repeats, without_repeated_findings
    from checker.checks.suppressions import outlived, usable
    from checker.gate import decide
    from checker.policy.rule_docs import load_rule_docs

    docs = load_rule_docs()
    ctx = Context(
        mode=mode,
        config=config,
        catalogue=load_catalogue(),
        admin_table=load_admin_table(),
        changeset=changeset,
        provenance=provenance,
        committer=committer,
        meaning=meaning,
    )
    findings, identities = evaluate(head.objects, base.objects, ctx, docs)
    findings = without_repeated_findings(without_rendered_repeats(findings, head.objects))
    findings.extend(problem_findings(head.problems, config, docs, ctx))
    judged = {f.location.path for f in findings}
    comments = [*suppressions_in(sources),
                *(s for s in suppressions_in(siblings) if s.path in judged)]
    facts = replace(
        facts or ChangeFacts(config, changeset, provenance),
        mode=mode, suppressions=comments, objects=head.objects, known_rules=frozenset(docs),
        committer=committer,
    )
    findings.extend(change_findings(facts, findings, docs))
    findings = apply_all(findings, approvals, usable(facts), head.objects, outlived(facts))
    verdict = decide(
        findings,
        head.problems,
        mode=mode,
        fail_on=fail_on or config.fail_on,
        all_authors=all_authors,
    )
    return verdict, identities


def with_problems(parsed: Parsed, extra: Sequence[ParseProblem]) -> Parsed:
    """`parsed` with the problems `extra` appended (files that could not be read at all)."""
    return Parsed(parsed.objects, parsed.problems + tuple(extra)) if extra else parsed


def under_review(
    head: Parsed, context: Sequence[SourceFile], unreadable: Sequence[ParseProblem]
) -> Parsed:
    """The head side `check`/`hook` judge: without the problems of the `context` files (module
    siblings read for their values are not under review: their NHI9xx problems are not this
    change's), with the `unreadable` ones (NHI902/903, never parsed)."""
    paths = {s.path for s in context}
    kept = tuple(p for p in head.problems if p.path not in paths)
    return with_problems(Parsed(head.objects, kept), unreadable)


def with_rendered(parsed: Parsed, rendered: Sequence[Rendered],
                  problems: Sequence[ParseProblem] = (), *, head: bool = True,
                  quiet: Collection[str] = ()) -> Parsed:
    """`parsed` with the objects of the `rendered` kustomizations and charts and the render
    `problems` (`parsers.rendered.merged`; a chart template's NHI107: `render.chart_problems`,
    none for the `quiet` templates, whose chart's failure another file carries)."""
    if not rendered and not problems:
        return parsed
    from checker.parsers.rendered import merged
    from checker.sources.render.chart_problems import with_chart_renders
    objects, found = merged(parsed.objects, rendered, load_catalogue(), head=head)
    helm = [one.root for one in rendered if one.tool == "helm"]
    return Parsed(tuple(objects), (*with_chart_renders(parsed.problems, helm, problems, quiet),
                                    *found))
