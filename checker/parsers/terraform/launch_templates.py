"""An autoscaling group's instances run as what its launch template (or launch configuration)
runs as: the instance profile in the template's `iam_instance_profile`. So pointing the group
at another template (`launch_template { id = aws_launch_template.ops.id }`) switches the role
its instances run as, although no `iam_instance_profile` line changed.

`launched` gives an `aws_autoscaling_group` workload facet (`workloads.RUNS_AS`: its
`launch_template` `id`/`name`, `launch_configuration`, and the `mixed_instances_policy`
template) the identity of the template it names, found among the module's blocks
(`siblings.module_blocks`) by address (`aws_launch_template.ops.id`) or by its literal `name`:
`references` the catalogued instance profiles it names (`aws_iam_instance_profile.app`),
`principals` a literal profile as `aws-instance-profile:<name or ARN>` (`workloads._NAMED`); the
template block is one of the facet's `inputs`, so a change to it is a change to the group. A
template that is not among them (a literal `lt-...` id, a data source, another module) is
`aws-launch-template:<as written>`: an identity nhi-gate cannot see, judged fail-closed. A
template that is read is no unresolved value (`IdentityObject.unresolved`) of the group.

Sources: https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/autoscaling_group
(`launch_template`, `launch_configuration`, `mixed_instances_policy`),
https://docs.aws.amazon.com/autoscaling/ec2/userguide/launch-templates.html (instances are
launched with the template's IAM instance profile).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject, Location, ModuleSources
from checker.parsers.terraform.nodes import Block
from checker.parsers.terraform.resolver import Resolver, resolving
from checker.parsers.terraform.siblings import module_blocks
from checker.parsers.terraform.workloads import named, role_node

#: Workload types whose identity is their launch template's.
LAUNCHERS = frozenset({"aws_autoscaling_group"})
_TEMPLATES = ("aws_launch_template", "aws_launch_configuration")
_TEMPLATE_REF = lazy_compile(
    r"\$\{(aws_launch_template|aws_launch_configuration)\.([A-Za-z_][\w-]*)\.(?:id|name|arn)\}")
_PROFILE_REF = lazy_compile(r"\$\{(aws_iam_instance_profile\.[A-Za-z_][\w-]*)\.(?:name|arn|id)\}")


def launched(facet: IdentityObject, block: Block, current: Sequence[Block], path: str,
             module: ModuleSources | None) -> IdentityObject:
    """`facet` (an autoscaling group's, from `block` in the file at `path` whose blocks are
    `current`) running as the instance profiles of the templates it names (module doc)."""
    roles = role_node(block.labels[0], resolving(block.node, Resolver(module)))
    templates = {".".join(b.labels): b for b in module_blocks(current, path, module)
                 if b.section == "resource" and b.labels[0] in _TEMPLATES}
    references: list[str] = []
    principals: list[str] = []
    inputs = list(facet.inputs)
    for raw in roles.body.values():
        text = raw if isinstance(raw, str) else str(raw)
        found = _TEMPLATE_REF.fullmatch(text)
        template = templates.get(f"{found.group(1)}.{found.group(2)}") if found else next(
            (t for t in templates.values() if t.node.body.get("name") == text), None)
        if template is None:
            principals.append(f"aws-launch-template:{text}")
            continue
        address = ".".join(template.labels)
        inputs.append((address, Location(template.node.doc.path, template.node.start,
                                         template.node.end)))
        resolver = Resolver(module)
        profile = role_node(template.labels[0], resolving(template.node, resolver))
        inputs.extend(resolver.inputs())
        for key, value in profile.body.items():
            value_text = value if isinstance(value, str) else str(value)
            ref = _PROFILE_REF.fullmatch(value_text)
            if ref is not None:
                references.append(ref.group(1))
            else:
                principals.append(named(key, value_text.strip('"')))
    seen = {name for name, _ in inputs if name.startswith(_TEMPLATES)}
    return replace(facet, references=tuple(dict.fromkeys(references)),
                   principals=tuple(dict.fromkeys(principals)),
                   inputs=tuple(dict.fromkeys(inputs)),
                   unresolved=tuple(u for u in facet.unresolved  # the template is read
                                    if u.expression.rsplit(".", 1)[0] not in seen))
