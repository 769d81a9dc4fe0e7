"""Which lines of a text `find_hardcoded` must look at: found on the whole text at once.

Most lines of a file hold no secret, and asking each line alone whether it could (the plugin gate,
the key words, base64 runs) costs more than the rest of the scan. `hot_lines(text)` answers for
every line in a few passes over the whole text, each led by a literal that `re` finds fast, and
returns a superset of the lines on which any of these matches:

- `detectors.may_hold_plugin_secret` (the plugin gate, `plugin_gate_lines`);
- `hardcoded`'s key words (a key `_keyed_hit` accepts contains one of them);
- `encoded`'s base64 runs and a docker `auth` key.

No pattern here matches across a line break, so a match marks exactly the line it is on. A line
outside the set can still matter to `find_hardcoded` only through the state it carries (the
`variable` block and the `name:` line above a `value:`), which `find_hardcoded` keeps itself.
`tests/test_hot_lines.py` checks the superset on every corpus line and on generated plugin
matches.
"""

from __future__ import annotations

import bisect
import re

from checker.lazy_patterns import lazy_compile

#: The plugin gate (`detectors._PLUGIN_GATE`) cut into patterns that each begin with a literal
#: (or test a literal first, then look behind it), as (pattern, run on the lower-cased text).
#: Each matches wherever its alternative of the gate does, or more often.
_GATE_PARTS: tuple[tuple[re.Pattern[str], bool], ...] = tuple(
    (lazy_compile(pattern), lowered) for pattern, lowered in (
        ("A3T[A-Z0-9]", False), ("ABIA", False), ("ACCA", False), ("AKIA", False),
        ("ASIA", False),
        (r"""aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?['"][0-9a-z/+]{40}['"]""",
         True),
        ("gh[pousr]_", False),
        ("gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-", False), ("GR1348941", False),
        ("PRIVATE KEY", False), ("PuTTY-User-Key-File-2", False),
        ("eyJ", False),
        ("xox[abposr]-", True), (r"hooks\.slack\.com", True),
        ("k_live_", False),
        ("AC[a-z0-9]{32}", False), ("SK[a-z0-9]{32}", False),
        (r"SG\.", False),
        ("-us[0-9]", False),
        ("_authToken=", False),
        (r"\.(?<=[a-zA-Z\d_-]{23}\.)[a-zA-Z\d_-]{6}\.", False),  # Discord
        ("T3BlbkFJ", False), ("pypi-AgE", False), ("AccountKey=", False),
        ("AKC[a-zA-Z0-9]{10}", False), (r"AP[\dA-F][a-zA-Z0-9]{8}", False),
        ("sq0csp-", False),
        (r":(?<=\d{8}:)", False),  # Telegram
        (r"://[^:/?#\[\]@!$&'()*+,;=\s]+:[^:/?#\[\]@!$&'()*+,;=\s]+@", False),  # basic auth
        ("AIza", False), (r"webhook\.office\.com", True),
        ("sk-ant-", False), ("sk-(?:proj|svcacct|admin)-", False), ("npm_", False),
        ("hf_", False),
    )
)
#: `hardcoded._KEY_WORDS`, on the lower-cased text.
_KEY_WORDS = lazy_compile("pass|pwd|secret|token|key|credential|authorization")
#: `encoded._BASE64_RUN` and the literal every `encoded._DOCKER_AUTH` match holds.
_BASE64_RUN = lazy_compile(r"[A-Za-z0-9+/]{24,}")
_DOCKER_AUTH = lazy_compile("auth")


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


def _mark(found: set[int], starts: list[int], pattern: re.Pattern[str], text: str) -> None:
    """Add the lines holding a match of `pattern`: once one is found on a line, the search goes
    on from the next line (no pattern matches across a line break, nor starts with one)."""
    search, pos, last = pattern.search, 0, len(starts) - 1
    while (m := search(text, pos)) is not None:
        line = bisect.bisect_right(starts, m.start()) - 1
        found.add(line)
        if line >= last:
            return
        pos = starts[line + 1]


def plugin_gate_lines(text: str) -> set[int]:
    """The 0-based indexes of the lines of `text` (split on `\\n`) on which
    `detectors.may_hold_plugin_secret` may be True (a superset)."""
    found: set[int] = set()
    _gate(text, found, _line_starts(text))
    return found


def _gate(text: str, found: set[int], starts: list[int]) -> str | None:
    """Mark the gate's lines in `found`; the lower-cased text when `text` is ASCII (else None:
    the case-blind parts ran on `text` itself with `re.IGNORECASE`, which also folds letters
    such as U+017F to ASCII ones)."""
    lower = text.lower() if text.isascii() else None
    for pattern, lowered in _GATE_PARTS:
        if not lowered:
            _mark(found, starts, pattern, text)
        elif lower is not None:
            _mark(found, starts, pattern, lower)
        else:
            _mark(found, starts, re.compile(pattern.pattern, re.IGNORECASE), text)
    return lower


def hot_lines(text: str) -> set[int]:
    """The 0-based indexes of the lines of `text` (split on `\\n`) that `find_hardcoded` must
    read (see the module docstring; a superset)."""
    starts = _line_starts(text)
    found: set[int] = set()
    lower = _gate(text, found, starts)
    if lower is not None:
        _mark(found, starts, _KEY_WORDS, lower)
    else:
        _mark(found, starts, re.compile(_KEY_WORDS.pattern, re.IGNORECASE), text)
    _mark(found, starts, _BASE64_RUN, text)
    _mark(found, starts, _DOCKER_AUTH, text)
    return found
