"""NHI302 for admission control that guards identity creation, weakened (called from
`checker.checks.drift`).

The facets of `checker.parsers.kubernetes.admission` (type `admission:<Kind>`, `usages`
`<key>=<value>`) are compared with their base twin. A weakening lets in objects the policy or
webhook would have denied (a ClusterRoleBinding to `cluster-admin`, a token Secret, a new
ServiceAccount), so it is a widening of what identities can be created:
- a `ValidatingAdmissionPolicyBinding` whose `validationActions` lose `Deny` (only `Audit`
  or `Warn` left), or a binding of a policy deleted from the policy's file
  (https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/#validation-actions);
- `failurePolicy` `Fail` -> `Ignore` on a policy, a webhook, or a Kyverno policy: a failing or
  unreachable check then admits the request
  (https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#failure-policy);
- a webhook removed from a `ValidatingWebhookConfiguration`/`MutatingWebhookConfiguration`,
  and any of these objects deleted (`removal_hits`);
- a `namespaceSelector`, `objectSelector`, `excludeResourceRules`, `matchConditions`, Kyverno
  `exclude`, or Gatekeeper `match` added or changed (its value is not interpreted: a change
  may exclude requests, so it fails closed), and a webhook's `rules` or a Kyverno rule's
  `match` changed or removed;
- Kyverno `validationFailureAction` (or a rule's `validate.failureAction`) `Enforce` ->
  `Audit` (https://kyverno.io/docs/policy-types/cluster-policy/validate/#failure-action);
- a Gatekeeper constraint's `enforcementAction` `deny` -> `dryrun` or `warn`
  (https://open-policy-agent.github.io/gatekeeper/website/docs/violations/);
- a Kyverno `PolicyException` added (it exempts what it matches from the policy rules it
  names), or one that exempts from a new policy or rule, matches other objects (`match`,
  `matchConditions`, `podSecurity` added or changed) or lost or changed its `conditions`
  (https://kyverno.io/docs/exceptions/);
- Gatekeeper's `Config` exempting a namespace pattern from its admission or mutation webhook
  that no base pattern of that process covers (an added Config: every pattern it exempts);
  patterns are Gatekeeper's wildcards, `kube-*` (prefix), `*-system` (suffix), `*x*`
  (substring), `*` (every namespace), so `kube-*` covers `kube-system` and not `*-system`
  (https://open-policy-agent.github.io/gatekeeper/website/docs/exempt-namespaces;
  gatekeeper pkg/wildcard/wildcard.go);
- a Namespace's Pod Security Admission level (`pod-security.kubernetes.io/enforce`) lowered,
  `restricted` -> `baseline` -> `privileged`, or the label removed (no label enforces nothing:
  `removal_hits`); an unknown level counts as `privileged`
  (https://kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-levels).
An agent's or bot's weakening is an error (it blocks); a person's is a note (variant
`admission-human`). A change that only tightens (a selector or exclusion removed, `Audit` ->
`Deny`, `Ignore` -> `Fail`, a rule or policy taken out of an exception, `conditions` added to
one, an exception deleted, a Config exclusion removed or the Config deleted) is a `narrowed`
note (`narrows`); a new policy that only denies is not judged.

A rule body (the `body.<key>` digests: CEL `validations`, a ConstraintTemplate's rego, a
constraint's `parameters`, a Kyverno rule's `validate`, `preconditions` and `context`, a
webhook's `clientConfig`) added, changed or removed cannot be judged: nhi-gate does not
interpret CEL, rego or Kyverno patterns, and `... || true` denies nothing. So it fails closed
(DESIGN.md "What counts as a change"): NHI106, the fail-closed rule, naming the bodies, an
error for an agent, bot or unknown actor, a note for a person (variant `human`); never a
`narrowed` note. Reformatting and a changed `message` give the same digest: no change; a
validation added to a ValidatingAdmissionPolicy that keeps every other is a tightening
(`_EACH_DENIES`), the `narrowed` note.

An object that rewrites other objects or sends them somewhere (the `does.<key>` facts: a
mutating webhook, a validating webhook receiving Secrets, a Kyverno `mutate` rule, a
`MutatingAdmissionPolicy`, a Gatekeeper mutator, an External Secrets `PushSecret`) cannot be
judged either: created, it is NHI106 naming what it may rewrite or send where (`_created`);
its body changed, the NHI106 above names that too. Deleting a mutator or a push (which deny
nothing) is no weakening. Sources: `checker.parsers.kubernetes.mutation`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from checker.checks.api import Context, Hit, Subject
from checker.model import ADMISSION, IdentityObject
from checker.provenance.attribution import Touch

#: `IdentityObject.type` prefix of an admission facet.
PREFIX = ADMISSION
#: NHI302's level variant for a person's weakening (rules/docs/privilege.yaml).
HUMAN_VARIANT = "admission-human"
_EXCLUSIONS = frozenset({"namespaceSelector", "objectSelector", "excludeResourceRules",
                         "matchConditions", "exclude", "match"})
_SCOPE = frozenset({"rules", "match"})
#: The facet type of a Kyverno PolicyException (parsers/kubernetes/admission.py).
EXCEPTION = f"{ADMISSION}PolicyException"
#: The facet type of Gatekeeper's Config and its exclusion keys (parsers/kubernetes/admission.py).
CONFIG = f"{ADMISSION}Config"
_EXCLUDED = "excludedNamespaces."
#: The key prefix of a rule body's digest, and of what an object rewrites or sends in words
#: (parsers/kubernetes/admission.py `BODY`, `DOES`).
BODY, DOES = "body.", "does."
#: Facet types that only rewrite or send (Gatekeeper mutators, External Secrets pushes): they
#: deny nothing, so deleting one weakens nothing (parsers/kubernetes/mutation.py).
_REWRITERS = frozenset(f"{ADMISSION}{k}" for k in (
    "Assign", "AssignMetadata", "ModifySet", "AssignImage", "PushSecret", "ClusterPushSecret"))
_UNJUDGED = ("nhi-gate does not interpret what it rewrites or what the receiver does with "
             "what it gets, so a human must review it")
_WEBHOOKS = {"webhook": "admission webhook", "mutation-webhook": "mutation webhook"}


def _covers(wide: str, pattern: str) -> bool:
    """True when Gatekeeper wildcard `wide` matches every namespace `pattern` matches (each a
    name, `a*`, `*a` or `*a*`; `*` matches every one)."""
    if wide == pattern:
        return True
    head, tail = wide.startswith("*"), wide.endswith("*") and len(wide) > 1
    core = wide.strip("*")
    if wide == "*" or (head and tail and core == ""):
        return True
    inner = pattern.strip("*")
    p_head, p_tail = pattern.startswith("*"), pattern.endswith("*")
    if head and tail:
        return core in inner
    if tail:  # a prefix: only names and prefixes that start with it
        return not p_head and inner.startswith(core)
    if head:  # a suffix: only names and suffixes that end with it
        return not p_tail and inner.endswith(core)
    return False


def config_widened(head: dict[str, str], base: dict[str, str]) -> list[tuple[str, str]]:
    """(first key, what changed) for each webhook process of a Gatekeeper Config whose `head`
    facts exempt a namespace pattern no `base` pattern of that process covers (module doc)."""
    out: list[tuple[str, str]] = []
    for process, what in _WEBHOOKS.items():
        prefix = f"{_EXCLUDED}{process}."
        was = [k[len(prefix):] for k in base if k.startswith(prefix)]
        gained = [k for k in head if k.startswith(prefix)
                  and not any(_covers(w, k[len(prefix):]) for w in was)]
        if gained:
            names = ", ".join(k[len(prefix):] for k in sorted(gained))
            out.append((gained[0], f"exempts namespaces {names} from Gatekeeper's {what} "
                                   f"(`{process}`)"))
    return out


def exception_widened(head: dict[str, str], base: dict[str, str]) -> list[tuple[str, str]]:
    """(key, what changed) for each way a PolicyException's `head` facts exempt more than its
    `base` facts (module doc): a policy or rule newly exempted, its scope changed, its
    conditions removed or changed."""
    out: list[tuple[str, str]] = []
    for key in sorted(set(base) | set(head)):
        was, now = base.get(key), head.get(key)
        if was == now or (now is None and key != "conditions"):
            continue
        if key.startswith("exceptions."):
            gained = sorted(set(now.split(",")) - set((was or "").split(","))) if now else []
            if gained and "*" not in (was or "").split(","):
                out.append((key, f"exempts from policy `{key.split('.', 1)[1]}` rules "
                                 f"{', '.join(gained)}"))
        elif key == "conditions" and was is not None:
            out.append((key, f"`conditions` {'removed' if now is None else 'changed'}"))
        elif key != "conditions":
            out.append((key, f"`{key}` {'changed' if was is not None else 'added'}"))
    return out


#: Pod Security Admission levels, least to most restrictive.
_PSA_LEVELS = ("privileged", "baseline", "restricted")


def _psa_rank(level: str | None) -> int:
    return _PSA_LEVELS.index(level) if level in _PSA_LEVELS else 0


def _facts(usages: tuple[str, ...]) -> dict[str, str]:
    return dict(u.split("=", 1) for u in usages if "=" in u)


def _enforcing(value: str | None, strong: str) -> bool:
    return (value or "").lower() == strong.lower()


def weakened(head: dict[str, str], base: dict[str, str]) -> list[tuple[str, str]]:
    """(key, what changed) for each weakening from `base` to `head` facts (see module doc)."""
    out: list[tuple[str, str]] = []
    for key in sorted(set(base) | set(head)):
        was, now = base.get(key), head.get(key)
        if was == now or key.startswith(BODY):  # a rule body: `bodies_changed`
            continue
        leaf = key.rsplit(".", 1)[-1]
        if leaf == "validationActions":
            if key.startswith("binding.") and now is not None:
                continue  # the binding's own facet reports it
            if "Deny" in (was or "").split(",") and "Deny" not in (now or "").split(","):
                what = (f"binding `{key.split('.')[1]}` deleted" if now is None and
                        key.startswith("binding.") else
                        f"`{key}` {was} -> {now or 'none'}")
                out.append((key, what))
        elif leaf == "failurePolicy":
            if now is None and key.startswith("webhooks."):
                out.append((key, f"webhook `{key.split('.')[1]}` removed"))
            elif _enforcing(was, "Fail") and now is not None and not _enforcing(now, "Fail"):
                out.append((key, f"`{key}` Fail -> {now}"))
        elif leaf in ("validationFailureAction", "failureAction"):
            effective = now or head.get("validationFailureAction", "Audit")
            if _enforcing(was, "Enforce") and not _enforcing(effective, "Enforce"):
                out.append((key, f"`{key}` {was} -> {effective}"))
        elif key == "pod-security.enforce":
            if _psa_rank(now) < _psa_rank(was):
                out.append((key, f"Pod Security level `{was}` -> `{now or 'none'}`"))
        elif leaf == "enforcementAction":
            if _enforcing(was or "deny", "deny") and not _enforcing(now or "deny", "deny"):
                out.append((key, f"`{key}` {was or 'deny'} -> {now}"))
        elif now is not None and (leaf in _EXCLUSIONS or leaf in _SCOPE):
            out.append((key, f"`{key}` {'changed' if was is not None else 'added'}"))
        elif now is None and leaf in _SCOPE:
            out.append((key, f"`{key}` removed"))
    return out


#: What a Pod Security level rejects, in NHI302's messages.
_PODS = ("pods it rejected (privileged, host namespaces, hostPath volumes: the node's and "
         "other pods' credentials) may now run")
_REQUESTS = "requests it denied (new identities, bindings, token Secrets) may now be admitted"


def _admitted(obj: IdentityObject) -> str:
    return _PODS if obj.type == f"{PREFIX}Namespace" else _REQUESTS


#: Bodies whose items each deny on their own, so one added only tightens: a
#: ValidatingAdmissionPolicy admits a request only when every `validations` expression is
#: true (https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/).
_EACH_DENIES = frozenset({f"{BODY}validations"})


def bodies_changed(head: dict[str, str], base: dict[str, str]) -> list[str]:
    """The rule-body keys (`BODY<key>`, parsers/kubernetes/admission.py) whose digest differs
    between `base` and `head` facts, or that one of them lacks, sorted; not a body of
    `_EACH_DENIES` that kept every base item (items only added)."""
    out = []
    for key in sorted(set(head) | set(base)):
        was, now = base.get(key), head.get(key)
        if not key.startswith(BODY) or was == now:
            continue
        if key in _EACH_DENIES and was is not None and now is not None and set(
                was.split(",")) <= set(now.split(",")):
            continue
        out.append(key)
    return out


def check(subject: Subject) -> Iterator[Hit]:
    """NHI302 when an admission facet's change weakens it, and NHI106 when it changes a rule
    body (see the module doc)."""
    obj, base = subject.obj, subject.base
    if obj.type in (EXCEPTION, CONFIG):
        yield from _exception(subject)
        return
    if base is None and obj.type.startswith(PREFIX):
        yield from _created(subject)
        return
    if base is None or not obj.type.startswith(PREFIX):
        return
    head, was = _facts(obj.usages), _facts(base.usages)
    found = weakened(head, was)
    human = subject.touch.actor_kind == "human"
    if found:
        line = next((obj.attribute_lines[k] for k, _ in found if k in obj.attribute_lines),
                    obj.attribute_lines.get("anchor"))
        yield Hit("NHI302",
                  f"{obj.address} admission control weakened: "
                  f"{'; '.join(what for _, what in found)}; {_admitted(obj)}", "admission",
                  line, variant=HUMAN_VARIANT if human else None)
    bodies = bodies_changed(head, was)
    does = [v for k, v in _doing(obj, head) if any(
        b[len(BODY):].startswith(k[len(DOES):]) for b in bodies)]
    if bodies and obj.type in _REWRITERS:
        named = ", ".join(f"`{k[len(BODY):]}`" for k in bodies)
        yield Hit("NHI106", f"{obj.address}: {'; '.join(does)}; its {named} changed and "
                  f"could not be judged: {_UNJUDGED}", "admission",
                  _body_line(obj, bodies, subject.touch.lines),
                  variant="human" if human else None)
    elif bodies:
        named = ", ".join(f"`{k[len(BODY):]}`" for k in bodies)
        named += f" ({'; '.join(does)})" if does else ""
        yield Hit("NHI106",
                  f"{obj.address}: the admission policy body changed ({named}) and could not "
                  "be judged: nhi-gate does not interpret CEL, rego, Kyverno patterns or what "
                  f"a webhook's server decides, so {_admitted(obj).replace(' may now', ' may')}"
                  " now; a human must review the policy", "admission",
                  _body_line(obj, bodies, subject.touch.lines),
                  variant="human" if human else None)


def _doing(obj: IdentityObject, facts: dict[str, str]) -> list[tuple[str, str]]:
    """(key, words) of each `DOES` fact of `obj`, in source order."""
    found = [(k, v) for k, v in facts.items() if k.startswith(DOES)]
    return sorted(found, key=lambda kv: obj.attribute_lines.get(kv[0], 0))


def _created(subject: Subject) -> Iterator[Hit]:
    """NHI106 for a new object that rewrites other objects or sends them somewhere (a
    mutating webhook, a validating one receiving Secrets, a Kyverno `mutate` rule, a
    Gatekeeper mutator, a PushSecret): what it does cannot be judged (module doc). An error for
    an agent, a bot or an unknown actor, a note for a person; nothing in `scan`. A new policy
    that only denies is a tightening: nothing."""
    obj = subject.obj
    does = _doing(obj, _facts(obj.usages))
    if not does or subject.ctx.mode == "scan":  # no change: its normal shape
        return
    yield Hit("NHI106", f"{obj.address}: {'; '.join(v for _, v in does)}; {_UNJUDGED}",
              "admission", obj.attribute_lines.get(does[0][0], obj.attribute_lines.get("anchor")),
              variant="human" if subject.touch.actor_kind == "human" else None)


def _body_line(obj: IdentityObject, bodies: Sequence[str], touched: Sequence[int]) -> int | None:
    """The first `touched` line inside one of the `bodies` of `obj` (from its key to its
    `end:` line), else the first body's key line (a body removed: the policy's first line)."""
    for key in bodies:
        start, end = obj.attribute_lines.get(key), obj.attribute_lines.get(f"end:{key}")
        inside = [n for n in touched if start is not None and start <= n <= (end or start)]
        if inside:
            return inside[0]
    return next((obj.attribute_lines[k] for k in bodies if k in obj.attribute_lines),
                obj.attribute_lines.get("anchor"))


def _exception(subject: Subject) -> Iterator[Hit]:
    """NHI302 for a PolicyException or a Gatekeeper Config added or widened (module doc)."""
    obj, base = subject.obj, subject.base
    head = _facts(obj.usages)
    widened = config_widened if obj.type == CONFIG else exception_widened
    found = widened(head, _facts(base.usages) if base is not None else {})
    if not found:
        return
    line = next((obj.attribute_lines[k] for k, _ in found if k in obj.attribute_lines),
                obj.attribute_lines.get("anchor"))
    what = "added" if base is None else "widened"
    kind, rules = ("namespace exclusion", "policies") if obj.type == CONFIG else (
        "policy exception", "rules")
    yield Hit("NHI302",
              f"{obj.address} admission control weakened: {kind} {what}: "
              f"{'; '.join(what for _, what in found)}; requests those {rules} denied (new "
              "identities, bindings, token Secrets) may now be admitted", "admission", line,
              variant=HUMAN_VARIANT if subject.touch.actor_kind == "human" else None)


def narrows(subject: Subject) -> Iterator[Hit]:
    """NHI302 `narrowed` (a note) when an admission facet's facts changed and none weakened
    it: a removed exclusion, `Audit` -> `Deny`, `Ignore` -> `Fail`."""
    obj, base = subject.obj, subject.base
    if base is None or not obj.type.startswith(PREFIX) or obj.usages == base.usages:
        return
    head, was = _facts(obj.usages), _facts(base.usages)
    judge = {EXCEPTION: exception_widened, CONFIG: config_widened}.get(obj.type, weakened)
    if judge(head, was) or bodies_changed(head, was):  # `check` reports a changed body
        return
    keys = sorted(k for k in set(head) | set(was) if head.get(k) != was.get(k))
    yield Hit("NHI302", f"{obj.address} admission control tightened or unchanged in effect "
              f"({', '.join(f'`{k}`' for k in keys)}); a tightening needs no approval",
              "admission", obj.attribute_lines.get(keys[0], obj.attribute_lines.get("anchor")),
              variant="narrowed")


def removal_hits(ctx: Context, actor_of: Callable[[Sequence[str]], Touch]
                 ) -> Iterator[tuple[IdentityObject, Hit]]:  # fmt: skip
    """NHI302 for each admission policy, binding, webhook configuration or Kyverno/Gatekeeper
    policy base had in a file that holds none at head (deleted, or emptied of them): the
    requests it denied are admitted. Reported where it was; `actor_of(paths)` is who changed
    its file (a person's removal is the `admission-human` note). Nothing in `scan`."""
    if ctx.mode == "scan":
        return
    # Taken out of a file that still holds admission objects: `check` compares the policy
    # with its base twin there (a binding deleted from its policy's file is named by it).
    files = {o.location.path for o in ctx.head_objects if o.type.startswith(PREFIX)}
    for obj in ctx.base_objects:
        if not obj.type.startswith(PREFIX) or obj.location.path in files or (
                obj.type in _REWRITERS):  # it denied nothing: it rewrites or sends no more
            continue
        touch = actor_of([obj.location.path])
        if obj.type in (EXCEPTION, CONFIG):  # an exemption deleted: the policies apply
            what = ("namespace exclusions removed: Gatekeeper's policies apply to those "
                    "namespaces again" if obj.type == CONFIG else "policy exception removed: "
                    "the policy rules it exempted from apply again")
            yield obj, Hit("NHI302", f"{obj.address} {what}; a tightening needs no approval",
                           "admission", obj.location.start_line, touch=touch,
                           variant="narrowed")
            continue
        variant = HUMAN_VARIANT if touch.actor_kind == "human" else None
        what = (f"Pod Security level `{_facts(obj.usages).get('pod-security.enforce')}` "
                "no longer enforced (label or Namespace removed)"
                if obj.type == f"{PREFIX}Namespace" else "admission control removed")
        yield obj, Hit("NHI302", f"{obj.address} {what}: {_admitted(obj)}",
                       "admission", obj.location.start_line, touch=touch, variant=variant)
