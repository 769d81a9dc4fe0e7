"""Kubernetes workloads and the service account they run as: NHI321, NHI322, and NHI101 for
a workload an agent attaches to a named service account.

Reads the workload facets `checker.parsers.kubernetes` normalises once per pod spec (Pod,
Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job, CronJob): a
facet has `attribute_lines["podSpec"]` and `derived_from == address`; `references[0]` is the
`ServiceAccount/<ns>/<name>` it runs as (`default` when none is named) and `secret_sinks`
holds `TOKEN_MOUNT` when the pod spec does not set `automountServiceAccountToken: false`.
ServiceAccount objects carry `TOKEN_MOUNT` the same way.

- NHI321 `workload-uses-default-service-account` (warning): a workload that names no service
  account (or `default`, or an empty name) with its token automounted, and a ServiceAccount
  named `default` that does not disable automounting. Every pod in the namespace shares that
  account, so whatever is bound to it is granted to all of them, and nobody owns it. Peers:
  KICS k8s `service_account_name_undefined_or_empty`, Checkov `CKV_K8S_41`
  (DefaultServiceAccount).
- NHI322 `service-account-token-automounted` (warning): a ServiceAccount (other than
  `default`, which NHI321 reports) or a workload using a named account, whose API token is
  mounted into every container although nothing says the workload calls the API. A workload
  that leaves the setting unset is not reported when its ServiceAccount, parsed in the same
  run, disables automounting (the pod inherits it); an explicit `true` on the pod is. Peers:
  KICS `service_account_token_automount_not_disabled`, Checkov `CKV_K8S_38`.

Sources: https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/
and https://kubernetes.io/docs/concepts/security/rbac-good-practices/ ("avoid automounting
service account tokens"; "the default service account should not be granted permissions").

Approval (NHI101) for workloads: a workload is not an identity definition, so the generic
approval rule skips its facet (an image bump by an agent needs no identity approval). But
choosing which identity a workload runs as is a grant, like a RoleBinding or an
`aws_eks_pod_identity_association`: an agent that points a Deployment at an existing, possibly
cluster-admin, service account hands that account's privileges to new code without touching
the account or its bindings. So NHI101 fires when an agent or bot wrote the
`serviceAccountName` line of a workload naming a non-default account, or changed which account
it runs as. A workload on the namespace `default` account gets NHI321 instead.

The same holds for AWS workloads in Terraform (`aws_lambda_function` `role`,
`aws_ecs_task_definition` `task_role_arn`/`execution_role_arn`): their facet
(`checker.parsers.terraform.workloads`) has `runsAs.<attr>` lines, and NHI101 fires
when an agent or bot wrote one of them or changed the role (`references`/`principals`) the
workload runs as. An EC2 instance profile is an identity of its own (`aws_iam_instance_profile`),
so a change to its `role` is judged by the generic NHI101.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from checker.checks.api import Context, Hit, Subject
from checker.model import TOKEN_MOUNT, IdentityObject
from checker.provenance.attribution import Touch


def is_workload(obj: IdentityObject) -> bool:
    """True for a workload facet (see module doc)."""
    return (obj.platform == "kubernetes" and "podSpec" in obj.attribute_lines
            and obj.derived_from == obj.address)


def account_of(obj: IdentityObject) -> str:
    """The `ServiceAccount/...` reference a workload facet runs as."""
    return obj.references[0] if obj.references else "ServiceAccount/default"


def _uses_default(obj: IdentityObject) -> bool:
    return account_of(obj).rsplit("/", 1)[-1] == "default"


def _mount_line(obj: IdentityObject) -> int | None:
    lines = obj.attribute_lines
    return lines.get("automountServiceAccountToken") or lines.get("podSpec")


def check(subject: Subject) -> Iterator[Hit]:
    """NHI321 on one object, and NHI101 for an agent-attached named service account."""
    obj = subject.obj
    if obj.platform == "aws" and obj.derived_from == obj.address:
        yield from _role_approval(subject)
        return
    if obj.platform != "kubernetes":
        return
    mounted = TOKEN_MOUNT in obj.secret_sinks
    if obj.type == "ServiceAccount" and obj.address.rsplit("/", 1)[-1] == "default":
        if mounted:
            yield Hit("NHI321",
                      f"{obj.address} is a namespace's default service account and does not set "
                      "`automountServiceAccountToken: false`: every pod without its own account "
                      "gets its token", "automountServiceAccountToken",
                      obj.attribute_lines.get("automountServiceAccountToken"))
        return
    if not is_workload(obj):
        return
    if _uses_default(obj):
        if mounted:
            line = obj.attribute_lines.get("serviceAccountName") or obj.attribute_lines["podSpec"]
            yield Hit("NHI321",
                      f"{obj.address} runs as the namespace's default service account with its "
                      "token mounted: set `serviceAccountName` to an account of its own, or "
                      "`automountServiceAccountToken: false`", "serviceAccountName", line)
        return
    yield from _approval(subject)


def _approval(subject: Subject) -> Iterator[Hit]:
    obj, touch = subject.obj, subject.touch
    if subject.ctx.mode == "scan" or touch.actor_kind not in ("agent", "bot"):
        return
    line = obj.attribute_lines.get("serviceAccountName")
    changed = subject.base is not None and account_of(subject.base) != account_of(obj)
    if not changed and (line is None or line not in touch.lines):
        return
    who = touch.agent or touch.actor_kind
    where = f" in commit {touch.commit[:12]}" if touch.commit else ""
    yield Hit("NHI101",
              f"{obj.address} was set to run as {account_of(obj)} by {touch.actor_kind} ({who})"
              f"{where} without a human's approval: the workload gets every privilege bound to "
              "that account", "serviceAccountName", line)


def _role_approval(subject: Subject) -> Iterator[Hit]:
    """NHI101 for an AWS workload facet (Lambda, ECS task definition) an agent or bot created
    with a role, or whose role it changed (by meaning: a re-aligned `role` line naming the same
    role is no change; a role that is neither a catalogued reference nor a literal ARN, such as
    `var.role_arn`, counts as changed when its line was written: fail closed)."""
    obj, touch, base = subject.obj, subject.touch, subject.base
    if subject.ctx.mode == "scan" or touch.actor_kind not in ("agent", "bot"):
        return
    lines = {k: v for k, v in obj.attribute_lines.items() if k.startswith("runsAs.")}
    written = [k for k, v in lines.items() if v in touch.lines]
    known = (obj.references, obj.principals)
    if base is None or not any(known):
        changed = bool(written)
    else:
        changed = (base.references, base.principals) != known
    if not changed:
        return
    attr = (written or list(lines) or ["runsAs.role"])[0]
    role = ", ".join((*obj.references, *obj.principals)) or f"the role in `{attr[7:]}`"
    who = touch.agent or touch.actor_kind
    where = f" in commit {touch.commit[:12]}" if touch.commit else ""
    yield Hit("NHI101",
              f"{obj.address} was set to run as {role} by {touch.actor_kind} ({who}){where} "
              "without a human's approval: the workload gets every privilege of that role",
              attr, lines.get(attr))


def check_all(
    judged: Sequence[IdentityObject],
    touched: Mapping[tuple[str, str], Touch],
    ctx: Context,
) -> Iterator[tuple[IdentityObject, Hit]]:
    """NHI322 (across objects: a workload inherits its ServiceAccount's setting)."""
    disabled = {
        obj.address for obj in judged
        if obj.platform == "kubernetes" and obj.type == "ServiceAccount"
        and TOKEN_MOUNT not in obj.secret_sinks
    }
    for obj in judged:
        touch = touched.get((obj.location.path, obj.address))
        if touch is None or obj.platform != "kubernetes" or TOKEN_MOUNT not in obj.secret_sinks:
            continue
        if obj.type == "ServiceAccount":
            if obj.address.rsplit("/", 1)[-1] == "default":
                continue  # NHI321
            what = (f"{obj.address} does not set `automountServiceAccountToken: false`, so its "
                    "token is mounted into every pod that uses it")
            line = obj.attribute_lines.get("automountServiceAccountToken")
        elif is_workload(obj) and not _uses_default(obj):
            explicit = "automountServiceAccountToken" in obj.attribute_lines
            if not explicit and account_of(obj) in disabled:
                continue
            what = (f"{obj.address} mounts the API token of {account_of(obj)} into every "
                    "container; set `automountServiceAccountToken: false` unless it calls the "
                    "Kubernetes API")
            line = _mount_line(obj)
        else:
            continue
        yield obj, Hit("NHI322", what, "automountServiceAccountToken", line)

