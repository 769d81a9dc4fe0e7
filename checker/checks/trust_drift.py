"""Trust drift for NHI302 (`checker.checks.drift`): whether a head `Trust` is already covered by
the base trusts of the same identity, and what it gains in words. A narrowing is only what is
proven narrower: a changed condition operator (a negated `StringNotLike`, an `IfExists`
suffix) or a `NotPrincipal` is never covered by what base trusted.

Sources:
- IAM conditions:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
- NotPrincipal:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
- OIDC subject claims: https://docs.github.com/en/actions/security-for-github-actions/security-hardening-your-deployments/about-security-hardening-with-openid-connect#example-subject-claims
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from checker.model import Trust


def glob(value: str, pattern: str) -> bool:
    """True when `value` equals `pattern` or matches it as an IAM-style glob (`*`, `?`)."""
    return value == pattern or fnmatch.fnmatchcase(value, pattern)


def trust_covered(t: Trust, base: Sequence[Trust]) -> bool:
    """True when some trust of `base` already trusts whom `t` trusts: its principal covers
    `t`'s (`AWS:*` covers all), `t` keeps each of its conditions and its subject operators,
    and each subject pattern of `t` matches one of its patterns (or it had none)."""
    for b in base:
        if not glob(t.principal, b.principal) and b.principal not in ("AWS:*", "*"):
            continue
        if not _limits(b) <= _limits(t):
            continue  # a condition base required is gone
        if _subject_ops(b) and _subject_ops(b) != _subject_ops(t):
            continue  # the subject test changed (`StringNotLike`, `...IfExists`): not proven
        if not b.subjects:
            return True
        if t.subjects and all(any(glob(s, bs) for bs in b.subjects) for s in t.subjects):
            return True
    return False


def _subject_ops(t: Trust) -> set[str]:
    """The `Operator:key` conditions on the OIDC subject: the patterns `t.subjects` limit the
    trust only under the same operators (a negated `StringNotLike` or an `IfExists` suffix
    trusts what the patterns do not match, or a token without the claim)."""
    return {c for c in t.conditions if c.endswith(":sub")}


def _operator_key(condition: str) -> tuple[str, str]:
    """`ForAnyValue:StringLike:aws:TagKeys` -> (`ForAnyValue:StringLike`, `aws:TagKeys`)."""
    qualifier, _, rest = condition.partition(":")
    if qualifier in ("ForAnyValue", "ForAllValues"):
        operator, _, key = rest.partition(":")
        return f"{qualifier}:{operator}", key
    return qualifier, rest


def _changed_conditions(before: set[str], after: Sequence[str], of: str) -> list[str]:
    """Words for each condition in `before` that `after` lacks: removed, or (same key, another
    operator) changed to the new operator."""
    parts: list[str] = []
    for cond in sorted(before - set(after)):
        key = _operator_key(cond)[1]
        now = sorted(c for c in after if _operator_key(c)[1] == key and c not in before)
        parts.append(f"condition {cond} changed to {', '.join(now)} in the trust of {of}" if now
                     else f"condition {cond} removed from the trust of {of}")
    return parts


def _limits(t: Trust) -> set[str]:
    """`t.conditions` but the OIDC `sub` ones, which `t.subjects` compares by value (a move
    from `StringEquals` to `StringLike` is judged by the subject patterns)."""
    return {c for c in t.conditions if not c.endswith(":sub")}


def _github(t: Trust, base: Sequence[Trust]) -> bool:
    """True when `t` federates GitHub Actions OIDC: the provider is named, or the subjects it
    (or its base twin) is limited to are GitHub's (`repo:OWNER/REPO:...`)."""
    subjects = [s for b in base if b.principal == t.principal for s in b.subjects]
    return "token.actions.githubusercontent.com" in t.principal or any(
        s.startswith("repo:") for s in (*t.subjects, *subjects))


def trust_gain(t: Trust, base: Sequence[Trust]) -> str:
    """What trusting `t` (not covered by `base`) gains, in words: the principal, the OIDC
    subjects, or the conditions removed or changed to another operator."""
    twins = [b for b in base if glob(t.principal, b.principal)]
    if t.principal in ("AWS:*", "*"):
        return f"any AWS principal can now assume it ({t.principal})"
    if t.principal.startswith("NotPrincipal:") and not twins:
        return (f"every principal but {t.principal.removeprefix('NotPrincipal:')} can now "
                "assume it (NotPrincipal)")
    if not twins:
        return f"principal {t.principal}"
    was = sorted({s for b in twins for s in b.subjects})
    if not t.subjects and was:
        who = "any GitHub repository" if _github(t, base) else f"any OIDC subject of {t.principal}"
        return f"{who} can now assume it (OIDC sub condition removed; was {', '.join(was)})"
    parts: list[str] = []
    if was and not all(any(glob(s, w) for w in was) for s in t.subjects):
        what = "GitHub repositories and refs" if _github(t, base) else "OIDC subjects"
        parts.append(f"{what} matching {', '.join(t.subjects)} can now assume it "
                     f"(was {', '.join(was)})")
    required = {c for b in twins for c in (*_limits(b), *_subject_ops(b))}
    parts.extend(_changed_conditions(required, t.conditions, t.principal))
    return "; ".join(parts) or f"principal {t.principal}"
