"""NHI323: one Kubernetes service account that several workloads run as (OWASP NHI9:2025 NHI
Reuse).

Workloads are the facets `checker.parsers.kubernetes` normalises per pod spec
(`checks.workloads.is_workload`); the account a workload runs as is `account_of`. Two or more
different workloads naming the same non-default account share one identity: every permission
bound to it is granted to all of them, a token stolen from one is valid for the others, and no
audit log can tell them apart. The `default` account is NHI321's. Only the files of one run
are joined (the changed files in `check`, every file given in `scan`); workloads that name no
namespace are joined only within one file (they may be deployed to different namespaces). A
finding goes on each touched workload, at its `serviceAccountName` line.

Sources: https://owasp.org/www-project-non-human-identities-top-10/2025/9-nhi-reuse/ and
https://kubernetes.io/docs/concepts/security/service-accounts/ ("create a service account for
each workload").
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from checker.checks.api import Context, Hit
from checker.checks.workloads import account_of, is_workload
from checker.model import IdentityObject
from checker.provenance.attribution import Touch


def check_all(
    judged: Sequence[IdentityObject],
    touched: Mapping[tuple[str, str], Touch],
    ctx: Context,
) -> Iterator[tuple[IdentityObject, Hit]]:
    """NHI323 for each touched workload whose named service account another workload uses."""
    users: dict[tuple[str, str], list[IdentityObject]] = {}
    for obj in judged:
        account = account_of(obj)
        if is_workload(obj) and account.rsplit("/", 1)[-1] != "default":
            # `ServiceAccount/<ns>/<name>`; without a namespace, only the same file is known
            # to share it.
            scope = "" if account.count("/") == 2 else obj.location.path
            users.setdefault((account, scope), []).append(obj)
    for (account, _), objs in sorted(users.items()):
        names = sorted({o.address for o in objs})
        if len(names) < 2:
            continue
        for obj in objs:
            if (obj.location.path, obj.address) not in touched:
                continue
            others = [n for n in names if n != obj.address]
            shown = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3
                                             else "")
            yield obj, Hit(
                "NHI323",
                f"{obj.address} runs as {account}, which {shown} also run"
                f"{'s' if len(others) == 1 else ''} as; give each workload a service account "
                "of its own",
                f"serviceAccount:{account}",
                at="serviceAccountName",
            )
