"""The `IdentityObject` shapes the secret scan returns (facets: `derived_from` is always set).

`hardcoded_object` turns a `hardcoded.Hit` into a `hardcoded_secret` facet; `facet` builds every
other one (Terraform and CI sinks) with a single `anchor` attribute line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from checker.model import IdentityObject, Location
from checker.secrets.hardcoded import Hit

#: detect-secrets plugin `secret_type` -> platform.
_PLATFORM_BY_DETECTOR = {
    "AWS Access Key": "aws",
    "GitHub Token": "github",
    "GitLab Token": "gitlab",
    "Private Key": "tls",
    "Azure Storage Account access key": "azure",
    "Google API Key": "gcp",
}


def hardcoded_object(path: str, hit: Hit) -> IdentityObject:
    """The `hardcoded_secret` facet of `hit` in file `path`, addressed by key (or detector) and
    redacted value."""
    label = hit.key or re.sub(r"[^a-z0-9]+", "-", hit.detector.lower()).strip("-")
    attrs = {"value": hit.line}
    if hit.key:
        attrs[hit.key] = hit.line
    return IdentityObject(
        kind="secret",
        platform=_PLATFORM_BY_DETECTOR.get(hit.detector, "generic"),
        type="hardcoded_secret",
        address=f"{path}#secret.{label}:{hit.redacted}",
        location=Location(path, hit.line, hit.line),
        attribute_lines=attrs,
        secret_sinks=(f"literal:{hit.detector}",),
        derived_from=path,
    )


def facet(path: str, type_: str, kind: str, platform: str, address: str, start: int,
          end: int, anchor: int, sinks: Iterable[str], derived: str | None = None,
          references: Iterable[str] = ()) -> IdentityObject:
    """One facet of file `path`: lines `start`..`end` (1-based; `end` raised to `start` when
    lower), `attribute_lines` = {"anchor": `anchor`}, `derived_from` = `derived` or `path`."""
    return IdentityObject(
        kind=kind,
        platform=platform,
        type=type_,
        address=address,
        location=Location(path, start, max(start, end)),
        attribute_lines={"anchor": anchor},
        secret_sinks=tuple(sinks),
        references=tuple(references),
        derived_from=derived or path,
    )
