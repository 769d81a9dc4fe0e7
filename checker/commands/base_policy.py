"""The policy that judges a change, as committed at its base revision (DESIGN.md "Approval and
trust"): `.nhi-gate.yaml` (or `--config`) and the baseline file.

The allowed-signers file and CODEOWNERS are read at base by
`checker.commands.trust.read_trust`.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from checker import git
from checker.commands.local_policy import baseline_name, config_from_disk, missing_baseline
from checker.errors import ConfigError
from checker.git.repo import Repo
from checker.model import LEVEL_RANK
from checker.policy.config import CONFIG_NAME, Config, parse_config

#: How strict each `fail_on` level is: a lower level blocks more; `never` blocks nothing.
_STRICTNESS = {**{level: 4 - rank for level, rank in LEVEL_RANK.items()}, "never": 0}


def effective_fail_on(given: str | None, config: Config) -> tuple[str, str | None]:
    """The `fail_on` level that decides a change, and why a given level was refused.

    `given` is `--fail-on` (or the Action's `fail-on` input, which becomes it); `config` the
    policy read from the base revision. A given level may only tighten the base policy, never
    loosen it: the stricter of the two wins, so a pull request that passes `fail-on: never`
    (or edits its workflow to) is still judged at the base's level in that same run. Returns
    (level, None) or (base level, a one-line notice naming both levels) when `given` was
    looser.
    """
    floor = config.fail_on
    if not given or given == floor:
        return floor, None
    if _STRICTNESS.get(given, 0) >= _STRICTNESS.get(floor, 0):
        return given, None
    return floor, (f"--fail-on {given} is looser than the base policy's fail_on {floor}; "
                   f"a change may only tighten its policy, so {floor} applies")


def config_at(
    repo: Repo,
    rev: str | None,
    args: argparse.Namespace,
    prefetched: Mapping[str, bytes | None] | None = None,
) -> Config:
    """The policy that judges a change: `.nhi-gate.yaml` (or `--config`) as committed at `rev`.

    A `--config` path inside the repository is read from `rev` too, so naming the default file
    does not switch to the working tree's (possibly agent-edited) copy; a path outside the
    repository is read from disk. No config at `rev` (or no `rev`: an unborn branch) gives the
    defaults. `prefetched`: blobs already read at `rev` (path → bytes or None when missing).
    Raises `ConfigError` for an invalid or missing `--config`.
    """
    root = Path(repo.working_tree_dir or ".").resolve()
    rel = CONFIG_NAME
    if getattr(args, "config", None):
        given = Path(args.config).resolve()
        try:
            rel = given.relative_to(root).as_posix()
        except ValueError:
            return config_from_disk(args, root)
        if rev is None:
            return config_from_disk(args, root)
    if rev is None:
        return Config()
    blob = (prefetched[rel] if prefetched is not None and rel in prefetched
            else git.read_blobs(repo, rev, [rel]).get(rel))  # fmt: skip
    if blob is None:
        if getattr(args, "config", None):
            raise ConfigError(f"{args.config}: not committed at {rev[:12]}; the policy that "
                              "judges a change is read from its base revision")
        return Config()
    return parse_config(blob.decode("utf-8", "replace"), f"{rev[:12]}:{rel}")


def baseline_at(
    repo: Repo,
    rev: str | None,
    config: Config,
    prefetched: Mapping[str, bytes | None] | None = None,
) -> tuple[str, str] | None:
    """The baseline file as committed at `rev` (policy comes from the base, never the change),
    as (text, `rev:path` label), or None when there is none; `prefetched` as for `config_at`.
    Raises `ConfigError` when the file the config names is missing at `rev`."""
    if rev is None:
        missing_baseline(config, "(no commits yet)")
        return None
    name = baseline_name(config)
    blob = (prefetched[name] if prefetched is not None and name in prefetched
            else git.read_blobs(repo, rev, [name]).get(name))  # fmt: skip
    if blob is None:
        missing_baseline(config, f"at {rev[:12]}")
        return None
    return blob.decode("utf-8", "replace"), f"{rev[:12]}:{name}"
