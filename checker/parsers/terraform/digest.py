"""What a Terraform block says, as a digest: equal at base and head when a change only moved,
re-aligned or reordered it (`IdentityObject.digest`), or changed only the attributes that carry
its grants (`IdentityObject.frame_digest`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from checker.model import ModuleSources
from checker.parsers.terraform.nodes import META, Block
from checker.parsers.terraform.resolver import Resolver

#: Block types whose privileges (and, for `aws_iam_role`, trust) all come from these attributes
#: and nothing else: the rest of the block (`IdentityObject.frame_digest`) says who gets them,
#: so a change confined to these attributes that grants and trusts nothing new is a narrowing.
#: Provider docs:
#: https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_policy,
#: .../iam_role_policy, .../iam_user_policy, .../iam_group_policy,
#: .../data-sources/iam_policy_document, and google's
#: https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/google_project_iam_custom_role
GRANT_ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    "aws_iam_policy": ("policy",),
    "aws_iam_role_policy": ("policy",),
    "aws_iam_user_policy": ("policy",),
    "aws_iam_group_policy": ("policy",),
    "data.aws_iam_policy_document": ("statement",),
    "google_project_iam_custom_role": ("permissions",),
    "google_organization_iam_custom_role": ("permissions",),
    # The role's grants and who may assume it (a narrowed trust is a narrowing too):
    # .../resources/iam_role, .../resources/ssoadmin_permission_set_inline_policy, and
    # https://registry.terraform.io/providers/hashicorp/kubernetes/latest/docs/resources/cluster_role_v1
    "aws_iam_role": ("assume_role_policy", "inline_policy", "managed_policy_arns"),
    "aws_ssoadmin_permission_set_inline_policy": ("inline_policy",),
    **{f"kubernetes_{kind}{v}": ("rule",) for kind in ("role", "cluster_role")
       for v in ("", "_v1")},
}


#: Attributes that carry only governance metadata (owner, ticket, expiry as tags, labels or
#: `key=value` pairs in a description), never access: `IdentityObject.untagged_digest` leaves
#: them out. Provider docs: https://registry.terraform.io/providers/hashicorp/aws/latest/docs/guides/resource-tagging,
#: https://registry.terraform.io/providers/hashicorp/google/latest/docs/guides/provider_reference#default_labels
METADATA_ATTRIBUTES = ("tags", "tags_all", "labels", "description")


def block_digest(block: Block, module: ModuleSources | None, without: tuple[str, ...] = ()
                 ) -> str:  # fmt: skip
    """`IdentityObject.digest` of a `resource`/`data` block: sha256 (32 hex) over its section,
    labels and body as canonical JSON, position markers dropped, whole `local.*`/`var.*`
    values that resolve in `module` substituted (with a resolver of its own, so the identity's
    recorded `inputs` stay the ones its grants read). `without`: top-level attributes left out
    (`frame_digest`)."""
    body: Any = _without_markers(
        {k: v for k, v in block.node.body.items() if k not in without})
    if module is not None:
        body = Resolver(module).resolve_deep(body)
    payload = json.dumps([block.section, list(block.labels), body], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _without_markers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_markers(v) for k, v in value.items() if k not in META}
    if isinstance(value, list):
        return [_without_markers(v) for v in value]
    return value
