"""Secret material and credential exposure in every file nhi-gate reads -> IdentityObjects.

`scan(source, fmt, hcl=None)` runs beside the format parser on every file
`discovery.classify` accepts (Terraform, Terraform JSON, Kubernetes, GitHub Actions, GitLab
CI), before any prefilter, and returns *facets*: `IdentityObject`s with `derived_from` set (the
file or block they are about), judged by `checker.checks.secrets` (NHI4xx) and
`checker.checks.ci` (NHI31x). It never returns `ParseProblem`s: the format parser reports
unreadable files.

Secret values never enter the model. A hardcoded value is kept only as `redact(value)`:
for a generated token, a short prefix, an ellipsis and 8 hex digits of its SHA-256
(`ghp_…(sha256:1a2b3c4d)`); for a password-like value (under a credential-named key, a
basic-auth password) no prefix and 8 hex digits of a fixed-cost scrypt (`…(scrypt:1a2b3c4d)`),
so a guessed password cannot be confirmed at SHA-256 speed. Either is enough to tell two
findings apart and to match a rotated value, and not enough to use it.

Facets (`type` -> the rule that judges it; `secret_sinks` holds the fact, never the value):
- every format, line by line:
  - `hardcoded_secret`: a value matched by one of detect-secrets' format plugins (AWS keys,
    GitHub/GitLab tokens, private key headers, JWTs, Slack, Stripe, Twilio, SendGrid, npm,
    PyPI, OpenAI, Discord, Azure storage keys, basic-auth URLs, ...), or a literal of at least
    8 characters and Shannon entropy >= 3.0 (detect-secrets' base64 entropy function) under a
    credential-named key (`password`, `secret`, `token`, `private_key`, `api_key`, ...).
    Placeholders (`changeme`, `<token>`, `xxxx`, `example`), variable references (`${...}`,
    `$VAR`, `{{ }}`, `var.x`), secret-manager references and file paths are ignored; base64
    values are also checked decoded. Sink `literal:<detector>`; one per (line, value). The
    key-name fields of a Kubernetes secret-reference object (an ExternalSecret's
    `secretKey: db-password`) are names, never values (`checker.parsers.kubernetes.key_names`).
- a text file no parser reads (format `checker.parsers.TOKENS`: source code, docs, a file read
  only because it holds a private-key header): only the format plugins' matches
  (`find_tokens`), and in YAML the credential-named keys of its `environment:`/`env:` maps;
  a `.netrc` file's passwords (`checker.secrets.config_values`).
- a changed file under a path the config excludes (format `checker.model.EXCLUDED_TOKENS`, in
  `check` and `hook`): only the format plugins' matches, each with the sink `path:excluded`
  (NHI401 is then a note for a person's line); its content is never read by another format.
- any file that is binary only by its NUL bytes (`decode.secret_text`) is read without them.
- INI files (`.ini`, `.cfg`, `.conf`, `.pypirc`, `.s3cfg`, `.boto`; format `secret_values`):
  line by line as above, a `;` comment line read as a `#` one (`config_values.ini_lines`); in
  a `.cfg`/`.conf` file a password-named key's literal must be random like any secret's.
- .NET `appsettings*.json` (format `secret_values`): also each string value by its key path
  (`checker.secrets.appsettings`: `Jwt:SigningKey`, a `Key` under a `Jwt` section), a
  value the line-by-line reading already reported not twice.
- Terraform state (`terraform.tfstate`, `*.tfstate`, `*.tfstate.backup`; format
  `terraform_state`): `terraform_state`, the whole file, and nothing else (state holds every
  resource attribute in plain text, so the file is the finding, not each value in it).
  Sink `repository:terraform_state`; anchored on the top-level `"resources"` key.
- Terraform (HCL):
  - `secret_file`: a `local_file`/`local_sensitive_file` whose content is a secret attribute
    of another resource (`tls_private_key.x.private_key_pem`, `random_password.p.result`, ...);
    `rotated_secret_file` when that resource rotates (`keepers`, `rotation_*`, `time_rotating`).
    Sink `local_file:<resource.attr>`; location = the file block, anchored on `content`.
  - `secret_output`: an `output` whose value is a secret attribute, without `sensitive = true`.
  - `oidc_trust_without_audience`: an AWS trust policy (`aws_iam_role.assume_role_policy`,
    `data.aws_iam_policy_document`) for `token.actions.githubusercontent.com` or `gitlab.com`
    with no `<issuer>:aud` condition; an Azure federated credential without `audiences`
    (azuread) / `audience` (azurerm).
- GitHub Actions workflows:
  - `default_token_permissions`: no top-level `permissions` and a job without its own (the
    GITHUB_TOKEN gets the repository's default, often read-write);
  - `workflow_env_secret`: a secret in the workflow-level `env:` (every step of every job sees it);
  - `secrets_serialised`: `toJSON(secrets)` (every secret of the repository in one value);
  - `secrets_inherit`: a reusable-workflow call with `secrets: inherit`;
  - `checkout_persisted_token`: `actions/checkout` without `persist-credentials: false`;
  - `pr_head_code`: a `pull_request_target` job that checks out the pull request's head and
    then runs code from it (`checker.secrets.ci_untrusted`);
  - `template_injection`: a job of a workflow outsiders trigger whose scripts expand text
    they wrote with `${{ }}` (`checker.secrets.ci_injection`);
  - `pr_code_call`/`pr_head_callee`: a local action or reusable workflow called from such a
    job, and one that checks out the pull request's head and runs it
    (`checker.secrets.ci_head_calls`);
- GitHub Actions composite actions (`action.yml`, `runs.using: composite`): `runs.steps` are
  read like a job's steps (`ci_secret_echo`, `ci_secret_artifact`, `checkout_persisted_token`);
  a secret-named input (`token`, `private-key`, ...) counts as a secret (`${{ inputs.X }}`).
- GitHub Actions and GitLab CI scripts:
  - `ci_secret_echo`: `echo`/`printf` of a secret (`${{ secrets.X }}`, an env var bound to a
    secret, `$CI_JOB_TOKEN`, a secret-named variable) to the job log;
  - `ci_secret_artifact`: a file written from a secret and then uploaded as an artifact or
    saved to a cache (`actions/upload-artifact`, `actions/cache`, GitLab `artifacts:`/`cache:`
    paths), or a checkout that persists its token uploaded with the whole workspace;
    `ci_rotated_secret_artifact` when the file holds a freshly minted credential
    (`aws iam create-access-key`, `gcloud iam service-accounts keys create`, ...).

The sources for the CI facts are cited in `checker.secrets.ci_sinks`.

Modules: `detectors` (detect-secrets plugins, own detectors, the cheap gate), `hardcoded`
(entropy, placeholders, `find_hardcoded`, `redact`), `terraform_sinks` (outputs, `local_file`,
rotation, OIDC trust audiences), `ci_sinks` (echo, files written, artifacts and caches),
`facets` (the IdentityObject shapes). Callers write `from checker import secrets` and
`secrets.scan(...)`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from checker.decode import secret_text
from checker.model import EXCLUDED_TOKENS, ParseProblem, ParseResult, SourceFile
from checker.parsers import TOKENS
from checker.parsers.kubernetes.key_names import key_name_fields
from checker.secrets.appsettings import appsettings_hits, appsettings_path
from checker.secrets.ci_sinks import github, gitlab
from checker.secrets.config_values import (
    environment_hits,
    generic_config,
    ini_lines,
    ini_path,
    netrc_hits,
    netrc_path,
    yaml_path,
)
from checker.secrets.credential_files import credential_file_hits
from checker.secrets.facets import hardcoded_object, state_object
from checker.secrets.hardcoded import Hit, find_hardcoded, find_tokens
from checker.secrets.password_keys import is_password_key
from checker.secrets.redact import redact
from checker.secrets.sealed import encrypted_lines
from checker.secrets.terraform_sinks import terraform

if TYPE_CHECKING:
    from checker.parsers.terraform import LoadedHcl

__all__ = ["Hit", "find_hardcoded", "is_password_key", "redact", "scan"]


def scan(source: SourceFile, fmt: str, hcl: LoadedHcl | None = None) -> ParseResult:
    """All facets of one file of format `fmt` (a `FileFormat`); see the module docstring.

    `hcl` is `checker.parsers.terraform.load(source)` when the caller already parsed the file
    (Terraform only): it is used instead of a second parse. Never raises on bad input:
    undecodable or unparsable files give no facets (their format parser reports them as NHI9xx).
    """
    text = secret_text(source)  # a dotenv file ending in a NUL byte is still read
    if isinstance(text, ParseProblem):
        return ParseResult()
    lines = text.split("\n")
    if fmt == "terraform_state":  # secret as a whole: one fact, no line-by-line hits
        return ParseResult((state_object(source.path, lines),))
    if fmt == EXCLUDED_TOKENS:  # under an `exclude:` path: the format tokens alone, marked
        found = [hardcoded_object(source.path, hit) for hit in find_tokens(lines)]
        return ParseResult(tuple(replace(o, secret_sinks=(*o.secret_sinks, "path:excluded"))
                                 for o in found))
    if fmt == TOKENS:
        hits = find_tokens(lines)
        if yaml_path(source.path):  # an `environment:` map's credential-named keys too
            seen = {(h.line, h.redacted) for h in hits}
            hits = sorted([*hits, *(h for h in environment_hits(lines)
                                    if (h.line, h.redacted) not in seen)], key=lambda h: h.line)
        return ParseResult(tuple(hardcoded_object(source.path, hit) for hit in hits))
    if fmt == "secret_values" and ini_path(source.path):
        lines = ini_lines(lines)  # `; password = x` is a comment (`config_values`)
    sealed = encrypted_lines(lines) if fmt == "kubernetes" else frozenset()
    names = key_name_fields(text, source.path) if fmt == "kubernetes" else frozenset()
    out = [hardcoded_object(source.path, hit)
           for hit in find_hardcoded(lines, names, template=fmt == "secret_template" or (
               fmt == "secret_values" and generic_config(source.path)))
           if hit.line not in sealed]
    if fmt == "secret_values" and netrc_path(source.path):
        out.extend(hardcoded_object(source.path, hit) for hit in netrc_hits(lines))
    if fmt == "secret_values":  # `.pgpass`, Maven settings, connection strings
        seen = {(o.location.start_line, o.address) for o in out}
        out.extend(o for hit in credential_file_hits(source.path, lines)
                   if ((o := hardcoded_object(source.path, hit)).location.start_line,
                       o.address) not in seen)
    if fmt == "secret_values" and appsettings_path(source.path):  # `Jwt:Key` nested below
        said = {(o.location.start_line, o.address.rsplit("…", 1)[-1]) for o in out}
        out.extend(hardcoded_object(source.path, hit) for hit in appsettings_hits(text)
                   if (hit.line, hit.redacted.rsplit("…", 1)[-1]) not in said)
    if fmt == "terraform":
        out.extend(terraform(source.path, text, lines, hcl))
    elif fmt == "github_actions":
        out.extend(github(source.path, text, lines))
    elif fmt == "gitlab_ci":
        out.extend(gitlab(source.path, text, lines))
    return ParseResult(tuple(out))
