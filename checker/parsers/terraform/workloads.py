"""Cloud workloads in Terraform -> one facet each: the identity the workload runs as.

Like a Kubernetes pod spec's `serviceAccountName` (`checker.parsers.kubernetes.workloads`),
choosing the IAM role a Lambda function, an ECS task, an EC2 instance (through its instance
profile) or a CodeBuild project runs as, or the service account of a GCE instance, a GKE node
pool or a Cloud Run service, hands that identity's privileges to the workload's code; the rest
of the workload (runtime, image, memory) is not an identity. The facet is judged by
`checker.checks.workloads` (NHI101 when an agent wrote or switched the attribute, NHI302 when
the new identity may do more). An EC2 instance profile is an identity of its own
(`aws_iam_instance_profile`): its `role` switch is judged there.

The Kubernetes provider's workload resources (`kubernetes_deployment`, `kubernetes_pod`, ...,
`POD_SPECS`) get the facet a YAML workload gets (`checker.parsers.kubernetes.workloads`): the
service account its pod spec runs as, whether the token is automounted (the provider's pod spec
default is true: https://registry.terraform.io/providers/hashicorp/kubernetes/latest/docs/resources/pod_v1#automount_service_account_token),
and its projected service-account tokens, so `checker.checks.workloads` judges both alike.
Sources: the provider pages cited in rules/catalogue/terraform.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.model import (
    HOST_CREDENTIAL,
    NODE_ACCESS,
    PROJECTED_TOKEN,
    TOKEN_MOUNT,
    IdentityObject,
    Location,
)
from checker.parsers.kubernetes.host_paths import credential_path
from checker.parsers.kubernetes.node_access import ESCAPING_CAPABILITIES
from checker.parsers.terraform.grants_aws import policy_document
from checker.parsers.terraform.nodes import Node, find_line
from checker.policy.catalogue import CatalogueEntry

#: Azure resources whose code runs as the user-assigned managed identities of their
#: `identity { identity_ids }` block (each type's page on the azurerm provider registry, cited
#: in rules/catalogue/terraform.yaml).
AZURE_IDENTITY_BLOCK = (
    "azurerm_linux_function_app", "azurerm_windows_function_app", "azurerm_linux_web_app",
    "azurerm_windows_web_app", "azurerm_container_app", "azurerm_container_app_job",
    "azurerm_container_group", "azurerm_linux_virtual_machine",
    "azurerm_windows_virtual_machine", "azurerm_linux_virtual_machine_scale_set",
    "azurerm_windows_virtual_machine_scale_set", "azurerm_logic_app_workflow",
    "azurerm_data_factory",
)

#: Workload resource type -> the attributes naming the identity it runs as: an IAM role (ARN
#: or name), an EC2 instance profile, a GCP service account email. A dotted path is an attribute
#: of a nested block (`iam_instance_profile.name`: `iam_instance_profile { name = ... }`).
#: Each type's page on the provider registry (rules/catalogue/terraform.yaml cites them).
RUNS_AS: Mapping[str, tuple[str, ...]] = {
    "aws_lambda_function": ("role",),
    "aws_ecs_task_definition": ("task_role_arn", "execution_role_arn"),
    **{t: ("iam_instance_profile",) for t in (
        "aws_instance", "aws_spot_instance_request", "aws_launch_configuration")},
    "aws_launch_template": ("iam_instance_profile.name", "iam_instance_profile.arn"),
    # what its launch template runs as (`launch_templates.launched`)
    "aws_autoscaling_group": (
        "launch_template.id", "launch_template.name", "launch_configuration",
        "mixed_instances_policy.launch_template.launch_template_specification.launch_template_id",
        "mixed_instances_policy.launch_template.launch_template_specification."
        "launch_template_name"),
    "aws_codebuild_project": ("service_role",),
    "aws_codepipeline": ("role_arn",),
    "aws_sfn_state_machine": ("role_arn",),
    "aws_glue_job": ("role_arn",),
    "aws_sagemaker_notebook_instance": ("role_arn",),
    "aws_eks_node_group": ("node_role_arn",),
    "aws_eks_fargate_profile": ("pod_execution_role_arn",),
    "aws_cloudformation_stack": ("iam_role_arn",),
    "aws_cloudwatch_event_target": ("role_arn",),
    "aws_scheduler_schedule": ("target.role_arn",),
    "aws_apprunner_service": ("instance_configuration.instance_role_arn",),
    "aws_emr_cluster": ("service_role", "ec2_attributes.instance_profile"),
    **{t: ("service_account.email",) for t in (
        "google_compute_instance", "google_compute_instance_template")},
    **{t: ("node_config.service_account",) for t in (
        "google_container_node_pool", "google_container_cluster")},
    "google_cloudfunctions_function": ("service_account_email",),
    "google_cloudfunctions2_function": ("service_config.service_account_email",),
    "google_cloud_run_v2_service": ("template.service_account",),
    "google_cloud_run_v2_job": ("template.template.service_account",),
    "google_cloud_run_service": ("template.spec.service_account_name",),
    "google_dataflow_job": ("service_account_email",),
    "google_workflows_workflow": ("service_account",),
    "google_composer_environment": ("config.node_config.service_account",),
    # `#` reads a key of a JSON attribute (`container_properties = jsonencode({jobRoleArn})`)
    "aws_batch_job_definition": ("container_properties#jobRoleArn",
                                 "container_properties#executionRoleArn"),
    "aws_bedrockagent_agent": ("agent_resource_role_arn",),
    "aws_pipes_pipe": ("role_arn",),
    "aws_sagemaker_model": ("execution_role_arn",),
    "google_cloudbuild_trigger": ("service_account",),
    "google_cloud_scheduler_job": ("http_target.oidc_token.service_account_email",
                                   "http_target.oauth_token.service_account_email"),
    **{t: ("identity.identity_ids",) for t in AZURE_IDENTITY_BLOCK},
}


#: What a literal that is no ARN or email names, by its attribute (`iam_instance_profile =
#: "web"` names a profile, `service_role = "build"` a role), as an `IdentityObject.principals`
#: entry: a changed name is a changed identity even when nothing parsed defines it.
_NAMED: Mapping[str, str] = {
    "iam_instance_profile": "aws-instance-profile", "name": "aws-instance-profile",
    "instance_profile": "aws-instance-profile", "service_account": "gcp-sa-name",
    "service_account_name": "gcp-sa-name", "service_account_email": "gcp-sa-name",
    "email": "gcp-sa-name", "identity_ids": "azure-identity",
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
    """`node` reduced to its role attributes (`RUNS_AS[rtype]` that are present, else for a
    type the catalogue does not list, `guessed_paths`; keyed by their dotted path, each with its
    own lines) and the block's lines, so references and principals are read from those
    attributes only; a Kubernetes workload's (`POD_SPECS`) block as it is. A path
    `attr#Key` is key `Key` of the JSON object in `attr` (`jsonencode({...})` or a JSON
    string), at the line of the attribute naming it."""
    if rtype in POD_SPECS:
        return node
    body: dict[str, Any] = {}
    attrs: dict[str, tuple[int, int]] = {}
    for path in RUNS_AS.get(rtype) or guessed_paths(node):
        path_in, _, key = path.partition("#")
        *blocks, name = path_in.split(".")
        here: Node | None = node
        for block in blocks:  # the first block of each name, as the provider reads one
            found = here.blocks(block) if here is not None else []
            here = found[0] if found else None
        if here is None or name not in here.attrs:
            continue
        if not key:
            body[path], attrs[path] = here.get(name), here.attrs[name]  # module values in
            continue
        decoded = policy_document(here.get(name))
        if isinstance(decoded, dict) and key in decoded:
            line = find_line(here, name, key)
            body[path], attrs[path] = decoded[key], (line, line)
    return Node(body, node.start, node.end, attrs, node.doc)


#: Attribute names that say which identity a resource acts as, for a resource type the
#: catalogue does not list (`guessed_paths`): `role_arn`, `execution_role_arn`, ...,
#: `service_account`, `service_account_email`, and Azure's `identity_ids`.
_RUNS_AS_NAME = lazy_compile(r"^(?:\w+_)?role_arn$|service_account|^identity_ids$")
#: Provider prefix -> platform of a resource type the catalogue does not list.
_PLATFORM_OF = {"aws_": "aws", "google_": "gcp", "azurerm_": "azure"}
#: `CatalogueEntry.source` of a workload the catalogue does not list (`guessed_workload`).
GUESSED = "(not catalogued: an attribute named like the identity a resource acts as)"


def is_workload(rtype: str, entry: CatalogueEntry) -> bool:
    """True for a block judged by the identity it runs as: a `RUNS_AS` or `POD_SPECS` type, or
    an uncatalogued one `guessed_workload` gave `entry`."""
    return rtype in RUNS_AS or rtype in POD_SPECS or entry.source == GUESSED


def guessed_paths(node: Node, depth: int = 3) -> tuple[str, ...]:
    """The dotted paths of the attributes of `node` (and of the first of each of its nested
    blocks, `depth` levels down) whose name matches `_RUNS_AS_NAME`, in source order."""
    out = [name for name in node.attrs if _RUNS_AS_NAME.search(name)]
    for name, value in node.body.items() if depth > 1 else ():
        if isinstance(value, (list, dict)) and name not in node.attrs:
            for child in node.blocks(name)[:1]:
                out.extend(f"{name}.{p}" for p in guessed_paths(child, depth - 1))
    return tuple(out)


def guessed_workload(rtype: str, node: Node) -> CatalogueEntry | None:
    """Fail closed for a resource type the catalogue does not list: a `role_binding` entry
    (platform by its provider prefix, source `GUESSED`) when `node` has an attribute named like
    the identity it acts as (`guessed_paths`), so a switch of that attribute to another
    identity is judged like a catalogued workload's; None otherwise (the caller keeps a facet
    only when the attributes name an identity)."""
    platform = next((p for prefix, p in _PLATFORM_OF.items() if rtype.startswith(prefix)), None)
    if platform is None or not guessed_paths(node):
        return None
    return CatalogueEntry("terraform", rtype, "role_binding", platform, GUESSED, ())


def workload_facet(rtype: str, roles: Node, entry: CatalogueEntry, address: str,
                   metadata: dict[str, str], references: tuple[str, ...],
                   principals: tuple[str, ...]) -> IdentityObject | None:
    """The facet of one workload block, given its `role_node` and catalogue `entry`.

    Shape: `kind` and `platform` from the catalogue (`role_binding`, `aws`/`gcp`), `type` the
    resource type, `address` and `location` those of the workload block; `attribute_lines` =
    `runsAs.<path>` -> line for each role attribute present; `references` the catalogued
    identities those attributes name (`aws_iam_role.app`, `google_service_account.app`),
    `principals` their literal role ARNs and service account emails (`aws-role:arn:...`,
    `gcp-sa:...`) and the other literal names they hold (`aws-instance-profile:web`,
    `_NAMED`); `derived_from` is the workload's own address, so the generic approval rule
    skips it. None when no role attribute is present (the workload runs as no identity), or
    for an uncatalogued type (`guessed_workload`) whose attributes name no identity. A
    Kubernetes workload resource (`POD_SPECS`) gets `pod_facet` instead (references and
    principals unused); None when it has no pod spec block.
    """
    if rtype in POD_SPECS:
        return pod_facet(rtype, roles, entry.kind, address, metadata)
    if not roles.attrs:
        return None  # runs as no identity (an EC2 instance without a profile)
    literal = tuple(named(path, value) for path, raw in roles.body.items()
                    for value in map(_literal, raw if isinstance(raw, list) else [raw])
                    if value and not value.startswith("arn:"))
    if entry.source == GUESSED and not (references or principals or literal):
        return None  # an uncatalogued type naming no identity (`role_arn = var.x`)
    return IdentityObject(
        kind=entry.kind, platform=entry.platform, type=rtype, address=address,
        location=Location(roles.doc.path, roles.start, roles.end),
        metadata=metadata,
        attribute_lines={f"runsAs.{a}": span[0] for a, span in roles.attrs.items()},
        references=references,
        principals=(*principals, *(n for n in literal if n not in principals)),
        derived_from=address,
    )


def named(path: str, value: str) -> str:
    """The `principals` entry of literal `value` in role attribute `path`: a service account
    email (any email: `run@p.iam.gserviceaccount.com`, or the Compute Engine default account
    `<number>-compute@developer.gserviceaccount.com`) is `gcp-sa:<email>`, as
    `identities.literal_principals` writes the emails it recognises; another name is
    `<_NAMED kind>:<value>`."""
    if "@" in value:  # `projects/<p>/serviceAccounts/<email>` names the same account
        return f"gcp-sa:{value.rsplit('/', 1)[-1]}"
    return f"{_NAMED.get(path.rsplit('.', 1)[-1], 'aws-role-name')}:{value}"


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
    `volume.<name>.service_account_token`; a `volume { host_path { path } }` of the node's
    credentials (`checker.parsers.kubernetes.host_paths`) adds a `HOST_CREDENTIAL` sink and
    `hostPath.<name>`, as in YAML; so do `host_pid`, `host_ipc`, `host_network` and a
    container's `security_context { privileged, capabilities { add } }` that escape to the node
    (`checker.parsers.kubernetes.node_access`: a `NODE_ACCESS` sink, `nodeAccess.*`). None
    without a pod spec."""
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
        for host in volume.blocks("host_path"):
            path = _literal(host.body.get("path"))
            if path and credential_path(path):
                sinks.append(f"{HOST_CREDENTIAL}{volume_name}|{path}")
                lines.setdefault(f"hostPath.{volume_name}", host.start)
        for projected in volume.blocks("projected"):
            for source in projected.blocks("sources"):
                for token in source.blocks("service_account_token"):
                    audience = _literal(token.body.get("audience")) or _DEFAULT_AUDIENCE
                    seconds = _literal(token.body.get("expiration_seconds")) or _DEFAULT_EXPIRATION
                    sinks.append(f"{PROJECTED_TOKEN}{volume_name}|{audience}|{seconds}")
                    lines.setdefault(f"volume.{volume_name}.service_account_token", token.start)
    sinks += _node_access(spec, lines)
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


def _node_access(spec: Node, lines: dict[str, int]) -> list[str]:
    """The `NODE_ACCESS` sinks of a provider pod spec block (`workload_facet`), their lines
    added to `lines` under the YAML facet's attribute names."""
    sinks: list[str] = []
    for attr, field in (("host_pid", "hostPID"), ("host_ipc", "hostIPC"),
                        ("host_network", "hostNetwork")):
        if _literal(spec.body.get(attr)) == "true":
            sinks.append(f"{NODE_ACCESS}{field}|")
            lines.setdefault(f"nodeAccess.{field}", spec.attrs.get(attr, (spec.start,))[0])
    for block in ("init_container", "container"):
        for container in spec.blocks(block):
            name = _literal(container.body.get("name")) or "(unnamed)"
            for context in container.blocks("security_context"):
                at = context.attrs.get("privileged", (context.start,))[0]
                found = [("privileged", at)] if _literal(
                    context.body.get("privileged")) == "true" else []
                for caps in context.blocks("capabilities"):
                    added = caps.body.get("add")
                    for cap in added if isinstance(added, list) else []:
                        cap = str(cap).upper().removeprefix("CAP_")
                        if cap in ESCAPING_CAPABILITIES:
                            found.append((f"capabilities.{cap}", caps.start))
                for setting, at in found:
                    sinks.append(f"{NODE_ACCESS}{setting}|{name}")
                    lines.setdefault(f"nodeAccess.{name}.{setting}", at)
    return sinks
