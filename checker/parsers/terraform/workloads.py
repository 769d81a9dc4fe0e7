"""AWS workloads in Terraform -> one facet each: the IAM role the workload runs as.

Like a Kubernetes pod spec's `serviceAccountName` (`checker.parsers.kubernetes.workloads`),
choosing the role a Lambda function or an ECS task runs as hands that role's privileges to the
workload's code; the rest of the workload (runtime, image, memory) is not an identity. The
facet is judged by `checker.checks.workloads` (NHI101 when an agent wrote or switched a role
attribute). An EC2 instance profile is an identity of its own (`aws_iam_instance_profile`).
Sources: the provider pages cited in rules/catalogue/terraform.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping

from checker.model import IdentityObject, Location
from checker.parsers.terraform.nodes import Node

#: Workload resource type -> the attributes naming the IAM role it runs as.
RUNS_AS: Mapping[str, tuple[str, ...]] = {
    "aws_lambda_function": ("role",),
    "aws_ecs_task_definition": ("task_role_arn", "execution_role_arn"),
}


def role_node(rtype: str, node: Node) -> Node:
    """`node` reduced to its role attributes (`RUNS_AS[rtype]` that are present), with the
    block's own lines, so references and principals are read from those attributes only."""
    present = [a for a in RUNS_AS[rtype] if a in node.attrs]
    return Node({a: node.body[a] for a in present}, node.start, node.end,
                {a: node.attrs[a] for a in present}, node.doc)


def workload_facet(rtype: str, roles: Node, kind: str, address: str,
                   metadata: dict[str, str], references: tuple[str, ...],
                   principals: tuple[str, ...]) -> IdentityObject:
    """The facet of one workload block, given its `role_node`.

    Shape: `kind` from the catalogue (`role_binding`), `type` the resource type, `address` and
    `location` those of the workload block; `attribute_lines` = `runsAs.<attr>` -> line for each
    role attribute present; `references` the catalogued identities those attributes name
    (`aws_iam_role.app`), `principals` their literal role ARNs (`aws-role:arn:...`);
    `derived_from` is the workload's own address, so the generic approval rule skips it.
    """
    return IdentityObject(
        kind=kind, platform="aws", type=rtype, address=address,
        location=Location(roles.doc.path, roles.start, roles.end),
        metadata=metadata,
        attribute_lines={f"runsAs.{a}": span[0] for a, span in roles.attrs.items()},
        references=references,
        principals=principals,
        derived_from=address,
    )
