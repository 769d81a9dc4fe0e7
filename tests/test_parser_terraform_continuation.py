"""Valid HCL python-hcl2 7.3.1 rejects: a line inside brackets starting with an operator
(python-hcl2 #246 and #234; cloud-foundation-fabric's conditionals). `hcl.load_text` parses the
file again with those operators moved to the end of the line before
(`continuation.join_leading_operators`), so every identity in such a block is found and judged
on its own lines. `fixtures/parsers/terraform/continuation.tf` passes `terraform fmt -check`
and python-hcl2 rejects each of its blocks as written (each was NHI901 before). Every line
number asserted here was read off the fixture.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import hcl2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lark.exceptions import UnexpectedInput

from checker.cli import main
from checker.model import SourceFile
from checker.parsers import terraform
from checker.parsers.terraform.continuation import join_leading_operators
from checker.parsers.terraform.salvage import chunks
from checker.policy.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = "fixtures/parsers/terraform/continuation.tf"


def test_python_hcl2_rejects_each_fixture_block_as_written() -> None:
    text = (ROOT / FIXTURE).read_text()
    found = chunks(text.split("\n"))
    assert [c.start for c in found] == [4, 18, 27, 37, 50]
    for chunk in found:
        with pytest.raises(UnexpectedInput):
            hcl2.loads(chunk.text)


def test_blocks_with_leading_operators_parse_and_their_identities_are_found() -> None:
    result = terraform.parse(SourceFile(FIXTURE, (ROOT / FIXTURE).read_bytes()), load_catalogue())
    assert result.problems == ()
    found = [(o.address, o.kind, o.location.start_line, o.location.end_line)
             for o in result.objects]
    assert found == [
        ("google_service_account.sa", "service_account", 18, 25),
        ("google_project_iam_member.sa_owner", "role_binding", 27, 35),
        ("aws_iam_access_key.ci", "access_key", 50, 62),
    ]
    owner = result.objects[1]
    assert [(g.action, g.line) for g in owner.privileges] == [("roles/owner", 29)]


def test_scan_judges_the_identities_and_reports_no_nhi901(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["scan", FIXTURE, "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["problems"] == []
    rows = [(f["rule_id"], f["start_line"], f["address"]) for f in out["findings"]]
    assert ("NHI301", 29, "google_project_iam_member.sa_owner") in rows
    assert ("NHI201", 18, "google_service_account.sa") in rows
    assert ("NHI201", 50, "aws_iam_access_key.ci") in rows
    assert not [r for r in rows if r[0] == "NHI901"]


def test_a_block_invalid_after_the_rewrite_is_nhi901_at_its_own_position() -> None:
    text = (
        "locals {\n"
        "  x = (\n"
        "    local.a\n"
        "    ? 1\n"
        "    : 2\n"
        "  )\n"
        "}\n"
        'resource "google_project_iam_member" "m" {\n'
        '  role   = "roles/owner"\n'
        "  member = (\n"
        "    var.a\n"
        "    ? var.b\n"
        "    var.c\n"
        "  )\n"
        "}\n"
    )
    result = terraform.parse(SourceFile("bad.tf", text.encode()), load_catalogue())
    assert result.objects == ()
    assert [(p.rule_id, p.line, p.end_line, p.address, p.message) for p in result.problems] == [
        ("NHI901", 8, 15, "google_project_iam_member.m",
         'bad.tf: HCL syntax error in resource "google_project_iam_member" "m" (lines 8-15) '
         "at line 12, column 5: unexpected token; the file's other blocks were read"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "joined", "one_line"),
    [
        ("a = (\n  x\n  ? 1\n  : 2\n)\n", "a = (\n  x ?\n  1 :\n  2\n)\n", "a = (x ? 1 : 2)"),
        ("a = (\n  x # why\n  // more\n  ? 1 : 2\n)\n",
         "a = (\n  x ? # why\n  // more\n  1 : 2\n)\n", "a = (x ? 1 : 2)"),
        ("a = {\n  for k, v in m : k => v\n  if !contains(x, k)\n  && v != 2\n}\n",
         "a = {\n  for k, v in m : k => v\n  if !contains(x, k) &&\n  v != 2\n}\n",
         "a = {for k, v in m : k => v if !contains(x, k) && v != 2}"),
        ("a = (\n  f(x)\n  || g(y)\n) ? 1 : 2\n", "a = (\n  f(x) ||\n  g(y)\n) ? 1 : 2\n",
         "a = (f(x) || g(y)) ? 1 : 2"),
        ("a = (\n  x\n  +\n  y\n)\n", "a = (\n  x +\n  \n  y\n)\n", "a = (x + y)"),
        ("a = {for k, v in m : k\n  => v}\n", "a = {for k, v in m : k =>\n  v}\n",
         "a = {for k, v in m : k => v}"),
        ("a = f(\n  x.y\n  .z.0\n  .w,\n  1)\n", "a = f(\n  x.y.z.0.w\n  \n  ,\n  1)\n",
         "a = f(x.y.z.0.w, 1)"),
    ],
    ids=["conditional", "comments", "for-if-and", "or-after-call", "plus-alone", "for-arrow",
         "attribute-chain"],
)
def test_join_moves_each_leading_operator_to_the_previous_code_line(
    text: str, joined: str, one_line: str
) -> None:
    with pytest.raises(UnexpectedInput):
        hcl2.loads(text)
    assert join_leading_operators(text) == joined
    assert hcl2.loads(joined) == hcl2.loads(one_line + "\n")


@pytest.mark.parametrize(
    "text",
    [
        'resource "r" "n" {\n  a = x\n  ? 1 : 2\n}\n',  # a block body: a newline ends `a`
        "a = {\n  k = 1\n  ? 2\n}\n",  # an object: a newline ends an item
        "a = <<EOT\n  x\n  ? 1\nEOT\n",  # heredoc text
        'a = "${(x\n  ? 1 : 2)}"\n',  # inside a template
        "a = (\n  x\n  - 1\n  !y\n)\n",  # unary operators are left where they are
        "a = f(\n  x...\n)\n",
    ],
    ids=["block-body", "object", "heredoc", "template", "unary", "ellipsis"],
)
def test_join_leaves_alone_what_is_not_a_newline_free_continuation(text: str) -> None:
    assert join_leading_operators(text) is None


_TERMS = st.sampled_from(["var.a", "local.b", "1", '"s ? t : u"', "f(x)", "m.k.v", "true"])
_BINARY = st.sampled_from(["&&", "||", "==", "!=", "<=", ">=", "<", ">", "+", "*", "/", "%"])


@st.composite
def _expression(draw: st.DrawFn, depth: int = 0) -> list[str]:
    """An expression as tokens; operators are their own tokens."""
    shape = draw(st.sampled_from(["term", "binary", "conditional"] if depth < 3 else ["term"]))
    if shape == "term":
        return [draw(_TERMS)]
    if shape == "binary":
        left, right = draw(_expression(depth + 1)), draw(_expression(depth + 1))
        return ["(", *left, draw(_BINARY), *right, ")"]
    cond, yes, no = (draw(_expression(depth + 1)) for _ in range(3))
    return ["(", *cond, "?", *yes, ":", *no, ")"]


_OPERATORS = {"?", ":", "&&", "||", "==", "!=", "<=", ">=", "<", ">", "+", "*", "/", "%"}


@settings(max_examples=150, deadline=None)
@given(tokens=_expression(), data=st.data())
def test_property_lines_and_tokens_are_kept(tokens: list[str], data: st.DataObject) -> None:
    # Laid out over lines, with a line break (and maybe a comment) before or after operators.
    pieces = ["a = (\n  "]
    for i, token in enumerate(tokens):
        if i and token in _OPERATORS and data.draw(st.booleans()):
            pieces.append(data.draw(st.sampled_from(["", " # c", " // c"])) + "\n  ")
        elif i:
            pieces.append(" ")
        pieces.append(token)
    text = "".join(pieces) + "\n)\n"
    joined = join_leading_operators(text)
    out = text if joined is None else joined
    old, new = text.split("\n"), out.split("\n")
    assert len(new) == len(old)

    def code(lines: list[str]) -> list[str]:
        stripped = [re.sub(r"\s(#|//) c$", "", line) for line in lines]
        return "".join(stripped).split()

    assert "".join(code(new)) == "".join(code(old))  # the same characters in the same order
    for before, after in zip(old, new, strict=True):
        # Each line: its leading operator gone, operators of later lines added after its code.
        was, now = (re.sub(r"\s(#|//) c$", "", line).strip() for line in (before, after))
        lead = was.split(" ", 1)[0]
        if lead in _OPERATORS:
            was = was[len(lead):].strip()
        assert now.startswith(was)
        assert all(t in _OPERATORS for t in now[len(was):].split())
        assert after.endswith((" # c", " // c")) == before.endswith((" # c", " // c"))
    assert not any(re.match(r"\s*(\?|:|&&|\|\||[=!<>]=|[<>+*/%])", ln) for ln in new)
    assert hcl2.loads(out) == hcl2.loads(f"a = ({' '.join(tokens)})\n")
