"""Format detectors for hardcoded secrets: detect-secrets' plugins, nhi-gate's own, and the gate.

`plugins()` is the tuple of detectors every line or value goes through (detect-secrets 1.5
format plugins, then `OWN_DETECTORS`); `plugin_values(plugin, text)` yields the whole secret
each match stands for. `may_hold_plugin_secret(text)` is the cheap test that decides whether a
line goes to them at all, so detect-secrets is imported only when some line could match.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


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

#: A necessary condition for any `plugins()` match, written without importing detect-secrets
#: (its import pulls in `requests`, and most lines of IaC hold no secret): a line or
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
def plugins() -> tuple[Any, ...]:
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
