"""The python-hcl2 boundary: with `hcl_inline`, the only modules of nhi-gate that import `hcl2`.

python-hcl2 7.3.x `hcl2.loads(text, with_meta=True)` is called only through `load_hcl` (which
first runs the same grammar and transformer while parsing, `hcl_inline`, and falls back to
`hcl2.loads`), so a later upgrade touches these modules only
(../shared/research/ecosystem.md section 3). `load`
(`load_text`) decodes and parses one `.tf` file and turns a syntax error into an NHI901
`ParseProblem` with the line and column lark reports (or a better one found in the text); when
python-hcl2 rejects the file, it is parsed again with its leading continuation operators moved
up a line (`continuation`, valid HCL 7.3.1 rejects, python-hcl2 #246/#234), and when that fails
too its blocks are parsed one by one (`salvage`, each retried the same way), so only the blocks
that fail are lost.

Each text is first read by the fast path (`hcl_fast`, no lark: the same value, proven on the
corpus), and given to python-hcl2 only when that raises `Unsupported`; lark, python-hcl2 and
the grammar are imported then, on first need (`warm` imports the fast path only), so a run
whose Terraform files all take the fast path never loads them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from checker.decode import decode
from checker.errors import NhiGateError
from checker.model import ParseProblem, SourceFile
from checker.parsers.terraform import hcl_fast
from checker.parsers.terraform.continuation import join_leading_operators
from checker.parsers.terraform.positions import depth_at_line_starts
from checker.parsers.terraform.salvage import Chunk, chunks, merge, shift_lines


def hcl_errors() -> tuple[type[BaseException], ...]:
    """What `load_hcl` raises on bad input (lark's errors and python-hcl2's transform errors),
    for an `except` clause: `except hcl_errors():` imports lark only when something is raised.
    Also the module attribute `HCL_ERRORS`."""
    from lark.exceptions import LarkError

    return (LarkError, ValueError, RuntimeError, RecursionError, UnicodeError)


def __getattr__(name: str) -> Any:
    if name == "HCL_ERRORS":  # lark is imported on first use of the name, not with the module
        return hcl_errors()
    raise AttributeError(name)


@dataclass(frozen=True)
class LoadedHcl:
    """One `.tf` file decoded and parsed by python-hcl2 once (`load`), so that `checker.pipeline`
    can hand the same parse to `parse` and to the secret scan (`checker.secrets.scan`).

    `text`: the decoded text, None when undecodable; `data`: the `loads(text, with_meta=True)`
    result (treat as read-only), or the blocks salvaged one by one when python-hcl2 rejected
    the file (`load_text`), None when nothing parsed; `problems`: the NHI901/NHI902/NHI903
    `ParseProblem`s `parse` reports for the file (one per block that failed when salvaged).
    """

    text: str | None
    data: Any
    problems: tuple[ParseProblem, ...] = ()


@functools.lru_cache(maxsize=512)
def load(source: SourceFile) -> LoadedHcl:
    """Decode and parse one `.tf` file (`load_text`). Raises `NhiGateError` only when the
    installed `hcl2` package is not python-hcl2 7.x; bad input becomes `LoadedHcl.problems`.

    Cached per process by the file's path, content and revision: one file is read as itself, as
    a value file of its module (`values.module_values`) and as a called module's file for each
    caller (`callees`), and python-hcl2 is the costly part. The same text under another path
    is not parsed again (`_load_whole`). The result is shared: read-only."""
    text = decode(source)
    if isinstance(text, ParseProblem):
        return LoadedHcl(None, None, (text,))
    return load_text(source.path, text)


def load_text(path: str, text: str) -> LoadedHcl:
    """Parse the HCL `text` of the file `path`; when python-hcl2 rejects it, salvage it.

    First the whole text is parsed again after `continuation.join_leading_operators` (a line
    starting with `?`, `:`, `&&`, `||` or `.name` inside brackets, which python-hcl2 7.3.1
    rejects and Terraform accepts, joined to the line before; every line number unchanged).
    Salvage (`checker.parsers.terraform.salvage`): the file is split into its top-level blocks
    and attributes, each is parsed alone with its own line numbers, and `data` holds the ones
    that parsed (a chunk rejected as written is retried after `join_leading_operators`); each
    that failed is an NHI901 `ParseProblem` on its lines (`line`, `end_line`,
    `address`) whose message names the block and python-hcl2's error. When no chunk parses, or
    every chunk parses although the file did not (e.g. an attribute defined twice at the top
    level), the file's own NHI901 is reported, as without salvage. Raises `NhiGateError` as
    `load_hcl` does.
    """
    try:
        return LoadedHcl(text, _load_whole(text))
    except NhiGateError:
        raise  # a broken installation is no verdict on the file: exit 2 with the fix
    except hcl_errors() as exc:
        whole = _hcl_problem(path, text, exc)
    joined = _load_joined(text)
    if joined is not None:
        return LoadedHcl(text, joined)
    found = chunks(text.split("\n"))
    if len(found) < 2:  # one construct: parsing it alone would fail the same way, twice the cost
        return LoadedHcl(text, None, (whole,))
    parts: list[tuple[Chunk, Any]] = []
    failed: list[ParseProblem] = []
    for chunk in found:
        try:
            data = load_hcl(chunk.text, with_meta=True)
        except NhiGateError:
            raise
        except hcl_errors() as exc:
            data = _load_joined(chunk.text)
            if data is None:
                failed.append(_chunk_problem(path, chunk, exc))
                continue
        parts.append((chunk, shift_lines(data, chunk.start - 1)))
    if not parts:
        return LoadedHcl(text, None, (whole,))
    return LoadedHcl(text, merge(parts), tuple(failed) or (whole,))


@functools.lru_cache(maxsize=512)
def _load_whole(text: str) -> Any:
    """`load_hcl(text, with_meta=True)`, cached per process by the text alone: the same text
    under other paths (a `versions.tf` copied into every example of a repository) is parsed
    once. The result is shared: read-only. A text python-hcl2 rejects raises each time."""
    return load_hcl(text, with_meta=True)


def _load_joined(text: str) -> Any:
    """`text` parsed after `join_leading_operators` (line numbers unchanged), or None when it
    has no leading operator to move or python-hcl2 rejects it all the same."""
    joined = join_leading_operators(text)
    if joined is None:
        return None
    try:
        return load_hcl(joined, with_meta=True)
    except NhiGateError:
        raise
    except hcl_errors():
        return None


def warm() -> None:
    """Nothing more to load ahead of the first parse: the fast path (`hcl_fast`) is imported
    with this module. python-hcl2's grammar is not loaded here (lark's import and the grammar
    cost about 70 ms): only the first text the fast path does not read loads it."""


def load_hcl(text: str, with_meta: bool = False) -> Any:
    """The one call into python-hcl2 (7.3.x `loads`). Raises what it raises (`HCL_ERRORS`).

    The text is first read by `hcl_fast.loads` (the same value, no lark); only when that raises
    `Unsupported` is python-hcl2 imported and called. With `with_meta`, the text is then
    parsed by `hcl_inline.parser()` (the same grammar and
    transformer, applied while parsing: the same value); any failure there parses it again with
    `hcl2.loads`, so what is raised, and where, is python-hcl2's own.

    Raises `NhiGateError` when the installed `hcl2` package is not python-hcl2 7.x: Checkov's
    fork bc-python-hcl2 installs the same `hcl2` package with another `loads` signature.
    """
    try:
        return hcl_fast.loads(text, with_meta=with_meta)
    except hcl_fast.Unsupported:
        pass  # python-hcl2 reads it, and says why when it rejects it
    from hcl2.api import loads as hcl2_loads

    from checker.parsers.terraform import hcl_inline

    inline = hcl_inline.parser() if with_meta else None
    if inline is not None:
        try:
            return inline.parse(text + "\n")  # the newline `hcl2.loads` appends (lark #237)
        except Exception:  # python-hcl2 parses it again and says why
            pass
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
    line, column, reason = _error_at(text, exc)
    return ParseProblem(
        path, "NHI901", f"{path}: HCL syntax error at line {line}, column {column}: {reason}", line
    )


def _chunk_problem(path: str, chunk: Chunk, exc: BaseException) -> ParseProblem:
    """NHI901 on the lines of one salvaged chunk python-hcl2 rejected, naming the chunk."""
    line, column, reason = _error_at(chunk.text, exc)
    line += chunk.start - 1
    message = (f"{path}: HCL syntax error in {chunk.label} (lines {chunk.start}-{chunk.end}) "
               f"at line {line}, column {column}: {reason}; the file's other blocks were read")
    return ParseProblem(path, "NHI901", message, chunk.start, chunk.end, chunk.address)


def _error_at(text: str, exc: BaseException) -> tuple[int, int, str]:
    """(line, column, reason) of an exception from `hcl2.loads` on `text`."""
    from lark.exceptions import (
        UnexpectedCharacters,
        UnexpectedEOF,
        UnexpectedInput,
        UnexpectedToken,
        VisitError,
    )
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
    return line, column, reason


def _unclosed_start(text: str) -> int | None:
    """The line where the construct left open at the end of the file starts, or None.

    At end of file lark only knows that input ran out; the useful position is the start of the
    last top-level construct (a line beginning at depth 0 in code) when the file ends inside a
    block, bracket, string, heredoc or comment (`depth_at_line_starts` on one line past the end).
    """
    lines = text.split("\n")
    states = depth_at_line_starts(lines, 1, len(lines) + 1)
    depth, in_code = states[-1]
    if depth == 0 and in_code:
        return None
    for number in range(len(lines), 0, -1):
        start_depth, start_code = states[number - 1]
        stripped = lines[number - 1].strip()
        if start_depth == 0 and start_code and stripped and not stripped.startswith(("#", "//")):
            return number
    return None


def _visit_error(text: str, exc: Any) -> tuple[str, int]:
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
