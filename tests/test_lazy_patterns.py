"""`checker.lazy_patterns`: module-level patterns compiled at first use behave as compiled ones,
and every one of nhi-gate's is a valid regular expression."""

from __future__ import annotations

import copy
import importlib
import pickle
import pkgutil
import re

import pytest

import checker
from checker import lazy_patterns
from checker.lazy_patterns import lazy_compile


def test_every_module_level_pattern_compiles() -> None:
    # An invalid pattern raises only at its first use: import every module, then compile all.
    for info in pkgutil.walk_packages(checker.__path__, "checker."):
        if not info.name.endswith(".__main__"):  # that one runs the CLI
            importlib.import_module(info.name)
    assert lazy_patterns.compile_all() > 300


def test_behaves_as_the_compiled_pattern() -> None:
    lazy = lazy_compile(r"(?P<key>[a-z]+)=(\d+)", re.IGNORECASE)
    real = re.compile(r"(?P<key>[a-z]+)=(\d+)", re.IGNORECASE)
    text = "A=1 b=22 c=x"
    assert lazy.pattern == real.pattern
    assert lazy.flags == real.flags
    assert lazy.groups == 2
    assert lazy.groupindex == {"key": 1}
    m = lazy.search(text)
    assert m is not None and m.group("key") == "A" and m.span() == (0, 3)
    assert lazy.findall(text) == [("A", "1"), ("b", "22")]
    assert [m.group(0) for m in lazy.finditer(text)] == ["A=1", "b=22"]
    assert lazy.sub("<\\g<key>>", text) == "<A> <b> c=x"
    assert lazy.split("x A=1 y") == ["x ", "A", "1", " y"]
    assert lazy.fullmatch("b=22") is not None and lazy.match("c=x") is None


def test_bytes_patterns() -> None:
    lazy = lazy_compile(rb"kind\s*:")
    assert lazy.search(b"  kind: Secret") is not None
    assert lazy.search(b"mind the gap") is None


def test_after_first_use_the_methods_are_the_compiled_patterns_own() -> None:
    lazy = lazy_compile(r"ab+")
    assert "search" not in vars(lazy)
    assert lazy.match("abb") is not None
    bound = vars(lazy)["search"]
    assert bound.__self__ is re.compile(r"ab+")  # the one `re` caches: same pattern object


def test_pickles_and_copies_as_a_compiled_pattern() -> None:
    lazy = lazy_compile(r"x+y", re.MULTILINE)
    for other in (pickle.loads(pickle.dumps(lazy)), copy.deepcopy(lazy), copy.copy(lazy)):
        assert isinstance(other, re.Pattern)
        assert other.pattern == "x+y" and other.flags & re.MULTILINE


def test_an_invalid_pattern_fails_at_first_use_and_compile_all_names_it() -> None:
    bad = lazy_compile(r"(unclosed")  # no error yet
    with pytest.raises(re.error):
        bad.search("x")
    try:
        with pytest.raises(re.error, match=r"unclosed"):
            lazy_patterns.compile_all()
    finally:
        lazy_patterns._MADE.remove(bad)  # type: ignore[arg-type]
