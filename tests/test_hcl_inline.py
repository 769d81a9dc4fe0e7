"""The inline parse (`checker.parsers.terraform.hcl_inline`: python-hcl2's grammar and
`DictTransformer` applied while lark parses) gives exactly what `hcl2.loads(text,
with_meta=True)` gives, on every `.tf` file of the corpus and of our fixtures (issue 16: a faster
path only where it gives the same results on the whole corpus). A file python-hcl2 rejects is
rejected the same way (`load_hcl` falls back to `hcl2.loads`, so the error is its own).
"""

from __future__ import annotations

from pathlib import Path

import hcl2
import pytest
from lark.exceptions import UnexpectedInput

from checker.parsers.terraform import hcl_inline
from checker.parsers.terraform.hcl import HCL_ERRORS, load_hcl
from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parents[1]


def _tf_files() -> list[Path]:
    found = sorted(ROOT.glob("fixtures/**/*.tf"))
    if CORPUS.is_dir():
        found += sorted(CORPUS.glob("**/*.tf"))
    return found


def _outcome(parse: object, text: str) -> object:
    try:
        return parse(text)  # type: ignore[operator]
    except HCL_ERRORS as exc:
        where = (exc.line, exc.column) if isinstance(exc, UnexpectedInput) else None
        return ("rejected", type(exc).__name__, where)


@pytest.mark.slow
def test_the_inline_parse_equals_hcl2_loads_on_every_tf_file() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus absent ({CORPUS}); only fixtures would be compared")
    inline = hcl_inline.parser()
    assert inline is not None
    files = _tf_files()
    assert len(files) > 900
    differ = []
    parsed = 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        expected = _outcome(lambda t: hcl2.loads(t, with_meta=True), text)
        got = _outcome(lambda t: load_hcl(t, with_meta=True), text)
        parsed += not isinstance(expected, tuple)
        if got != expected:
            differ.append(str(path))
    assert differ == []
    assert parsed > 900  # the comparison covered real parses, not only rejections


def test_blocks_keep_their_lines_labels_and_nesting() -> None:
    text = (
        'resource "aws_iam_user" "ci" {\n'
        "  name = \"ci\"\n"
        "  # a comment\n"
        "  tags = {\n"
        "    Owner = \"team\"\n"
        "  }\n"
        "  lifecycle {\n"
        "    prevent_destroy = true\n"
        "  }\n"
        "}\n"
        "\n"
        "locals {\n"
        "  x = [for s in var.l : upper(s) if s != \"\"]\n"
        "}\n"
    )
    inline = hcl_inline.parser()
    assert inline is not None
    got = inline.parse(text + "\n")
    assert got == hcl2.loads(text, with_meta=True)
    user = got["resource"][0]["aws_iam_user"]["ci"]
    assert (user["__start_line__"], user["__end_line__"]) == (1, 10)
    assert user["lifecycle"][0]["__start_line__"] == 7
    assert got["locals"][0]["__start_line__"] == 12


def test_a_rejected_text_raises_python_hcl2s_own_error() -> None:
    text = 'resource "aws_iam_user" "a" {\n  name = "a" "b"\n}\n'
    with pytest.raises(UnexpectedInput) as inline_error:
        load_hcl(text, with_meta=True)
    with pytest.raises(UnexpectedInput) as own_error:
        hcl2.loads(text, with_meta=True)
    assert (inline_error.value.line, inline_error.value.column) == (
        own_error.value.line, own_error.value.column) == (2, 14)


def test_a_long_list_costs_no_more_than_hcl2_loads() -> None:
    """lark extends a repetition's list in place; copying it at each item (a list of 50,000
    numbers: 15x hcl2.loads' CPU time) made the inline parse quadratic. CPU time of both, in
    this process, as a ratio: the same on an idle and on a busy machine."""
    import time

    text = "locals {\n  xs = [" + ",".join("1" for _ in range(50_000)) + "]\n}\n"
    inline = hcl_inline.parser()
    assert inline is not None
    start = time.process_time()
    got = inline.parse(text + "\n")
    inline_cpu = time.process_time() - start
    start = time.process_time()
    expected = hcl2.loads(text, with_meta=True)
    own_cpu = time.process_time() - start
    assert got == expected
    assert inline_cpu < 2 * own_cpu


def test_rule_names_read_from_the_grammar_are_the_parsers_rules() -> None:
    # `hcl_inline.parser()` reads the rule names from `hcl2.lark` instead of building
    # python-hcl2's plain parser; they must be the rules that parser has (lark's own `__`
    # repetition rules aside), or a `DictTransformer` method would go unwrapped.
    from pathlib import Path

    from hcl2 import parser as hcl2_parser_module

    from checker.parsers.terraform import hcl_inline

    grammar = Path(hcl2_parser_module.__file__).with_name("hcl2.lark").read_text()
    rules = {str(r.origin.name) for r in hcl2_parser_module.parser().rules}
    assert set(hcl_inline._RULE_NAME.findall(grammar)) == {
        r for r in rules if not r.startswith("__")}
