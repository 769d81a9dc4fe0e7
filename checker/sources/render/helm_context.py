"""Chart template conditions an offline render cannot decide (issue 13 A3).

`helm template` renders as a first install of release `release-name` in namespace `default`,
with no cluster: `lookup` returns an empty map, `.Capabilities` holds helm's defaults and
`.Release.IsUpgrade` is false (https://helm.sh/docs/chart_template_guide/functions_and_pipelines/
"Using the lookup function", https://helm.sh/docs/chart_template_guide/builtin_objects/). A
branch chosen by one of them in a real install is never rendered, so its objects are never
judged. `context_conditions` records where a template's text branches on one: an action that
is an `if`, `else if`, `with` or `range` (over `lookup`: one object per cluster object), or that
calls `ternary` or `default`, and names `lookup`, `.Capabilities` or a `.Release` field (but
`.Release.Name` or `.Namespace` in a `default`: a name fallback).

A release field is also a key or comparand of data: an argument of a function that selects or
compares (`index`, `get`, `pluck`, `dig`, `hasKey`, `eq`, `has`, `semverCompare`, `.Files.Get`,
... : `SELECTORS`, https://helm.sh/docs/chart_template_guide/function_list/) picks another value
in another release or namespace (`index .Values.roleByNamespace .Release.Namespace`). Such a
selection is recorded with the `.Values` paths it reads (`ContextCondition.values`), so a change
to those values is known to reach what the render does not show. A release field written out
as it is (`namespace: {{ .Release.Namespace }}`, a `printf` of a name) selects nothing.

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
_BRANCH = lazy_compile(r"^\s*(?:(else\s+if|if|with|range)\b|.*?\b(ternary|default)\b)", re.S)
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
#: Template functions whose result depends on which value an argument is, not only on its
#: text (Go templates' `index`, `eq`..., Sprig's dict, list and string tests, Helm's `.Files`:
#: https://helm.sh/docs/chart_template_guide/function_list/).
SELECTORS = frozenset({
    "index", "get", "pluck", "dig", "hasKey", "eq", "ne", "lt", "le", "gt", "ge", "has",
    "mustHas", "hasPrefix", "hasSuffix", "contains", "regexMatch", "mustRegexMatch",
    "semverCompare", ".Files.Get", ".Files.Glob", ".Files.Lines",
})
_SELECT = lazy_compile(
    r"(?<![\w.$])(index|get|pluck|dig|hasKey|eq|ne|lt|le|gt|ge|has|mustHas|hasPrefix|hasSuffix"
    r"|contains|regexMatch|mustRegexMatch|semverCompare)(?![\w.])"
    r"|(?<![\w)\]])\$?(\.Files\.(?:Get|Glob|Lines))(?!\w)")
#: A `.Values` path (`.Values.a.b`, `$.Values.a`).
_VALUES = lazy_compile(r"(?<![\w.])\$?\.Values((?:\.\w+)*)")
#: A reference to data a selection cannot name: `.` or a field of it (`.role`), not a root
#: object of the chart (`.Values`, `.Release`, ...).
_RELATIVE = lazy_compile(r"(?<![\w$)\].])\.(?!(?:Values|Release|Capabilities|Chart|Files|"
                         r"Template)\b)")
#: What a selection reads when its data is `.` or a variable not set from `.Values`.
UNKNOWN_VALUES = "*"


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
    values: tuple[str, ...] = ()

    @property
    def volatile(self) -> bool:
        """True when the condition depends on the clock or on chance (`VOLATILE`)."""
        return any(c in VOLATILE for c in self.constructs)

    @property
    def selection(self) -> bool:
        """True when a release field selects or compares data (`keyword` in `SELECTORS`);
        `values` are then the `.Values` paths it reads (`a.b`; "" the whole of `.Values`;
        `UNKNOWN_VALUES` when it reads `.` or a variable of unknown origin)."""
        return self.keyword in SELECTORS


def _context_names(body: str, carried: dict[str, tuple[str, ...]]) -> list[str]:
    """The context constructs `body` (an action, strings blanked) names, directly or through
    a template variable in `carried` (variable -> the constructs its value came from)."""
    names = [m.group(0).lstrip("$") for m in _CONTEXT.finditer(body)]
    for variable in _VARIABLE.finditer(body):
        names += carried.get(variable.group(1), ())
    return names


def _arguments(body: str, start: int, end: int) -> str:
    """The arguments of the call whose function name is `body[start:end]`: what follows it up
    to the end of its command (a `|` or the `)` that closes its group), and the command piped
    into it (`x | index ...`)."""
    depth, i = 0, end
    while i < len(body) and not (depth == 0 and body[i] in "|)"):
        depth += {"(": 1, ")": -1}.get(body[i], 0)
        i += 1
    after = body[end:i]
    j = start - 1
    while j >= 0 and body[j].isspace():
        j -= 1
    if j < 0 or body[j] != "|":
        return after
    depth, k = 0, j - 1
    while k >= 0 and not (depth == 0 and body[k] in "|("):
        depth += {")": 1, "(": -1}.get(body[k], 0)
        k -= 1
    return f"{body[k + 1:j]} {after}"


def _values_read(span: str, carried: dict[str, tuple[str, ...]]) -> list[str]:
    """The `.Values` paths `span` reads, directly or through variables in `carried` (variable
    -> paths); `UNKNOWN_VALUES` for `.`, a field of it, or a variable carried from nothing."""
    paths = [m.group(1).lstrip(".") for m in _VALUES.finditer(span)]
    for variable in _VARIABLE.finditer(span):
        paths += carried.get(variable.group(1), (UNKNOWN_VALUES,))
    if _RELATIVE.search(_VALUES.sub("", span)):
        paths.append(UNKNOWN_VALUES)
    return paths


def _selection(body: str, carried: dict[str, tuple[str, ...]],
               read: dict[str, tuple[str, ...]]) -> tuple[str, list[str], list[str]] | None:
    """The first call in `body` of a `SELECTORS` function with a release field (or a variable
    carrying one, `carried`) among its arguments: (function, constructs, `.Values` paths read,
    through variables in `read`); None when there is none."""
    for call in _SELECT.finditer(body):
        span = _arguments(body, call.start(), call.end())
        names = [n for n in _context_names(span, carried) if n not in VOLATILE]
        if names:
            return call.group(1) or call.group(2), names, _values_read(span, read)
    return None


def context_conditions(text: str) -> list[ContextCondition]:
    """The conditions of the template `text` that depend on what an offline render cannot
    know, in order of their line. A condition on a template variable counts as one on what the
    variable was set from (`{{ $ns := .Release.Namespace }}` ... `{{ if eq $ns "prod" }}`),
    through any chain of variables, in the order the text sets them. An action that is no
    branch but selects data by a release field (`SELECTORS`) is one too, keyed by its function,
    with the `.Values` paths it reads."""
    found = []
    carried: dict[str, tuple[str, ...]] = {}
    read: dict[str, tuple[str, ...]] = {}
    for action in _ACTION.finditer(text):
        text_of = " ".join(action.group(1).split())
        body = _STRING.sub('""', action.group(1))  # a word inside a string is no call
        assigned = _ASSIGN.search(body)
        line = text.count("\n", 0, action.start()) + 1
        if assigned is not None:
            value = assigned.group(2)
            carried[assigned.group(1)] = tuple(dict.fromkeys(
                _context_names(value, carried)
                + [m.group(0).lstrip("$") for m in _RELEASE.finditer(value)]
                + [m.group(0) for m in _VOLATILE.finditer(value)]))
            read[assigned.group(1)] = tuple(dict.fromkeys(_values_read(value, read)))
        branch = _BRANCH.match(body)
        names: list[str] = []
        if branch is not None:
            keyword = " ".join((branch.group(1) or branch.group(2)).split())
            names = _context_names(body, carried)
            if keyword == "default":
                names = [n for n in names if n not in (".Release.Name", ".Release.Namespace")]
            else:
                names += [m.group(0) for m in _VOLATILE.finditer(body)]
        if names:
            found.append(ContextCondition(line, keyword, tuple(dict.fromkeys(names)), text_of))
            continue
        selected = _selection(body, carried, read)
        if selected is not None:
            function, names, paths = selected
            found.append(ContextCondition(line, function, tuple(dict.fromkeys(names)), text_of,
                                          tuple(dict.fromkeys(paths))))
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


_OPENS = lazy_compile(r"^\s*(?:if|with|range|define|block)\b")
_ENDS = lazy_compile(r"^\s*end\s*$")
_BLOCKS = frozenset({"if", "else if", "with", "range"})
#: What makes a guarded block matter here: it writes an RBAC object, a service account or a
#: Secret, or points a pod at an account (a ServiceMonitor behind `.Capabilities` does not).
_GRANTS = lazy_compile(r"\bkind:\s*['\"]?(?:Cluster)?Role(?:Binding)?\b|\bkind:\s*['\"]?"
                       r"(?:ServiceAccount|Secret)\b|\bserviceAccountName\b")


def guarded_reads(text: str) -> list[ContextCondition]:
    """The branch conditions of the template `text` (`if`, `else if`, `with`, `range` on what
    an offline render cannot know, not on the clock: `context_conditions`) whose block (to its
    `end`) writes an RBAC object, a ServiceAccount or a Secret, or a `serviceAccountName`
    (`_GRANTS`), with, as `values`, the `.Values` paths named in that block (helpers it
    `include`s and fields of `.` are not followed): what the render never shows when it takes
    the other branch."""
    actions = [(m.start(), _STRING.sub('""', m.group(1))) for m in _ACTION.finditer(text)]
    starts = [text.count("\n", 0, start) + 1 for start, _ in actions]
    out = []
    for found in context_conditions(text):
        if found.keyword not in _BLOCKS or found.volatile:
            continue
        first = next((i for i, line in enumerate(starts) if line == found.line and " ".join(
            actions[i][1].split()).startswith(found.keyword.split()[0])), None)
        if first is None:
            continue
        depth, paths, end = 1, [], len(text)
        for start, body in actions[first + 1:]:
            if _OPENS.match(body):
                depth += 1
            elif _ENDS.match(body):
                depth -= 1
                if depth == 0:
                    end = start
                    break
            paths += [m.group(1).lstrip(".") for m in _VALUES.finditer(body)]
        if paths and _GRANTS.search(text, actions[first][0], end):
            out.append(ContextCondition(found.line, found.keyword, found.constructs, found.key,
                                        tuple(dict.fromkeys(paths))))
    return out
