"""GitHub merge protection managed in Terraform, read as facts for NHI102
(`checker.checks.policy_files` decides).

A required status check (`nhi-gate`), required reviews and the rules that stop force pushes
protect the gate as much as its workflow does: a ruleset switched to `evaluate`, a bypass actor
added or the `nhi-gate` check removed lets a pull request merge without it. When a repository
manages those settings with the integrations/github Terraform provider, an edit of the `.tf`
file is an edit of the gate. Resources read (`PROTECTION_TYPES`), sources:

- `github_repository_ruleset`, `github_organization_ruleset` (`enforcement`, `bypass_actors`,
  `conditions.ref_name.include`/`exclude`, `rules`: `pull_request`,
  `required_status_checks.required_check`, `required_workflows`, `required_code_scanning`,
  `non_fast_forward`, `deletion`, ...), under
  https://registry.terraform.io/providers/integrations/github/latest/docs/resources/ :
  `repository_ruleset`, `organization_ruleset`
- `github_branch_protection` (`pattern`, `enforce_admins`, `allows_force_pushes`,
  `allows_deletions`, `required_status_checks.contexts`, `required_pull_request_reviews`,
  `force_push_bypassers`, `restrict_pushes`): `branch_protection` there
- `github_branch_protection_v3` (`branch`, `required_status_checks.contexts`/`checks`,
  `required_pull_request_reviews.bypass_pull_request_allowances`, `restrictions`):
  `branch_protection_v3` there

What is recorded (`protection_facts`), per resource address, as strings:

- `guard:<address>: <what>`: something that protects the branch, lost when the change weakens
  it: the resource itself (`exists`), what it protects (`repository`, `pattern`, `branch`,
  `target`, each ref pattern it includes), `enforcement = active`, each rule or setting that
  protects when true (`enforce_admins`, `non_fast_forward`, `strict`, ...), each required
  status check, workflow or code-scanning tool (the whole item), each block that requires
  something (`pull_request`, `required_status_checks`, ...), and a review count `n` as
  `>= 1` ... `>= n` (lowering it loses the top ones).
- `hole:<address>: <what>`: an exception, gained when the change weakens it: each bypass actor
  (the whole item), an excluded ref pattern, each force-push, pull-request or push bypasser
  and a setting that allows what the default forbids (`allows_force_pushes = true`,
  `do_not_enforce_on_create = true`).

A value that is an expression is computed from the module's values when the caller passes
them (`protection_facts(..., module)`: a variable, a local, a `.tfvars` value, a `dynamic`
block, `count`); one that does not compute (`${data.x.y}`) is recorded as written: a guard
stays only while the text stays, so an edit of it counts as a weakening (fail closed). A
file that is absent gives the empty set; one that cannot be read (not UTF-8, no block
python-hcl2 parses, invalid JSON) gives None, which the check treats as a change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from checker.decode import utf8
from checker.model import ModuleSources

PROTECTION_TYPES = ("github_repository_ruleset", "github_organization_ruleset",
                    "github_branch_protection", "github_branch_protection_v3")
Facts = frozenset[str]

#: Settings that protect when true (a guard while true).
_ON = frozenset({
    "enforce_admins", "require_signed_commits", "required_linear_history",
    "require_conversation_resolution", "lock_branch", "strict",
    "strict_required_status_checks_policy", "require_code_owner_review",
    "require_code_owner_reviews", "dismiss_stale_reviews", "dismiss_stale_reviews_on_push",
    "require_last_push_approval", "required_review_thread_resolution", "restrict_dismissals",
    "blocks_creations", "creation", "update", "deletion", "non_fast_forward",
    "required_signatures"})
#: Settings that allow what the default forbids (a hole while true).
_OFF = frozenset({"allows_deletions", "allows_force_pushes", "do_not_enforce_on_create"})
#: What the resource protects: changing one protects something else.
_TARGET = frozenset({"repository", "repository_id", "pattern", "branch", "target"})
#: Lists of what must pass (a guard per item) and of who or what is exempt (a hole per item).
_REQUIRED = frozenset({"contexts", "checks", "include", "required_deployment_environments"})
_EXEMPT = frozenset({"exclude", "force_push_bypassers", "pull_request_bypassers",
                     "push_allowances", "users", "teams", "apps", "dismissal_restrictions",
                     "dismissal_users", "dismissal_teams", "dismissal_apps"})
#: Blocks whose every item is one requirement, or one exemption, as a whole.
_REQUIRED_ITEMS = frozenset({"required_check", "required_workflow",
                             "required_code_scanning_tool"})
_EXEMPT_ITEMS = frozenset({"bypass_actors"})
#: Blocks that require something by being there.
_REQUIRING = frozenset({"pull_request", "required_status_checks", "required_pull_request_reviews",
                        "restrict_pushes", "restrictions", "required_workflows",
                        "required_code_scanning", "required_deployments", "merge_queue"})
_MARKERS = ("__start_line__", "__end_line__")
_MAX_REVIEWS = 10


def may_hold(blob: bytes | None) -> bool:
    """True when `blob` may hold a `PROTECTION_TYPES` block (a cheap byte test)."""
    return blob is not None and (b"github_repository_ruleset" in blob
                                 or b"github_organization_ruleset" in blob
                                 or b"github_branch_protection" in blob)


def protection_facts(path: str, blob: bytes | None, module: ModuleSources | None = None
                     ) -> Facts | None:  # fmt: skip
    """The guard and hole facts of the merge-protection resources in Terraform file `path` as
    `blob` holds it (module docstring); frozenset() for an absent file, None when it cannot
    be read. With `module` (the values of its directory) an HCL file's resources are read as
    Terraform sets them (`terraform.protection_values`): `enforcement = var.mode` is the
    `.tfvars` value, a `dynamic` block one block per item, a `count = 0` resource absent."""
    if blob is None:
        return frozenset()
    text = utf8(blob)
    if text is None:
        return None
    if path.endswith(".json"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return None
    else:
        from checker.parsers.terraform.hcl import load_text  # python-hcl2 only for such files

        loaded = load_text(path, text)
        data = loaded.data
        if data is None:
            return None
        if module is not None:
            from checker.parsers.terraform.protection_values import resolved_body  # python-hcl2

            data = _resolved(data, path, text, module, resolved_body)
    out: set[str] = set()
    for address, body in _resources(data):
        out.add(f"guard:{address}: exists")
        out.update(f"{kind}:{address}: {what}" for kind, what in _walk(body, ""))
    return frozenset(out)


def _resolved(data: Mapping[str, Any], path: str, text: str, module: ModuleSources,
              resolve: Callable[..., dict[str, Any] | None]) -> dict[str, Any]:
    """python-hcl2 `data` with each `PROTECTION_TYPES` resource's body read by `resolve`
    (`protection_values.resolved_body`), one without an instance left out."""
    resources: list[dict[str, Any]] = []
    for address, body in _resources(data):
        type_, name = address.split(".", 1)
        plain = resolve(body, path, text, module)
        if plain is not None:
            resources.append({type_: {name: plain}})
    return {"resource": resources}


def _resources(data: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(address, body) of each `PROTECTION_TYPES` resource of a decoded file (python-hcl2's
    lists of one-key maps, or Terraform JSON's maps)."""
    if not isinstance(data, Mapping):
        return
    for section in _items(data.get("resource")):
        for type_, named in section.items():
            if type_ not in PROTECTION_TYPES:
                continue
            for by_name in _items(named):
                for name, body in by_name.items():
                    for one in _items(body):
                        yield f"{type_}.{name}", one


def _items(value: Any) -> list[Mapping[str, Any]]:
    """`value` as a list of maps (a block given once is a map, more than once a list)."""
    if isinstance(value, Mapping):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, Mapping)]
    return []


def _walk(body: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, str]]:
    """(`guard` or `hole`, what) for each protecting or exempting setting under `body`."""
    for key, value in body.items():
        if key in _MARKERS:
            continue
        name = f"{prefix}{key}"
        if key in _REQUIRED_ITEMS or key in _EXEMPT_ITEMS:
            kind = "guard" if key in _REQUIRED_ITEMS else "hole"
            for item in _items(value):
                yield kind, f"{name} {_shown(item)}"
            continue
        blocks = _items(value)  # a nested block (or a JSON object); a list of values is not
        if blocks:
            if key in _REQUIRING:
                yield "guard", name
            for block in blocks:
                yield from _walk(block, name + ".")
            continue
        yield from _setting(key, name, value)


def _setting(key: str, name: str, value: Any) -> Iterator[tuple[str, str]]:
    """The facts of one attribute."""
    if key in _ON and value is not False:
        yield "guard", f"{name} = {_value(value)}"
    elif key in _OFF and value is not False:
        yield "hole", f"{name} = {_value(value)}"
    elif key in _TARGET or (key == "enforcement" and value not in ("evaluate", "disabled")):
        yield "guard", f"{name} = {_value(value)}"
    elif key == "required_approving_review_count":
        count = value if isinstance(value, int) and not isinstance(value, bool) else (
            int(value) if isinstance(value, str) and value.isdigit() else None)
        if count is None:
            yield "guard", f"{name} = {_value(value)}"
        else:
            yield from (("guard", f"{name} >= {n}") for n in range(1, min(count, _MAX_REVIEWS) + 1))
    elif key in _REQUIRED or key in _EXEMPT:
        kind = "guard" if key in _REQUIRED else "hole"
        items = value if isinstance(value, list) else [value]
        yield from ((kind, f"{name} {_value(v)}") for v in items)


def _value(value: Any) -> str:
    """`value` as text: a string as written, anything else as JSON without line markers."""
    return value if isinstance(value, str) else json.dumps(_clean(value), sort_keys=True,
                                                           default=str)


def _clean(value: Any) -> Any:
    """`value` without python-hcl2's line markers at any depth (they move with the text)."""
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items() if k not in _MARKERS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _shown(item: Mapping[str, Any]) -> str:
    """A required or exempt item as `{key = value, ...}`, sorted, markers left out."""
    return "{" + ", ".join(f"{k} = {_value(v)}" for k, v in sorted(item.items())
                           if k not in _MARKERS) + "}"
