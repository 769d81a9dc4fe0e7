"""Identities a Terraform block switches off while keeping them: a value of one attribute under
which the provider keeps the object but it grants or authenticates nothing, read as
`IdentityObject.dormant` (like `count = 0`), so turning a live one off is a removal (a
narrowing note, `checks/drift.py`) and turning it back on a change.

- `google_project_iam_custom_role` / `google_organization_iam_custom_role` `stage =
  "DISABLED"`: "This role is disabled and will not contribute permissions to any principals it
  is granted to in policies" (https://cloud.google.com/iam/docs/reference/rest/v1/organizations.roles#rolelaunchstage,
  https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/google_project_iam_custom_role#stage-1).
- `google_service_account` `disabled = true`: the account cannot authenticate
  (https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/google_service_account#disabled-1,
  https://cloud.google.com/iam/docs/service-accounts-disable-enable).
- `aws_iam_access_key` `status = "Inactive"`: the key cannot sign requests
  (https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_access_key#status-1,
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html#Using_RotateAccessKey).

A value that is not computed is not off (fail closed: a widening stays judged).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from checker.model import IdentityObject
from checker.parsers.terraform.expressions import Unresolved
from checker.parsers.terraform.nodes import Node
from checker.parsers.terraform.resolver import Resolver

#: The `attribute_lines` key of an identity switched off in place (read by `checks/drift.py`).
SWITCHED_OFF = "switched-off"
#: Block type -> (attribute, the value that switches the identity off).
SWITCHES: Mapping[str, tuple[str, object]] = {
    "google_project_iam_custom_role": ("stage", "DISABLED"),
    "google_organization_iam_custom_role": ("stage", "DISABLED"),
    "google_service_account": ("disabled", True),
    "aws_iam_access_key": ("status", "Inactive"),
}


def switched_off(rtype: str, node: Node, resolver: Resolver) -> bool:
    """True when block type `rtype`'s switch attribute (`SWITCHES`) in `node` is known to hold
    its off value (literal or from module values). Records no input: the identity's digest
    covers the attribute."""
    switch = SWITCHES.get(rtype)
    if switch is None or switch[0] not in node.body:
        return False
    raw = node.body.get(switch[0])
    try:
        value = resolver.evaluate(node.text(switch[0]), raw)[0] if isinstance(
            raw, (str, list, dict)) else raw
    except (Unresolved, RecursionError):
        return False
    if isinstance(switch[1], bool):
        return value is switch[1] or value == str(switch[1]).lower()
    return value == switch[1]


def with_switch(obj: IdentityObject, rtype: str, node: Node, resolver: Resolver
                ) -> IdentityObject:  # fmt: skip
    """`obj` (block type `rtype`, its `node`) marked switched off when it is (`switched_off`)
    and has instances: `dormant`, and `attribute_lines[SWITCHED_OFF]` the switch's line. A
    block with no instance (`count` 0) is dormant already and stays unmarked."""
    if obj.dormant or not switched_off(rtype, node, resolver):
        return obj
    line = obj.attribute_lines.get(SWITCHES[rtype][0], obj.location.start_line)
    return replace(obj, dormant=True, attribute_lines={**obj.attribute_lines, SWITCHED_OFF: line})


def switchable(obj: IdentityObject) -> bool:
    """True when `obj` is dormant only because it is switched off in place (`with_switch`): it
    still exists (an `Inactive` key is a key), unlike a block with no instance."""
    return SWITCHED_OFF in obj.attribute_lines
