"""Load the declarative packs under `rules/` and validate each against its JSON Schema.

Packs (all YAML, each validated by `rules/schema/<name>.schema.json`):
- `catalogue/<format>.yaml`: which resource types / kinds / constructs define identities;
- `agents.yaml`: agent and bot fingerprints used by provenance;
- `docs/*.yaml`: rule metadata and documentation (SARIF help, `nhi-gate rules`);
- `privileges.yaml`: admin-equivalent grants per platform, each with a source.

A pack that does not validate is fatal (`RulePackError`, exit 2): never skipped.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from checker.errors import RulePackError

_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Metadata keys required by default for each identity kind (config may override per rule).
DEFAULT_REQUIRES: Mapping[str, tuple[str, ...]] = {
    "service_account": ("owner", "ticket"),
    "user": ("owner", "ticket"),
    "role": ("owner", "ticket"),
    "access_key": ("owner", "ticket", "expires"),
    "api_token": ("owner", "ticket", "expires"),
    "certificate": ("owner", "ticket", "expires"),
    "private_key": ("owner", "ticket", "expires"),
    "secret": ("owner", "ticket", "expires"),
    "role_binding": (),
    "policy": (),
    "oidc_trust": (),
    "ci_credential": (),
}


def rules_dir() -> Path:
    """The directory holding the packs: `checker/_rules` in a wheel, `rules/` in a checkout."""
    packaged = Path(__file__).parent / "_rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "rules"


@dataclass(frozen=True)
class CatalogueEntry:
    """One identity-defining construct.

    `format` is a `FileFormat`; `type` is the source's type name (`aws_iam_user`,
    `ServiceAccount`, `workflow_permissions`); `requires` are the metadata keys it must carry;
    `source` is the provider documentation URL the entry is based on.
    """

    format: str
    type: str
    kind: str
    platform: str
    source: str
    requires: tuple[str, ...]


@dataclass(frozen=True)
class Catalogue:
    """All catalogue entries keyed by (format, type)."""

    entries: Mapping[tuple[str, str], CatalogueEntry]
    by_type: Mapping[str, CatalogueEntry]

    def get(self, fmt: str, type_: str) -> CatalogueEntry | None:
        """The entry for `type_` in format `fmt`, or None when it defines no identity."""
        return self.entries.get((fmt, type_))

    def find(self, type_: str) -> CatalogueEntry | None:
        """The entry for `type_` in whichever format defines it (type names do not collide)."""
        return self.by_type.get(type_)

    def types(self, fmt: str) -> frozenset[str]:
        """Every catalogued type name of one format."""
        return frozenset(t for f, t in self.entries if f == fmt)


def load_pack(path: Path, schema_name: str) -> Any:
    """Read one YAML pack and validate it against `rules/schema/<schema_name>.schema.json`.

    Returns the parsed YAML (lists/dicts/str). Raises `RulePackError` naming the file and the
    JSON path of the first violation.
    """
    schema_path = rules_dir() / "schema" / f"{schema_name}.schema.json"
    try:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise RulePackError(f"{path}: cannot read rule pack: {exc}") from exc
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise RulePackError(f"{path}: {where}: {err.message}")
    return data


@functools.lru_cache(maxsize=4)
def load_catalogue(directory: Path | None = None) -> Catalogue:
    """Load every `catalogue/*.yaml` pack.

    Raises `RulePackError` on a schema violation or a (format, type) listed twice.
    """
    base = (directory or rules_dir()) / "catalogue"
    entries: dict[tuple[str, str], CatalogueEntry] = {}
    for pack in sorted(base.glob("*.yaml")):
        data = load_pack(pack, "catalogue")
        fmt = data["format"]
        for item in data["entries"]:
            key = (fmt, item["type"])
            if key in entries:
                raise RulePackError(f"{pack}: {item['type']} is catalogued twice")
            requires = item.get("requires")
            if requires is None:
                requires = DEFAULT_REQUIRES[item["kind"]]
            entries[key] = CatalogueEntry(
                format=fmt,
                type=item["type"],
                kind=item["kind"],
                platform=item["platform"],
                source=item["source"],
                requires=tuple(requires),
            )
    return Catalogue(entries=entries, by_type={t: e for (_, t), e in entries.items()})
