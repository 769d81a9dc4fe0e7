"""The config and baseline of `scan`, `inventory` and `baseline`: files on disk, no git.

`check`, `hook` and `commit-msg` read them as committed at the base revision instead
(`checker.commands.base_policy`), which uses the names and rules defined here.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from checker.errors import ConfigError
from checker.policy.baseline import Baseline, loads
from checker.policy.config import CONFIG_NAME, DEFAULT_BASELINE, Config, load_config_file


def config_from_disk(args: argparse.Namespace, root: Path) -> Config:
    """`--config FILE`, else `.nhi-gate.yaml` in `root`, else the defaults.

    Raises `ConfigError` when `--config` names no file or the config is invalid.
    """
    if getattr(args, "config", None):
        path = Path(args.config)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        return load_config_file(path)
    default = root / CONFIG_NAME
    return load_config_file(default) if default.is_file() else Config()


def scan_root(paths: Sequence[str]) -> Path:
    """Where `scan`/`inventory` look for `.nhi-gate.yaml`: the current directory when it has
    one, else the single directory being scanned, else the current directory."""
    if Path(CONFIG_NAME).is_file() or len(paths) != 1 or not Path(paths[0]).is_dir():
        return Path(".")
    return Path(paths[0])


def baseline_name(config: Config) -> str:
    """The baseline file's path relative to the root: config `baseline:`, else the default."""
    return config.baseline or DEFAULT_BASELINE


def missing_baseline(config: Config, where: str) -> None:
    """A baseline the config names must exist; the default file is optional.

    Raises `ConfigError` (naming `where` it was looked for) when the config names one.
    """
    if config.baseline:
        raise ConfigError(
            f"{config.source}: baseline: {config.baseline} not found {where} "
            "(create it with `nhi-gate baseline create`)"
        )


def baseline_from_disk(root: Path, config: Config) -> tuple[str, str] | None:
    """The baseline file under `root` as (text, path label), or None when there is none.

    Raises `ConfigError` when the file the config names is missing or cannot be read.
    """
    path = root / baseline_name(config)
    if not path.is_file():
        missing_baseline(config, f"in {root}")
        return None
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read baseline: {exc}") from exc


def baseline_of(baseline: tuple[str, str] | None) -> Baseline | None:
    """The baseline read as (file text, source label), parsed and validated; None for None.
    Raises `ConfigError` naming the file for a bad baseline."""
    return loads(*baseline) if baseline is not None else None
