"""AWS roles that are administrators by how AWS creates them, known by name: a workload or a
provider configuration switched to one gains every permission of its account, and one switched
away from one (to another role of the same account) cannot gain anything.

- `OrganizationAccountAccessRole`: the role AWS Organizations creates in every account it
  creates, with the `AdministratorAccess` managed policy attached
  (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create-cross-account-role.html).
- `AWSControlTowerExecution`: the role AWS Control Tower creates in each enrolled account, with
  `AdministratorAccess` (https://docs.aws.amazon.com/controltower/latest/userguide/awscontroltowerexecution.html).

- The Compute Engine and App Engine default service accounts of GCP, which Google grants the
  Editor role on their project (https://cloud.google.com/iam/docs/service-account-types#default).

A role of the same name that a configuration defines itself is judged by its own grants
(`checker.checks.account_access.role_access` is asked first); this table is the fallback for a
role that the change does not show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from checker.lazy_patterns import lazy_compile

#: Role name -> why it is an administrator (see the module doc for the sources).
ADMIN_ROLES: Mapping[str, str] = {
    "OrganizationAccountAccessRole": "the role AWS Organizations creates in a member account "
                                     "with AdministratorAccess",
    "AWSControlTowerExecution": "the role AWS Control Tower creates in an enrolled account "
                                "with AdministratorAccess",
}
#: A literal IAM role ARN, optionally as a principal entry (`aws-role:arn:...`).
_ROLE_ARN = lazy_compile(r"(?:aws-role:)?arn:aws[\w-]*:iam::(\d{12}):role/(?:[\w+=,.@-]+/)*"
                       r"([\w+=,.@-]+)")


def _role(identity: str) -> tuple[str, str] | None:
    """(account, role name) of a literal role ARN, else None."""
    found = _ROLE_ARN.fullmatch(identity)
    return (found.group(1), found.group(2)) if found else None


#: GCP default service accounts Google grants the basic Editor role on their project (unless
#: the organization policy `iam.automaticIamGrantsForDefaultServiceAccounts` is enforced):
#: https://cloud.google.com/iam/docs/service-account-types#default
_GCP_DEFAULTS = (
    (lazy_compile(r"(?:gcp-sa:)?[\w-]+-compute@developer\.gserviceaccount\.com"),
     "the Compute Engine default service account, which Google grants the Editor role on its "
     "project"),
    (lazy_compile(r"(?:gcp-sa:)?[\w.:-]+@appspot\.gserviceaccount\.com"),
     "the App Engine default service account, which Google grants the Editor role on its "
     "project"),
)


def admin_role(identity: str) -> str | None:
    """Why `identity` (a literal role ARN, or a GCP service account email) is a known
    administrator role or default account, else None."""
    role = _role(identity)
    if role:
        return ADMIN_ROLES.get(role[1])
    return next((why for pattern, why in _GCP_DEFAULTS if pattern.fullmatch(identity)), None)


def known_admin(identity: str) -> str | None:
    """The words for a switch message about `identity` when it is a known administrator role
    or default account the change does not show (`account_access.switch_message`'s
    `unseen`), else None."""
    why = admin_role(identity)
    if why is None:
        return None
    scope = "do everything in its account" if why.startswith("the role") else (
        "change most resources of its project")
    return f"it is not defined in the change, and is {why}, so it may {scope}"


def narrowed_from_admin(old: Sequence[str], new: Sequence[str]) -> str | None:
    """The known administrator role `old` ran as when the switch to `new` cannot widen: `old`
    is exactly one such role ARN and `new` one literal role ARN of the same account; else
    None."""
    if len(old) != 1 or len(new) != 1 or admin_role(old[0]) is None:
        return None
    was, now = _role(old[0]), _role(new[0])
    return old[0] if was and now and was[0] == now[0] and was != now else None
