"""Findings said twice, dropped once: a local module's identity read through its call, and a
rendered object beside its plain-file source (`checker.pipeline.run_rules`)."""

from __future__ import annotations

from collections.abc import Sequence

from checker.model import Finding, IdentityObject


def without_repeated_findings(findings: list[Finding]) -> list[Finding]:
    """`findings` without those on a local module's identity read through a call
    (`module.X.<address>`, kept by `sources.modules.without_called_repeats` because it reads
    an argument of the call) that say, at the same line, what the module's own `<address>`
    finding of the same rule says: the call's arguments do not change that change, so it is
    reported once."""
    def key(f: Finding, address: str) -> tuple[object, ...]:
        return (f.rule_id, f.location.path, f.location.start_line, address,
                f.message.replace(f.address or "", address))

    own = {key(f, f.address or "") for f in findings}
    return [
        f for f in findings
        if not ((f.address or "").startswith("module.") and (f.address or "").count(".") >= 3
                and key(f, (f.address or "").split(".", 2)[2]) in own)
    ]


def without_rendered_repeats(findings: list[Finding], objects: Sequence[IdentityObject]
                              ) -> list[Finding]:  # fmt: skip
    """`findings` without those on a rendered object (`IdentityObject.rendered_by`) that a
    plain-file identity's finding of the same rule already reports at the same line: an
    overlay that renames a base's ServiceAccount deploys the same object, reported once."""
    rendered = {o.address for o in objects if o.rendered_by}
    if not rendered:
        return findings
    plain = {(f.rule_id, f.location.path, f.location.start_line) for f in findings
             if f.address not in rendered}
    return [f for f in findings if f.address not in rendered
            or (f.rule_id, f.location.path, f.location.start_line) not in plain]
