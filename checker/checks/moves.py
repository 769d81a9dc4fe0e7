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
a RoleBinding grants in its namespace, a ClusterRoleBinding cluster-wide)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from checker.model import IdentityObject

#: `parsers/terraform/moved.py`'s `MOVED_FROM`: checks do not import parsers.
_MOVED_FROM = "moved.from="
#: The Kubernetes binding kinds, each with the other (`rescoped_twin`).
_OTHER_BINDING = {"RoleBinding": "ClusterRoleBinding", "ClusterRoleBinding": "RoleBinding"}


def moved_from(obj: IdentityObject) -> str | None:
    """The address a `moved` block says `obj` had at base, else None."""
    return next((k[len(_MOVED_FROM):] for k in obj.attribute_lines
                 if k.startswith(_MOVED_FROM)), None)


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
    if old is None or module is None or old in at_head.get(module, ()):
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
