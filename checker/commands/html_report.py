"""The HTML reports of `inventory` and `ledger`, from `checker.reporters.html` (the report
helper's module, the contract in README "Identity ledger"), looked up by name so that this
nhi-gate runs without it until it is merged."""

from __future__ import annotations

import importlib

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
