"""NHI101: an identity an agent or bot created or changed; it blocks until a human approves
(approval is applied after the checks, by `checker.approval`)."""

from __future__ import annotations

from collections.abc import Iterator

from checker.checks.api import Hit, Subject
from checker.provenance.attribution import Touch


def _describe_actor(touch: Touch) -> str:
    who = touch.agent or touch.actor_kind or "unknown actor"
    where = f" in commit {touch.commit[:12]}" if touch.commit else ""
    return f"{touch.actor_kind} ({who}){where}" if touch.agent else f"{who}{where}"


def check(subject: Subject) -> Iterator[Hit]:
    """NHI101: an identity an agent or bot created or changed (approval is applied later)."""
    touch, obj = subject.touch, subject.obj
    if subject.ctx.mode == "scan" or touch.actor_kind not in ("agent", "bot"):
        return
    if obj.derived_from is not None:  # a secret-material facet: NHI31x/NHI4xx judge it
        return
    verb = "created" if subject.base is None else "changed"
    yield Hit(
        "NHI101",
        f"{obj.address} ({obj.platform} {obj.kind}) was {verb} by {_describe_actor(touch)} "
        "without a human's approval",
    )
