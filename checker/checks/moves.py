"""A Terraform identity a `moved` block renamed (`parsers/terraform/moved.py` records the old
address as `attribute_lines["moved.from=<address>"]`) is the identity that had the old address
at base: Terraform moves it in its state, it creates nothing
(https://developer.hashicorp.com/terraform/language/moved). `moved_twin` finds that base
identity, for `checks/engine.py` to judge the change against (equal meaning: cosmetic, no
finding; otherwise narrowed or widened like any change), and `moved_from` names the old address
for the messages ("moved from <address>").

A Kubernetes binding whose kind changed (`ClusterRoleBinding` <-> `RoleBinding`, same file or
render, same name) is the same binding with another scope: its address names its kind and
namespace, so the engine sees no twin; `rescoped_twin` finds the base one, so a
ClusterRoleBinding made a RoleBinding of the same subjects and `roleRef` compares as a
narrowing (its role in one namespace instead of every one) and the reverse as a widening
(https://kubernetes.io/docs/reference/access-authn-authz/rbac/#rolebinding-and-clusterrolebinding:
a RoleBinding grants in its namespace, a ClusterRoleBinding cluster-wide).

A block that names a renamed address (`role = aws_iam_role.app_v2.id`) names the same object
as before: the parser records each such rename (`attribute_lines["moved.name=<old> <new>"]`)
and `with_new_names` reads the base identity under the new names, so the rename alone is no
change. `renamed` lists the renames Terraform makes in a change (for the engine and
`checks/deny_sources.py`: a moved role is still there).

A `data "aws_iam_policy_document"` grants nothing itself: its statements reach a principal only
through the blocks that read it (`policy = data.aws_iam_policy_document.X.json`). A new one
whose every reader is an identity base had, meaning what it meant at base (its resolved policy
the same: the statements moved out of a `jsonencode(...)` into the data source), is that move
(`moved_documents`): no finding. A new reader, or a reader whose meaning changed, is judged,
and the document with it."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from checker.model import Grant, IdentityObject, Trust, Unresolved
from checker.provenance.attribution import Touch

#: `parsers/terraform/moved.py`'s `MOVED_FROM` and `MOVED_NAME`: checks do not import parsers.
_MOVED_FROM = "moved.from="
_MOVED_NAME = "moved.name="
#: The Kubernetes binding kinds, each with the other (`rescoped_twin`).
_OTHER_BINDING = {"RoleBinding": "ClusterRoleBinding", "ClusterRoleBinding": "RoleBinding"}
#: The policy documents other blocks read (`moved_documents`). Provider docs:
#: https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/iam_policy_document
_DOCUMENT = "data.aws_iam_policy_document"


def moved_from(obj: IdentityObject) -> str | None:
    """The address a `moved` block says `obj` had at base, else None."""
    return next((k[len(_MOVED_FROM):] for k in obj.attribute_lines
                 if k.startswith(_MOVED_FROM)), None)


def moved_home(obj: IdentityObject, module: str) -> str:
    """The module directory whose `moved` block renamed `obj` (`module`: `obj`'s own): for an
    identity of a local module read as called (`module.iam.aws_iam_role.app`,
    `parsers/terraform/callees.py`), the directory of the outermost call (its `module.<name>
    call` input), where `moved { from = aws_iam_role.app  to = module.iam.aws_iam_role.app }`
    names the old address (a move across the module boundary:
    https://developer.hashicorp.com/terraform/language/modules/develop/refactoring#moving-resources-into-modules)."""
    if not obj.address.startswith("module."):
        return module
    for name, where in obj.inputs:
        call = name.removesuffix(" call")
        if call != name and obj.address.startswith(call + ".") and call.count(".") == 1:
            return posixpath.dirname(where.path)
    return module


def moved_twin(obj: IdentityObject, base: Mapping[tuple[str | None, str], IdentityObject],
               module: str | None, at_head: Mapping[str | None, Collection[str]]
               ) -> IdentityObject | None:  # fmt: skip
    """The base identity `obj` was moved from (`base`: (module directory, address) -> base
    identity; `module`: `obj`'s module directory, None outside Terraform), under `obj`'s
    address and type (a move to another type is the same object, `kubernetes_service_account`
    -> `kubernetes_service_account_v1`), so that it compares by meaning. None when `obj` was not
    moved, the old address is not at base, or it is still at head (`at_head`: the addresses of
    each module at head; Terraform rejects such a move, so it is judged as created)."""
    old = moved_from(obj)
    if old is None or module is None:
        return None
    module = moved_home(obj, module)  # moved into a local module: the caller's old address
    if old in at_head.get(module, ()):
        return None
    found = base.get((module, old))
    if found is None or (found.kind, found.platform) != (obj.kind, obj.platform):
        return None
    return replace(found, type=obj.type, address=obj.address)


def rescoped_twin(obj: IdentityObject, base: Sequence[IdentityObject],
                  at_head: Collection[str]) -> IdentityObject | None:
    """The base binding a Kubernetes `RoleBinding` or `ClusterRoleBinding` `obj` was before
    its kind changed: the one base binding of the other kind with `obj`'s file, render and
    name whose address is not at head (`at_head`: the addresses of the head objects outside
    Terraform), with `obj`'s type and namespace and its own address (so the messages can say
    what it was: `base.address != obj.address`). None when there is none or more than one (a
    new binding)."""
    other = _OTHER_BINDING.get(obj.type)
    if other is None or obj.platform != "kubernetes" or obj.kind != "role_binding":
        return None
    name = obj.address.rsplit("/", 1)[-1]
    found = [o for o in base if o.type == other and o.platform == obj.platform
             and o.kind == obj.kind and o.location.path == obj.location.path
             and o.rendered_by == obj.rendered_by and o.address.rsplit("/", 1)[-1] == name
             and o.address not in at_head]
    if len(found) != 1:
        return None
    return replace(found[0], type=obj.type, namespace=obj.namespace)


def was(obj: IdentityObject, base: IdentityObject | None) -> str:
    """` (was <address> at base)` when `obj`'s base twin had another address (a binding whose
    kind changed: `rescoped_twin`), else "": for the messages."""
    if base is None or base.address == obj.address:
        return ""
    return f" (was {base.address} at base)"


def _names(obj: IdentityObject) -> list[tuple[str, str]]:
    """The (old, new) addresses `obj`'s block names under a `moved` block's new name."""
    pairs = (k[len(_MOVED_NAME):].split(" ", 1) for k in obj.attribute_lines
             if k.startswith(_MOVED_NAME))
    return [(p[0], p[1]) for p in pairs if len(p) == 2]


def with_new_names(base: IdentityObject, obj: IdentityObject,
                   moves: Mapping[tuple[str, str], str]) -> IdentityObject:
    """`base` (`obj`'s base twin) with each address `obj`'s block names under a `moved`
    block's new name (`moved.name=` lines) written under that name, in its references,
    principals, bound members, grants, trust and unresolved entries, when the move is one
    Terraform makes (`moves`: `renamed`); `base` itself when there is none. A rename it cannot
    confirm (of a block that is no identity, or onto an address base had) leaves `base`'s
    digests unequal to `obj`'s, so the change is judged, never cosmetic (fail closed)."""
    module = posixpath.dirname(obj.location.path)
    pairs = [p for p in _names(obj) if p not in _names(base)]  # both digested as if old
    names = [(re.compile(r"(?<![\w.-])" + re.escape(old) + r"(?![\w-])"), new)
             for old, new in pairs if moves.get((module, old)) == new]
    if len(names) < len(pairs):  # a move nhi-gate cannot confirm (Terraform may not make
        # it; the parser digested `obj` as if it did): never cosmetic, judged as a change
        base = replace(base, digest=f"unconfirmed move:{base.digest}",
                       frame_digest=f"unconfirmed move:{base.frame_digest}",
                       untagged_digest=f"unconfirmed move:{base.untagged_digest}")
    if not names:
        return base

    def text(value: str) -> str:
        for pattern, new in names:
            value = pattern.sub(new.replace("\\", "\\\\"), value)  # literal
        return value

    def texts(values: Sequence[str]) -> tuple[str, ...]:
        return tuple(text(v) for v in values)

    def grant(g: Grant) -> Grant:
        return replace(g, action=text(g.action), resource=text(g.resource))

    def trust(t: Trust) -> Trust:
        return replace(t, principal=text(t.principal), subjects=texts(t.subjects))

    def entry(u: Unresolved) -> Unresolved:
        return u._replace(expression=text(u.expression), reason=text(u.reason))

    return replace(base, references=texts(base.references), principals=texts(base.principals),
                   bound=texts(base.bound), privileges=tuple(map(grant, base.privileges)),
                   trust=tuple(map(trust, base.trust)),
                   unresolved=tuple(map(entry, base.unresolved)))


def renamed(head: Sequence[IdentityObject], base: Sequence[IdentityObject]
            ) -> dict[tuple[str, str], str]:  # fmt: skip
    """(module directory, old address) -> new address, for each identity among `head` that a
    `moved` block renamed from an identity of `base`, when Terraform makes the move: the old
    address is gone at head and the new one was not at base (else Terraform leaves both
    objects where they are, and the block at the new address is another object)."""
    def where(o: IdentityObject) -> tuple[str, str]:
        return posixpath.dirname(o.location.path), o.address

    at_head, at_base = {where(o) for o in head}, {where(o) for o in base}
    out: dict[tuple[str, str], str] = {}
    for o in head:
        old = moved_from(o)
        module = moved_home(o, posixpath.dirname(o.location.path))
        if old is not None and (module, old) in at_base - at_head and where(o) not in at_base:
            out[(module, old)] = o.address
    return out


def moved_documents(judged: Sequence[tuple[IdentityObject, IdentityObject | None, Touch | None]]
                    ) -> set[tuple[str, str]]:  # fmt: skip
    """(path, address) of each new policy document (no base twin) of `judged` ((head identity,
    its base twin, how the change touched it) each) whose readers (the identities whose
    `inputs` name it, in its file) exist at base and were not touched (their meaning is
    base's): the statements only moved into it. A document no identity reads is judged."""
    readers: dict[tuple[str, str], list[bool]] = {}
    for obj, twin, touch in judged:
        for name, where in obj.inputs:
            if name.startswith(f"{_DOCUMENT}."):
                readers.setdefault((where.path, name), []).append(
                    twin is not None and touch is None)
    return {(obj.location.path, obj.address) for obj, twin, _ in judged
            if twin is None and obj.type == _DOCUMENT
            and all(readers.get((obj.location.path, obj.address), [False]))}
