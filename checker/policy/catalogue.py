"""Load the declarative packs under `rules/` and validate each against its JSON Schema.

Packs (all YAML, each validated by `rules/schema/<name>.schema.json`):
- `catalogue/<format>.yaml`: which resource types / kinds / constructs define identities;
- `agents.yaml`: agent and bot signatures used by provenance (`checker.provenance.agents`);
- `docs/*.yaml`: rule metadata and documentation (SARIF help, `nhi-gate rules`);
- `privileges.yaml`: admin-equivalent grants per platform, each with a source.

A pack that does not validate is fatal (`RulePackError`, exit 2): never skipped.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    packaged = Path(__file__).parent.parent / "_rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "rules"


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
    #: `types` per format, computed once (every Terraform block build asks for them).
    _types: dict[str, frozenset[str]] = field(
        default_factory=dict, init=False, compare=False, repr=False)

    def get(self, fmt: str, type_: str) -> CatalogueEntry | None:
        """The entry for `type_` in format `fmt`, or None when it defines no identity."""
        return self.entries.get((fmt, type_))

    def find(self, type_: str) -> CatalogueEntry | None:
        """The entry for `type_` in whichever format defines it (type names do not collide)."""
        return self.by_type.get(type_)

    def types(self, fmt: str) -> frozenset[str]:
        """Every catalogued type name of one format."""
        found = self._types.get(fmt)
        if found is None:
            found = self._types[fmt] = frozenset(t for f, t in self.entries if f == fmt)
        return found


#: Part of every validation-cache key: change it when validation changes meaning (another
#: draft, a new check in `load_pack`), so entries written before are not trusted.
_VALIDATION_KEY = b"nhi-gate load_pack v1 Draft202012Validator\0"


def cache_dir(name: str) -> Path | None:
    """nhi-gate's cache folder `name`: `$XDG_CACHE_HOME/nhi-gate/<name>`, else
    `~/.cache/nhi-gate/<name>`; None when no home directory can be found. Not created here."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:
            return None
    return Path(base) / "nhi-gate" / name


def pack_cache_dir() -> Path | None:
    """Where validated packs are remembered: `cache_dir("packs")`."""
    return cache_dir("packs")


def _cached_pack(key: str) -> Any:
    """The parsed data stored for a validated pack under `key`, or None (miss, unreadable)."""
    directory = pack_cache_dir()
    if directory is None:
        return None
    try:
        entry = json.loads((directory / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return entry.get("data") if isinstance(entry, dict) and entry.get("key") == key else None


def _remember_pack(key: str, data: Any) -> None:
    """Store a pack that validated (best effort: an unwritable cache is no error; data that
    does not survive a JSON round trip, e.g. YAML dates, is not stored)."""
    directory = pack_cache_dir()
    if directory is None:
        return
    try:
        text = json.dumps({"key": key, "data": data}, ensure_ascii=False)
        if json.loads(text)["data"] != data:
            return
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, directory / f"{key}.json")
    except (OSError, TypeError, ValueError):
        return


def load_pack(path: Path, schema_name: str) -> Any:
    """Read one YAML pack and validate it against `rules/schema/<schema_name>.schema.json`.

    Returns the parsed YAML (lists/dicts/str). Raises `RulePackError` naming the file and the
    JSON path of the first violation.

    Validation is cached by content: the key is the SHA-256 of `_VALIDATION_KEY`, the schema
    bytes and the pack bytes, and a pack that validated is stored under it (as JSON, with its
    parsed data) in `pack_cache_dir()`. A later run with the same schema and pack reads that
    entry and neither imports jsonschema nor validates again (nor parses the YAML); any change
    to either file is a new key, so a bad pack is validated, and fatal, every time. An invalid
    pack is never stored. Without a writable cache directory every run validates. Chosen over a
    build-time manifest of pack hashes (validate in a test, check the hash at run time) because
    packs are edited often and by many hands, and packs loaded from another directory (tests,
    overrides) would fall outside any manifest.
    """
    schema_path = rules_dir() / "schema" / f"{schema_name}.schema.json"
    try:
        schema_bytes = schema_path.read_bytes()
        pack_bytes = path.read_bytes()
    except OSError as exc:
        raise RulePackError(f"{path}: cannot read rule pack: {exc}") from exc
    key = hashlib.sha256(_VALIDATION_KEY + schema_bytes + b"\0" + pack_bytes).hexdigest()
    cached = _cached_pack(key)
    if cached is not None:
        return cached
    try:
        schema = json.loads(schema_bytes.decode("utf-8"))
        data = yaml.load(pack_bytes.decode("utf-8"), Loader=_YAML_LOADER)
    except (ValueError, yaml.YAMLError) as exc:
        raise RulePackError(f"{path}: cannot read rule pack: {exc}") from exc
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise RulePackError(f"{path}: {where}: {err.message}")
    _remember_pack(key, data)
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
