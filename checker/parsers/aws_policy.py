"""AWS IAM policy documents (decoded JSON) -> `Grant`s and `Trust`s, whatever file held them.

Shared by the Terraform parser (`aws_iam_policy`, `assume_role_policy`, ...) and the Kubernetes
parser (Crossplane and ACK IAM objects carry the same documents as strings), so both normalise
a statement the same way:
- `statement_grants`: one `Grant` per Action (or NotAction, `not_action=True`) x Resource (`*`
  when absent or `NotResource`), `effect` from Effect, `conditions` from Condition.
- `statement_trust`: the principals (`Type:value`, `NotPrincipal:Type:value`) and OIDC subject
  patterns (`*:sub` condition values) of a trust statement.
Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from checker.lazy_patterns import lazy_compile
from checker.model import Grant, Trust

#: A condition key on the OIDC subject (`token.actions.githubusercontent.com:sub`).
_SUBJECT_KEY = lazy_compile(r"(?:^|:)sub$")
#: `Principal` types that name who may assume a role.
_TRUST_FIELDS = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})


def json_strings(value: Any) -> list[str]:
    """A string or the strings of a list (other items dropped); anything else -> []."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def effect_of(value: Any) -> Literal["allow", "deny"]:
    """A statement's `Effect` (`effect`) value as `Grant.effect`: "deny" for Deny, else "allow"."""
    return "deny" if isinstance(value, str) and value.strip().lower() == "deny" else "allow"


def statement_conditions(condition: Any) -> tuple[str, ...]:
    """A JSON statement's `Condition` (`{Operator: {key: values}}`) as sorted, unique
    `Operator:key` strings (`Grant.conditions`); values are never kept. Anything else -> ().
    Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    """
    if not isinstance(condition, dict):
        return ()
    return tuple(sorted({
        f"{op}:{key}"
        for op, block in condition.items() if isinstance(op, str) and isinstance(block, dict)
        for key in block if isinstance(key, str)
    }))


def statement_grants(statement: Mapping[str, Any], line: int | None) -> list[Grant]:
    """Action (or NotAction) x Resource grants of one IAM policy statement, at `line`."""
    not_action = "Action" not in statement
    actions = json_strings(statement.get("NotAction" if not_action else "Action"))
    resources = json_strings(statement.get("Resource")) or ["*"]
    effect = effect_of(statement.get("Effect"))
    conditions = statement_conditions(statement.get("Condition"))
    return [
        Grant(action=a, resource=r, effect=effect, not_action=not_action, line=line,
              conditions=conditions)
        for a in actions
        for r in resources
    ]


def statements(doc: Any) -> list[Mapping[str, Any]]:
    """The statements (mappings) of a decoded policy document; a lone statement counts as one."""
    found = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(found, dict):
        found = [found]
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []


def document_grants(doc: Any, line: int | None) -> list[Grant]:
    """Grants of every statement of a decoded IAM policy document, all at `line`."""
    return [
        g
        for st in statements(doc)
        if "Action" in st or "NotAction" in st
        for g in statement_grants(st, line)
    ]


def statement_trust(statement: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(principals as `Type:value`, OIDC subject patterns) of one IAM policy statement. A
    `NotPrincipal` trusts every principal but those it names: each is kept as
    `NotPrincipal:Type:value` (`NotPrincipal = "*"` trusts nobody and gives none). Source:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
    """
    principal = statement.get("Principal")
    principals: list[str] = []
    if principal == "*" or principal == ["*"]:
        principals.append("AWS:*")
    elif isinstance(principal, dict):
        for ptype, values in principal.items():
            if ptype in _TRUST_FIELDS:
                principals.extend(f"{ptype}:{v}" for v in json_strings(values))
    excluded = statement.get("NotPrincipal")
    if isinstance(excluded, dict):
        for ptype, values in excluded.items():
            if ptype in _TRUST_FIELDS:
                principals.extend(f"NotPrincipal:{ptype}:{v}" for v in json_strings(values))
    subjects: list[str] = []
    condition = statement.get("Condition")
    if isinstance(condition, dict):
        for block in condition.values():
            if isinstance(block, dict):
                for key, values in block.items():
                    if isinstance(key, str) and _SUBJECT_KEY.search(key):
                        subjects.extend(json_strings(values))
    return principals, subjects


def document_trust(doc: Any, line: int | None) -> list[Trust]:
    """The Allow statements of a decoded trust (assume-role) policy as `Trust`s at `line`."""
    out: list[Trust] = []
    for st in statements(doc):
        if effect_of(st.get("Effect")) == "deny":
            continue
        principals, subjects = statement_trust(st)
        conditions = statement_conditions(st.get("Condition"))
        out.extend(Trust(p, tuple(subjects), line, conditions) for p in principals)
    return out


def decode_document(text: str | None) -> Any:
    """A policy document written as a JSON string (a Kubernetes field), decoded; None when it is
    not JSON (a template, a reference)."""
    if not text or not text.strip().startswith("{"):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
