"""Load `.nhi-gate.yaml`, validate it against the shipped JSON Schema, return a frozen `Config`.

In `check` mode the config is read from the **base** revision (DESIGN.md "Approval and trust"),
so a change cannot loosen the policy that judges it; the CLI passes the bytes it read from git.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker.errors import ConfigError

CONFIG_NAME = ".nhi-gate.yaml"
#: The baseline file when the config names none (`baseline:`).
DEFAULT_BASELINE = ".nhi-gate-baseline.json"
_SCHEMA_PATH = Path(__file__).parent.parent / "schemas" / "config.schema.json"
#: CPU seconds a parse may use per MiB of the file on top of `parse_seconds`: about twice the
#: slowest parser's rate (python-hcl2, ~5 s per MiB of `.tf`; YAML ~1.5 s per MiB) measured on
#: a loaded 2-core machine, so a large file that parses at the usual rate fits (README "Budgets").
DEFAULT_PARSE_SECONDS_PER_MIB = 10.0

DEFAULT_ALIASES: Mapping[str, tuple[str, ...]] = {
    "owner": ("owner", "team", "owner_email", "owner-email", "contact"),
    "ticket": ("ticket", "jira", "change_id", "change-id", "change", "issue"),
    "expires": ("expires", "expiry", "expiration", "expires_at", "expires-at", "ttl"),
}


@dataclass(frozen=True)
class MetadataKey:
    """One required metadata key: its accepted `aliases` (case-insensitive) and value `pattern`."""

    aliases: tuple[str, ...]
    pattern: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Config:
    """The validated configuration. Every field has the default a repo with no config gets."""

    required_metadata: Mapping[str, MetadataKey] = field(
        default_factory=lambda: {k: MetadataKey(v) for k, v in DEFAULT_ALIASES.items()}
    )
    max_lifetime_days: int = 90
    environments: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    agent_emails: tuple[str, ...] = ()
    agent_branches: tuple[str, ...] = ()
    #: `agents.weak_evidence`: `report` (weak agent evidence is listed, never decides) or
    #: `gate` (it makes the commit an agent's).
    weak_evidence: str = "report"
    #: `agents.notes_expected`: every commit should carry a git-ai note (warn when one has none).
    notes_expected: bool = False
    #: `agents.bots`: bots committing with ordinary accounts, by address, name and login.
    bot_emails: tuple[str, ...] = ()
    bot_names: tuple[str, ...] = ()
    bot_logins: tuple[str, ...] = ()
    approvers: tuple[str, ...] = ()
    allowed_signers: str | None = None
    require_signed_agent_commits: bool = False
    fail_on: str = "error"
    exclude: tuple[str, ...] = ()
    baseline: str | None = None
    rule_levels: Mapping[str, str] = field(default_factory=dict)
    max_file_bytes: int = 2 * 1024 * 1024
    #: `budgets.parse_seconds`: CPU seconds any one file's parse may use, plus
    #: `parse_seconds_per_mib` for each MiB of the file (`checker.sources.cputime.Budget`).
    parse_seconds: float = 5.0
    parse_seconds_per_mib: float = DEFAULT_PARSE_SECONDS_PER_MIB
    #: `render.helm.values`: chart directory (repository-relative, no trailing `/`) -> the
    #: values files to render it with, relative to the chart directory, given to `helm
    #: template` after the chart's own `values.yaml` (README "Helm charts").
    helm_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: `render.helm.binary`: the helm to run; None finds `helm` on PATH.
    helm_binary: str | None = None
    source: str = "(defaults)"


def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


def parse_config(text: str, source: str) -> Config:
    """Validate config text and build a `Config`.

    `source` names where it came from (a path, or `<base sha>:.nhi-gate.yaml`) for messages.
    Raises `ConfigError` naming `source` and the key path (e.g. `rules/NHI999`) on any problem.
    """
    # The same bounded loader as the parsers: an alias bomb or deep nesting in a config file
    # is refused, never expanded (the config may come from an untrusted working tree).
    from checker.safeyaml import YamlLimitError, load_text, to_python

    stream = load_text(text, source)
    if stream.problem is not None:
        raise ConfigError(stream.problem.message.replace("; not analysed", ""))
    if len(stream.documents) > 1:
        raise ConfigError(f"{source}: holds {len(stream.documents)} YAML documents; expected one")
    data: Any
    try:
        data = to_python(stream.documents[0]) if stream.documents else None
    except YamlLimitError as exc:
        raise ConfigError(f"{source}: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    for spec in (data.get("rules") or {}).values() if isinstance(data.get("rules"), dict) else ():
        if isinstance(spec, dict) and spec.get("level") is False:
            spec["level"] = "off"  # YAML 1.1 reads a bare `off` as false
    import jsonschema  # only when a config file exists (~60 ms on the pre-commit path)

    validator = jsonschema.Draft202012Validator(
        _schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(f"{source}: {where}: {err.message}")
    if data.get("rules"):
        from checker.policy.rule_docs import load_rule_docs

        known = load_rule_docs()
        for rule_id in sorted(data["rules"]):
            if rule_id not in known:  # a typo would otherwise change nothing, silently
                raise ConfigError(f"{source}: rules/{rule_id}: no such rule "
                                  "(`nhi-gate rules` lists them)")  # fmt: skip

    required: dict[str, MetadataKey] = {k: MetadataKey(v) for k, v in DEFAULT_ALIASES.items()}
    for key, spec in (data.get("required_metadata") or {}).items():
        aliases = tuple(spec.get("aliases") or DEFAULT_ALIASES[key])
        pattern = re.compile(spec["pattern"]) if "pattern" in spec else None
        required[key] = MetadataKey(aliases, pattern)
    agents = data.get("agents") or {}
    approval = data.get("approval") or {}
    budgets = data.get("budgets") or {}
    helm = (data.get("render") or {}).get("helm") or {}
    return Config(
        required_metadata=required,
        max_lifetime_days=int(data.get("max_lifetime_days", 90)),
        environments={k: tuple(v) for k, v in (data.get("environments") or {}).items()},
        agent_emails=tuple(agents.get("emails") or ()),
        agent_branches=tuple(agents.get("branches") or ()),
        weak_evidence=agents.get("weak_evidence", "report"),
        notes_expected=bool(agents.get("notes_expected", False)),
        bot_emails=tuple((agents.get("bots") or {}).get("emails") or ()),
        bot_names=tuple((agents.get("bots") or {}).get("names") or ()),
        bot_logins=tuple((agents.get("bots") or {}).get("logins") or ()),
        approvers=tuple(approval.get("approvers") or ()),
        allowed_signers=approval.get("allowed_signers"),
        require_signed_agent_commits=bool(approval.get("require_signed_agent_commits", False)),
        fail_on=data.get("fail_on", "error"),
        exclude=tuple(data.get("exclude") or ()),
        baseline=data.get("baseline"),
        rule_levels={k: v["level"] for k, v in (data.get("rules") or {}).items() if "level" in v},
        max_file_bytes=int(budgets.get("max_file_bytes", 2 * 1024 * 1024)),
        parse_seconds=float(budgets.get("parse_seconds", 5.0)),
        parse_seconds_per_mib=float(
            budgets.get("parse_seconds_per_mib", DEFAULT_PARSE_SECONDS_PER_MIB)
        ),
        helm_values={k.strip("/"): tuple(v) for k, v in (helm.get("values") or {}).items()},
        helm_binary=helm.get("binary"),
        source=source,
    )


def load_config_file(path: Path) -> Config:
    """Read and validate a config file on disk. Raises `ConfigError` when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    return parse_config(text, str(path))
