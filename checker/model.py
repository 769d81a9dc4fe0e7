"""The normalised model shared by every stage (DESIGN.md "Vocabulary").

Everything that crosses a module boundary is one of these frozen dataclasses. Parsers build
`IdentityObject`s from `SourceFile`s; git builds a `ChangeSet`; provenance turns commits into
`Provenance`; rules turn identities into `Finding`s; the gate turns findings into a `Verdict`.
Positions are 1-based lines and live here, never inside parsed user data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Literal, NamedTuple

from checker.change import ActorKind

Level = Literal["error", "warning", "note"]
FileFormat = Literal[
    "terraform", "terraform_json", "terraform_vars", "terraform_state", "hcl", "kubernetes",
    "github_actions", "gitlab_ci", "secret_values", "secret_template", "mcp_config",
]  # fmt: skip

#: Identity kinds (DESIGN.md vocabulary) plus `policy`: a standalone grant document (an IAM
#: policy, a Kubernetes Role/ClusterRole) that defines privileges without being an identity.
KINDS = ("service_account", "user", "role", "access_key", "api_token", "certificate",
         "private_key", "secret", "role_binding", "policy", "oidc_trust", "ci_credential")
#: `IdentityObject.type` prefix of a Terraform facet nhi-gate cannot read (a provisioner's or
#: `external` program's command, a remote module call, a var file no module reads): judged by
#: NHI106 only (`checker.parsers.terraform.unread`), never listed by `inventory`.
UNREAD = "unread:"
PROVIDER = "provider:"  # a `provider` block's facet (parsers/terraform/providers.py)
EXCLUDED_TOKENS = "excluded_format_tokens"  # `exclude:`d file's secret scan: format tokens
DEPLOYED = "deployed by "  # `Unresolved.reason` prefix: what a GitOps object deploys
ADMISSION = "admission:"  # an admission policy or webhook facet: NHI302 only, no inventory
PLATFORMS = ("aws", "gcp", "azure", "kubernetes", "github", "gitlab", "vault", "tls", "generic")
LEVEL_RANK: Mapping[str, int] = {"note": 1, "warning": 2, "error": 3}
#: `IdentityObject.secret_sinks` of a pod spec or ServiceAccount (parsers/kubernetes/workloads.py,
#: host_paths.py, node_access.py: sources there; judged by checks/workloads.py): the API token
#: unless `automountServiceAccountToken: false`; `PROJECTED_TOKEN<volume>|<audience>|<expiration
#: Seconds>`; `HOST_CREDENTIAL<volume>|<path>`; `NODE_ACCESS<setting>|<container>`.
TOKEN_MOUNT = "automount:/var/run/secrets/kubernetes.io/serviceaccount"
PROJECTED_TOKEN, HOST_CREDENTIAL = "projected-token:", "host-credential:"
NODE_ACCESS, VOLUME = "node-access:", "volume:"  # VOLUME: a volume facet type, no inventory


@dataclass(frozen=True)
class Location:
    """A span of lines in one file.

    `path` is relative to the repository (or scan) root and `/`-separated; `start_line` and
    `end_line` are 1-based and inclusive.
    """

    path: str
    start_line: int
    end_line: int


@dataclass(frozen=True)
class SourceFile:
    """One file's content at one revision.

    `raw` is the bytes as stored (git blob or file on disk); `revision` is the commit sha it was
    read from, or None for the working tree / scan mode.
    """

    path: str
    raw: bytes
    revision: str | None = None


@dataclass(frozen=True)
class Grant:
    """One normalised privilege.

    `action` is platform-native: an AWS action (`s3:GetObject`, `*`), a managed policy ARN
    (`arn:aws:iam::aws:policy/AdministratorAccess`), a GCP role (`roles/owner`), an Azure role
    name (`Owner`), a Kubernetes verb (`get`) or a Kubernetes role reference
    (`ClusterRole/cluster-admin`). `resource` is what it applies to (`*`, an ARN, `secrets`,
    a project); `effect` is `allow` or `deny`; `not_action` marks an IAM `NotAction` statement.
    `line` is the 1-based line of the statement or attribute that grants it. `conditions` are
    the IAM `Condition` entries of its statement as sorted `Operator:key` strings
    (`StringEquals:aws:SourceVpce`, `Bool:aws:SecureTransport`), never their values: a grant
    with conditions applies only when each holds (empty = unconditional). Source:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    """

    action: str
    resource: str = "*"
    effect: Literal["allow", "deny"] = "allow"
    not_action: bool = False
    line: int | None = None
    conditions: tuple[str, ...] = ()

    def __str__(self) -> str:
        verb = "not " + self.action if self.not_action else self.action
        prefix = "deny " if self.effect == "deny" else ""
        when = f" when {' and '.join(self.conditions)}" if self.conditions else ""
        return f"{prefix}{verb} on {self.resource}{when}"


@dataclass(frozen=True)
class Lifetime:
    """How long a credential lives, as declared natively by the resource.

    `expires` is an ISO-8601 date or timestamp string when the resource states an end date;
    `hours` is a validity period in hours (e.g. `validity_period_hours`); `attribute` names the
    attribute that declared it.
    """

    expires: str | None = None
    hours: float | None = None
    attribute: str | None = None


@dataclass(frozen=True)
class Trust:
    """Who may assume, or federate into, an identity (an AWS trust policy statement, an Azure
    federated credential, a GCP workload identity provider).

    `principal` is `<type>:<value>` as written: `AWS:arn:aws:iam::123456789012:root`, `AWS:*`,
    `Service:ec2.amazonaws.com`, `Federated:arn:aws:iam::1:oidc-provider/token.actions...`,
    `Issuer:https://token.actions.githubusercontent.com`; an IAM `NotPrincipal` (every principal
    but this one) is `NotPrincipal:<type>:<value>`. `subjects` are the OIDC subject
    patterns the trust is limited to (`repo:org/app:ref:refs/heads/main`; empty = any subject
    of that principal). `line` is the 1-based line of the statement or attribute.
    `conditions` are the statement's IAM conditions as sorted `Operator:key` strings
    (`StringEquals:token.actions.githubusercontent.com:aud`, `StringEquals:sts:ExternalId`),
    never their values; each limits who may assume it (empty = none).
    """

    principal: str
    subjects: tuple[str, ...] = ()
    line: int | None = None
    conditions: tuple[str, ...] = ()


class Unresolved(NamedTuple):
    """One value in an identity's grant-, trust-, role- or principal-bearing attributes that
    nhi-gate cannot compute (`IdentityObject.unresolved`, judged by NHI106).

    `attribute` is the attribute path (`policy`, `statement.actions`, `role_ref.name`);
    `expression` the unresolved part as written (`data.aws_ssm_parameter.roles.value`,
    `concat(...)`; through a non-literal local: `local.roles -> module.iam.arn`), never a
    literal value; `reason` one of `unknown function <name>()`, `output of remote module <name>
    (<source>)`, `data source <type>.<name>`, `computed by the provider: <type>.<name>.<attr>`,
    `DEPLOYED` + what a GitOps object deploys; `line` the attribute's 1-based line.
    """

    attribute: str
    expression: str
    reason: str
    line: int | None = None


@dataclass(frozen=True)
class IdentityObject:
    """One identity or credential definition found by a parser.

    Shapes:
    - `kind`: one of `KINDS`; `platform`: one of `PLATFORMS`; `type`: the source's own type
      name (`aws_iam_user`, `ServiceAccount`, `workflow_permissions`).
    - `address`: stable within a file: `aws_iam_user.deploy`, `module.iam_user`,
      `ServiceAccount/payments/deployer`, `.github/workflows/ci.yml#jobs.deploy`.
    - `location`: the whole block or object; `start_line` is where findings on the identity go.
    - `metadata`: governance key/values from tags, labels, annotations, `key=value` pairs in a
      description-like field, and a `# nhi-gate: k=v ...` comment directly above the object.
      Keys are kept as written; lookups are case-insensitive.
    - `attribute_lines`: attribute path (`tags`, `policy`, `roleRef`, `permissions.id-token`)
      -> 1-based line, so rules can point at the offending attribute.
    - `privileges`: normalised grants; `lifetime`: native lifetime if declared.
    - `environment`: inferred later from config (path globs, namespaces); parsers leave None
      unless the source names it (a Kubernetes namespace hint goes into `namespace`).
    - `references`: addresses this object refers to (`aws_iam_user.deploy` for a key).
    - `secret_sinks`: where secret material flows (filled by later analysis).
    - `trust`: who may assume or federate into it (see `Trust`); `usages`: key usages a
      certificate or key may serve (`server_auth`, `client auth`, `digital_signature`).
    - `principals`: literal identifiers of identities this object names, comparable across
      files and environments: `gcp-sa:ci@p.iam.gserviceaccount.com`,
      `aws-role:arn:aws:iam::123456789012:role/ci`, `azure-id:<guid>`,
      `k8s-sa:<namespace>/<name>`.
    """

    kind: str
    platform: str
    type: str
    address: str
    location: Location
    metadata: Mapping[str, str] = field(default_factory=dict)
    attribute_lines: Mapping[str, int] = field(default_factory=dict)
    privileges: tuple[Grant, ...] = ()
    lifetime: Lifetime | None = None
    environment: str | None = None
    namespace: str | None = None
    references: tuple[str, ...] = ()
    secret_sinks: tuple[str, ...] = ()
    trust: tuple[Trust, ...] = ()
    usages: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    #: Module values the parser substituted into this object's privileges: (`local.NAME` or
    #: `var.NAME`, the Location of the definition used: a `locals` attribute, a variable's
    #: `default`, a `.tfvars` line), first use first; then the non-literal locals and the data
    #: source blocks its `unresolved` values read (`local.NAME`, `data.TYPE.NAME`). A change to
    #: one of those lines changes the identity although its own file is unchanged
    #: (`checker.checks.engine` judges it then).
    inputs: tuple[tuple[str, Location], ...] = ()
    #: What the source block says, without positions, whitespace, comments or attribute order,
    #: with the module values it reads substituted where they resolve: a hex digest, equal at
    #: base and head when the change only moved, re-aligned or reordered the block (or renamed
    #: a value to one with the same content). "" when the parser computes none (never cosmetic).
    digest: str = ""
    #: `digest` of everything but the attributes that carry the grants (policy documents,
    #: custom-role permissions), for block types where those alone carry them (equal when only
    #: the grants changed: then a change that grants nothing new is a narrowing); for a GitHub
    #: Actions step pinned by a commit SHA, the step without that SHA (a re-pin); "" elsewhere.
    frame_digest: str = ""
    #: `digest` without the attributes that only carry governance metadata (`tags`, `tags_all`,
    #: `labels`, `description`); "" when the parser computes none. Equal at base and head when
    #: a change touched only those: a metadata-only change, which grants nothing.
    untagged_digest: str = ""
    #: Module variables its tag/label maps come from, which the module's caller sets: (`var.NAME`,
    #: the `variable` block), when a tag map is exactly such variables merged with literal maps
    #: (`tags = var.tags`, `tags = merge(var.tags, { Name = "x" })`) and no `.tfvars` file of
    #: the directory sets them. Inside a reusable module the caller supplies that metadata
    #: (NHI201/NHI202 judge it once per module).
    metadata_from: tuple[tuple[str, Location], ...] = ()
    #: The `permissions_boundary` an AWS role or user declares (a policy ARN or expression, as
    #: written or resolved from a module value), None when it declares none. The boundary caps
    #: what its grants allow, so removing or changing it may widen access (checks decide).
    #: Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
    boundary: str | None = None
    #: Set on facets found by the secret-material scan (`checker.secrets.scan`): the address of
    #: the file or block the fact is about. Judged by the NHI31x/NHI4xx rules, never as
    #: identities needing approval of their own (NHI101 covers the identity itself).
    derived_from: str | None = None
    #: Values of its grant-, trust-, role- or principal-bearing attributes not computed after
    #: module values are substituted (`Unresolved`; `parsers.terraform.unresolved`), in order.
    unresolved: tuple[Unresolved, ...] = ()
    #: Whom a binding that lists its members binds, as written or resolved from module values
    #: (`google_*_iam_binding` `members`: `user:a@x.com`, `serviceAccount:...`; not computed:
    #: `${...}`), sorted; () elsewhere. `frame_digest` leaves them out (fewer is a narrowing).
    bound: tuple[str, ...] = ()
    #: The kustomization or chart file a rendered object came from (its address prefix), else "".
    rendered_by: str = ""
    #: A Terraform block whose `count` is 0 or `for_each` empty (known): read as written (a caller
    #: may turn it on); turning a live one off is a removal (`checks/drift.py`: a note).
    dormant: bool = False
    #: An AWS role's `max_session_duration`, seconds as a string (AWS's default `"3600"` when
    #: unset) or the expression when not computed; None elsewhere. Not in its digests: compared
    #: by `checks/drift.py` (shorter narrows, longer widens; parsers/terraform/lifetime.py).
    session: str | None = None
    environment_digest: str = ""  # ARN partition/region/account neutral: arn_environment.py


@dataclass(frozen=True)
class ModuleSources:
    """The files of one module directory that may define values.

    `directory` is the posix directory (`""` for the repository or scan root); `sources` are
    its `.tf`/`.tofu` files that may hold `locals`/`variable` blocks and its auto-loaded
    variable definitions files (`terraform.tfvars`, `terraform.tfvars.json`, `*.auto.tfvars`,
    `*.auto.tfvars.json`) and its `-var-file` files (see `variant`), sorted by path. Hashable and
    picklable: parse jobs carry it to a `sources.budget.ParseWorker`, which reads it once per
    process (`checker.parsers.terraform.module_values` is cached). `files` are the files its
    `.tf`/`.tofu` files read with `file()`/`templatefile()` (policy and trust documents), by
    repository path, sorted (`checker.parsers.terraform.files`), and the `.tf`/`.tofu` files
    of the local modules they call (`source = "./modules/iam"`). For a local module read as
    called (`checker.parsers.terraform.callees`), `caller` is the call's address
    (`module.ci`) and `arguments` its arguments: (variable name, the value as JSON, where the
    caller sets it); they replace the variables' defaults.
    """

    directory: str
    sources: tuple[SourceFile, ...]
    files: tuple[SourceFile, ...] = ()
    caller: str = ""
    arguments: tuple[tuple[str, str, Location], ...] = ()
    #: The path of one `-var-file` file among `sources` (`prod.tfvars`, `envs/ci.tfvars`:
    #: `checker.parsers.common.is_var_file`) whose values are applied after the auto-loaded
    #: ones; "" for the auto-loaded values alone (only `variant`'s var file values are read).
    variant: str = ""


@dataclass(frozen=True)
class ParseProblem:
    """A file, or part of one, that could not be analysed.

    `rule_id`: NHI901 syntax error, NHI902 not text, NHI903 over a budget, NHI107 a template or
    unrendered chart (level by actor; `variant`: a docs variant set where found, e.g. `inert`).
    `line` is 1-based (1 when unknown); the message never quotes file content. When only part
    of the file could not be read, `end_line` is that part's last line and `address` names it.
    """

    path: str
    rule_id: str
    message: str
    line: int = 1
    end_line: int | None = None
    address: str | None = None
    variant: str | None = None


@dataclass(frozen=True)
class ParseResult:
    """What a parser returns for one `SourceFile`."""

    objects: tuple[IdentityObject, ...] = ()
    problems: tuple[ParseProblem, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One problem found by a rule.

    `location.start_line` is where the identity (or offending attribute) starts. `attribute` is
    the attribute the finding is about (part of the fingerprint, so it survives moved lines).
    `actor_kind`/`commit` come from provenance (None in scan mode). `blocking` and `approved` are
    set by the gate only.
    """

    rule_id: str
    level: Level
    message: str
    location: Location
    address: str | None = None
    attribute: str | None = None
    kind: str | None = None
    platform: str | None = None
    actor_kind: ActorKind | None = None
    commit: str | None = None
    agent: str | None = None
    blocking: bool = False
    approved: bool = False
    fingerprint: str = ""
    #: Every in-range commit that wrote one of the finding's lines (oldest first); `commit` is
    #: the most agent-like of them. Approval covers a finding only when it covers all of them.
    commits: tuple[str, ...] = ()
    #: Who approved it and how (`@bob (PR review on 1a2b3c4d5e6f)`), set with `approved`.
    approved_by: str | None = None
    #: The changed inputs the finding came through (`Touch.via`), where they are.
    related: tuple[tuple[str, Location], ...] = ()


@dataclass(frozen=True)
class Verdict:
    """The gate's decision: `passed` overall, the findings with `blocking` set, and why."""

    passed: bool
    findings: tuple[Finding, ...]
    reason: str
    problems: tuple[ParseProblem, ...] = ()


@dataclass(frozen=True)
class Waiver:
    """Why an approved finding does not block, for SARIF `result.suppressions[]`: `kind`
    `inSource` (an inline comment) or `external` (a baseline file, a review); `justification`
    the human-written reason (or where the external decision lives); `location` the file and
    line of the comment, or the baseline file."""

    kind: Literal["inSource", "external"]
    justification: str
    location: str


@dataclass(frozen=True)
class WaivedFinding(Finding):
    """A `Finding` that a suppression or baseline approved, carrying its `Waiver`: a subclass,
    so code that only knows `Finding` keeps working (`dataclasses.replace` keeps the class)."""

    waiver: Waiver | None = None


def waive(finding: Finding, waiver: Waiver) -> WaivedFinding:
    """`finding` marked approved, with `waiver` attached (every other field unchanged)."""
    values = {f.name: getattr(finding, f.name) for f in fields(Finding)}
    values["approved"] = True
    if "approved_by" in values:  # shown by text and summary reporters
        how = "inline suppression at" if waiver.kind == "inSource" else "baseline"
        values["approved_by"] = f"{how} {waiver.location}"
    return WaivedFinding(**values, waiver=waiver)


@dataclass(frozen=True)
class Suppression:
    """One `nhi-gate:ignore` comment.

    `line`: the comment's 1-based line; `target`: the line it applies to (its own when trailing,
    else the first non-comment line below its comment run; None at end of file); `reach`: the
    last line of the YAML node or document it sits on; `rule_ids` upper-cased; `reason` ("" when
    missing); `text` the comment from `nhi-gate:ignore` on, for messages (never a secret)."""

    path: str
    line: int
    target: int | None
    rule_ids: tuple[str, ...]
    reason: str
    text: str
    trailing: bool
    reach: int | None = None
