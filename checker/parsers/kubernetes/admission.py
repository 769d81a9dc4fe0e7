"""Admission control that guards identity creation, as facets for `checker.checks.admission`.

An admission policy or webhook can deny a ClusterRoleBinding to `cluster-admin`, a
ServiceAccount token Secret, an unapproved identity; weakening it lets such objects in. Each
object below becomes one facet (`derived_from` = its address, like a workload facet: NHI101
does not judge it, `checks/admission.py` does), address `<Kind>/<namespace>/<name>`, kind
`policy`, type `admission:<Kind>`, whose `usages` are its enforcement facts as sorted
`<key>=<value>` strings (the line of each in `attribute_lines[<key>]`):
- `ValidatingAdmissionPolicy` (and `MutatingAdmissionPolicy`): `failurePolicy` (default
  `Fail`), `matchConstraints.namespaceSelector`/`objectSelector`/`excludeResourceRules`,
  `matchConditions`; and for each `ValidatingAdmissionPolicyBinding` of the same file that
  names it, `binding.<name>.validationActions` (so deleting that binding changes the policy);
  https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/;
- `ValidatingAdmissionPolicyBinding`: `validationActions` (sorted, `Deny`/`Warn`/`Audit`),
  `matchResources.namespaceSelector`/`objectSelector`/`excludeResourceRules`;
- `ValidatingWebhookConfiguration`/`MutatingWebhookConfiguration`: per webhook `w`,
  `webhooks.<w>.failurePolicy` (default `Fail` in admissionregistration.k8s.io/v1),
  `.namespaceSelector`, `.objectSelector`, `.matchConditions`, `.rules`;
  https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/;
- Kyverno `ClusterPolicy`/`Policy` (`kyverno.io`): `validationFailureAction` (default
  `Audit`), each rule's `rules.<r>.validate.failureAction`, `failurePolicy`, and each rule's
  `rules.<r>.exclude`/`.match`;
  https://kyverno.io/docs/policy-types/cluster-policy/validate/#failure-action;
- Gatekeeper constraints (`constraints.gatekeeper.sh`): `enforcementAction` (default `deny`),
  `match`; https://open-policy-agent.github.io/gatekeeper/website/docs/violations/;
- Kyverno `PolicyException` (`kyverno.io`, `policies.kyverno.io`): it exempts what it
  `match`es from the rules it names, so it weakens those policies: `exceptions.<policy>` (its
  rule names, sorted, comma-joined; `policyRefs` of `policies.kyverno.io` as `<name>`),
  `match`, `conditions`, `podSecurity`;
  https://kyverno.io/docs/exceptions/;
- Gatekeeper's `Config` (`config.gatekeeper.sh`, only the one named `config`: Gatekeeper
  ignores any other): each namespace pattern (`kube-system`, `kube-*`, `*-system`, `*`) that
  a `spec.match[]` entry exempts from the admission webhook or the mutation webhook
  (`processes` `webhook`, `mutation-webhook`, or `*`: every process) as
  `excludedNamespaces.<process>.<pattern>` (value `exempt`); `audit` and `sync` exclusions
  admit nothing and are not read;
  https://open-policy-agent.github.io/gatekeeper/website/docs/exempt-namespaces;
- a `Namespace` labelled `pod-security.kubernetes.io/enforce` (Pod Security Admission):
  `pod-security.enforce` (`privileged`, `baseline` or `restricted`: the level whose violating
  pods are rejected); a Namespace without that label is no facet (the label removed: the facet
  is gone); https://kubernetes.io/docs/concepts/security/pod-security-admission/.
A selector, condition or match block's value is its JSON text (compared, never interpreted).

Each object's rule body, what decides which requests it denies, is a `body.<key>` fact whose
value is a digest (`body_digest`; for `validations`, one per validation, comma-joined:
reformatting and message wording do not change it; nhi-gate
does not interpret CEL, rego or Kyverno patterns, `checker.checks.admission` fails closed on a
change): a policy's `validations` (without their `message`/`messageExpression`), `variables`,
`paramKind`, `mutations`; a binding's `paramRef`; a webhook's `clientConfig` (the server that
decides, without `caBundle`); a Kyverno policy's `validationFailureActionOverrides` and
`admission`, and each rule's `validate` (without `message` and `failureAction`),
`preconditions`, `celPreconditions`, `context`; a Gatekeeper `ConstraintTemplate`
(`templates.gatekeeper.sh`)'s `targets` (its rego or CEL) and a constraint's `parameters`
(https://open-policy-agent.github.io/gatekeeper/website/docs/howto/).

What an object rewrites or sends, in words (`checker.parsers.kubernetes.mutation`, sources
there), is a `does.<key>` fact: each webhook of a `MutatingWebhookConfiguration` (and of a
validating one whose `rules` match Secrets), a `MutatingAdmissionPolicy`'s `mutations`, each
Kyverno rule with a `mutate` (whose body, `rules.<r>.mutate`, is a rule body too), and the
`spec` of a Gatekeeper mutator (`mutations.gatekeeper.sh`: body `mutation`) or an External
Secrets `PushSecret`/`ClusterPushSecret` (body `push`, without `refreshInterval`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator

from yaml.nodes import MappingNode, Node

from checker.model import ADMISSION, IdentityObject, Location
from checker.parsers.kubernetes import mutation
from checker.safeyaml import (
    end_line_of,
    get,
    get_entry,
    get_path,
    key_line,
    line_of,
    scalar_text,
    sequence,
)
from checker.safeyaml.nodes import to_python

_VAP = frozenset({"ValidatingAdmissionPolicy", "MutatingAdmissionPolicy"})
_BINDING = "ValidatingAdmissionPolicyBinding"
_WEBHOOKS = frozenset({"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"})
_KYVERNO = frozenset({"ClusterPolicy", "Policy"})
_SELECTORS = ("namespaceSelector", "objectSelector", "excludeResourceRules")
_EXCEPTION = "PolicyException"
_KYVERNO_GROUPS = frozenset({"kyverno.io", "policies.kyverno.io"})
_CONFIG = "Config"
_TEMPLATE = "ConstraintTemplate"
#: The key prefix of a rule body's fact (module doc), of its last line's attribute, and of
#: what an object rewrites or sends, in words (`checker.parsers.kubernetes.mutation`).
BODY, END, DOES = "body.", "end:", "does."
#: Keys of a rule body that only word its message.
_MESSAGES = ("message", "messageExpression")
#: The Gatekeeper processes whose namespace exclusion switches admission policy off there,
#: and what `*` stands for (gatekeeper pkg/controller/config/process/excluder.go).
CONFIG_PROCESSES = ("webhook", "mutation-webhook")
#: The Pod Security Admission label whose level is enforced (rejects violating pods).
PSA_ENFORCE = "pod-security.kubernetes.io/enforce"


def _json(node: Node | None) -> str | None:
    """A node's value as compact JSON with sorted keys, None when absent or empty."""
    if node is None:
        return None
    value = to_python(node)
    if value in (None, {}, []):
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


class _Facts:
    """The facts of one object, each with its line."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.lines: dict[str, int] = {}
        self.ends: dict[str, int] = {}  # `END<key>`: a rule body's last line

    def add(self, key: str, value: str | None, line: int) -> None:
        if value is not None:
            self.values[key] = value
            self.lines[key] = line

    def node(self, key: str, parent: Node | None, name: str) -> None:
        child = get(parent, name)
        if child is not None:
            self.add(key, _json(child), line_of(child))

    def body(self, key: str, parent: Node | None, name: str, drop: tuple[str, ...] = (),
             each: bool = False) -> None:
        """A rule body (`BODY<key>`): its digest (`body_digest`), or with `each` the sorted,
        comma-joined digests of its list's items, at the line of its key."""
        found = get_entry(parent, name)
        if found is not None:
            value = to_python(found[1])
            digest = (",".join(sorted({body_digest(v, drop) for v in value}))
                      if each and isinstance(value, list) else body_digest(value, drop))
            self.add(BODY + key, digest, line_of(found[0]))
            self.ends[END + BODY + key] = found[1].end_mark.line + (
                found[1].end_mark.column > 0)

    def scalar(self, key: str, parent: Node | None, name: str, default: str | None,
               line: int) -> None:
        child = get(parent, name)
        text = scalar_text(child) if child is not None else None
        self.add(key, text or default, line_of(child) if child is not None else line)


def _plain(value: object, drop: tuple[str, ...]) -> object:
    """`value` without the `drop` keys of its mappings (of the top one and those of a top
    list), each multi-line string without trailing blanks and empty lines."""
    if isinstance(value, dict):
        return {k: _plain(v, ()) for k, v in value.items() if k not in drop}
    if isinstance(value, list):
        return [_plain(v, drop) for v in value]
    if isinstance(value, str) and "\n" in value:
        return "\n".join(line.rstrip() for line in value.splitlines() if line.strip())
    return value


def body_digest(value: object, drop: tuple[str, ...] = ()) -> str:
    """A rule body's identity: the SHA-256 (first 16 hex digits) of its compact, key-sorted JSON
    without the `drop` keys (a message), so a reformatted body is the same and any other edit
    is not."""
    text = json.dumps(_plain(value, drop), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _group(doc: MappingNode) -> str:
    return (scalar_text(get(doc, "apiVersion")) or "").rpartition("/")[0]


def _name(doc: MappingNode) -> str:
    return scalar_text(get_path(doc, "metadata", "name")) or "(unnamed)"


def is_admission(doc: MappingNode, kind: str) -> bool:
    """True for an object this module reads."""
    group = _group(doc)
    if kind == "Namespace":
        return group == "" and get_path(doc, "metadata", "labels", PSA_ENFORCE) is not None
    return ((kind in _VAP or kind == _BINDING or kind in _WEBHOOKS)
            and group.startswith("admissionregistration.k8s.io")) or (
        kind in _KYVERNO and group == "kyverno.io") or group == "constraints.gatekeeper.sh" or (
        kind == _TEMPLATE and group == "templates.gatekeeper.sh") or (
        kind == _EXCEPTION and group in _KYVERNO_GROUPS) or (
        kind == _CONFIG and group == "config.gatekeeper.sh" and _name(doc) == "config") or (
        kind in mutation.GATEKEEPER_MUTATORS and group == "mutations.gatekeeper.sh") or (
        kind in mutation.PUSH_SECRETS and group == "external-secrets.io")


def _facts(doc: MappingNode, kind: str, start: int, bindings: dict[str, _Facts]) -> _Facts:
    facts = _Facts()
    spec = get(doc, "spec")
    group = _group(doc)
    if kind in _VAP:
        facts.scalar("failurePolicy", spec, "failurePolicy", "Fail", start)
        for name in _SELECTORS:
            facts.node(f"matchConstraints.{name}", get(spec, "matchConstraints"), name)
        facts.node("matchConditions", spec, "matchConditions")
        facts.body("validations", spec, "validations", _MESSAGES, each=True)
        for name in ("variables", "paramKind", "mutations"):
            facts.body(name, spec, name)
        if kind == "MutatingAdmissionPolicy":
            facts.add(f"{DOES}mutations", "may rewrite what its `matchConstraints` match",
                      key_line(spec, "mutations") or start)
        for key, value in bindings.get(_name(doc), _Facts()).values.items():
            facts.add(key, value, bindings[_name(doc)].lines[key])
    elif kind == _BINDING:
        actions = get(spec, "validationActions")
        found = sorted(scalar_text(a) or "" for a in sequence(actions))
        facts.add("validationActions", ",".join(found),
                  line_of(actions) if actions is not None else start)
        for name in _SELECTORS:
            facts.node(f"matchResources.{name}", get(spec, "matchResources"), name)
        facts.body("paramRef", spec, "paramRef")
    elif kind in _WEBHOOKS:
        for hook in sequence(get(doc, "webhooks")):
            key = f"webhooks.{scalar_text(get(hook, 'name')) or '?'}"
            facts.scalar(f"{key}.failurePolicy", hook, "failurePolicy", "Fail", line_of(hook))
            for name in ("namespaceSelector", "objectSelector", "matchConditions", "rules"):
                facts.node(f"{key}.{name}", hook, name)
            facts.body(f"{key}.clientConfig", hook, "clientConfig", ("caBundle",))
            mutating = kind == "MutatingWebhookConfiguration"
            if mutating or mutation.receives_secrets(hook):
                facts.add(f"{DOES}{key}", mutation.webhook_does(hook, mutating), line_of(hook))
    elif kind == _EXCEPTION:
        for entry in [*sequence(get(spec, "exceptions")), *sequence(get(spec, "policyRefs"))]:
            policy = scalar_text(get(entry, "policyName")) or scalar_text(get(entry, "name"))
            rules = sorted(scalar_text(r) or "" for r in sequence(get(entry, "ruleNames")))
            facts.add(f"exceptions.{policy or '?'}", ",".join(rules) or "*", line_of(entry))
        for name in ("match", "conditions", "podSecurity", "matchConditions"):
            facts.node(name, spec, name)
    elif group == "kyverno.io":
        facts.scalar("validationFailureAction", spec, "validationFailureAction", "Audit", start)
        facts.scalar("failurePolicy", spec, "failurePolicy", "Fail", start)
        for name in ("validationFailureActionOverrides", "admission"):
            facts.body(name, spec, name)
        for rule in sequence(get(spec, "rules")):
            key = f"rules.{scalar_text(get(rule, 'name')) or '?'}"
            validate = get(rule, "validate")
            if validate is not None:
                facts.scalar(f"{key}.validate.failureAction", validate, "failureAction", None,
                             line_of(validate))
            facts.body(f"{key}.validate", rule, "validate", ("message", "failureAction"))
            for name in ("preconditions", "celPreconditions", "context", "mutate"):
                facts.body(f"{key}.{name}", rule, name)
            if get(rule, "mutate") is not None:
                facts.add(f"{DOES}{key}", mutation.kyverno_mutate(rule),
                          key_line(rule, "mutate") or line_of(rule))
            facts.node(f"{key}.exclude", rule, "exclude")
            facts.node(f"{key}.match", rule, "match")
    elif kind == _CONFIG:
        for entry in sequence(get(spec, "match")):
            named = {scalar_text(p) or "" for p in sequence(get(entry, "processes"))}
            processes = CONFIG_PROCESSES if "*" in named else sorted(
                named.intersection(CONFIG_PROCESSES))
            for pattern in sequence(get(entry, "excludedNamespaces")):
                for process in processes:
                    key = f"excludedNamespaces.{process}.{scalar_text(pattern) or ''}"
                    if key not in facts.values:
                        facts.add(key, "exempt", line_of(pattern))
    elif kind == "Namespace":
        label = get_path(doc, "metadata", "labels", PSA_ENFORCE)
        facts.add("pod-security.enforce", (scalar_text(label) or "").strip().lower(),
                  line_of(label) if label is not None else start)
    elif kind == _TEMPLATE:
        facts.body("targets", spec, "targets")
    elif kind in mutation.GATEKEEPER_MUTATORS or kind in mutation.PUSH_SECRETS:
        push = kind in mutation.PUSH_SECRETS
        facts.body("push" if push else "mutation", doc, "spec", ("refreshInterval",))
        facts.add(f"{DOES}{'push' if push else 'mutation'}",
                  mutation.push_sends(spec) if push else mutation.gatekeeper_sets(spec),
                  key_line(doc, "spec") or start)
    else:  # a Gatekeeper constraint
        facts.scalar("enforcementAction", spec, "enforcementAction", "deny", start)
        facts.node("match", spec, "match")
        facts.body("parameters", spec, "parameters")
    return facts


def admission_facets(docs: Iterable[tuple[MappingNode, str]], path: str,
                     lines: list[str]) -> Iterator[IdentityObject]:
    """The facets of the admission objects among one file's `(document, kind)` pairs."""
    wanted = [(doc, kind) for doc, kind in docs if is_admission(doc, kind)]
    bindings: dict[str, _Facts] = {}
    for doc, kind in wanted:
        if kind == _BINDING:
            policy = scalar_text(get_path(doc, "spec", "policyName")) or ""
            actions = get_path(doc, "spec", "validationActions")
            found = sorted(scalar_text(a) or "" for a in sequence(actions))
            bindings.setdefault(policy, _Facts()).add(
                f"binding.{_name(doc)}.validationActions", ",".join(found),
                line_of(actions) if actions is not None else line_of(doc))
    for doc, kind in wanted:
        start = line_of(doc.value[0][0]) if doc.value else line_of(doc)
        namespace = (scalar_text(get_path(doc, "metadata", "namespace"))
                     if kind in ("Policy", _EXCEPTION, _CONFIG, "PushSecret") else None)
        address = "/".join(p for p in (kind, namespace, _name(doc)) if p)
        facts = _facts(doc, kind, start, bindings)
        yield IdentityObject(
            kind="policy", platform="kubernetes", type=f"{ADMISSION}{kind}", address=address,
            location=Location(path, start, max(start, end_line_of(doc, lines))),
            attribute_lines={"anchor": start, **facts.lines, **facts.ends},
            usages=tuple(sorted(f"{k}={v}" for k, v in facts.values.items())),
            namespace=namespace, derived_from=address)

