"""NHI101: an identity an agent or bot created or changed; it blocks until a human approves
(approval is applied after the checks, by `checker.approval`). A changed identity none of whose
own lines the change added (a job's OIDC token whose job now holds more secrets) says what
changed (`checks.what_changed`); one whose own lines it added names those lines and the
attributes on them."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from checker.checks.api import Hit, Subject
from checker.checks.aws_workloads import profile_runners
from checker.checks.moves import moved_from, renamed, was
from checker.checks.what_changed import what_changed
from checker.lazy_patterns import lazy_compile
from checker.provenance.attribution import Touch

#: Terraform override files: `override.tf`, `<name>_override.tf` (and `.tf.json`, `.tofu`).
_OVERRIDE = lazy_compile(r"(?:^|_)override\.(?:tf|tofu)(?:\.json)?$")


def _describe_actor(touch: Touch) -> str:
    who = touch.agent or touch.actor_kind or "unknown actor"
    where = f" in commit {touch.commit[:12]}" if touch.commit else ""
    return f"{touch.actor_kind} ({who}){where}" if touch.agent else f"{who}{where}"


def check(subject: Subject) -> Iterator[Hit]:
    """NHI101: an identity an agent or bot created or changed (approval is applied later)."""
    touch, obj = subject.touch, subject.obj
    if subject.ctx.mode == "scan" or touch.actor_kind not in ("agent", "bot"):
        return
    if obj.derived_from is not None:  # a secret-material facet: NHI31x/NHI4xx judge it
        return
    verb, how = _created(subject) if subject.base is None else (
        "changed" + was(obj, subject.base), "")
    if subject.base is not None and subject.base.dormant and not obj.dormant:
        verb = "turned on (switched off or with no instance at base)"
    if subject.base is not None and (old := moved_from(obj)) is not None and renamed(
            subject.ctx.head_objects, subject.ctx.base_objects).get(
            (posixpath.dirname(obj.location.path), old)) == obj.address:  # moved by this change
        verb = f"changed (moved from {old} by a `moved` block)"
    if "import.to" in obj.attribute_lines:  # parsers/terraform/imports.py
        verb = "imported into the configuration (an `import` block)"
    if subject.base is not None and not touch.lines and not touch.via and (
            what := what_changed(obj, subject.base)):
        how = f": {what}"  # none of its own lines changed: say what did
    elif subject.base is not None and not how:
        how = _lines_changed(subject)  # the lines it wrote, and the attributes on them
    yield Hit(
        "NHI101",
        f"{obj.address} ({obj.platform} {obj.kind}) was {verb} by {_who(subject)} "
        f"without a human's approval{how}"
        + profile_runners(obj, subject.base, subject.ctx.head_objects),
    )


def _lines_changed(subject: Subject) -> str:
    """`; it changed line 17 (use.steps[2].env.X, to.example/publish@v1)`: the lines the
    change wrote in the identity, each with the attributes on it (`attribute_lines`), at most
    four; "" when it wrote none (a changed input: `Touch.via` says which; else
    `what_changed` says what its meaning gained)."""
    obj, lines = subject.obj, subject.touch.lines
    if not lines:
        return ""
    named: dict[int, list[str]] = {n: [] for n in sorted(lines)}
    for name, line in sorted(obj.attribute_lines.items(), key=lambda item: item[1]):
        if line in named and not name.startswith("on."):  # a trigger is the workflow's
            named[line].append(name)
    shown = [f"{n} ({', '.join(names)})" if names else str(n) for n, names in named.items()]
    more = f" and {len(shown) - 4} more" if len(shown) > 4 else ""
    return f"; it changed line{'s' if len(shown) > 1 else ''} {', '.join(shown[:4])}{more}"


def _created(subject: Subject) -> tuple[str, str]:
    """How an identity with no base twin came to be: (`created`, "") or (`changed`, what
    happened, in words, after `: `) when the change did not write it whole. A Terraform
    override file (`override.tf`, `*_override.tf`, `.tf.json` too) merges its blocks into the
    block of the same address in the module's other files, so it changes that block
    (https://developer.hashicorp.com/terraform/language/files/override). A module call (a
    `module` block or a `terragrunt.hcl`'s `inputs`) that was there at base in part is read as
    an identity now because its arguments name an admin-equivalent or escalation grant."""
    obj, touch = subject.obj, subject.touch
    name = posixpath.basename(obj.location.path)
    if _OVERRIDE.search(name):
        return "changed", (f": the override file {name} changes the block {obj.address} of "
                           "the module's other files (Terraform merges it into that block)")
    span = obj.location.end_line - obj.location.start_line + 1
    if obj.type.startswith("module:") and touch.lines and len(touch.lines) < span:
        where = ("its Terragrunt `inputs`" if name.lower() == "terragrunt.hcl"
                 else "its arguments")
        return "changed", (f": {where} now name an admin-equivalent or escalation grant, "
                           "so nhi-gate reads the call as an identity")
    return "created", ""


def _who(subject: Subject) -> str:
    """Who created or changed the identity. For a created one whose creating commit
    (`Touch.created`) is not the deciding actor's: both, in their order, e.g. `human in
    commit af913a1d2c3e and changed by bot (Dependabot) in commit 9a9cd597d3c8`, or, when the
    actor's commit is older (the creation replaced its lines), `... replacing lines bot
    (Dependabot) wrote in commit 03c6ee6e1e40`."""
    touch, created = subject.touch, subject.touch.created
    actor = _describe_actor(touch)
    if subject.base is not None or created is None or created.commit == touch.commit:
        return actor
    creator = _describe_actor(Touch((), created.actor_kind, created.commit, created.agent))
    order = {c.sha: n for n, c in enumerate(subject.ctx.changeset.commits)}
    if order.get(touch.commit or "", -1) < order.get(created.commit, -1):
        return f"{creator}, replacing lines {actor.replace(' in commit ', ' wrote in commit ')}"
    return f"{creator} and changed by {actor}"
