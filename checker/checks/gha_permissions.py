"""What a GitHub Actions job's GITHUB_TOKEN may do, before and after a change: the narrowing
notes of NHI302 for `checker.checks.ci`.

A job's token gets its job's `permissions:` block, else the workflow's, else the repository
default. The default is set outside the repository (permissive: read/write on every scope;
restricted: `contents`/`packages` read), so it is unknown here: a block that replaces it is a
narrowing only when it grants nothing but read (or none), and a removed block is a widening
judged as if the default were write-all. `id-token` is `none` in both defaults. Source: the
GITHUB_TOKEN permissions table, https://docs.github.com/en/actions/reference/github_token-reference
(an unnamed scope is `none` once any scope is named).

A created read-only block is not a new credential: GitHub mints the token for every job
whatever the file says, and the block only limits it. So an agent that adds
`permissions: {contents: read}` needs no approval (NHI302 `narrowed`, a note; NHI101 does not
apply), while a block with a write scope over the unknown default is judged as a creation.
A created block that grants only read is a note too when it reads a scope the workflow's
block did not (a new `lint` job with `pull-requests: read` under a workflow's
`contents: read`): read-only, it writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from checker.checks.api import Hit, Subject
from checker.model import Grant, IdentityObject

_LEVEL = {"none": 0, "read": 1, "write": 2}
#: The repository default: unknown, so write on every scope but `id-token` (`none` in both).
DEFAULT: Mapping[str, str] = {"*": "write", "id-token": "none"}
_OIDC_SUFFIX = "#permissions.id-token"


def scopes(grants: Sequence[Grant]) -> dict[str, str]:
    """`scope -> level` of a permissions block's grants (`*` for `write-all`/`read-all`)."""
    out: dict[str, str] = {}
    for grant in grants:
        scope, _, level = grant.action.rpartition(":")
        if level in _LEVEL:
            out[scope] = level
    return out


#: The scopes of the permissions table (an unnamed one is compared through `*`).
_SCOPES = ("actions", "attestations", "checks", "contents", "deployments", "discussions",
           "id-token", "issues", "models", "packages", "pages", "pull-requests",
           "repository-projects", "security-events", "statuses")


def level(block: Mapping[str, str], scope: str) -> int:
    """The level (0 none, 1 read, 2 write) `block` gives `scope`; `id-token: read` (from
    `read-all`) mints nothing, so it counts as none."""
    value = _LEVEL[block.get(scope, block.get("*", "none"))]
    return 0 if scope == "id-token" and value == 1 else value


def not_wider(head: Mapping[str, str], base: Mapping[str, str]) -> bool:
    """True when `head` gives no scope more than `base` does."""
    names = (set(head) | set(base) | set(_SCOPES)) - {"*"}
    return all(level(head, s) <= level(base, s) for s in names)


def _base_block(subject: Subject) -> tuple[dict[str, str] | Mapping[str, str], bool]:
    """(what the token could do at base where this block now applies, whether that was the
    unknown repository default)."""
    obj = subject.obj
    if subject.base is not None and subject.base.type == obj.type:
        return scopes(subject.base.privileges), False
    path = obj.address.split("#", 1)[0]
    if "#jobs." in obj.address:
        top = _find(subject.ctx.base_objects, obj.location.path, f"{path}#permissions",
                    "workflow_permissions")
        if top is not None:
            return scopes(top.privileges), False
    return DEFAULT, True


def _find(objects: Sequence[IdentityObject], path: str, address: str, type_: str
          ) -> IdentityObject | None:  # fmt: skip
    return next((o for o in objects if o.location.path == path and o.address == address
                 and o.type == type_), None)


def narrows(subject: Subject) -> Iterator[Hit]:
    """NHI302 `narrowed` for a GITHUB_TOKEN change that widens nothing (see module doc);
    nothing in `scan`, which has no change."""
    obj = subject.obj
    if subject.ctx.mode == "scan":
        return
    if obj.type == "workflow_permissions":
        head = scopes(obj.privileges)
        base, unknown = _base_block(subject)
        writes = any(v == "write" for v in head.values())
        if unknown and writes:
            return  # a write scope over the unknown default: judged as created
        if not not_wider(head, base):
            if subject.base is None and not writes:
                yield Hit("NHI302",
                          f"{obj.address} is read-only: GITHUB_TOKEN gets no write scope "
                          f"({_describe(head)}); no new credential, GitHub mints the token "
                          "for every job", "privileges", variant="narrowed")
            return
        was = "the repository default" if unknown else "before"
        yield Hit("NHI302",
                  f"{obj.address} narrowed: GITHUB_TOKEN gets no scope beyond {was} "
                  f"({_describe(head)}); no new credential, GitHub mints the token for every "
                  "job", "privileges", variant="narrowed")
    elif obj.type == "oidc_token" and subject.base is None and "#jobs." in obj.address:
        path = obj.address.split("#", 1)[0]
        if _find(subject.ctx.base_objects, obj.location.path, path + _OIDC_SUFFIX,
                 "oidc_token") is not None:
            yield Hit("NHI302",
                      f"{obj.address} narrowed: `id-token: write` moved from the workflow to "
                      "this job, which could already mint OIDC tokens", "privileges",
                      variant="narrowed")
    elif subject.base is not None and _only_token_moved(obj, subject.base):
        yield Hit("NHI302",
                  f"{obj.address} narrowed: it uses its job's own `id-token: write` instead "
                  "of the workflow's; nothing else changed", "privileges", variant="narrowed")


def _only_token_moved(obj: IdentityObject, base: IdentityObject) -> bool:
    """A credential step whose only difference is that its OIDC token reference moved from
    the workflow-level grant to its own job's."""
    if obj.references == base.references or obj.kind != "ci_credential":
        return False
    gone = set(base.references) - set(obj.references)
    new = set(obj.references) - set(base.references)
    job = obj.address.rsplit(".steps[", 1)[0]
    if not (gone and all(r.endswith(_OIDC_SUFFIX) for r in gone) and new == {job}):
        return False
    same = ("type", "environment", "secret_sinks", "metadata")
    return all(getattr(obj, f) == getattr(base, f) for f in same) and unplaced(obj) == (
        unplaced(base))


def unplaced(obj: IdentityObject) -> tuple[tuple[object, ...], ...]:
    """The grants of `obj` without their lines (action, resource, effect, conditions)."""
    return tuple((g.action, g.resource, g.effect, g.conditions) for g in obj.privileges)


def _describe(block: Mapping[str, str]) -> str:
    if not block:
        return "no scope"
    return ", ".join(f"{s}: {v}" for s, v in sorted(block.items()))


def removed_block(subject: Subject) -> Iterator[Hit]:
    """NHI302 when a workflow's `permissions:` block is gone (the facet
    `default_token_permissions` at head, a block at base): the unknown default applies,
    judged as write-all."""
    base = subject.base
    if base is None or base.type != "workflow_permissions":
        return
    if not_wider(DEFAULT, scopes(base.privileges)):
        return
    yield Hit("NHI302",
              f"{base.address} removed: GITHUB_TOKEN now gets the repository default, which "
              "nhi-gate cannot see and judges as write-all (was: "
              f"{_describe(scopes(base.privileges))})", "privileges",
              subject.obj.attribute_lines.get("anchor"))
