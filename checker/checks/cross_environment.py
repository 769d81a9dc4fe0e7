"""NHI204: one identity referenced from more than one environment (a cross rule).

Identities are compared by the literal identifiers parsers record in
`IdentityObject.principals` (GCP service account email, AWS role ARN, Azure client/object id,
Kubernetes `namespace/name` of a ServiceAccount), plus identifiers of the same shapes among
`references` (GitHub Actions steps name the role ARN or service account they use).
Environments come from `checks.environments.infer_environment` (config globs, an
`environment` label, path
segments, namespaces). Objects without an environment are not compared.

Only the files a run parses are joined: in `check` mode the changed files (and, in `scan` mode,
every file given). One finding per (touched object, identifier), on the object.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from checker.checks.api import Context, Hit
from checker.lazy_patterns import lazy_compile
from checker.model import IdentityObject
from checker.provenance.attribution import Touch

_REF_SHAPES = (
    (lazy_compile(r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]+$"), "aws-role:"),
    (lazy_compile(r"^[a-z][a-z0-9-]{4,29}@[a-z0-9.-]+\.iam\.gserviceaccount\.com$"), "gcp-sa:"),
)
_KIND_NAMES: Mapping[str, str] = {
    "gcp-sa": "service account",
    "aws-role": "IAM role",
    "azure-id": "Azure principal",
    "k8s-sa": "Kubernetes service account",
}


def identity_keys(obj: IdentityObject) -> tuple[str, ...]:
    """The comparable identifiers `obj` names (see module doc), sorted."""
    keys = {p for p in obj.principals if not p.startswith("gcp-public:")}  # everyone: no reuse
    for ref in obj.references:
        for pattern, prefix in _REF_SHAPES:
            if pattern.match(ref):
                keys.add(prefix + ref)
    return tuple(sorted(keys))


def _describe(key: str) -> str:
    prefix, _, value = key.partition(":")
    return f"{_KIND_NAMES.get(prefix, prefix)} {value}"


def check_all(
    judged: Sequence[IdentityObject],
    touched: Mapping[tuple[str, str], Touch],
    ctx: Context,
) -> Iterator[tuple[IdentityObject, Hit]]:
    """NHI204 for touched objects whose identifier is also used in another environment."""
    users: dict[str, list[IdentityObject]] = {}
    for obj in judged:
        if obj.environment is None:
            continue
        for key in identity_keys(obj):
            users.setdefault(key, []).append(obj)
    for key in sorted(users):
        objs = users[key]
        if len({o.environment for o in objs}) < 2:
            continue
        for obj in objs:
            touch = touched.get((obj.location.path, obj.address))
            if touch is None:
                continue
            others = sorted(
                {(o.environment or "", o.location.path) for o in objs
                 if o.environment != obj.environment}
            )
            where = ", ".join(f"{env} ({path})" for env, path in others[:3])
            yield obj, Hit(
                "NHI204",
                f"{obj.address} in environment {obj.environment} uses {_describe(key)}, "
                f"which is also used in {where}; give each environment its own identity",
                f"environment:{key}")
