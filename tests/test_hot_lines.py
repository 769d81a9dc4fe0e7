"""`secrets.hot_lines`, the whole-text pass that tells `find_hardcoded` which lines to read, must
never hide a line a detector would fire on: it is a superset of the lines each per-line test
accepts (on every corpus and fixture line, and on generated plugin matches), and the scan finds
the same hits as a scan that reads every line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker import secrets
from checker.secrets import detectors, encoded, hardcoded, hot_lines

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


def _texts() -> list[tuple[Path, str]]:
    roots = [ROOT / "fixtures", *([CORPUS] if CORPUS.is_dir() else [])]
    return [(p, p.read_bytes().decode("utf-8", "replace")) for root in roots
            for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and p.stat().st_size <= 2 * 1024 * 1024]


def _accepted(line: str) -> bool:
    return bool(detectors.may_hold_plugin_secret(line) or hardcoded._KEY_WORDS.search(line)
                or encoded._BASE64_RUN.search(line) or encoded._DOCKER_AUTH.search(line))


def test_hot_lines_hold_every_line_a_detector_accepts() -> None:
    texts = _texts()
    lines = 0
    for path, text in texts:
        hot = hot_lines.hot_lines(text)
        for index, line in enumerate(text.split("\n")):
            lines += 1
            if _accepted(line):
                assert index in hot, (str(path), index + 1, line[:80])
    assert lines > (100_000 if CORPUS.is_dir() else 1_000)


def test_scan_finds_what_a_scan_of_every_line_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    sources = [text.split("\n") for _, text in _texts()]
    fast = [secrets.find_hardcoded(lines) for lines in sources]
    monkeypatch.setattr(hardcoded, "hot_lines", lambda text: range(text.count("\n") + 1))
    every = [secrets.find_hardcoded(lines) for lines in sources]
    assert fast == every
    assert sum(len(h) for h in fast) > 20


PATTERNS = [(str(p.secret_type), r) for p in detectors.plugins() for r in p.denylist]


@pytest.mark.parametrize("name,pattern", PATTERNS, ids=[f"{n}:{p.pattern[:30]}"
                                                        for n, p in PATTERNS])
def test_gate_lines_hold_every_generated_plugin_match(name: str, pattern: re.Pattern[str]
                                                      ) -> None:  # fmt: skip
    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.from_regex(re.compile(pattern.pattern, pattern.flags)), st.text(max_size=8),
           st.integers(0, 2))
    def check(match: str, before: str, row: int) -> None:
        line = (before + match).replace("\n", " ")
        if not detectors.may_hold_plugin_secret(line):
            return
        text = "\n".join(["x: 1"] * row + [line, "y: 2"])
        assert row in hot_lines.plugin_gate_lines(text), (name, line)

    check()


@pytest.mark.parametrize("line", [
    "aws_paſſword = '" + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "ZQ3R8TLM2X'",  # U+017F folds to s
    "XOXB-2741938475-" + "9381726354-QwErTyUiOp",
])
def test_case_blind_parts_fold_as_the_gate_does(line: str) -> None:
    assert detectors.may_hold_plugin_secret(line)
    assert 1 in hot_lines.plugin_gate_lines("a: b\n" + line)


def test_a_secret_named_variable_default_far_below_its_header_is_found() -> None:
    lines = ['variable "db_password" {', '  type = string', '  description = "x"',
             '  default = "Zq8!rT2#mW"', "  }", 'variable "region" {', '  default = "Zq8!rT2#mW"',
             "}"]
    assert [(h.line, h.key) for h in secrets.find_hardcoded(lines)] == [(4, "db_password")]


def test_a_value_below_a_secret_name_and_a_comment_is_found() -> None:
    lines = ["env:", "  - name: API_TOKEN", "    # rotated monthly",
             '    value: "k3Jd9sLq2Xv8Pw4Zt7Rm"', "  - name: REGION", '    value: "k3Jd9sLq2Xv8"']
    assert [(h.line, h.key) for h in secrets.find_hardcoded(lines)] == [(4, "API_TOKEN")]
