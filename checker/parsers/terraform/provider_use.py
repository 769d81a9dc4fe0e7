"""The identity Terraform runs as for one resource: its `provider` meta-argument -> a facet.

A resource is created, changed and destroyed with the credentials of the provider
configuration it names (`provider = aws.admin`; without the argument, the default
configuration of its provider), so switching a resource to another alias whose `assume_role`
names an admin role hands that role to every operation on the resource, although no identity
block changed (https://developer.hashicorp.com/terraform/language/meta-arguments/resource-provider).

`provider_uses` gives each `resource` block with a `provider` argument a facet shaped like a
provider block's (`providers.provider_facets`): address `<resource address>#provider`, type
`provider:<name>`, `runsAs.provider` its line, and the `references`/`principals` of the provider
configuration it names, found in any file of the module (`siblings.module_data`), whose block
is one of the facet's `inputs`. An alias the module does not configure (passed in by a caller's
`providers` map) is `provider:<name>.<alias>`, as written. A configuration that names no
identity (no `assume_role`, ...) gives no facet. `checker.checks.aws_workloads` judges the
facet like a workload's role switch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.model import PROVIDER, IdentityObject, Location, ModuleSources
from checker.parsers.terraform.nodes import Block, Doc
from checker.parsers.terraform.providers import provider_blocks, provider_facets
from checker.parsers.terraform.resolver import Resolver
from checker.parsers.terraform.siblings import module_data

#: `provider = aws.admin` as python-hcl2 writes it (`${aws.admin}`).
_CONFIG = lazy_compile(r"\$\{\s*([a-z][\w-]*)(?:\.([A-Za-z_][\w-]*))?\s*\}")
#: The suffix of a resource's provider facet address.
SUFFIX = "#provider"


def provider_uses(blocks: Sequence[Block], data: dict[str, Any], doc: Doc,
                  module: ModuleSources | None) -> list[IdentityObject]:  # fmt: skip
    """The facet of each `resource` block of the file that names its provider configuration
    (see the module doc); the module's provider blocks are read once, only when one does."""
    out: list[IdentityObject] = []
    configs: dict[str, IdentityObject] | None = None
    declared: set[str] = set()
    for block in blocks:
        raw = block.node.body.get("provider") if block.section == "resource" else None
        found = _CONFIG.fullmatch(raw) if isinstance(raw, str) else None
        if found is None or "provider" not in block.node.attrs:
            continue
        if configs is None:
            files = list(module_data(doc, data, module))
            configs = {f.address: f for d, fdoc in files
                       for f in provider_facets(d, fdoc, Resolver(module))}
            declared = {_address(n, b.body.get("alias")) for d, fdoc in files
                        for n, b in provider_blocks(d, fdoc)}
        name, alias = found.groups()
        wanted = _address(name, alias)
        config = configs.get(wanted)
        if config is None and (alias is None or wanted in declared):
            continue  # a configuration naming no identity
        address = ".".join(block.labels) + SUFFIX
        out.append(IdentityObject(
            kind="role_binding", platform=config.platform if config else name,
            type=f"{PROVIDER}{name}", address=address,
            location=Location(doc.path, block.node.start, block.node.end),
            attribute_lines={"runsAs.provider": block.node.attrs["provider"][0]},
            references=config.references if config else (),
            principals=config.principals if config else (f"provider:{name}.{alias}",),
            derived_from=address,
            inputs=((wanted, config.location), *config.inputs) if config else (),
        ))
    return out


def _address(name: str, alias: object) -> str:
    """`provider.<name>[.<alias>]`, as `providers.provider_facets` names a configuration."""
    return f"provider.{name}" + (f".{alias}" if isinstance(alias, str) and alias else "")
