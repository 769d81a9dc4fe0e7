"""The environment Terraform runs in, written inside an ARN: partition, region and account id.

`arn:${data.aws_partition.current.partition}:iam::aws:policy/ReadOnlyAccess` and
`arn:aws:ssm:us-east-1:${data.aws_caller_identity.current.account_id}:parameter/app/*` name
the partition, region or account the configuration is applied in. They are not "any value":
they are the one environment the run targets, which the same ARN written literally names as
well. So an ARN field that is one of these data source attributes stands for any literal of
its field's shape (a partition `aws`, `aws-cn`, `aws-us-gov`; a region `us-east-1`; a
12-digit account id), and `align` makes a grant written one way compare equal to the same
grant written the other way. Sources:
https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/partition,
https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/caller_identity,
https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/region and the
ARN format https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
(`arn:partition:service:region:account-id:resource`).
"""

from __future__ import annotations

import hashlib
import re

from checker.lazy_patterns import lazy_compile

__all__ = ["align", "environment_digest", "environment_twin", "is_environment", "neutral",
           "rewritten"]

#: A whole `${data.<type>.<name>.<attribute>}` naming the partition, region or account id.
_ENVIRONMENT = lazy_compile(
    r"\$\{\s*data\.(?:aws_partition\.[\w-]+\.(?P<partition>partition)"
    r"|aws_region\.[\w-]+\.(?P<region>name|region|id)"
    r"|aws_caller_identity\.[\w-]+\.(?P<account>account_id))\s*\}")
#: What a literal of each ARN field looks like.
_SHAPES = {
    "partition": lazy_compile(r"aws(?:-[a-z]+)*"),
    "region": lazy_compile(r"[a-z]{2}(?:-[a-z]+)+-\d+"),
    "account": lazy_compile(r"\d{12}"),
}
#: The ARN field index of each (`arn:partition:service:region:account-id:resource`).
_FIELDS = {1: "partition", 3: "region", 4: "account"}


def is_environment(expression: str) -> bool:
    """True when `expression` (`data.aws_partition.current.partition`, with or without
    `${...}`) is a partition, region or account id data source attribute."""
    text = expression.strip()
    return _ENVIRONMENT.fullmatch(text if text.startswith("${") else f"${{{text}}}") is not None


def _kind(field: str) -> str | None:
    m = _ENVIRONMENT.fullmatch(field)
    return None if m is None else next(k for k in _FIELDS.values() if m.group(k))


def align(value: str, other: str) -> str:
    """`value` (an ARN) with each partition, region or account field written as its data
    source attribute where `other` (an ARN or ARN pattern) has a literal of that field's shape,
    replaced by that literal, and each literal field where `other` has the data source
    attribute of its field replaced by it; `value` unchanged when either is no ARN or nothing
    aligns. So `glob(align(v, o), o)` holds for the same ARN written either way."""
    if not value.startswith("arn:") or not other.startswith("arn:") or (
            "${" not in value and "${" not in other):
        return value
    mine, theirs = value.split(":", 5), other.split(":", 5)
    if len(mine) < 6 or len(theirs) < 6:
        return value
    for index, field in _FIELDS.items():
        here, there = mine[index], theirs[index]
        placeholder, literal = _kind(here) == field, _SHAPES[field].fullmatch(there)
        if (placeholder and (literal or _kind(there) == field)) or (
                _kind(there) == field and _SHAPES[field].fullmatch(here)):
            mine[index] = there
    return ":".join(mine)


#: An ARN's partition, region and account fields, each a literal of its shape, a data source
#: attribute (`_ENVIRONMENT`) or, for region and account, empty or another literal (`aws`).
_PLACEHOLDER = r"\$\{\s*data\.[\w-]+\.[\w-]+\.[\w-]+\s*\}"
_ARN_FIELDS = lazy_compile(
    rf"arn:(?P<partition>{_PLACEHOLDER}|aws(?:-[a-z]+)*):(?P<service>[\w-]*):"
    rf"(?P<region>{_PLACEHOLDER}|[a-z]{{2}}(?:-[a-z]+)+-\d+|[^:\"]*):"
    rf"(?P<account>{_PLACEHOLDER}|\d{{12}}|[^:\"]*):")


def _value(kind: str, text: str) -> str | None:
    """`text` as the value of field `kind`: a literal of its shape or its data source attribute
    (spaces dropped), None for anything else (kept as written)."""
    if _kind(text) == kind:
        return text.replace(" ", "")
    return text if _SHAPES[kind].fullmatch(text) else None


def neutral(text: str) -> tuple[str, dict[str, set[str]]]:
    """`text` with the partition, region and account field of each ARN in it replaced by
    `<partition>`, `<region>`, `<account>` (literal or data source attribute alike), and the
    values replaced, per field."""
    found: dict[str, set[str]] = {}

    def sub(m: re.Match[str]) -> str:
        parts = ["arn"]
        for kind in ("partition", "service", "region", "account"):
            got = _value(kind, m.group(kind)) if kind != "service" else None
            if got is None:
                parts.append(m.group(kind))
            else:
                found.setdefault(kind, set()).add(got)
                parts.append(f"<{kind}>")
        return ":".join(parts) + ":"

    return _ARN_FIELDS.sub(sub, text), found


def environment_digest(payload: str) -> str:
    """`IdentityObject.environment_digest` of a block's canonical JSON `payload`: the sha256
    (32 hex) of `neutral(payload)`, then `field=value` for each value replaced, sorted; "" when
    none was replaced."""
    text, found = neutral(payload)
    if not found:
        return ""
    values = sorted(f"{k}={v}" for k, vs in found.items() for v in vs)
    return " ".join([hashlib.sha256(text.encode("utf-8")).hexdigest()[:32], *values])


def environment_twin(head: str, base: str) -> dict[str, tuple[str, str]] | None:
    """For two `environment_digest`s that differ only in how the fields are written: field ->
    (base's value, head's value) for each field one side writes as one literal and the other as
    one data source attribute (`arn:aws:` and `arn:${data.aws_partition.x.partition}:`); None
    when the blocks differ otherwise, a field that differs has more than one value on a side,
    or nothing is written differently."""
    if not head or not base or head.split(" ", 1)[0] != base.split(" ", 1)[0]:
        return None
    sides: list[dict[str, set[str]]] = [{}, {}]
    for side, digest in zip(sides, (head, base), strict=True):
        for item in digest.split(" ")[1:]:
            kind, _, value = item.partition("=")
            side.setdefault(kind, set()).add(value)
    out: dict[str, tuple[str, str]] = {}
    for kind in {*sides[0], *sides[1]}:
        mine, theirs = sides[0].get(kind, set()), sides[1].get(kind, set())
        if mine == theirs:
            continue
        if len(mine) != 1 or len(theirs) != 1:
            return None
        now, was = next(iter(mine)), next(iter(theirs))
        if now.startswith("${") == was.startswith("${"):
            return None  # two literals (another account) or two data sources
        out[kind] = (was, now)
    return out or None


def rewritten(text: str, fields: dict[str, tuple[str, str]]) -> str:
    """`text` with each ARN field of `fields` (field -> (base's value, head's value), from
    `environment_twin`) that holds base's value written as head's."""
    if "arn:" not in text:
        return text

    def sub(m: re.Match[str]) -> str:
        parts = ["arn"]
        for kind in ("partition", "service", "region", "account"):
            value = m.group(kind)
            if kind in fields and value == fields[kind][0]:
                value = fields[kind][1]
            parts.append(value)
        return ":".join(parts) + ":"

    return _ARN_FIELDS.sub(sub, text)
