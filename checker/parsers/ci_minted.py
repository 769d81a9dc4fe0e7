"""Credentials a CI script mints (`run:` of a GitHub Actions step), as facts for
`checker.parsers.github_actions`, which makes each an identity (`ci_minted_credential`).

A command that creates a new credential, each with its lifetime as the command states it:
- `kubectl create token <sa>`: a service-account token, `--duration` (a Go duration; the
  API server's default, one hour, when absent):
  https://kubernetes.io/docs/reference/kubectl/generated/kubectl_create/kubectl_create_token/;
- `aws iam create-access-key`: a static access key, which never expires:
  https://docs.aws.amazon.com/cli/latest/reference/iam/create-access-key.html;
- `gcloud iam service-accounts keys create`: a user-managed service-account key, which does
  not expire unless an organisation policy says so:
  https://cloud.google.com/sdk/gcloud/reference/iam/service-accounts/keys/create;
- `az ad sp credential reset`: a new client secret, `--years` (default one) or `--end-date`:
  https://learn.microsoft.com/en-us/cli/azure/ad/sp/credential#az-ad-sp-credential-reset;
- `vault token create`: a Vault token, `-ttl`/`-period`/`-explicit-max-ttl` (a Go duration;
  the role's or mount's default when absent):
  https://developer.hashicorp.com/vault/docs/commands/token/create.

Where the minted value goes (a file uploaded as an artifact, the log) is judged by the secret
scan's CI sinks (`checker.secrets.ci_sinks`, NHI405-NHI407), not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from yaml.nodes import Node, ScalarNode, SequenceNode

from checker.lazy_patterns import lazy_compile
from checker.model import Lifetime
from checker.parsers.common import go_duration_hours
from checker.safeyaml import line_of

#: (pattern, platform, what) of each minting command; a pattern must match at a word start.
_MINTS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (lazy_compile(r"\bkubectl\b[^;&|#]*?\bcreate\s+token\b"), "kubernetes",
     "a service-account token (`kubectl create token`)"),
    (lazy_compile(r"\baws\s+(?:[^;&|#]*\s)?iam\s+create-access-key\b"), "aws",
     "a static access key (`aws iam create-access-key`)"),
    (lazy_compile(r"\bgcloud\s+(?:[^;&|#]*\s)?iam\s+service-accounts\s+keys\s+create\b"), "gcp",
     "a service-account key (`gcloud iam service-accounts keys create`)"),
    (lazy_compile(r"\baz\s+ad\s+sp\s+credential\s+reset\b"), "azure",
     "a client secret (`az ad sp credential reset`)"),
    (lazy_compile(r"\bvault\s+token\s+create\b"), "vault",
     "a Vault token (`vault token create`)"),
)
_FLAG = r"(?:^|\s)-{{1,2}}{name}(?:=|\s+)[\"']?([^\s\"';&|)`]+)"
_DURATION = {"kubernetes": ("duration",), "vault": ("ttl", "period", "explicit-max-ttl")}
_YEARS = lazy_compile(_FLAG.format(name="years"))
_END_DATE = lazy_compile(_FLAG.format(name="end-date"))


@dataclass(frozen=True)
class Minted:
    """One minting command: its 1-based `line`, `platform`, `what` it mints (for messages),
    the `lifetime` the command states (None: none stated, or a credential that never
    expires: `static` says which)."""

    line: int
    platform: str
    what: str
    lifetime: Lifetime | None
    static: bool


def minted(run: Node | None) -> list[Minted]:
    """The credentials a `run:` script (a scalar, or a list of scalars) mints, in line order;
    comment lines are skipped."""
    out: list[Minted] = []
    for item in (run.value if isinstance(run, SequenceNode) else [run]):
        if not isinstance(item, ScalarNode):
            continue
        first = line_of(item) + (1 if item.style in ("|", ">") else 0)
        for offset, text in enumerate(str(item.value).split("\n")):
            if text.lstrip().startswith("#"):
                continue
            for pattern, platform, what in _MINTS:
                if pattern.search(text):
                    lifetime = _lifetime(platform, text)
                    out.append(Minted(first + offset, platform, what, lifetime,
                                      platform in ("aws", "gcp")))
                    break
    return out


def _lifetime(platform: str, text: str) -> Lifetime | None:
    """The lifetime a minting command line states, as hours (`--duration=87600h`)."""
    for name in _DURATION.get(platform, ()):
        match = re.search(_FLAG.format(name=re.escape(name)), text)
        if match:
            hours = go_duration_hours(match[1]) if match[1][-1:].isalpha() else (
                float(match[1]) / 3600 if match[1].isdigit() else None)
            return Lifetime(hours=hours, attribute=name) if hours is not None else None
    if platform == "kubernetes":  # the API server's default expiry
        return Lifetime(hours=1.0, attribute="duration")
    if platform == "azure":
        years, end = _YEARS.search(text), _END_DATE.search(text)
        if end:
            return Lifetime(expires=end[1], attribute="end-date")
        count = float(years[1]) if years and years[1].isdigit() else 1.0
        return Lifetime(hours=count * 365 * 24, attribute="years")
    return None
