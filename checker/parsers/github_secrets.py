"""The repository secrets a GitHub Actions job holds, and who it hands them to: facts for
`checker.parsers.github_actions`, which turns each into an identity.

A job holds a secret when a `${{ ... }}` expression names it (`secrets.NAME`,
`secrets['NAME']`, inside a function call like `format('{0}', secrets.NAME)`, any case;
`GITHUB_TOKEN` is the workflow's own token, judged through `permissions:`, and is left out;
a computed name, `secrets[format(...)]`, is held as the unknown secret `[computed]`:
https://docs.github.com/en/actions/reference/workflows-and-actions/expressions) in:
- the workflow's `env:` (`via` `workflow.env.<VAR>`; every job receives it, so each job
  holds it: https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#env);
- the job's `env:` (`via` `env.<VAR>`; every step of the job sees it);
- the job container's or a service container's `env:` or registry `credentials:`
  (`via` `container.env.<VAR>`, `services.<name>.credentials.password`, ...);
- the `secrets:` mapping of a reusable-workflow call (`via` `secrets.<KEY>`), or
  `secrets: inherit`, every repository secret, held as `*` (`via` `secrets`:
  https://docs.github.com/en/actions/sharing-automations/reusing-workflows#passing-inputs-and-secrets-to-a-reusable-workflow);
- a step's `with:` input or `env:` variable (`via` `steps[<i>].with.<input>` / `.env.<VAR>`),
  or its `run:` script (`via` `steps[<i>].run`).
Uses in the `with:` of a catalogued credential action (`aws-actions/configure-aws-credentials`
...) are left to that step's own identity (`skip_step`).

What a secret is, from the names it is bound to (`role`):
- `cloud`: a cloud provider's static key variable, or an input named like one
  (`AWS_ACCESS_KEY_ID`, `aws-secret-access-key`, `ARM_CLIENT_SECRET`, `AZURE_CLIENT_SECRET`,
  `GOOGLE_CREDENTIALS`, ...), the credentials those providers' SDKs and Terraform providers
  read from the environment
  (https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html,
  https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs/guides/service_principal_client_secret,
  https://registry.terraform.io/providers/hashicorp/google/latest/docs/guides/provider_reference#credentials-1);
- `pat`: a GitHub token other than GITHUB_TOKEN: an action's `github-token` input, the
  `token` input of GitHub's own actions (`actions/checkout` pushes and fetches with it:
  https://github.com/actions/checkout#usage) or of a secret named `GH_*`/`*_GITHUB_*`,
  the `GH_TOKEN`/`GITHUB_TOKEN` variables the GitHub CLI reads
  (https://cli.github.com/manual/gh_help_environment), or a secret named `*_PAT`/`PAT_*`;
- `secret`: any other secret.

The job's own token (`${{ github.token }}`, `${{ secrets.GITHUB_TOKEN }}`) is held too, as
`GITHUB_TOKEN`, when the job's token may write (`token_writes`: a `write` scope, `write-all`,
or no `permissions:` block, the repository default) and it is handed through a step's `with:`
or `env:` (or the job's `env:`) to a third-party action not pinned to a full commit SHA
(`unpinned_third_party`): whoever moves that tag or branch acts as the job, with its write
scopes (https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions#using-third-party-actions).

Each use also records the actions the secret reaches (`handed_to`: `uses:` text with its
`@ref`, and the line of the handing): a step's own `with:`/`env:`, every step of the job for
a job-level `env:`, and the called workflow for a reusable-workflow call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from yaml.nodes import MappingNode, Node, ScalarNode

from checker.lazy_patterns import lazy_compile
from checker.safeyaml import get, get_entry, items, line_of, scalar, sequence

#: One `${{ ... }}` expression (its body may hold braces: `format('{0}', ...)`).
_EXPRESSION = lazy_compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
#: A secret named in an expression: `secrets.NAME`, `secrets['NAME']`, or `secrets[<expr>]`
#: (a computed name, group 3).
_SECRET_REF = lazy_compile(
    r"(?<![\w.])secrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[\s*(?:'([^']*)'\s*\]"
    r"|([^\]]*)\]))", re.IGNORECASE)
#: The name a computed `secrets[<expr>]` is held under: an unknown secret, still held.
COMPUTED = "[computed]"
#: The name `secrets: inherit` is held under: every repository secret, handed to the call.
INHERITED = "*"
_CLOUD_VARS = {
    "aws": frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}),
    "azure": frozenset({"ARM_CLIENT_SECRET", "AZURE_CLIENT_SECRET", "AZURE_CREDENTIALS",
                        "ARM_CLIENT_CERTIFICATE_PASSWORD"}),
    "gcp": frozenset({"GOOGLE_CREDENTIALS", "GOOGLE_APPLICATION_CREDENTIALS_JSON",
                      "GCP_SA_KEY", "GOOGLE_CLOUD_KEYFILE_JSON"}),
}
#: Inputs that name a GitHub token whatever the action; a bare `token` input only on GitHub's
#: own actions (`actions/checkout`) or for a secret named like a GitHub token (a Slack
#: action's `token` is a Slack token).
_PAT_INPUTS = frozenset({"github-token", "github_token", "repo-token", "gh-token"})
_GITHUB_NAME = lazy_compile(r"(?i)(^|_)(GH|GITHUB|PAT)(_|$)")
_PAT_VARS = frozenset({"GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN"})
_PAT_NAME = lazy_compile(r"(?i)(^|_)PAT($|_)")
_RANK = {"secret": 0, "pat": 1, "cloud": 2}
#: The job's own token named in an expression: `github.token`, `secrets.GITHUB_TOKEN`.
_JOB_TOKEN = lazy_compile(
    r"(?i)(?<![\w.])(?:github\s*\.\s*token|secrets\s*(?:\.\s*GITHUB_TOKEN\b"
    r"|\[\s*'GITHUB_TOKEN'\s*\]))")
#: The name the job's own token is held under.
JOB_TOKEN = "GITHUB_TOKEN"
_SHA = lazy_compile(r"^[0-9a-f]{40}$")
#: Owners whose actions GitHub itself maintains: not third-party.
_FIRST_PARTY = frozenset({"actions", "github"})


@dataclass
class SecretUse:
    """One repository secret held by one job: `name` as written after `secrets.`, `role`
    (`cloud`, `pat` or `secret`), `platform` (`aws`/`azure`/`gcp` for a cloud key, else
    `github`), `lines` (`via` -> line, in file order), `handed_to` (`uses:` text -> line)."""

    name: str
    role: str = "secret"
    platform: str = "github"
    lines: dict[str, int] = field(default_factory=dict)
    handed_to: dict[str, int] = field(default_factory=dict)

    @property
    def first_line(self) -> int:
        """The line of the first use."""
        return min(self.lines.values())


def unpinned_third_party(uses: str) -> bool:
    """True for a `uses:` text naming a third-party action or reusable workflow (not local
    `./`, not `docker://`, not GitHub's own `actions/*`, `github/*`) whose `@ref` is not a
    full commit SHA."""
    action, _, ref = uses.strip().partition("@")
    return not (uses.startswith(("./", "docker://")) or action.split("/", 1)[0].lower()
                in _FIRST_PARTY or _SHA.match(ref.strip()))


def job_secrets(job: Node, skip_step: Callable[[str], bool],
                workflow_env: Node | None = None, token_writes: bool = False
                ) -> list[SecretUse]:  # fmt: skip
    """The secrets `job` holds (see the module doc), in order of first use. `skip_step(uses)`
    is True for a catalogued credential action, whose `with:` inputs are its own identity;
    `workflow_env` is the workflow's top-level `env:` mapping, which every job receives;
    `token_writes`: the job's GITHUB_TOKEN has a write scope (then handing it to an unpinned
    third-party action holds it as `GITHUB_TOKEN`)."""
    found: dict[str, SecretUse] = {}
    steps = [(i, s, (scalar(get(s, "uses")) or "").strip())
             for i, s in enumerate(sequence(get(job, "steps"))) if isinstance(s, MappingNode)]
    every_step = {u: line_of(get(s, "uses") or s) for _, s, u in steps if u}
    call = (scalar(get(job, "uses")) or "").strip()
    job_env = [(f"workflow.env.{var}", var, key, value) for var, key, value in items(workflow_env)]
    job_env += [(f"env.{var}", var, key, value) for var, key, value in items(get(job, "env"))]
    for via, var, key, value in job_env:
        for use in _uses(found, value, via, line_of(key)):
            _bind(use, var)
            use.handed_to.update(every_step)
        risky = {u: n for u, n in every_step.items() if unpinned_third_party(u)}
        if token_writes and risky and _names_job_token(value):
            use = found.setdefault(JOB_TOKEN, SecretUse(JOB_TOKEN))
            use.lines.setdefault(via, line_of(key))
            use.handed_to.update(risky)
    for via, var, key, value in _container_keys(job):
        for use in _uses(found, value, via, line_of(key)):
            _bind(use, var)
    inherit = get_entry(job, "secrets")
    if call and inherit is not None and (scalar(inherit[1]) or "").strip().lower() == "inherit":
        use = found.setdefault(INHERITED, SecretUse(INHERITED))
        use.lines.setdefault("secrets", line_of(inherit[0]))
        use.handed_to.setdefault(call, line_of(inherit[0]))
    if call:
        for name, key, value in items(get(job, "secrets")):
            for use in _uses(found, value, f"secrets.{name}", line_of(key)):
                use.handed_to.setdefault(call, line_of(key))
    for index, step, uses in steps:
        prefix = f"steps[{index}]"
        parts = [("env", get(step, "env"))]
        if not (uses and skip_step(uses)):
            parts.insert(0, ("with", get(step, "with")))
        for part, node in parts:
            for name, key, value in items(node):
                for use in _uses(found, value, f"{prefix}.{part}.{name}", line_of(key)):
                    _bind(use, name, uses if part == "with" else None)
                    if uses:
                        use.handed_to.setdefault(uses, line_of(key))
                if token_writes and uses and unpinned_third_party(uses) and (
                        _names_job_token(value)):
                    use = found.setdefault(JOB_TOKEN, SecretUse(JOB_TOKEN))
                    use.lines.setdefault(f"{prefix}.{part}.{name}", line_of(key))
                    use.handed_to.setdefault(uses, line_of(key))
        run = get(step, "run")
        if isinstance(run, ScalarNode):
            list(_uses(found, run, f"{prefix}.run", line_of(run)))
    return sorted(found.values(), key=lambda u: u.first_line)


def _names_job_token(value: Node) -> bool:
    """True when scalar `value` holds an expression naming the job's own token."""
    text = scalar(value) if isinstance(value, ScalarNode) else None
    return any(_JOB_TOKEN.search(e[1]) for e in _EXPRESSION.finditer(text or ""))


def _container_keys(job: Node) -> Iterator[tuple[str, str, Node, Node]]:
    """`(via, name, key, value)` of the job container's and service containers' `env:` and
    registry `credentials:` entries."""
    containers = [("container", get(job, "container"))]
    containers += [(f"services.{n}", v) for n, _, v in items(get(job, "services"))]
    for where, node in containers:
        for part in ("env", "credentials"):
            for name, key, value in items(get(node, part)):
                yield f"{where}.{part}.{name}", name, key, value


def _uses(found: dict[str, SecretUse], value: Node, via: str, line: int
          ) -> Iterator[SecretUse]:  # fmt: skip
    """The secrets `value` names (each once), recorded at `via`/`line`."""
    text = scalar(value) if isinstance(value, ScalarNode) else None
    refs = (m for e in _EXPRESSION.finditer(text or "") for m in _SECRET_REF.finditer(e[1]))
    for name in dict.fromkeys(m[1] or m[2] or COMPUTED for m in refs):
        if name.upper() == "GITHUB_TOKEN":
            continue
        use = found.setdefault(name.upper(), SecretUse(name))
        use.lines.setdefault(via, line)
        if _PAT_NAME.search(name):
            _raise(use, "pat", "github")
        yield use


def _bind(use: SecretUse, name: str, action: str | None = None) -> None:
    """What binding the secret to variable `name`, or to input `name` of `action`, says it
    is (an input named like a key variable, `aws-access-key-id`, counts as that variable)."""
    if action is not None and (name.lower() in _PAT_INPUTS or (name.lower() == "token" and (
            action.lower().startswith("actions/") or _GITHUB_NAME.search(use.name)))):
        _raise(use, "pat", "github")
        return
    for platform, names in _CLOUD_VARS.items():
        if name.upper().replace("-", "_") in names:
            _raise(use, "cloud", platform)
            return
    if name.upper() in _PAT_VARS:
        _raise(use, "pat", "github")


def _raise(use: SecretUse, role: str, platform: str) -> None:
    if _RANK[role] > _RANK[use.role]:
        use.role, use.platform = role, platform
