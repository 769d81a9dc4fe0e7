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

Workload identity changes (issue 13): comparing a workload, or a ServiceAccount, with its base
twin, three changes hand a workload's code a credential or more access it did not have, and are
NHI302 (`privilege-drift`), naming what was gained:
- `automountServiceAccountToken: false` removed (or set to true) on a pod spec or a
  ServiceAccount: the account's API token is mounted into every container again;
- a projected service-account token volume added (`volumes[].projected.sources[]
  .serviceAccountToken`, named with its `audience` and `expirationSeconds`);
- `serviceAccountName` switched to an account that may do more: the bindings among the objects
  of the run (`checker.checks.account_access`) bind it to an admin-equivalent or wildcard role,
  or to grants the old account did not have; when no binding in the change names the new
  account, the finding says its privileges could not be checked (fail closed). A workload
  moved to another namespace runs as another account of the same name, and a pod that uses a
  service-account token Secret runs as that Secret's account too: both are judged as a switch
  (`checker.checks.workload_switch`);
- a `hostPath` volume of the node's credentials added (`checker.checks.host_credentials`; a
  person's is a note, variant `node-credential-human`).
A cloud workload facet (AWS, GCP) switched to another role or service account is compared the
same way
(`checker.checks.aws_workloads`;
`account_access.role_access`: the role's grants and those of the policies and attachments
that reference it among the run's objects).
An agent's, bot's or unknown actor's change is an error (and NHI101: a human must approve the
workload's new identity); a person's is a warning (variant `workload-human`). The reverse
(`automountServiceAccountToken: false` added, a projected token removed, nothing else about the
identity changed) is a narrowing: NHI302 `narrowed`, a note that never blocks (`narrows`).

The same holds for cloud workloads in Terraform (`aws_lambda_function` `role`, an EC2
instance's `iam_instance_profile`, a GCE instance's `service_account.email`, ...:
`checker.parsers.terraform.workloads.RUNS_AS`): their facet has `runsAs.<path>` lines, and
NHI101 fires when an agent or bot wrote one of them or changed the identity
(`references`/`principals`) the workload runs as. An EC2 instance profile is an identity of
its own (`aws_iam_instance_profile`), so a change to its `role` is judged by the generic NHI101.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace

from checker.checks import host_credentials, projected_tokens, workload_switch
from checker.checks.account_access import account_access, switch_message
from checker.checks.api import Context, Hit, Subject
from checker.checks.aws_workloads import is_cloud_workload, role_approval, role_drift
from checker.checks.aws_workloads import narrows as aws_narrows
from checker.checks.workload_switch import UNSEEN_TOKEN, moved_from, token_accounts
from checker.model import PROJECTED_TOKEN, TOKEN_MOUNT, IdentityObject
from checker.provenance.attribution import Touch

#: The attribute names of a Kubernetes provider workload block's facet, by the names a YAML
#: pod spec's facet uses (`checker.parsers.terraform.workloads.pod_facet`).
_TF_KEYS = {"podSpec": "spec", "serviceAccountName": "service_account_name",
            "automountServiceAccountToken": "automount_service_account_token"}


def _at(obj: IdentityObject, key: str) -> int | None:
    """The line of pod-spec attribute `key` (YAML name) in `obj`'s source, if present."""
    if obj.type.startswith("kubernetes_"):
        key = _TF_KEYS.get(key, key)
    return obj.attribute_lines.get(key)


def _token_lines(obj: IdentityObject) -> dict[str, int]:
    """Volume name -> line of each projected token's `serviceAccountToken` key."""
    out: dict[str, int] = {}
    for key, line in obj.attribute_lines.items():
        if key.startswith("projectedToken."):
            out[key[len("projectedToken."):]] = line
        elif key.startswith("volume.") and key.endswith(".service_account_token"):
            out[key[len("volume."):-len(".service_account_token")]] = line
    return out


def is_workload(obj: IdentityObject) -> bool:
    """True for a workload facet (see module doc)."""
    return (obj.platform == "kubernetes" and _at(obj, "podSpec") is not None
            and obj.derived_from == obj.address)


def _off(obj: IdentityObject) -> str:
    """How `obj`'s source spells the automount opt-out (YAML, or a Kubernetes provider block)."""
    if obj.type.startswith("kubernetes_"):
        return "`automount_service_account_token = false`"
    return "`automountServiceAccountToken: false`"


def _account_field(obj: IdentityObject) -> str:
    return "`service_account_name`" if obj.type.startswith("kubernetes_") else (
        "`serviceAccountName`")


def account_of(obj: IdentityObject) -> str:
    """The `ServiceAccount/...` reference a workload facet runs as."""
    return obj.references[0] if obj.references else "ServiceAccount/default"


def _uses_default(obj: IdentityObject) -> bool:
    return account_of(obj).rsplit("/", 1)[-1] == "default"


def _mount_line(obj: IdentityObject) -> int | None:
    return _at(obj, "automountServiceAccountToken") or _at(obj, "podSpec")


#: NHI302's level variant for a person's workload identity change (rules/docs/privilege.yaml).
HUMAN_VARIANT = workload_switch.HUMAN_VARIANT


def _tokens(obj: IdentityObject) -> dict[str, str]:
    """Projected tokens of a workload facet: `<volume>|<audience>|<seconds>` -> volume name."""
    return {s[len(PROJECTED_TOKEN):]: s[len(PROJECTED_TOKEN):].split("|", 1)[0]
            for s in obj.secret_sinks if s.startswith(PROJECTED_TOKEN)}


def _token_text(key: str) -> str:
    volume, audience, seconds = [*key.split("|"), "", ""][:3]
    return (f"a projected service-account token in volume `{volume}` (audience {audience}, "
            f"expirationSeconds {seconds})")


def _is_account(obj: IdentityObject) -> bool:
    return obj.platform == "kubernetes" and obj.type == "ServiceAccount" and (
        obj.derived_from is None)


def _inherits_off(obj: IdentityObject, objects: Sequence[IdentityObject]) -> bool:
    """True when workload `obj` leaves automounting unset and its ServiceAccount, among
    `objects`, disables it (the pod inherits the account's setting)."""
    return is_workload(obj) and _at(obj, "automountServiceAccountToken") is None and any(
        _is_account(o) and o.address == account_of(obj) and TOKEN_MOUNT not in o.secret_sinks
        for o in objects)


def _gains(obj: IdentityObject, base: IdentityObject, objects: Sequence[IdentityObject] = (),
           base_objects: Sequence[IdentityObject] = ()
           ) -> list[tuple[str, str, int | None]]:  # fmt: skip
    """(attribute, what was gained, line) for each credential `obj` mounts that `base` did not:
    the automounted token (unless its ServiceAccount among `objects`, the run's identities at
    head, disables it), and each new projected token."""
    out: list[tuple[str, str, int | None]] = []
    if (TOKEN_MOUNT in obj.secret_sinks and TOKEN_MOUNT not in base.secret_sinks
            and not _inherits_off(obj, objects)):
        whose = "its API token into every pod that uses it" if _is_account(obj) else (
            f"the API token of {account_of(obj)} into every container")
        set_true = _at(obj, "automountServiceAccountToken") is not None
        out.append(("automountServiceAccountToken",
                    f"mounts {whose} again "
                    f"({_off(obj)} "
                    f"{'changed to true' if set_true else 'removed'})", _mount_line(obj)))
    out.extend(host_credentials.gained(obj, base))
    out.extend(host_credentials.claimed_gains(obj, base, objects, base_objects))
    tokens = _tokens(obj)
    for key, was in projected_tokens.gained(tokens, _tokens(base)):
        longer = "" if was is None else f", longer-lived than base's {was} seconds"
        out.append((f"projectedToken.{tokens[key]}", f"mounts {_token_text(key)}{longer}",
                    _token_lines(obj).get(tokens[key])))
    return out


def _rest(obj: IdentityObject) -> tuple[object, ...]:
    """What `obj` means apart from its mounted tokens and its positions."""
    return (obj.kind, obj.type, obj.namespace, sorted(obj.references), obj.principals,
            sorted((k.lower(), v) for k, v in obj.metadata.items()),
            sorted(repr(replace(g, line=None)) for g in obj.privileges), obj.lifetime,
            sorted(repr(replace(t, line=None)) for t in obj.trust), obj.usages)


def narrows(subject: Subject) -> Iterator[Hit]:
    """NHI302 `narrowed` (a note) for a workload or ServiceAccount whose change only took a
    token away: `automountServiceAccountToken: false` added or a projected token removed, or
    only shortened a projected token's `expirationSeconds` (`checker.checks.projected_tokens`),
    and nothing else it means (account, metadata, references) changed."""
    obj, base = subject.obj, subject.base
    if is_cloud_workload(obj):  # switched away from an administrator role
        yield from aws_narrows(subject)
        return
    if base is None or obj.platform != "kubernetes" or not (is_workload(obj) or _is_account(obj)):
        return
    if _rest(obj) != _rest(base):
        return
    other = {s for s in obj.secret_sinks if not s.startswith(PROJECTED_TOKEN)}
    shorter = projected_tokens.shortened(_tokens(obj), _tokens(base))
    if shorter is not None and other <= set(base.secret_sinks):
        yield Hit("NHI302", f"{obj.address} mounts the same projected token for less time ("
                  + "; ".join(f"volume `{v}` expirationSeconds {was} -> {now}"
                              for v, was, now in shorter)
                  + "); a narrowing needs no approval", f"projectedToken.{shorter[0][0]}",
                  _token_lines(obj).get(shorter[0][0]), variant="narrowed")
        return
    if not set(obj.secret_sinks) < set(base.secret_sinks):
        return
    removed: list[str] = []
    if TOKEN_MOUNT in base.secret_sinks and TOKEN_MOUNT not in obj.secret_sinks:
        removed.append(f"the automounted API token ({_off(obj)})")
    now = _tokens(obj)
    removed.extend(_token_text(k) for k in _tokens(base) if k not in now)
    removed.extend(host_credentials.removed(obj, base))
    parts = [f"mounts {'; '.join(removed)}"] if removed else []
    dropped = host_credentials.dropped_settings(obj, base)
    parts += [f"reaches the node through {', '.join(dropped)}"] if dropped else []
    yield Hit("NHI302", f"{obj.address} no longer {'; no longer '.join(parts)}; a narrowing "
              "needs no approval", "automountServiceAccountToken", _mount_line(obj),
              variant="narrowed")


def _drift(subject: Subject) -> Iterator[Hit]:
    """NHI302 for a workload or ServiceAccount that gained a token or a wider account."""
    obj, base, ctx = subject.obj, subject.base, subject.ctx
    if base is None or ctx.mode == "scan" or not (is_workload(obj) or _is_account(obj)):
        return
    variant = HUMAN_VARIANT if subject.touch.actor_kind == "human" else None
    for attribute, what, line in _gains(obj, base, ctx.head_objects, ctx.base_objects):
        node = host_credentials.is_node(attribute) and variant is not None
        yield Hit("NHI302", f"{obj.address} {what}", attribute, line,
                  variant=host_credentials.HUMAN_VARIANT if node else variant)
    if not is_workload(obj):
        return
    old = account_of(base)
    switches = [(account_of(obj), "serviceAccountName",
                 _at(obj, "serviceAccountName") or _at(obj, "podSpec"))]
    switches += [(a, f"secretRef.{s}", at) for s, (a, at) in _new_tokens(obj, base, ctx).items()]
    for new, attribute, line in switches:
        if new == old:
            continue
        now = account_access(new, ctx.head_objects, ctx.admin_table)
        before = account_access(old, ctx.base_objects, ctx.admin_table) or account_access(
            old, ctx.head_objects, ctx.admin_table)
        unseen = ("the Secret is not in the change, and is mounted at the service-account "
                  "token path" if new.startswith(UNSEEN_TOKEN) else
                  "no RoleBinding or ClusterRoleBinding in the change binds it")
        message = switch_message(obj.address, new, old, now, before, unseen)
        if message is not None:
            yield Hit("NHI302", message, attribute, line, variant=variant)


def _new_tokens(obj: IdentityObject, base: IdentityObject | None, ctx: Context
                ) -> dict[str, tuple[str, int]]:  # fmt: skip
    """The service-account token Secrets `obj` uses that `base` did not (`token_accounts`)."""
    objects = [*ctx.head_objects, *ctx.base_objects]
    old = token_accounts(base, objects) if base is not None else {}
    return {k: v for k, v in token_accounts(obj, objects).items() if old.get(k) != v}


def check(subject: Subject) -> Iterator[Hit]:
    """NHI321 on one object, NHI302 for a workload identity change, and NHI101 for an
    agent-attached named service account or a token an agent added."""
    obj = subject.obj
    if is_cloud_workload(obj):
        yield from role_drift(subject)
        yield from role_approval(subject)
        return
    if obj.platform != "kubernetes":
        return
    yield from host_credentials.volume_hits(subject)  # a PersistentVolume of node credentials
    if subject.base is None and subject.ctx.mode != "scan" and is_workload(obj):
        moved = moved_from(obj, subject.ctx.base_objects, subject.ctx.head_objects)
        subject = replace(subject, base=moved) if moved is not None else subject
    yield from _drift(subject)
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
    if _uses_default(obj) and mounted:
        line = _at(obj, "serviceAccountName") or _at(obj, "podSpec")
        yield Hit("NHI321",
                  f"{obj.address} runs as the namespace's default service account with its "
                  f"token mounted: set {_account_field(obj)} to an account of its own, or "
                  f"{_off(obj)}", "serviceAccountName", line)
    yield from _approval(subject)


def _approval(subject: Subject) -> Iterator[Hit]:
    """NHI101 when an agent, a bot or an unknown actor chose the (non-default) account a
    workload runs as, or gave the workload a token it did not mount at base."""
    obj, touch, base = subject.obj, subject.touch, subject.base
    if subject.ctx.mode == "scan" or touch.actor_kind not in ("agent", "bot", "unknown"):
        return
    line = _at(obj, "serviceAccountName")
    changed = base is not None and account_of(base) != account_of(obj)
    tokens = list(_token_lines(obj).values())
    found = (_gains(obj, base, subject.ctx.head_objects, subject.ctx.base_objects)
             if base is not None else [])
    gains = [what for _, what, _ in found]
    line = next((at for _, _, at in found if at is not None), line)
    if base is None and any(t in touch.lines for t in tokens):
        gains = [f"mounts {_token_text(k)}" for k in _tokens(obj)]
        line = tokens[0]
    if base is None:  # a new workload: the node credentials its agent-written lines mount
        found = [g for g in [*host_credentials.gained(obj, None), *host_credentials.claimed_gains(
            obj, None, subject.ctx.head_objects, ())] if g[2] in touch.lines]
        line = line if gains else next((at for _, _, at in found), line)
        gains += [what for _, what, _ in found]
    node = sum(host_credentials.is_node(a) for a, _, _ in found)
    written = line is not None and line in touch.lines
    stolen = {s: v for s, v in _new_tokens(obj, base, subject.ctx).items()
              if base is not None or v[1] in touch.lines}
    line = line if gains else next((at for _, at in stolen.values()), line)
    own = ([account_of(obj)] if len(gains) > node else []) + (["the node"] if node else [])
    gains += [f"uses the API token in Secret `{s}` ({a})" for s, (a, _) in stolen.items()]
    if not gains and not changed and (_uses_default(obj) or not written or base is not None):
        return  # the same account as at base (`serviceAccount`, its deprecated alias, too)
    who = touch.agent or touch.actor_kind
    where = f" in commit {touch.commit[:12]}" if touch.commit else ""
    if gains:
        whose = ", ".join(dict.fromkeys([*own, *(a for a, _ in stolen.values())]))
        what = f"{obj.address} {'; '.join(gains)}, changed by {touch.actor_kind} ({who}){where}"
        yield Hit("NHI101", f"{what} without a human's approval: the workload's code gets a "
                  f"credential of {whose}", "secret_sinks", line)
        return
    yield Hit("NHI101",
              f"{obj.address} was set to run as {account_of(obj)} by {touch.actor_kind} ({who})"
              f"{where} without a human's approval: the workload gets every privilege bound to "
              "that account", "serviceAccountName", line)


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
            what = (f"{obj.address} does not set {_off(obj)}, so its "
                    "token is mounted into every pod that uses it")
            line = obj.attribute_lines.get("automountServiceAccountToken")
        elif is_workload(obj) and not _uses_default(obj):
            explicit = _at(obj, "automountServiceAccountToken") is not None
            if not explicit and account_of(obj) in disabled:
                continue
            what = (f"{obj.address} mounts the API token of {account_of(obj)} into every "
                    f"container; set {_off(obj)} unless it calls the "
                    "Kubernetes API")
            line = _mount_line(obj)
        else:
            continue
        yield obj, Hit("NHI322", what, "automountServiceAccountToken", line)

