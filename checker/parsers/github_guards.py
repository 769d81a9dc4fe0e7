"""What stands between a push and the cloud credentials a GitHub Actions job gets by OIDC, as
facts on its credential steps (`IdentityObject.references`, `guard:` prefix), for
`checks/gha_guards.py`. Facts only: which guard is looser is decided there.

- `guard:environment=<name>`: the job's `environment:`; its protection rules (required
  reviewers, wait timer, deployment branches and tags) gate the job before it starts
  (https://docs.github.com/en/actions/managing-workflow-runs-and-deployments/managing-deployments/managing-environments-for-deployment#deployment-protection-rules).
- `guard:if=<expression>`: the job's `if:` (whitespace collapsed, `${{ }}` removed): the job is
  skipped when it is false
  (https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#jobsjob_idif).
- `guard:on=<event>` and `guard:on=<event>;<filter>=<p1>,<p2>`: each trigger of the workflow,
  with its `branches`, `branches-ignore`, `tags` and `tags-ignore` patterns sorted (none: every
  ref)
  (https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#onpushpull_requestpull_request_targetpathspaths-ignore).
"""

from __future__ import annotations

import re
from dataclasses import replace

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject
from checker.parsers import github_keys as keys
from checker.safeyaml import get, get_entry, items, scalar_text

#: The `references` prefix of every guard fact.
PREFIX = "guard:"
#: The ref filters of a trigger that limit which branches or tags run it.
FILTERS = ("branches", "branches-ignore", "tags", "tags-ignore")
_SPACE = lazy_compile(r"\s+")


def _patterns(node: Node | None) -> list[str]:
    if isinstance(node, SequenceNode):
        return sorted({t for item in node.value if (t := scalar_text(item))})
    text = scalar_text(node)
    return [text] if text else []


def triggers(root: MappingNode) -> tuple[str, ...]:
    """`guard:on=...` for each trigger of the workflow (see the module doc), sorted."""
    entry = get_entry(root, "on")
    if entry is None:
        return ()
    value = entry[1]
    if isinstance(value, (ScalarNode, SequenceNode)):
        return tuple(sorted(f"{PREFIX}on={e}" for e in _patterns(value)))
    out: list[str] = []
    for name, _, spec in items(value):
        limits = [f"{f}={','.join(p)}" for f in FILTERS
                  if isinstance(spec, MappingNode) and get_entry(spec, f) is not None
                  for p in [_patterns(get(spec, f))]]
        out.append(";".join([f"{PREFIX}on={name}", *limits]))
    return tuple(sorted(out))


def job_guards(job: Node, on: tuple[str, ...]) -> tuple[str, ...]:
    """The guards of a job (see the module doc): its environment, its `if:`, and `on` (the
    workflow's `triggers`)."""
    out: list[str] = []
    environment = keys.environment(get(job, "environment"))
    if environment:
        out.append(f"{PREFIX}environment={environment}")
    condition = scalar_text(get(job, "if"))
    if condition:
        text = condition.strip()
        if text.startswith("${{") and text.endswith("}}"):
            text = text[3:-2]
        out.append(f"{PREFIX}if={_SPACE.sub(' ', text).strip()}")
    return (*out, *on)


def guarded(objects: list[IdentityObject], job: Node, prefix: str, on: tuple[str, ...],
            token: str, secret_input: re.Pattern[str]) -> list[IdentityObject]:
    """`objects` (a job's) with the job's guards (`job_guards`) added to the `references` of
    each credential step that gets its credentials with the OIDC token `token` (the job, or
    the workflow's `#permissions.id-token`): a step of `prefix` that references it and has no
    secret-like input (`secret_input`: a static key, a password, `creds`)."""
    found = job_guards(job, on)
    return [replace(o, references=tuple(dict.fromkeys((*o.references, *found)))) if (
        re.fullmatch(re.escape(prefix) + r"\.steps\[\d+\]", o.address)
        and token in o.references
        and not any(k.startswith("with.") and secret_input.search(k[5:])
                    for k in o.attribute_lines)) else o for o in objects]
