"""Compose YAML safely: every document within node, depth and alias budgets.

`load_source`/`load_text` compose a YAML stream (`yaml.compose_all` with the C `CSafeLoader`
when the wheel bundles libyaml, else the pure-Python `SafeLoader`) into a `YamlStream`.

Bad input never raises out of `load_text`/`load_source`; it comes back as a `ParseProblem`:
- NHI901: a YAML syntax error (`<path>: YAML syntax error at line L: <problem>`), or a cyclic
  alias (a node that contains itself);
- NHI902: not text (NUL bytes, invalid UTF-8, control characters YAML forbids);
- NHI903: over a budget: the byte cap of `checker.decode`, nesting deeper than `MAX_DEPTH`
  levels, or aliases that would expand past `MAX_NODES` nodes in one document (a "billion
  laughs" bomb) or `MAX_TOTAL_NODES` in the whole stream.

Why the depth check comes before libyaml sees the text: libyaml's composer recurses in C (a
100,000-level `[[[...]]]` crashes the interpreter with a segmentation fault) and its scanner is
quadratic in flow depth. A cheap upper bound on nesting is computed from the text; only when it
exceeds 1,000 levels is the event stream scanned (iteratively, with an early stop at
`MAX_DEPTH`) before composing. When the text has an anchor (`&`), or its bound is over
`MAX_DEPTH`, each composed document is measured (`limits.measure`): expanded size and depth
through aliases, memoised by node identity, so a bomb costs as much as its text, not its
expansion.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import yaml
from yaml.nodes import Node

from checker.decode import decode
from checker.lazy_patterns import lazy_compile
from checker.model import ParseProblem, SourceFile
from checker.safeyaml.limits import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_TOTAL_NODES,
    YamlLimitError,
    measure,
)
from checker.safeyaml.nodes import line_of

#: The C loader when libyaml is bundled (several times faster), else the pure-Python one.
LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)

#: Up to this nesting bound libyaml composes directly (its C recursion is shallow enough); above
#: it, the event stream is scanned first and composing stops at `MAX_DEPTH`.
_COMPOSE_SAFE_DEPTH = 1000

#: Start of a line up to its first token: indentation, block indicators (`-`, `?`, `:`),
#: document markers, anchors and tags. Its length bounds the block nesting a line can open.
_BLOCK_PREFIX = lazy_compile(r"^(?:[ \t]|[-?:](?=[ \t]|$)|---|[&!][^ \t]*)*", re.MULTILINE)
#: Where an alias (`*name`) could start: a `*` at the start of a token (line start, after
#: white space, a flow indicator or `:`) followed by an anchor-name character. A text without
#: one has no alias, so no cycle and no expansion beyond the text (a `*` in `run: ls *.tf` or a
#: cron `* * *` may match: it is then measured, as before).
_ALIAS_START = lazy_compile(r"(?:^|[\s\[\]{},:])\*[^\s\[\]{},]", re.MULTILINE)
#: A character YAML does not accept in a stream (C0/C1 controls other than TAB/LF/CR/NEL...).
_FORBIDDEN_CHAR = lazy_compile(
    "[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
#: Quoted fragments in a libyaml/PyYAML problem text may echo file content (an alias name, a
#: character); they are dropped, except quoted punctuation such as `','` or `'}'`.
_QUOTED = lazy_compile(r"""\s*('[^']*'|"[^"]*")""")
_PUNCTUATION = lazy_compile(r"""['"][^\w\s]{1,2}['"]""")


@dataclass(frozen=True, eq=False)
class YamlStream:
    """One file composed into YAML nodes.

    `documents` holds the root node of every document composed before any error (empty
    documents are null `ScalarNode`s). `lines` is the decoded text split on `\\n` (index
    `i` is line `i + 1`), for comment lookups with `common.comment_metadata`. `problem` is set
    when the file (or its tail) could not be analysed; the documents before it are still usable.
    """

    path: str
    lines: list[str]
    documents: tuple[Node, ...]
    problem: ParseProblem | None = None


def load_source(source: SourceFile) -> YamlStream:
    """Decode `source` (UTF-8, BOM dropped, budget checked) and compose it with `load_text`."""
    text = decode(source)
    if isinstance(text, ParseProblem):
        return YamlStream(source.path, [], (), text)
    return load_text(text, source.path)


def load_text(
    text: str,
    path: str,
    *,
    max_nodes: int = MAX_NODES,
    max_total_nodes: int = MAX_TOTAL_NODES,
    max_depth: int = MAX_DEPTH,
    until: Callable[[Node], bool] | None = None,
) -> YamlStream:
    """Compose every document of `text` and check it against the budgets (`_compose`).

    The last two answers are kept (by all the arguments, `until` too): one parse job reads a
    file for its secret material and for its identities, and both get the same stream. The
    stream is shared: callers never change its `lines` or nodes.
    """
    return _compose(text, path, max_nodes, max_total_nodes, max_depth, until)


@functools.lru_cache(maxsize=2)
def _compose(
    text: str, path: str, max_nodes: int, max_total_nodes: int, max_depth: int,
    until: Callable[[Node], bool] | None,
) -> YamlStream:
    """Compose every document of `text` and check it against the budgets.

    With `until`, composing stops after the first document for which it is true (a question
    about one document, such as `manifests.has_manifest`'s, needs no more of a 2 MB stream):
    the documents after it are neither composed nor checked.

    Never raises on bad input: a syntax error, a forbidden character, a cycle or a budget overrun
    becomes `YamlStream.problem` (see the module docstring for the rule ids). Every returned
    document is acyclic, within `max_nodes` expanded nodes and `max_depth` levels, so any walk
    over it terminates and stays shallow.
    """
    lines = text.split("\n")
    bad = _FORBIDDEN_CHAR.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        return YamlStream(
            path,
            lines,
            (),
            ParseProblem(
                path,
                "NHI902",
                f"{path}: character U+{ord(bad.group()):04X} at line {line} is not allowed "
                "in YAML; not analysed as text",
                line,
            ),
        )
    bound = _nesting_bound(text)
    if bound > _COMPOSE_SAFE_DEPTH:
        deep = _event_depth(text, max_depth)
        if deep is not None:
            return YamlStream(path, lines, (), _depth_problem(path, max_depth, deep))
        depth_known = True
    else:
        depth_known = bound <= max_depth
    # Without an anchor and an alias there is no cycle and no expansion beyond the text.
    must_measure = not depth_known or ("&" in text and _ALIAS_START.search(text) is not None)
    documents: list[Node] = []
    problem: ParseProblem | None = None
    total = 0
    try:
        for root in yaml.compose_all(text, Loader=LOADER):
            if not must_measure:
                documents.append(root)
                if until is not None and until(root):
                    break
                continue
            try:
                size, _ = measure(root, max_nodes=max_nodes, max_depth=max_depth)
            except YamlLimitError as exc:
                problem = _limit_problem(path, exc, line_of(root))
                break
            total += size
            if total > max_total_nodes:
                problem = ParseProblem(
                    path,
                    "NHI903",
                    f"{path}: alias expansion over budget: the stream expands to more than "
                    f"{max_total_nodes} nodes",
                    line_of(root),
                )
                break
            documents.append(root)
            if until is not None and until(root):
                break
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in str(exc.problem):  # libyaml >= 0.2.6's own depth limit
            mark = exc.problem_mark
            problem = _depth_problem(path, max_depth, int(mark.line) + 1 if mark else 1)
        else:
            problem = _syntax_problem(path, exc, lines)
    except yaml.YAMLError as exc:  # ReaderError and other unmarked errors
        problem = ParseProblem(path, "NHI901", f"{path}: YAML error: {_clean(str(exc))}")
    except RecursionError:
        problem = _depth_problem(path, max_depth, 1)
    return YamlStream(path, lines, tuple(documents), problem)


def _nesting_bound(text: str) -> int:
    """An upper bound on the nesting depth of `text`, from characters alone.

    Flow nesting is at most the number of `[`/`{` characters; block nesting grows by at most
    two levels per column of a line's indentation-and-indicators prefix.
    """
    flow = text.count("[") + text.count("{")
    if flow > _COMPOSE_SAFE_DEPTH:
        return flow
    prefix = max((len(m.group()) for m in _BLOCK_PREFIX.finditer(text)), default=0)
    return flow + 2 * prefix + 4


def _event_depth(text: str, max_depth: int) -> int | None:
    """The line where nesting first exceeds `max_depth` in the event stream, else None."""
    depth = 0
    try:
        for event in _events(text):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    mark = event.start_mark
                    return int(mark.line) + 1 if mark is not None else 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in str(exc.problem):  # libyaml >= 0.2.6's own depth limit
            mark = exc.problem_mark
            return int(mark.line) + 1 if mark is not None else 1
        return None  # composing reports the error at the same place, with its line
    except yaml.YAMLError:
        return None
    return None


def _events(text: str) -> Iterator[yaml.Event]:
    return yaml.parse(text, Loader=LOADER)


def _depth_problem(path: str, max_depth: int, line: int) -> ParseProblem:
    return ParseProblem(
        path, "NHI903", f"{path}: nesting deeper than {max_depth} levels; not analysed", line
    )


def _limit_problem(path: str, exc: YamlLimitError, line: int) -> ParseProblem:
    message = str(exc)
    rule = "NHI901" if message.startswith("cyclic") else "NHI903"
    return ParseProblem(path, rule, f"{path}: {message}; not analysed", line)


def _syntax_problem(path: str, exc: yaml.MarkedYAMLError, lines: list[str]) -> ParseProblem:
    """NHI901 at the problem's line; an error found at the end of the stream (an unclosed
    bracket or quote) is placed on the last line with content."""
    mark = exc.problem_mark or exc.context_mark
    line = int(mark.line) + 1 if mark is not None else 1
    last = next((n for n in range(len(lines), 0, -1) if lines[n - 1].strip()), 1)
    line = max(1, min(line, last))
    problem = _clean(exc.problem or "invalid YAML")
    if exc.context:
        problem = f"{problem} ({_clean(exc.context)})"
    return ParseProblem(
        path, "NHI901", f"{path}: YAML syntax error at line {line}: {problem}", line
    )


def _clean(text: str) -> str:
    """A parser message without quoted fragments (which may echo file content), on one line."""
    first = text.strip().split("\n", 1)[0]
    kept = _QUOTED.sub(lambda m: m.group() if _PUNCTUATION.fullmatch(m.group(1)) else "", first)
    return " ".join(kept.split())
