"""Which built-in roles cover which (for NHI302: swapping a role for one it covers is a
narrowing, `checker.checks.drift`). A grant of an admin or full-access role allows everything a
grant of a covered role allows on the same scope; each table below cites the provider's page
for its built-in roles."""

from __future__ import annotations

import re

from checker.lazy_patterns import lazy_compile
from checker.policy.privileges import role_key

#: Built-in roles that allow everything on their platform, so a grant of one covers any other
#: grant of that platform on the same or a narrower scope:
#: - AWS `AdministratorAccess` is `*` on `*`:
#:   https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AdministratorAccess.html
#: - Azure `Owner` is every action and may assign any role, data roles included (by name or by
#:   its built-in id): https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged#owner
#: - Kubernetes `cluster-admin` is every verb on every resource:
#:   https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles
#: - GCP `roles/owner` holds every permission of the resource:
#:   https://cloud.google.com/iam/docs/roles-overview#basic
_COVERS_ALL = frozenset({
    ("aws", "arn:aws:iam::aws:policy/AdministratorAccess"),
    ("azure", "owner"), ("azure", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"),
    ("kubernetes", "ClusterRole/cluster-admin"),
    ("gcp", "roles/owner"),
})

#: Admin roles that cover only some other roles (the rest may manage access, which they lack):
#: - Kubernetes `admin` aggregates `edit`, which aggregates `view` (same page as above).
_K8S_ADMIN = {"ClusterRole/admin": ("ClusterRole/admin", "ClusterRole/edit", "ClusterRole/view")}
#: - Azure `Contributor` is every control-plane action except managing access
#:   (`Microsoft.Authorization/*/Write`, `.../Delete`) and has no data actions, so it covers
#:   `Reader` and the other control-plane `... Reader` roles, not data-plane ones (`Storage
#:   Blob Data Reader`, Key Vault roles):
#:   https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/privileged#contributor
_AZURE_CONTRIBUTOR = frozenset({"contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c"})
_AZURE_READER_ID = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
_AZURE_DATA = lazy_compile(r"\bdata\b|key vault|secret", re.IGNORECASE)
#: - GCP `roles/editor` is every viewer permission plus those that modify state, but not
#:   managing roles and permissions (https://cloud.google.com/iam/docs/roles-overview#basic):
#:   it covers `roles/viewer` and the predefined read-only roles (`roles/<service>.<...>Viewer`
#:   or `...Reader`) outside the IAM, resource-manager and organisation-policy services, and not
#:   private-log readers (`roles/logging.privateLogViewer`).
_GCP_READ_ONLY = lazy_compile(r"^roles/(?!(?:iam|resourcemanager|orgpolicy)\.)[a-z0-9]+\."
                            r"(?![a-z]*private)[A-Za-z]*(?:viewer|reader)$", re.IGNORECASE)


#: - GitOps grants (`checker.parsers.kubernetes.gitops`): Argo CD's `role:admin` is
#:   unrestricted (https://argo-cd.readthedocs.io/en/stable/operator-manual/rbac/#basic-built-in-roles);
#:   the `default` AppProject as Argo CD creates it allows every source, destination and
#:   cluster resource (https://argo-cd.readthedocs.io/en/stable/user-guide/projects/#the-default-project);
#:   Flux's controller account (no `serviceAccountName`, or the controllers' own
#:   `flux-system/kustomize-controller` and `helm-controller`) is cluster-admin in a default install
#:   (https://fluxcd.io/flux/installation/configuration/multitenancy/). Each covers the grants of
#:   its prefix.
_GITOPS_COVERS = {"argocd:role:admin": "argocd:", "argocd:project/default": "argocd:project/",
                  "flux:apply-as/controller": "flux:apply-as/",
                  "flux:apply-as/ServiceAccount/flux-system/kustomize-controller": "flux:apply-as/",
                  "flux:apply-as/ServiceAccount/flux-system/helm-controller": "flux:apply-as/"}
#: - Argo CD syncs with its application controller's account when no impersonation applies,
#:   and that account (`argocd-application-controller`, in Argo CD's namespace) is bound to the
#:   ClusterRole of the same name, `*` on `*` and every non-resource URL
#:   (https://github.com/argoproj/argo-cd/blob/master/manifests/cluster-rbac/application-controller/argocd-application-controller-clusterrole.yaml,
#:   https://argo-cd.readthedocs.io/en/stable/operator-manual/app-sync-using-impersonation/):
#:   an AppProject destination synced as it covers syncing that destination as any account.
_ARGO_CONTROLLER = lazy_compile(r"argocd:sync-as/[^:/]+:argocd-application-controller")


def role_covers(platform: str, wide: str, narrow: str) -> bool:
    """True when a grant of role (or managed policy) `wide` allows everything a grant of role
    `narrow` allows on the same scope, by the built-in role tables above (each with its source):
    an all-powerful role covers every computed role of its platform; Kubernetes `admin` covers
    `edit` and `view`; Azure `Contributor` covers control-plane reader roles; GCP `roles/editor`
    covers `roles/viewer` and predefined read-only roles outside IAM. A `narrow` still holding
    `${...}` is never covered. Scope is the caller's to compare.

    >>> role_covers("aws", "arn:aws:iam::aws:policy/AdministratorAccess",
    ...             "arn:aws:iam::aws:policy/ReadOnlyAccess")
    True
    >>> role_covers("gcp", "roles/storage.objectViewer", "roles/owner")
    False
    """
    if "${" in narrow or not narrow.strip():
        return False
    wide_key = role_key(platform, wide.strip())
    narrow_key = role_key(platform, narrow.strip())
    if platform == "azure":
        wide_key, narrow_key = wide_key.casefold(), narrow_key.casefold()
    if (platform, wide_key) in _COVERS_ALL:
        return True
    if platform == "kubernetes" and _ARGO_CONTROLLER.fullmatch(wide_key):
        return narrow_key.startswith("argocd:sync-as/")
    if platform == "kubernetes" and wide_key in _GITOPS_COVERS:
        return narrow_key.startswith(_GITOPS_COVERS[wide_key])
    if platform == "kubernetes":
        return narrow_key in _K8S_ADMIN.get(wide_key, ())
    if platform == "azure" and wide_key in _AZURE_CONTRIBUTOR:
        return narrow_key == _AZURE_READER_ID or (
            (narrow_key == "reader" or narrow_key.endswith(" reader"))
            and not _AZURE_DATA.search(narrow_key))
    if platform == "gcp" and wide_key == "roles/editor":
        return narrow_key == "roles/viewer" or bool(_GCP_READ_ONLY.match(narrow_key))
    return False
