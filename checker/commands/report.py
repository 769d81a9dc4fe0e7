"""Writing a verdict: the report in the chosen format, the extra SARIF file, the exit code."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from checker.errors import NhiGateError
from checker.model import Verdict
from checker.policy.rule_docs import load_rule_docs
from checker.reporters import RunInfo


def write(text: str, output: str | None) -> None:
    """Write `text` to the file `output`, else to standard output (with a final newline).

    Raises `NhiGateError` when the file or standard output cannot be written;
    `BrokenPipeError` passes through (the CLI turns it into exit 2).
    """
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise NhiGateError(f"{output}: cannot write report: {exc}") from exc
    else:
        try:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise NhiGateError(f"cannot write the report to standard output: {exc.strerror}") \
                from exc


def write_file(path: Path, text: str) -> None:
    """Write `text` to `path`; raises `NhiGateError` naming the file when it cannot."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise NhiGateError(f"{path}: cannot write: {exc.strerror}") from exc


def report(verdict: Verdict, run: RunInfo, args: argparse.Namespace) -> int:
    """Render in the chosen format (+ SARIF file), and turn the verdict into the exit code:
    0 when the verdict passes, else 1."""
    docs = load_rule_docs()
    fmt = args.format
    # Reporters are imported only when used: SARIF pulls in sarif-om/attrs (~30 ms).
    if fmt == "json":
        from checker.reporters import json_report

        out = json_report.render(verdict, run)
    elif fmt == "sarif":
        from checker.reporters import sarif

        out = sarif.render(verdict, docs, run)
    elif fmt == "github":
        from checker.reporters import github

        out = github.render_annotations(verdict)
        summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary_path:
            with open(summary_path, "a", encoding="utf-8") as fh:
                fh.write(github.render_summary(verdict, docs, run))
    else:
        from checker.reporters import text

        color = args.output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        out = text.render(verdict, docs, run, color=color)
    write(out, args.output)
    if args.sarif:
        from checker.reporters import sarif

        write(sarif.render(verdict, docs, run), args.sarif)
    return 0 if verdict.passed else 1
