"""Secret material and credential exposure in every file nhi-gate reads -> IdentityObjects.

`scan(source, fmt)` runs beside the format parser on every file `discovery.classify` accepts
(Terraform, Terraform JSON, Kubernetes, GitHub Actions, GitLab CI), before any prefilter, and
returns *facets*: `IdentityObject`s with `derived_from` set (the file or block they are about),
judged by `checker.checks.secrets` (NHI4xx) and `checker.checks.ci` (NHI31x). It never returns
`ParseProblem`s: the format parser reports unreadable files.

Secret values never enter the model. A hardcoded value is kept only as `redact(value)`:
a short prefix, an ellipsis and 8 hex digits of its SHA-256 (`ghp_…(sha256:1a2b3c4d)`), which
is enough to tell two findings apart and to match a rotated value, and not enough to use it.

Facets (`type` -> the rule that judges it; `secret_sinks` holds the fact, never the value):
- every format, line by line:
  - `hardcoded_secret`: a value matched by one of detect-secrets' format plugins (AWS keys,
    GitHub/GitLab tokens, private key headers, JWTs, Slack, Stripe, Twilio, SendGrid, npm,
    PyPI, OpenAI, Discord, Azure storage keys, basic-auth URLs, ...), or a literal of at least
    8 characters and Shannon entropy >= 3.0 (detect-secrets' base64 entropy function) under a
    credential-named key (`password`, `secret`, `token`, `private_key`, `api_key`, ...).
    Placeholders (`changeme`, `<token>`, `xxxx`, `example`), variable references (`${...}`,
    `$VAR`, `{{ }}`, `var.x`), secret-manager references and file paths are ignored; base64
    values are also checked decoded. Sink `literal:<detector>`; one per (line, value).
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

Sources for the CI facts: GitHub "Security hardening for GitHub Actions"
(https://docs.github.com/en/actions/security-for-github-actions/security-guides/security-hardening-for-github-actions),
zizmor's audits (https://docs.zizmor.sh/audits/), GitLab CI/CD variables security
(https://docs.gitlab.com/ci/variables/#cicd-variable-security).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from checker.model import IdentityObject, Location, ParseProblem, ParseResult, SourceFile
from checker.parsers import common
from checker.parsers.yaml_loader import (
    end_line_of,
    get,
    get_entry,
    items,
    line_of,
    load_text,
    scalar,
    sequence,
)
from checker.sources.discovery import glob_match

if TYPE_CHECKING:
    from checker.parsers.terraform import LoadedHcl

#: Lines longer than this are scanned on their first this-many characters only.
MAX_LINE = 4096
#: Minimum length and Shannon entropy of a literal under a credential-named key.
MIN_LENGTH = 8
MIN_ENTROPY = 3.0
#: From this length a lower entropy suffices (a 36-character UUID-shaped API key scores ~2.4).
LONG_LENGTH = 16
MIN_LONG_ENTROPY = 2.0

_SECRET_KEY = re.compile(
    r"(?i)(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|private[_-]?key|privatekey"
    r"|secret[_-]?key|access[_-]?key|client[_-]?secret|credentials?|auth[_-]?key|token[_-]?key)$"
)
#: Password-named keys: any literal of `MIN_PASSWORD_LENGTH`+ characters is a hardcoded
#: password, however weak (`root`, `hackme` are exactly the passwords attackers try first).
_PASSWORD_KEY = re.compile(r"(?i)(?:password|passwd|pwd)$")
MIN_PASSWORD_LENGTH = 4
#: A name component that says password (`DB_PASS`, `DB_PASS_BD_2`, `smtp-pwd-ro`): the key is
#: split on `_`, `-`, `.`; `pass` counts only after another component (`pass_through`,
#: `pass_host_header` are settings; a lone `PASS:` is mostly prose), and what follows it may
#: only be short qualifiers (`bd`, `2`, `rw`, `v2`), never a metadata word
#: (`_PASSWORD_QUALIFIER_NOT`).
_PASSWORD_PART = frozenset({"password", "passwd", "pwd", "pass"})
_PASSWORD_QUALIFIER = re.compile(r"(?i)^[a-z0-9]{1,3}$")
_PASSWORD_QUALIFIER_NOT = frozenset({"len", "min", "max", "env", "url", "uri", "id", "arn", "ttl",
                                     "age", "ref", "key", "set", "cmd", "var", "md5", "sha"})
#: `key: value`, `key = "value"`, `"key": "value"`, `KEY=value` (env / shell).
_KV = re.compile(
    r"""(?P<kq>["']?)(?P<key>[A-Za-z_][\w.\-]*)(?P=kq)\s*(?P<op>:|=)\s*"""
    r"""(?P<val>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s"',;}\]#]+)"""
)
_REFERENCE = re.compile(
    r"(?i)(\$\{|\$\(|\{\{|\{%|%\{|#\{|\(\(|^\$[A-Za-z_{]|^(var|local|data|module|each|self|"
    r"secrets|env|vars|inputs|steps|needs|matrix|github|ref\+\w+|vault|sm|gcp|awssm|azkv):"
    r"|^(var|local|data|module|each|self|random_\w+|aws_\w+|google_\w+|azurerm_\w+|tls_\w+)\."
    r"|^arn:aws[\w-]*:(secretsmanager|ssm|kms)|^projects/[^/]+/secrets/|secretKeyRef|valueFrom"
    r"|^!|^\{\.|\w\(|^[A-Za-z_]\w*(\.\w+){2,}$)"
)
#: An index expression (`var.list[0]`, `local.m["k"]`): a reference only when unquoted; inside
#: quotes (`"F-oS9[DSF"`) `[` is a literal character of the value.
_INDEX = re.compile(r"\w\[")
#: Keys that name a setting about a password rather than the password itself.
_SETTING_KEY = re.compile(
    r"(?i)^(update|has|allow|allows|change|require|requires|reset|enable|use|manage|generate"
    r"|min|max|show|hide|no|skip|force|rotate|is)[_-]?\w*(password|token|secret)$"
)
#: `- name: DB_PASSWORD` then `value: ...` (Kubernetes/compose env lists), the same in JSON
#: (`"name": "DB_PASSWORD",` then `"value": "..."`: ECS container definitions), and a YAML key
#: with no value of its own whose next line is `value: ...` (`proxy-password:` / `  value: x`).
_ENV_NAME = re.compile(
    r"""^\s*-?\s*(?:["']?name["']?\s*:\s*["']?(?P<name>[A-Za-z_][\w.-]*)["']?\s*,?"""
    r"""|["']?(?P<parent>[A-Za-z_][\w.-]*)["']?\s*:)\s*$"""
)
_ENV_VALUE = re.compile(r"""^\s*["']?value["']?\s*:\s*("[^"]*"|'[^']*'|\S+?)\s*,?\s*$""")
#: A Terraform `variable "NAME" {` block header: its `default = "..."` is keyed by NAME
#: (`variable "db_password" { default = "..." }` holds a password although the key is `default`).
_TF_VARIABLE = re.compile(r"""^\s*variable\s+"(?P<name>[A-Za-z_][\w-]*)"\s*\{""")
_TF_DEFAULT = re.compile(
    r"""^\s*default\s*=\s*(?P<val>"(?:[^"\\]|\\.)*")\s*\}?\s*(?:#.*|//.*)?$"""
)
_TF_BLOCK_END = re.compile(r"^\}")
_NAME_CHARS = re.compile(r"[^A-Za-z0-9]")

_PLACEHOLDER_WORD = re.compile(
    r"(?i)(xxxx|\*\*\*|\.\.\.|<[^>]+>|\[[^\]]+\]|your[_-]|replace|placeholder|changeme|change[_-]me"
    r"|(?<![a-z])example|sample|dummy|redacted|fake|mock|not[_-]?a[_-]?secret|insert|enter[_-]|todo|tbd"
    r"|fixme|default|secret[_-]?name|password[_-]?here|\bnull\b|\bnone\b)"
)
_BOOLEANISH = re.compile(r"(?i)^(true|false|yes|no|on|off|null|none|nil|~|\d+(\.\d+)?)$")
_PATHLIKE = re.compile(r"^(/|\./|\.\./|~/|[A-Za-z]:\\)|\.(pem|key|crt|json|txt|p12|pfx|jks|env)$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]{16,}={0,2}$")
_COMMENT_ONLY = re.compile(r"^\s*(#|//)")

#: detect-secrets plugin `secret_type` -> platform.
_PLATFORM_BY_DETECTOR = {
    "AWS Access Key": "aws",
    "GitHub Token": "github",
    "GitLab Token": "gitlab",
    "Private Key": "tls",
    "Azure Storage Account access key": "azure",
    "Google API Key": "gcp",
}


@dataclass(frozen=True)
class OwnDetector:
    """A format detector of nhi-gate's own, in detect-secrets' regex-plugin shape (a
    `secret_type` name and a `denylist` of compiled patterns), run beside its plugins for
    formats detect-secrets 1.5 has no plugin for."""

    secret_type: str
    denylist: tuple[re.Pattern[str], ...]


OWN_DETECTORS: tuple[OwnDetector, ...] = (
    # Google API keys: `AIza` and 35 characters of [0-9A-Za-z_-]
    # (https://cloud.google.com/docs/authentication/api-keys).
    OwnDetector("Google API Key", (re.compile(r"AIza[0-9A-Za-z_\-]{35}"),)),
    # Microsoft Teams incoming-webhook URLs: whoever holds the URL can post to the channel
    # (https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook).
    OwnDetector("Microsoft Teams Webhook", (re.compile(
        r"https://[\w-]+\.webhook\.office\.com/webhookb2/[0-9a-f-]{36}@[0-9a-f-]{36}"
        r"/IncomingWebhook/[0-9a-f]{32}/[0-9a-f-]{36}", re.IGNORECASE),)),
)

#: Attributes of Terraform resources that hold secret material (by name).
_SECRET_ATTR = re.compile(
    r"(?i)^(private_key\w*|\w*password\w*|\w*secret(?:_string|_binary|_access_key|_value|_id)?"
    r"|token|\w+_token|kube_?config\w*|\w*connection_string\w*|\w*access_key|key_material"
    r"|client_key|client_certificate_key|encrypted_secret|ses_smtp_password_v4)$"
)
_SECRET_ATTR_EXCLUDED = re.compile(r"(?i)(_arn|_name|_length|_version|_ids?_?|_count|_type)$")
_TF_REF = re.compile(r"(?<![\w.])(?:(data)\.)?([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)\.([A-Za-z_]\w*)")
_ROTATION_ATTRS = ("keepers", "rotation_rules", "rotation_triggers", "rotate_when_changed",
                   "rotation_days", "rotation_period", "rotation_lambda_arn")
_LOCAL_FILE_TYPES = ("local_file", "local_sensitive_file")
_CONTENT_ATTRS = ("content", "sensitive_content", "content_base64")
_CI_ISSUERS = ("token.actions.githubusercontent.com", "gitlab.com")
_AUD_KEY = re.compile(r"(token\.actions\.githubusercontent\.com|gitlab\.com)[^\"'\s]*:aud")
_FEDERATED_CI = re.compile(
    r"(oidc-provider/(token\.actions\.githubusercontent\.com|gitlab\.com)"
    r"|(token\.actions\.githubusercontent\.com|gitlab\.com)[^\"'\s]*:sub)"
)

# CI scripts
_GHA_SECRET_EXPR = re.compile(r"\$\{\{\s*secrets\.[A-Za-z_][\w-]*\s*\}\}")
_TOJSON_SECRETS = re.compile(r"(?i)toJSON\(\s*secrets\s*\)")
_ECHO = re.compile(r"^\s*(?:-\s+)?(echo|printf)\b")
_MASK = re.compile(r"::add-mask::")
_PIPE = re.compile(r"(?<!\|)\|(?!\|)")
_REDIRECT = re.compile(r"(?<![<>&\d])(>>?|\|\s*tee(?:\s+-a)?)\s*[\"']?([^\s;&|\"'<>]+)")
_CRED_COMMAND = re.compile(
    r"(create-access-key|get-session-token|assume-role|keys\s+create|print-access-token"
    r"|vault\s+(token\s+create|write|read)|az\s+ad\s+sp\s+credential\s+reset"
    r"|create-service-specific-credential|gh\s+auth\s+token|get-login-password)"
)
_KEYS_CREATE_FILE = re.compile(r"keys\s+create\s+([^\s;&|]+)")
_MINTS = re.compile(r"(create-access-key|keys\s+create|credential\s+reset"
                    r"|create-service-specific-credential|token\s+create)")
_NOT_FILES = frozenset({"/dev/null", "/dev/stderr", "/dev/stdout"})
_GITHUB_FILES = re.compile(r"GITHUB_(ENV|OUTPUT|STEP_SUMMARY|PATH|STATE)")
_WORKSPACE_PATHS = frozenset({".", "./", "*", "**", "**/*", "${{ github.workspace }}",
                              "${{github.workspace}}", "$GITHUB_WORKSPACE", "$CI_PROJECT_DIR"})
_GITLAB_SECRET_VARS = frozenset({"CI_JOB_TOKEN", "CI_REGISTRY_PASSWORD", "CI_DEPLOY_PASSWORD",
                                 "CI_JOB_JWT", "CI_JOB_JWT_V2"})
_VAR_USE = re.compile(r"\$\{?([A-Za-z_]\w*)\}?")
#: `${{ inputs.X }}` in a composite action; a secret-named input X is kept as `inputs.X`.
_INPUT_EXPR = re.compile(r"\$\{\{\s*inputs\.([A-Za-z_][\w-]*)\s*\}\}")


def redact(value: str) -> str:
    """The only form in which a secret value may appear: `prefix…(sha256:8hex)`.

    The prefix is at most 4 characters and at most a fifth of the value (so a short password
    shows 1 character); the hash is the first 8 hex digits of SHA-256 over the UTF-8 value.
    """
    shown = value[: min(4, len(value) // 5)]
    digest = hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:8]
    return f"{shown}…(sha256:{digest})"


@dataclass(frozen=True)
class Hit:
    """One hardcoded secret: 1-based `line`, the detector (`GitHub Token`, or `credential-named
    key`), the key it was assigned to when known, and the redacted value."""

    line: int
    detector: str
    key: str | None
    redacted: str


def scan(source: SourceFile, fmt: str, hcl: LoadedHcl | None = None) -> ParseResult:
    """All facets of one file of format `fmt` (a `FileFormat`); see the module docstring.

    `hcl` is `checker.parsers.terraform.load(source)` when the caller already parsed the file
    (Terraform only): it is used instead of a second parse. Never raises on bad input:
    undecodable or unparsable files give no facets (their format parser reports them as NHI9xx).
    """
    text = common.decode(source)
    if isinstance(text, ParseProblem):
        return ParseResult()
    lines = text.split("\n")
    sealed = _encrypted_lines(lines) if fmt == "kubernetes" else frozenset()
    out = [_hardcoded_object(source.path, hit, fmt) for hit in find_hardcoded(lines)
           if hit.line not in sealed]
    if fmt == "terraform":
        out.extend(_terraform(source.path, text, lines, hcl))
    elif fmt == "github_actions":
        out.extend(_github(source.path, text, lines))
    elif fmt == "gitlab_ci":
        out.extend(_gitlab(source.path, text, lines))
    return ParseResult(tuple(out))


# --------------------------------------------------------------------------- hardcoded values

_ENCRYPTED_KEY = re.compile(r"^(\s*)encryptedData\s*:\s*$")


def _encrypted_lines(lines: Sequence[str]) -> frozenset[int]:
    """1-based lines inside a SealedSecret's `encryptedData:` block: ciphertext, not secrets."""
    out: set[int] = set()
    indent: int | None = None
    for number, line in enumerate(lines, start=1):
        if indent is not None:
            if not line.strip() or len(line) - len(line.lstrip()) > indent:
                out.add(number)
                continue
            indent = None
        m = _ENCRYPTED_KEY.match(line)
        if m:
            indent = len(m.group(1))
    return frozenset(out)


#: A necessary condition for any `_plugins()` match, written without importing detect-secrets
#: (its import pulls in `requests`, ~0.1 s, and most lines of IaC hold no secret): a line or
#: value that this does not match goes to no plugin. One alternative per plugin, each matching
#: a part every match of that plugin's `denylist` must contain (detect-secrets 1.5 patterns;
#: `tests/test_secrets_gate.py` checks each generated match of each plugin pattern against it
#: and, over the corpus and the secret fixtures, that gating loses no finding).
_PLUGIN_GATE = re.compile(
    r"A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA"  # AWS access key id
    r"|[0-9a-zA-Z/+]{40}"  # AWS secret key (40 chars)
    r"|gh[pousr]_"  # GitHub
    r"|gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-|GR1348941"  # GitLab
    r"|PRIVATE KEY|PuTTY-User-Key-File-2"  # private keys
    r"|eyJ"  # JWT
    r"|(?i:xox[abposr]-|hooks\.slack\.com)"  # Slack
    r"|[rs]k_live_"  # Stripe
    r"|(?:AC|SK)[a-z0-9]{32}"  # Twilio
    r"|SG\."  # SendGrid
    r"|-us[0-9]"  # Mailchimp
    r"|_authToken="  # npm
    r"|[a-zA-Z\d_-]{23}\.[a-zA-Z\d_-]{6}\."  # Discord
    r"|T3BlbkFJ"  # OpenAI
    r"|pypi-AgE"  # PyPI
    r"|AccountKey="  # Azure storage
    r"|AKC[a-zA-Z0-9]{10}|AP[\dA-F][a-zA-Z0-9]{8}"  # Artifactory
    r"|sq0csp-"  # Square
    r"|\d{8}:"  # Telegram
    r"|://[^:/?#\[\]@!$&'()*+,;=\s]+:[^:/?#\[\]@!$&'()*+,;=\s]+@"  # basic auth
    r"|AIza|(?i:webhook\.office\.com)"  # OWN_DETECTORS
)


def may_hold_plugin_secret(text: str) -> bool:
    """False only when no detect-secrets plugin nor `OWN_DETECTORS` can match in `text`
    (see `_PLUGIN_GATE`); True means "run the plugins"."""
    return _PLUGIN_GATE.search(text) is not None


@functools.lru_cache(maxsize=1)
def _plugins() -> tuple[Any, ...]:
    """detect-secrets' format plugins, instantiated once (regex denylists; no network), then
    `OWN_DETECTORS`."""
    from detect_secrets.plugins.artifactory import ArtifactoryDetector
    from detect_secrets.plugins.aws import AWSKeyDetector
    from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
    from detect_secrets.plugins.basic_auth import BasicAuthDetector
    from detect_secrets.plugins.discord import DiscordBotTokenDetector
    from detect_secrets.plugins.github_token import GitHubTokenDetector
    from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
    from detect_secrets.plugins.jwt import JwtTokenDetector
    from detect_secrets.plugins.mailchimp import MailchimpDetector
    from detect_secrets.plugins.npm import NpmDetector
    from detect_secrets.plugins.openai import OpenAIDetector
    from detect_secrets.plugins.private_key import PrivateKeyDetector
    from detect_secrets.plugins.pypi_token import PypiTokenDetector
    from detect_secrets.plugins.sendgrid import SendGridDetector
    from detect_secrets.plugins.slack import SlackDetector
    from detect_secrets.plugins.square_oauth import SquareOAuthDetector
    from detect_secrets.plugins.stripe import StripeDetector
    from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
    from detect_secrets.plugins.twilio import TwilioKeyDetector

    classes = (AWSKeyDetector, GitHubTokenDetector, GitLabTokenDetector, PrivateKeyDetector,
               JwtTokenDetector, SlackDetector, StripeDetector, TwilioKeyDetector,
               SendGridDetector, MailchimpDetector, NpmDetector, DiscordBotTokenDetector,
               OpenAIDetector, PypiTokenDetector, AzureStorageKeyDetector, ArtifactoryDetector,
               SquareOAuthDetector, TelegramBotTokenDetector, BasicAuthDetector)
    return (*(cls() for cls in classes), *OWN_DETECTORS)


def entropy(value: str) -> float:
    """Shannon entropy of `value` in bits per character, over the characters it contains.

    detect-secrets' `calculate_shannon_entropy` counts only its plugin's charset (base64 or
    hex), which scores `b@d0@u7H70K3n` low because `@` is not base64; passwords use any
    printable character, so every character counts here.
    """
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def is_placeholder(value: str, quoted: bool = False) -> bool:
    """True for values that are not secrets: references, placeholders, paths, booleans.

    `quoted` says the value was written in quotes, where an index expression cannot occur.
    """
    v = value.strip()
    word = _PLACEHOLDER_WORD.search(v)
    if word and word.group().lower() == "example" and re.fullmatch(r"[A-Za-z0-9/+=]{20,}", v):
        word = None  # a key-shaped value that only says EXAMPLE (AWS documentation keys)
    return (
        not v
        or bool(_REFERENCE.search(v))
        or (not quoted and bool(_INDEX.search(v)))
        or bool(word)
        or bool(_BOOLEANISH.match(v))
        or bool(_PATHLIKE.search(v))
        or len(set(v)) <= 2
    )


def find_hardcoded(lines: Sequence[str]) -> list[Hit]:
    """Hardcoded secrets in `lines` (index 0 is line 1), in line order.

    Format plugins run first; a credential-named key with a literal of at least `MIN_LENGTH`
    characters and `MIN_ENTROPY` bits per character is the fallback (`credential-named key`).
    """
    out: list[Hit] = []
    env_name: str | None = None
    variable: str | None = None  # inside `variable "NAME" {` (HCL) until a `}` at column 1
    for number, raw_line in enumerate(lines, start=1):
        line = raw_line[:MAX_LINE]
        seen: set[str] = set()
        header = _TF_VARIABLE.match(line)
        if header:
            variable = header.group("name")
        elif variable is not None and _TF_BLOCK_END.match(line):
            variable = None
        previous, named = env_name, _ENV_NAME.match(line)
        if _COMMENT_ONLY.match(line):
            named = None  # a comment between `name:` and `value:` keeps the pair
        else:
            env_name = (named.group("name") or named.group("parent")) if named else None
        for plugin in _plugins() if may_hold_plugin_secret(line) else ():
            for value in _plugin_values(plugin, line):
                if value in seen or _plugin_placeholder(value):
                    continue
                seen.add(value)
                out.append(Hit(number, str(plugin.secret_type), _key_before(line, value),
                               redact(value)))
        if seen:
            continue
        for m in _KV.finditer(line):
            key, raw = m.group("key"), m.group("val")
            value = _unquote(raw)
            if value in seen:
                continue
            hit = _keyed_hit(number, key, raw, value)
            if hit is not None:
                seen.add(value)
                out.append(hit)
        default = _TF_DEFAULT.match(line) or (
            _TF_DEFAULT.match(line[header.end():]) if header else None)  # fmt: skip
        if variable is not None and default and not seen:
            raw = default.group("val")
            hit = _keyed_hit(number, variable, raw, _unquote(raw))
            if hit is not None:
                seen.add(hit.redacted)
                out.append(hit)
        if header and line.rstrip().endswith("}"):
            variable = None  # a one-line `variable "x" { default = "..." }`
        env_value = _ENV_VALUE.match(line)
        if previous and env_value and not seen:
            raw = env_value.group(1)
            hit = _keyed_hit(number, previous, raw, _unquote(raw))
            if hit is not None:
                out.append(hit)
    return out


def _plugin_values(plugin: Any, line: str) -> Iterator[str]:
    """The whole secret each plugin match stands for.

    detect-secrets' regex plugins yield `findall` results, which for a pattern with a group is
    the group (GitHub's `(ghp|gho|...)_...` yields only `ghp`); the value is rebuilt from the
    match: its longest group of at least 16 characters (AWS secret keys), else the whole match.
    Plugins with their own `analyze_string` (JWT) are used as they are.
    """
    denylist = getattr(plugin, "denylist", None)
    if not denylist or "analyze_string" in type(plugin).__dict__:
        for value in plugin.analyze_string(line):
            if isinstance(value, str):
                yield value
        return
    for regex in denylist:
        for m in regex.finditer(line):
            groups = [g for g in m.groups() if isinstance(g, str) and len(g) >= 16]
            yield max(groups, key=len) if groups else m.group(0)


def _plugin_placeholder(value: str) -> bool:
    v = value.lower()
    return "xxxx" in v or "${" in v or "{{" in v or "<" in v


def _key_before(line: str, value: str) -> str | None:
    head = line[: line.find(value)]
    found = list(_KV.finditer(head + "X"))
    return found[-1].group("key") if found else None


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        return raw[1:-1]
    return raw


def is_password_key(name: str) -> bool:
    """True when key `name` names a password: it ends in `password`/`passwd`/`pwd`, or one of
    its `_`/`-`/`.` components is one (`pass` only after another component), followed only by
    short qualifiers (`DB_PASS_BD_2`); see `_PASSWORD_PART`."""
    if _PASSWORD_KEY.search(name):
        return True
    parts = [part.lower() for part in re.split(r"[_.\-]+", name) if part]
    for index, part in enumerate(parts):
        if part not in _PASSWORD_PART or (part == "pass" and index == 0):
            continue
        tail = parts[index + 1 :]
        if all(_PASSWORD_QUALIFIER.match(q) and q not in _PASSWORD_QUALIFIER_NOT for q in tail):
            return True
    return False


def _keyed_hit(number: int, key: str, raw: str, value: str) -> Hit | None:
    name = key.rsplit(".", 1)[-1]
    password = is_password_key(name)
    if (not (password or _SECRET_KEY.search(name)) or _SETTING_KEY.match(name)
            or is_placeholder(value, quoted=raw[:1] in "\"'")):
        return None
    if _NAME_CHARS.sub("", value).lower() == _NAME_CHARS.sub("", name).lower():
        return None  # `HF_TOKEN: "HF_TOKEN"`: the value names the variable, it is no secret
    candidates = [value]
    if _BASE64.match(value) and len(value) % 4 == 0:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        if decoded.isprintable() and decoded:
            if is_placeholder(decoded):
                return None
            candidates.append(decoded)
    for candidate in candidates:
        for plugin in _plugins() if may_hold_plugin_secret(candidate) else ():
            if any(True for _ in _plugin_values(plugin, candidate)):
                return Hit(number, str(plugin.secret_type), key, redact(value))
    if password:
        if len(value) < MIN_PASSWORD_LENGTH:
            return None
    elif len(value) < MIN_LENGTH or entropy(value) < (
        MIN_LONG_ENTROPY if len(value) >= LONG_LENGTH else MIN_ENTROPY
    ):
        return None
    if raw[:1] not in "\"'" and " " in value:
        return None
    return Hit(number, "credential-named key", key, redact(value))


def _hardcoded_object(path: str, hit: Hit, fmt: str) -> IdentityObject:
    label = hit.key or re.sub(r"[^a-z0-9]+", "-", hit.detector.lower()).strip("-")
    attrs = {"value": hit.line}
    if hit.key:
        attrs[hit.key] = hit.line
    return IdentityObject(
        kind="secret",
        platform=_PLATFORM_BY_DETECTOR.get(hit.detector, "generic"),
        type="hardcoded_secret",
        address=f"{path}#secret.{label}:{hit.redacted}",
        location=Location(path, hit.line, hit.line),
        attribute_lines=attrs,
        secret_sinks=(f"literal:{hit.detector}",),
        derived_from=path,
    )


def _facet(path: str, type_: str, kind: str, platform: str, address: str, start: int,
           end: int, anchor: int, sinks: Iterable[str], derived: str | None = None,
           references: Iterable[str] = ()) -> IdentityObject:
    return IdentityObject(
        kind=kind,
        platform=platform,
        type=type_,
        address=address,
        location=Location(path, start, max(start, end)),
        attribute_lines={"anchor": anchor},
        secret_sinks=tuple(sinks),
        references=tuple(references),
        derived_from=derived or path,
    )


# --------------------------------------------------------------------------- Terraform


#: Every Terraform facet comes from a block named by one of these (or an `output` block); a
#: file without any (and without a backslash, which could spell one in an escaped label) needs
#: no HCL parse for the secret scan.
_TF_FACET_TOKENS = re.compile(
    r"local_file|local_sensitive_file|\boutput\b|aws_iam_role|aws_iam_policy_document"
    r"|federated_identity_credential|\\"
)


def needs_hcl(text: str) -> bool:
    """True when the Terraform facets of `text` need its parsed HCL (see `_TF_FACET_TOKENS`)."""
    return _TF_FACET_TOKENS.search(text) is not None


def _terraform(path: str, text: str, lines: list[str], hcl: LoadedHcl | None = None
               ) -> list[IdentityObject]:  # fmt: skip
    if hcl is not None:
        data = hcl.data
    elif not needs_hcl(text):
        return []
    else:
        from checker.parsers.terraform import _HCL_ERRORS, _load_hcl

        try:
            data = _load_hcl(text, with_meta=True)
        except _HCL_ERRORS:
            return []
    if not isinstance(data, dict):
        return []
    blocks = list(_tf_blocks(data))
    resources = {f"{t}.{n}": body for section, t, n, body in blocks if section == "resource"}
    rotated = {addr for addr, body in resources.items() if _rotates(body)}
    out: list[IdentityObject] = []
    for section, rtype, name, body in blocks:
        start, end = _int(body.get("__start_line__")), _int(body.get("__end_line__"))
        address = f"{rtype}.{name}" if section == "resource" else f"{section}.{rtype}.{name}"
        if section == "resource" and rtype in _LOCAL_FILE_TYPES:
            for attr in _CONTENT_ATTRS:
                for ref in _secret_refs(body.get(attr), resources):
                    source_addr = ref.rsplit(".", 1)[0]
                    type_ = "rotated_secret_file" if source_addr in rotated else "secret_file"
                    anchor = _attr_line(lines, start, end, attr)
                    out.append(_facet(path, type_, "secret", "generic", f"{address}#{ref}",
                                      start, end, anchor, (f"local_file:{ref}",), address,
                                      (source_addr,)))
        elif section == "output":
            value = body.get("value")
            if body.get("sensitive") is True:
                continue
            for ref in _secret_refs(value, resources, outputs=True):
                anchor = _attr_line(lines, start, end, "value")
                out.append(_facet(path, "secret_output", "secret", "generic",
                                  f"output.{name}#{ref}", start, end, anchor,
                                  (f"output:{ref}",), f"output.{name}",
                                  (ref.rsplit(".", 1)[0],)))
        if (section, rtype) in (("resource", "aws_iam_role"), ("data", "aws_iam_policy_document")):
            block_text = "\n".join(lines[start - 1 : end])
            if _FEDERATED_CI.search(block_text) and not _AUD_KEY.search(block_text):
                anchor = next((n for n in range(start, end + 1)
                               if _FEDERATED_CI.search(lines[n - 1])), start)
                issuer = next(i for i in _CI_ISSUERS if i in block_text)
                out.append(_facet(path, "oidc_trust_without_audience", "oidc_trust", "aws",
                                  f"{address}#aud", start, end, anchor,
                                  (f"issuer:{issuer}",), address))
        if section == "resource" and rtype in (
            "azuread_application_federated_identity_credential",
            "azurerm_federated_identity_credential",
        ) and not (body.get("audiences") or body.get("audience")):
            anchor = _attr_line(lines, start, end, "issuer")
            out.append(_facet(path, "oidc_trust_without_audience", "oidc_trust", "azure",
                              f"{address}#aud", start, end, anchor,
                              (f"issuer:{body.get('issuer')}",), address))
    return out


def _tf_blocks(data: Mapping[str, Any]) -> Iterator[tuple[str, str, str, Mapping[str, Any]]]:
    for section in ("resource", "data"):
        for group in _as_list(data.get(section)):
            if isinstance(group, dict):
                for rtype, named in group.items():
                    if isinstance(named, dict):
                        for name, body in named.items():
                            if isinstance(body, dict) and "__start_line__" in body:
                                yield section, str(rtype), str(name), body
    for group in _as_list(data.get("output")):
        if isinstance(group, dict):
            for name, body in group.items():
                if isinstance(body, dict) and "__start_line__" in body:
                    yield "output", "output", str(name), body


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 1


def _rotates(body: Mapping[str, Any]) -> bool:
    if any(attr in body for attr in _ROTATION_ATTRS):
        return True
    return "time_rotating." in repr(body)


def _secret_refs(value: Any, resources: Mapping[str, Any], outputs: bool = False) -> list[str]:
    """`type.name.attr` references in `value` that point at secret attributes."""
    text = value if isinstance(value, str) else repr(value) if value is not None else ""
    found: list[str] = []
    for m in _TF_REF.finditer(text):
        data, rtype, name, attr = m.groups()
        if data or rtype in ("var", "local", "module", "path", "each", "count", "self"):
            continue
        if _is_secret_attr(rtype, attr):
            ref = f"{rtype}.{name}.{attr}"
            if ref not in found:
                found.append(ref)
    return found


def _is_secret_attr(rtype: str, attr: str) -> bool:
    if attr == "result":
        return rtype == "random_password"
    if rtype.startswith("random_") and rtype != "random_password":
        return False
    return bool(_SECRET_ATTR.match(attr)) and not _SECRET_ATTR_EXCLUDED.search(attr)


def _attr_line(lines: Sequence[str], start: int, end: int, attr: str) -> int:
    pattern = re.compile(rf"^\s*{re.escape(attr)}\s*=")
    for n in range(start, min(end, len(lines)) + 1):
        if pattern.match(lines[n - 1]):
            return n
    return start


# --------------------------------------------------------------------------- CI scripts


@dataclass(frozen=True)
class _ScriptLine:
    line: int
    text: str


def _script_lines(node: Node | None) -> list[_ScriptLine]:
    """The physical lines of a `run:`/`script:` value (a scalar, or a list of scalars)."""
    out: list[_ScriptLine] = []
    for item in (node.value if isinstance(node, SequenceNode) else [node]):
        if not isinstance(item, ScalarNode):
            continue
        first = line_of(item) + (1 if item.style in ("|", ">") else 0)
        for offset, text in enumerate(str(item.value).split("\n")):
            if text.strip():
                out.append(_ScriptLine(first + offset, text))
    return out


def _secret_names(*envs: Node | None, inputs: frozenset[str] = frozenset()) -> set[str]:
    """Env var names bound to a secret (`${{ secrets.X }}`, a secret-named expression, or a
    secret input of a composite action, given as `inputs.X` in `inputs` and kept)."""
    names: set[str] = set(inputs)
    for env in envs:
        for name, _, value in items(env):
            text = scalar(value) or ""
            if _GHA_SECRET_EXPR.search(text) or "secrets." in text or (
                _SECRET_KEY.search(name) and "${{" in text
            ) or any(f"inputs.{m.group(1)}" in names for m in _INPUT_EXPR.finditer(text)):
                names.add(name)
    return names


def _uses_secret(text: str, names: set[str]) -> bool:
    if _GHA_SECRET_EXPR.search(text) or _TOJSON_SECRETS.search(text):
        return True
    if any(f"inputs.{m.group(1)}" in names for m in _INPUT_EXPR.finditer(text)):
        return True
    return any(m.group(1) in names for m in _VAR_USE.finditer(text))


def _echo_lines(script: list[_ScriptLine], names: set[str]) -> list[int]:
    out: list[int] = []
    for sl in script:
        if not _ECHO.match(sl.text) or _MASK.search(sl.text) or not _uses_secret(sl.text, names):
            continue
        if _REDIRECT.search(sl.text) or _PIPE.search(sl.text):
            continue  # into a file or another command's stdin (`| docker login --password-stdin`)
        out.append(sl.line)
    return out


def _written_files(script: list[_ScriptLine], names: set[str]) -> list[tuple[int, str, bool]]:
    """(line, file, minted) for each file a script line writes secret material to."""
    out: list[tuple[int, str, bool]] = []
    for sl in script:
        secret = _uses_secret(sl.text, names)
        cred = _CRED_COMMAND.search(sl.text)
        if not (secret or cred):
            continue
        minted = bool(_MINTS.search(sl.text))
        targets = [m.group(2) for m in _REDIRECT.finditer(sl.text)]
        targets += [m.group(1) for m in _KEYS_CREATE_FILE.finditer(sl.text)]
        for target in targets:
            if target in _NOT_FILES or _GITHUB_FILES.search(target) or target.startswith("&"):
                continue
            out.append((sl.line, target, minted))
    return out


def _covers(paths: Sequence[str], written: str) -> bool:
    """True when an upload/cache path list includes the written file."""
    w = written.removeprefix("./")
    for raw in paths:
        p = raw.strip().removeprefix("./").rstrip("/")
        if not p or p.startswith("!"):
            continue
        if raw.strip() in _WORKSPACE_PATHS or p in ("", ".", "*", "**"):
            return True
        if w == p or w.startswith(p + "/") or glob_match(w, p) or glob_match(w, p + "/**"):
            return True
    return False


def _path_list(node: Node | None) -> list[str]:
    if isinstance(node, SequenceNode):
        return [scalar(n) or "" for n in node.value]
    text = scalar(node) or ""
    return [p for p in text.split("\n") if p.strip()]


def _github(path: str, text: str, lines: list[str]) -> list[IdentityObject]:
    stream = load_text(text, path)
    root = next((d for d in stream.documents if isinstance(d, MappingNode)), None)
    if root is None or not root.value:
        return []
    out: list[IdentityObject] = []
    first = line_of(root.value[0][0])
    last = end_line_of(root, lines)
    jobs = [(jid, key, job) for jid, key, job in items(get(root, "jobs"))
            if isinstance(job, MappingNode)]
    if get_entry(root, "permissions") is None and jobs and any(
        get_entry(job, "permissions") is None for _, _, job in jobs
    ):
        jobs_key = get_entry(root, "jobs")
        anchor = line_of(jobs_key[0]) if jobs_key else first
        out.append(_facet(path, "default_token_permissions", "ci_credential", "github",
                          f"{path}#permissions", first, last, anchor, ("token:default",)))
    workflow_env = get(root, "env")
    for name, key, value in items(workflow_env):
        if _GHA_SECRET_EXPR.search(scalar(value) or "") or "secrets." in (scalar(value) or ""):
            n = line_of(key)
            out.append(_facet(path, "workflow_env_secret", "ci_credential", "github",
                              f"{path}#env.{name}", n, n, n, (f"env:{name}",)))
    for number, line in enumerate(lines, start=1):
        if _TOJSON_SECRETS.search(line) and not _COMMENT_ONLY.match(line):
            out.append(_facet(path, "secrets_serialised", "ci_credential", "github",
                              f"{path}#L{number}.toJSON(secrets)", number, number, number,
                              ("expression:toJSON(secrets)",)))
    for job_id, job_key, job in jobs:
        out.extend(_github_job(path, lines, job_id, job_key, job, workflow_env))
    runs = get(root, "runs")
    if isinstance(runs, MappingNode) and (scalar(get(runs, "using")) or "").lower() == "composite":
        inputs = frozenset(f"inputs.{name}" for name, _, _ in items(get(root, "inputs"))
                           if _SECRET_KEY.search(name))
        out.extend(_github_job(path, lines, "runs", runs, runs, None, inputs, f"{path}#runs"))
    return out


def _github_job(path: str, lines: list[str], job_id: str, job_key: Node, job: Node,
                workflow_env: Node | None, inputs: frozenset[str] = frozenset(),
                prefix: str | None = None) -> list[IdentityObject]:
    out: list[IdentityObject] = []
    prefix = prefix or f"{path}#jobs.{job_id}"
    inherit = get_entry(job, "secrets")
    if inherit is not None and scalar(inherit[1]) == "inherit":
        n = line_of(inherit[0])
        out.append(_facet(path, "secrets_inherit", "ci_credential", "github",
                          f"{prefix}.secrets", n, n, n, ("secrets:inherit",)))
    job_env = get(job, "env")
    written: list[tuple[int, str, bool]] = []
    persisted: int | None = None
    for index, step in enumerate(sequence(get(job, "steps"))):
        if not isinstance(step, MappingNode):
            continue
        step_line = line_of(step.value[0][0]) if step.value else line_of(step)
        uses = (scalar(get(step, "uses")) or "").split("@", 1)[0].strip().lower()
        names = _secret_names(workflow_env, job_env, get(step, "env"), inputs=inputs)
        script = _script_lines(get(step, "run"))
        for n in _echo_lines(script, names):
            out.append(_facet(path, "ci_secret_echo", "ci_credential", "github",
                              f"{prefix}.steps[{index}].run#L{n}", n, n, n, ("log:run",)))
        written.extend(_written_files(script, names))
        if uses == "actions/checkout":
            persist = (scalar(get(get(step, "with"), "persist-credentials")) or "").strip()
            if persist.lower() != "false":
                persisted = step_line
                out.append(_facet(path, "checkout_persisted_token", "ci_credential", "github",
                                  f"{prefix}.steps[{index}]", step_line, step_line, step_line,
                                  ("git-config:GITHUB_TOKEN",)))
        if uses.startswith(("actions/upload-artifact", "actions/cache")):
            paths = _path_list(get(get(step, "with"), "path"))
            sink = "artifact" if "upload-artifact" in uses else "cache"
            for line, target, minted in written:
                if _covers(paths, target):
                    type_ = "ci_rotated_secret_artifact" if minted else "ci_secret_artifact"
                    out.append(_facet(path, type_, "ci_credential", "github",
                                      f"{prefix}.steps[{index}]#{target}", line, step_line,
                                      line, (f"{sink}:{target}",)))
            if persisted is not None and sink == "artifact" and any(
                p.strip() in _WORKSPACE_PATHS for p in paths
            ):
                out.append(_facet(path, "ci_secret_artifact", "ci_credential", "github",
                                  f"{prefix}.steps[{index}]#.git/config", persisted,
                                  step_line, step_line, ("artifact:.git/config",)))
    return out


# --------------------------------------------------------------------------- GitLab CI

_GITLAB_RESERVED = frozenset({
    "stages", "variables", "include", "default", "workflow", "image", "services", "cache",
    "before_script", "after_script", "types", "pages:deploy",
})


def _gitlab(path: str, text: str, lines: list[str]) -> list[IdentityObject]:
    stream = load_text(text, path)
    root = next((d for d in stream.documents if isinstance(d, MappingNode)), None)
    if root is None:
        return []
    out: list[IdentityObject] = []
    global_vars = get(root, "variables")
    for job_name, _, job in items(root):
        if job_name in _GITLAB_RESERVED or not isinstance(job, MappingNode):
            continue
        names = set(_GITLAB_SECRET_VARS)
        names.update(n for n, _, _ in items(get(job, "id_tokens")))
        names.update(n for n, _, _ in items(get(job, "secrets")))
        for env in (global_vars, get(job, "variables")):
            names.update(n for n, _, _ in items(env) if _SECRET_KEY.search(n))
        script: list[_ScriptLine] = []
        for key in ("before_script", "script", "after_script"):
            script.extend(_script_lines(get(job, key)))
        prefix = f"{path}#{job_name}"
        for n in _echo_lines(script, names):
            out.append(_facet(path, "ci_secret_echo", "ci_credential", "gitlab",
                              f"{prefix}.script#L{n}", n, n, n, ("log:script",)))
        written = _written_files(script, names)
        for sink in ("artifacts", "cache"):
            entry = get_entry(job, sink)
            if entry is None or not written:
                continue
            paths: list[str] = []
            for part in (entry[1].value if isinstance(entry[1], SequenceNode) else [entry[1]]):
                paths.extend(_path_list(get(part, "paths")))
            end = line_of(entry[0])
            for line, target, minted in written:
                if _covers(paths, target):
                    type_ = "ci_rotated_secret_artifact" if minted else "ci_secret_artifact"
                    out.append(_facet(path, type_, "ci_credential", "gitlab",
                                      f"{prefix}.{sink}#{target}", min(line, end),
                                      max(line, end), line, (f"{sink}:{target}",)))
    return out
