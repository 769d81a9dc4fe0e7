"""The `IdentityObject` shapes the secret scan returns (facets: `derived_from` is always set).

`hardcoded_object` turns a `hardcoded.Hit` into a `hardcoded_secret` facet; `state_object` is
the facet of a committed Terraform state file; `facet` builds every other one (Terraform and CI
sinks) with a single `anchor` attribute line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from checker.lazy_patterns import lazy_compile
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
    redacted value; a documented example key (`hit.example`) has a second sink,
    `placeholder:documented-example`."""
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
        secret_sinks=(f"literal:{hit.detector}", *(("placeholder:documented-example",)
                                                    if hit.example else ())),
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


#: The top-level `"resources"` key of a state file (state format v4 writes it at two spaces),
#: where the managed resources' attribute values start.
_STATE_RESOURCES = lazy_compile(r'^ {0,2}"resources"\s*:')


def state_object(path: str, lines: list[str]) -> IdentityObject:
    """The `terraform_state` facet of state file `path` (its decoded `lines`): the whole file,
    anchored on its top-level `"resources"` key, else on line 1. Nothing of the content enters
    the facet: a state file is secret material whatever it holds
    (https://developer.hashicorp.com/terraform/language/state/sensitive-data)."""
    anchor = next((i for i, line in enumerate(lines, start=1) if _STATE_RESOURCES.match(line)),
                  1)  # fmt: skip
    last = len(lines) - (1 if len(lines) > 1 and lines[-1] == "" else 0)
    return facet(path, "terraform_state", "secret", "generic", f"{path}#terraform_state", 1,
                 last, anchor, ("repository:terraform_state",))
