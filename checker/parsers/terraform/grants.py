"""Grant extractors for GCP, Azure, the Kubernetes provider, AWS KMS and Vault, and the
`EXTRACTORS` table (resource type -> extractor), which also lists the AWS IAM extractors of
`grants_aws`, the Azure ones of `grants_azure`, the GitHub ones of `grants_github` and the
Cognito identity pool one of `grants_cognito`. An
extractor turns one block `Node` into `Grant`s, each at its own line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from checker.model import Grant
from checker.parsers.terraform.digest import GRANT_ATTRIBUTES
from checker.parsers.terraform.expansion import nested_blocks
from checker.parsers.terraform.grants_aws import (
    aws_attachment,
    aws_eks_access_policy,
    aws_exclusive_attachments,
    aws_organizations_attachment,
    aws_organizations_policy,
    aws_policy,
    aws_policy_document,
    aws_role,
    aws_sso_assignment,
    aws_sso_inline_policy,
    aws_sso_managed_policy,
)
from checker.parsers.terraform.grants_azure import (
    aks_cluster,
    azapi_resource,
    directory_role_assignment,
)
from checker.parsers.terraform.grants_cognito import cognito_roles
from checker.parsers.terraform.grants_github import (
    deploy_key,
    membership,
    repository_collaborator,
    repository_collaborators,
)
from checker.parsers.terraform.hcl import hcl_errors, load_hcl
from checker.parsers.terraform.nodes import Node, as_list, int_or, is_expr, strings

#: Attributes naming what a `google_*_iam_member/_binding` applies to, in lookup order: the
#: resource itself first, so a repository binding's `project` (a qualifier) is not taken as
#: its target; project/folder/organisation last. The names are those of the provider pages
#: of the families in rules/catalogue/terraform.yaml (an empty value is skipped).
_GCP_TARGETS = (
    "service_account_id",
    "managed_folder",
    "bucket",
    "secret_id",
    "repository",
    "repository_id",
    "crypto_key_id",
    "key_ring_id",
    "topic",
    "subscription",
    "table_id",
    "dataset_id",
    "listing_id",
    "data_exchange_id",
    "database",
    "instance_name",
    "instance_id",
    "subnetwork",
    "cloud_function",
    "cloud_run_service_name",
    "web_backend_service",
    "managed_zone",
    "tag_key",
    "tag_value",
    "policy_tag",
    "tag_template",
    "taxonomy",
    "data_scan_id",
    "aspect_type_id",
    "dataplex_zone",
    "lake",
    "cluster",
    "connection_id",
    "ca_pool",
    "workstation_id",
    "workstation_config_id",
    "api_config",
    "api",
    "gateway",
    "attestor",
    "env_id",
    "service_name",
    "billing_account_id",
    "instance",
    "service",
    "name",
    "folder",
    "org_id",
    "organization",
    "project",
)


def gcp_conditions(node: Node) -> tuple[str, ...]:
    """The IAM conditions of a GCP binding as `Grant.conditions`: each `condition { title,
    expression }` block (written out, or a `dynamic "condition"` whose `for_each` is known) by
    its `title` (its `expression` when the title is not a known string), sorted and unique; a
    condition nhi-gate cannot compute is left out (it may be null). A binding with a condition
    applies only when the expression holds. Source:
    https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/google_project_iam#condition
    """
    out: set[str] = set()
    for cond in nested_blocks(node, "condition"):
        title, expression = cond.get("title"), cond.get("expression")
        name = title if isinstance(title, str) and title and not is_expr(title) else expression
        if isinstance(name, str) and name and not is_expr(name):
            out.add(name)
    return tuple(sorted(out))


def _gcp_member(node: Node) -> list[Grant]:
    """`google_*_iam_member` / `google_*_iam_binding`: the `role` on its target as written,
    with its `condition` blocks (`gcp_conditions`)."""
    target = next((v for k in _GCP_TARGETS if isinstance(v := node.get(k), str) and v), "*")
    conditions = gcp_conditions(node)
    return [
        Grant(action=r, resource=target, line=node.line("role"), conditions=conditions)
        for r in strings(node.get("role"))
    ]


def _gcp_iam_policy(node: Node) -> list[Grant]:
    """`data.google_iam_policy`: each `binding { role }` as a grant on `*` (the document is
    applied elsewhere, by a `*_iam_policy` resource), with the binding's `condition` blocks;
    the line is the binding's `role`."""
    return [
        Grant(action=r, resource="*", line=b.line("role"), conditions=gcp_conditions(b))
        for b in node.blocks("binding")
        for r in strings(b.get("role"))
    ]


def _gcp_custom_role(node: Node) -> list[Grant]:
    """`google_{project,organization}_iam_custom_role`: one grant per permission."""
    target = next((v for k in ("project", "org_id") if isinstance(v := node.get(k), str)), "*")
    line = node.line("permissions")
    return [Grant(action=p, resource=target, line=line) for p in strings(node.get("permissions"))]


def _azure_assignment(node: Node) -> list[Grant]:
    """`azurerm_role_assignment`: role name (or id) on `scope`, at the role attribute's line.
    An ABAC `condition` (with its `condition_version`) is the grant's one condition, as
    `<expression> (version <v>)`: the assignment applies only when it holds (one nhi-gate
    cannot compute is left out: it may be null). Source:
    https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs/resources/role_assignment#condition
    """
    attr = "role_definition_name" if "role_definition_name" in node.body else "role_definition_id"
    scope = node.get("scope")
    resource = scope if isinstance(scope, str) else "*"
    condition, version = node.get("condition"), node.get("condition_version")
    version = version if isinstance(version, str) and not is_expr(version) else "none"
    conditions = (f"{condition} (version {version})",) if isinstance(
        condition, str) and condition and not is_expr(condition) else ()
    return [
        Grant(action=r, resource=resource, line=node.line(attr), conditions=conditions)
        for r in strings(node.get(attr))
    ]


def _azure_role_definition(node: Node) -> list[Grant]:
    """`azurerm_role_definition`: `permissions { actions, not_actions, data_actions }` on scope."""
    scope = node.get("scope")
    resource = scope if isinstance(scope, str) else "*"
    grants: list[Grant] = []
    for perm in node.blocks("permissions"):
        for attr in ("actions", "data_actions", "not_actions", "not_data_actions"):
            line = perm.line(attr)
            grants.extend(
                Grant(action=a, resource=resource, not_action=attr.startswith("not_"), line=line)
                for a in strings(perm.get(attr))
            )
    return grants


def _k8s_binding(node: Node) -> list[Grant]:
    """`kubernetes_(cluster_)role_binding(_v1)`: `role_ref` as `Kind/name`.

    The resource is the binding's namespace (`*` for cluster bindings or when not literal);
    the line is the `role_ref` block's `name` line.
    """
    namespace = "*"
    for meta in node.blocks("metadata"):
        value = meta.get("namespace")
        if isinstance(value, str) and not is_expr(value):
            namespace = value
    grants: list[Grant] = []
    for ref in node.blocks("role_ref"):
        kind, name = ref.get("kind"), ref.get("name")
        if isinstance(kind, str) and isinstance(name, str):
            grants.append(Grant(action=f"{kind}/{name}", resource=namespace, line=ref.line("name")))
    return grants


def _k8s_role(node: Node) -> list[Grant]:
    """`kubernetes_(cluster_)role(_v1)`: each `rule` -> verb x `<apiGroup>/<resource>`.

    The core API group is `""`, so core secrets read as `/secrets`; `non_resource_urls`
    become resources as written; the line is the rule block's start.
    """
    grants: list[Grant] = []
    for rule in node.blocks("rule"):
        groups = strings(rule.get("api_groups")) or [""]
        targets = [f"{g}/{r}" for g in groups for r in strings(rule.get("resources"))]
        targets += strings(rule.get("non_resource_urls"))
        grants.extend(
            Grant(action=v, resource=t, line=rule.start)
            for v in strings(rule.get("verbs"))
            for t in targets
        )
    return grants


def _aws_kms_grant(node: Node) -> list[Grant]:
    """`aws_kms_grant`: each of `operations` (KMS grant operation names as written:
    `Decrypt`, `CreateGrant`) on the `key_id`, at the `operations` line. The grantee is in
    `references`/`principals`. Grant operations carry no service prefix, so they never collide
    with IAM actions in `rules/privileges.yaml`.
    See https://docs.aws.amazon.com/kms/latest/developerguide/grants.html#terms-grant-operations
    """
    key = node.get("key_id")
    resource = key if isinstance(key, str) else "*"
    line = node.line("operations")
    operations = strings(node.get("operations"))
    return [Grant(action=op, resource=resource, line=line) for op in operations]


def _vault_policy(node: Node) -> list[Grant]:
    """`vault_policy`: the HCL `policy` text, `path "p" { capabilities = [...] }` -> grants.

    Only literal policy text (heredoc or string) is read; its lines are offset from the
    `policy` attribute (a heredoc body starts on the line after `<<EOT`).
    """
    text = node.get("policy")
    if not isinstance(text, str) or is_expr(text):
        return []
    try:
        parsed = load_hcl(text + "\n", with_meta=True)
    except hcl_errors():
        return []
    if not isinstance(parsed, dict):
        return []
    attr_line = node.line("policy")
    first_line = node.doc.lines[attr_line - 1] if attr_line <= len(node.doc.lines) else ""
    offset = attr_line if "<<" in first_line else attr_line - 1
    in_place = text == node.body.get("policy")  # else a module value: its lines are elsewhere
    grants: list[Grant] = []
    for group in as_list(parsed.get("path")):
        if not isinstance(group, dict):
            continue
        for path, body in group.items():
            if isinstance(body, dict):
                line = offset + int_or(body.get("__start_line__"), 1) if in_place else attr_line
                grants.extend(
                    Grant(action=c, resource=str(path), line=line)
                    for c in strings(body.get("capabilities"))
                )
    return grants


def _vault_policy_document(node: Node) -> list[Grant]:
    """`data "vault_policy_document"`: each `rule { path, capabilities }` block."""
    grants: list[Grant] = []
    for rule in node.blocks("rule"):
        path = rule.get("path")
        resource = path if isinstance(path, str) else "*"
        line = rule.line("capabilities")
        grants.extend(
            Grant(action=c, resource=resource, line=line)
            for c in strings(rule.get("capabilities"))
        )
    return grants


def _vault_token_policies(node: Node) -> list[Grant]:
    """Vault auth roles and tokens: each attached Vault policy name (`token_policies`,
    `policies`) as an action on `*`."""
    attr = "token_policies" if "token_policies" in node.body else "policies"
    return [Grant(action=p, line=node.line(attr)) for p in strings(node.get(attr))]


#: One block `Node` -> its `Grant`s.
Extractor = Callable[[Node], list[Grant]]

#: Resource type (Kubernetes `_v1` suffix removed) -> grant extractor. `google_*_iam_member`
#: and `google_*_iam_binding` are matched by suffix in `grant_extractor`.
EXTRACTORS: Mapping[str, Extractor] = {
    "aws_iam_policy": aws_policy,
    "aws_iam_role_policy": aws_policy,
    "aws_iam_user_policy": aws_policy,
    "aws_iam_group_policy": aws_policy,
    "aws_iam_role": aws_role,
    "aws_iam_role_policy_attachment": aws_attachment,
    "aws_iam_user_policy_attachment": aws_attachment,
    "aws_iam_group_policy_attachment": aws_attachment,
    "aws_iam_policy_attachment": aws_attachment,
    "aws_iam_role_policy_attachments_exclusive": aws_exclusive_attachments,
    "aws_iam_user_policy_attachments_exclusive": aws_exclusive_attachments,
    "aws_eks_access_policy_association": aws_eks_access_policy,
    "aws_organizations_policy": aws_organizations_policy,
    "aws_organizations_policy_attachment": aws_organizations_attachment,
    "aws_iam_policy_document": aws_policy_document,
    "aws_kms_grant": _aws_kms_grant,
    "aws_cognito_identity_pool_roles_attachment": cognito_roles,
    "aws_ssoadmin_account_assignment": aws_sso_assignment,
    "aws_ssoadmin_managed_policy_attachment": aws_sso_managed_policy,
    "aws_ssoadmin_permission_set_inline_policy": aws_sso_inline_policy,
    "google_iam_policy": _gcp_iam_policy,
    "google_project_iam_custom_role": _gcp_custom_role,
    "google_organization_iam_custom_role": _gcp_custom_role,
    "azurerm_role_assignment": _azure_assignment,
    "azurerm_role_definition": _azure_role_definition,
    "azurerm_kubernetes_cluster": aks_cluster,
    "azuread_directory_role_assignment": directory_role_assignment,
    "azapi_resource": azapi_resource,
    "kubernetes_cluster_role_binding": _k8s_binding,
    "kubernetes_role_binding": _k8s_binding,
    "kubernetes_cluster_role": _k8s_role,
    "kubernetes_role": _k8s_role,
    "vault_policy": _vault_policy,
    "vault_policy_document": _vault_policy_document,
    "vault_approle_auth_backend_role": _vault_token_policies,
    "vault_jwt_auth_backend_role": _vault_token_policies,
    "vault_kubernetes_auth_backend_role": _vault_token_policies,
    "vault_aws_auth_backend_role": _vault_token_policies,
    "vault_gcp_auth_backend_role": _vault_token_policies,
    "vault_token": _vault_token_policies,
    "github_repository_collaborator": repository_collaborator,
    "github_team_repository": repository_collaborator,
    "github_repository_collaborators": repository_collaborators,
    "github_membership": membership,
    "github_repository_deploy_key": deploy_key,
}


#: Attributes of a GCP or Azure role binding that say what it grants and when (role, scope,
#: condition): the rest of the block (who gets them) is its `IdentityObject.frame_digest`, so
#: a change confined to these that grants nothing new is a narrowing. Provider docs:
#: https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources/google_project_iam,
#: https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs/resources/role_assignment
_GCP_GRANT_ATTRIBUTES = ("role", "condition", "dynamic", "members")
_AZURE_GRANT_ATTRIBUTES = ("role_definition_name", "role_definition_id", "scope", "condition",
                           "condition_version")


def frame_attributes(key: str) -> tuple[str, ...] | None:
    """The attributes `IdentityObject.frame_digest` leaves out for block type `key`:
    `digest.GRANT_ATTRIBUTES`, and the grant attributes (see above) of a
    `google_*_iam_member`/`_binding` or an `azurerm_role_assignment`; None for other types. A
    binding's `members` are left out too: they are compared by value (`bound_members`)."""
    if key in GRANT_ATTRIBUTES:
        return GRANT_ATTRIBUTES[key]
    if key == "azurerm_role_assignment":
        return _AZURE_GRANT_ATTRIBUTES
    if key.startswith("google_") and key.endswith(("_iam_member", "_iam_binding")):
        return _GCP_GRANT_ATTRIBUTES
    return None


def bound_members(key: str, node: Node) -> tuple[str, ...]:
    """`IdentityObject.bound`: the `members` of a `google_*_iam_binding` (resolved where module
    values resolve them, else as written), sorted and unique; () for other types."""
    if not (key.startswith("google_") and key.endswith("_iam_binding")):
        return ()
    members = node.get("members")
    return tuple(sorted(set(strings(members)))) if not isinstance(members, str) else (members,)


def grant_extractor(rtype: str) -> Extractor | None:
    """The privilege extractor for a resource or data source type, if it has one."""
    key = rtype.removesuffix("_v1") if rtype.startswith("kubernetes_") else rtype
    if key in EXTRACTORS:
        return EXTRACTORS[key]
    if key.startswith("google_") and key.endswith(("_iam_member", "_iam_binding")):
        return _gcp_member
    return None
