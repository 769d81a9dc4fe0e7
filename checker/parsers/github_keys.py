"""Readers of GitHub Actions workflow keys for `checker.parsers.github_actions`: the triggers
(`on:`), a job's `environment:`, a `permissions:` block's scopes, and the grants a credential
step's inputs name. Facts only, no policy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from checker.lazy_patterns import lazy_compile
from checker.model import Grant
from checker.policy.catalogue import CatalogueEntry
from checker.safeyaml import get, get_entry, items, line_of, scalar_text, to_python

_SHA = lazy_compile(r"[0-9a-f]{40}")


def step_grants(
    entry: CatalogueEntry, values: Mapping[str, str | None], lines: Mapping[str, int]
) -> tuple[Grant, ...]:
    """The grants a credential step's inputs (`values`, input -> text) name: AWS
    `sts:AssumeRoleWithWebIdentity` (`sts:AssumeRole` with static keys) on `role-to-assume`,
    GCP `roles/iam.workloadIdentityUser` on the service account (else the provider); each at
    its input's line in `lines` (`with.<input>`)."""
    if entry.platform == "aws":
        role = values.get("role-to-assume")
        if not role:
            return ()
        static = bool(values.get("aws-access-key-id"))
        action = "sts:AssumeRole" if static else "sts:AssumeRoleWithWebIdentity"
        return (Grant(action, role, line=lines.get("with.role-to-assume")),)
    if entry.platform == "gcp" and values.get("workload_identity_provider"):
        target_input = "service_account" if values.get("service_account") else None
        target_input = target_input or "workload_identity_provider"
        return (
            Grant(
                "roles/iam.workloadIdentityUser",
                values[target_input] or "*",
                line=lines.get(f"with.{target_input}"),
            ),
        )
    return ()


def scopes(value: Node, line: int) -> list[tuple[str, str, int]]:
    """`(scope, level, line)` of a permissions block; `*` for `write-all`/`read-all`."""
    if isinstance(value, ScalarNode):
        text = scalar_text(value) or ""
        if text in ("write-all", "read-all"):
            return [("*", text.removesuffix("-all"), line)]
        return []
    return [(name, scalar_text(v) or "", line_of(k)) for name, k, v in items(value)]


def token_writes(job_permissions: Node | None, workflow_permissions: Node | None) -> bool:
    """True when a job's GITHUB_TOKEN may write: its own `permissions:` block (else the
    workflow's) has a `write` scope or is `write-all`; with neither block the token gets the
    repository default, which nhi-gate cannot see and judges as write-all
    (https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/controlling-permissions-for-github_token)."""
    block = job_permissions if job_permissions is not None else workflow_permissions
    if block is None:
        return True
    return any(level == "write" for _, level, _ in scopes(block, 1))


def grants_id_token(value: Node) -> bool:
    """True when a permissions block grants `id-token: write` (or `write-all`)."""
    return any(s in ("id-token", "*") and level == "write" for s, level, _ in scopes(value, 1))


def trigger_lines(root: MappingNode) -> dict[str, int]:
    """`on` and `on.<event>` -> line for each trigger of the workflow (`on:` read by its
    text, not as YAML 1.1's boolean True); empty without `on:`."""
    entry = get_entry(root, "on")
    if entry is None:
        return {}
    key, value = entry
    out = {"on": line_of(key)}
    if isinstance(value, ScalarNode) and scalar_text(value):
        out[f"on.{scalar_text(value)}"] = line_of(value)
    elif isinstance(value, SequenceNode):
        for item in value.value:
            if scalar_text(item):
                out[f"on.{scalar_text(item)}"] = line_of(item)
    else:
        out.update({f"on.{name}": line_of(k) for name, k, _ in items(value)})
    return out


def environment(node: Node | None) -> str | None:
    """A job's `environment:` name (a scalar, or the `name` of a mapping), else None."""
    if isinstance(node, MappingNode):
        node = get(node, "name")
    return scalar_text(node) or None


def unpinned_digest(step: Node) -> str:
    """A hex digest of a step's parsed content with its `uses:` commit SHA left out: equal
    for two steps that differ only in the commit their action is pinned to; "" when the
    action is not pinned by a full commit SHA (a tag or branch its owner can move)."""
    value = to_python(step)
    uses = value.get("uses") if isinstance(value, dict) else None
    if not isinstance(value, dict) or not isinstance(uses, str):
        return ""
    action, _, ref = uses.partition("@")
    if not _SHA.fullmatch(ref.strip()):
        return ""
    value = {**value, "uses": action.strip().lower()}
    text = json.dumps(value, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
