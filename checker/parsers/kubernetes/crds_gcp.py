"""Crossplane's GCP IAM kinds (Upbound `provider-gcp-cloudplatform`,
`cloudplatform.gcp.upbound.io`) -> grants and principals, in the shapes of their Terraform
equivalents (`google_project_iam_member` ...), so the same GCP admin tables judge them.

Every field is under `spec.forProvider`, named as the Terraform argument in camel case:
- `ProjectIAMMember`, `FolderIAMMember`, `OrganizationIAMMember`, `ServiceAccountIAMMember`:
  `Grant(role, <projects/P | folders/F | organizations/O | the service account>)` at the
  `role` line, with its IAM `condition` (by title, else expression); the `member` is a
  principal (`gcp-sa:` for a service account, `gcp-public:` for `allUsers`);
- `ProjectIAMCustomRole`, `OrganizationIAMCustomRole`: one `Grant(permission, <scope>)` per
  listed permission;
- `ServiceAccount`: no grant; its e-mail is a principal when the project is known;
- `ServiceAccountKey`: a key whose private part Crossplane writes to
  `spec.writeConnectionSecretToRef` (a reference `Secret/<ns>/<name>`).
A value given by reference is shown as `<field>Ref/<name>` (`projectRef/corp-prod`), one chosen
by labels as `<field>Selector`. Source (each catalogue entry cites its page):
https://marketplace.upbound.io/providers/upbound/provider-gcp-cloudplatform/latest
"""

from __future__ import annotations

from yaml.nodes import MappingNode, Node, SequenceNode

from checker.model import Grant
from checker.parsers.kubernetes.crds_aws import CrdFacts, key_line, ns, text
from checker.parsers.kubernetes.digest import frame_hash
from checker.parsers.kubernetes.rbac import texts
from checker.safeyaml import get, get_path, scalar_text, sequence

#: The API group of Crossplane's GCP IAM kinds.
CROSSPLANE_GCP = "cloudplatform.gcp.upbound.io"
_PUBLIC = frozenset({"allUsers", "allAuthenticatedUsers"})
#: Member kind -> (the field naming what it is granted on, its resource prefix).
_SCOPE = {
    "ProjectIAMMember": ("project", "projects/"),
    "FolderIAMMember": ("folder", ""),
    "OrganizationIAMMember": ("orgId", "organizations/"),
    "ServiceAccountIAMMember": ("serviceAccountId", ""),
    "ProjectIAMCustomRole": ("project", "projects/"),
    "OrganizationIAMCustomRole": ("orgId", "organizations/"),
}


def crossplane_gcp(doc: Node, kind: str, namespace: str | None) -> CrdFacts:
    """The facts of a `cloudplatform.gcp.upbound.io` object `doc` of `kind` (module doc)."""
    spec = get(doc, "spec")
    params = get(spec, "forProvider")
    if kind == "ServiceAccount":
        name = (scalar_text(get_path(doc, "metadata", "annotations",
                                     "crossplane.io/external-name"))
                or scalar_text(get_path(doc, "metadata", "name")))
        project = text(params, "project")
        return CrdFacts(principals=(f"gcp-sa:{name}@{project}.iam.gserviceaccount.com",)
                        if name and project else ())
    if kind == "ServiceAccountKey":
        secret = get(spec, "writeConnectionSecretToRef")
        ref = ns("Secret", scalar_text(get(secret, "namespace")) or namespace,
                 scalar_text(get(secret, "name")))
        return CrdFacts(references=(ref,) if ref else ())
    field, prefix = _SCOPE.get(kind, ("", ""))
    scope = _value(params, field)
    resource = f"{prefix}{scope}" if scope and "/" not in scope else scope or "*"
    if kind.endswith("CustomRole"):
        line = key_line(params, "permissions")
        return CrdFacts(tuple(Grant(p, resource, line=line)
                              for p in texts(get(params, "permissions"))))
    if kind not in _SCOPE:
        return CrdFacts()
    condition = get(params, "condition")
    if isinstance(condition, SequenceNode):  # the upjet form: a list of one object
        condition = next(iter(sequence(condition)), None)
    title = text(condition, "title") or text(condition, "expression")
    grants = tuple(Grant(role, resource, line=key_line(params, "role"),
                         conditions=(title,) if title else ())
                   for role in texts(get(params, "role")))
    member = text(params, "member") or ""
    principals = (f"gcp-public:{member}",) if member in _PUBLIC else (
        ("gcp-sa:" + member.removeprefix("serviceAccount:"),)
        if member.startswith("serviceAccount:") and "@" in member else ())
    return CrdFacts(grants, principals=principals)


def _value(params: Node | None, field: str) -> str | None:
    """`field` as written, else its `<field>Ref` (`Kind/name`) or `<field>Selector`."""
    if not field:
        return None
    written = text(params, field)
    if written:
        return written
    ref = scalar_text(get(get(params, f"{field}Ref"), "name"))
    if ref:
        return f"{field}Ref/{ref}"
    return f"{field}Selector" if get(params, f"{field}Selector") is not None else None


#: The fields a GCP IAM member custom resource's grant comes from, by catalogue type: its role
#: and IAM condition (`frame_digest` leaves them out, so a change that only added a condition
#: or swapped the role for one the old one covers is a narrowing: `checks/drift.narrows`).
#: Config Connector: https://cloud.google.com/config-connector/docs/reference/resource-docs/iam/iampolicymember
_GRANT_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    **{f"{CROSSPLANE_GCP}/{kind}": (("spec", "forProvider", "role"),
                                    ("spec", "forProvider", "condition"))
       for kind in ("ProjectIAMMember", "FolderIAMMember", "OrganizationIAMMember",
                    "ServiceAccountIAMMember")},
    "iam.cnrm.cloud.google.com/IAMPolicyMember": (("spec", "role"), ("spec", "condition")),
}


def member_frame_digest(doc: MappingNode, type_: str) -> str:
    """`frame_hash` of a GCP IAM member custom resource without its role and condition
    (`_GRANT_FIELDS`); "" for other types."""
    fields = _GRANT_FIELDS.get(type_)
    return frame_hash(doc, fields) if fields else ""
