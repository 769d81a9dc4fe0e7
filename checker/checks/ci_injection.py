"""NHI325 workflow-template-injection: an outsider's text expanded into a job's script.

An identity check over the `template_injection` facets (`checker.secrets.ci_injection`): a
`${{ }}` expression whose value the author of an issue, comment, review, pull request,
discussion, wiki page or commit chose, expanded inside a `run:` script (or
`actions/github-script`'s `script:`) of a workflow such an outsider triggers, runs their text
as code with the job's GITHUB_TOKEN and secrets. One hit per injected expression, at its
line, naming the expression, the step and the trigger.

What the change did decides what is reported (DESIGN.md "What counts as a change"): a job
base did not have as a facet (a new job, a new injection, or an outsider trigger added to a
workflow whose scripts already expanded such a value), every expression; a trigger base
lacked widens who can inject, so every expression again, naming it; otherwise only the
occurrences base did not have (compared by step kind and expression, not by line), each
attributed to the writer of its own line (`provenance.attribution.lines_touch`), so an
agent editing beside a person's existing injection is not blamed for it. In `scan` every
expression is reported.

Across files (a composite action's or reusable workflow's input) the same rule is judged by
`check_all` (`checker.checks.ci_calls`).

Level: error (rules/docs/ci.yaml); like every NHI3xx rule it blocks an agent's or a bot's
change and reports a person's.

Source: GitHub, "Script injections"
(https://docs.github.com/en/actions/concepts/security/script-injections).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from checker.checks.api import Hit, Subject
from checker.checks.ci_calls import check_all
from checker.model import IdentityObject
from checker.provenance.attribution import Attribution, Touch, lines_touch

RULE = "NHI325"
TYPE = "template_injection"
__all__ = ["RULE", "TYPE", "check", "check_all"]  # check_all: the flows across files


def check(subject: Subject) -> Iterator[Hit]:
    """NHI325: one hit per injected expression the change created or widened."""
    obj, base, ctx = subject.obj, subject.base, subject.ctx
    if obj.type != TYPE:
        return
    triggers = _triggers(obj)
    occurrences = _occurrences(obj)
    wider = [t for t in triggers if base is not None and t not in _triggers(base)]
    if ctx.mode == "scan" or base is None or wider:
        chosen = occurrences
    else:
        before = Counter((step.rsplit(".", 1)[-1], expr) for _, step, expr in _occurrences(base))
        seen: Counter[tuple[str, str]] = Counter()
        cf = next((f for f in ctx.changeset.files if f.path == obj.location.path), None)
        # the occurrences on added lines are the new ones, when there are more than at base
        ordered = sorted(occurrences, key=lambda o: not (cf is not None and cf.is_added(o[0])))
        chosen = []
        for line, step, expr in ordered:
            key = (step.rsplit(".", 1)[-1], expr)
            seen[key] += 1
            if seen[key] > before[key]:
                chosen.append((line, step, expr))
        chosen.sort()
    job = obj.address.removesuffix(".template-injection")
    event = (wider or triggers or ["?"])[0]
    when = f"`{event}` (line {obj.attribute_lines.get('on.' + event)})"
    widened = f"; the change adds {when}, which lets outsiders trigger it" if wider else ""
    actions = dict(s.removeprefix("action:").split(" ", 1) for s in obj.secret_sinks
                   if s.startswith("action:"))
    counts = Counter(expr for _, _, expr in occurrences)
    numbered: Counter[str] = Counter()
    for line, step, expr in sorted(occurrences):
        numbered[expr] += 1
        if (line, step, expr) not in chosen:
            continue
        attribute = expr if counts[expr] == 1 else f"{expr}#{numbered[expr]}"
        name = expr[4:] if expr.startswith("env.") and expr[4:].isidentifier() else "NAME"
        read = "process.env." if actions.get(step) == "actions/github-script" else "$"
        fix = (f"read it as `{read}{name}` in the script" if name != "NAME" else
               f"pass it through `env:` and read it as `{read}NAME`")
        action = f" (`{actions[step]}` runs it)" if step in actions else ""
        matrix = (" (the job's `strategy.matrix` builds it from outsider text)"
                  if "matrix." in expr else
                  " (an output the workflow computes from outsider text)"
                  if ".outputs." in expr else "")
        yield Hit(RULE,
                  f"{job} {step}{action} expands `${{{{ {expr} }}}}`{matrix} into its script, "
                  f"in a workflow "
                  f"that {when} runs for outsiders: whoever writes that value runs it as code "
                  f"with the job's GITHUB_TOKEN and secrets; {fix}{widened}", attribute, line,
                  touch=None if wider or base is None else _writer(subject, line))


def _triggers(obj: IdentityObject) -> list[str]:
    return [s.removeprefix("trigger:") for s in obj.secret_sinks if s.startswith("trigger:")]


def _occurrences(obj: IdentityObject) -> list[tuple[int, str, str]]:
    """(line, step, expression) of each `injects:` sink."""
    out: list[tuple[int, str, str]] = []
    for sink in obj.secret_sinks:
        if sink.startswith("injects:"):
            line, step, expr = sink.removeprefix("injects:").split(" ", 2)
            out.append((int(line), step, expr))
    return out


def _writer(subject: Subject, line: int) -> Touch | None:
    """Who wrote `line` alone, when the range added it; None otherwise (the identity's)."""
    ctx = subject.ctx
    cf = next((f for f in ctx.changeset.files if f.path == subject.obj.location.path), None)
    if cf is None or not cf.is_added(line):
        return None
    return lines_touch(cf, [line], Attribution(ctx.mode, ctx.provenance, ctx.committer))
