"""The EKS `aws-auth` ConfigMap (`kube-system/aws-auth`) -> the grants of its IAM mappings.

The AWS IAM Authenticator reads `data.mapRoles`, `data.mapUsers` and `data.mapAccounts`, each a
YAML document inside the ConfigMap's string value, and maps IAM principals to Kubernetes users
and groups. A principal mapped to `system:masters` is cluster-admin (that group bypasses RBAC);
any other group or user name holds what the RoleBindings and ClusterRoleBindings naming it hold.
Source: AWS EKS "Grant IAM users access to Kubernetes with a ConfigMap"
(https://docs.aws.amazon.com/eks/latest/userguide/auth-configmap.html).

Shapes (the object is a `role_binding` on the `kubernetes` platform, like a binding):
- each mapping of `mapRoles`/`mapUsers` gives one `Grant("Group/<group>", <rolearn|userarn>)`
  per group, or `Grant("User/<username>", <arn>)` when it names no group (the user name
  defaults to the ARN); `line` is the mapping's line in the file (the value's line when the
  text is not a block scalar);
- each account of `mapAccounts` gives `Grant("User/<principal ARN>", "arn:aws:iam::<id>:*")`:
  every IAM principal of that account is mapped to a user named by its ARN;
- `principals` are the mapped ARNs and account ids.

A mapping value that is not YAML, or whose items are not mappings, gives no grant for it. An
item's keys match in any letter case (`Groups`, `roleARN`), as the authenticator reads them;
`groups` written twice in different cases counts every group of both (fail closed).
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, ScalarNode

from checker.model import Grant
from checker.parsers.kubernetes.rbac import texts
from checker.safeyaml import get, items, line_of, load_text, scalar_text, sequence

#: The type the catalogue knows the object as (`rules/catalogue/kubernetes.yaml`).
TYPE = "ConfigMap:aws-auth"
_PRINCIPAL_KEYS = {"mapRoles": "rolearn", "mapUsers": "userarn"}


def is_aws_auth(kind: str, namespace: str | None, name: str) -> bool:
    """True for the ConfigMap `kube-system/aws-auth` the authenticator reads."""
    return kind == "ConfigMap" and namespace == "kube-system" and name == "aws-auth"


def aws_auth_grants(doc: MappingNode, path: str) -> tuple[tuple[Grant, ...], tuple[str, ...]]:
    """(grants, principals) of an `aws-auth` ConfigMap `doc` (shapes: the module docstring).
    `path` names the file in the inner documents' problems, which are dropped."""
    grants: list[Grant] = []
    principals: list[str] = []
    data = get(doc, "data")
    for key in ("mapRoles", "mapUsers", "mapAccounts"):
        value = get(data, key)
        if not isinstance(value, ScalarNode) or not value.value.strip():
            continue
        offset = line_of(value) + (1 if value.style in ("|", ">") else 0)
        stream = load_text(value.value, f"{path}#data.{key}")
        for root in stream.documents[:1]:
            for item in sequence(root):
                line = line_of(item) + offset - 1 if value.style in ("|", ">") else offset
                if key == "mapAccounts":
                    account = scalar_text(item)
                    if account:
                        principals.append(account)
                        grants.append(Grant("User/(each principal's ARN)",
                                            f"arn:aws:iam::{account}:*", line=line))
                    continue
                grants.extend(_mapping(item, _PRINCIPAL_KEYS[key], line, principals))
    return tuple(dict.fromkeys(grants)), tuple(dict.fromkeys(principals))


def _mapping(item: Node, arn_key: str, line: int, principals: list[str]) -> list[Grant]:
    if not isinstance(item, MappingNode):
        return []
    arn = _last_text(item, arn_key) or "(unnamed)"
    principals.append(arn)
    groups = list(dict.fromkeys(g for value in _fields(item, "groups") for g in texts(value)))
    if groups:
        return [Grant(f"Group/{g}", arn, line=line) for g in groups]
    return [Grant(f"User/{_last_text(item, 'username') or arn}", arn, line=line)]


def _fields(item: MappingNode, name: str) -> list[Node]:
    """The values of `item`'s keys that are `name` in any letter case, in order: the
    authenticator decodes a mapping as JSON into a Go struct, which matches field names
    case-insensitively (`Groups`, `roleARN`, `rOlEaRn` count; the top-level `mapRoles` keys do
    not). Source: aws-iam-authenticator's ConfigMap parser tests ("values are case-insensitive
    for compatibility with upstream"),
    https://github.com/kubernetes-sigs/aws-iam-authenticator/blob/master/pkg/mapper/configmap/yaml_test.go"""
    return [value for key, _, value in items(item) if key.lower() == name]


def _last_text(item: MappingNode, name: str) -> str | None:
    """The text of the last `name` key in any case (a later key overwrites an earlier one)."""
    values = [scalar_text(v) for v in _fields(item, name)]
    return next((v for v in reversed(values) if v), None)
