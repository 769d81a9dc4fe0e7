"""The fast HCL path (`checker.parsers.terraform.hcl_fast`) returns exactly what python-hcl2
7.3.1 returns (`hcl2.loads(text, with_meta=True)`), or raises `Unsupported` (issue 16: a faster
path only where it gives the same results on the whole corpus, proven by a test). Proven on
every `.tf`/`.tofu` file of ../shared/corpus and of our fixtures, on HCL generated from a small
grammar (hypothesis), and on texts python-hcl2 rejects: the fast path never accepts one.
A run whose Terraform files all take the fast path never imports lark.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checker.parsers.terraform import hcl_fast, hcl_inline
from checker.parsers.terraform.hcl import load_hcl
from tests.conftest import CORPUS

ROOT = Path(__file__).resolve().parents[1]
#: The three Terraform files `benchmarks/bench.py:five_file_repo` stages (bench case (c)).
HOOK_FILES = [f"real-repos/terraform-aws-modules__terraform-aws-iam/modules/{m}/main.tf"
              for m in ("iam-account", "iam-group", "iam-oidc-provider")]


def _strict(a: Any, b: Any) -> bool:
    """Equal with the same types at every depth (`True` is not `1`, `1` is not `1.0`) and the
    same key order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_strict(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_strict(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _reference(text: str) -> Any:
    """python-hcl2's value, or None when it rejects the text: `hcl_inline`'s parse (the same
    value as `hcl2.loads`, `tests/test_hcl_inline.py`, five times faster), else `hcl2.loads`."""
    inline = hcl_inline.parser()
    assert inline is not None
    try:
        return inline.parse(text + "\n")
    except Exception:
        pass
    try:
        return hcl2.loads(text, with_meta=True)
    except Exception:
        return None


def _fast(text: str) -> Any:
    """The fast path's value, or None for `Unsupported`."""
    try:
        return hcl_fast.loads(text)
    except hcl_fast.Unsupported:
        return None


def _agrees(text: str, expected: Any = ...) -> bool:
    """Whether the fast path read `text` (else `Unsupported`); raises AssertionError when it
    read it otherwise than python-hcl2 (`expected`, by default `_reference(text)`)."""
    got = _fast(text)
    if got is None:
        return False
    expected = _reference(text) if expected is ... else expected
    assert expected is not None, f"accepted a text python-hcl2 rejects: {text!r}"
    assert _strict(got, expected), f"{text!r}:\n{got!r}\n!=\n{expected!r}"
    return True


def _tf_files() -> list[Path]:
    found = sorted(p for p in ROOT.glob("tests/**/*") if p.suffix in (".tf", ".tofu"))
    found += sorted(p for p in ROOT.glob("fixtures/**/*") if p.suffix in (".tf", ".tofu"))
    if CORPUS.is_dir():
        found += sorted(p for p in CORPUS.rglob("*") if p.suffix in (".tf", ".tofu"))
    return [p for p in found if p.is_file()]


@pytest.mark.slow
def test_the_fast_path_equals_python_hcl2_on_every_tf_file() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus absent ({CORPUS}): only our fixtures would be compared")
    files = _tf_files()
    assert len(files) > 1000
    fast = accepted = 0
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        expected = _reference(text)
        fast += _agrees(text, expected)
        accepted += expected is not None
    # Measured: 1060 of 1068 files, every file python-hcl2 accepts but a BOM and one
    # checkov parser-timeout test file.
    assert fast >= 0.99 * accepted, (fast, accepted)
    for name in HOOK_FILES:  # the pre-commit bench case never loads lark
        assert _fast((CORPUS / name).read_text(encoding="utf-8")) is not None, name


def test_load_hcl_takes_the_fast_path_and_falls_back_to_python_hcl2() -> None:
    text = 'resource "aws_iam_user" "u" {\n  name = "u"\n  tags = { Owner = "t" }\n}\n'
    assert load_hcl(text, with_meta=True) == hcl2.loads(text, with_meta=True)
    assert load_hcl(text) == hcl2.loads(text)  # without line markers too
    # `a.12` is python-hcl2's `a[1]` (it keeps the first digit): the fast path leaves it to
    # python-hcl2, whose value load_hcl returns
    odd = "x = a.12\n"
    assert _fast(odd) is None
    assert load_hcl(odd, with_meta=True) == {"x": "${a[1]}"}


@pytest.mark.parametrize("text", [
    "a = 1\na = 2\n",  # an attribute defined twice
    "b {}\nb = 1\n",  # a block and an attribute of one name
    "x = [\n  a\n  && b\n]\n",  # a leading operator (python-hcl2 #246)
    "y = (\n  a\n  || b)\n",
    "x = a\n  ? b : c\n",
    "x = {\n  a = 1\n  , b = 2\n}\n",  # a comma after a newline
    "x = f(a\n,)\n",
    "x = {for k in m : k\n => 1}\n",
    'x = "${a\n}"\n',
    "x = /* c */ 1\n",
    "x = <<EOF\nnever closed\n",
    'x = "a\\\nb"\n',
    'r "a" {\n',
    "x = {a = 1 b = 2",
    "x = !!a\n",
    '"a" = 1\n',
])  # fmt: skip
def test_a_text_python_hcl2_rejects_is_never_accepted(text: str) -> None:
    assert _reference(text) is None
    assert _fast(text) is None


@pytest.mark.parametrize("text", [
    "x = a + true ? 1 : 2\n",  # the right side takes the rest: `a + (true ? 1 : 2)` -> True
    "x = c ? true : null\ny = null == x\nz = [null, true, 1, 1.5, -1, -1.5, - 1, 007]\n",
    'x = f({a = "${b}"}, [x, "y"], true, null)\ny = f(a, b...)\nz = f(\n  a,\n)\n',
    'x = {"${a}" = 1, (b) = 2, c.d = 3, 4 = 5, "e\\tf": 6, true = 7}\n',
    'x = [for k, v in m : k if v]\ny = {for k, v in m : k => v... if v}\n',
    "x = a.*.b[0]\ny = a[*].b[0].c\nz = a.0.b\nw = provider::aws::arn_parse(x).region\n",
    'x = "a\\\\nb\\n \\"q\\" $${lit} %{ if c }y%{ endif } $x ${f("${g}")}"\n',
    "x = <<EOF\n  a\\n \"q\"\n  EOF2\nEOF\ny = <<-EOT\n    a\n      b\n    EOT\nz = <<EOF\nEOF\n",
    "a \"b\" c {\n  x = 1\n\n  d {}\n  # c\n}\n\n/* multi\nline */\ne { f = 1 }\n",
    "variable \"v\" {\n  type = list(string)\n  t = string\n  default = (1)\n}\n",
    "x = -a.b + !c\ny = a-1\nz = 1.50\n",
    # a heredoc ends at the first line holding only its marker, python-hcl2 then cuts at the
    # last marker of that token; trailing blank lines and spaces are dropped
    "x = <<EOF\nEOF\nfoo\nEOF\ny = <<EOF\n  a\n\n  EOF\nz = f(<<EOF\nx\nEOF\n)\n",
    'x = "$${a"b}"\ny = "${"}"}"\nz = "${a}"[0]\nw = {a = 1}.a\nv = true.x\n',
])  # fmt: skip
def test_python_hcl2s_quirks_are_kept(text: str) -> None:
    assert _agrees(text)


def test_a_hook_on_the_bench_files_never_imports_lark(tmp_path: Path) -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus absent ({CORPUS})")
    code = (
        "import sys\n"
        "from checker.pipeline import warm_parsers\n"
        "from checker.model import SourceFile\n"
        "from checker.parsers import terraform\n"
        "catalogue = warm_parsers(True)\n"
        f"for name in {HOOK_FILES!r}:\n"
        f"    path = {str(CORPUS)!r} + '/' + name\n"
        "    got = terraform.parse(SourceFile(name, open(path, 'rb').read()), catalogue)\n"
        "    assert not got.problems, name\n"
        "print(sorted(m for m in ('hcl2', 'lark') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=env, check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------------------- generated HCL

_NAMES = st.sampled_from(["a", "b", "var", "local", "each", "x_1", "a-b", "count", "string",
                          "true", "false", "null", "for_each"])  # fmt: skip
_GAP = st.sampled_from(["", "", "", " ", "\n", "\n\n", " # c\n", " // c\n", " /* c */ ",
                        "\n  # c\n\n"])  # fmt: skip
_CHARS = st.sampled_from(["a", " ", "-", "\\n", "\\\"", "\\\\", "\\t", "$", "$${x}", "%{", "#",
                          "{", "}", ":", "/", "é", "'", "\\u00e9"])  # fmt: skip
_NUMBERS = st.sampled_from(["0", "1", "42", "-1", "1.5", "-2.25", "007", "10.0"])
_OPS = st.sampled_from(["+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||"])


def _string(expr: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    part = st.one_of(_CHARS, expr.map(lambda e: "${" + e + "}"))
    return st.lists(part, max_size=4).map(lambda ps: '"' + "".join(ps) + '"')


def _extend(expr: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    items = st.lists(st.tuples(_GAP, expr, _GAP), max_size=3)
    key = st.one_of(_NAMES, _string(expr), _NUMBERS, expr.map(lambda e: f"({e})"),
                    st.tuples(_NAMES, _NAMES).map(".".join))
    return st.one_of(
        st.builds(lambda left, o, g, r: f"{left} {o}{g}{r}", expr, _OPS, _GAP, expr),
        st.builds(lambda c, g1, a, g2, g3, b: f"{c} ?{g1}{a}{g2}:{g3}{b}",
                  expr, _GAP, expr, _GAP, _GAP, expr),
        st.builds(lambda o, e: f"{o}{e}", st.sampled_from(["-", "!", "- "]), expr),
        st.builds(lambda g1, e, g2: f"({g1}{e}{g2})", _GAP, expr, _GAP),
        st.builds(lambda xs, t: "[" + ",".join(f"{a}{e}{b}" for a, e, b in xs) + t + "]",
                  items, st.sampled_from(["", ",", "\n"])),
        st.builds(lambda kvs, s: "{" + s.join(f"{k} {eq} {v}" for k, eq, v in kvs) + "}",
                  st.lists(st.tuples(key, st.sampled_from(["=", ":"]), expr), max_size=3),
                  st.sampled_from([", ", "\n", ",\n", " "])),
        st.builds(lambda f, xs, t: f + "(" + ", ".join(e for _, e, _ in xs) + t + ")",
                  st.sampled_from(["f", "jsonencode", "lookup", "provider::aws::g"]), items,
                  st.sampled_from(["", ",", "...", "\n"])),
        st.builds(lambda e, s: f"{e}{s}", expr,
                  st.sampled_from([".b", "[0]", ".*", ".*.c", "[*]", "[*].c[1]", "[\"k\"]",
                                   ".0", ".12"])),
        st.builds(lambda k, v, c, g: f"[for {k} in {c} :{g}{v}]", _NAMES, expr, expr, _GAP),
        st.builds(lambda k, v, c, cond: f"{{for {k}, v in {c} : {k} => {v}{cond}}}", _NAMES,
                  expr, expr, st.sampled_from(["", "...", " if v", "... if v != null"])),
        _string(expr),
    )


_EXPR = st.recursive(st.one_of(_NAMES, _NUMBERS, _string(_NAMES),
                               st.sampled_from(["<<EOF\n  a\n b $${x} \\n\nEOF\n",
                                                "<<-EOT\n    a\n  EOT\n", "a.b.c"])),
                     _extend, max_leaves=6)  # fmt: skip


def _body(depth: int) -> st.SearchStrategy[str]:
    attr = st.builds(lambda n, e: f"{n} = {e}", _NAMES, _EXPR)
    if depth == 0:
        item = attr
    else:
        block = st.builds(lambda n, labels, g, b: f"{n} {labels}{g}{{\n{b}}}", _NAMES,
                          st.sampled_from(['"x" "y" ', 'y ', '', '"a${b}" ']),
                          st.sampled_from(["", "", "", "", "\n"]), _body(depth - 1))
        item = st.one_of(attr, block)
    gaps = st.sampled_from(["\n", "\n\n", " # c\n", "\n// c\n", "\n", "\n", " "])
    return st.lists(st.tuples(item, gaps),
                    max_size=4).map(lambda xs: "".join(i + s for i, s in xs))


GENERATED = settings(
    max_examples=int(os.environ.get("NHI_GATE_HCL_EXAMPLES", "300")),
    derandomize=True, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@GENERATED
@given(_body(2))
def test_generated_hcl_reads_as_python_hcl2_reads_it(text: str) -> None:
    _agrees(text)
