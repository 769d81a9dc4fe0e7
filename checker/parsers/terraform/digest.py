"""What a Terraform block says, as a digest: equal at base and head when a change only moved,
re-aligned or reordered it (`IdentityObject.digest`), or changed only the attributes that carry
its grants (`IdentityObject.frame_digest`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from checker.model import ModuleSources
from checker.parsers.terraform.grants_aws import policy_document
from checker.parsers.terraform.nodes import Block, without_markers
from checker.parsers.terraform.resolver import DataSource, Resolver
from checker.policy.arn_environment import environment_digest

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
    # .../resources/organizations_policy (an SCP's `content`)
    "aws_organizations_policy": ("content",),
    "data.aws_iam_policy_document": ("statement",),
    "google_project_iam_custom_role": ("permissions",),
    "google_organization_iam_custom_role": ("permissions",),
    # The role's grants and who may assume it (a narrowed trust is a narrowing too):
    # .../resources/iam_role, .../resources/ssoadmin_permission_set_inline_policy, and
    # https://registry.terraform.io/providers/hashicorp/kubernetes/latest/docs/resources/cluster_role_v1
    "aws_iam_role": ("assume_role_policy", "inline_policy", "managed_policy_arns"),
    "aws_ssoadmin_permission_set_inline_policy": ("inline_policy",),
    # The attached policy is the whole grant: .../resources/iam_role_policy_attachment,
    # .../iam_user_policy_attachment, .../iam_group_policy_attachment
    **{f"aws_iam_{who}_policy_attachment": ("policy_arn",) for who in ("role", "user", "group")},
    **{f"kubernetes_{kind}{v}": ("rule",) for kind in ("role", "cluster_role")
       for v in ("", "_v1")},
    # The roles an identity pool hands out (`grants_cognito.py`):
    # .../resources/cognito_identity_pool_roles_attachment
    "aws_cognito_identity_pool_roles_attachment": ("roles", "role_mapping"),
    # A GitHub repository role, organisation role or deploy key's write access
    # (`parsers/terraform/grants_github.py` cites the integrations/github pages)
    "github_repository_collaborator": ("permission",),
    "github_team_repository": ("permission",),
    "github_membership": ("role",),
    "github_repository_deploy_key": ("read_only",),
}


#: Attributes that carry only governance metadata (owner, ticket, expiry as tags, labels or
#: `key=value` pairs in a description), never access: `IdentityObject.untagged_digest` leaves
#: them out. Provider docs: https://registry.terraform.io/providers/hashicorp/aws/latest/docs/guides/resource-tagging,
#: https://registry.terraform.io/providers/hashicorp/google/latest/docs/guides/provider_reference#default_labels
METADATA_ATTRIBUTES = ("tags", "tags_all", "labels", "description")


#: Terraform meta-arguments that only order or guard what Terraform does with a block, never
#: what it grants: `depends_on` (the order of operations) and these `lifecycle` arguments
#: (refuse to destroy, create the replacement first, ignore later drift of an attribute). Left
#: out of every digest; anything else in `lifecycle` (`replace_triggered_by`, conditions) stays.
#: Source: https://developer.hashicorp.com/terraform/language/meta-arguments/lifecycle,
#: https://developer.hashicorp.com/terraform/language/meta-arguments/depends_on
_ORDERING = frozenset({"depends_on"})
_LIFECYCLE_GUARDS = frozenset({"prevent_destroy", "create_before_destroy", "ignore_changes"})

#: Attributes an identity carries as a value of its own (`IdentityObject.session`), compared by
#: `checks/drift.py` (shorter is a narrowing, longer a widening), so no digest holds them. Source:
#: https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_role#max_session_duration-1
SESSION_ATTRIBUTES: Mapping[str, str] = {"aws_iam_role": "max_session_duration"}


def block_digest(block: Block, module: ModuleSources | None, without: tuple[str, ...] = (),
                 documents: Mapping[str, DataSource] | None = None, neutral: bool = False
                 ) -> str:  # fmt: skip
    """`IdentityObject.digest` of a `resource`/`data` block: sha256 (32 hex) over its section,
    labels and body as canonical JSON, position markers dropped, whole `local.*`/`var.*`
    values that resolve in `module` and the file's `data.aws_iam_policy_document` documents
    (`documents`, `expansion.document_sources`) substituted (with a resolver of its own, so
    the identity's recorded `inputs` stay the ones its grants read). `without`: top-level
    attributes left out (`frame_digest`); `depends_on`, the `lifecycle` guards
    (`_LIFECYCLE_GUARDS`) and `SESSION_ATTRIBUTES` are always left out. An attribute holding
    an IAM JSON document (`POLICY_ATTRIBUTES`, at any depth) counts as its
    `canonical_policy`, so `jsonencode` vs heredoc vs `file()` vs an equivalent policy
    document data source, key order, statement order, `Sid` and `"x"` vs `["x"]` change
    nothing. `neutral`: its `arn_environment.environment_digest` instead."""
    session = SESSION_ATTRIBUTES.get(block.labels[0]) if (
        block.section == "resource" and block.labels) else None
    body: Any = _without_guards(without_markers(
        {k: v for k, v in block.node.body.items()
         if k not in without and k not in _ORDERING and k != session}))
    resolver = Resolver(module, documents) if module is not None or documents else None
    if resolver is not None:
        body = resolver.resolve_deep(body)
    body = _documents_canonical(body, resolver, 0)
    payload = json.dumps([block.section, list(block.labels), body], sort_keys=True, default=str)
    if neutral:  # `IdentityObject.environment_digest`
        return environment_digest(payload)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _without_guards(body: dict[str, Any]) -> dict[str, Any]:
    """`body` with the `_LIFECYCLE_GUARDS` of its `lifecycle` block(s) left out, and the
    block left out when nothing else is in it."""
    if "lifecycle" not in body:
        return body
    blocks = body["lifecycle"] if isinstance(body["lifecycle"], list) else [body["lifecycle"]]
    kept = [{k: v for k, v in b.items() if k not in _LIFECYCLE_GUARDS} if isinstance(b, dict)
            else b for b in blocks]
    kept = [b for b in kept if b != {}]
    out = {k: v for k, v in body.items() if k != "lifecycle"}
    if kept:
        out["lifecycle"] = kept
    return out


#: Attributes that hold an IAM JSON policy document (as `jsonencode(...)`, a heredoc, a
#: `file()` text or a value read from a local). Provider docs:
#: https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_policy,
#: .../iam_role (`assume_role_policy`, `inline_policy { policy }`),
#: .../ssoadmin_permission_set_inline_policy (`inline_policy`), .../s3_bucket_policy,
#: .../kms_key (`policy`), .../sqs_queue_policy, .../ecr_repository_policy.
POLICY_ATTRIBUTES = frozenset({"policy", "assume_role_policy", "inline_policy", "policy_json",
                               "access_policies", "access_policy", "resource_policy"})

#: Statement keys whose value is a set of strings (one string means a one-element set). Source:
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html
_SET_KEYS = frozenset({"Action", "NotAction", "Resource", "NotResource"})

_MAX_DEPTH = 16


def canonical_policy(doc: Mapping[str, Any]) -> dict[str, Any]:
    """An IAM policy document (dict) in one canonical form, for digests only: `Statement` a
    list (one object -> one-element list) sorted by each statement's canonical JSON; in each
    statement `Action`/`NotAction`/`Resource`/`NotResource` and every `Principal`/
    `NotPrincipal` and `Condition` value a sorted list without repeats (a single string is the
    one-element list), and no `Sid`: it only names the statement, IAM never reads it to decide
    access. `Version` and every condition value are kept. Sources (these elements are sets):
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html, and
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html.
    The `sid` of a `data "aws_iam_policy_document"` statement block is no JSON document here
    and stays in its digest: the provider merges `source_policy_documents` and
    `override_policy_documents` statements by it."""
    out = dict(doc)
    statements = out.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if isinstance(statements, list):
        canon = [_canonical_statement(s) if isinstance(s, dict) else s for s in statements]
        out["Statement"] = sorted(canon, key=lambda s: json.dumps(s, sort_keys=True, default=str))
    return out


def _canonical_statement(statement: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in statement.items():
        if key == "Sid":
            continue
        if key in _SET_KEYS:
            out[key] = _string_set(value)
        elif key in ("Principal", "NotPrincipal", "Condition") and isinstance(value, dict):
            out[key] = {k: ({c: _string_set(v) for c, v in inner.items()}
                            if key == "Condition" and isinstance(inner, dict)
                            else _string_set(inner))
                        for k, inner in value.items()}
        else:
            out[key] = value
    return out


def _string_set(value: Any) -> Any:
    """A string or a list of scalars as a sorted list without repeats; anything else as is."""
    if isinstance(value, (str, int, float, bool)):
        return [value]
    if isinstance(value, list) and all(isinstance(v, (str, int, float, bool)) for v in value):
        return sorted(set(value), key=lambda v: json.dumps(v))
    return value


def _documents_canonical(value: Any, resolver: Resolver | None, depth: int) -> Any:
    """`value` with every `POLICY_ATTRIBUTES` value that decodes to a policy document (one
    with a `Statement`) replaced by its `canonical_policy`."""
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, list):
        return [_documents_canonical(v, resolver, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        doc = policy_document(item) if key in POLICY_ATTRIBUTES else None
        if isinstance(doc, dict) and "Statement" in doc:
            if resolver is not None:  # `Action = local.actions` inside jsonencode(...)
                doc = resolver.resolve_deep(doc)
            out[key] = {"nhi_gate_policy": canonical_policy(doc)}
        else:
            out[key] = _documents_canonical(item, resolver, depth + 1)
    return out
