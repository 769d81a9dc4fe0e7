"""Terraform parser: `.tf` (HCL) and `.tf.json` files -> `IdentityObject`s.

Public functions (both satisfy `checker.parsers.Parser`):
- `parse(source, catalogue)` for HCL native syntax, via python-hcl2 7.3.x
  `hcl2.loads(text, with_meta=True)`, called only through `_load_hcl`, so a later upgrade
  touches this module only (../shared/research/ecosystem.md section 3).
- `parse_json(source, catalogue)` for Terraform JSON syntax, via the stdlib `json` module plus a
  small position scanner (`_json_spans`) that gives every value its 1-based lines.

Which blocks define identities is data: `rules/catalogue/terraform.yaml`. A `resource "T" "N"`
block is looked up as `T`, a `data "T" "N"` block as `data.T` (data sources read identities that
exist elsewhere, so only the ones that define privileges, e.g. `data.aws_iam_policy_document`,
are catalogued), and a `module "N"` block whose `source` is a catalogued module as
`module:<registry address>` (terraform-aws-modules/iam, terraform-google-modules/service-accounts,
cloudposse/iam-system-user: `_KNOWN_MODULES`). `IdentityObject.type` is that catalogue type. Any
other module call is an identity only when an argument names an admin-equivalent or escalation
grant (`checker.policy.privileges.named_privilege`): a `role_binding` of type `module:<source>`.

python-hcl2 7.3.1 shapes this module relies on (verified on the fixtures and the corpus):
- top level: `{"resource": [{T: {N: body}}], "data": [...], "module": [{N: body}]}`;
- a block body is a dict carrying `__start_line__`/`__end_line__`; nested blocks are lists of
  such dicts; maps (`tags = {...}`) are plain dicts without the markers;
- strings lose their quotes; expressions become `"${...}"`; `jsonencode({...})` becomes the text
  `${jsonencode({"Key": "v", ...})}` (JSON-like, but `${...}` inside may hold raw quotes);
- heredocs become their content (indentation stripped for `<<-`);
- attributes carry no line numbers, so `_scan_block` finds them in the text.

Module values: a privilege-bearing attribute whose value is exactly `local.NAME` or `var.NAME`
(or a list element or map value that is) is read through the module's literal values
(`ModuleSources`, `module_values`): `locals` and `variable` defaults of every `.tf` file of the
directory, overridden by `terraform.tfvars` and `*.auto.tfvars` as Terraform does. Where each
value was defined goes into `IdentityObject.inputs`. Metadata, lifetimes, trust and principals
are read as written (a default is not proof of what a run applies: it must not satisfy a
governance check).

Nothing here raises on bad input: syntax errors are NHI901 `ParseProblem`s, undecodable files
NHI902/NHI903 (from `common.decode`), and any unexpected shape is skipped.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from hcl2.api import loads as hcl2_loads
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from checker.errors import NhiGateError
from checker.model import (
    Grant,
    IdentityObject,
    Lifetime,
    Location,
    ParseProblem,
    ParseResult,
    SourceFile,
    Trust,
)
from checker.parsers import common
from checker.policy.catalogue import Catalogue, CatalogueEntry
from checker.policy.privileges import named_privilege
from checker.sources.modules import ModuleSources, is_tfvars

_JsonPath = tuple[str | int, ...]

_FORMAT = "terraform"
_META = ("__start_line__", "__end_line__")
_HCL_ERRORS = (LarkError, ValueError, RuntimeError, RecursionError, UnicodeError)

#: The terraform-aws-modules IAM module, by registry address or GitHub URL, with its submodule.
_IAM_MODULE_TYPE = "module:terraform-aws-modules/iam/aws"
_GOOGLE_SA_MODULE_TYPE = "module:terraform-google-modules/service-accounts/google"
_SYSTEM_USER_MODULE_TYPE = "module:cloudposse/iam-system-user/aws"


def _module_source(registry: str, github: str) -> re.Pattern[str]:
    """A `source` pattern for one registry module: its registry address (`ns/name/provider`,
    optionally on `registry.terraform.io`) or its GitHub repository (`github.com/org/repo`,
    `git::https://`, `git@github.com:`, with `.git`), then the end, a `//submodule` or `?ref=`.
    See https://developer.hashicorp.com/terraform/language/modules/sources
    """
    end = r"(?=$|[/?])"
    return re.compile(
        rf"^(?:registry\.terraform\.io/)?{re.escape(registry)}{end}"
        rf"|^(?:git::)?(?:https://|ssh://git@|git@)?github\.com[/:]{re.escape(github)}"
        rf"(?:\.git)?{end}"
    )


_IAM_MODULE_SOURCE = _module_source("terraform-aws-modules/iam/aws",
                                    "terraform-aws-modules/terraform-aws-iam")
_GOOGLE_SA_MODULE_SOURCE = _module_source(
    "terraform-google-modules/service-accounts/google",
    "terraform-google-modules/terraform-google-service-accounts",
)
_SYSTEM_USER_MODULE_SOURCE = _module_source("cloudposse/iam-system-user/aws",
                                            "cloudposse/terraform-aws-iam-system-user")
_SUBMODULE = re.compile(r"//modules/([A-Za-z0-9_-]+)")

_ATTR_LINE = re.compile(r"\s*([A-Za-z_][\w-]*)\s*=(?!=)")
_BLOCK_LINE = re.compile(r"\s*([A-Za-z_][\w-]*)(?:\s+[A-Za-z_][\w-]*|\s*\"[^\"\n]*\")*\s*\{")
_HEREDOC = re.compile(r"<<-?([A-Za-z_][\w-]*)\s*$")
_ACTION_KEY = re.compile(r"(?<![\w])(NotAction|Action)(?:\\?\")?\s*[=:]")
_REFERENCE = re.compile(r"(?<![\w.\-])(?:(data)\.)?([a-z][a-z0-9_]*)\.([A-Za-z_][\w-]*)")
_TIMEADD = re.compile(r"timeadd\([^\"]*\"((?:\d+(?:\.\d+)?(?:ms|us|µs|ns|h|m|s))+)\"\s*\)")
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")

#: Free-text fields scanned for `key=value` governance pairs (`common.parse_kv`).
_DESCRIPTION_FIELDS = ("description", "display_name", "notes")
#: Map (or list-of-"k=v") attributes holding governance tags.
_TAG_FIELDS = ("tags", "tags_all", "labels")


# --------------------------------------------------------------------------- public functions


@dataclass(frozen=True)
class LoadedHcl:
    """One `.tf` file decoded and parsed by python-hcl2 once (`load`), so that `checker.pipeline`
    can hand the same parse to `parse` and to the secret scan (`checker.secrets.scan.scan`).

    `text`: the decoded text, None when undecodable; `data`: the `loads(text, with_meta=True)`
    result (treat as read-only), None when the text did not parse; `problem`: the
    NHI901/NHI902/NHI903 `ParseProblem` `parse` reports for the file, or None.
    """

    text: str | None
    data: Any
    problem: ParseProblem | None


def load(source: SourceFile) -> LoadedHcl:
    """Decode and parse one `.tf` file. Raises `NhiGateError` only when the installed `hcl2`
    package is not python-hcl2 7.x; bad input becomes `LoadedHcl.problem`."""
    text = common.decode(source)
    if isinstance(text, ParseProblem):
        return LoadedHcl(None, None, text)
    try:
        data = _load_hcl(text, with_meta=True)
    except NhiGateError:
        raise  # a broken installation is no verdict on the file: exit 2 with the fix
    except _HCL_ERRORS as exc:
        return LoadedHcl(text, None, _hcl_problem(source.path, text, exc))
    return LoadedHcl(text, data, None)


def parse(source: SourceFile, catalogue: Catalogue, loaded: LoadedHcl | None = None,
          module: ModuleSources | None = None) -> ParseResult:  # fmt: skip
    """Parse one `.tf` file (HCL native syntax); `loaded` is `load(source)` when the caller
    already has it; `module` holds the value files of the file's directory (see
    `module_values`), so that `role = local.ci_role` reads as the role `locals` defines.

    Returns the catalogued `resource`/`data`/`module` blocks as `IdentityObject`s sorted by
    start line, or a single NHI901/NHI902/NHI903 `ParseProblem` when the file cannot be read.
    A module file that cannot be read leaves its values unresolved (it is reported on its own).
    """
    loaded = loaded if loaded is not None else load(source)
    if loaded.problem is not None:
        return ParseResult(problems=(loaded.problem,))
    text, data = loaded.text, loaded.data
    if text is None or not isinstance(data, dict):
        return ParseResult()
    doc = _Doc(path=source.path, lines=text.split("\n"), spans=None)
    blocks = list(_hcl_blocks(data, doc))
    return ParseResult(objects=_build(blocks, doc, catalogue, module))


def parse_json(source: SourceFile, catalogue: Catalogue) -> ParseResult:
    """Parse one `.tf.json` file (Terraform JSON syntax).

    Same output as `parse`. Block lines come from the position of the block's `"<name>"` key
    inside the resource-type object to the closing brace of its value. Malformed JSON is NHI901
    with the decoder's line and column; a non-object top level gives nothing.
    """
    text = common.decode(source)
    if isinstance(text, ParseProblem):
        return ParseResult(problems=(text,))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = (
            f"{source.path}: JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        )
        return ParseResult(problems=(ParseProblem(source.path, "NHI901", msg, exc.lineno),))
    except RecursionError:
        msg = f"{source.path}: JSON syntax error at line 1, column 1: nesting too deep"
        return ParseResult(problems=(ParseProblem(source.path, "NHI901", msg, 1),))
    if not isinstance(data, dict):
        return ParseResult()
    doc = _Doc(path=source.path, lines=text.split("\n"), spans=_json_spans(text))
    blocks = list(_json_blocks(data, doc))
    return ParseResult(objects=_build(blocks, doc, catalogue))


# --------------------------------------------------------------------------- errors


def warm() -> None:
    """Load python-hcl2's grammar now (its lark parser, cached for the process; ~30 ms), so a
    `checker.sources.worker.ParseWorker` pays for it while the parent reads git."""
    from hcl2.parser import parser

    parser()


def _load_hcl(text: str, with_meta: bool = False) -> Any:
    """The one call into python-hcl2 (7.3.x `loads`). Raises what it raises (`_HCL_ERRORS`).

    Raises `NhiGateError` when the installed `hcl2` package is not python-hcl2 7.x: Checkov's
    fork bc-python-hcl2 installs the same `hcl2` package with another `loads` signature.
    """
    try:
        return hcl2_loads(text, with_meta=with_meta)
    except TypeError as exc:
        if "with_meta" not in str(exc):
            raise
        raise NhiGateError(
            "the installed `hcl2` package is not python-hcl2 7.x (bc-python-hcl2, installed "
            "with Checkov, replaces it): install nhi-gate in its own virtual environment or "
            "with pipx, or `pip install --force-reinstall 'python-hcl2>=7.3.1,<8'`"
        ) from exc


def _hcl_problem(path: str, text: str, exc: BaseException) -> ParseProblem:
    """NHI901 for an exception from `hcl2.loads`; the message never quotes file content."""
    line, column = 1, 1
    if isinstance(exc, UnexpectedInput):
        line = int(getattr(exc, "line", 1) or 1)
        column = int(getattr(exc, "column", 1) or 1)
    last_line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
    if line < 1 or line > last_line:  # -1 when lark does not know; past the end at EOF
        line, column = last_line, 1
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and getattr(exc.token, "type", "") == "$END"
    ):
        opened = _unclosed_start(text)
        if opened is not None:
            line, column = opened, 1
            reason = "not closed before the end of the file (missing }, ], ), quote or heredoc end)"
        else:
            reason = "unexpected end of file"
    elif isinstance(exc, UnexpectedToken):
        reason = "unexpected token"
    elif isinstance(exc, UnexpectedCharacters):
        reason = "unexpected character"
    elif isinstance(exc, VisitError):
        reason, line = _visit_error(text, exc)
    elif isinstance(exc, RecursionError):
        reason = "expressions nested too deeply"
    elif isinstance(exc, UnicodeError):
        reason = "invalid character encoding"
    else:
        reason = "not valid HCL"
    return ParseProblem(
        path, "NHI901", f"{path}: HCL syntax error at line {line}, column {column}: {reason}", line
    )


def _unclosed_start(text: str) -> int | None:
    """The line where the construct left open at the end of the file starts, or None.

    At end of file lark only knows that input ran out; the useful position is the start of the
    last top-level construct (a line beginning at depth 0 in code) when the file ends inside a
    block, bracket, string, heredoc or comment (`_line_states` on one line past the end).
    """
    lines = text.split("\n")
    states = _line_states(lines, 1, len(lines) + 1)
    depth, in_code = states[-1]
    if depth == 0 and in_code:
        return None
    for number in range(len(lines), 0, -1):
        start_depth, start_code = states[number - 1]
        stripped = lines[number - 1].strip()
        if start_depth == 0 and start_code and stripped and not stripped.startswith(("#", "//")):
            return number
    return None


def _visit_error(text: str, exc: VisitError) -> tuple[str, int]:
    """(reason, line) for python-hcl2's transform errors, e.g. a duplicated attribute.

    7.3.1 raises `VisitError(orig_exc=RuntimeError("<name> already defined"))` with the position
    of the enclosing body only; the second definition's line is found by scanning the text.
    """
    line = int(getattr(getattr(exc.obj, "meta", None), "line", 1) or 1)
    m = re.fullmatch(r"(\S+) already defined", str(exc.orig_exc))
    if not m:
        return "invalid construct", line
    pattern = re.compile(rf"\s*{re.escape(m.group(1))}\s*=(?!=)")
    seen = [i for i, ln in enumerate(text.split("\n"), start=1) if pattern.match(ln)]
    if len(seen) >= 2:
        line = seen[1]
    return "attribute defined twice", line


# --------------------------------------------------------------------------- document model


@dataclass(frozen=True)
class _Doc:
    """One decoded file: its path, its text lines, and (for `.tf.json`) value positions.

    `spans` maps a JSON path (`("resource", "aws_iam_user", "deploy")`) to the 1-based
    (first line, last line) of that value, the first line being its key's line; None for HCL.
    """

    path: str
    lines: list[str]
    spans: Mapping[_JsonPath, tuple[int, int]] | None
    #: Set (per identity) only on the nodes handed to a grant extractor: `_Node.get` then
    #: substitutes module values (see `_Resolver`).
    resolver: _Resolver | None = field(default=None, compare=False, repr=False)

    def node(self, body: Mapping[str, Any], json_path: _JsonPath, start: int, end: int) -> _Node:
        """Wrap one block body, computing its attribute lines."""
        if self.spans is None:
            attrs = _scan_block(self.lines, start, end)
            clean = {k: v for k, v in body.items() if k not in _META}
        else:
            attrs = {}
            for key in body:
                span = self.spans.get((*json_path, key))
                if span is not None:
                    attrs[key] = span
            clean = dict(body)
        return _Node(body=clean, start=start, end=end, attrs=attrs, doc=self, path=json_path)

    def json_node(self, body: Mapping[str, Any], json_path: _JsonPath) -> _Node:
        """A `.tf.json` block at `json_path` (lines 1..1 when the scanner has no span)."""
        start, end = (self.spans or {}).get(json_path, (1, 1))
        return self.node(body, json_path, start, end)


@dataclass(frozen=True)
class _Node:
    """One block body with positions.

    `body`: attribute / nested-block name -> raw value as python-hcl2 or json gave it (markers
    removed); `start`/`end`: 1-based block lines; `attrs`: top-level name -> (first, last) line.
    """

    body: Mapping[str, Any]
    start: int
    end: int
    attrs: Mapping[str, tuple[int, int]]
    doc: _Doc = field(repr=False)
    path: _JsonPath = ()

    def get(self, name: str) -> Any:
        """The raw value of attribute `name`, or None; with a resolver (grant extraction), a
        whole `local.X`/`var.X` value, list element or map value becomes the module's literal."""
        value = self.body.get(name)
        resolver = self.doc.resolver
        return value if resolver is None or value is None else resolver.resolve(value)

    def line(self, *names: str) -> int:
        """Line of the first of `names` present in the block, else the block's start line."""
        for name in names:
            if name in self.attrs:
                return self.attrs[name][0]
        return self.start

    def blocks(self, name: str) -> list[_Node]:
        """Nested blocks called `name` (`statement`, `rule`, `metadata`, ...), in order.

        HCL: python-hcl2 gives a list of dicts carrying line markers (plain maps have none, so
        `tags = {...}` is never mistaken for a block). JSON: an object or a list of objects.
        """
        value = self.body.get(name)
        out: list[_Node] = []
        if self.doc.spans is None:
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, dict) and "__start_line__" in item:
                        start = _int(item.get("__start_line__"), self.start)
                        end = _int(item.get("__end_line__"), start)
                        out.append(self.doc.node(item, (), start, end))
            return out
        if isinstance(value, dict):
            out.append(self.doc.json_node(value, (*self.path, name)))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    out.append(self.doc.json_node(item, (*self.path, name, i)))
        return out


@dataclass(frozen=True)
class _Block:
    """A top-level block: `section` is `resource`, `data` or `module`; `labels` its labels."""

    section: Literal["resource", "data", "module"]
    labels: tuple[str, ...]
    node: _Node


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _hcl_blocks(data: Mapping[str, Any], doc: _Doc) -> Iterator[_Block]:
    """Top-level `resource`/`data` (two labels) and `module` (one label) blocks of hcl2 output."""
    for section in ("resource", "data"):
        for group in _as_list(data.get(section)):
            if not isinstance(group, dict):
                continue
            for type_, named in group.items():
                if not isinstance(named, dict):
                    continue
                for name, body in named.items():
                    if isinstance(body, dict) and "__start_line__" in body:
                        yield _Block(section, (str(type_), str(name)), _hcl_node(body, doc))
    for group in _as_list(data.get("module")):
        if not isinstance(group, dict):
            continue
        for name, body in group.items():
            if isinstance(body, dict) and "__start_line__" in body:
                yield _Block("module", (str(name),), _hcl_node(body, doc))


def _hcl_node(body: Mapping[str, Any], doc: _Doc) -> _Node:
    start = _int(body.get("__start_line__"), 1)
    return doc.node(body, (), start, _int(body.get("__end_line__"), start))


def _json_blocks(data: Mapping[str, Any], doc: _Doc) -> Iterator[_Block]:
    """Top-level blocks of Terraform JSON syntax.

    Accepts both `{"resource": {"T": {"N": {...}}}}` and the array forms Terraform also allows
    (`"resource": [{"T": ...}]`, `"N": [{...}]`). `"//"` comment keys are skipped.
    """
    for section in ("resource", "data"):
        for sec_path, group in _json_items(data.get(section), (section,)):
            for type_, named in group.items():
                if type_ == "//":
                    continue
                for type_path, names in _json_items(named, (*sec_path, type_)):
                    for name, body in names.items():
                        if name == "//":
                            continue
                        for body_path, obj in _json_items(body, (*type_path, name)):
                            node = doc.json_node(obj, body_path)
                            yield _Block(section, (type_, name), node)
    for sec_path, group in _json_items(data.get("module"), ("module",)):
        for name, body in group.items():
            if name == "//":
                continue
            for body_path, obj in _json_items(body, (*sec_path, name)):
                yield _Block("module", (name,), doc.json_node(obj, body_path))


def _json_items(value: Any, path: _JsonPath) -> Iterator[tuple[_JsonPath, dict[str, Any]]]:
    """An object, or each object of an array, with its JSON path."""
    if isinstance(value, dict):
        yield path, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, dict):
                yield (*path, i), item


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


# --------------------------------------------------------------------------- positions


def _line_states(lines: Sequence[str], start: int, end: int) -> list[tuple[int, bool]]:
    """For each line `start..end` (1-based, inclusive): (bracket depth at its start, in code).

    A small HCL lexer: `{[(` / `)]}` count only outside strings, comments and heredocs;
    strings may hold `${...}`/`%{...}` templates with nested strings; `#`, `//` and `/* */`
    comments and `<<EOT`/`<<-EOT` heredocs are skipped. "In code" is False for lines that start
    inside a heredoc, a block comment or a string. Depth is relative to the first line.
    """
    out: list[tuple[int, bool]] = []
    depth = 0
    stack: list[int] = []  # -1: inside a string; n > 0: inside a template, n open braces
    comment = False
    heredoc: str | None = None
    for ln in range(start, end + 1):
        text = lines[ln - 1] if 0 < ln <= len(lines) else ""
        if heredoc is not None:
            out.append((depth, False))
            if text.strip() == heredoc:
                heredoc = None
            continue
        out.append((depth, not comment and not stack))
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if comment:
                if text.startswith("*/", i):
                    comment = False
                    i += 2
                else:
                    i += 1
                continue
            if stack and stack[-1] < 0:
                if c == "\\":
                    i += 2
                elif c == '"':
                    stack.pop()
                    i += 1
                elif text.startswith(("$${", "%%{"), i):
                    i += 3
                elif text.startswith(("${", "%{"), i):
                    stack.append(1)
                    i += 2
                else:
                    i += 1
                continue
            if c == "#" or text.startswith("//", i):
                break
            if text.startswith("/*", i):
                comment = True
                i += 2
                continue
            if c == '"':
                stack.append(-1)
            elif not stack:
                heredoc_start = _HEREDOC.match(text, i) if c == "<" else None
                if heredoc_start:
                    heredoc = heredoc_start.group(1)
                    break
                if c in "{[(":
                    depth += 1
                elif c in "}])":
                    depth -= 1
            elif c == "{":
                stack[-1] += 1
            elif c == "}":
                stack[-1] -= 1
                if stack[-1] == 0:
                    stack.pop()
            i += 1
    return out


def _scan_block(lines: Sequence[str], start: int, end: int) -> dict[str, tuple[int, int]]:
    """Top-level attributes and nested blocks of the block spanning `start..end`.

    Returns name -> (first line, last line): the first line matching `^\\s*name\\s*=` or
    `^\\s*name ["label"...] {` at the block's own nesting depth (first occurrence wins for
    repeated nested blocks), the last line being the line before the next top-level line.
    python-hcl2 7.3.1 gives no attribute positions, hence the scan.
    """
    states = _line_states(lines, start, end)
    found: dict[str, int] = {}
    tops: list[int] = []  # lines starting at the block's depth (attribute or closing brace)
    for offset, (depth, code) in enumerate(states[1:], start=1):
        ln = start + offset
        text = lines[ln - 1] if ln <= len(lines) else ""
        stripped = text.strip()
        if not code or depth != 1 or not stripped or stripped.startswith(("#", "//", "/*")):
            continue
        tops.append(ln)
        m = _ATTR_LINE.match(text) or _BLOCK_LINE.match(text)
        if m and m.group(1) not in found:
            found[m.group(1)] = ln
    spans: dict[str, tuple[int, int]] = {}
    for name, ln in found.items():
        k = bisect.bisect_right(tops, ln)
        last = tops[k] - 1 if k < len(tops) else end
        spans[name] = (ln, max(ln, last))
    return spans


@dataclass
class _Frame:
    path: _JsonPath
    start: int
    is_object: bool
    expect_key: bool = True
    key: str = ""
    key_line: int = 1
    index: int = 0


def _json_spans(text: str) -> dict[_JsonPath, tuple[int, int]]:
    """1-based (first, last) line of every value in a JSON text, keyed by its path.

    The first line of an object member is its key's line. Iterative (no recursion limit); the
    text has already been accepted by `json.loads`, so the scanner can be lenient.
    """
    spans: dict[_JsonPath, tuple[int, int]] = {}
    stack: list[_Frame] = []
    i, n, line = 0, len(text), 1

    def where() -> tuple[_JsonPath, int]:
        if not stack:
            return (), line
        top = stack[-1]
        if top.is_object:
            return (*top.path, top.key), top.key_line
        return (*top.path, top.index), line

    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r:":
            i += 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            if stack and stack[-1].is_object and stack[-1].expect_key:
                try:
                    key = json.loads(text[i:j])
                except ValueError:
                    key = text[i + 1 : j - 1]
                stack[-1].key, stack[-1].key_line, stack[-1].expect_key = str(key), line, False
            else:
                path, first = where()
                spans[path] = (first, line)
            i = j
        elif c in "{[":
            path, first = where()
            stack.append(_Frame(path, first, c == "{"))
            i += 1
        elif c in "}]":
            if stack:
                frame = stack.pop()
                spans[frame.path] = (frame.start, line)
            i += 1
        elif c == ",":
            if stack:
                if stack[-1].is_object:
                    stack[-1].expect_key = True
                else:
                    stack[-1].index += 1
            i += 1
        else:
            j = i
            while j < n and text[j] not in ",]}\n \t\r":
                j += 1
            path, first = where()
            spans[path] = (first, line)
            i = max(j, i + 1)
    return spans


# --------------------------------------------------------------------------- module values

#: A whole `${local.NAME}` / `${var.NAME}` expression, as python-hcl2 writes `local.NAME`.
_VALUE_REF = re.compile(r"\$\{\s*(local|var)\.([A-Za-z_][\w-]*)\s*\}")
#: How far `local.a = local.b` chains (and nested lists/maps) are followed.
_MAX_VALUE_DEPTH = 16
_Inputs = tuple[tuple[str, Location], ...]


@dataclass(frozen=True)
class ModuleValue:
    """One resolved module value: `value` is a literal string, number, bool, or a list/map of
    them; `inputs` are (`local.NAME` or `var.NAME`, where it is defined) for the value itself
    first, then for every value it was read through (`local.a = local.b`)."""

    value: Any
    inputs: _Inputs


@dataclass(frozen=True)
class ModuleValues:
    """`local.NAME` / `var.NAME` -> `ModuleValue`, for the values that are literals."""

    values: Mapping[str, ModuleValue]


@functools.lru_cache(maxsize=32)
def module_values(module: ModuleSources) -> ModuleValues:
    """The literal values of one module directory, as Terraform would set them.

    `locals { NAME = ... }` and `variable "NAME" { default = ... }` of every `.tf`/`.tofu`
    source (override files, `override.tf` and `*_override.tf`, last: their definitions replace
    earlier ones, https://developer.hashicorp.com/terraform/language/files/override), then
    `terraform.tfvars`, then `*.auto.tfvars` in file-name order, each replacing a variable's
    value (https://developer.hashicorp.com/terraform/language/values/variables#variable-definition-precedence).
    A value holding any other expression (a function call, `${...}` inside a string, a
    resource attribute) is left out, as is a file that cannot be read or parsed. Each value's
    location is its attribute's lines (the `default` line for a variable). Cached per process:
    the parse jobs of one directory share one `ModuleSources`.
    """
    defined: dict[str, tuple[Any, Location]] = {}
    configs = [s for s in module.sources if not is_tfvars(s.path)]
    configs.sort(key=lambda s: (_is_override(s.path), s.path))
    tfvars = [s for s in module.sources if is_tfvars(s.path)]
    tfvars.sort(key=lambda s: (_file_name(s.path) != "terraform.tfvars", _file_name(s.path)))
    for src in configs:
        loaded = load(src)
        if loaded.text is None or not isinstance(loaded.data, dict):
            continue
        lines = loaded.text.split("\n")
        override = _is_override(src.path)
        for name, value, span in _definitions(loaded.data, lines):
            if override or name not in defined:
                defined[name] = (value, Location(src.path, *span))
    for src in tfvars:
        loaded = load(src)
        if loaded.text is None or not isinstance(loaded.data, dict):
            continue
        lines = loaded.text.split("\n")
        # A .tfvars file is a body without a block: scan it as the inside of one.
        spans = _scan_block(["{", *lines, "}"], 1, len(lines) + 2)
        for name, value in loaded.data.items():
            if name in _META or not isinstance(name, str):
                continue
            first, last = spans.get(name, (2, 2))
            span = _value_span(lines, (first - 1, last - 1))
            defined[f"var.{name}"] = (value, Location(src.path, *span))
    out: dict[str, ModuleValue] = {}
    for key in defined:
        got = _literal(f"${{{key}}}", defined, 0)
        if got is not None:
            out[key] = ModuleValue(got[0], got[1])
    return ModuleValues(out)


def _file_name(path: str) -> str:
    return path.rsplit("/", 1)[-1].lower()


def _is_override(path: str) -> bool:
    stem = _file_name(path).rsplit(".", 1)[0]
    return stem == "override" or stem.endswith("_override")


def _definitions(data: Mapping[str, Any], lines: Sequence[str]
                 ) -> Iterator[tuple[str, Any, tuple[int, int]]]:  # fmt: skip
    """(`local.NAME`/`var.NAME`, raw value, value lines) of one parsed `.tf` file."""
    for block in _as_list(data.get("locals")):
        if not isinstance(block, dict) or "__start_line__" not in block:
            continue
        start = _int(block.get("__start_line__"), 1)
        spans = _scan_block(lines, start, _int(block.get("__end_line__"), start))
        for name, value in block.items():
            if name not in _META and isinstance(name, str):
                yield f"local.{name}", value, _value_span(lines, spans.get(name, (start, start)))
    for group in _as_list(data.get("variable")):
        if not isinstance(group, dict):
            continue
        for name, body in group.items():
            if not isinstance(body, dict) or "default" not in body:
                continue
            start = _int(body.get("__start_line__"), 1)
            spans = _scan_block(lines, start, _int(body.get("__end_line__"), start))
            span = _value_span(lines, spans.get("default", (start, start)))
            yield f"var.{name}", body["default"], span


def _value_span(lines: Sequence[str], span: tuple[int, int]) -> tuple[int, int]:
    """`span` without the blank and comment-only lines `_scan_block` counts after a value."""
    first, last = span
    while last > first:
        text = lines[last - 1].strip() if last <= len(lines) else ""
        if text and not text.startswith(("#", "//")):
            break
        last -= 1
    return first, last


def _literal(value: Any, defined: Mapping[str, tuple[Any, Location]], depth: int
             ) -> tuple[Any, _Inputs] | None:  # fmt: skip
    """`value` with whole `local.X`/`var.X` references replaced by their literal values, and
    the definitions used; None when any part is another expression (or nests too deep)."""
    if depth > _MAX_VALUE_DEPTH or value is None:
        return None
    if isinstance(value, (bool, int, float)):
        return value, ()
    if isinstance(value, str):
        m = _VALUE_REF.fullmatch(value)
        if m is None:
            return None if "${" in value or "%{" in value else (value, ())
        key = f"{m.group(1)}.{m.group(2)}"
        if key not in defined:
            return None
        inner, location = defined[key]
        got = _literal(inner, defined, depth + 1)
        return None if got is None else (got[0], ((key, location), *got[1]))
    used: list[tuple[str, Location]] = []
    if isinstance(value, list):
        items: list[Any] = []
        for item in value:
            got = _literal(item, defined, depth + 1)
            if got is None:
                return None
            items.append(got[0])
            used.extend(got[1])
        return items, tuple(used)
    if isinstance(value, dict):
        entries: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str) or "${" in key:
                return None
            got = _literal(item, defined, depth + 1)
            if got is None:
                return None
            entries[key] = got[0]
            used.extend(got[1])
        return entries, tuple(used)
    return None


class _Resolver:
    """Substitutes module values for whole `${local.NAME}`/`${var.NAME}` expressions during one
    identity's grant extraction, and records the definitions it used (`inputs`)."""

    def __init__(self, module: ModuleSources) -> None:
        self._module = module
        self._used: dict[str, Location] = {}

    def inputs(self) -> _Inputs:
        """(`local.NAME`/`var.NAME`, definition) of every value substituted, first use first."""
        return tuple(self._used.items())

    def _one(self, value: Any) -> Any:
        if not isinstance(value, str) or not value.startswith("${"):
            return value
        m = _VALUE_REF.fullmatch(value)
        if m is None:
            return value
        found = module_values(self._module).values.get(f"{m.group(1)}.{m.group(2)}")
        if found is None:
            return value
        for name, location in found.inputs:
            self._used.setdefault(name, location)
        return found.value

    def resolve(self, value: Any) -> Any:
        """`value`, or each list element / map value, with a whole reference substituted."""
        if isinstance(value, list):
            return [self._one(v) for v in value]
        if isinstance(value, dict):
            return {k: v if k in _META else self._one(v) for k, v in value.items()}
        return self._one(value)

    def resolve_deep(self, value: Any, depth: int = 0) -> Any:
        """`value` with every whole reference at any depth (to `_MAX_VALUE_DEPTH`) substituted:
        for policy documents decoded from `jsonencode(...)`."""
        if depth > _MAX_VALUE_DEPTH:
            return value
        if isinstance(value, list):
            return [self.resolve_deep(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve_deep(v, depth + 1) for k, v in value.items()}
        return self._one(value)


def _resolving(node: _Node, resolver: _Resolver | None) -> _Node:
    """`node` whose `get` (and its nested blocks' `get`) substitutes module values."""
    if resolver is None:
        return node
    return replace(node, doc=replace(node.doc, resolver=resolver))


# --------------------------------------------------------------------------- building objects


@dataclass(frozen=True)
class _Context:
    """What reference resolution needs: catalogued resource/data types and this file's modules."""

    resource_types: frozenset[str]
    data_types: frozenset[str]
    modules: frozenset[str]


def _build(blocks: list[_Block], doc: _Doc, catalogue: Catalogue,
           module: ModuleSources | None = None) -> tuple[IdentityObject, ...]:  # fmt: skip
    """Turn catalogued blocks into `IdentityObject`s, sorted by (start line, address)."""
    types = catalogue.types(_FORMAT)
    calls = {
        i: _module_identities(b, doc, catalogue, module)
        for i, b in enumerate(blocks)
        if b.section == "module" and len(b.labels) == 1
    }
    ctx = _Context(
        resource_types=frozenset(t for t in types if "." not in t and ":" not in t),
        data_types=frozenset(t[5:] for t in types if t.startswith("data.")),
        modules=frozenset(blocks[i].labels[0] for i, objs in calls.items() if objs),
    )
    out: list[IdentityObject] = []
    for i, block in enumerate(blocks):
        if i in calls:
            for obj in calls[i]:
                refs = _references(block.node, ctx, obj.address)
                out.append(replace(obj, references=tuple(dict.fromkeys((*obj.references, *refs)))))
            continue
        found = (
            _resource_identity(block, doc, catalogue, ctx, module)
            if block.section != "module" else None
        )
        if found is not None:
            out.append(found)
    out.sort(key=lambda o: (o.location.start_line, o.address))
    return tuple(out)


#: Resource types catalogued per value of one attribute, as `<type>:<value>` (like Kubernetes
#: `Secret:<type>`): only `type = "SecureString"` SSM parameters hold secrets. Source:
#: https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-securestring.html
_REFINED_BY: Mapping[str, str] = {"aws_ssm_parameter": "type"}


def _resource_identity(
    block: _Block, doc: _Doc, catalogue: Catalogue, ctx: _Context,
    module: ModuleSources | None = None,
) -> IdentityObject | None:
    """An `IdentityObject` for a catalogued `resource`/`data` block, else None."""
    if len(block.labels) != 2:
        return None
    rtype, name = block.labels
    key = rtype if block.section == "resource" else f"data.{rtype}"
    node = block.node
    if key in _REFINED_BY:
        # Catalogued only for some values of one attribute (`aws_ssm_parameter:SecureString`):
        # a plain String parameter is configuration, not a secret.
        value = node.get(_REFINED_BY[key])
        key = f"{key}:{value}" if isinstance(value, str) else f"{key}:"
    entry = catalogue.get(_FORMAT, key)
    if entry is None:
        return None
    address = f"{rtype}.{name}" if block.section == "resource" else f"data.{rtype}.{name}"
    extractor = _grant_extractor(rtype)
    resolver = _Resolver(module) if module is not None else None
    grants = extractor(_resolving(node, resolver)) if extractor is not None else []
    return IdentityObject(
        kind=entry.kind,
        platform=entry.platform,
        type=key,
        address=address,
        location=Location(doc.path, node.start, node.end),
        metadata=_metadata(node, doc),
        attribute_lines=_attribute_lines(node),
        privileges=_dedupe(grants),
        lifetime=_lifetime(rtype, node),
        namespace=_k8s_namespace(rtype, node),
        references=_references(node, ctx, address),
        trust=_trust(rtype, node),
        usages=_usages(rtype, node),
        principals=_principals(node),
        inputs=resolver.inputs() if resolver is not None else (),
    )


@dataclass(frozen=True)
class _Call:
    """One `module` block being turned into identities: its node (`inputs` substitutes module
    values), address, metadata and the resolver recording the values used."""

    node: _Node
    inputs: _Node
    address: str
    metadata: dict[str, str]
    resolver: _Resolver | None

    def identity(self, entry: CatalogueEntry, type_: str, grants: list[Grant], *,
                 kind: str | None = None, address: str | None = None,
                 principals: tuple[str, ...] = (),
                 lifetime: Lifetime | None = None) -> IdentityObject:  # fmt: skip
        """An `IdentityObject` for this call (or, with `address`, for one resource the module
        creates, such as its access key, referring to the call), located at the whole block;
        references are filled in later by `_build`."""
        node = self.node
        return IdentityObject(
            kind=kind or entry.kind,
            platform=entry.platform,
            type=type_,
            address=address or self.address,
            location=Location(node.doc.path, node.start, node.end),
            metadata=dict(self.metadata),
            attribute_lines=_attribute_lines(node),
            privileges=_dedupe(grants),
            lifetime=lifetime,
            references=(self.address,) if address else (),
            principals=tuple(sorted({*_principals(node), *principals})),
            inputs=self.resolver.inputs() if self.resolver is not None else (),
        )


def _module_identities(block: _Block, doc: _Doc, catalogue: Catalogue,
                       module: ModuleSources | None = None) -> list[IdentityObject]:  # fmt: skip
    """The identities one `module "N"` block defines (references are added by `_build`).

    A catalogued module (`_KNOWN_MODULES`, matched on `source` with any `//submodule` and
    `?ref=`) is read by its builder. Any other module call (local path, git, registry) is
    judged fail-closed on privilege literals: when an argument value, or a string at any depth
    inside it, names an admin-equivalent or escalation grant on its own (`_named_grants`), the
    call becomes one `role_binding` of type `module:<source>` holding those grants, so NHI301
    and the identity rules judge it like any binding. Other calls give nothing. Metadata of
    every module identity: tag maps (`tags`, `*_tags`) and a `# nhi-gate:` comment above.
    """
    node = block.node
    source = node.get("source")
    source = source.strip() if isinstance(source, str) else ""
    resolver = _Resolver(module) if module is not None else None
    metadata: dict[str, str] = {}
    for key, value in node.body.items():
        if key == "tags" or key.endswith("_tags"):
            _merge_tags(metadata, value)
    for key, value in common.comment_metadata(doc.lines, node.start).items():
        _fill(metadata, key, value)
    call = _Call(node, _resolving(node, resolver), f"module.{block.labels[0]}", metadata, resolver)
    for type_, pattern, builder in _KNOWN_MODULES:
        entry = catalogue.get(_FORMAT, type_)
        if entry is not None and pattern.match(source):
            m = _SUBMODULE.search(source)
            found = builder(call, entry, m.group(1) if m else "", catalogue)
            if found is not None:
                return found
    grants = _named_grants(node, resolver)
    if not grants:
        return []
    platform = grants[0][0]
    entry = CatalogueEntry(_FORMAT, f"module:{source}", "role_binding", platform, "", ())
    mine = [g for p, g in grants if p == platform]
    return [call.identity(entry, entry.type, mine)]


def _iam_module(call: _Call, entry: CatalogueEntry, submodule: str,
                catalogue: Catalogue) -> list[IdentityObject]:  # fmt: skip
    """terraform-aws-modules/iam: the kind follows the submodule in `source`
    (`//modules/iam-user` -> user); managed-policy ARN inputs (`*policy_arns`, `policies`) and
    a `policy` JSON document become grants.
    See https://registry.terraform.io/modules/terraform-aws-modules/iam/aws/latest
    """
    grants: list[Grant] = []
    for key in call.node.body:
        if key.endswith("policy_arns") or key == "policies":
            grants.extend(replace(g, line=call.node.line(key)) for g in _arn_grants(call, key))
    grants.extend(_policy_grants(call.inputs, "policy"))
    return [call.identity(entry, _IAM_MODULE_TYPE, grants, kind=_module_kind(submodule, entry))]


def _arn_grants(call: _Call, key: str) -> list[Grant]:
    """Managed policy ARNs in a list or map (values) input, each at its own line."""
    value = call.inputs.get(key)
    items = list(value.values()) if isinstance(value, dict) else _strings(value)
    return [Grant(action=a, line=_find_line(call.node, key, a)) for a in items
            if isinstance(a, str)]


def _google_sa_module(call: _Call, entry: CatalogueEntry, submodule: str,
                      catalogue: Catalogue) -> list[IdentityObject] | None:  # fmt: skip
    """terraform-google-modules/service-accounts (root module and `//modules/simple-sa`).

    One service account identity for the call (`names` with `prefix`, or the submodule's
    `name`): its `project_roles`, `"<project>=>roles/x"` (root) or `roles/x` on `project_id`
    (simple-sa), become grants on that project, each at its own line; literal account ids
    become `gcp-sa:` principals. `generate_keys = true` adds the
    `google_service_account_key.keys` the module creates (a static key, NHI303).
    Other submodules (`key-distributor`) are not this entry (None).
    See https://registry.terraform.io/modules/terraform-google-modules/service-accounts/google/latest
    """
    if submodule not in ("", "simple-sa"):
        return None
    node, inputs = call.node, call.inputs
    project = inputs.get("project_id")
    project = project if isinstance(project, str) else "*"
    grants: list[Grant] = []
    for item in _strings(inputs.get("project_roles")):
        target, sep, role = item.rpartition("=>")
        if not sep:
            target, role = project, item
        line = _find_line(node, "project_roles", item)
        grants.append(Grant(action=role.strip(), resource=target.strip() or "*", line=line))
    if submodule:
        names = _strings(inputs.get("name"))
        prefix = ""
    else:
        names = _strings(inputs.get("names"))
        given = inputs.get("prefix")
        prefix = f"{given}-" if isinstance(given, str) and given else ""
    emails = (f"{prefix}{name.lower()}@{project}.iam.gserviceaccount.com" for name in names)
    principals = tuple(f"gcp-sa:{e}" for e in emails if _GCP_SA_EMAIL.fullmatch(e))
    out = [call.identity(entry, _GOOGLE_SA_MODULE_TYPE, grants, principals=principals)]
    key_entry = catalogue.get(_FORMAT, "google_service_account_key")
    if not submodule and inputs.get("generate_keys") is True and key_entry is not None:
        out.append(call.identity(key_entry, key_entry.type, [],
                                 address=f"{call.address}.google_service_account_key.keys",
                                 principals=principals))
    return out


def _system_user_module(call: _Call, entry: CatalogueEntry, submodule: str,
                        catalogue: Catalogue) -> list[IdentityObject] | None:  # fmt: skip
    """cloudposse/iam-system-user: an IAM user, with `policy_arns`/`policy_arns_map` (managed
    policy ARNs) and `inline_policies`/`inline_policies_map` (JSON documents) as grants, and
    the access key the module creates unless `create_iam_access_key = false` (it defaults to
    true). A literal `iam_access_key_max_age` (seconds; 0 = no expiry) is the key's lifetime;
    absent, none is assumed (its default differs between module versions).
    See https://registry.terraform.io/modules/cloudposse/iam-system-user/aws/latest
    """
    if submodule:
        return None
    node, inputs = call.node, call.inputs
    grants = _arn_grants(call, "policy_arns") + _arn_grants(call, "policy_arns_map")
    for key in ("inline_policies", "inline_policies_map"):
        value = inputs.get(key)
        docs = list(value.values()) if isinstance(value, dict) else _as_list(value)
        for text in docs:
            grants.extend(_document_grants(_policy_document(text), node.line(key)))
    out = [call.identity(entry, _SYSTEM_USER_MODULE_TYPE, grants)]
    key_entry = catalogue.get(_FORMAT, "aws_iam_access_key")
    if inputs.get("create_iam_access_key") is False or key_entry is None:
        return out
    max_age = inputs.get("iam_access_key_max_age")
    lifetime: Lifetime | None = None
    resource = "aws_iam_access_key"
    if isinstance(max_age, (int, float)) and not isinstance(max_age, bool):
        if max_age > 0:
            lifetime = Lifetime(hours=max_age / 3600, attribute="iam_access_key_max_age")
            resource = "awsutils_expiring_iam_access_key"
    elif max_age is not None:
        lifetime = Lifetime(attribute="iam_access_key_max_age")
    out.append(call.identity(key_entry, key_entry.type, [], lifetime=lifetime,
                             address=f"{call.address}.{resource}.default"))
    return out


_ModuleBuilder = Callable[[_Call, CatalogueEntry, str, Catalogue], "list[IdentityObject] | None"]

#: Catalogued modules: (catalogue type, `source` pattern, builder). A builder returns None for a
#: submodule it does not model, which is then judged like any other module call.
_KNOWN_MODULES: tuple[tuple[str, re.Pattern[str], _ModuleBuilder], ...] = (
    (_IAM_MODULE_TYPE, _IAM_MODULE_SOURCE, _iam_module),
    (_GOOGLE_SA_MODULE_TYPE, _GOOGLE_SA_MODULE_SOURCE, _google_sa_module),
    (_SYSTEM_USER_MODULE_TYPE, _SYSTEM_USER_MODULE_SOURCE, _system_user_module),
)

#: Module arguments that are no input of the module (Terraform meta-arguments), and tag maps.
_MODULE_META_ARGS = frozenset({"source", "version", "providers", "depends_on", "count",
                               "for_each", "//", *_TAG_FIELDS})
#: Splits an expression's text into the literals python-hcl2 leaves unquoted inside `${...}`.
_EXPR_SPLIT = re.compile(r"[\s,\[\](){}\"'$]+")


def _named_grants(node: _Node, resolver: _Resolver | None) -> list[tuple[str, Grant]]:
    """(platform, grant) for each argument value of a module call that names an admin or
    escalation grant (`checker.policy.privileges.named_privilege`), in argument order.

    Strings are searched at any depth of lists and maps (map keys too, as in
    `bindings = { "roles/owner" = [...] }`); inside an expression (`concat(var.a, ["arn:..."])`)
    each literal is tried. `"<target>=>roles/x"` (the terraform-google-modules convention)
    names `roles/x` on `<target>`. The line is the value's own line inside the argument.
    Meta-arguments and tag maps (`tags`, `*_tags`, `labels`) are skipped.
    """
    out: list[tuple[str, Grant]] = []
    for key, raw in node.body.items():
        if key in _MODULE_META_ARGS or key.endswith(("_tags", "_labels")):
            continue
        todo: list[Any] = [resolver.resolve_deep(raw) if resolver is not None else raw]
        while todo:
            value = todo.pop(0)
            if isinstance(value, dict):
                todo.extend(k for k in value if isinstance(k, str) and k not in _META)
                todo.extend(v for k, v in value.items() if k not in _META)
            elif isinstance(value, list):
                todo.extend(value)
            elif isinstance(value, str):
                for platform, action, target in _named_in(value):
                    line = _find_line(node, key, action)
                    out.append((platform, Grant(action=action, resource=target, line=line)))
    return out


def _named_in(value: str) -> list[tuple[str, str, str]]:
    """(platform, action, target) for the privilege names one string holds (see above)."""
    target, sep, rest = value.rpartition("=>")
    target = target.strip() if sep and target.strip() else "*"
    text = rest if sep else value
    candidates = [text.strip()]
    if "${" in text:
        candidates += [t for t in _EXPR_SPLIT.split(text) if t]
    found: list[tuple[str, str, str]] = []
    for candidate in dict.fromkeys(candidates):
        platform = named_privilege(candidate)
        if platform is not None:
            found.append((platform, candidate, target))
    return found


def _module_kind(submodule: str, entry: CatalogueEntry) -> str:
    """Identity kind of an IAM submodule; the catalogue entry's kind (role) when unknown.

    Submodule names of terraform-aws-modules/terraform-aws-iam v5 and v6 (`modules/`).
    """
    if submodule == "iam-user":
        return "user"
    if submodule in ("iam-policy", "iam-read-only-policy"):
        return "policy"
    if submodule.startswith("iam-group"):
        return "role_binding"
    if submodule.endswith("oidc-provider"):
        return "oidc_trust"
    return entry.kind


def _dedupe(grants: list[Grant]) -> tuple[Grant, ...]:
    return tuple(dict.fromkeys(grants))


def _attribute_lines(node: _Node) -> dict[str, int]:
    """Top-level names -> line, plus `block.attr` for attributes of nested blocks.

    For repeated nested blocks (`statement`, `rule`) the first block's attributes are recorded.
    Tag maps are not blocks (in `.tf.json` both are objects) and `"//"` comments are dropped.
    """
    out = {name: span[0] for name, span in node.attrs.items() if name != "//"}
    for name, value in node.body.items():
        if not isinstance(value, (list, dict)) or name in _TAG_FIELDS:
            continue
        for child in node.blocks(name)[:1]:
            for attr, span in child.attrs.items():
                out.setdefault(f"{name}.{attr}", span[0])
    return out


# --------------------------------------------------------------------------- metadata


def _is_expr(value: str) -> bool:
    """True when `value` is one whole `${...}` expression (not a template with literal text)."""
    if not value.startswith("${"):
        return False
    depth = 0
    for i, c in enumerate(value):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i == len(value) - 1
    return False


def _fill(out: dict[str, str], key: str, value: str) -> None:
    """Set `out[key]` unless a key equal to it ignoring case is already there (first wins)."""
    folded = key.casefold()
    if all(k.casefold() != folded for k in out):
        out[key] = value


def _merge_tags(out: dict[str, str], value: Any) -> None:
    """Add string tags from a map (or `k=v` strings from a list, as azuread uses) to `out`.

    Values holding `${...}` are skipped: their value is not known before apply.
    """
    if isinstance(value, dict):
        for key, val in value.items():
            if isinstance(key, str) and isinstance(val, str) and "${" not in key + val:
                _fill(out, key, val)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str) and "${" not in item:
                for key, val in common.parse_kv(item).items():
                    _fill(out, key, val)


def _metadata(node: _Node, doc: _Doc) -> dict[str, str]:
    """Governance metadata of one block, first source winning per key.

    Order: `tags`/`tags_all`/`labels` maps, then the Kubernetes provider's
    `metadata { labels, annotations }`, then `key=value` pairs in `description`/`display_name`/
    `notes`, then a `# nhi-gate: k=v` comment directly above the block (HCL) or a
    `"//": "nhi-gate: k=v"` comment key in the block (JSON).
    """
    out: dict[str, str] = {}
    for name in _TAG_FIELDS:
        _merge_tags(out, node.get(name))
    for meta in node.blocks("metadata"):
        _merge_tags(out, meta.get("labels"))
        _merge_tags(out, meta.get("annotations"))
    for name in _DESCRIPTION_FIELDS:
        value = node.get(name)
        if isinstance(value, str):
            for key, val in common.parse_kv(value).items():
                if "${" not in val:
                    _fill(out, key, val)
    if doc.spans is None:
        comment = common.comment_metadata(doc.lines, node.start)
    else:
        note = node.get("//")
        comment = {}
        if isinstance(note, str):
            m = re.search(r"nhi-gate\s*:\s*(?!ignore\b)(.*)", note)
            if m:
                comment = common.parse_kv(m.group(1))
    for key, val in comment.items():
        _fill(out, key, val)
    return out


def _k8s_namespace(rtype: str, node: _Node) -> str | None:
    """`metadata { namespace = "..." }` of a Kubernetes provider resource, when literal."""
    if not rtype.startswith("kubernetes_"):
        return None
    for meta in node.blocks("metadata"):
        value = meta.get("namespace")
        if isinstance(value, str) and value and not _is_expr(value):
            return value
    return None


def _references(node: _Node, ctx: _Context, own: str) -> tuple[str, ...]:
    """Addresses of catalogued identities this block refers to, in first-seen order.

    Scans every string holding `${` (iteratively, any depth) for `type.name`,
    `data.type.name` and `module.name` where the type is catalogued (or the module is a
    catalogued module of this file), e.g. `${aws_iam_user.ci.name}` -> `aws_iam_user.ci`.
    """
    found: dict[str, None] = {}
    todo: list[Any] = [node.body]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            todo.extend(reversed([v for k, v in value.items() if k not in _META]))
        elif isinstance(value, list):
            todo.extend(reversed(value))
        elif isinstance(value, str) and "${" in value:
            for m in _REFERENCE.finditer(value):
                is_data, type_, name = m.group(1), m.group(2), m.group(3)
                if is_data and type_ in ctx.data_types:
                    found[f"data.{type_}.{name}"] = None
                elif not is_data and type_ == "module" and name in ctx.modules:
                    found[f"module.{name}"] = None
                elif not is_data and type_ in ctx.resource_types:
                    found[f"{type_}.{name}"] = None
    found.pop(own, None)
    return tuple(found)


# --------------------------------------------------------------------------- lifetime

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


def _lifetime(rtype: str, node: _Node) -> Lifetime | None:
    """The native lifetime the block declares, or None.

    A literal date goes to `expires`, hours/durations to `hours`; `timeadd(timestamp(), "720h")`
    counts as 720 hours. An expression that cannot be evaluated still gives a `Lifetime`
    naming the attribute, with both values None (declared, unknown before apply).
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
        timeadd = _TIMEADD.search(value)
        if timeadd:
            return Lifetime(hours=_duration_hours(timeadd.group(1)), attribute=attr)
        if "${" in value:
            return Lifetime(attribute=attr)
        if how == "date":
            return Lifetime(expires=value, attribute=attr)
        if how == "hours":
            m = _NUMBER.match(value)
            return Lifetime(hours=float(m.group(1)) if m else None, attribute=attr)
        return Lifetime(hours=_duration_hours(value), attribute=attr)
    return None


# --------------------------------------------------------------------------- privileges


def _strings(value: Any) -> list[str]:
    """A string or the strings of a list (other items dropped); anything else -> []."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _effect(value: Any) -> Literal["allow", "deny"]:
    return "deny" if isinstance(value, str) and value.strip().lower() == "deny" else "allow"


def _policy_document(value: Any) -> Any:
    """An IAM policy document (dict) from a `policy` value, or None.

    Handles `jsonencode({...})` (python-hcl2 gives `${jsonencode({...})}` with JSON-like inner
    text; when raw quotes inside `${...}` make it invalid JSON, the text is re-parsed as an
    HCL object expression, which also covers `.tf.json`, where the inner text is HCL), heredoc
    or plain JSON strings (same lenient fallback, e.g. for trailing commas), and an
    already-decoded object. Other expressions (`data.x.json`, `file(...)`) give None.
    """
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("${jsonencode(") and text.endswith(")}"):
        text = text[len("${jsonencode(") : -2].strip()
    if not text.startswith("{"):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        parsed = _load_hcl(f"nhi_gate_policy = {text}\n")
    except _HCL_ERRORS:
        return None
    return parsed.get("nhi_gate_policy") if isinstance(parsed, dict) else None


def _policy_grants(node: _Node, attr: str) -> list[Grant]:
    """Grants of the IAM policy document in attribute `attr` of `node`.

    One `Grant` per Action (or NotAction, `not_action=True`) x Resource (`*` when absent or
    `NotResource`), `effect` from Effect. Each statement's line is the line of its `Action`/
    `NotAction` key inside the attribute's text when those keys can be matched one-to-one to
    the statements, else the attribute's line.
    """
    doc = _policy_document(node.get(attr))
    if not isinstance(doc, dict):
        return []
    if node.doc.resolver is not None:  # `Action = local.actions` inside jsonencode(...)
        doc = node.doc.resolver.resolve_deep(doc)
    statements = doc.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return []
    attr_line = node.line(attr)
    first, last = node.attrs.get(attr, (attr_line, attr_line))
    key_lines = [
        ln
        for ln in range(first, last + 1)
        for _ in _ACTION_KEY.finditer(node.doc.lines[ln - 1] if ln <= len(node.doc.lines) else "")
    ]
    with_action = [
        s for s in statements if isinstance(s, dict) and ("Action" in s or "NotAction" in s)
    ]
    lines = key_lines if len(key_lines) == len(with_action) else [attr_line] * len(with_action)
    grants: list[Grant] = []
    for statement, line in zip(with_action, lines, strict=True):
        grants.extend(_statement_grants(statement, line))
    return grants


def _statement_grants(statement: Mapping[str, Any], line: int) -> list[Grant]:
    """Action (or NotAction) x Resource grants of one IAM policy statement, at `line`."""
    not_action = "Action" not in statement
    actions = _strings(statement.get("NotAction" if not_action else "Action"))
    resources = _strings(statement.get("Resource")) or ["*"]
    effect = _effect(statement.get("Effect"))
    return [
        Grant(action=a, resource=r, effect=effect, not_action=not_action, line=line)
        for a in actions
        for r in resources
    ]


def _document_grants(doc: Any, line: int) -> list[Grant]:
    """Grants of every statement of a decoded IAM policy document, all at `line`."""
    statements = doc.get("Statement") if isinstance(doc, dict) else None
    if isinstance(statements, dict):
        statements = [statements]
    return [
        g
        for st in (statements if isinstance(statements, list) else [])
        if isinstance(st, dict) and ("Action" in st or "NotAction" in st)
        for g in _statement_grants(st, line)
    ]


def _aws_policy(node: _Node) -> list[Grant]:
    """`aws_iam_policy`, `aws_iam_{role,user,group}_policy`: the `policy` document."""
    return _policy_grants(node, "policy")


def _aws_role(node: _Node) -> list[Grant]:
    """`aws_iam_role`: `managed_policy_arns` and `inline_policy { policy }` blocks.

    `assume_role_policy` is a trust policy (who may assume), not privileges, and is skipped.
    """
    line = node.line("managed_policy_arns")
    grants = [Grant(action=a, line=line) for a in _strings(node.get("managed_policy_arns"))]
    for inline in node.blocks("inline_policy"):
        grants.extend(_policy_grants(inline, "policy"))
    return grants


def _aws_attachment(node: _Node) -> list[Grant]:
    """`aws_iam_*_policy_attachment`: the attached `policy_arn` as written."""
    return [Grant(action=a, line=node.line("policy_arn")) for a in _strings(node.get("policy_arn"))]


def _aws_sso_assignment(node: _Node) -> list[Grant]:
    """`aws_ssoadmin_account_assignment`: the `permission_set_arn` as written, on `target_id`
    (the AWS account the principal gains it in), at the permission set's line."""
    target = node.get("target_id")
    resource = target if isinstance(target, str) else "*"
    return [Grant(action=a, resource=resource, line=node.line("permission_set_arn"))
            for a in _strings(node.get("permission_set_arn"))]


def _aws_sso_managed_policy(node: _Node) -> list[Grant]:
    """`aws_ssoadmin_managed_policy_attachment`: the attached `managed_policy_arn` as written."""
    return [Grant(action=a, line=node.line("managed_policy_arn"))
            for a in _strings(node.get("managed_policy_arn"))]


def _aws_sso_inline_policy(node: _Node) -> list[Grant]:
    """`aws_ssoadmin_permission_set_inline_policy`: the `inline_policy` document."""
    return _policy_grants(node, "inline_policy")


def _aws_policy_document(node: _Node) -> list[Grant]:
    """`data "aws_iam_policy_document"`: each `statement` block (dynamic ones are skipped).

    `actions`/`not_actions` x `resources` (`*` when absent or `not_resources`); `effect`
    defaults to Allow; line = the statement's `actions`/`not_actions` line, else its start.
    """
    grants: list[Grant] = []
    for st in node.blocks("statement"):
        not_action = "actions" not in st.body and "not_actions" in st.body
        actions = _strings(st.get("not_actions" if not_action else "actions"))
        resources = _strings(st.get("resources")) or ["*"]
        line = st.line("not_actions" if not_action else "actions")
        effect = _effect(st.get("effect"))
        grants.extend(
            Grant(action=a, resource=r, effect=effect, not_action=not_action, line=line)
            for a in actions
            for r in resources
        )
    return grants


#: Attributes naming what a `google_*_iam_member/_binding` applies to, in lookup order: the
#: resource itself first, so a repository binding's `project` (a qualifier) is not taken as
#: its target; project/folder/organisation last.
_GCP_TARGETS = (
    "service_account_id",
    "bucket",
    "secret_id",
    "repository",
    "crypto_key_id",
    "key_ring_id",
    "topic",
    "subscription",
    "table_id",
    "dataset_id",
    "instance",
    "service",
    "folder",
    "org_id",
    "organization",
    "project",
)


def _gcp_member(node: _Node) -> list[Grant]:
    """`google_*_iam_member` / `google_*_iam_binding`: the `role` on its target as written."""
    target = next((v for k in _GCP_TARGETS if isinstance(v := node.get(k), str)), "*")
    return [
        Grant(action=r, resource=target, line=node.line("role")) for r in _strings(node.get("role"))
    ]


def _gcp_iam_policy(node: _Node) -> list[Grant]:
    """`data.google_iam_policy`: each `binding { role }` as a grant on `*` (the document is
    applied elsewhere, by a `*_iam_policy` resource); the line is the binding's `role`."""
    return [
        Grant(action=r, resource="*", line=b.line("role"))
        for b in node.blocks("binding")
        for r in _strings(b.get("role"))
    ]


def _gcp_custom_role(node: _Node) -> list[Grant]:
    """`google_{project,organization}_iam_custom_role`: one grant per permission."""
    target = next((v for k in ("project", "org_id") if isinstance(v := node.get(k), str)), "*")
    line = node.line("permissions")
    return [Grant(action=p, resource=target, line=line) for p in _strings(node.get("permissions"))]


def _azure_assignment(node: _Node) -> list[Grant]:
    """`azurerm_role_assignment`: role name (or id) on `scope`, at the role attribute's line."""
    attr = "role_definition_name" if "role_definition_name" in node.body else "role_definition_id"
    scope = node.get("scope")
    resource = scope if isinstance(scope, str) else "*"
    return [
        Grant(action=r, resource=resource, line=node.line(attr)) for r in _strings(node.get(attr))
    ]


def _azure_role_definition(node: _Node) -> list[Grant]:
    """`azurerm_role_definition`: `permissions { actions, not_actions, data_actions }` on scope."""
    scope = node.get("scope")
    resource = scope if isinstance(scope, str) else "*"
    grants: list[Grant] = []
    for perm in node.blocks("permissions"):
        for attr in ("actions", "data_actions", "not_actions", "not_data_actions"):
            line = perm.line(attr)
            grants.extend(
                Grant(action=a, resource=resource, not_action=attr.startswith("not_"), line=line)
                for a in _strings(perm.get(attr))
            )
    return grants


def _k8s_binding(node: _Node) -> list[Grant]:
    """`kubernetes_(cluster_)role_binding(_v1)`: `role_ref` as `Kind/name`.

    The resource is the binding's namespace (`*` for cluster bindings or when not literal);
    the line is the `role_ref` block's `name` line.
    """
    namespace = "*"
    for meta in node.blocks("metadata"):
        value = meta.get("namespace")
        if isinstance(value, str) and not _is_expr(value):
            namespace = value
    grants: list[Grant] = []
    for ref in node.blocks("role_ref"):
        kind, name = ref.get("kind"), ref.get("name")
        if isinstance(kind, str) and isinstance(name, str):
            grants.append(Grant(action=f"{kind}/{name}", resource=namespace, line=ref.line("name")))
    return grants


def _k8s_role(node: _Node) -> list[Grant]:
    """`kubernetes_(cluster_)role(_v1)`: each `rule` -> verb x `<apiGroup>/<resource>`.

    The core API group is `""`, so core secrets read as `/secrets`; `non_resource_urls`
    become resources as written; the line is the rule block's start.
    """
    grants: list[Grant] = []
    for rule in node.blocks("rule"):
        groups = _strings(rule.get("api_groups")) or [""]
        targets = [f"{g}/{r}" for g in groups for r in _strings(rule.get("resources"))]
        targets += _strings(rule.get("non_resource_urls"))
        grants.extend(
            Grant(action=v, resource=t, line=rule.start)
            for v in _strings(rule.get("verbs"))
            for t in targets
        )
    return grants


def _aws_kms_grant(node: _Node) -> list[Grant]:
    """`aws_kms_grant`: each of `operations` (KMS grant operation names as written:
    `Decrypt`, `CreateGrant`) on the `key_id`, at the `operations` line. The grantee is in
    `references`/`principals`. Grant operations carry no service prefix, so they never collide
    with IAM actions in `rules/privileges.yaml`.
    See https://docs.aws.amazon.com/kms/latest/developerguide/grants.html#terms-grant-operations
    """
    key = node.get("key_id")
    resource = key if isinstance(key, str) else "*"
    line = node.line("operations")
    operations = _strings(node.get("operations"))
    return [Grant(action=op, resource=resource, line=line) for op in operations]


def _vault_policy(node: _Node) -> list[Grant]:
    """`vault_policy`: the HCL `policy` text, `path "p" { capabilities = [...] }` -> grants.

    Only literal policy text (heredoc or string) is read; its lines are offset from the
    `policy` attribute (a heredoc body starts on the line after `<<EOT`).
    """
    text = node.get("policy")
    if not isinstance(text, str) or _is_expr(text):
        return []
    try:
        parsed = _load_hcl(text + "\n", with_meta=True)
    except _HCL_ERRORS:
        return []
    if not isinstance(parsed, dict):
        return []
    attr_line = node.line("policy")
    first_line = node.doc.lines[attr_line - 1] if attr_line <= len(node.doc.lines) else ""
    offset = attr_line if "<<" in first_line else attr_line - 1
    in_place = text == node.body.get("policy")  # else a module value: its lines are elsewhere
    grants: list[Grant] = []
    for group in _as_list(parsed.get("path")):
        if not isinstance(group, dict):
            continue
        for path, body in group.items():
            if isinstance(body, dict):
                line = offset + _int(body.get("__start_line__"), 1) if in_place else attr_line
                grants.extend(
                    Grant(action=c, resource=str(path), line=line)
                    for c in _strings(body.get("capabilities"))
                )
    return grants


def _vault_policy_document(node: _Node) -> list[Grant]:
    """`data "vault_policy_document"`: each `rule { path, capabilities }` block."""
    grants: list[Grant] = []
    for rule in node.blocks("rule"):
        path = rule.get("path")
        resource = path if isinstance(path, str) else "*"
        line = rule.line("capabilities")
        grants.extend(
            Grant(action=c, resource=resource, line=line)
            for c in _strings(rule.get("capabilities"))
        )
    return grants


def _vault_token_policies(node: _Node) -> list[Grant]:
    """Vault auth roles and tokens: each attached Vault policy name (`token_policies`,
    `policies`) as an action on `*`."""
    attr = "token_policies" if "token_policies" in node.body else "policies"
    return [Grant(action=p, line=node.line(attr)) for p in _strings(node.get(attr))]


_Extractor = Callable[[_Node], list[Grant]]

#: Resource type (Kubernetes `_v1` suffix removed) -> grant extractor. `google_*_iam_member`
#: and `google_*_iam_binding` are matched by suffix in `_grant_extractor`.
_EXTRACTORS: Mapping[str, _Extractor] = {
    "aws_iam_policy": _aws_policy,
    "aws_iam_role_policy": _aws_policy,
    "aws_iam_user_policy": _aws_policy,
    "aws_iam_group_policy": _aws_policy,
    "aws_iam_role": _aws_role,
    "aws_iam_role_policy_attachment": _aws_attachment,
    "aws_iam_user_policy_attachment": _aws_attachment,
    "aws_iam_group_policy_attachment": _aws_attachment,
    "aws_iam_policy_attachment": _aws_attachment,
    "aws_iam_policy_document": _aws_policy_document,
    "aws_kms_grant": _aws_kms_grant,
    "aws_ssoadmin_account_assignment": _aws_sso_assignment,
    "aws_ssoadmin_managed_policy_attachment": _aws_sso_managed_policy,
    "aws_ssoadmin_permission_set_inline_policy": _aws_sso_inline_policy,
    "google_iam_policy": _gcp_iam_policy,
    "google_project_iam_custom_role": _gcp_custom_role,
    "google_organization_iam_custom_role": _gcp_custom_role,
    "azurerm_role_assignment": _azure_assignment,
    "azurerm_role_definition": _azure_role_definition,
    "kubernetes_cluster_role_binding": _k8s_binding,
    "kubernetes_role_binding": _k8s_binding,
    "kubernetes_cluster_role": _k8s_role,
    "kubernetes_role": _k8s_role,
    "vault_policy": _vault_policy,
    "vault_policy_document": _vault_policy_document,
    "vault_approle_auth_backend_role": _vault_token_policies,
    "vault_jwt_auth_backend_role": _vault_token_policies,
    "vault_kubernetes_auth_backend_role": _vault_token_policies,
    "vault_aws_auth_backend_role": _vault_token_policies,
    "vault_gcp_auth_backend_role": _vault_token_policies,
    "vault_token": _vault_token_policies,
}


def _grant_extractor(rtype: str) -> _Extractor | None:
    """The privilege extractor for a resource or data source type, if it has one."""
    key = rtype.removesuffix("_v1") if rtype.startswith("kubernetes_") else rtype
    if key in _EXTRACTORS:
        return _EXTRACTORS[key]
    if key.startswith("google_") and key.endswith(("_iam_member", "_iam_binding")):
        return _gcp_member
    return None


# ------------------------------------------------------------- trust, usages, principals
# Read for privilege drift (NHI302) and environment reuse (NHI204) in checker/checks/.

_GCP_SA_EMAIL = re.compile(r"[a-z][a-z0-9-]{4,29}@[a-z0-9.-]+\.iam\.gserviceaccount\.com")
_AWS_ROLE_ARN = re.compile(r"arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_K8S_SA_USER = re.compile(r"system:serviceaccount:([a-z0-9.-]+):([a-z0-9.-]+)")
#: Attributes whose literal GUID value names an Azure principal (client or object id).
_AZURE_ID_ATTRS = frozenset({
    "client_id", "application_id", "principal_id", "object_id", "principal_object_id",
    "service_principal_object_id", "app_role_assignment_required_id",
})
_SUBJECT_KEY = re.compile(r"(?:^|:)sub$")
_TRUST_FIELDS = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})


def _find_line(node: _Node, attr: str, needle: str) -> int:
    """The line inside attribute `attr`'s span holding `needle`, else the attribute's line."""
    first, last = node.attrs.get(attr, (node.line(attr), node.line(attr)))
    for ln in range(first, min(last, len(node.doc.lines)) + 1):
        if needle and needle in node.doc.lines[ln - 1]:
            return ln
    return first


def _statement_trust(statement: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(principals as `Type:value`, OIDC subject patterns) of one IAM policy statement."""
    principal = statement.get("Principal")
    principals: list[str] = []
    if principal == "*" or principal == ["*"]:
        principals.append("AWS:*")
    elif isinstance(principal, dict):
        for ptype, values in principal.items():
            if ptype in _TRUST_FIELDS:
                principals.extend(f"{ptype}:{v}" for v in _strings(values))
    subjects: list[str] = []
    condition = statement.get("Condition")
    if isinstance(condition, dict):
        for block in condition.values():
            if isinstance(block, dict):
                for key, values in block.items():
                    if isinstance(key, str) and _SUBJECT_KEY.search(key):
                        subjects.extend(_strings(values))
    return principals, subjects


def _trust(rtype: str, node: _Node) -> tuple[Trust, ...]:
    """Who may assume or federate into the identity `node` defines (see `model.Trust`).

    - `aws_iam_role`: each Allow statement of a literal `assume_role_policy` (Principal x
      `*:sub` condition values); a `data.aws_iam_policy_document` reference is read there.
    - `data.aws_iam_policy_document`: statements with `principals` blocks (trust documents).
    - Azure federated identity credentials: `issuer` limited to `subject`.
    - `google_iam_workload_identity_pool_provider`: the OIDC/AWS issuer limited by
      `attribute_condition` (CEL text, compared as written).
    - `vault_jwt_auth_backend_role`: the JWT backend limited by `bound_subject` and
      `bound_claims.sub`.
    """
    out: list[Trust] = []
    if rtype == "aws_iam_role":
        doc = _policy_document(node.get("assume_role_policy"))
        statements = doc.get("Statement") if isinstance(doc, dict) else None
        if isinstance(statements, dict):
            statements = [statements]
        for st in statements if isinstance(statements, list) else []:
            if not isinstance(st, dict) or _effect(st.get("Effect")) == "deny":
                continue
            principals, subjects = _statement_trust(st)
            for p in principals:
                needle = subjects[0] if subjects else p.split(":", 1)[1]
                line = _find_line(node, "assume_role_policy", needle)
                out.append(Trust(p, tuple(subjects), line))
    elif rtype == "aws_iam_policy_document":
        for st in node.blocks("statement"):
            if _effect(st.get("effect")) == "deny":
                continue
            subjects = [
                v
                for cond in st.blocks("condition")
                if isinstance(cond.get("variable"), str)
                and _SUBJECT_KEY.search(str(cond.get("variable")))
                for v in _strings(cond.get("values"))
            ]
            for pr in st.blocks("principals"):
                ptype = pr.get("type")
                for ident in _strings(pr.get("identifiers")):
                    out.append(Trust(f"{ptype}:{ident}", tuple(subjects), pr.line("identifiers")))
    elif rtype in ("azuread_application_federated_identity_credential",
                   "azurerm_federated_identity_credential"):
        issuer, subject = node.get("issuer"), node.get("subject")
        if isinstance(issuer, str):
            limit = (subject,) if isinstance(subject, str) else ()
            out.append(Trust(f"Issuer:{issuer}", limit, node.line("subject", "issuer")))
    elif rtype == "google_iam_workload_identity_pool_provider":
        issuer = "*"
        for oidc in node.blocks("oidc"):
            value = oidc.get("issuer_uri")
            issuer = value if isinstance(value, str) else issuer
        for aws in node.blocks("aws"):
            value = aws.get("account_id")
            issuer = f"aws:{value}" if isinstance(value, str) else issuer
        cond = node.get("attribute_condition")
        limit = (cond,) if isinstance(cond, str) and cond.strip() else ()
        out.append(Trust(f"Issuer:{issuer}", limit, node.line("attribute_condition", "oidc")))
    elif rtype == "vault_jwt_auth_backend_role":
        backend = node.get("backend")
        subjects = _strings(node.get("bound_subject"))
        claims = node.get("bound_claims")
        if isinstance(claims, dict):
            subjects.extend(s for v in _strings(claims.get("sub")) for s in v.split(","))
        out.append(Trust(f"Vault-JWT:{backend if isinstance(backend, str) else 'jwt'}",
                         tuple(subjects), node.line("bound_claims", "bound_subject")))
    return tuple(dict.fromkeys(out))


def _usages(rtype: str, node: _Node) -> tuple[str, ...]:
    """Key usages a certificate or key may serve, as written (sorted, deduplicated).

    `tls_*_cert.allowed_uses`, `kubernetes_certificate_signing_request*.spec.usages`,
    `azurerm_key_vault_key.key_opts`, and the `key_usage`/`extended_key_usage` of an
    `azurerm_key_vault_certificate` policy.
    """
    found: list[str] = []
    if rtype in ("tls_self_signed_cert", "tls_locally_signed_cert"):
        found = _strings(node.get("allowed_uses"))
    elif rtype.startswith("kubernetes_certificate_signing_request"):
        found = [u for spec in node.blocks("spec") for u in _strings(spec.get("usages"))]
    elif rtype == "azurerm_key_vault_key":
        found = _strings(node.get("key_opts"))
    elif rtype == "azurerm_key_vault_certificate":
        for policy in node.blocks("certificate_policy"):
            for props in policy.blocks("x509_certificate_properties"):
                found += _strings(props.get("key_usage"))
                found += _strings(props.get("extended_key_usage"))
    return tuple(sorted(set(found)))


def _principals(node: _Node) -> tuple[str, ...]:
    """Literal identifiers of identities the block names (see `IdentityObject.principals`).

    Every literal string at any depth is searched for GCP service account emails, AWS role
    ARNs and `system:serviceaccount:<ns>:<name>` users; GUIDs count as Azure ids only under
    the attribute names in `_AZURE_ID_ATTRS`. Interpolations (`${...}`) are not resolved.
    """
    found: dict[str, None] = {}
    todo: list[tuple[str, Any]] = [("", node.body)]
    while todo:
        key, value = todo.pop()
        if isinstance(value, dict):
            todo.extend((k, v) for k, v in value.items() if k not in _META)
        elif isinstance(value, list):
            todo.extend((key, v) for v in value)
        elif isinstance(value, str):
            for m in _GCP_SA_EMAIL.finditer(value):
                found[f"gcp-sa:{m.group(0)}"] = None
            for m in _AWS_ROLE_ARN.finditer(value):
                found[f"aws-role:{m.group(0)}"] = None
            for m in _K8S_SA_USER.finditer(value):
                found[f"k8s-sa:{m.group(1)}/{m.group(2)}"] = None
            if key in _AZURE_ID_ATTRS and _GUID.match(value.strip()):
                found[f"azure-id:{value.strip().lower()}"] = None
    return tuple(sorted(found))
