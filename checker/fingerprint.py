"""Stable finding fingerprints (STYLE.md "Deterministic output").

A fingerprint identifies "this rule, on this identity attribute, in this file" across commits:
it hashes the rule id, the repository-relative path, the identity address and the attribute,
and deliberately no line number, so it survives lines moving above the identity. It is written
to SARIF as `partialFingerprints["nhiGate/v1"]`, to JSON as `fingerprint`, and is what
approvals and baselines key on. Changing the recipe changes every fingerprint: bump the
`nhiGate/vN` key if that ever happens.
"""

from __future__ import annotations

import hashlib
import json


def fingerprint(rule_id: str, path: str, address: str | None, attribute: str | None) -> str:
    """32 lowercase hex chars: the first half of sha256 over the four fields.

    The fields are encoded as a JSON array, so `None` (null) and `""` differ and no choice of
    field values can make two different tuples hash the same input:

    >>> fingerprint("NHI101", "infra/iam.tf", "aws_iam_user.deploy", None)
    '3b331767ce460f51d58a7427eed3c5f1'
    """
    payload = json.dumps([rule_id, path, address, attribute], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
