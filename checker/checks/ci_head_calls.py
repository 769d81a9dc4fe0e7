"""NHI315 across files: a workflow a stranger's pull request triggers (`pull_request_target`,
`workflow_run`, `issue_comment`) calls a local composite action or reusable workflow
(`pr_code_call` facets) that checks out the pull request's head and runs code from it
(`pr_head_callee` facets; both read by `checker.secrets.ci_head_calls`). The callee runs in
its caller's context, so the pair is the pwn request `checker.checks.ci` reports within one
file. The join is the call's target.

What the change did decides where it is reported, as NHI325 across files
(`checker.checks.ci_calls`): a flow base did not have is reported once, on the call when base
had no such call from that file (same target), else on the callee when base did not have its
facet (the head checkout and the running step); the other file is named in `Hit.related`. A
half the change does not touch is not reported. In `scan` every flow is reported once, on the
call. Level and actor as NHI315's pwn request: it blocks an agent's or a bot's change, a
person's is reported; through an action nhi-gate does not read, the `unread-action` note for
a person's change and in `scan`.

Source: GitHub Security Lab, "Preventing pwn requests"
(https://securitylab.github.com/resources/github-actions-preventing-pwn-requests/).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from checker.checks.api import Context, Hit
from checker.model import IdentityObject, Location
from checker.provenance.attribution import Touch

RULE = "NHI315"
CALL = "pr_code_call"
CALLEE = "pr_head_callee"
#: When each trigger runs with the base repository's credentials.
_WHEN = {"pull_request_target": "for pull requests from forks",
         "workflow_run": "after another workflow's run, a fork's pull request's too",
         "issue_comment": "for anyone's comment on a pull request"}


def _sink(obj: IdentityObject, prefix: str) -> str:
    return next((s.removeprefix(prefix) for s in obj.secret_sinks if s.startswith(prefix)), "")


def check_all(judged: Sequence[IdentityObject], touched: Mapping[tuple[str, str], Touch],
              ctx: Context) -> Iterator[tuple[IdentityObject, Hit]]:
    """NHI315 per call of a callee that runs the pull request's code, the change created
    (module doc)."""
    callees: dict[str, list[IdentityObject]] = {}
    for obj in judged:
        if obj.type == CALLEE:
            callees.setdefault(_sink(obj, "callee:"), []).append(obj)
    if not callees:
        return
    base_calls = {(o.location.path, _sink(o, "call:")) for o in ctx.base_objects
                  if o.type == CALL}
    base_callees = {(o.location.path, o.address) for o in ctx.base_objects if o.type == CALLEE}
    reported: set[tuple[str, str]] = set()
    for call in (o for o in judged if o.type == CALL):
        target = _sink(call, "call:")
        for callee in callees.get(target, []):
            if _params(callee) and not _params(callee) & _handed(call):
                continue  # it checks out an input this call does not hand the head in
            new_call = ctx.mode == "scan" or (call.location.path, target) not in base_calls
            key = (call.location.path, call.address)
            if new_call and key in touched:
                yield call, _on_call(call, callee, touched[key])
                continue
            key = (callee.location.path, callee.address)
            if ctx.mode == "scan" or key not in touched or key in base_callees or (
                    key in reported):
                continue
            reported.add(key)
            yield callee, _on_callee(callee, call, touched[key])


def _params(callee: IdentityObject) -> set[str]:
    """The inputs a composite action checks out and runs (`param:<name>`); empty when it
    fetches the head by itself."""
    return {s.removeprefix("param:") for s in callee.secret_sinks if s.startswith("param:")}


def _handed(call: IdentityObject) -> set[str]:
    """The inputs a call hands the pull request's head in (`with:<name>`)."""
    return {s.removeprefix("with:") for s in call.secret_sinks if s.startswith("with:")}


def _through(callee: IdentityObject, call: IdentityObject) -> str:
    """` with the pull request's head in `with.<name>``, when the callee checks out its input."""
    names = sorted(_params(callee) & _handed(call))
    return (" with the pull request's head in " + ", ".join(f"`with.{n}`" for n in names)
            if names else "")


def _facts(callee: IdentityObject) -> tuple[str, str, bool]:
    """(what fetches, what runs, through an unread action) of a callee, for the message."""
    checkout = _sink(callee, "checkout:").partition(" ")
    runs = _sink(callee, "runs:").partition(" ")
    lines = callee.attribute_lines
    where = callee.address.split("#", 1)[-1].removesuffix(".pr-head-code")
    return (f"{where}.{checkout[0]} ({checkout[2]}, line {lines.get('checkout')})",
            f"{where}.{runs[0]} ({runs[2]}, line {lines.get('anchor')})",
            "unread-action" in callee.secret_sinks)


def _variant(unread: bool, touch: Touch) -> str | None:
    return "unread-action" if unread and touch.actor_kind in ("human", None) else None


def _trigger(call: IdentityObject) -> str:
    event = _sink(call, "trigger:") or "?"
    return (f"`{event}` (line {call.attribute_lines.get('on.' + event)}) runs "
            f"{_WHEN.get(event, '')}")


def _on_call(call: IdentityObject, callee: IdentityObject, touch: Touch) -> Hit:
    fetches, runs, unread = _facts(callee)
    where = call.address.split("#", 1)[-1].removesuffix(".uses")
    path = callee.location.path
    line = callee.attribute_lines.get("anchor", callee.location.start_line)
    return Hit(
        RULE,
        f"{where} runs {path}{_through(callee, call)}, whose {fetches} fetches the pull "
        f"request's code and {runs} runs code from it, in a workflow that {_trigger(call)}: "
        "the pull request's author runs code with the base repository's GITHUB_TOKEN, the "
        "secrets the job references and its Actions cache, whatever its `permissions:` say",
        f"uses:{path}", call.location.start_line, variant=_variant(unread, touch),
        related=((f"pull request code run in {path}", Location(path, line, line)),))


def _on_callee(callee: IdentityObject, call: IdentityObject, touch: Touch) -> Hit:
    fetches, runs, unread = _facts(callee)
    caller, n = call.location.path, call.location.start_line
    return Hit(
        RULE,
        f"{fetches} fetches the pull request's code and {runs} runs code from it, "
        f"and {caller} (line {n}) runs it{_through(callee, call)} in a workflow that "
        f"{_trigger(call)}: the pull request's author runs code with the base repository's "
        "GITHUB_TOKEN, the secrets the calling job references and its Actions cache, "
        "whatever its `permissions:` say",
        "pr-head-code", callee.attribute_lines.get("anchor"), variant=_variant(unread, touch),
        related=((f"called from {caller}", Location(caller, n, n)),))
