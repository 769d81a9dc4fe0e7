"""Run the checks: identities + change + provenance + config -> findings. Pure: no git, no files.

One finding per identity per problem (Checkov emits eleven for one `Action = "*"`; we emit one).
Which identities are judged depends on the mode:
- `check` / `hook`: only identities the change touched (`provenance.attribution.touch_of`):
  an added line, a change of meaning without one (a deleted tag), or a changed module value
  it reads; each attributed to the most agent-like actor among the commits that wrote them,
  less those whose change to it was cosmetic (`provenance.writers`, `Context.meaning`).
- `scan`: every identity, with no actor.

The engine never decides what is wrong (the checks in `CHECKS` do) nor what blocks (the gate
does). It decides where a finding goes (`line_for`), at which level (the rule docs, then
config `rules:`; `off` drops it), and builds its fingerprint. An identity a `NarrowingCheck`
says was only narrowed is judged by that note alone, and a problem the base already had on it
(a facet such as an OIDC trust without `aud`, present at base too) becomes a note: narrowing
never blocks.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from checker.change import ChangedFile, Provenance
from checker.checks import CHECKS
from checker.checks.api import (
    ChangeCheck,
    ChangeFacts,
    ChangeHit,
    Context,
    CrossCheck,
    Hit,
    IdentityCheck,
    NarrowingCheck,
    RemovalCheck,
    Subject,
)
from checker.checks.arn_twins import with_environment
from checker.checks.environments import infer_environment
from checker.checks.moves import (
    moved_documents,
    moved_twin,
    renamed,
    rescoped_twin,
    with_new_names,
)
from checker.fingerprint import fingerprint
from checker.lazy_patterns import lazy_compile
from checker.model import Finding, IdentityObject, Location, ParseProblem
from checker.policy.config import Config
from checker.policy.rule_docs import RuleDoc
from checker.provenance.attribution import Attribution, Touch, changed_by
from checker.provenance.writers import judged_touch

#: Rules the parsers raise for files they could not analyse (`ParseProblem.rule_id`): a syntax
#: error (NHI901), a file that is binary, not UTF-8, a symlink or a submodule (NHI902), a file
#: over the size or time budget (NHI903). Documented in rules/docs/core.yaml like the others.
#: NHI107 (rules/docs/approval.yaml) is a file whose meaning cannot be computed because it is
#: a template or its chart or overlay could not be rendered; its level depends on the actor.
PROBLEM_RULES = ("NHI107", "NHI901", "NHI902", "NHI903")


def _modules() -> list[object]:
    """Each check module once, in registry order."""
    return list(dict.fromkeys(CHECKS.values()))


def _level(rule_id: str, variant: str | None, docs: Mapping[str, RuleDoc], config: Config
           ) -> str:  # fmt: skip
    """The configured level of `rule_id` (`off` included), else the documented default level of
    its `variant`; `error` for a rule with no docs (fail closed: the catalogue test forbids it)."""
    doc = docs.get(rule_id)
    return config.rule_levels.get(rule_id, doc.level_of(variant) if doc else "error")


def line_for(obj: IdentityObject, touch: Touch, mode: str, line: int | None) -> int:
    """Anchor a result on `line` when it was added (or in scan mode), else the first added line
    of the identity, so GitHub shows it inside the diff."""
    start = obj.location.start_line
    candidate = line or start
    if mode == "scan" or not touch.lines or candidate in touch.lines:
        return candidate
    if start in touch.lines:
        return start
    return touch.lines[0]


#: A `Touch.via` entry: `name (path:line)`, optionally ` at base` after the line.
_VIA = lazy_compile(r"^(?P<name>.*) \((?P<path>[^()]+):(?P<line>\d+)(?: at base)?\)$")


def via_location(via: str) -> tuple[str, Location] | None:
    """(input name, where it is) of one `Touch.via` entry; None when it names no place.
    An input at base is named at its base line, in its head path."""
    m = _VIA.match(via)
    if m is None:
        return None
    line = int(m["line"])
    return m["name"], Location(m["path"], line, line)


def to_finding(obj: IdentityObject, touch: Touch, hit: Hit, ctx: Context,
               docs: Mapping[str, RuleDoc]) -> Finding | None:
    """The `Finding` for `hit` on `obj` (None when its rule is `off`); the message names the
    changed inputs, if any (`Touch.via`). Its actor is the hit's own `Hit.touch` when it has
    one (who wrote the lines it is about), else the identity's."""
    level = _level(hit.rule_id, hit.variant, docs, ctx.config)
    if level == "off":
        return None
    line = hit.line if hit.line is not None else (
        obj.attribute_lines.get(hit.at) if hit.at is not None else None)
    anchor = line_for(obj, touch, ctx.mode, line)
    message = hit.message
    related: tuple[tuple[str, Location], ...] = hit.related
    if touch.via and hit.touch is None:  # where the changed value lives: not in obj's lines
        message = f"{message}; via {', '.join(touch.via)}"
        related += tuple(r for r in map(via_location, touch.via) if r is not None)
    by = hit.touch or touch  # who wrote what the hit is about
    return Finding(
        rule_id=hit.rule_id,
        level=level,  # type: ignore[arg-type]
        message=message,
        location=replace(obj.location, start_line=anchor, end_line=anchor),
        address=obj.address,
        attribute=hit.attribute,
        kind=obj.kind,
        platform=obj.platform,
        actor_kind=by.actor_kind,  # type: ignore[arg-type]
        commit=by.commit,
        agent=by.agent,
        fingerprint=fingerprint(hit.rule_id, obj.location.path, obj.address, hit.attribute),
        commits=by.commits,
        related=related,
    )


def evaluate(
    head: Sequence[IdentityObject],
    base: Sequence[IdentityObject],
    ctx: Context,
    docs: Mapping[str, RuleDoc],
) -> tuple[list[Finding], list[IdentityObject]]:
    """Judge every identity at head; return (findings, identities with environment set).

    `base` holds the identities parsed from the base versions of the same files (renames under
    their head path): an identity with no base twin is "created", else "changed". `docs` are
    the rule docs (`policy.rule_docs.load_rule_docs()`), for each rule's default level.
    """
    ctx = replace(ctx, head_objects=tuple(head), base_objects=tuple(base))
    files = {cf.path: cf for cf in ctx.changeset.files}
    # Inputs read at base name base paths: a renamed or deleted value file is found there too.
    inputs_files: dict[str, ChangedFile] = {
        **{cf.old_path: cf for cf in ctx.changeset.files if cf.old_path}, **files}
    attribution = Attribution(ctx.mode, ctx.provenance, ctx.committer,
                              {c.sha: n for n, c in enumerate(ctx.changeset.commits)},
                              ctx.meaning)
    base_index = {(o.location.path, o.address): o for o in base}
    # A Terraform address is unique within its module (one directory): a block moved to another
    # file of the module is the same identity.
    module_index = {(_module_of(o.location.path), o.address): o for o in base
                    if _module_of(o.location.path) is not None}
    rendered = {o.address: o for o in base if o.rendered_by}
    moves = renamed(head, base)  # the addresses `moved` blocks rename, read under new names
    at_head: dict[str | None, set[str]] = {}
    for o in head:
        at_head.setdefault(_module_of(o.location.path), set()).add(o.address)
    modules = _modules()
    # A runtime-checkable Protocol's isinstance costs ~10 us: sort the modules once, not per
    # identity.
    narrowers = [m for m in modules if isinstance(m, NarrowingCheck)]
    identity_checks = [m for m in modules if isinstance(m, IdentityCheck)]
    findings: list[Finding] = []
    judged: list[IdentityObject] = []
    touched: dict[tuple[str, str], Touch] = {}
    narrowed: set[tuple[str, str]] = set()  # (path, address) of identities only narrowed
    inherited: list[tuple[int, int, IdentityObject]] = []  # findings of facets base had too
    pending: list[tuple[IdentityObject, IdentityObject | None, Touch | None]] = []
    for raw in head:
        obj = replace(raw, environment=raw.environment or infer_environment(raw, ctx.config))
        judged.append(obj)
        twin = base_index.get((obj.location.path, obj.address)) or module_index.get(
            (_module_of(obj.location.path), obj.address)) or (
            rendered.get(obj.address) if obj.rendered_by else None) or moved_twin(
            obj, module_index, _module_of(obj.location.path), at_head) or rescoped_twin(
            obj, base, at_head.get(None, ()))
        twin = with_new_names(twin, obj, moves) if twin is not None else None
        twin = with_environment(twin, obj) if twin is not None else None  # arn:${partition}:
        pending.append((obj, twin, judged_touch(obj, files.get(obj.location.path), attribution,
                                                twin, inputs_files)))
    moved = moved_documents(pending)  # statements moved into a policy document: no change
    for obj, twin, touch in pending:
        if touch is None or (obj.location.path, obj.address) in moved:
            continue
        subject = Subject(obj, touch, ctx, twin)
        narrowing = [hit for module in narrowers for hit in module.narrows(subject)]
        if narrowing:  # only narrowed: the note says so, nothing else is judged
            findings.extend(_built(obj, touch, narrowing, ctx, docs))
            narrowed.add((obj.location.path, obj.address))
            continue
        touched[(obj.location.path, obj.address)] = touch
        first = len(findings)
        for check in identity_checks:
            findings.extend(_built(obj, touch, check.check(subject), ctx, docs))
        if twin is not None and obj.derived_from not in ("", obj.location.path):
            inherited.append((first, len(findings), obj))
    _inherited_as_notes(findings, inherited, narrowed)
    findings.extend(_removals(modules, ctx, attribution, inputs_files, docs))
    for module in modules:
        if isinstance(module, CrossCheck):
            for obj, hit in module.check_all(judged, touched, ctx):
                found = to_finding(obj, touched[(obj.location.path, obj.address)], hit, ctx,
                                   docs)
                findings.extend([found] if found is not None else [])
    return findings, judged


def _inherited_as_notes(findings: list[Finding], inherited: Sequence[tuple[int, int,
                                                                          IdentityObject]],
                        narrowed: set[tuple[str, str]]) -> None:
    """Turn into notes, in place, the findings `findings[first:end]` of a facet that base had
    too (`inherited`: an OIDC trust already without `aud`) whose identity (`derived_from`, same
    file) the change only narrowed: a problem the base already had, on an identity the change
    narrowed, is reported but never blocks (DESIGN.md: "narrowing never blocks")."""
    for first, end, obj in inherited:
        if (obj.location.path, obj.derived_from) not in narrowed:
            continue
        for i in range(first, end):
            f = findings[i]
            findings[i] = replace(f, level="note", message=(
                f"{f.message} (already so at base; this change only narrowed "
                f"{obj.derived_from}, so it is a note)"))


def _removals(modules: Sequence[object], ctx: Context, attribution: Attribution,
              files: Mapping[str, ChangedFile], docs: Mapping[str, RuleDoc]) -> list[Finding]:
    """The findings of the `RemovalCheck`s: each hit's actor is who changed the files it
    names (the most agent-like of their commits; every changed file's when none is known)."""
    def actor_of(paths: Sequence[str]) -> Touch:
        cfs = [files[p] for p in paths if p in files] or list(
            {id(cf): cf for cf in files.values()}.values())  # unhashable: one each
        best = changed_by(cfs, attribution)
        shas = tuple(dict.fromkeys(s for cf in cfs for s in cf.commits))
        return Touch((), best.actor_kind, best.commit or None, best.agent,
                     shas or ((best.commit,) if best.commit else ()))

    out: list[Finding] = []
    for module in modules:
        if isinstance(module, RemovalCheck):
            for obj, hit in module.check_removed(ctx, actor_of):
                found = to_finding(obj, hit.touch or actor_of(()), hit, ctx, docs)
                out.extend([found] if found is not None else [])
    return out


def _module_of(path: str) -> str | None:
    """The Terraform module directory of `path` (`""` at the root), None for other files."""
    if not path.endswith((".tf", ".tofu", ".tf.json")):
        return None
    return posixpath.dirname(path)


def _built(obj: IdentityObject, touch: Touch, hits: Iterable[Hit], ctx: Context,
           docs: Mapping[str, RuleDoc]) -> list[Finding]:
    out = [to_finding(obj, touch, hit, ctx, docs) for hit in hits]
    return [f for f in out if f is not None]


def change_findings(facts: ChangeFacts, findings: Sequence[Finding],
                    docs: Mapping[str, RuleDoc]) -> list[Finding]:
    """The findings of the change checks (NHI102-NHI105), in registry order; each check sees
    `findings` plus what the checks before it found."""
    out: list[Finding] = []
    for module in _modules():
        if not isinstance(module, ChangeCheck):
            continue
        for hit in module.check_change(facts, [*findings, *out]):
            found = _change_finding(hit, facts.config, docs)
            out.extend([found] if found is not None else [])
    return out


def _change_finding(hit: ChangeHit, config: Config, docs: Mapping[str, RuleDoc]
                    ) -> Finding | None:  # fmt: skip
    level = _level(hit.rule_id, hit.variant, docs, config)
    if level == "off":
        return None
    actor = hit.actor
    return Finding(
        rule_id=hit.rule_id,
        level=level,  # type: ignore[arg-type]
        message=hit.message,
        location=hit.location,
        address=hit.address,
        attribute=hit.attribute,
        actor_kind=actor.actor_kind if actor else None,
        commit=hit.commit,
        agent=actor.agent if actor else None,
        fingerprint=fingerprint(hit.rule_id, hit.location.path, hit.address, hit.attribute),
        commits=hit.commits,
    )


def problem_findings(problems: Sequence[ParseProblem], config: Config,
                     docs: Mapping[str, RuleDoc], ctx: Context | None = None) -> list[Finding]:
    """NHI9xx (and NHI107) findings for files that could not be analysed (fail-closed: never
    silent).

    A rule whose docs define level variants (NHI107: `human`, `scan`, ...) is actor-aware, like
    NHI106: in `scan` mode (or without `ctx`) the `scan` variant; else the actor is the most
    agent-like of the in-range commits that changed the problem's path (the committer in
    `hook` mode; for a path the change did not touch, e.g. a chart template rendered again
    because its values changed, every changed file's), and a person gets the `human` variant;
    an agent, a bot or an unknown actor the problem's own `variant` (None: the rule's level).
    The finding then carries that actor and its commit, and every in-range commit that touched
    those paths (an approval must cover them all). Of NHI9xx, only NHI903 (a file over a budget:
    rules/docs/core.yaml) has variants; NHI901/NHI902 never depend on the actor.
    """
    out: list[Finding] = []
    files = {cf.path: cf for cf in ctx.changeset.files} if ctx is not None else {}
    for p in problems:
        doc = docs.get(p.rule_id)
        actor: Provenance | None = None
        shas: tuple[str, ...] = ()
        variant = p.variant
        if doc is not None and doc.variants:
            if ctx is None or ctx.mode == "scan":
                variant = "scan"
            else:
                cfs = [files[p.path]] if p.path in files else list(files.values())
                actor = changed_by(cfs, Attribution(ctx.mode, ctx.provenance, ctx.committer))
                variant = "human" if actor.actor_kind == "human" else p.variant
                shas = tuple(dict.fromkeys(s for cf in cfs for s in cf.commits))
        level = _level(p.rule_id, variant, docs, config)
        if level == "off":
            continue
        out.append(
            Finding(
                rule_id=p.rule_id,
                level=level,  # type: ignore[arg-type]
                message=p.message,
                location=Location(p.path, p.line, max(p.line, p.end_line or p.line)),
                address=p.address,
                actor_kind=actor.actor_kind if actor is not None else None,
                commit=(actor.commit or None) if actor is not None else None,
                agent=actor.agent if actor is not None else None,
                fingerprint=fingerprint(p.rule_id, p.path, p.address, None),
                commits=shas or ((actor.commit,) if actor is not None and actor.commit else ()),
            )
        )
    return out
