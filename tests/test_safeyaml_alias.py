"""The composed YAML graph is measured (cycles, alias expansion) whenever the text can hold an
alias: `checker.safeyaml.load._ALIAS_START` may over-match (`ls *.tf`) but never miss an alias
libyaml composes. Checked on hand-made alias spellings and on every corpus YAML file whose
composed graph shares a node (what an alias makes)."""

from __future__ import annotations

import pytest
import yaml
from conftest import CORPUS, corpus_yaml_files

from checker.safeyaml.load import _ALIAS_START, LOADER, load_text


def _shares_a_node(text: str) -> bool:
    """True when some composed document holds one node object twice (an alias)."""
    for root in yaml.compose_all(text, Loader=LOADER):
        seen: set[int] = set()
        stack = [root]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                return True
            seen.add(id(node))
            if isinstance(node, yaml.SequenceNode):
                stack.extend(node.value)
            elif isinstance(node, yaml.MappingNode):
                stack.extend(part for pair in node.value for part in pair)
    return False


@pytest.mark.parametrize("text", [
    "a: &x [1]\nb: *x\n",
    "a: &x 1\nb:\n  - *x\n",
    "{a: &x 1, b: *x}\n",
    "[&x 1,*x]\n",
    '{"a": &x 1, "b":*x}\n',
    "a: &x 1\n? *x\n: 2\n",
    "a: &x 1\nb: [ *x ]\n",
    "- &x\n  k: v\n- *x\n",
])
def test_every_alias_spelling_is_seen(text: str) -> None:
    assert _shares_a_node(text)
    assert _ALIAS_START.search(text) is not None


@pytest.mark.parametrize("text", [
    "run: terraform fmt && ls *.tf\n",
    "on:\n  schedule:\n    - cron: '0 0 * * *'\n",
])
def test_shell_text_is_no_proof_of_an_alias_either_way(text: str) -> None:
    assert not _shares_a_node(text)
    assert load_text(text, "x.yaml").problem is None


def test_a_cycle_behind_an_ampersand_is_still_found() -> None:
    text = "a: &x\n  b: *x\nrun: a && b\n"
    stream = load_text(text, "x.yaml")
    assert stream.problem is not None and "cyclic alias" in stream.problem.message


def test_no_corpus_file_with_an_alias_escapes_the_measure() -> None:
    if not CORPUS.is_dir():
        pytest.skip(f"corpus absent ({CORPUS})")
    with_alias = 0
    for path in corpus_yaml_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        if "&" not in text:
            continue
        try:
            shared = _shares_a_node(text)
        except yaml.YAMLError:
            continue
        if shared:
            with_alias += 1
            assert _ALIAS_START.search(text) is not None, path
    assert with_alias > 0
