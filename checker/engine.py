"""Rules: identities + change + provenance + config -> findings. Pure: no git, no files.

One finding per identity per problem (Checkov emits eleven for one `Action = "*"`; we emit one).
Which identities are judged depends on the mode:
- `check` / `hook`: only identities with at least one line added by the change (diff-native),
  or whose meaning changed without one (a deleted tag), or whose module values changed
  (`IdentityObject.inputs`: `role = local.ci_role` in an unchanged file, `locals.tf` edited);
  each is attributed to the most agent-like actor among the commits that wrote those lines.
- `scan`: every identity, with no actor.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from checker.change import ACTOR_RANK, ChangedFile, ChangeSet, Provenance
from checker.checks.ci import rule_ci
from checker.checks.drift import rule_drift
from checker.checks.environments import rule_cross_environment
from checker.checks.lifetime import rule_static_credential
from checker.checks.secrets import rule_secret_material
from checker.checks.workloads import rule_token_automount, rule_workload_identity
from checker.fingerprint import fingerprint
from checker.model import Finding, IdentityObject, Level, Location, ParseProblem
from checker.policy.catalogue import Catalogue
from checker.policy.config import Config
from checker.policy.privileges import admin_grants
from checker.sources.discovery import glob_match

_ENV_WORDS: Mapping[str, str] = {
    "prod": "prod",
    "production": "prod",
    "prd": "prod",
    "staging": "staging",
    "stage": "staging",
    "stg": "staging",
    "dev": "dev",
    "development": "dev",
    "test": "test",
    "testing": "test",
    "qa": "qa",
    "sandbox": "sandbox",
}
_SPLIT = re.compile(r"[/_.\-]")


@dataclass(frozen=True)
class Touch:
    """How the change touched one identity: the added lines, and who wrote them."""

    lines: tuple[int, ...]
    actor_kind: str | None
    commit: str | None
    agent: str | None
    #: Every in-range commit that wrote one of `lines` (or a changed input), in line order,
    #: no repeats.
    commits: tuple[str, ...] = ()
    #: The changed module values the identity reads (`local.ci_role (locals.tf:3)`), named
    #: in every finding's message: its own lines may all be unchanged.
    via: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    """Everything the rules read besides the identities themselves."""

    mode: str
    config: Config
    catalogue: Catalogue
    admin_table: Mapping[tuple[str, str], str]
    changeset: ChangeSet
    provenance: Mapping[str, Provenance]
    #: For `hook` mode: the actor of the commit being made (no commits exist yet).
    hook_actor: Provenance | None = None
    today: dt.date = dt.date.today()  # noqa: RUF009 - evaluated once per process, by design


def infer_environment(obj: IdentityObject, config: Config) -> str | None:
    """The environment an identity belongs to.

    Config globs win: `envs/prod/**` matches the path, `namespace:prod*` the Kubernetes
    namespace. Then an `environment`/`env` tag, label or `# nhi-gate:` key (`production` reads
    as `prod`). Otherwise a path segment or namespace that names a well-known environment
    (`prod`, `production`, `staging`, `dev`, ...) decides. None when nothing says.
    """
    for env, patterns in config.environments.items():
        for pattern in patterns:
            if pattern.startswith("namespace:"):
                if obj.namespace and glob_match(obj.namespace, pattern[len("namespace:") :]):
                    return env
            elif glob_match(obj.location.path, pattern):
                return env
    label = _lookup(obj.metadata, ("environment", "env"))
    if label:
        return _ENV_WORDS.get(label.lower(), label.lower())
    words = [*obj.location.path.lower().split("/")[:-1]]
    if obj.namespace:
        words.append(obj.namespace.lower())
    for word in reversed(words):
        for token in [word, *_SPLIT.split(word)]:
            if token in _ENV_WORDS:
                return _ENV_WORDS[token]
    return None


def _semantics(obj: IdentityObject) -> tuple[object, ...]:
    """What an identity means, without positions: a change here is a change to the identity."""
    return (
        obj.kind,
        obj.type,
        tuple(sorted((k.lower(), v) for k, v in obj.metadata.items())),
        tuple(sorted(repr(replace(g, line=None)) for g in obj.privileges)),
        obj.lifetime,
        tuple(sorted(obj.references)),
        obj.namespace,
        tuple(sorted(obj.secret_sinks)),
    )


def _most_agent_like(provs: Sequence[Provenance]) -> Provenance | None:
    """The first of the highest-ranked actors in `provs` (fail-closed attribution)."""
    best: Provenance | None = None
    for prov in provs:
        if best is None or ACTOR_RANK[prov.actor_kind] > ACTOR_RANK[best.actor_kind]:
            best = prov
    return best


def _lines_actors(cf: ChangedFile, lines: Sequence[int], ctx: Context
                  ) -> tuple[list[Provenance], list[str]]:  # fmt: skip
    """Who wrote each of `cf`'s added `lines` (the hook's actor for uncommitted lines; a git-ai
    note only ever raises the actor), and the in-range shas among them, in line order.

    A line's writer is the most agent-like of its own commit and its lineage (the earlier
    in-range commits whose lines it replaced, `ChangedFile.line_lineage`), so a human's later
    edit (even `terraform fmt`) of an agent's line leaves it the agent's; the lineage commits
    are among the returned shas, after the line's own commit."""
    provs: list[Provenance] = []
    shas: list[str] = []
    for line in lines:
        sha = cf.line_commits.get(line)
        writers = (sha, *cf.line_lineage.get(line, ())) if sha else ()
        shas.extend(s for s in writers if s not in shas)
        prov = _most_agent_like([
            ctx.provenance.get(s) or Provenance(commit=s, actor_kind="unknown") for s in writers
        ]) if writers else ctx.hook_actor
        if prov is None:
            prov = Provenance(commit="", actor_kind="unknown")
        noted = cf.ai_lines.get(line)
        if noted is not None and ACTOR_RANK[noted.actor_kind] > ACTOR_RANK[prov.actor_kind]:
            prov = noted
        provs.append(prov)
    return provs, shas


def _file_actor(cfs: Sequence[ChangedFile], ctx: Context) -> Provenance:
    """The most agent-like of the commits that touched `cfs` (the hook's actor before any
    commit exists): who changed a file without adding the line that matters."""
    provs: list[Provenance] = []
    for cf in cfs:
        for sha in cf.commits or tuple(dict.fromkeys(cf.line_commits.values())):
            provs.append(ctx.provenance.get(sha) or Provenance(commit=sha, actor_kind="unknown"))
    best = _most_agent_like(provs)
    if best is None:
        best = ctx.hook_actor or Provenance(commit="", actor_kind="unknown")
    return best


def _touch_without_added_lines(obj: IdentityObject, cf: ChangedFile,
                               base: IdentityObject | None, ctx: Context) -> Touch | None:
    """An identity whose meaning changed although the range added no line inside it: a
    deleted owner tag, an edited `# nhi-gate:` comment above it, a removed Deny statement.
    The actor is the most agent-like of the commits that touched the file (fail-closed)."""
    if base is None or _semantics(base) == _semantics(obj):
        return None
    best = _file_actor([cf], ctx)
    return Touch((), best.actor_kind, best.commit or None, best.agent,
                 (best.commit,) if best.commit else ())


def _input_touch(obj: IdentityObject, base: IdentityObject | None,
                 files: Mapping[str, ChangedFile], ctx: Context) -> Touch | None:
    """How a change of the module values `obj` reads (`IdentityObject.inputs`) touched it.

    An input whose definition lines the change added touches `obj`, attributed to whoever
    wrote those lines. Else, when `obj` means something else than at base, its values come
    from other definitions than at base (a removed `.tfvars` override, a deleted local), and
    one of those files changed: whoever touched it. None when no input changed.
    """
    provs: list[Provenance] = []
    shas: list[str] = []
    via: list[str] = []
    for name, where in obj.inputs:
        cf = files.get(where.path)
        lines = cf.added_within(where.start_line, where.end_line) if cf is not None else ()
        if cf is None or not lines:
            continue
        found, commits = _lines_actors(cf, lines, ctx)
        provs.extend(found)
        shas.extend(c for c in commits if c not in shas)
        via.append(f"{name} ({where.path}:{where.start_line})")
    moved = base is not None and {(n, w.path) for n, w in obj.inputs} != {
        (n, w.path) for n, w in base.inputs}
    if not via and base is not None and moved and _semantics(base) != _semantics(obj):
        changed: dict[str, ChangedFile] = {}
        for side, inputs in (("", obj.inputs), (" at base", base.inputs)):
            for name, where in inputs:
                cf = files.get(where.path)
                if cf is not None:
                    changed.setdefault(cf.path, cf)
                    via.append(f"{name} ({where.path}:{where.start_line}{side})")
        if changed:
            actor = _file_actor(list(changed.values()), ctx)
            provs.append(actor)
            shas.extend([actor.commit] if actor.commit else [])
    best = _most_agent_like(provs)
    if best is None:
        return None
    return Touch((), best.actor_kind, best.commit or None, best.agent, tuple(shas),
                 tuple(dict.fromkeys(via)))


def _touch(obj: IdentityObject, cf: ChangedFile | None, ctx: Context,
           base: IdentityObject | None = None,
           files: Mapping[str, ChangedFile] | None = None) -> Touch | None:
    """How the change touched `obj` (see the module doc), or None when it did not.

    `cf` is `obj`'s own changed file (None when unchanged); `files` every changed file by path
    (and old path), for `obj`'s inputs. `Touch.lines` are `obj`'s own added lines; the actor is
    the most agent-like of the writers of those lines and of its changed inputs.
    """
    if ctx.mode == "scan":
        return Touch((), None, None, None)
    found: list[Touch] = []
    lines = cf.added_within(obj.location.start_line, obj.location.end_line) if cf else ()
    if cf is not None and lines:
        provs, shas = _lines_actors(cf, lines, ctx)
        best = _most_agent_like(provs)
        assert best is not None
        found.append(Touch(lines, best.actor_kind, best.commit or None, best.agent, tuple(shas)))
    elif cf is not None:
        without = _touch_without_added_lines(obj, cf, base, ctx)
        found.extend([without] if without is not None else [])
    read = obj.inputs or (base is not None and base.inputs)
    via = _input_touch(obj, base, files, ctx) if files and read else None
    found.extend([via] if via is not None else [])
    if not found:
        return None
    best_touch = found[0]
    for touch in found[1:]:
        if ACTOR_RANK[touch.actor_kind or "unknown"] > ACTOR_RANK[
                best_touch.actor_kind or "unknown"]:
            best_touch = touch
    commits = tuple(dict.fromkeys(c for t in found for c in t.commits))
    return replace(best_touch, lines=lines, commits=commits,
                   via=via.via if via is not None else ())


def _lookup(metadata: Mapping[str, str], aliases: Sequence[str]) -> str | None:
    lowered = {k.lower(): v for k, v in metadata.items()}
    for alias in aliases:
        value = lowered.get(alias.lower())
        if value is not None and value.strip():
            return value.strip()
    return None


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


class Emitter:
    """Builds findings for one identity with shared location/provenance fields.

    A rule reads `obj` (the identity at head), `base` (the same address at base, or None when
    the change creates it), `touch` (who wrote its added lines) and `ctx`, and calls `emit`.
    """

    def __init__(self, obj: IdentityObject, touch: Touch, ctx: Context,
                 base: IdentityObject | None = None) -> None:
        self.obj = obj
        self.base = base
        self.touch = touch
        self.ctx = ctx
        self.out: list[Finding] = []

    def line_for(self, line: int | None) -> int:
        """Anchor a result on `line` when it was added (or in scan mode), else the first added line
        of the identity, so GitHub shows it inside the diff."""
        start = self.obj.location.start_line
        candidate = line or start
        if self.ctx.mode == "scan" or not self.touch.lines or candidate in self.touch.lines:
            return candidate
        if start in self.touch.lines:
            return start
        return self.touch.lines[0]

    def emit(self, rule_id: str, default: Level, message: str, attribute: str | None,
             line: int | None = None) -> None:
        """Add a `rule_id` finding on the identity, anchored by `line_for(line)`, at the
        configured level (none when `off`); the message names the changed inputs, if any."""
        level = self.ctx.config.rule_levels.get(rule_id, default)
        if level == "off":
            return
        obj = self.obj
        anchor = self.line_for(line)
        if self.touch.via:  # say where the changed value lives: not in obj's own lines
            message = f"{message}; via {', '.join(self.touch.via)}"
        self.out.append(
            Finding(
                rule_id=rule_id,
                level=level,  # type: ignore[arg-type]
                message=message,
                location=replace(obj.location, start_line=anchor, end_line=anchor),
                address=obj.address,
                attribute=attribute,
                kind=obj.kind,
                platform=obj.platform,
                actor_kind=self.touch.actor_kind,  # type: ignore[arg-type]
                commit=self.touch.commit,
                agent=self.touch.agent,
                fingerprint=fingerprint(rule_id, obj.location.path, obj.address, attribute),
                commits=self.touch.commits,
            )
        )


def _describe_actor(touch: Touch) -> str:
    who = touch.agent or touch.actor_kind or "unknown actor"
    where = f" in commit {touch.commit[:12]}" if touch.commit else ""
    return f"{touch.actor_kind} ({who}){where}" if touch.agent else f"{who}{where}"


def rule_approval(em: Emitter) -> None:
    """NHI101: an identity an agent or bot created or changed (approval is applied later)."""
    touch, obj = em.touch, em.obj
    if em.ctx.mode == "scan" or touch.actor_kind not in ("agent", "bot"):
        return
    if obj.derived_from is not None:  # a secret-material facet: NHI31x/NHI4xx judge it
        return
    verb = "created" if em.base is None else "changed"
    em.emit(
        "NHI101",
        "error",
        f"{obj.address} ({obj.platform} {obj.kind}) was {verb} by {_describe_actor(touch)} "
        "without a human's approval",
        None,
    )


def rule_metadata(em: Emitter) -> None:
    """NHI201/NHI202/NHI203: owner, ticket and expiry the catalogue entry requires."""
    obj, ctx = em.obj, em.ctx
    entry = ctx.catalogue.find(obj.type)
    requires = entry.requires if entry else ()
    where = None  # metadata findings sit on the identity's first line (or first added line)
    for key, rule_id in (("owner", "NHI201"), ("ticket", "NHI202")):
        if key not in requires:
            continue
        spec = ctx.config.required_metadata[key]
        value = _lookup(obj.metadata, spec.aliases)
        aliases = ", ".join(spec.aliases[:3])
        if value is None:
            em.emit(rule_id, "error",
                    f"{obj.address} has no {key} (looked for {aliases} in tags, labels, "
                    "annotations, description and an `# nhi-gate:` comment)", key, where)
        elif spec.pattern is not None and not spec.pattern.search(value):
            em.emit(rule_id, "error",
                    f"{obj.address} has a {key} that does not match the required pattern "
                    f"{spec.pattern.pattern}", key, where)
    _rule_expiry(em, "expires" in requires, where)


def _rule_expiry(em: Emitter, required: bool, where: int | None) -> None:
    obj, ctx = em.obj, em.ctx
    max_days = ctx.config.max_lifetime_days
    spec = ctx.config.required_metadata["expires"]
    value = _lookup(obj.metadata, spec.aliases)
    native = obj.lifetime
    if native is not None and native.hours is not None and native.hours / 24 > max_days:
        line = obj.attribute_lines.get(native.attribute or "")
        em.emit("NHI203", "warning",
                f"{obj.address} is valid for {native.hours / 24:g} days "
                f"({native.attribute}), over the {max_days}-day maximum", "expires", line)
        return
    expires = value or (native.expires if native else None)
    if expires is None and native is not None and native.hours is not None:
        return  # a native validity period within the maximum is a declared expiry
    if expires is None:
        if required:
            em.emit("NHI203", "warning",
                    f"{obj.address} declares no expiry (set an expires tag/label or the "
                    f"resource's own end date; at most {max_days} days)", "expires", where)
        return
    date = _parse_date(expires)
    if date is None:
        if value is not None and not value.rstrip("hdms").isdigit():
            em.emit("NHI203", "warning",
                    f"{obj.address} has an expiry that is not an ISO date (YYYY-MM-DD)",
                    "expires", where)
        return
    if date < ctx.today:
        em.emit("NHI203", "warning", f"{obj.address} expired on {date.isoformat()}",
                "expires", where)
    elif (date - ctx.today).days > max_days:
        em.emit("NHI203", "warning",
                f"{obj.address} expires on {date.isoformat()}, more than {max_days} days "
                "from now", "expires", where)


def rule_privilege(em: Emitter) -> None:
    """NHI301: wildcard or admin-equivalent grants, one finding per identity."""
    obj = em.obj
    found = admin_grants(obj, em.ctx.admin_table)
    if not found:
        return
    shown = "; ".join(f"{a.grant} ({a.why})" for a in found[:3])
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    em.emit("NHI301", "error",
            f"{obj.address} grants wildcard or admin privileges: {shown}{more}",
            "privileges", found[0].grant.line)


#: Per-identity rules, run in this order on every judged identity. Add a rule by adding a
#: function here (or in a `checker/checks/` module imported here); the loop never changes.
IdentityRule = Callable[[Emitter], None]
IDENTITY_RULES: tuple[IdentityRule, ...] = (
    rule_approval,
    rule_metadata,
    rule_privilege,
    rule_drift,
    rule_static_credential,
    rule_ci,
    rule_secret_material,
    rule_workload_identity,
)

#: Rules over all identities at once (joins across files), given the judged identities and
#: the set of (path, address) the change touched. Each returns its findings.
CrossRule = Callable[[Sequence[IdentityObject], Mapping[tuple[str, str], Touch], Context],
                     list[Finding]]
CROSS_RULES: tuple[CrossRule, ...] = (rule_cross_environment, rule_token_automount)


def evaluate(
    head: Sequence[IdentityObject],
    base: Sequence[IdentityObject],
    ctx: Context,
) -> tuple[list[Finding], list[IdentityObject]]:
    """Judge every identity at head; return (findings, identities with environment set).

    `base` holds the identities parsed from the base versions of the same files (renames under
    their head path): an identity with no base twin is "created", else "changed".
    """
    files = {cf.path: cf for cf in ctx.changeset.files}
    # Inputs read at base name base paths: a renamed or deleted value file is found there too.
    inputs_files = {**{cf.old_path: cf for cf in ctx.changeset.files if cf.old_path}, **files}
    base_index = {(o.location.path, o.address): o for o in base}
    findings: list[Finding] = []
    judged: list[IdentityObject] = []
    touched: dict[tuple[str, str], Touch] = {}
    for raw in head:
        obj = replace(raw, environment=raw.environment or infer_environment(raw, ctx.config))
        judged.append(obj)
        twin = base_index.get((obj.location.path, obj.address))
        touch = _touch(obj, files.get(obj.location.path), ctx, twin, inputs_files)
        if touch is None:
            continue
        touched[(obj.location.path, obj.address)] = touch
        em = Emitter(obj, touch, ctx, base_index.get((obj.location.path, obj.address)))
        for rule in IDENTITY_RULES:
            rule(em)
        findings.extend(em.out)
    for cross in CROSS_RULES:
        findings.extend(cross(judged, touched, ctx))
    return findings, judged


def problem_findings(problems: Sequence[ParseProblem], config: Config) -> list[Finding]:
    """NHI9xx findings for files that could not be analysed (fail-closed: never silent)."""
    out: list[Finding] = []
    for p in problems:
        level = config.rule_levels.get(p.rule_id, "error")
        if level == "off":
            continue
        out.append(
            Finding(
                rule_id=p.rule_id,
                level=level,  # type: ignore[arg-type]
                message=p.message,
                location=_loc(p),
                fingerprint=fingerprint(p.rule_id, p.path, None, None),
            )
        )
    return out


def _loc(p: ParseProblem) -> Location:
    return Location(p.path, p.line, p.line)
