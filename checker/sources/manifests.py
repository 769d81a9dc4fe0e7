"""Is a YAML or JSON file a Kubernetes manifest? Decided by parsing, behind a proven byte test.

A file is a manifest when one of its documents is a mapping whose keys include `apiVersion`
and `kind`, or a sequence holding one (`has_manifest`), as the parsed keys say: a YAML stream
composed by `checker.safeyaml` (PyYAML's C loader, within its node, depth and alias budgets;
merge keys applied) or, for `.json`, the `json` module. So a key spelled with an escape
(`"\\u0061piVersion"`), a tag (`!!str apiVersion`), an anchor (`&a apiVersion`), in flow style,
quoted, after a byte-order mark or a merge key is found. The parse happens only for files the
byte test `may_be_manifest` keeps; a file it drops is never a manifest by the parse:

- a YAML or JSON scalar's text is its bytes, with line breaks folded into spaces or newlines,
  except through an escape or an escaped line break, and both need a backslash; a tag, an
  anchor or an alias changes a key's tag or node, never its text. So a key whose parsed text
  is `apiVersion` either appears as those bytes or the file has a backslash;
- the test runs on the same UTF-8 bytes the parse reads (`checker.decode.as_utf8` first).

`tests/test_manifest_sniff.py` checks that over every YAML/JSON file of `../shared/corpus`, the
evasion variants and generated documents.
"""

from __future__ import annotations

import json
import re
from enum import Enum

from yaml.nodes import MappingNode, Node, SequenceNode

from checker.lazy_patterns import lazy_compile
from checker.safeyaml.load import YamlStream, load_text
from checker.safeyaml.nodes import items

_KEYS = ("apiVersion", "kind")
#: A document start marker line; what comes before one is read the same without what follows.
_MARKER = lazy_compile(r"^---[ \t]*$", re.MULTILINE)
#: From this size on, the documents before the first marker are asked first.
_PREFIX_FROM = 64 * 1024


class Parsed(Enum):
    """What the full parse says about a file: a manifest, not one, or nothing (it failed)."""

    MANIFEST = "manifest"
    OTHER = "other"
    SYNTAX_ERROR = "syntax-error"  # the text is not YAML (or JSON)
    UNREADABLE = "unreadable"  # not text, or over a node, depth or alias budget


def may_be_manifest(raw: bytes) -> bool:
    """False only when UTF-8 bytes `raw` provably hold no manifest (see the module docstring):
    they lack `apiVersion` or `kind` and have no backslash."""
    return b"\\" in raw or all(key.encode() in raw for key in _KEYS)


def _is_manifest_node(node: Node, nested: bool = False) -> bool:
    """A mapping with both keys, or (at the top) a sequence holding one."""
    if isinstance(node, SequenceNode) and not nested:
        return any(_is_manifest_node(item, True) for item in node.value)
    if not isinstance(node, MappingNode):
        return False
    names = {name for name, _, _ in items(node)}
    return all(key in names for key in _KEYS)


#: A top-level block-mapping key `apiVersion:` or `kind:` (at column 0), and a document marker.
_TOP_KEY = lazy_compile(r"^(apiVersion|kind)[ \t]*:", re.MULTILINE)
_DOCUMENT_MARK = lazy_compile(r"^(?:---|\.\.\.)(?:[ \t]|$)", re.MULTILINE)
#: Template openers (`checker.sources.templates`): such a file takes the full parse.
_TEMPLATE_OPENERS = ("{{", "{%", "{#")


def plain_manifest(text: str) -> bool:
    """True when one document of the YAML `text` (decoded, LF line ends) has both `apiVersion:`
    and `kind:` as top-level keys (column 0) and the text holds no template opener: the file
    is read as a manifest without composing it (`has_manifest` gives `MANIFEST` for it, or,
    when its YAML is broken or over a budget, the sniff reads it as one by its keys and the
    parser reports why; `tests/test_sniff_fast_path.py` checks this on the corpus)."""
    if any(opener in text for opener in _TEMPLATE_OPENERS):
        return False
    return any(len({m.group(1) for m in _TOP_KEY.finditer(part)}) == 2
               for part in _DOCUMENT_MARK.split(text))


def has_manifest(text: str, path: str) -> Parsed:
    """Parse `text` (decoded, LF line ends) of the file at `path` and say whether a document is
    a manifest. JSON (`path` ending `.json`) is read with `json`, anything else as a YAML
    stream, composed up to its first manifest document (in a large file, the documents before
    its first `---` marker line are composed first: a marker always starts a new document, so
    a manifest there is one in the whole stream). A YAML stream with a syntax error
    after a manifest document is `MANIFEST` (the parser reports both); one over a budget is
    `UNREADABLE` (the parser reports NHI903)."""
    if path.lower().endswith(".json"):
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return Parsed.SYNTAX_ERROR
        found = any(isinstance(v, dict) and all(key in v for key in _KEYS)
                    for v in (value if isinstance(value, list) else [value]))
        return Parsed.MANIFEST if found else Parsed.OTHER
    marker = _MARKER.search(text, 1) if len(text) >= _PREFIX_FROM else None
    if marker is not None and _has_manifest_node(load_text(text[: marker.start()], path)):
        return Parsed.MANIFEST  # a 2 MB install manifest: its first document says it
    stream = load_text(text, path, until=_is_manifest_node)  # the first manifest decides
    if _has_manifest_node(stream):
        return Parsed.MANIFEST
    if stream.problem is None:
        return Parsed.OTHER
    return Parsed.SYNTAX_ERROR if stream.problem.rule_id == "NHI901" else Parsed.UNREADABLE


def _has_manifest_node(stream: YamlStream) -> bool:
    return any(_is_manifest_node(doc) for doc in stream.documents)
