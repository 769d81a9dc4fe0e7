"""A Terraform identity a `moved` block renamed (`parsers/terraform/moved.py` records the old
address as `attribute_lines["moved.from=<address>"]`) is the identity that had the old address
at base: Terraform moves it in its state, it creates nothing
(https://developer.hashicorp.com/terraform/language/moved). `moved_twin` finds that base
identity, for `checks/engine.py` to judge the change against (equal meaning: cosmetic, no
finding; otherwise narrowed or widened like any change), and `moved_from` names the old address
for the messages ("moved from <address>")."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from checker.model import IdentityObject

#: `parsers/terraform/moved.py`'s `MOVED_FROM`: checks do not import parsers.
_MOVED_FROM = "moved.from="


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
