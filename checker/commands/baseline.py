"""`nhi-gate baseline create|check [--repo DIR]`: adopt nhi-gate without fixing history."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from checker import __version__
from checker.commands.local_policy import baseline_name, config_from_disk
from checker.commands.report import report, write_file
from checker.commands.scan import scan_verdict
from checker.errors import ConfigError, NhiGateError
from checker.policy import baseline as bl
from checker.reporters import RunInfo


def baseline(args: argparse.Namespace) -> int:
    """`nhi-gate baseline create|check [--repo DIR]`: adopt nhi-gate without fixing history.

    `create` scans DIR (default `.`, paths relative to it, as `check` sees them from the
    repository root) and writes the fingerprint of every finding that may be baselined to
    `--baseline FILE`, else config `baseline:`, else `.nhi-gate-baseline.json` in DIR; exit 0.
    `check` scans DIR with that baseline applied: exit 1 when a finding outside it blocks,
    else 0; entries that no longer match anything are listed on stderr as fixed.
    """
    root = Path(args.repo)
    if not root.is_dir():
        raise NhiGateError(f"{root}: no such directory")
    config = config_from_disk(args, root)
    target = Path(args.baseline_file) if args.baseline_file else root / baseline_name(config)
    if args.action == "create":
        verdict = scan_verdict([str(root)], config, "never", None)
        made = bl.from_findings(verdict.findings, str(target))
        write_file(target, bl.dumps(made))
        skipped = sum(1 for f in verdict.findings if not bl.eligible(f))
        note = f" ({skipped} NHI1xx/NHI9xx findings are never baselined)" if skipped else ""
        print(f"nhi-gate: wrote {len(made.entries)} fingerprints to {target}{note}",
              file=sys.stderr)
        return 0
    if not target.is_file():
        raise ConfigError(f"{target}: baseline not found (create it with "
                          "`nhi-gate baseline create`)")
    loaded = bl.load(target)
    verdict = scan_verdict([str(root)], config, args.fail_on,
                           (target.read_text(encoding="utf-8"), str(target)))
    for entry in bl.stale(loaded, verdict.findings):
        print(f"nhi-gate: baseline entry {entry.rule_id} {entry.path} "
              f"{entry.address or ''} no longer matches a finding (fixed; recreate the baseline "
              "to drop it)", file=sys.stderr)
    return report(verdict, RunInfo(__version__, "scan", None, None,
                                   args.fail_on or config.fail_on), args)
