"""NHI325 across files: outsider text a workflow passes to a local composite action or reusable
workflow (`injection_call` facets) that expands that input into a script (`input_injection`
facets; both read by `checker.secrets.ci_calls`). The join is the flow: a call of `target`
with input NAME from an untrusted expression, and an expansion of `inputs.NAME` in `target`.

What the change did decides where it is reported (DESIGN.md "What counts as a change"): a flow
base did not have is reported once, on the half the change created: the caller's `with:` line
when base had no such call (same file, target, input and expression), else each expansion base
did not have (compared by step and expression, not by line) on its `run:` line; the other
file is named in `Hit.related` (SARIF relatedLocations). A half that is not touched by the
change is not reported (an unchanged pair stays as it was). In `scan` every flow is reported
once, on the call. Level and actor as NHI325 (`checker.checks.ci_injection`): it blocks an
agent's or a bot's change and reports a person's.

Source: GitHub, "Script injections"
(https://docs.github.com/en/actions/concepts/security/script-injections).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from checker.checks.api import Context, Hit
from checker.model import IdentityObject, Location
from checker.provenance.attribution import Touch

RULE = "NHI325"
CALL = "injection_call"
EXPANSION = "input_injection"

_Call = tuple[str, str, str]  # (target, input, expression)
_Occurrence = tuple[int, str, str]  # (line, step, expression)


def _calls(obj: IdentityObject) -> list[_Call]:
    out: list[_Call] = []
    for sink in obj.secret_sinks:
        if sink.startswith("call:"):
            target, name, expr = sink.removeprefix("call:").split(" ", 2)
            out.append((target, name, expr))
    return out


def _sink(obj: IdentityObject, prefix: str) -> str:
    return next((s.removeprefix(prefix) for s in obj.secret_sinks if s.startswith(prefix)), "")


def _occurrences(obj: IdentityObject) -> list[_Occurrence]:
    out: list[_Occurrence] = []
    for sink in obj.secret_sinks:
        if sink.startswith("injects:"):
            line, step, expr = sink.removeprefix("injects:").split(" ", 2)
            out.append((int(line), step, expr))
    return out


def _trigger(obj: IdentityObject) -> str:
    event = _sink(obj, "trigger:") or "?"
    return f"`{event}` (line {obj.attribute_lines.get('on.' + event)})"


def check_all(judged: Sequence[IdentityObject], touched: Mapping[tuple[str, str], Touch],
              ctx: Context) -> Iterator[tuple[IdentityObject, Hit]]:
    """NHI325 per outsider-text flow into a callee's script the change created (module doc)."""
    callees: dict[tuple[str, str], list[IdentityObject]] = {}
    for obj in judged:
        if obj.type == EXPANSION:
            callees.setdefault((_sink(obj, "callee:"), _sink(obj, "input:")), []).append(obj)
    if not callees:
        return
    base_calls = {(o.location.path, *c) for o in ctx.base_objects if o.type == CALL
                  for c in _calls(o)}
    base_expansions = {(o.location.path, _sink(o, "input:"), step, expr)
                       for o in ctx.base_objects if o.type == EXPANSION
                       for _, step, expr in _occurrences(o)}
    reported: set[tuple[str, str, int]] = set()
    for call in (o for o in judged if o.type == CALL):
        for target, name, expr in _calls(call):
            for callee in callees.get((target, name), []):
                occurrences = _occurrences(callee)
                new_call = ctx.mode == "scan" or (
                    call.location.path, target, name, expr) not in base_calls
                if new_call and (call.location.path, call.address) in touched:
                    line = occurrences[0][0]
                    yield call, _on_call(call, callee, name, expr, line)
                    continue
                if ctx.mode == "scan" or (callee.location.path, callee.address) not in touched:
                    continue
                for line, step, used in occurrences:
                    key = (callee.location.path, name, step, used)
                    if key in base_expansions or (callee.location.path, name, line) in reported:
                        continue
                    reported.add((callee.location.path, name, line))
                    yield callee, _on_callee(callee, call, name, expr, (line, step, used))


def _on_call(call: IdentityObject, callee: IdentityObject, name: str, expr: str,
             line: int) -> Hit:
    where = call.address.split("#", 1)[-1]
    path = callee.location.path
    return Hit(
        RULE,
        f"{where} passes `${{{{ {expr} }}}}` to {path}, whose script expands "
        f"`${{{{ inputs.{name} }}}}` (line {line}), in a workflow that {_trigger(call)} runs "
        "for outsiders: whoever writes that value runs it as code with the job's GITHUB_TOKEN "
        f"and secrets; in {path}, pass the input through `env:` and read it as `\"$NAME\"`",
        f"with.{name}:{expr}", call.location.start_line,
        related=((f"inputs.{name} expanded in {path}", Location(path, line, line)),))


def _on_callee(callee: IdentityObject, call: IdentityObject, name: str, expr: str,
               occurrence: _Occurrence) -> Hit:
    line, step, used = occurrence
    caller = call.location.path
    n = call.location.start_line
    return Hit(
        RULE,
        f"{step} expands `${{{{ {used} }}}}` into its script, and {caller} (line {n}) passes "
        f"`inputs.{name}` the value `${{{{ {expr} }}}}` in a workflow that {_trigger(call)} "
        "runs for outsiders: whoever writes that value runs it as code with the job's "
        "GITHUB_TOKEN and secrets; pass the input through `env:` and read it as `\"$NAME\"`",
        f"{step}:{used}", line,
        related=((f"with.{name} in {caller}", Location(caller, n, n)),))
