"""AWS workloads in Terraform -> one facet each: the IAM role the workload runs as.

Like a Kubernetes pod spec's `serviceAccountName` (`checker.parsers.kubernetes.workloads`),
choosing the role a Lambda function or an ECS task runs as hands that role's privileges to the
workload's code; the rest of the workload (runtime, image, memory) is not an identity. The
facet is judged by `checker.checks.workloads` (NHI101 when an agent wrote or switched a role
attribute). An EC2 instance profile is an identity of its own (`aws_iam_instance_profile`).

The Kubernetes provider's workload resources (`kubernetes_deployment`, `kubernetes_pod`, ...,
`POD_SPECS`) get the facet a YAML workload gets (`checker.parsers.kubernetes.workloads`): the
service account its pod spec runs as, whether the token is automounted (the provider's pod spec
default is true: https://registry.terraform.io/providers/hashicorp/kubernetes/latest/docs/resources/pod_v1#automount_service_account_token),
and its projected service-account tokens, so `checker.checks.workloads` judges both alike.
Sources: the provider pages cited in rules/catalogue/terraform.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping

from checker.model import PROJECTED_TOKEN, TOKEN_MOUNT, IdentityObject, Location
from checker.parsers.terraform.nodes import Node

#: Workload resource type -> the attributes naming the IAM role it runs as.
RUNS_AS: Mapping[str, tuple[str, ...]] = {
    "aws_lambda_function": ("role",),
    "aws_ecs_task_definition": ("task_role_arn", "execution_role_arn"),
}


_TEMPLATE = ("spec", "template", "spec")
#: Kubernetes provider workload resource -> nested blocks from the resource to its pod spec
#: (each resource's page on the provider registry; a CronJob's under `job_template`).
POD_SPECS: Mapping[str, tuple[str, ...]] = {
    **{t: ("spec",) for t in ("kubernetes_pod", "kubernetes_pod_v1")},
    **{t: _TEMPLATE for t in (
        "kubernetes_deployment", "kubernetes_deployment_v1", "kubernetes_stateful_set",
        "kubernetes_stateful_set_v1", "kubernetes_daemonset", "kubernetes_daemon_set_v1",
        "kubernetes_replication_controller", "kubernetes_replication_controller_v1",
        "kubernetes_job", "kubernetes_job_v1")},
    **{t: ("spec", "job_template", "spec", "template", "spec")
       for t in ("kubernetes_cron_job", "kubernetes_cron_job_v1")},
}
#: What a projected `service_account_token` gets when it names no audience or lifetime
#: (https://kubernetes.io/docs/concepts/storage/projected-volumes/#serviceaccounttoken).
_DEFAULT_AUDIENCE, _DEFAULT_EXPIRATION = "(the API server)", "3600"


def role_node(rtype: str, node: Node) -> Node:
    """`node` reduced to its role attributes (`RUNS_AS[rtype]` that are present), with the
    block's own lines, so references and principals are read from those attributes only; a
    Kubernetes workload's (`POD_SPECS`) block as it is."""
    if rtype in POD_SPECS:
        return node
    present = [a for a in RUNS_AS[rtype] if a in node.attrs]
    return Node({a: node.body[a] for a in present}, node.start, node.end,
                {a: node.attrs[a] for a in present}, node.doc)


def workload_facet(rtype: str, roles: Node, kind: str, address: str,
                   metadata: dict[str, str], references: tuple[str, ...],
                   principals: tuple[str, ...]) -> IdentityObject | None:
    """The facet of one workload block, given its `role_node`.

    Shape: `kind` from the catalogue (`role_binding`), `type` the resource type, `address` and
    `location` those of the workload block; `attribute_lines` = `runsAs.<attr>` -> line for each
    role attribute present; `references` the catalogued identities those attributes name
    (`aws_iam_role.app`), `principals` their literal role ARNs (`aws-role:arn:...`);
    `derived_from` is the workload's own address, so the generic approval rule skips it.
    A Kubernetes workload resource (`POD_SPECS`) gets `pod_facet` instead (references and
    principals unused); None when it has no pod spec block.
    """
    if rtype in POD_SPECS:
        return pod_facet(rtype, roles, kind, address, metadata)
    return IdentityObject(
        kind=kind, platform="aws", type=rtype, address=address,
        location=Location(roles.doc.path, roles.start, roles.end),
        metadata=metadata,
        attribute_lines={f"runsAs.{a}": span[0] for a, span in roles.attrs.items()},
        references=references,
        principals=principals,
        derived_from=address,
    )


def _literal(value: object) -> str | None:
    """A literal scalar as text (`true`, `web`), None for an expression or nothing."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and "${" not in value:
        return value.strip('"')
    return None


def pod_facet(rtype: str, node: Node, kind: str, address: str,
              metadata: dict[str, str]) -> IdentityObject | None:
    """The facet of a Kubernetes provider workload block (`POD_SPECS`), shaped as
    `checker.parsers.kubernetes.workloads.workload_facet` shapes a YAML workload's, with the
    provider's attribute names:
    `references` (`ServiceAccount/<ns>/<name>`, `default` when `service_account_name` is unset,
    or empty; an expression is kept as written), `principals`, `secret_sinks`
    (`TOKEN_MOUNT` unless `automount_service_account_token = false`, then one
    `PROJECTED_TOKEN<volume>|<audience>|<expiration_seconds>` per `volume { projected { sources
    { service_account_token {} } } }`), `attribute_lines` `spec` (the pod spec block),
    `service_account_name`, `automount_service_account_token` and
    `volume.<name>.service_account_token`. None without a pod spec."""
    spec: Node | None = node
    for name in POD_SPECS[rtype]:
        found = spec.blocks(name) if spec is not None else []
        spec = found[0] if found else None
    if spec is None:
        return None
    namespace = next((v for m in node.blocks("metadata")
                      if (v := _literal(m.body.get("namespace")))), None)
    lines = {"spec": spec.start}
    account = ""
    if "service_account_name" in spec.attrs:
        lines["service_account_name"] = spec.attrs["service_account_name"][0]
        raw = spec.body.get("service_account_name")
        account = _literal(raw) or (str(raw) if raw else "")
    sinks: list[str] = []
    if "automount_service_account_token" in spec.attrs:
        lines["automount_service_account_token"] = spec.attrs["automount_service_account_token"][0]
    if _literal(spec.body.get("automount_service_account_token")) != "false":
        sinks.append(TOKEN_MOUNT)
    for volume in spec.blocks("volume"):
        volume_name = _literal(volume.body.get("name")) or "(unnamed)"
        for projected in volume.blocks("projected"):
            for source in projected.blocks("sources"):
                for token in source.blocks("service_account_token"):
                    audience = _literal(token.body.get("audience")) or _DEFAULT_AUDIENCE
                    seconds = _literal(token.body.get("expiration_seconds")) or _DEFAULT_EXPIRATION
                    sinks.append(f"{PROJECTED_TOKEN}{volume_name}|{audience}|{seconds}")
                    lines.setdefault(f"volume.{volume_name}.service_account_token", token.start)
    name = account or "default"
    return IdentityObject(
        kind=kind, platform="kubernetes", type=rtype, address=address,
        location=Location(node.doc.path, node.start, node.end),
        metadata=metadata,
        attribute_lines=lines,
        namespace=namespace,
        references=("/".join(p for p in ("ServiceAccount", namespace, name) if p),),
        secret_sinks=tuple(sinks),
        principals=() if name == "default" else (f"k8s-sa:{namespace or 'default'}/{name}",),
        derived_from=address,
    )
