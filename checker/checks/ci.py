"""NHI310-NHI320, NHI324: CI identities (GitHub Actions, GitLab CI) and the cloud OIDC trust.

Identity rules over the objects of `checker.parsers.github_actions`, `checker.parsers.gitlab_ci`,
the Terraform trust (`IdentityObject.trust`) and the facets of `checker.secrets.scan`.
Like every NHI3xx rule they gate agent- and bot-written lines (all lines with `--all-authors`).

Rules (default level):
- NHI310 excessive-token-permissions: `permissions: write-all` (error), or no `permissions`
  block in the workflow nor the job (warning);
- NHI311 secrets-inherit: a reusable workflow called with `secrets: inherit` (warning);
- NHI312 all-secrets-serialised: `toJSON(secrets)` (error);
- NHI313 secret-in-workflow-env: a secret in workflow-level `env:` (warning);
- NHI314 checkout-persists-token: `actions/checkout` without `persist-credentials: false`
  (warning);
- NHI315 pull-request-target-credentials: a `pull_request_target` workflow that gets
  credentials, or a job of one (or of a `workflow_run` or `issue_comment` workflow) that checks
  out the pull request's head and runs code from it (`pr_head_code`,
  `checker.secrets.ci_untrusted`: a "pwn request"; through a local composite action or
  reusable workflow, `check_all`, `checker.checks.ci_head_calls`) (error);
- NHI316 cloud-credentials-without-environment: a job getting cloud credentials with no
  `environment:` (GitLab: nor a protected-ref rule) (error); not judged on a composite
  action's steps, whose environment is the calling job's;
- NHI317 ci-oidc-trust-unscoped-subject: CI OIDC trust with no subject, a wildcard, or no
  ref/environment (error);
- NHI318 ci-oidc-trust-missing-audience: CI OIDC trust (or GitLab `id_tokens`) without an
  audience (error).
- NHI319 github-app-token-all-permissions: a GitHub App token step with no permission inputs
  (warning).
- NHI320 workflow-level-id-token: `id-token: write` granted to every job of a workflow with
  more than one job (warning); in a single-job workflow the workflow level is the job level.
- NHI324 secret-to-unpinned-action: a repository secret (or every one, `secrets: inherit`)
  handed to a third-party action or reusable workflow not pinned by a full commit SHA
  (warning; it blocks an agent's change through NHI101 on the held secret).

A job's repository secrets are identities (`checker.parsers.github_secrets`): cloud keys taken
straight from `secrets.*` into `env:` and GitHub tokens other than GITHUB_TOKEN (a PAT given
to `actions/checkout`'s `token`) get NHI316 like a credential action; every one needs approval
(NHI101). GITHUB_TOKEN permissions are compared as what the job's token may do
(`checker.checks.gha_permissions`): a change that widens no scope is a note, and a removed
block is a widening (the unknown repository default, judged as write-all).

Sources: GitHub OIDC hardening
(https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect),
AWS IAM OIDC for GitHub (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html#idp_oidc_Create_GitHub),
GCP workload identity federation with deployment pipelines
(https://cloud.google.com/iam/docs/workload-identity-federation-with-deployment-pipelines),
GitLab id_tokens (https://docs.gitlab.com/ci/secrets/id_token_authentication/),
zizmor audits (https://docs.zizmor.sh/audits/).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from checker.checks import gha_environment, gha_guards, gha_permissions, gha_secret_reach
from checker.checks.api import Hit, Subject
from checker.checks.ci_head_calls import check_all
from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject, Trust

__all__ = ["check", "check_all", "narrows"]  # check_all: NHI315 across files

_CI_ISSUER = lazy_compile(r"token\.actions\.githubusercontent\.com|gitlab\.com")
_OIDC_PROVIDER = lazy_compile(r"openid_connect_provider|oidc-provider")
_SCOPED_SUBJECT = lazy_compile(r":(ref|environment|job_workflow_ref):")
_GCP_PINS = lazy_compile(r"(assertion|attribute)\.(repository|sub|project_path)\b")
_GCP_REF = lazy_compile(
    r"(assertion|attribute)\.(ref|environment|sub|workflow_ref|job_workflow_ref)\b"
)
_CLOUD = frozenset({"aws", "gcp", "azure", "vault"})
_CREDENTIAL_TYPES = frozenset({"id_token", "job_secrets"})

#: Facet type -> (rule id, level variant in the rule docs or None, message suffix).
_FACETS: Mapping[str, tuple[str, str | None, str]] = {
    "default_token_permissions": (
        "NHI310", "repository-default",
        "has no `permissions:` block, so GITHUB_TOKEN gets the repository default, which "
        "nhi-gate cannot see (read-write on older repositories; judged as write-all)"),
    "secrets_inherit": (
        "NHI311", None,
        "passes every repository secret to the called workflow (`secrets: inherit`)"),
    "secrets_serialised": (
        "NHI312", None, "serialises every repository secret with `toJSON(secrets)`"),
    "workflow_env_secret": (
        "NHI313", None,
        "puts a secret in workflow-level `env:`, where every step of every job can read it"),
    "checkout_persisted_token": (
        "NHI314", None,
        "checks out without `persist-credentials: false`, leaving GITHUB_TOKEN in .git/config"),
}


def check(subject: Subject) -> Iterator[Hit]:
    """NHI310-NHI320 and NHI324 on one object (see the module table)."""
    obj = subject.obj
    if obj.type == "default_token_permissions":
        yield from gha_permissions.removed_block(subject)
    if obj.type in _FACETS:
        rule_id, variant, what = _FACETS[obj.type]
        workflow = obj.address.split("#", 1)[0]
        yield Hit(rule_id, f"{workflow} {what}", obj.address.split("#", 1)[-1],
                  obj.attribute_lines.get("anchor"), variant=variant)
        return
    if obj.type == "oidc_trust_without_audience":
        issuer = obj.secret_sinks[0].removeprefix("issuer:") if obj.secret_sinks else "CI"
        yield Hit("NHI318",
                  f"{obj.derived_from} trusts {issuer} tokens without an audience (`aud`) "
                  "condition, so tokens minted for other services are accepted",
                  "aud", obj.attribute_lines.get("anchor"))
        return
    if obj.type == "pr_head_code":
        yield from _pr_head_code(subject)
        return
    if obj.derived_from is not None:
        return
    yield from _workflow_permissions(subject)
    yield from _app_token_scope(subject)
    yield from _workflow_level_oidc(subject)
    yield from _pull_request_target(subject)
    yield from _environment(subject)
    yield from _unpinned(subject)
    yield from gha_environment.widened(subject)
    yield from gha_guards.widened(subject)
    yield from _trust(subject)
    yield from _gitlab_audience(subject)


def narrows(subject: Subject) -> Iterator[Hit]:
    """NHI302 `narrowed` for a GITHUB_TOKEN change that widens no scope
    (`checker.checks.gha_permissions`), or for a job that left its environment
    (`checker.checks.gha_environment.left`), or for a secret moved from the job's `env:` to
    the steps that use it (`checker.checks.gha_secret_reach`)."""
    yield from gha_permissions.narrows(subject)
    yield from gha_environment.left(subject)
    yield from gha_guards.narrows(subject)
    yield from gha_secret_reach.narrows(subject)
    yield from _repinned(subject)


def _repinned(subject: Subject) -> Iterator[Hit]:
    """NHI302 `re-pinned` (a note): a credential step that existed at base and whose only
    change is the commit SHA its action is pinned to (`IdentityObject.frame_digest`), with
    the same environment, grants, references, sinks and metadata. The same identity, not a
    new one; what it lacked at base (an `environment:`) predates the change."""
    obj, base = subject.obj, subject.base
    if (base is None or obj.kind != "ci_credential" or base.type != obj.type
            or not obj.frame_digest or obj.frame_digest != base.frame_digest):
        return
    same = ("environment", "secret_sinks", "metadata", "references")
    if any(getattr(obj, f) != getattr(base, f) for f in same) or (
            gha_permissions.unplaced(obj) != gha_permissions.unplaced(base)):
        return
    yield Hit("NHI302",
              f"{obj.address} re-pinned: only the commit its action is pinned to changed; the "
              "same credential step as before, so the change needs no approval", "uses",
              obj.attribute_lines.get("uses"), variant="re-pinned")


def _workflow_permissions(subject: Subject) -> Iterator[Hit]:
    obj = subject.obj
    if obj.type != "workflow_permissions":
        return
    for grant in obj.privileges:
        if grant.action == "*:write":
            yield Hit("NHI310",
                      f"{obj.address} grants GITHUB_TOKEN `write-all`; list only the scopes the "
                      "job needs", "permissions", grant.line)
            return


#: GitHub App token actions and the inputs that narrow the token's permissions.
#: Sources: https://github.com/actions/create-github-app-token#permission-permission-name
#: (unset: "all permissions granted to the app installation") and
#: https://github.com/tibdex/github-app-token (`permissions` input).
_APP_TOKEN_SCOPE_INPUTS = {
    "actions/create-github-app-token": "with.permission-",
    "tibdex/github-app-token": "with.permissions",
}


def _app_token_scope(subject: Subject) -> Iterator[Hit]:
    """NHI319: a GitHub App token minted with every permission of the App installation."""
    obj = subject.obj
    prefix = _APP_TOKEN_SCOPE_INPUTS.get(obj.type)
    if prefix is None or any(k.startswith(prefix) for k in obj.attribute_lines):
        return
    yield Hit("NHI319",
              f"{obj.address} mints a GitHub App token with every permission of the App "
              f"installation; narrow it with `{prefix.removeprefix('with.')}…` inputs",
              "permissions", obj.location.start_line)


def _workflow_level_oidc(subject: Subject) -> Iterator[Hit]:
    """NHI320: `id-token: write` in the workflow-level permissions, so every job can mint
    OIDC tokens for the cloud roles that trust the repository (zizmor's excessive-permissions
    audit: https://docs.zizmor.sh/audits/#excessive-permissions)."""
    obj = subject.obj
    if obj.type != "oidc_token" or not obj.address.endswith("#permissions.id-token"):
        return
    if sum(1 for k in obj.attribute_lines if _JOB_KEY.match(k)) == 1:
        return  # one job: the workflow level is that job's level
    yield Hit("NHI320",
              f"{obj.address.split('#', 1)[0]} grants `id-token: write` to every job; grant it "
              "only in the job that exchanges the token for cloud credentials",
              "permissions.id-token", obj.attribute_lines.get("permissions.id-token"))


def _is_github_credential(obj: IdentityObject) -> bool:
    if obj.type == "workflow_permissions":
        return any(g.action.endswith(":write") for g in obj.privileges)
    return obj.kind in ("ci_credential", "api_token") and "/" in obj.type


def _pull_request_target(subject: Subject) -> Iterator[Hit]:
    obj = subject.obj
    line = obj.attribute_lines.get("on.pull_request_target")
    if line is None or not _is_github_credential(obj):
        return
    yield Hit("NHI315",
              f"{obj.address} gets credentials in a workflow triggered by `pull_request_target`, "
              "which runs with the base repository's secrets on events from forks",
              "on.pull_request_target", obj.location.start_line)


#: When each trigger of `checker.secrets.ci_untrusted.TRIGGERS` runs with the base's credentials.
_WHEN = {"pull_request_target": "for pull requests from forks",
         "workflow_run": "after another workflow's run, a fork's pull request's too",
         "issue_comment": "for anyone's comment on a pull request"}


def _pr_head_code(subject: Subject) -> Iterator[Hit]:
    """NHI315 for a "pwn request" (`checker.secrets.ci_untrusted`): a `pull_request_target`
    (`workflow_run`, `issue_comment`) job that runs the pull request's own code, whatever its
    token's permissions. When what runs it is an action nhi-gate does not read (the
    `unread-action` sink), it
    fails closed: an error for an agent's, a bot's or an unknown author's change, the
    `unread-action` note for a person's and in `scan`."""
    obj = subject.obj
    lines = obj.attribute_lines
    facts = {s.split(":", 1)[0]: s.split(":", 1)[-1].partition(" ") for s in obj.secret_sinks}
    checkout, runs = (facts.get(k, ("?", "", "")) for k in ("checkout", "runs"))
    event = facts.get("trigger", ("pull_request_target", "", ""))[0]
    job = obj.address.removesuffix(".pr-head-code")
    left = (" and the checkout leaves GITHUB_TOKEN in .git/config for that code"
            if "persisted" in facts else "")
    unread = "unread-action" in facts
    verb = "may run code from it (a human must review what that action does)" if unread else (
        "runs code from it")
    variant = None if not unread or subject.touch.actor_kind not in ("human", None) else (
        "unread-action")
    yield Hit("NHI315",
              f"{job} runs a pull request's own code with the base repository's credentials: "
              f"`{event}` (line {lines.get('on.' + event)}) runs it {_WHEN.get(event, '')}, "
              f"{checkout[0]} ({checkout[2]}, line "
              f"{lines.get('checkout')}) fetches the pull request's code and {runs[0]} "
              f"({runs[2]}, line {lines.get('anchor')}) {verb}; its GITHUB_TOKEN, "
              "the secrets it "
              f"references and the base branch's Actions cache are exposed whatever its "
              f"`permissions:` say{left}", "pr-head-code", lines.get("anchor"), variant=variant)


#: Held repository secrets that are credentials NHI316 judges (`checker.parsers.github_secrets`).
_HELD = {"repository_cloud_keys": "{platform} keys from `secrets.{name}`",
         "repository_pat": "a GitHub token from `secrets.{name}`"}
_JOB_KEY = lazy_compile(r"^jobs\.[^.]+$")
_SHA = lazy_compile(r"^[0-9a-f]{40}$")
#: Owners whose actions GitHub itself maintains: not third-party.
_FIRST_PARTY = frozenset({"actions", "github"})


def _environment(subject: Subject) -> Iterator[Hit]:
    obj = subject.obj
    if obj.type in _HELD:
        if obj.environment is None and "runs.using" not in obj.attribute_lines:
            what = _HELD[obj.type].format(platform=obj.platform,
                                          name=obj.address.rsplit(".", 1)[-1])
            yield Hit("NHI316",
                      f"{obj.address.rsplit('.secrets.', 1)[0]} gets {what} in a job with no "
                      "`environment:`, so no protection rule or reviewer gates it",
                      "environment", obj.location.start_line)
        return
    if obj.platform not in _CLOUD and obj.type not in _CREDENTIAL_TYPES:
        return
    if "/" in obj.type and obj.kind == "ci_credential":  # a GitHub Actions credential step
        if "runs.using" in obj.attribute_lines:
            return  # a composite action's step: the calling job's `environment:` decides
        if obj.environment is None:
            yield Hit("NHI316",
                      f"{obj.address} gets {obj.platform} credentials in a job with no "
                      "`environment:`, so no protection rule or reviewer gates it",
                      "environment", obj.location.start_line)
        return
    if obj.type in _CREDENTIAL_TYPES:
        lines = obj.attribute_lines
        if "environment" in lines or "protected_ref" in lines or "template" in lines:
            return
        yield Hit("NHI316",
                  f"{obj.address} gets credentials in a job with no `environment:` and no "
                  "`rules:` limiting it to protected refs, so any branch's pipeline can use them",
                  "environment", obj.location.start_line)


def _is_ci_trust(trust: Trust) -> bool:
    if _CI_ISSUER.search(trust.principal):
        return True
    return bool(_OIDC_PROVIDER.search(trust.principal)) and any(
        s.startswith(("repo:", "project_path:")) for s in trust.subjects
    )


def unscoped_subject(subject: str, gcp_condition: bool = False) -> bool:
    """True when a CI OIDC subject (or a GCP `attribute_condition`) admits more than one
    repository's ref or environment.

    AWS/Azure subjects (`repo:org/app:ref:refs/heads/main`,
    `project_path:g/p:ref_type:branch:ref:main`) are scoped when they have no `*` and name a
    `ref`, `environment` or `job_workflow_ref`. A GCP CEL condition is scoped when it pins a
    repository (`assertion.repository`, `assertion.sub`, `assertion.project_path`) and a ref
    or environment (`assertion.ref`, `assertion.environment`, `assertion.sub`, ...).
    """
    if gcp_condition:
        return not (_GCP_PINS.search(subject) and _GCP_REF.search(subject))
    return "*" in subject or not _SCOPED_SUBJECT.search(subject)


def _trust(subject: Subject) -> Iterator[Hit]:
    obj = subject.obj
    for trust in obj.trust:
        if not _is_ci_trust(trust):
            continue
        gcp = obj.type == "google_iam_workload_identity_pool_provider"
        if not trust.subjects:
            what = "no `attribute_condition`" if gcp else "no subject (`sub`) condition"
            yield Hit("NHI317",
                      f"{obj.address} trusts CI OIDC tokens ({trust.principal}) with {what}: "
                      "any repository or project on that issuer can use it", "sub", trust.line)
            return
        loose = [s for s in trust.subjects if unscoped_subject(s, gcp)]
        if loose:
            shown = loose[0] if len(loose[0]) <= 80 else loose[0][:77] + "..."
            yield Hit("NHI317",
                      f"{obj.address} trusts CI OIDC subject `{shown}`, which is not limited to "
                      "one repository's ref or environment", "sub", trust.line)
            return


def _gitlab_audience(subject: Subject) -> Iterator[Hit]:
    obj = subject.obj
    if obj.type != "id_token" or obj.platform != "gitlab":
        return
    if any(g.resource == "*" for g in obj.privileges):
        yield Hit("NHI318",
                  f"{obj.address} declares an id_token without `aud`", "aud",
                  obj.location.start_line)


def _unpinned(subject: Subject) -> Iterator[Hit]:
    """NHI324: a held repository secret that reaches a third-party action or reusable workflow
    whose `@ref` is not a full commit SHA (a tag or branch its owner can move). Local (`./`)
    and `docker://` uses and GitHub's own `actions/*`, `github/*` are not judged. Source:
    https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions#using-third-party-actions
    """
    obj = subject.obj
    if obj.type not in gha_environment.HELD_TYPES:
        return
    name = obj.address.rsplit(".secrets.", 1)[-1]
    for key, line in obj.attribute_lines.items():
        if not key.startswith("to."):
            continue
        uses = key[3:]
        action, _, ref = uses.partition("@")
        if uses.startswith(("./", "docker://")) or action.split("/", 1)[0].lower() in (
                _FIRST_PARTY) or _SHA.match(ref.strip()):
            continue
        what = "every repository secret (`secrets: inherit`)" if name == "*" else (
            "the job's GITHUB_TOKEN, which may write to the repository,"
            if name.upper() == "GITHUB_TOKEN" else f"`secrets.{name}`")
        yield Hit("NHI324",
                  f"{obj.address.rsplit('.secrets.', 1)[0]} hands {what} to "
                  f"`{uses}`, a third-party action not pinned to a commit SHA: whoever moves "
                  f"`{ref or 'its default branch'}` runs code with the secret",
                  f"to.{action}", line)

