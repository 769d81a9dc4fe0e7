"""NHI303: a long-lived static credential where a short-lived alternative exists.

Which credential types have which alternative is data: `rules/short_lived.yaml` (validated by
`rules/schema/short_lived.schema.json`), each entry citing the provider's documentation of the
alternative. A credential is not flagged when its declared native lifetime is at most
`short_lived_hours`; a GitHub Actions step only when one of the entry's `when` inputs (a static
key input) is present. NHI203 judges expiry metadata; this rule judges the credential's type.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from checker.checks.api import Hit, Subject
from checker.policy.catalogue import load_pack, rules_dir


@dataclass(frozen=True)
class Alternative:
    """One entry of `rules/short_lived.yaml`."""

    type: str
    alternative: str
    source: str
    when: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShortLived:
    """The pack: `short_lived_hours` and entries keyed by catalogue type."""

    short_lived_hours: float
    entries: Mapping[str, Alternative]


@functools.lru_cache(maxsize=2)
def load_short_lived(directory: Path | None = None) -> ShortLived:
    """Read `rules/short_lived.yaml`. Raises `RulePackError` on a schema violation."""
    data = load_pack((directory or rules_dir()) / "short_lived.yaml", "short_lived")
    entries = {
        item["type"]: Alternative(
            type=item["type"],
            alternative=item["alternative"],
            source=item["source"],
            when=tuple(item.get("when", ())),
        )
        for item in data["entries"]
    }
    return ShortLived(float(data["short_lived_hours"]), entries)


def check(subject: Subject) -> Iterator[Hit]:
    """NHI303 on `subject.obj` when its type has a short-lived alternative (one finding)."""
    obj = subject.obj
    pack = load_short_lived()
    alt = pack.entries.get(obj.type)
    if alt is None:
        return
    line: int | None = None
    if alt.when:
        present = [obj.attribute_lines[k] for k in alt.when if k in obj.attribute_lines]
        if not present:
            return
        line = min(present)
    life = obj.lifetime
    if life is not None and life.hours is not None and life.hours <= pack.short_lived_hours:
        return
    yield Hit("NHI303",
              f"{obj.address} is a long-lived static credential; use {alt.alternative} "
              f"instead (see {alt.source})", "static_credential", line)
