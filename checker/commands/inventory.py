"""`nhi-gate inventory [PATH...]`: every identity found, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from dataclasses import replace
from pathlib import Path

from checker.checks.environments import infer_environment
from checker.commands.html_report import report_meta
from checker.commands.local_policy import config_from_disk, scan_root
from checker.commands.report import write
from checker.commands.scan import parse_tree
from checker.model import IdentityObject
from checker.reporters.html import render_inventory_html
from checker.reporters.text import safe_text


def identity_row(obj: IdentityObject) -> dict[str, object]:
    """One identity as the inventory's row (the machine-readable contract in DESIGN.md)."""
    return {
        "kind": obj.kind,
        "platform": obj.platform,
        "type": obj.type,
        "address": obj.address,
        "path": obj.location.path,
        "start_line": obj.location.start_line,
        "end_line": obj.location.end_line,
        "metadata": dict(sorted(obj.metadata.items())),
        "environment": obj.environment,
        "namespace": obj.namespace,
        "privileges": [str(g) for g in obj.privileges],
        "usages": list(obj.usages),
    }


def inventory(args: argparse.Namespace) -> int:
    """`nhi-gate inventory [PATH...]`: every identity found, as a table, JSON or CSV (paths
    as `scan` shows them)."""
    config = config_from_disk(args, scan_root(args.paths))
    parsed = parse_tree(args.paths, config)
    objs = sorted(
        (
            replace(obj, environment=infer_environment(obj, config)) for obj in parsed.objects
        ),
        key=lambda o: (o.location.path, o.location.start_line, o.address),
    )
    rows = [identity_row(o) for o in objs]
    unrendered = sum(1 for p in parsed.problems if p.rule_id == "NHI107")
    for p in parsed.problems:
        if p.rule_id != "NHI107":
            print(f"nhi-gate: {p.rule_id}: {p.message}", file=sys.stderr)
    if unrendered:
        print(f"nhi-gate: {unrendered} templates or charts could not be rendered (NHI107); "
              "`nhi-gate scan` lists them", file=sys.stderr)
    if args.format == "html":
        root = args.paths[0] if len(args.paths) == 1 and Path(args.paths[0]).is_dir() else "."
        out = render_inventory_html(rows, report_meta("nhi-gate inventory", args.output,
                                                      parsed.problems, root))
    elif args.format == "json":
        out = json.dumps({"identities": rows}, indent=2, ensure_ascii=False)
    elif args.format == "csv":
        buf = io.StringIO()
        cols = ["kind", "platform", "type", "address", "path", "start_line", "end_line",
                "environment", "metadata", "privileges"]
        writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            cells = {**row, "metadata": json.dumps(row["metadata"]),
                     "privileges": "; ".join(row["privileges"])}  # type: ignore[arg-type]
            writer.writerow(
                {k: safe_text(v) if isinstance(v, str) else v for k, v in cells.items()})
        out = buf.getvalue()
    else:
        lines = [f"{'KIND':16} {'PLATFORM':10} {'ENV':8} {'LOCATION':50} ADDRESS"]
        for row in rows:
            loc = safe_text(f"{row['path']}:{row['start_line']}")
            env = safe_text(str(row["environment"] or "-"))
            lines.append(f"{row['kind']!s:16} {row['platform']!s:10} {env:8} {loc:50} "
                         f"{safe_text(str(row['address']))}")
        lines.append(f"{len(rows)} identities, {len(parsed.problems)} file(s) not analysed")
        out = "\n".join(lines)
    write(out, args.output)
    return 0
