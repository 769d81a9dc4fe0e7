"""GitHub Actions workflows (`.github/workflows/*.yml`) -> IdentityObjects.

What counts is data in `rules/catalogue/github_actions.yaml`: the constructs
`workflow_permissions` and `oidc_token`, and one entry per credential action, keyed by the
lower-cased `uses:` path without its `@ref` (`aws-actions/configure-aws-credentials`,
`google-github-actions/auth`, `azure/login`, ...). A construct that is not catalogued is skipped.

Shapes produced (`<path>` is `SourceFile.path`):
- `workflow_permissions` (the GITHUB_TOKEN grant): address `<path>#permissions` for the top-level
  block, `<path>#jobs.<id>.permissions` for a job's; location = the block; one
  `Grant("<scope>:<level>", "repository")` per scope at its line (`none` grants nothing),
  `write-all`/`read-all` -> `Grant("*:write")`/`Grant("*:read")`.
- `oidc_token`: a permissions block granting `id-token: write` (or `write-all`): address
  `<path>#permissions.id-token` (top level) or `<path>#jobs.<id>`; location = the `id-token`
  line (the `write-all` line); `attribute_lines["permissions.id-token"]`; `Grant("id-token:write")`;
  `references` = the credential steps that can use the token.
- credential steps: address `<path>#jobs.<id>.steps[<index>]` (0-based); location = the step
  (its first key to its last line); `attribute_lines` for every step key and `with.<input>`;
  `references` = the identities it names (role ARN, service account, workload identity
  provider, client id: identifiers, never secrets) and the OIDC token it can use;
  `privileges`: AWS `sts:AssumeRoleWithWebIdentity` (or `sts:AssumeRole` with static keys) on
  `role-to-assume`, GCP `roles/iam.workloadIdentityUser` on the service account;
  `secret_sinks`: `literal:with.<input>` for a secret-like input written as a literal rather
  than a `${{ ... }}` expression (the value itself is never kept); `frame_digest`, the
  step without the commit SHA its action is pinned to ("" when not pinned by a SHA).
- A composite action (`action.yml` with `runs.using: composite`): its `runs.steps` are read as
  one job's steps, addressed `<path>#runs.steps[<index>]`, each with
  `attribute_lines["runs.using"]` (the calling job decides `environment` and permissions).
- Repository secrets a job holds (`checker.parsers.github_secrets`; the workflow's `env:`
  counts for every job): address
  `<job>.secrets.<NAME>`, type `repository_cloud_keys` (platform the key's provider),
  `repository_pat` or `repository_secret`; location = the first use; `attribute_lines`
  `use.<via>` per use and `to.<uses@ref>` per action or called workflow it reaches; in a job
  with an `environment:`, `references` `environment:<name>` and that line an input (the name
  may resolve to the environment's secret).
- A credential a step's `run:` mints (`checker.parsers.ci_minted`: `kubectl create token`,
  `aws iam create-access-key`, ...): address `<step>.mints.<platform>`, type
  `ci_minted_credential`; location = the command's line; `lifetime` as the command states it.
- Access a step's `run:` grants (`checker.parsers.ci_grants`, `aws iam attach-role-policy`,
  ...): address `<step>.grants.<platform>`, type `ci_granted_access`, at the command's line.
- The workflow-level OIDC object: `attribute_lines["jobs.<id>"]` for every job.
- Every object: `attribute_lines["on.<event>"]` for each trigger (the `on:` key is read by its
  text, not as YAML 1.1's boolean True); `environment` = the job's `environment` name;
  `metadata` from `# nhi-gate: k=v` comments above the object, its job, and the workflow's first
  key (nearest wins).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from yaml.nodes import MappingNode, Node

from checker.lazy_patterns import lazy_compile
from checker.model import Grant, IdentityObject, Lifetime, Location, ParseResult, SourceFile
from checker.parsers import ci_grants, ci_minted, common
from checker.parsers import github_keys as keys
from checker.parsers.ci_tf_inputs import Callees, terraform_inputs
from checker.parsers.github_guards import guarded, triggers
from checker.parsers.github_secrets import SecretUse, job_secrets
from checker.policy.catalogue import Catalogue, CatalogueEntry
from checker.safeyaml import (
    end_line_of,
    get,
    get_entry,
    items,
    line_of,
    load_source,
    scalar,
    scalar_text,
    sequence,
)

FORMAT = "github_actions"
PERMISSIONS = "workflow_permissions"
OIDC = "oidc_token"
#: Catalogue type of a credential a step's script mints (`checker.parsers.ci_minted`).
MINTED = "ci_minted_credential"
#: Catalogue type of access a step's script grants (`checker.parsers.ci_grants`).
GRANTED = "ci_granted_access"
#: `SecretUse.role` -> catalogue type of the identity (`checker.parsers.github_secrets`).
SECRET_TYPES = {"cloud": "repository_cloud_keys", "pat": "repository_pat",
                "secret": "repository_secret"}

#: Inputs whose literal value would be secret material in the workflow file, by how their name
#: ends (`aws-secret-access-key`, `aws-session-token`, `credentials_json`, `creds`, `secretId`,
#: `password`); `token_format` or `web-identity-token-file` are not secrets and do not match.
_SECRET_INPUT = lazy_compile(
    r"(?i)(secret|password|token|private[-_]?key|secret[-_]?access[-_]?key|creds"
    r"|credentials(_json)?|secret[-_]?id)$"
)
#: Inputs that name an identity (not secret): kept as references.
_IDENTITY_INPUTS = ("role-to-assume", "workload_identity_provider", "service_account",
                    "client-id")


def parse(source: SourceFile, catalogue: Catalogue, callees: Callees | None = None
          ) -> ParseResult:  # fmt: skip
    """Find the credentials and token grants in one workflow file.

    Reads the first mapping document of the file; a `jobs:` that is null, jobs without
    `steps`, and reusable-workflow jobs (`uses:` at job level) are handled. Returns objects in
    file order and at most one `ParseProblem` (NHI901/NHI902/NHI903). `callees` are the local
    reusable workflows and actions that hand `with:` inputs to Terraform
    (`ci_tf_inputs.callee_inputs`).
    """
    stream = load_source(source)
    problems = (stream.problem,) if stream.problem is not None else ()
    for root in stream.documents:
        if isinstance(root, MappingNode):
            walker = _Workflow(source.path, stream.lines, catalogue, root, callees)
            return ParseResult(tuple(walker.objects()), problems)
    return ParseResult((), problems)


class _Workflow:
    """One pass over a workflow document; holds the context every object shares."""

    def __init__(self, path: str, lines: list[str], catalogue: Catalogue, root: MappingNode,
                 callees: Callees | None = None):
        self.path = path
        self.callees = callees
        self.lines = lines
        self.catalogue = catalogue
        self.root = root
        self.triggers = keys.trigger_lines(root)
        self.on = triggers(root)  # `guard:on=...` facts (`github_guards`)
        first = root.value[0][0] if root.value else root
        self.workflow_meta = common.comment_metadata(lines, line_of(first))

    def objects(self) -> list[IdentityObject]:
        top_objects: list[IdentityObject] = []
        top = get_entry(self.root, "permissions")
        top_oidc: str | None = None
        if top is not None:
            top_objects = self._permissions(
                top, f"{self.path}#permissions", None, {},
                oidc_address=f"{self.path}#permissions.id-token",
            )
            if keys.grants_id_token(top[1]):
                top_oidc = f"{self.path}#permissions.id-token"
        job_objects: list[IdentityObject] = []
        inheriting: list[str] = []
        for job_id, job_key, job in items(get(self.root, "jobs")):
            objects, inherited = self._job(job_id, job_key, job, top_oidc)
            job_objects.extend(objects)
            inheriting.extend(inherited)
        runs = get_entry(self.root, "runs")
        using = get_entry(runs[1], "using") if runs is not None else None
        if using is not None and runs is not None and (
            (scalar_text(using[1]) or "").lower() == "composite"
        ):
            self.triggers = {**self.triggers, "runs.using": line_of(using[0])}
            objects, _ = self._job("runs", runs[0], runs[1], None, f"{self.path}#runs")
            job_objects.extend(objects)
        jobs = {f"jobs.{jid}": line_of(key) for jid, key, _ in items(get(self.root, "jobs"))}
        top_objects = [
            replace(_with_references(o, tuple(inheriting)),
                    attribute_lines={**o.attribute_lines, **jobs}) if o.type == OIDC else o
            for o in top_objects
        ]
        return top_objects + job_objects

    def _job(
        self, job_id: str, job_key: Node, job: Node, top_oidc: str | None,
        prefix: str | None = None,
    ) -> tuple[list[IdentityObject], list[str]]:
        """The job's objects, and its credential steps that use the top-level OIDC token."""
        job_meta = common.comment_metadata(self.lines, line_of(job_key))
        environment = keys.environment(get(job, "environment"))
        workflow_env = None if prefix else get(self.root, "env")  # a composite's has none
        prefix = prefix or f"{self.path}#jobs.{job_id}"
        steps = [
            obj
            for index, step in enumerate(sequence(get(job, "steps")))
            if (obj := self._step(step, f"{prefix}.steps[{index}]", job_meta, environment))
        ]
        held = job_secrets(job, lambda uses: self._action_entry(uses) is not None,
                           workflow_env, keys.token_writes(
                               get(job, "permissions"), get(self.root, "permissions")))
        env_key = get_entry(job, "environment")
        steps += [o for u in held if (o := self._secret(
            u, prefix, job_meta, environment, line_of(env_key[0]) if env_key else None))]
        for index, step in enumerate(sequence(get(job, "steps"))):
            at, run = f"{prefix}.steps[{index}]", get(step, "run")
            steps += [o for m in ci_minted.minted(run) if (o := self._scripted(
                MINTED, f"{at}.mints.{m.platform}", m.line, m.platform, job_meta, environment,
                m.lifetime))]
            steps += [o for g in ci_grants.granted(run) if (o := self._scripted(
                GRANTED, f"{at}.grants.{g.key}", g.line, g.platform, job_meta, environment,
                grants=g))]
        tf = terraform_inputs(self.path, self.lines, prefix, job_key, job, workflow_env,
                              self.callees)
        extra = [tf] if tf is not None else []  # NHI106
        perms = get_entry(job, "permissions")
        if perms is None:
            if top_oidc is None:
                return steps + extra, []
            steps = guarded([_with_references(s, (top_oidc,)) for s in steps], job, prefix,
                            self.on, top_oidc, _SECRET_INPUT)
            return steps + extra, [s.address for s in steps]
        out = self._permissions(perms, f"{prefix}.permissions", environment, job_meta, prefix)
        if keys.grants_id_token(perms[1]):
            step_refs = tuple(s.address for s in steps)
            out = [_with_references(o, step_refs) if o.type == OIDC else o for o in out]
            steps = guarded([_with_references(s, (prefix,)) for s in steps], job, prefix,
                            self.on, prefix, _SECRET_INPUT)
        return out + steps + extra, []

    def _permissions(
        self,
        entry: tuple[Node, Node],
        address: str,
        environment: str | None,
        outer_meta: Mapping[str, str],
        oidc_address: str | None = None,
    ) -> list[IdentityObject]:
        key, value = entry
        key_line_ = line_of(key)
        block_meta = _merge(
            common.comment_metadata(self.lines, key_line_), outer_meta, self.workflow_meta
        )
        scopes = keys.scopes(value, key_line_)
        out: list[IdentityObject] = []
        perms_entry = self._entry(PERMISSIONS)
        if perms_entry is not None:
            lines = {"permissions": key_line_}
            lines.update({f"permissions.{s}": n for s, _, n in scopes if s != "*"})
            out.append(
                self._object(
                    perms_entry,
                    address,
                    key_line_,
                    max(key_line_, end_line_of(value, self.lines)),
                    block_meta,
                    lines,
                    tuple(
                        Grant(f"{s}:{level}", "repository", line=n)
                        for s, level, n in scopes
                        if level != "none"
                    ),
                    environment,
                )
            )
        oidc_entry = self._entry(OIDC)
        token_line = next(
            (n for s, level, n in scopes if s in ("id-token", "*") and level == "write"), None
        )
        if oidc_entry is not None and token_line is not None:
            meta = _merge(common.comment_metadata(self.lines, token_line), block_meta)
            out.append(
                self._object(
                    oidc_entry,
                    oidc_address or address,
                    token_line,
                    token_line,
                    meta,
                    {"permissions": key_line_, "permissions.id-token": token_line},
                    (Grant("id-token:write", "repository", line=token_line),),
                    environment,
                )
            )
        return out

    def _step(
        self, step: Node, address: str, job_meta: Mapping[str, str], environment: str | None
    ) -> IdentityObject | None:
        uses = scalar(get(step, "uses"))
        if not uses or not isinstance(step, MappingNode):
            return None
        entry = self._action_entry(uses)
        if entry is None:
            return None
        start = line_of(step.value[0][0])
        inputs = get(step, "with")
        lines = {name: line_of(key) for name, key, _ in items(step)}
        lines.update({f"with.{name}": line_of(key) for name, key, _ in items(inputs)})
        values = {name: scalar_text(value) for name, _, value in items(inputs)}
        sinks = tuple(
            f"literal:with.{name}"
            for name, text in values.items()
            if text and _SECRET_INPUT.search(name) and "${{" not in text
        )
        references = tuple(v for n in _IDENTITY_INPUTS if (v := values.get(n)) and "${{" not in v)
        obj = self._object(
            entry,
            address,
            start,
            max(start, end_line_of(step, self.lines)),
            _merge(common.comment_metadata(self.lines, start), job_meta, self.workflow_meta),
            lines,
            keys.step_grants(entry, values, lines),
            environment,
        )
        return replace(_replace(obj, references=references, secret_sinks=sinks),
                       frame_digest=keys.unpinned_digest(step))

    def _secret(self, use: SecretUse, prefix: str, job_meta: Mapping[str, str],
                environment: str | None, env_line: int | None = None
                ) -> IdentityObject | None:  # fmt: skip
        """A repository secret the job holds: `<prefix>.secrets.<NAME>`, at its first use;
        `attribute_lines` `use.<via>` per use and `to.<uses>` per action it reaches. In a job
        with an `environment:` (at `env_line`) the name may resolve to that environment's
        secret: `references` `environment:<name>` and the `environment` line an input
        (https://docs.github.com/en/actions/deployment/targeting-different-environments/using-environments-for-deployment)."""
        entry = self._entry(SECRET_TYPES[use.role])
        if entry is None:
            return None
        lines = {f"use.{via}": n for via, n in use.lines.items()}
        lines.update({f"to.{uses}": n for uses, n in use.handed_to.items()})
        lines.update({"environment": env_line} if env_line is not None else {})
        start = use.first_line
        obj = self._object(entry, f"{prefix}.secrets.{use.name}", start, start,
                           _merge(common.comment_metadata(self.lines, start), job_meta,
                                  self.workflow_meta), lines, (), environment)
        if environment is None or env_line is None:
            return replace(obj, platform=use.platform)
        return replace(obj, platform=use.platform, references=(f"environment:{environment}",),
                       inputs=(("environment", Location(self.path, env_line, env_line)),))

    def _scripted(self, type_: str, address: str, line: int, platform: str,
                  job_meta: Mapping[str, str], environment: str | None,
                  lifetime: Lifetime | None = None, grants: ci_grants.Granted | None = None
                  ) -> IdentityObject | None:  # fmt: skip
        """A credential a step's script mints (`MINTED`, with the `lifetime` its command states)
        or access it grants (`GRANTED`: `grants`), at the command's `line`."""
        entry = self._entry(type_)
        if entry is None:
            return None
        obj = self._object(entry, address, line, line, _merge(common.comment_metadata(
            self.lines, line), job_meta, self.workflow_meta), {"run": line},
            grants.grants if grants else (), environment)
        obj = replace(obj, platform=platform, lifetime=lifetime)
        return grants.applied(obj) if grants else obj

    def _entry(self, type_: str) -> CatalogueEntry | None:
        return self.catalogue.get(FORMAT, type_)

    def _action_entry(self, uses: str) -> CatalogueEntry | None:
        action = uses.split("@", 1)[0].strip().lower().rstrip("/")
        if action.startswith(("./", "docker://")):
            return None
        entry = self._entry(action)
        if entry is None:
            owner_repo = "/".join(action.split("/")[:2])
            entry = self._entry(owner_repo) if owner_repo != action else None
        return entry

    def _object(
        self,
        entry: CatalogueEntry,
        address: str,
        start: int,
        end: int,
        metadata: Mapping[str, str],
        attribute_lines: Mapping[str, int],
        privileges: tuple[Grant, ...],
        environment: str | None,
    ) -> IdentityObject:
        lines = dict(self.triggers)
        lines.update(attribute_lines)
        return IdentityObject(
            kind=entry.kind,
            platform=entry.platform,
            type=entry.type,
            address=address,
            location=Location(self.path, start, end),
            metadata=dict(metadata),
            attribute_lines=lines,
            privileges=privileges,
            environment=environment,
        )


def _merge(*layers: Mapping[str, str]) -> dict[str, str]:
    """Metadata from several comment layers, the first (nearest) winning."""
    out: dict[str, str] = {}
    for layer in layers:
        for key, value in layer.items():
            out.setdefault(key, value)
    return out


def _with_references(obj: IdentityObject, refs: tuple[str, ...]) -> IdentityObject:
    return _replace(obj, references=tuple(dict.fromkeys((*obj.references, *refs))))


def _replace(
    obj: IdentityObject,
    *,
    references: tuple[str, ...] | None = None,
    secret_sinks: tuple[str, ...] | None = None,
) -> IdentityObject:
    return replace(
        obj,
        references=obj.references if references is None else references,
        secret_sinks=obj.secret_sinks if secret_sinks is None else secret_sinks,
    )
