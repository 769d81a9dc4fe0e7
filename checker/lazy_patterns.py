"""`lazy_compile`: a module-level regular expression compiled when it is first used.

Why: most of nhi-gate's module-level patterns serve one format, one provider or one rule, and
a run uses a fraction of them. `re.compile` runs the pure-Python `sre` compiler at import
time, which on the pre-commit path (`nhi-gate hook`, a few staged files) is a measurable part
of the user's wait (benchmarks/RESULTS.md, "Hook path"): of the ~340 patterns the parse worker
imports, a small run uses about half.

The object returned stands for `re.compile(pattern, flags)`: every `re.Pattern` method and
attribute works on it, it pickles as the compiled pattern, and after the first use its methods
are the compiled pattern's own bound methods, so a hot loop pays nothing extra. It is not an
`re.Pattern` instance: pass it to `re.sub(...)` or `isinstance` checks and you get the
unresolved wrapper, so use its methods (`PATTERN.sub(...)`), as nhi-gate does. An invalid
pattern raises `re.error` at first use, not at import; `tests/test_lazy_patterns.py` compiles
every one of them.
"""

from __future__ import annotations

import re
from typing import Any, AnyStr, cast

#: The `re.Pattern` attributes copied onto a wrapper once it has compiled.
_ATTRIBUTES = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split",
               "scanner", "pattern", "flags", "groups", "groupindex")  # fmt: skip

#: Every wrapper made so far (to compile them all: `compile_all`).
_MADE: list[_LazyPattern] = []


class _LazyPattern:
    """`re.compile(source, flags)`, compiled on the first attribute asked for."""

    def __init__(self, source: str | bytes, flags: int) -> None:
        self._source = source
        self._flags = flags

    def _compiled(self) -> re.Pattern[Any]:
        compiled = re.compile(self._source, self._flags)
        for name in _ATTRIBUTES:
            self.__dict__[name] = getattr(compiled, name)
        self.__dict__["_pattern"] = compiled
        return compiled

    def __getattr__(self, name: str) -> Any:  # only for names not yet in __dict__
        if name.startswith("__") or name in ("_source", "_flags"):
            raise AttributeError(name)
        compiled = self.__dict__.get("_pattern") or self._compiled()
        return getattr(compiled, name)

    def __reduce__(self) -> tuple[Any, tuple[str | bytes, int]]:
        return re.compile, (self._source, self._flags)

    def __repr__(self) -> str:
        return f"lazy_compile({self._source!r}, {self._flags})"


def lazy_compile(pattern: AnyStr, flags: int | re.RegexFlag = 0) -> re.Pattern[AnyStr]:
    """`re.compile(pattern, flags)`, compiled when first used (see the module docstring).

    Only for module- and class-level constants; inside a function use `re.compile` (its own
    cache serves repeated calls). Raises `re.error` at the first use of an invalid pattern.
    """
    made = _LazyPattern(pattern, int(flags))
    _MADE.append(made)
    return cast("re.Pattern[AnyStr]", made)


def compile_all() -> int:
    """Compile every pattern made so far; the number compiled. Raises `re.error` naming the
    first invalid one (the test suite calls this after importing every module)."""
    for made in _MADE:
        try:
            made.pattern  # noqa: B018  (compiles it)
        except re.error as exc:
            raise re.error(f"{made!r}: {exc}") from exc
    return len(_MADE)
