"""The native lifetime a catalogued Terraform block declares (`IdentityObject.lifetime`).

`declared_lifetime` reads the attributes of `_LIFETIME` (an end date, a validity period, a
TTL) as written: a literal, or `timeadd(...)` evaluated as far as it can be before apply. A
module value (`ttl = var.ttl`) is not substituted: a default is not proof of what a run
applies, so it must not satisfy a governance check (see `checker.parsers.terraform`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Literal

from checker.lazy_patterns import lazy_compile
from checker.model import Lifetime
from checker.parsers import common
from checker.parsers.terraform.digest import SESSION_ATTRIBUTES
from checker.parsers.terraform.nodes import Node

#: `timeadd(<timestamp>, "<duration>")` as python-hcl2 writes the call: the first argument as
#: written (a quoted RFC 3339 literal, `timestamp()`, a reference), the duration literal.
#: See https://developer.hashicorp.com/terraform/language/functions/timeadd
_TIMEADD = lazy_compile(
    r"timeadd\(\s*(.*?)\s*,\s*\"((?:\d+(?:\.\d+)?(?:ms|us|µs|ns|h|m|s))+)\"\s*\)")
_QUOTED = lazy_compile(r'^"([^"]*)"$')
_NUMBER = lazy_compile(r"^\s*(\d+(?:\.\d+)?)\s*$")

_LifetimeSpec = tuple[tuple[str, Literal["date", "hours", "duration"]], ...]
_PASSWORD_LIFETIME: _LifetimeSpec = (("end_date", "date"), ("end_date_relative", "duration"))

#: Resource type -> attributes that declare a native lifetime, first present wins. Sources:
#: provider docs pages named in rules/catalogue/terraform.yaml.
_LIFETIME: Mapping[str, _LifetimeSpec] = {
    "azuread_application_password": _PASSWORD_LIFETIME,
    "azuread_service_principal_password": _PASSWORD_LIFETIME,
    "azuread_application_certificate": _PASSWORD_LIFETIME,
    "azuread_service_principal_certificate": _PASSWORD_LIFETIME,
    "tls_self_signed_cert": (("validity_period_hours", "hours"),),
    "tls_locally_signed_cert": (("validity_period_hours", "hours"),),
    "azurerm_key_vault_secret": (("expiration_date", "date"),),
    "azurerm_key_vault_key": (("expiration_date", "date"),),
    "google_secret_manager_secret": (("expire_time", "date"), ("ttl", "duration")),
    "vault_token": (("explicit_max_ttl", "duration"), ("ttl", "duration")),
    "gitlab_personal_access_token": (("expires_at", "date"),),
    "gitlab_project_access_token": (("expires_at", "date"),),
    "gitlab_group_access_token": (("expires_at", "date"),),
    "gitlab_deploy_token": (("expires_at", "date"),),
}


def _duration_hours(text: str) -> float | None:
    """Hours in a Go-style duration (`8760h`, `1h30m`, `86400s`) or a bare number of seconds."""
    text = text.strip()
    m = _NUMBER.match(text)
    if m:
        return float(m.group(1)) / 3600
    return common.go_duration_hours(text)


def _timeadd(value: str, attr: str) -> Lifetime | None:
    """The lifetime `timeadd(start, "duration")` in `value` declares, else None.

    A quoted RFC 3339 `start` is evaluated: `expires` is start + duration (UTC, as
    `YYYY-MM-DDTHH:MM:SSZ`). Any other start (`timestamp()`, a resource attribute) is known
    only after apply; the credential then lives for the duration from that moment, so the
    duration is its lifetime (`hours`).
    """
    m = _TIMEADD.search(value)
    if m is None:
        return None
    hours = _duration_hours(m.group(2))
    quoted = _QUOTED.match(m.group(1))
    if quoted is None or hours is None:
        return Lifetime(hours=hours, attribute=attr)
    try:
        start = dt.datetime.fromisoformat(quoted.group(1).replace("Z", "+00:00"))
    except ValueError:
        return Lifetime(attribute=attr)  # Terraform rejects it too; not a known expiry
    if start.tzinfo is not None:
        start = start.astimezone(dt.timezone.utc)
    end = start + dt.timedelta(hours=hours)
    return Lifetime(expires=f"{end:%Y-%m-%dT%H:%M:%SZ}", attribute=attr)


def declared_lifetime(rtype: str, node: Node) -> Lifetime | None:
    """The native lifetime the block declares, or None when it declares none.

    A literal date goes to `expires`, hours/durations to `hours`; `timeadd(...)` as
    `_timeadd` says. An expression that cannot be evaluated (`var.ttl`, a resource attribute)
    still gives a `Lifetime` naming the attribute, with both values None (declared, not known
    before apply).
    """
    for attr, how in _LIFETIME.get(rtype, ()):
        value = node.get(attr)
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            hours = float(value) if how == "hours" else _duration_hours(str(value))
            return Lifetime(hours=hours, attribute=attr)
        if not isinstance(value, str):
            return Lifetime(attribute=attr)
        timeadd = _timeadd(value, attr)
        if timeadd is not None:
            return timeadd
        if "${" in value:
            return Lifetime(attribute=attr)
        if how == "date":
            return Lifetime(expires=value, attribute=attr)
        if how == "hours":
            m = _NUMBER.match(value)
            return Lifetime(hours=float(m.group(1)) if m else None, attribute=attr)
        return Lifetime(hours=_duration_hours(value), attribute=attr)
    return None


#: AWS's maximum session duration of a role that sets none, in seconds (`MaxSessionDuration`:
#: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html).
DEFAULT_SESSION = "3600"


def session_duration(rtype: str, node: Node) -> str | None:
    """`IdentityObject.session` of a block: for an `aws_iam_role`, its `max_session_duration`
    in seconds (read through module values when `node` resolves them; `DEFAULT_SESSION` when
    absent), or the expression as written when it is not a whole number; None for other
    types (`digest.SESSION_ATTRIBUTES`)."""
    if rtype not in SESSION_ATTRIBUTES:
        return None
    value = node.get(SESSION_ATTRIBUTES[rtype])
    if value is None:
        return DEFAULT_SESSION
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    return text if not text.isdigit() else str(int(text))
