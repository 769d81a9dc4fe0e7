"""NHI106 for what Terraform runs or fetches that nhi-gate cannot read (`model.UNREAD` facets,
`checker.parsers.terraform.unread`): a provisioner's or `external` program's command, a remote
module call, a var file no module reads.

What is judged, per facet the change touched (the engine calls checks for those only):
- a command: created, or any of its command arguments changed (an `Unresolved` entry base did
  not have). An agent's, bot's or unknown actor's change is an error whether or not a grant
  verb is found: the command runs with Terraform's credentials and nhi-gate does not read what
  it does (fail closed). A person's change, and `scan`, are a note only when a known grant
  verb (`aws iam attach-role-policy`, ...) is in it; else nothing (precise for people).
- a remote module call: created, or an argument, `source` or `version` added, changed or
  removed (entries compared by name and value digest). Error for an agent, a note for a
  person; nothing in `scan` (nothing changed).
- Terraform inputs a CI job sets (`-var`, `-var-file`, `TF_VAR_*`, `TF_CLI_ARGS*`:
  `checker.parsers.ci_tf_inputs`): those added, changed or removed. Error for an agent, a
  note for a person; nothing in `scan`.
- a Flux source (`parsers/kubernetes/flux_sources.py`): its url, ref, credentials, verification
  or chart added, changed or removed (a source moved to another file is compared with itself
  there). Error for an agent, a note for a person; nothing for a new source (nothing applies
  it yet) nor in `scan`.
- a var file no module reads: the variables it adds, changes or removes. For an agent an error
  when one feeds an identity of a module that declares it (`feeds`: a grant's actions, a
  trust, a principal, ...; the message names each identity), or is named like a grant,
  principal or count (`_GRANT_LIKE`: the modules that declare it may not be in the
  repository), else a note naming the file; a note for a person; nothing in `scan`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from checker.checks.api import Hit, Subject
from checker.lazy_patterns import lazy_compile
from checker.model import UNREAD, IdentityObject, Unresolved

RULE = "NHI106"
#: A variable or argument name that may carry a grant, a principal or turn an identity on.
_GRANT_LIKE = lazy_compile(
    r"role|polic|permission|privilege|iam|binding|grant|action|member|principal|trust|subject"
    r"|assignment|admin|owner|group|user|account|access|scope|count|enable|create|attach",
    re.IGNORECASE)


def is_unread(type_: str) -> bool:
    """True for a facet type this module judges."""
    return type_.startswith(UNREAD)


def hits(subject: Subject) -> Iterator[Hit]:
    """The NHI106 hits of one touched `UNREAD` facet (see the module doc)."""
    obj, base = subject.obj, subject.base
    kind = obj.type.removeprefix(UNREAD)
    if base is None and kind == "flux-source":  # moved from another file: the same source
        base = next((o for o in subject.ctx.base_objects
                     if o.type == obj.type and o.address == obj.address), None)
    head = {u.attribute: u for u in obj.unresolved}
    old = {u.attribute: u for u in base.unresolved} if base is not None else {}
    now, then = _values(obj.unresolved), _values(base.unresolved if base is not None else ())
    changed = [name for name in head if now[name] != then.get(name)]
    removed = [name for name in old if name not in head]
    if not changed and not removed:
        return
    actor = ("scan" if subject.ctx.mode == "scan" else
             "human" if subject.touch.actor_kind == "human" else "agent")
    if kind in ("provisioner", "external"):
        yield from _command(subject, [head[n] for n in changed], actor)
        return
    if actor == "scan":
        return
    first = head[changed[0]].line if changed else None
    names = ", ".join([*changed, *(f"{n} (removed)" for n in removed)])
    if kind == "module":
        reason = (head.get("source") or next(iter(head.values()))).reason
        verb = "new call with arguments" if base is None else "its arguments changed"
        yield Hit(RULE, f"{obj.address}: {reason}; {verb}: {names}; nhi-gate cannot compute "
                  "what it grants, a human must review the module's code at that source",
                  "source", first, variant="human" if actor == "human" else None)
        return
    if kind == "flux-source":
        if base is None:
            return  # a new source deploys nothing until a Kustomization or HelmRelease uses it
        entry = next(iter(head.values()), next(iter(old.values()), None))
        yield Hit(RULE, f"{obj.address}: {entry.reason if entry else 'a Flux source'}; "
                  f"changed: {names}; nhi-gate does not fetch it, so what the new source "
                  "deploys (and grants) is not computed: a human must review it", "source",
                  first, variant="human" if actor == "human" else None)
        return
    if kind == "ci-var":
        yield Hit(RULE, f"{obj.address}: Terraform inputs set in CI changed: {names}; every "
                  "identity reading those variables gets the value, which nhi-gate does not "
                  "compute; a human must review what it grants", "values", first,
                  variant="human" if actor == "human" else None)
        return
    fed = feeds([*changed, *removed], [*subject.ctx.head_objects, *subject.ctx.base_objects])
    grant_like = [n for n in [*changed, *removed] if _GRANT_LIKE.search(n) and n not in fed]
    variant = "human" if actor == "human" or not (grant_like or fed) else None
    what = "; ".join(
        [f"{n} feeds {', '.join(fed[n])}" for n in sorted(fed)]
        + ([f"values named like a grant, principal or count changed: {', '.join(grant_like)}"]
           if grant_like else [])) or f"values changed: {names}"
    yield Hit(RULE, f"{obj.address}: a var file read by no module nhi-gate knows (no .tf file "
              f"in its directory); {what}; nhi-gate cannot tell which identities read them, a "
              "human must review what they grant", "values", first, variant=variant)


def feeds(names: Sequence[str], objects: Sequence[IdentityObject]) -> dict[str, list[str]]:
    """Variable name -> the identities among `objects` that read `var.<name>` (in a grant, a
    trust, a principal, a reference, a module value it substituted or a value it could not
    compute), as `address (path:line)`, sorted: the modules that declare the variables a var
    file no module reads sets (`checker.commands.git_sources`, read for this), so its change
    is judged by what the values feed, not by their names. Names no identity reads are left
    out."""
    out: dict[str, set[str]] = {}
    for obj in objects:
        if is_unread(obj.type):
            continue
        text = " ".join([
            *(f"{g.action} {g.resource} {' '.join(g.conditions)}" for g in obj.privileges),
            *(str(t) for t in obj.trust), *obj.principals, *obj.references,
            *(name for name, _ in obj.inputs),
            *(f"{u.attribute} {u.expression}" for u in obj.unresolved)])
        for name in names:
            if re.search(rf"\bvar\.{re.escape(name)}\b", text):
                out.setdefault(name, set()).add(
                    f"{obj.address} ({obj.location.path}:{obj.location.start_line})")
    return {name: sorted(found) for name, found in out.items()}


def _command(subject: Subject, entries: list[Unresolved], actor: str) -> Iterator[Hit]:
    """One hit per changed command argument (see the module doc)."""
    obj = subject.obj
    for entry in entries:
        verbs = entry.expression.partition(" ")[2]  # after the value's digest
        if not verbs and actor != "agent":
            continue
        where = f"`{entry.attribute}` (line {entry.line})" if entry.line else f"`{entry.attribute}`"
        found = (f"it runs {verbs}, which grants access nhi-gate cannot compute" if verbs else
                 "no known grant verb found, but it runs with Terraform's credentials and "
                 "nhi-gate does not read what it does")
        variant = None if actor == "agent" else actor
        yield Hit(RULE, f"{obj.address}: the {entry.reason} in {where}: {found}; a human must "
                  "review what it grants", entry.attribute, entry.line, variant=variant)


def _values(entries: tuple[Unresolved, ...]) -> dict[str, frozenset[str]]:
    """Argument name -> the value digests of its entries (one per `-var-file` variant the
    parser read: `variants.merge` keeps each), without lines and reasons: the reason names the
    `source`, which is an entry of its own (a new source is not a change of every argument)."""
    out: dict[str, set[str]] = {}
    for entry in entries:
        out.setdefault(entry.attribute, set()).add(entry.expression)
    return {name: frozenset(found) for name, found in out.items()}
