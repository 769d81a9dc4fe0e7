"""AWS IAM declared as Crossplane custom resources -> grants, trust and references, and the
small node readers the other custom-resource readers (`crds.py`) share.

Crossplane AWS provider kinds (Upbound `iam.aws.upbound.io`, community `iam.aws.crossplane.io`),
read in the shapes of their Terraform equivalents (`checker.parsers.terraform.grants_aws`):
- `Policy`, and the inline policies `UserPolicy`, `RolePolicy`, `GroupPolicy` (`policy`,
  community `document`) -> one `Grant` per Action x Resource (`checker.parsers.aws_policy`),
  at the line of the document; an inline policy references its `User/<name>`, `Role/<name>`
  or `Group/<name>`.
- `Role`: `managedPolicyArns`, `inlinePolicy[].policy`; trust from `assumeRolePolicy`
  (community `assumeRolePolicyDocument`); `permissionsBoundary` -> `boundary`. `User`: its
  `permissionsBoundary`.
- `UserPolicyAttachment`, `RolePolicyAttachment`, `GroupPolicyAttachment` -> `Grant(<policyArn>)`
  (AWS managed policies judged by rules/privileges.yaml) and a reference to the target.
- Group membership hands a user every grant of the group: `UserGroupMembership` (`user`,
  `groups`), `GroupMembership` (`group`, `users`) and the community `GroupUserMembership`
  (`groupName`, `userName`) -> one `Grant("Group/<group>", "User/<user>")` per (group, user),
  as a RoleBinding's `ClusterRole/<name>` grant, so adding a group or a user widens it.
- `InstanceProfile` -> `Grant("Role/<role>")`: the instances that use it run as that role.
- `OpenIDConnectProvider` -> `Trust("Issuer:<url>")` (its `clientIdList`/`clientIDList` are in
  the digest); `ServiceLinkedRole` -> `Trust("Service:<awsServiceName>")`.
- `AccessKey` writes its secret to `spec.writeConnectionSecretToRef` (`Secret/<ns>/<name>`).
A target written as a reference (`userRef.name`, `groupRefs[].name`) counts as its name.

Sources (each kind's API reference page is cited in rules/catalogue/kubernetes_crds.yaml):
https://marketplace.upbound.io/providers/upbound/provider-aws-iam/latest,
https://doc.crds.dev/github.com/crossplane-contrib/provider-aws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from checker.model import Grant, Trust, Unresolved
from checker.parsers.aws_policy import decode_document, document_grants, document_trust
from checker.parsers.kubernetes.rbac import texts
from checker.safeyaml import (
    get,
    get_entry,
    get_path,
    items,
    line_of,
    scalar_text,
    sequence,
    to_python,
)

#: Inline-policy and attachment kinds -> the kind of principal they attach to.
_INLINE = {"UserPolicy": "User", "RolePolicy": "Role", "GroupPolicy": "Group"}
_ATTACHMENTS = {"UserPolicyAttachment": "User", "RolePolicyAttachment": "Role",
                "GroupPolicyAttachment": "Group"}


@dataclass(frozen=True)
class CrdFacts:
    """What one custom resource grants and names (fields as in `IdentityObject`)."""

    privileges: tuple[Grant, ...] = ()
    trust: tuple[Trust, ...] = ()
    references: tuple[str, ...] = ()
    principals: tuple[str, ...] = ()
    usages: tuple[str, ...] = ()
    boundary: str | None = None
    unresolved: tuple[Unresolved, ...] = ()


def ns(kind: str, namespace: str | None, ref: str | None) -> str | None:
    """`<kind>/<namespace>/<ref>` (parts that are None left out); None without `ref`."""
    return "/".join(p for p in (kind, namespace, ref) if p) if ref else None


def text(node: Node | None, key: str) -> str | None:
    """The scalar text of `node[key]`, None when absent or empty."""
    return scalar_text(get(node, key)) or None


def key_line(parent: Node | None, key: str) -> int | None:
    """The 1-based line of `key` in the mapping `parent`, None when absent."""
    entry = get_entry(parent, key)
    return line_of(entry[0]) if entry else None


def document(node: Node | None) -> Any:
    """A policy document written as a JSON string or as a YAML mapping, decoded (else None)."""
    if isinstance(node, ScalarNode):
        return decode_document(scalar_text(node))
    if isinstance(node, MappingNode):
        return to_python(node)
    return None


def policy_grants(parent: Node | None, key: str) -> list[Grant]:
    """The grants of the policy document at `parent[key]`, at the key's line."""
    return document_grants(document(get(parent, key)), key_line(parent, key))


def arn_grants(parent: Node | None, key: str) -> list[Grant]:
    """One `Grant(<arn>)` per managed-policy ARN at `parent[key]` (a string or a list)."""
    line = key_line(parent, key)
    return [Grant(action=arn, line=line) for arn in texts(get(parent, key))]


def trust_of(parent: Node | None, key: str) -> tuple[Trust, ...]:
    """The `Trust`s of the assume-role document at `parent[key]`."""
    return tuple(document_trust(document(get(parent, key)), key_line(parent, key)))


def _target(fp: Node | None, kind: str) -> str | None:
    """The name of the user, role or group `fp` points at: `<kind>`, `<kind>Name`, or the name
    of `<kind>Ref`/`<kind>NameRef` (lowercase kind: `user`, `userName`, `userRef.name`)."""
    low = kind.lower()
    return (text(fp, low) or text(fp, f"{low}Name")
            or scalar_text(get_path(fp, f"{low}Ref", "name"))
            or scalar_text(get_path(fp, f"{low}NameRef", "name")) or None)


def _targets(fp: Node | None, kind: str) -> list[str]:
    """The names of the users or groups listed in `fp` (`groups`, `groupRefs[].name`; `users`,
    `userRefs[].name`), else the single one of `_target`."""
    low = kind.lower()
    names = [*texts(get(fp, f"{low}s")),
             *(n for n in (scalar_text(get(r, "name")) for r in sequence(get(fp, f"{low}Refs")))
               if n)]
    single = _target(fp, kind)
    return names or ([single] if single else [])


def _chosen_policy(fp: Node | None) -> tuple[Unresolved, ...]:
    """An attachment's policy given by `policyArnRef` (a Crossplane `Policy` object's name) or
    `policyArnSelector` (whichever `Policy` matches its labels when Crossplane resolves it):
    not resolved here, so an `Unresolved` entry NHI106 judges (fail closed for an agent)."""
    for key, reason in (("policyArnRef", "reference to a Crossplane Policy, not resolved"),
                        ("policyArnSelector", "chosen by label selector when Crossplane "
                                              "resolves it, not resolved")):
        node = get(fp, key)
        if node is not None:
            labels = ", ".join(f"{k}={scalar_text(v)}"
                               for k, _, v in items(get(node, "matchLabels")))
            shown = scalar_text(get(node, "name")) or labels or "(any)"
            return (Unresolved("policyArn", f"{key} {shown}", reason, key_line(fp, key)),)
    return ()


def crossplane_aws(doc: MappingNode, kind: str, namespace: str | None) -> CrdFacts:
    """The facts of one Crossplane AWS IAM object of `kind` (see the module docstring)."""
    fp = get_path(doc, "spec", "forProvider")
    if kind == "Role":
        grants = arn_grants(fp, "managedPolicyArns")
        for inline in sequence(get(fp, "inlinePolicy")):
            grants.extend(policy_grants(inline, "policy"))
        trust = trust_of(fp, "assumeRolePolicy") + trust_of(fp, "assumeRolePolicyDocument")
        return CrdFacts(tuple(grants), trust, boundary=text(fp, "permissionsBoundary"))
    if kind == "User":
        return CrdFacts(boundary=text(fp, "permissionsBoundary"))
    if kind == "Policy":
        return CrdFacts(tuple(policy_grants(fp, "policy") + policy_grants(fp, "document")))
    if kind in _INLINE or kind in _ATTACHMENTS:
        target = _INLINE.get(kind) or _ATTACHMENTS[kind]
        grants = (policy_grants(fp, "policy") + policy_grants(fp, "document") if kind in _INLINE
                  else arn_grants(fp, "policyArn"))
        ref = ns(target, None, _target(fp, target))
        chosen = () if grants or kind in _INLINE else _chosen_policy(fp)
        return CrdFacts(tuple(grants), references=(ref,) if ref else (), unresolved=chosen)
    if kind in ("UserGroupMembership", "GroupMembership", "GroupUserMembership"):
        return _membership(fp, kind)
    if kind == "InstanceProfile":
        role = _target(fp, "Role")
        line = key_line(fp, "role") or key_line(fp, "roleRef") or key_line(fp, "roleName")
        return CrdFacts((Grant(f"Role/{role}", line=line),) if role else (),
                        references=(f"Role/{role}",) if role else ())
    if kind == "OpenIDConnectProvider":
        url = text(fp, "url")
        return CrdFacts(trust=(Trust(f"Issuer:{url}", (), key_line(fp, "url")),) if url else ())
    if kind == "ServiceLinkedRole":
        service = text(fp, "awsServiceName")
        return CrdFacts(trust=(Trust(f"Service:{service}", (), key_line(fp, "awsServiceName")),)
                        if service else ())
    if kind == "AccessKey":
        sink = get_path(doc, "spec", "writeConnectionSecretToRef")
        refs = (ns("User", None, _target(fp, "User")),
                ns("Secret", scalar_text(get(sink, "namespace")) or namespace,
                   scalar_text(get(sink, "name"))))
        return CrdFacts(references=tuple(r for r in refs if r))
    return CrdFacts()


def _membership(fp: Node | None, kind: str) -> CrdFacts:
    """One `Grant("Group/<group>", "User/<user>")` per (group, user) of a membership object."""
    groups, users = _targets(fp, "Group"), _targets(fp, "User")
    listed = "groups" if kind == "UserGroupMembership" else "users"
    line = (key_line(fp, listed) or key_line(fp, f"{listed[:-1]}Refs")
            or key_line(fp, "group") or key_line(fp, "groupName") or key_line(fp, "user"))
    grants = tuple(Grant(f"Group/{g}", f"User/{u}", line=line) for g in groups for u in users)
    return CrdFacts(grants, references=tuple(f"User/{u}" for u in users))
