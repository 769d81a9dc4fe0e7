"""Grant extractors for GitHub access in Terraform (integrations/github): a repository role
given to a collaborator or a team, an organisation membership, and a deploy key's write access.
Each turns one block `Node` into `Grant`s at their own lines; `grants.EXTRACTORS` lists them.

Repository roles are cumulative (read < triage < write < maintain < admin, called `pull`,
`triage`, `push`, `maintain` and `admin` by the API and the provider), so a role is recorded as
itself and every role below it: raising a role then gains grants (a widening, NHI302) and
lowering one only loses some (narrowed). A custom repository role (any other name) is recorded
as written. `admin` on a repository is admin-equivalent (rules/privileges.yaml).
Sources:
https://docs.github.com/en/organizations/managing-user-access-to-your-organizations-repositories/managing-repository-roles/repository-roles-for-an-organization,
https://registry.terraform.io/providers/integrations/github/latest/docs/resources/repository_collaborator
(`permission`, default `push`),
https://registry.terraform.io/providers/integrations/github/latest/docs/resources/repository_collaborators
(`user`/`team` blocks, default `push`/`pull`),
https://registry.terraform.io/providers/integrations/github/latest/docs/resources/team_repository
(`permission`, default `pull`),
https://registry.terraform.io/providers/integrations/github/latest/docs/resources/membership
(`role` `member` or `admin`, default `member`; an admin is an organisation owner),
https://registry.terraform.io/providers/integrations/github/latest/docs/resources/repository_deploy_key
(`read_only`, default true; a writable key can push).
"""

from __future__ import annotations

from checker.model import Grant
from checker.parsers.terraform.nodes import Node

#: Repository roles from least to most access (the API's names).
REPOSITORY_ROLES = ("pull", "triage", "push", "maintain", "admin")
#: The provider's `read`/`write` spellings of the same roles.
_ALIASES = {"read": "pull", "write": "push"}


def _role_grants(role: object, default: str, resource: str, line: int) -> list[Grant]:
    """`role` (a literal, else `default` when absent) and the roles below it on `resource`; an
    expression that is not a literal is recorded as written (it names no known role)."""
    name = default if role is None else str(role).strip('"')
    name = _ALIASES.get(name, name)
    if name not in REPOSITORY_ROLES:
        return [Grant(action=name, resource=resource, line=line)]
    upto = REPOSITORY_ROLES[: REPOSITORY_ROLES.index(name) + 1]
    return [Grant(action=r, resource=resource, line=line) for r in upto]


def _repository(node: Node) -> str:
    repo = node.get("repository")
    return f"repository:{repo}" if isinstance(repo, str) else "repository:*"


def repository_collaborator(node: Node) -> list[Grant]:
    """`github_repository_collaborator` (default `push`) or `github_team_repository` (default
    `pull`): its `permission` on `repository`, at the `permission` line (else the block's)."""
    default = "pull" if "team_id" in node.attrs else "push"
    return _role_grants(node.get("permission"), default, _repository(node),
                        node.line("permission"))


def repository_collaborators(node: Node) -> list[Grant]:
    """`github_repository_collaborators`: each `user` block's (default `push`) and `team`
    block's (default `pull`) `permission` on `repository`."""
    out: list[Grant] = []
    for kind, default in (("user", "push"), ("team", "pull")):
        for block in node.blocks(kind):
            out.extend(_role_grants(block.get("permission"), default, _repository(node),
                                    block.line("permission")))
    return out


def membership(node: Node) -> list[Grant]:
    """`github_membership`: `member`, and `admin` (an organisation owner) when `role` is
    `admin`, on the organisation, at the `role` line."""
    role = node.get("role")
    roles = ["member", "admin"] if role == "admin" else ["member"]
    if isinstance(role, str) and role not in ("admin", "member"):
        roles = [role]  # an expression: recorded as written
    return [Grant(action=r, resource="organization", line=node.line("role")) for r in roles]


def deploy_key(node: Node) -> list[Grant]:
    """`github_repository_deploy_key`: `pull` on `repository`, and `push` unless `read_only`
    is true (the default), at the `read_only` line."""
    read_only = node.get("read_only")
    roles = ["pull"] if read_only in (None, True, "true") else ["pull", "push"]
    return [Grant(action=r, resource=_repository(node), line=node.line("read_only"))
            for r in roles]
