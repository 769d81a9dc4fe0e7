"""Chart template conditions an offline render cannot decide (issue 13 A3).

`helm template` renders as a first install of release `release-name` in namespace `default`,
with no cluster: `lookup` returns an empty map, `.Capabilities` holds helm's defaults and
`.Release.IsUpgrade` is false (https://helm.sh/docs/chart_template_guide/functions_and_pipelines/
"Using the lookup function", https://helm.sh/docs/chart_template_guide/builtin_objects/). A
branch chosen by one of them in a real install is never rendered, so its objects are never
judged. `context_conditions` records where a template's text branches on one: an action that
is an `if`, `else if` or `with`, or that calls `ternary` or `default`, and names `lookup`,
`.Capabilities` or a `.Release` field (but `.Release.Name` or `.Namespace` in a `default`: a name
fallback).

A condition on the clock or on randomness (Sprig's `now`, `ago`, `rand*`, `uuidv4`, `shuffle`,
`gen*` keys and certificates: https://masterminds.github.io/sprig/date.html,
https://masterminds.github.io/sprig/strings.html, https://masterminds.github.io/sprig/uuid.html,
https://masterminds.github.io/sprig/crypto.html) is recorded the same way, in an `if`,
`else if`, `with` or `ternary` (a `default` whose fallback is random only picks a value):
its branch depends on when or by chance, so one render says nothing of the next (`volatile`).
It records facts; the caller decides what is a finding.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from checker.lazy_patterns import lazy_compile

#: A template action, `{{ ... }}` (with `-` trims), over one or more lines; comments are not.
_ACTION = lazy_compile(r"\{\{-?(?!\s*/\*)(.*?)-?\}\}", re.S)
_BRANCH = lazy_compile(r"^\s*(?:(else\s+if|if|with)\b|.*?\b(ternary|default)\b)", re.S)
_STRING = lazy_compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`')
_CONTEXT = lazy_compile(r"\blookup\b|\$?\.Capabilities(?:\.\w+)*|\$?\.Release\.\w+")
#: Sprig functions whose result depends on the clock or on chance (module docstring).
VOLATILE = frozenset({
    "now", "ago", "randAlphaNum", "randAlpha", "randNumeric", "randAscii", "randInt",
    "randBytes", "uuidv4", "shuffle", "genPrivateKey", "genCA", "genCAWithKey",
    "genSelfSignedCert", "genSelfSignedCertWithKey", "genSignedCert", "genSignedCertWithKey",
})
_VOLATILE = lazy_compile(r"(?<![\w.$])(?:" + "|".join(sorted(VOLATILE, key=len, reverse=True))
                       + r")(?![\w.])")
#: A template variable's assignment (`$ns := .Release.Namespace`, `$ns = ...`), anywhere in an
#: action (also in an `if`/`with`/`range` head): the variable and what follows the operator.
_ASSIGN = lazy_compile(r"(?<![\w.])\$(\w+)\s*:?=(?!=)\s*(.*)", re.S)
#: A template variable named in an action (`$ns`, `$r.Namespace`; `$` alone is the root).
_VARIABLE = lazy_compile(r"(?<![\w.])\$(\w+)")
#: The whole `.Release` object (`$r := .Release`, then `$r.Namespace`).
_RELEASE = lazy_compile(r"(?<![\w.])\$?\.Release(?![\w.])")


@dataclass(frozen=True)
class ContextCondition:
    """A condition at `line` (1-based) that branches on `constructs` (e.g. `lookup`,
    `.Capabilities.APIVersions.Has`, `.Release.IsUpgrade`) by `keyword` (`if`, `else if`,
    `with`, `ternary`, `default`); `key` is the action's text with spaces collapsed (what makes
    two conditions the same one). `constructs` may name a `VOLATILE` function (`now`,
    `randInt`): see `volatile`."""

    line: int
    keyword: str
    constructs: tuple[str, ...]
    key: str

    @property
    def volatile(self) -> bool:
        """True when the condition depends on the clock or on chance (`VOLATILE`)."""
        return any(c in VOLATILE for c in self.constructs)


def _context_names(body: str, carried: dict[str, tuple[str, ...]]) -> list[str]:
    """The context constructs `body` (an action, strings blanked) names, directly or through
    a template variable in `carried` (variable -> the constructs its value came from)."""
    names = [m.group(0).lstrip("$") for m in _CONTEXT.finditer(body)]
    for variable in _VARIABLE.finditer(body):
        names += carried.get(variable.group(1), ())
    return names


def context_conditions(text: str) -> list[ContextCondition]:
    """The conditions of the template `text` that depend on what an offline render cannot
    know, in order of their line. A condition on a template variable counts as one on what the
    variable was set from (`{{ $ns := .Release.Namespace }}` ... `{{ if eq $ns "prod" }}`),
    through any chain of variables, in the order the text sets them."""
    found = []
    carried: dict[str, tuple[str, ...]] = {}
    for action in _ACTION.finditer(text):
        text_of = " ".join(action.group(1).split())
        body = _STRING.sub('""', action.group(1))  # a word inside a string is no call
        assigned = _ASSIGN.search(body)
        if assigned is not None:
            value = assigned.group(2)
            carried[assigned.group(1)] = tuple(dict.fromkeys(
                _context_names(value, carried)
                + [m.group(0).lstrip("$") for m in _RELEASE.finditer(value)]
                + [m.group(0) for m in _VOLATILE.finditer(value)]))
        branch = _BRANCH.match(body)
        if branch is None:
            continue
        keyword = " ".join((branch.group(1) or branch.group(2)).split())
        names = _context_names(body, carried)
        if keyword == "default":
            names = [n for n in names if n not in (".Release.Name", ".Release.Namespace")]
        else:
            names += [m.group(0) for m in _VOLATILE.finditer(body)]
        if not names:
            continue
        found.append(ContextCondition(text.count("\n", 0, action.start()) + 1, keyword,
                                      tuple(dict.fromkeys(names)), text_of))
    return found


def added_conditions(head: str, base: str | None) -> list[ContextCondition]:
    """The conditions of `head` (a template's text) that `base` (its text before the change;
    None: a new file) does not have as many times (same action text)."""
    before = Counter(c.key for c in context_conditions(base or ""))
    out = []
    for condition in context_conditions(head):
        if before[condition.key] > 0:
            before[condition.key] -= 1
        else:
            out.append(condition)
    return out
