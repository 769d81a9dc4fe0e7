"""AWS IAM grants: policy documents, IAM roles and attachments, IAM Identity Center (SSO).

`policy_document` decodes a `policy` value (`jsonencode(...)`, a heredoc or JSON string, or an
object); `policy_grants` turns the document in one attribute into `Grant`s, one per Action x
Resource, at the line of its statement. The `aws_*` functions are grant extractors, listed in
`grants.EXTRACTORS`. The statement normalisation is
`checker.parsers.aws_policy`'s, shared with the Kubernetes parser (Crossplane, ACK).
"""

from __future__ import annotations

import json
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.model import Grant
from checker.parsers.aws_policy import (
    effect_of,
    statement_grants,
)
from checker.parsers.terraform.expansion import nested_blocks
from checker.parsers.terraform.hcl import hcl_errors, load_hcl
from checker.parsers.terraform.nodes import Node, strings

#: An `Action`/`NotAction` key in a policy's text, for the line of each statement.
_ACTION_KEY = lazy_compile(r"(?<![\w])(NotAction|Action)(?:\\?\")?\s*[=:]")


def policy_document(value: Any) -> Any:
    """An IAM policy document (dict) from a `policy` value, or None.

    Handles `jsonencode({...})` (python-hcl2 gives `${jsonencode({...})}` with JSON-like inner
    text; when raw quotes inside `${...}` make it invalid JSON, the text is re-parsed as an
    HCL object expression, which also covers `.tf.json`, where the inner text is HCL), heredoc
    or plain JSON strings (same lenient fallback, e.g. for trailing commas), and an
    already-decoded object. Other expressions (`data.x.json`, `file(...)`) give None.
    """
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("${jsonencode(") and text.endswith(")}"):
        text = text[len("${jsonencode(") : -2].strip()
    if not text.startswith("{"):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        parsed = load_hcl(f"nhi_gate_policy = {text}\n")
    except hcl_errors():
        return None
    return parsed.get("nhi_gate_policy") if isinstance(parsed, dict) else None


def policy_grants(node: Node, attr: str) -> list[Grant]:
    """Grants of the IAM policy document in attribute `attr` of `node`.

    One `Grant` per Action (or NotAction, `not_action=True`) x Resource (`*` when absent or
    `NotResource`), `effect` from Effect. Each statement's line is the line of its `Action`/
    `NotAction` key inside the attribute's text when those keys can be matched one-to-one to
    the statements, else the attribute's line.
    """
    doc = policy_document(node.get(attr))
    if not isinstance(doc, dict):
        return []
    if node.doc.resolver is not None:  # `Action = local.actions` inside jsonencode(...)
        doc = node.doc.resolver.resolve_deep(doc)
    statements = doc.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return []
    attr_line = node.line(attr)
    first, last = node.attrs.get(attr, (attr_line, attr_line))
    key_lines = [
        ln
        for ln in range(first, last + 1)
        for _ in _ACTION_KEY.finditer(node.doc.lines[ln - 1] if ln <= len(node.doc.lines) else "")
    ]
    with_action = [
        s for s in statements if isinstance(s, dict) and ("Action" in s or "NotAction" in s)
    ]
    lines = key_lines if len(key_lines) == len(with_action) else [attr_line] * len(with_action)
    grants: list[Grant] = []
    for statement, line in zip(with_action, lines, strict=True):
        grants.extend(statement_grants(statement, line))
    return grants


def block_conditions(statement: Node) -> tuple[str, ...]:
    """The `condition { test, variable }` blocks of a `data "aws_iam_policy_document"` statement
    as sorted `test:variable` strings (as `statement_conditions`). Source:
    https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/iam_policy_document#condition
    """
    return tuple(sorted({
        f"{c.get('test')}:{c.get('variable')}"
        for c in statement.blocks("condition")
        if isinstance(c.get("test"), str) and isinstance(c.get("variable"), str)
    }))


def aws_policy(node: Node) -> list[Grant]:
    """`aws_iam_policy`, `aws_iam_{role,user,group}_policy`: the `policy` document."""
    return policy_grants(node, "policy")


def aws_role(node: Node) -> list[Grant]:
    """`aws_iam_role`: `managed_policy_arns` and `inline_policy { policy }` blocks.

    `assume_role_policy` is a trust policy (who may assume), not privileges, and is skipped.
    """
    line = node.line("managed_policy_arns")
    grants = [Grant(action=a, line=line) for a in strings(node.get("managed_policy_arns"))]
    for inline in node.blocks("inline_policy"):
        grants.extend(policy_grants(inline, "policy"))
    return grants


def aws_attachment(node: Node) -> list[Grant]:
    """`aws_iam_*_policy_attachment`: the attached `policy_arn` as written."""
    return [Grant(action=a, line=node.line("policy_arn")) for a in strings(node.get("policy_arn"))]


def aws_sso_assignment(node: Node) -> list[Grant]:
    """`aws_ssoadmin_account_assignment`: the `permission_set_arn` as written, on `target_id`
    (the AWS account the principal gains it in), at the permission set's line."""
    target = node.get("target_id")
    resource = target if isinstance(target, str) else "*"
    return [Grant(action=a, resource=resource, line=node.line("permission_set_arn"))
            for a in strings(node.get("permission_set_arn"))]


def aws_sso_managed_policy(node: Node) -> list[Grant]:
    """`aws_ssoadmin_managed_policy_attachment`: the attached `managed_policy_arn` as written."""
    return [Grant(action=a, line=node.line("managed_policy_arn"))
            for a in strings(node.get("managed_policy_arn"))]


def aws_sso_inline_policy(node: Node) -> list[Grant]:
    """`aws_ssoadmin_permission_set_inline_policy`: the `inline_policy` document."""
    return policy_grants(node, "inline_policy")


def aws_policy_document(node: Node) -> list[Grant]:
    """`data "aws_iam_policy_document"`: each `statement` block, and each instance of a
    `dynamic "statement"` block whose `for_each` is known (`expansion.nested_blocks`).

    `actions`/`not_actions` x `resources` (`*` when absent or `not_resources`); `effect`
    defaults to Allow; `condition` blocks as `Grant.conditions`; line = the statement's
    `actions`/`not_actions` line, else its start.
    """
    grants: list[Grant] = []
    for st in nested_blocks(node, "statement"):
        not_action = "actions" not in st.body and "not_actions" in st.body
        actions = strings(st.get("not_actions" if not_action else "actions"))
        resources = strings(st.get("resources")) or ["*"]
        line = st.line("not_actions" if not_action else "actions")
        effect = effect_of(st.get("effect"))
        conditions = block_conditions(st)
        grants.extend(
            Grant(action=a, resource=r, effect=effect, not_action=not_action, line=line,
                  conditions=conditions)
            for a in actions
            for r in resources
        )
    return grants


def permissions_boundary(rtype: str, node: Node) -> str | None:
    """The `permissions_boundary` of an `aws_iam_role`/`aws_iam_user` (`model.IdentityObject.
    boundary`), resolved when `node` resolves; None when absent or another type. Source:
    https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_role#permissions_boundary
    """
    if rtype not in ("aws_iam_role", "aws_iam_user"):
        return None
    value = node.get("permissions_boundary")
    return value if isinstance(value, str) and value.strip() else None


def aws_exclusive_attachments(node: Node) -> list[Grant]:
    """`aws_iam_{role,user}_policy_attachments_exclusive`: each of `policy_arns` as written, at
    the `policy_arns` line (the resource sets the complete list of managed policies).
    Source: https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/iam_role_policy_attachments_exclusive
    """
    line = node.line("policy_arns")
    return [Grant(action=a, line=line) for a in strings(node.get("policy_arns"))]


def aws_eks_access_policy(node: Node) -> list[Grant]:
    """`aws_eks_access_policy_association`: the EKS access policy `policy_arn` as written, on
    the literal `cluster_name` (`*` when it is an expression), at the `policy_arn` line. An
    `access_scope { type = "namespace" }` limits it to `namespaces`, which become the
    resources instead. Source:
    https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/eks_access_policy_association
    """
    cluster = node.get("cluster_name")
    resources = [cluster if isinstance(cluster, str) and "${" not in cluster else "*"]
    for scope in node.blocks("access_scope"):
        if scope.get("type") == "namespace" and (names := strings(scope.get("namespaces"))):
            resources = [f"namespace/{n}" for n in names]
    line = node.line("policy_arn")
    return [Grant(action=a, resource=r, line=line)
            for a in strings(node.get("policy_arn")) for r in resources]



#: `aws_organizations_policy` types whose Deny statements cap the accounts under a target (an
#: SCP, and an RCP for resources); the default type is an SCP. Source:
#: https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/organizations_policy
_CAPPING_POLICIES = ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY")


def aws_organizations_policy(node: Node) -> list[Grant]:
    """`aws_organizations_policy`: the Deny statements of `content` (deny grants) when its
    `type` is a service or resource control policy (the default), else nothing. An SCP grants
    no permission: its Allow statements only bound what the accounts' own policies may grant,
    and its Deny statements take away from every account under its targets. Source:
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
    """
    kind = node.get("type")
    if isinstance(kind, str) and "${" not in kind and kind not in _CAPPING_POLICIES:
        return []
    return [g for g in policy_grants(node, "content") if g.effect == "deny"]


def aws_organizations_attachment(node: Node) -> list[Grant]:
    """`aws_organizations_policy_attachment`: the attached `policy_id` as written, on the
    `target_id` (an account, an organizational unit or the root) as written. Source:
    https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/organizations_policy_attachment
    """
    target = node.get("target_id")
    resource = target if isinstance(target, str) else "*"
    return [Grant(action=a, resource=resource, line=node.line("policy_id"))
            for a in strings(node.get("policy_id"))]
