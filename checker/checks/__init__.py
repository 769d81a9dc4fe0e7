"""Stage 3: the checks, one module per rule or tight family, and their registry.

`CHECKS` maps every rule id to the module that judges it, as a literal dict (yamllint's
`rules/__init__.py`, pre-commit's `all_languages.py`): grep finds a rule, nothing registers
itself. A module meets one of the Protocols in `checker.checks.api`; `checker.checks.engine`
runs each module once, in this order. The level, name and help of each id live once, in
`rules/docs/*.yaml`; NHI9xx (files that could not be read) are made by the engine from parse
problems and are not here.

Adding a rule: write `checks/<rule>.py` with a `check` (or `check_all` / `check_change`), add
one line here, one entry in `rules/docs/`, and `fixtures/rules/<ID>/{pass,fail}.*`.
"""

from __future__ import annotations

from checker.checks import (
    agent_commits,
    agent_identity,
    ci,
    ci_injection,
    cross_environment,
    drift,
    metadata,
    policy_files,
    privilege,
    secret_material,
    shared_service_account,
    static_credential,
    suppressions,
    unresolved,
    workloads,
)
from checker.checks.api import Check

CHECKS: dict[str, Check] = {
    "NHI101": agent_identity,
    "NHI102": policy_files,
    "NHI103": agent_commits,
    "NHI104": agent_commits,
    "NHI105": suppressions,
    "NHI106": unresolved,
    "NHI201": metadata,
    "NHI202": metadata,
    "NHI203": metadata,
    "NHI204": cross_environment,
    "NHI301": privilege,
    "NHI302": drift,
    "NHI303": static_credential,
    "NHI310": ci,
    "NHI311": ci,
    "NHI312": ci,
    "NHI313": ci,
    "NHI314": ci,
    "NHI315": ci,
    "NHI316": ci,
    "NHI317": ci,
    "NHI318": ci,
    "NHI319": ci,
    "NHI320": ci,
    "NHI321": workloads,
    "NHI322": workloads,
    "NHI323": shared_service_account,
    "NHI324": ci,
    "NHI325": ci_injection,
    "NHI401": secret_material,
    "NHI402": secret_material,
    "NHI403": secret_material,
    "NHI404": secret_material,
    "NHI405": secret_material,
    "NHI406": secret_material,
    "NHI407": secret_material,
    "NHI408": secret_material,
    "NHI409": secret_material,
}
