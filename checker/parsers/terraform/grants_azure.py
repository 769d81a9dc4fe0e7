"""Grant extractors for Azure resource types beyond `azurerm_role_assignment` (in `grants`):
AKS clusters, Entra directory role assignments and `azapi_resource` bodies. Each turns one
block `Node` into `Grant`s at their own lines; `grants.EXTRACTORS` lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checker.model import Grant
from checker.parsers.terraform.grants_aws import policy_document
from checker.parsers.terraform.nodes import (
    META,
    Node,
    as_list,
    find_line,
    int_or,
    is_expr,
    strings,
)

#: The parts of an `azurerm_kubernetes_cluster` that say who the cluster runs as and who
#: administers it; only these make its digest (`IDENTITY_PARTS`), so resizing a node pool is
#: no identity change. `dynamic` blocks are kept whole (they may generate any of them).
#: Source: https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs/resources/kubernetes_cluster
AKS_IDENTITY_PARTS = (
    "identity", "service_principal", "kubelet_identity", "windows_profile",
    "azure_active_directory_role_based_access_control", "local_account_disabled", "dynamic",
)

#: Resource type -> the only top-level attributes and blocks its `IdentityObject.digest` covers.
IDENTITY_PARTS: Mapping[str, tuple[str, ...]] = {"azurerm_kubernetes_cluster": AKS_IDENTITY_PARTS}


def not_identity_parts(key: str, body: Mapping[str, Any]) -> tuple[str, ...]:
    """The top-level names of `body` its digest leaves out: those not in `IDENTITY_PARTS[key]`
    (none for a type not listed there)."""
    parts = IDENTITY_PARTS.get(key)
    return () if parts is None else tuple(k for k in body if k not in parts)


def nested(node: Node, name: str) -> list[Node]:
    """Nested blocks `name`, written out or as the `content` of a `dynamic "name"` block (HCL
    only: python-hcl2 gives `dynamic` as a list of `{name: {for_each, content: [...]}}`)."""
    out = node.blocks(name)
    if node.doc.spans is not None:
        return out
    for item in as_list(node.body.get("dynamic")):
        spec = item.get(name) if isinstance(item, dict) else None
        for body in as_list(spec.get("content")) if isinstance(spec, dict) else ():
            if isinstance(body, dict) and "__start_line__" in body:
                start = int_or(body.get("__start_line__"), node.start)
                out.append(node.doc.node(body, (), start, int_or(body.get("__end_line__"), start)))
    return out


def aks_cluster(node: Node) -> list[Grant]:
    """`azurerm_kubernetes_cluster`: the Entra groups in
    `azure_active_directory_role_based_access_control.admin_group_object_ids` get the cluster's
    admin role (bound to `cluster-admin`): one `ClusterRole/cluster-admin` grant on the cluster
    when the list (resolved through module values) is a non-empty list, at its line; a whole
    expression that does not resolve (`var.admin_groups` with no value) gives none. Who the
    cluster runs as (`identity`, `kubelet_identity`, `service_principal`) is in
    `references`/`principals`.
    Source: https://learn.microsoft.com/javascript/api/@azure/arm-containerservice/managedclusteraadprofile
    ("adminGroupObjectIDs: the list of AAD group object IDs that will have admin role of the
    cluster")."""
    name = node.get("name")
    cluster = f"aks:{name}" if isinstance(name, str) else "*"
    grants: list[Grant] = []
    for rbac in nested(node, "azure_active_directory_role_based_access_control"):
        groups = rbac.get("admin_group_object_ids")
        if not groups or (isinstance(groups, str) and is_expr(groups)):
            continue  # none, or a whole expression not resolved (a module input: the caller's)
        grants.append(Grant(action="ClusterRole/cluster-admin", resource=cluster,
                            line=rbac.line("admin_group_object_ids")))
    return grants


def directory_role_assignment(node: Node) -> list[Grant]:
    """`azuread_directory_role_assignment`: `role_id` (an Entra role template or object id, as
    written) on `directory_scope_id` (`/`, the whole tenant, when absent), at the `role_id`
    line. Global Administrator and Privileged Role Administrator are admin-equivalent
    (rules/privileges.yaml)."""
    scope = node.get("directory_scope_id")
    resource = scope if isinstance(scope, str) else "/"
    return [Grant(action=r, resource=resource, line=node.line("role_id"))
            for r in strings(node.get("role_id"))]


def _properties(node: Node) -> Mapping[str, Any]:
    body = policy_document(node.get("body"))
    props = body.get("properties") if isinstance(body, dict) else None
    return {k: v for k, v in props.items() if k not in META} if isinstance(props, dict) else {}


def azapi_resource(node: Node) -> list[Grant]:
    """`azapi_resource` by its ARM `type` (version and case ignored):
    - `Microsoft.Authorization/roleAssignments`: `properties.roleDefinitionId` on `parent_id`;
    - `Microsoft.Authorization/roleDefinitions`: each `properties.permissions[]` action,
      data action and not-action on `parent_id`.
    The body is an HCL object (azapi 2.x) or `jsonencode({...})` (1.x). Lines are the line in
    `body` naming the property, else `body`'s line. Other types give no grants.
    Sources: https://learn.microsoft.com/azure/templates/microsoft.authorization/roleassignments,
    https://learn.microsoft.com/azure/templates/microsoft.authorization/roledefinitions
    """
    rtype = node.get("type")
    kind = rtype.split("@", 1)[0].casefold() if isinstance(rtype, str) else ""
    parent = node.get("parent_id")
    resource = parent if isinstance(parent, str) else "*"
    props = _properties(node)
    if kind == "microsoft.authorization/roleassignments":
        return [Grant(action=r, resource=resource,
                      line=find_line(node, "body", "roleDefinitionId"))
                for r in strings(props.get("roleDefinitionId"))]
    if kind != "microsoft.authorization/roledefinitions":
        return []
    grants: list[Grant] = []
    for perm in as_list(props.get("permissions")):
        if not isinstance(perm, dict):
            continue
        for attr in ("actions", "dataActions", "notActions", "notDataActions"):
            line = find_line(node, "body", attr)
            grants.extend(Grant(action=a, resource=resource, not_action=attr.startswith("not"),
                                line=line) for a in strings(perm.get(attr)))
    return grants
