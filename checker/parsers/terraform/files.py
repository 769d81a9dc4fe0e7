"""Files a Terraform block reads: `file()` and `templatefile()` policy and trust documents.

`policy = file("${path.module}/policies/admin.json")` means whatever that JSON file says, and
`assume_role_policy = templatefile("${path.module}/trust.json.tpl", { account = var.account })`
whatever the template renders to. `inline_files` replaces each such call in a block's body (at
any depth: `inline_policy { policy = file(...) }` too) by the file's text, rendered for
`templatefile`, so the grant extractors, the trust reader and the block digest read the
document itself, and records the file as an input (`IdentityObject.inputs`): a change of the
file alone changes the identity (`checker.provenance.attribution`).

The files come with the module (`ModuleSources.files`, found by `checker.sources.modules` from
the `.tf` text). Paths: `checker.parsers.common.file_reference`. Templates
(https://developer.hashicorp.com/terraform/language/functions/templatefile) are rendered with the
call's literal variables map (whole `local.X`/`var.X` values substituted from the module) for
`${name}`, `${name.key}`, `${name["key"]}`, `${name[0]}`, `${jsonencode(name)}`, `%{ for x in
name }`/`%{ for k, v in name }`, `%{ if name }`/`%{ if !name }`/`%{ else }`, the `~` strip
markers and the `$${`/`%%{` escapes. Anything else (another function, an operator, a missing
file or variable) leaves the call as written: the document is then unresolved, never guessed.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from checker import model
from checker.decode import decode
from checker.lazy_patterns import lazy_compile
from checker.model import Location, ModuleSources, ParseProblem
from checker.parsers.common import FILE_CALL, file_reference, root_candidates
from checker.parsers.terraform.expressions import Unresolved
from checker.parsers.terraform.filesets import fileset_reads as fileset_reads
from checker.parsers.terraform.hcl import hcl_errors, load_hcl
from checker.parsers.terraform.nodes import META, Block
from checker.parsers.terraform.resolver import Resolver
from checker.parsers.terraform.values import Inputs
from checker.safeyaml.load import load_text
from checker.safeyaml.nodes import to_python

#: A whole value that is one `file(...)`/`templatefile(...)` call, as python-hcl2 writes it.
_WHOLE_CALL = lazy_compile(r"\$\{\s*((?:file|templatefile)\(.*\))\s*\}", re.DOTALL)
#: `jsonencode(jsondecode(file(...)))` / `jsonencode(yamldecode(file(...)))`: the document
#: re-encoded as JSON (https://developer.hashicorp.com/terraform/language/functions/yamldecode).
_DECODED_CALL = lazy_compile(
    r"\$\{\s*jsonencode\(\s*(json|yaml)decode\(\s*((?:file|templatefile)\(.*\))\s*\)\s*\)\s*\}",
    re.DOTALL)
#: `${path.module}`, `${path.root}`, `${path.cwd}`: the module's own directory.
_PATH_REF = lazy_compile(r"\$\{\s*path\.(?:module|root|cwd)\s*\}")
#: Template tokens: escapes, `${...}` interpolations and `%{...}` directives with strip markers.
_TOKEN = lazy_compile(r"\$\$\{|%%\{|([$%])\{(~?)(.*?)(~?)\}", re.DOTALL)
_REF = lazy_compile(r'[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[\s*(?:\d+|"[^"]*")\s*\])*')
_STEP = lazy_compile(r'\.([A-Za-z_][\w-]*)|\[\s*(\d+)\s*\]|\[\s*"([^"]*)"\s*\]')
_FOR = lazy_compile(r"for\s+([A-Za-z_]\w*)(?:\s*,\s*([A-Za-z_]\w*))?\s+in\s+(.+)", re.DOTALL)
_MAX_DEPTH = 16


class _Unrenderable(Exception):
    """A template construct, value or file this module does not render."""


def inline_files(block: Block, module: ModuleSources) -> tuple[Block, Inputs]:
    """`block` with every value that is a whole `file()`/`templatefile()` call of a file in
    `module.files` replaced by that file's (rendered) text, and the inputs read: the file
    (`file("policies/admin.json")`, its whole text's lines) and the module values the
    template's variables map used. A call that cannot be read stays as written."""
    if not module.files:
        return block, ()
    inputs: dict[str, Location] = {}
    body = _inline(block.node.body, module, inputs, 0)
    if not inputs:
        return block, ()
    return replace(block, node=replace(block.node, body=body)), tuple(inputs.items())


def _inline(value: Any, module: ModuleSources, inputs: dict[str, Location], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, list):
        return [_inline(v, module, inputs, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: v if k in META else _inline(v, module, inputs, depth + 1)
                for k, v in value.items()}
    if isinstance(value, str) and "file(" in value:
        m = _WHOLE_CALL.fullmatch(value.strip())
        decoded = _DECODED_CALL.fullmatch(value.strip()) if m is None else None
        call = m.group(1) if m is not None else decoded.group(2) if decoded is not None else ""
        got = _call(call, module) if call else None
        if got is not None:
            text = got[0] if decoded is None else _reencode(got[0], decoded.group(1))
            if text is not None:
                inputs.update(got[1])
                return text
    return value


def _reencode(text: str, syntax: str) -> str | None:
    """`jsonencode(<syntax>decode(text))` in canonical JSON (`_canonical`), or None when `text`
    is not one JSON value / one YAML document (`checker.safeyaml`)."""
    try:
        if syntax == "json":
            return json.dumps(json.loads(text), sort_keys=True)
        stream = load_text(text, "<yamldecode>")
        if stream.problem is not None or len(stream.documents) != 1:
            return None
        return json.dumps(to_python(stream.documents[0]), sort_keys=True, default=str)
    except (ValueError, RecursionError, TypeError):
        return None


def file_path(argument: str, module: ModuleSources) -> tuple[str | None, Inputs]:
    """The repository path a `file()`/`templatefile()` path argument of `module` names
    (`checker.parsers.common.file_reference`), its `local.*`/`var.*` parts computed by the
    `Resolver` (`"${path.module}/${local.f}"`), and the module values read; (None, ()) when
    the path cannot be known before apply or leaves the repository."""
    path = file_reference(module.directory, argument)
    if path is not None or "${" not in argument:
        return path, ()
    resolver = Resolver(module)
    try:
        got, used = resolver.evaluate(None, _PATH_REF.sub(".", argument))
    except (Unresolved, RecursionError):
        return None, ()
    return (file_reference(module.directory, got), used) if isinstance(got, str) else (None, ())


def unread_file(expr: str, module: ModuleSources | None
                ) -> tuple[str, model.SourceFile | None] | None:  # fmt: skip
    """Why the first `file()`/`templatefile()` call in expression `expr` (an identity's value
    that `inline_files` left as written) was not read, as an NHI106 reason:
    `file not read: <path> (<why>)`, and the file when the module has it (read but not
    computed: a template, a decoder's result; it is then an input, so a change of it fails
    closed); None when `expr` calls neither."""
    head = FILE_CALL.search(expr)
    if head is None:
        return None
    path = file_path(head.group(2), module)[0] if module is not None else None
    if path is None:
        return f"file not read: {head.group(2)} (path not known before apply, or outside the " \
               "repository)", None
    src = next((s for s in module.files if s.path == path), None) if module else None
    root = [s for p in root_candidates(module.directory, head.group(2)) for s in module.files
            if s.path == p] if module is not None and src is None else []
    if root:  # `path.root` is a calling root module's directory: which one is not known
        return f"file not read: {root[0].path} ({head.group(2)}: path.root is the directory " \
               "of the root module that calls this one, not known)", root[0]
    if src is None:
        return f"file not read: {path} (not found)", None
    if isinstance(decode(src), ParseProblem):
        return f"file not read: {path} (not text)", src
    return f"file not read: {path} ({head.group(1)}() result not computed)", src


def _call(call: str, module: ModuleSources) -> tuple[str, dict[str, Location]] | None:
    """The text one `file(...)`/`templatefile(...)` call returns, and its inputs; or None."""
    head = FILE_CALL.match(call)
    if head is None:
        return None
    func = head.group(1)
    path, path_inputs = file_path(head.group(2), module)
    src = next((s for s in module.files if s.path == path), None) if path else None
    if src is None:
        return None
    text = decode(src)
    if isinstance(text, ParseProblem):
        return None
    rel = posixpath.relpath(src.path, module.directory or ".")
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    used: dict[str, Location] = {f'{func}("{rel}")': Location(src.path, 1, max(lines, 1))}
    used.update(path_inputs)
    if func == "file":
        return (_canonical(text), used) if re.fullmatch(r'file\(\s*"(?:[^"\\]|\\.)*"\s*\)',
                                                         call) else None
    try:
        args = load_hcl(f"nhi_gate_args = [{call[len('templatefile('):-1]}]\n")
    except hcl_errors():
        return None
    items = args.get("nhi_gate_args") if isinstance(args, dict) else None
    if not isinstance(items, list) or len(items) != 2 or not isinstance(items[1], dict):
        return None
    resolver = Resolver(module)
    variables = resolver.resolve_deep(items[1])
    try:
        rendered = render(text, variables)
    except _Unrenderable:
        return None
    used.update(resolver.inputs())
    return _canonical(rendered), used


def _canonical(text: str) -> str:
    """A JSON document in one canonical form (keys sorted, no layout), else `text` as it is:
    re-indenting a policy file or reordering its keys changes nothing it means, so the block's
    digest stays the same (`checker.provenance.attribution.cosmetic`)."""
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except (ValueError, RecursionError):
        return text


def render(template: str, variables: Mapping[str, Any]) -> str:
    """`template` rendered with `variables` as Terraform's `templatefile` would, for the
    constructs in the module doc. Raises `_Unrenderable` for anything else."""
    tokens = _tokens(template)
    out, rest = _render(tokens, 0, dict(variables), ())
    if rest != len(tokens):
        raise _Unrenderable("unbalanced directive")
    return out


def _tokens(template: str) -> list[tuple[str, str]]:
    """("text", s) / ("$", expr) / ("%", directive) tokens, strip markers applied."""
    tokens: list[tuple[str, str]] = []
    pos, strip_next = 0, False
    for m in _TOKEN.finditer(template):
        text = template[pos : m.start()]
        pos = m.end()
        if m.group(1) is None:  # an escape: `$${` is a literal `${`, `%%{` a literal `%{`
            text += m.group(0)[1:]
            tokens.append(("text", text.lstrip() if strip_next else text))
            strip_next = False
            continue
        if strip_next:
            text = text.lstrip()
        if m.group(2):
            text = text.rstrip()
        tokens.append(("text", text))
        tokens.append((m.group(1), m.group(3).strip()))
        strip_next = bool(m.group(4))
    tail = template[pos:]
    tokens.append(("text", tail.lstrip() if strip_next else tail))
    return tokens


def _render(tokens: list[tuple[str, str]], i: int, scope: dict[str, Any],
            stop: tuple[str, ...]) -> tuple[str, int]:  # fmt: skip
    """Render `tokens` from `i` until a directive in `stop`; (text, index of that directive)."""
    out: list[str] = []
    while i < len(tokens):
        kind, body = tokens[i]
        if kind == "text":
            out.append(body)
        elif kind == "$":
            out.append(_interpolate(body, scope))
        elif body.split()[0] in stop if body else False:
            return "".join(out), i
        elif (loop := _FOR.fullmatch(body)) is not None:
            i, text = _loop(tokens, i, scope, loop)
            out.append(text)
        elif body.startswith("if "):
            i, text = _branch(tokens, i, scope, body[3:].strip())
            out.append(text)
        else:
            raise _Unrenderable(body)
        i += 1
    if stop:
        raise _Unrenderable(f"no {stop[0]}")
    return "".join(out), i


def _loop(tokens: list[tuple[str, str]], i: int, scope: dict[str, Any],
          loop: re.Match[str]) -> tuple[int, str]:  # fmt: skip
    key_name = loop.group(1) if loop.group(2) else None
    value_name = loop.group(2) or loop.group(1)
    items = _lookup(loop.group(3).strip(), scope)
    pairs = (list(items.items()) if isinstance(items, dict)
             else list(enumerate(items)) if isinstance(items, list) else None)
    if pairs is None:
        raise _Unrenderable("for over a non-collection")
    end = _matching_end(tokens, i)
    parts = []
    for key, item in pairs:
        inner = {**scope, value_name: item, **({key_name: key} if key_name else {})}
        text, stop = _render(tokens, i + 1, inner, ("endfor",))
        if stop != end:
            raise _Unrenderable("unbalanced for")
        parts.append(text)
    return end, "".join(parts)


def _matching_end(tokens: list[tuple[str, str]], i: int) -> int:
    """The index of the `endfor`/`endif` that closes the directive at `i`."""
    depth = 0
    for j in range(i, len(tokens)):
        kind, body = tokens[j]
        word = body.split()[0] if kind == "%" and body else ""
        if word in ("for", "if"):
            depth += 1
        elif word in ("endfor", "endif"):
            depth -= 1
            if depth == 0:
                return j
    raise _Unrenderable("no end of directive")


def _branch(tokens: list[tuple[str, str]], i: int, scope: dict[str, Any],
            cond: str) -> tuple[int, str]:  # fmt: skip
    negate = cond.startswith("!")
    value = _lookup(cond[1:].strip() if negate else cond, scope)
    if not isinstance(value, bool):
        raise _Unrenderable("if on a non-bool")
    then, j = _render(tokens, i + 1, scope, ("else", "endif"))
    other = ""
    if tokens[j][1] == "else":
        other, j = _render(tokens, j + 1, scope, ("endif",))
    elif tokens[j][1] != "endif":
        raise _Unrenderable("bad if")
    return j, then if value != negate else other


def _interpolate(expr: str, scope: Mapping[str, Any]) -> str:
    if expr.startswith("jsonencode(") and expr.endswith(")"):
        return json.dumps(_lookup(expr[len("jsonencode(") : -1].strip(), scope),
                          separators=(",", ":"))
    value = _lookup(expr, scope)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise _Unrenderable("a collection in ${...}")


def _lookup(expr: str, scope: Mapping[str, Any]) -> Any:
    """The value of a reference `name`, `name.key`, `name["key"]` or `name[0]` in `scope`."""
    if _REF.fullmatch(expr) is None:
        raise _Unrenderable(expr)
    name = re.match(r"[A-Za-z_][\w-]*", expr)
    assert name is not None
    if name.group(0) not in scope:
        raise _Unrenderable(f"unknown variable {name.group(0)}")
    value = scope[name.group(0)]
    for step in _STEP.finditer(expr, name.end()):
        attr, index, key = step.groups()
        if index is not None and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        elif (attr or key) is not None and isinstance(value, dict) and (attr or key) in value:
            value = value[attr if attr is not None else key]
        else:
            raise _Unrenderable(expr)
    if isinstance(value, str) and ("${" in value or "%{" in value):
        raise _Unrenderable("an expression in a variable")
    return value
