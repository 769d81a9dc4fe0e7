"""The HTML reports of `inventory` and `ledger`: the renderer from `checker.reporters.html`
(looked up by name, `html_report`), and what the page needs besides the rows (`report_meta`:
the title, where links point, today's date for days left)."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

from checker import __version__
from checker.errors import NhiGateError


def html_report(function: str, *data: object) -> str:
    """The HTML report from `checker.reporters.html` (the report helper's module), by name.
    Raises `NhiGateError` while that reporter is not installed."""
    try:
        module = importlib.import_module("checker.reporters.html")
    except ModuleNotFoundError as exc:
        raise NhiGateError("--format html needs checker.reporters.html, which this "
                           "nhi-gate does not have yet") from exc
    render = getattr(module, function)
    return str(render(*data))


def link_root(paths: Sequence[str]) -> str:
    """The directory the rows' paths are relative to, as `scan` shows them: the one directory
    scanned, else the current directory."""
    return paths[0] if len(paths) == 1 and Path(paths[0]).is_dir() else "."


def report_meta(title: str, output: str | None, root: str = ".",
                env: Mapping[str, str] | None = None) -> dict[str, object]:
    """`meta` for `render_inventory_html`/`render_ledger_html` (the caller adds `problems`).

    In GitHub Actions (`GITHUB_SERVER_URL`, `GITHUB_REPOSITORY` and `GITHUB_SHA` set in `env`,
    default `os.environ`) locations link to the blob at that commit; elsewhere they are
    relative links from the report file `output` (standard output: the current directory)
    to the files, whose paths are relative to the directory `root`.
    """
    env = os.environ if env is None else env
    meta: dict[str, object] = {
        "title": title,
        "tool_version": __version__,
        "today": date.today().isoformat(),
    }
    server, repo, sha = (env.get(k) for k in
                         ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"))
    if server and repo and sha:
        meta["repository_url"] = f"{server.rstrip('/')}/{repo}"
        meta["commit"] = sha
    else:
        where = Path(output).resolve().parent if output else Path.cwd()
        rel = os.path.relpath(Path(root).resolve(), where)
        meta["link_base"] = "" if rel == "." else rel.replace(os.sep, "/") + "/"
    return meta
