"""The identity Terraform itself runs as, from `provider` blocks -> one facet per block.

Every resource of a configuration is created with its provider's credentials, so the identity a
provider block names is what the whole configuration may do: an AWS provider's
`assume_role { role_arn }` or `assume_role_with_web_identity { role_arn }`, a Google
provider's `impersonate_service_account` or `access_token`, an AzureRM provider's `client_id`
and `use_oidc`; an AWS provider's shared-config `profile` names one too. Switching it (to
`OrganizationAccountAccessRole`, to another service account)
hands every resource that role's privileges, as switching a Lambda function's `role` does for
its code; the facet has the shape of an AWS workload's (`checker.parsers.terraform.workloads`):
`runsAs.<attribute>` lines, the identities named as `references` (catalogued ones) and
`principals` (as written, an access token never: only that one is set), `derived_from` its
own address, so `checker.checks.aws_workloads` judges it (NHI101, NHI302) and the generic
approval rule does not. Only blocks that name such an identity give a facet.

Sources: https://registry.terraform.io/providers/hashicorp/aws/latest/docs#assume-role-configuration-block,
https://registry.terraform.io/providers/hashicorp/google/latest/docs/guides/provider_reference#impersonate_service_account,
https://registry.terraform.io/providers/hashicorp/azurerm/latest/docs#argument-reference
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.lazy_patterns import lazy_compile
from checker.model import PROVIDER, IdentityObject, Location
from checker.parsers.terraform.nodes import Doc, Node, as_list, int_or
from checker.parsers.terraform.resolver import Resolver, resolving

#: Provider name -> (platform, nested block or None for the block itself, attributes).
_RUNS_AS: Mapping[str, tuple[tuple[str, str | None, tuple[str, ...]], ...]] = {
    "aws": (("aws", "assume_role", ("role_arn",)),
            ("aws", "assume_role_with_web_identity", ("role_arn",)), ("aws", None, ("profile",))),
    **{name: (("gcp", None, ("impersonate_service_account", "access_token")),)
       for name in ("google", "google-beta")},
    "azurerm": (("azure", None, ("client_id", "use_oidc")),),
}
_REFERENCE = lazy_compile(
    r"\$\{((?:aws_iam_role|google_service_account|azurerm_user_assigned_identity)\.[\w-]+)\.\w+\}")


def provider_blocks(data: Mapping[str, Any], doc: Doc) -> Iterator[tuple[str, Node]]:
    """(provider name, block node) of each top-level `provider` block, in python-hcl2's shape
    (`{"provider": [{"aws": {...}}]}`) or Terraform JSON's (`{"provider": {"aws": {...} or
    [{...}]}}`)."""
    groups = data.get("provider")
    if doc.spans is None:
        for group in as_list(groups):
            for name, body in (group.items() if isinstance(group, dict) else ()):
                if isinstance(body, dict) and "__start_line__" in body:
                    start = int_or(body.get("__start_line__"), 1)
                    yield str(name), doc.node(body, (), start,
                                              int_or(body.get("__end_line__"), start))
        return
    if not isinstance(groups, dict):
        return
    for name, value in groups.items():
        items = value if isinstance(value, list) else [value]
        for i, body in enumerate(items):
            if isinstance(body, dict):
                path = ("provider", name, i) if isinstance(value, list) else ("provider", name)
                yield str(name), doc.json_node(body, path)


def _shown(attr: str, value: Any) -> str:
    """What a principal entry says: the value as written, never a literal access token."""
    text = "true" if value is True else "false" if value is False else str(value)
    if attr == "access_token" and "${" not in text:
        return "access_token=(a literal token)"
    return text if attr in ("role_arn", "impersonate_service_account", "client_id") else (
        f"{attr}={text}")


def provider_facets(data: Mapping[str, Any], doc: Doc, resolver: Resolver | None = None
                    ) -> list[IdentityObject]:  # fmt: skip
    """The facet of each provider block that names the identity Terraform runs as (see the
    module doc): address `provider.<name>` (`.<alias>` when it has a literal one), kind
    `role_binding`, `attribute_lines` `runsAs.<block>.<attribute>` (or `runsAs.<attribute>`).
    With `resolver` (the module's values) an attribute reading a variable, a local or a
    `.tfvars` value is that value, and those definitions are the facet's `inputs`, so changing
    only them is the switch."""
    out: list[IdentityObject] = []
    for name, plain in provider_blocks(data, doc):
        node = resolving(plain, resolver)
        lines: dict[str, int] = {}
        principals: list[str] = []
        references: list[str] = []
        platform = ""
        for platform_of, nested, attrs in _RUNS_AS.get(name, ()):
            for inner in (node.blocks(nested) if nested else [node]):
                for attr in attrs:
                    value = inner.get(attr)
                    if value is None or attr not in inner.attrs:
                        continue
                    platform = platform_of
                    lines[f"runsAs.{nested + '.' if nested else ''}{attr}"] = inner.attrs[attr][0]
                    text = _shown(attr, value)
                    found = _REFERENCE.fullmatch(text)
                    (references if found else principals).append(
                        found.group(1) if found else text)
        if not lines:
            continue
        alias = node.body.get("alias")
        address = f"provider.{name}" + (f".{alias}" if isinstance(alias, str)
                                        and "${" not in alias else "")
        out.append(IdentityObject(
            kind="role_binding", platform=platform, type=f"{PROVIDER}{name}", address=address,
            location=Location(doc.path, node.start, node.end), attribute_lines=lines,
            references=tuple(dict.fromkeys(references)),
            principals=tuple(dict.fromkeys(principals)), derived_from=address,
            inputs=resolver.inputs() if resolver is not None else (),
        ))
    return out
