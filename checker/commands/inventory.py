"""`nhi-gate inventory [PATH...]`: every identity found, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
from collections.abc import Sequence
from dataclasses import replace

from checker.checks.environments import infer_environment
from checker.commands.html_report import html_report, link_root, report_meta
from checker.commands.local_policy import config_from_disk, scan_root
from checker.commands.report import write
from checker.commands.scan import parse_tree
from checker.ledger.rows import governance, identity_id, is_workload
from checker.model import ADMISSION, UNREAD, VOLUME, IdentityObject, ParseProblem
from checker.policy.privileges import load_admin_table
from checker.reporters.text import safe_text


def problem_rows(problems: Sequence[ParseProblem]) -> list[dict[str, object]]:
    """The files (or parts) not read, as `{"path", "rule_id", "message", "line"}`, sorted."""
    return [{"path": p.path, "rule_id": p.rule_id, "message": p.message, "line": p.line}
            for p in sorted(problems, key=lambda p: (p.path, p.line, p.rule_id, p.message))]


def actor_text(actor: object) -> str:
    """A `created_by`/`last_changed_by` value as one CSV cell: `kind[:agent] sha7 date`."""
    if not isinstance(actor, dict):
        return ""
    who = f"{actor['actor_kind']}:{actor['agent']}" if actor.get("agent") else actor["actor_kind"]
    return f"{who} {str(actor['commit'])[:7]} {actor['date']}"


def identity_row(obj: IdentityObject) -> dict[str, object]:
    """One identity as the inventory's row (the machine-readable contract in DESIGN.md), before
    the ledger columns (`checker.ledger.rows.governance`) are added. `grants` are its grants
    as text. A workload's facet is kind `workload`, `runs_as` naming the identity it runs as
    (`ServiceAccount/<ns>/<name>`, an IAM role); every other row's `runs_as` is empty."""
    workload = is_workload(obj)
    return {
        "kind": "workload" if workload else obj.kind,
        "platform": obj.platform,
        "type": obj.type,
        "address": obj.address,
        "path": obj.location.path,
        "start_line": obj.location.start_line,
        "end_line": obj.location.end_line,
        "metadata": dict(sorted(obj.metadata.items())),
        "environment": obj.environment,
        "namespace": obj.namespace,
        "grants": [str(g) for g in obj.privileges],
        "usages": list(obj.usages),
        "runs_as": list(obj.references) if workload else [],
    }


def inventory(args: argparse.Namespace) -> int:
    """`nhi-gate inventory [PATH...]`: every identity found, as a table, JSON or CSV (paths
    as `scan` shows them)."""
    config = config_from_disk(args, scan_root(args.paths))
    parsed = parse_tree(args.paths, config)
    objs = sorted(
        (
            replace(obj, environment=infer_environment(obj, config)) for obj in parsed.objects
            # not an identity: a command or module NHI106 judges, an admission policy
            if not obj.type.startswith((UNREAD, ADMISSION, VOLUME))
        ),
        key=lambda o: (o.location.path, o.location.start_line, o.address),
    )
    table = load_admin_table()
    today = dt.date.today()
    rows = [{**identity_row(o), "identity_id": identity_id(o),
             **governance(o, config, table, today),
             "created_by": None, "last_changed_by": None, "approval": None} for o in objs]
    if not args.no_history:
        from checker.commands.inventory_history import add_history, reviews

        add_history(rows, args.paths, config, args.db)
        reviews(rows, args)
    problems = problem_rows(parsed.problems)
    unrendered = sum(1 for p in parsed.problems if p.rule_id == "NHI107")
    for p in parsed.problems:
        if p.rule_id != "NHI107":
            print(f"nhi-gate: {p.rule_id}: {p.message}", file=sys.stderr)
    if unrendered:
        print(f"nhi-gate: {unrendered} templates or charts could not be rendered (NHI107); "
              "`nhi-gate scan` lists them", file=sys.stderr)
    if args.format == "json":
        out = json.dumps({"identities": rows, "problems": problems}, indent=2,
                         ensure_ascii=False)
    elif args.format == "jsonl":
        out = "\n".join(json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows)
    elif args.format == "html":
        meta = report_meta("nhi-gate inventory", args.output, link_root(args.paths))
        out = html_report("render_inventory_html", rows,
                          {**meta, "command": "inventory", "paths": list(args.paths),
                           "problems": problems, "generated": today.isoformat()})
    elif args.format == "csv":
        buf = io.StringIO()
        cols = ["kind", "platform", "type", "address", "path", "start_line", "end_line",
                "environment", "metadata", "privileges", "owner", "ticket", "expiry",
                "expiry_days_left", "created_by", "last_changed_by"]
        writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            cells = {**row, "metadata": json.dumps(row["metadata"]),
                     "privileges": "; ".join(row["grants"]),  # type: ignore[arg-type]
                     "created_by": actor_text(row["created_by"]),
                     "last_changed_by": actor_text(row["last_changed_by"])}
            writer.writerow(
                {k: safe_text(v) if isinstance(v, str) else v for k, v in cells.items()})
        out = buf.getvalue()
    else:
        lines = [f"{'KIND':16} {'PLATFORM':10} {'ENV':8} {'OWNER':16} {'EXPIRY':10} "
                 f"{'CREATED BY':14} {'LOCATION':50} ADDRESS"]
        for row in rows:
            loc = safe_text(f"{row['path']}:{row['start_line']}")
            env = safe_text(str(row["environment"] or "-"))
            owner = safe_text(str(row["owner"] or "-"))
            created = row["created_by"]
            by = (str(created.get("agent") or created.get("actor_kind"))
                  if isinstance(created, dict) else "-")
            lines.append(f"{row['kind']!s:16} {row['platform']!s:10} {env:8} {owner:16} "
                         f"{row['expiry'] or '-'!s:10} {safe_text(by):14} {loc:50} "
                         f"{safe_text(str(row['address']))}")
        files = len({p["path"] for p in problems})
        lines.append(f"{len(rows)} identities, {files} file(s) not read "
                     f"({len(problems)} problem(s); --format json lists them)")
        out = "\n".join(lines)
    write(out, args.output)
    return 0
