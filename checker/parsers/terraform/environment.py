"""`IdentityObject.environment_digest` of each Terraform block whose text names an ARN.

The digest of the block (`digest.block_digest`, the same parts its `digest` covers) with the
partition, region and account id of every ARN made neutral, and those fields' values
(`checker.policy.arn_environment`): the engine compares it with the base identity's so that
`arn:aws:` and `arn:${data.aws_partition.current.partition}:` say the same
(`checks/arn_twins.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from checker.model import IdentityObject, ModuleSources
from checker.parsers.terraform.digest import block_digest
from checker.parsers.terraform.expansion import document_sources
from checker.parsers.terraform.grants_azure import not_identity_parts
from checker.parsers.terraform.nodes import Block, Doc

__all__ = ["with_environment_digests"]


def with_environment_digests(objects: Sequence[IdentityObject], blocks: Sequence[Block],
                             doc: Doc, module: ModuleSources | None
                             ) -> tuple[IdentityObject, ...]:  # fmt: skip
    """`objects` (of file `doc`, its `blocks`) with the `environment_digest` of each resource
    or data block whose lines hold `arn:` set (the others unchanged)."""
    by_address = {(".".join(b.labels) if b.section == "resource"
                   else "data." + ".".join(b.labels)): b for b in blocks}
    documents = None
    out: list[IdentityObject] = []
    for obj in objects:
        block = by_address.get(obj.address) if obj.derived_from is None and obj.digest else None
        if block is None or not any("arn:" in line for line in
                                    doc.lines[block.node.start - 1:block.node.end]):
            out.append(obj)
            continue
        documents = documents if documents is not None else document_sources(list(blocks))
        neutral = block_digest(block, module, not_identity_parts(
            obj.type, block.node.body), documents, neutral=True)
        out.append(replace(obj, environment_digest=neutral))
    return tuple(out)
