"""A base identity read as its head twin writes the run's partition, region and account id.

`arn:aws:iam::aws:policy/ReadOnlyAccess` rewritten as
`arn:${data.aws_partition.current.partition}:iam::aws:policy/ReadOnlyAccess`, or an account id
`111122223333` inside an ARN rewritten as `${data.aws_caller_identity.current.account_id}`,
names the same thing: the partition, region or account the configuration is applied in
(`checker.policy.arn_environment`; README "What fails closed": the account id, partition and
region inside ARNs are not unknown). When the head block says what base said but for such
fields (equal `IdentityObject.environment_digest` hashes, one literal and one data source
attribute per field), `with_environment` gives the engine the base twin with those fields
written as head writes them: its digests are head's, and its grants, trust, references and
principals read with head's data source attributes, so the change is cosmetic (no finding) and
anything else it does is judged as usual.
"""

from __future__ import annotations

from dataclasses import replace

from checker.model import IdentityObject
from checker.policy.arn_environment import environment_twin, rewritten

__all__ = ["with_environment"]


def with_environment(twin: IdentityObject, obj: IdentityObject) -> IdentityObject:
    """`twin` (`obj`'s base twin) with its ARN fields written as `obj` writes them (module
    doc), or `twin` itself when `obj` differs from it otherwise or the same way."""
    if twin.digest == obj.digest or twin.digest[32:] != obj.digest[32:]:
        return twin
    fields = environment_twin(obj.environment_digest, twin.environment_digest)
    if fields is None:
        return twin

    def text(value: str) -> str:
        return rewritten(value, fields)

    return replace(
        twin, digest=obj.digest, frame_digest=obj.frame_digest,
        untagged_digest=obj.untagged_digest, environment_digest=obj.environment_digest,
        privileges=tuple(replace(g, action=text(g.action), resource=text(g.resource))
                         for g in twin.privileges),
        trust=tuple(replace(t, principal=text(t.principal)) for t in twin.trust),
        references=tuple(text(r) for r in twin.references),
        principals=tuple(text(p) for p in twin.principals),
        boundary=text(twin.boundary) if twin.boundary is not None else None,
    )
