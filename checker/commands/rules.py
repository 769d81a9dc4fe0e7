"""`nhi-gate rules`: the rule catalogue with docs."""

from __future__ import annotations

import argparse
import json

from checker.commands.report import write
from checker.policy.rule_docs import load_rule_docs, render_markdown
from checker.provenance.conventions import conventions


def rules(args: argparse.Namespace) -> int:
    """`nhi-gate rules [--format text|json|markdown]`: the rule catalogue with docs; with
    `--agents`, the agent and bot conventions read (`provenance.conventions`); exit 0."""
    if getattr(args, "agents", False):  # the conventions of rules/agents.yaml
        write(conventions("markdown" if args.format == "markdown" else "text"), None)
        return 0
    docs = load_rule_docs()
    if args.format == "markdown":
        out = render_markdown(docs)
    elif args.format == "json":
        out = json.dumps(
            [
                {
                    "id": d.id,
                    "name": d.name,
                    "level": d.level,
                    "security_severity": d.security_severity,
                    "short": d.short,
                    "help_uri": d.help_uri,
                }
                for d in docs.values()
            ],
            indent=2,
        )
    else:
        out = "\n".join(f"{d.id}  {d.level:7}  {d.name:40}  {d.short}" for d in docs.values())
    write(out, None)
    return 0
