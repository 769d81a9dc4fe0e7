"""Format detectors for hardcoded secrets: detect-secrets' plugins, nhi-gate's own, and the gate.

`plugins()` is the tuple of detectors every line or value goes through (detect-secrets 1.5
format plugins, read as data from the generated `plugin_table`, then `OWN_DETECTORS`);
`plugin_values(plugin, text)` yields the whole secret each match stands for.
`may_hold_plugin_secret(text)` is the cheap test that decides whether a line goes to them at all.
detect-secrets itself is imported only for the JWT plugin's own validation, when a line holds a
JWT's shape.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.secrets.plugin_table import TABLE


@dataclass(frozen=True)
class OwnDetector:
    """A format detector of nhi-gate's own, in detect-secrets' regex-plugin shape (a
    `secret_type` name and a `denylist` of compiled patterns), run beside its plugins for
    formats detect-secrets 1.5 has no plugin for."""

    secret_type: str
    denylist: tuple[re.Pattern[str], ...]


#: A token's edges: no token character (`[A-Za-z0-9_-]`) right before or after it, so a key is
#: matched whole and never inside a longer run.
_START = r"(?<![A-Za-z0-9_\-])"
_END = r"(?![A-Za-z0-9_\-])"

OWN_DETECTORS: tuple[OwnDetector, ...] = (
    # Google API keys: `AIza` and 35 characters of [0-9A-Za-z_-]
    # (https://cloud.google.com/docs/authentication/api-keys).
    OwnDetector("Google API Key", (lazy_compile(r"AIza[0-9A-Za-z_\-]{35}"),)),
    # Microsoft Teams incoming-webhook URLs: whoever holds the URL can post to the channel
    # (https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook).
    OwnDetector("Microsoft Teams Webhook", (lazy_compile(
        r"https://[\w-]+\.webhook\.office\.com/webhookb2/[0-9a-f-]{36}@[0-9a-f-]{36}"
        r"/IncomingWebhook/[0-9a-f]{32}/[0-9a-f-]{36}", re.IGNORECASE),)),
    # Anthropic API and Admin API keys: `sk-ant-api03-` / `sk-ant-admin01-`, 93 characters of
    # [A-Za-z0-9_-], then `AA` (Anthropic publishes no format; the shape is gitleaks'
    # `anthropic-api-key` and `anthropic-admin-api-key` rules,
    # https://github.com/gitleaks/gitleaks/blob/master/cmd/generate/config/rules/anthropic.go;
    # keys are made at https://console.anthropic.com/settings/keys).
    OwnDetector("Anthropic API Key", (lazy_compile(
        rf"{_START}sk-ant-(?:api03|admin01)-[A-Za-z0-9_\-]{{93}}AA{_END}"),)),
    # OpenAI project, service-account and admin keys: `sk-proj-`, `sk-svcacct-`, `sk-admin-`,
    # then [A-Za-z0-9_-] around `T3BlbkFJ` (base64 of `OpenAI`), which every OpenAI key carries
    # (gitleaks' `openai-api-key` rule,
    # https://github.com/gitleaks/gitleaks/blob/master/cmd/generate/config/rules/openai.go;
    # https://platform.openai.com/docs/api-reference/authentication). The old `sk-` keys are
    # detect-secrets' `OpenAIDetector`.
    OwnDetector("OpenAI API Key", (lazy_compile(
        rf"{_START}sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{{20,}}T3BlbkFJ[A-Za-z0-9_\-]{{20,}}"
        rf"{_END}"),)),
    # npm access tokens: `npm_` and 36 base62 characters, the last six a CRC32 checksum (GitHub,
    # "Announcing npm's new access token format",
    # https://github.blog/security/announcing-npms-new-access-token-format/). Anywhere, not only
    # in an `.npmrc` `_authToken=` line (detect-secrets' `NpmDetector`): `npm config set
    # //registry.npmjs.org/:_authToken npm_...`, `NPM_TOKEN = "npm_..."`. The checksum is not
    # required: its base62 alphabet is not documented, and a real token must never be missed.
    OwnDetector("npm Access Token", (lazy_compile(
        r"(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9_])"),)),
    # Hugging Face user access tokens: `hf_` and 34 letters (Hugging Face, "User access
    # tokens", https://huggingface.co/docs/hub/security-tokens; the length is gitleaks'
    # `huggingface-access-token` rule,
    # https://github.com/gitleaks/gitleaks/blob/master/cmd/generate/config/rules/huggingface.go).
    OwnDetector("Hugging Face Access Token", (lazy_compile(
        r"(?<![A-Za-z0-9_])hf_[A-Za-z]{34}(?![A-Za-z0-9_])"),)),
)

#: A necessary condition for any `plugins()` match, written without importing detect-secrets
#: (its import pulls in `requests`, and most lines of IaC hold no secret): a line or
#: value that this does not match goes to no plugin. One alternative per plugin, each matching
#: a part every match of that plugin's `denylist` must contain (detect-secrets 1.5 patterns;
#: `tests/test_secrets_gate.py` checks each generated match of each plugin pattern against it
#: and, over the corpus and the secret fixtures, that gating loses no finding).
_PLUGIN_GATE = lazy_compile(
    r"A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA"  # AWS access key id
    r"|(?i:aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?['\"][0-9a-zA-Z/+]{40}['\"])"
    # (the AWS secret-key pattern itself: a bare 40-character run is as common as a commit SHA)
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
    r"|AIza|(?i:webhook\.office\.com)|sk-ant-|sk-(?:proj|svcacct|admin)-|npm_|hf_"  # own
)


def may_hold_plugin_secret(text: str) -> bool:
    """False only when no detect-secrets plugin nor `OWN_DETECTORS` can match in `text`
    (see `_PLUGIN_GATE`); True means "run the plugins"."""
    return _PLUGIN_GATE.search(text) is not None


#: The detect-secrets 1.5 format plugins nhi-gate runs, by class name (module, class), in order.
_LIBRARY_CLASSES: tuple[tuple[str, str], ...] = (
    ("aws", "AWSKeyDetector"), ("github_token", "GitHubTokenDetector"),
    ("gitlab_token", "GitLabTokenDetector"), ("private_key", "PrivateKeyDetector"),
    ("jwt", "JwtTokenDetector"), ("slack", "SlackDetector"), ("stripe", "StripeDetector"),
    ("twilio", "TwilioKeyDetector"), ("sendgrid", "SendGridDetector"),
    ("mailchimp", "MailchimpDetector"), ("npm", "NpmDetector"),
    ("discord", "DiscordBotTokenDetector"), ("openai", "OpenAIDetector"),
    ("pypi_token", "PypiTokenDetector"), ("azure_storage_key", "AzureStorageKeyDetector"),
    ("artifactory", "ArtifactoryDetector"), ("square_oauth", "SquareOAuthDetector"),
    ("telegram_token", "TelegramBotTokenDetector"), ("basic_auth", "BasicAuthDetector"),
)


def library_plugins() -> list[tuple[str, str, tuple[tuple[str, int], ...], bool]]:
    """The installed detect-secrets' plugins of `_LIBRARY_CLASSES` as the rows of
    `plugin_table.TABLE`: (class name, secret type, ((pattern, flags), ...), whether the class
    has its own `analyze_string`). Imports detect-secrets (for the generator and its test)."""
    import importlib

    rows = []
    for module, name in _LIBRARY_CLASSES:
        cls = getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), name)
        plugin = cls()
        rows.append((name, str(plugin.secret_type),
                     tuple((r.pattern, r.flags) for r in plugin.denylist),
                     "analyze_string" in cls.__dict__))
    return rows


@dataclass(frozen=True)
class TablePlugin:
    """A detect-secrets regex plugin read from `plugin_table.TABLE` (no import of the library):
    its `secret_type` and compiled `denylist`, matched by `plugin_values` as the library's
    own `analyze_string` would."""

    secret_type: str
    denylist: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class LibraryPlugin:
    """A plugin with its own `analyze_string` (detect-secrets' JWT validates what its pattern
    found): the library's class is imported and used only when a `denylist` pattern matches."""

    secret_type: str
    denylist: tuple[re.Pattern[str], ...]
    module: str
    name: str

    def analyze_string(self, text: str) -> Iterator[str]:
        """The library plugin's `analyze_string(text)`; nothing, without importing it, when no
        `denylist` pattern matches `text`."""
        if not any(r.search(text) for r in self.denylist):
            return iter(())
        return iter(_library_instance(self.module, self.name).analyze_string(text))


@functools.cache
def _library_instance(module: str, name: str) -> Any:
    import importlib

    return getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), name)()


@functools.lru_cache(maxsize=1)
def plugins() -> tuple[Any, ...]:
    """detect-secrets' format plugins (from `plugin_table.TABLE`, in the library's
    `_LIBRARY_CLASSES` order), then `OWN_DETECTORS`."""
    modules = {name: module for module, name in _LIBRARY_CLASSES}
    out: list[Any] = []
    for name, secret_type, patterns, own in TABLE:
        denylist = tuple(re.compile(pattern, flags) for pattern, flags in patterns)
        out.append(LibraryPlugin(secret_type, denylist, modules[name], name) if own
                   else TablePlugin(secret_type, denylist))
    return (*out, *OWN_DETECTORS)


def plugin_values(plugin: Any, line: str) -> Iterator[str]:
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
