"""`aws_cognito_identity_pool_roles_attachment`: the IAM roles a Cognito identity pool hands out.

An identity pool exchanges its identities for temporary credentials of a role: `roles`
`authenticated` goes to every signed-in user, `unauthenticated` to anyone at all (guest
access, no sign-in), and a `role_mapping`'s `mapping_rule` gives its `role_arn` to the
signed-in users whose token claim matches. Each is a grant of that role (its ARN is the
action, as a managed policy ARN is for an attachment) on the identities that receive it.
Sources:
https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/cognito_identity_pool_roles_attachment,
https://docs.aws.amazon.com/cognito/latest/developerguide/role-based-access-control.html
"""

from __future__ import annotations

from checker.lazy_patterns import lazy_compile
from checker.model import Grant
from checker.parsers.terraform.nodes import Node

__all__ = ["cognito_roles"]

#: Who gets each `roles` key's role (the only two keys the service accepts).
_WHO = {"unauthenticated": "unauthenticated identities (anyone, no sign-in)",
        "authenticated": "authenticated identities (every signed-in user)"}
#: `${aws_cognito_identity_pool.NAME.id}`: the pool named by its block address.
_POOL_REF = lazy_compile(r"\$\{\s*(aws_cognito_identity_pool\.[\w-]+)\.id\s*\}")


def cognito_roles(node: Node) -> list[Grant]:
    """The role grants of one `aws_cognito_identity_pool_roles_attachment` block (module doc):
    each `roles` entry at the `roles` line, each `mapping_rule` role at its block's line. The
    resource names the pool (`identity_pool_id`, a literal or `aws_cognito_identity_pool.X`)."""
    raw = node.get("identity_pool_id")
    pool = raw if isinstance(raw, str) else "?"
    if (m := _POOL_REF.fullmatch(pool.strip())) is not None:
        pool = m.group(1)
    out: list[Grant] = []
    roles = node.get("roles")
    for key, arn in sorted(roles.items()) if isinstance(roles, dict) else ():
        if key in _WHO and isinstance(arn, str):
            out.append(Grant(action=arn, resource=f"{_WHO[key]} of identity pool {pool}",
                             line=node.line("roles")))
    for mapping in node.blocks("role_mapping"):
        for rule in mapping.blocks("mapping_rule"):
            arn = rule.get("role_arn")
            if isinstance(arn, str):
                claim = f"{rule.get('claim')} {rule.get('match_type')} {rule.get('value')}"
                out.append(Grant(action=arn, resource=f"signed-in users of identity pool {pool} "
                                 f"whose {claim}", line=rule.start))
    return out
