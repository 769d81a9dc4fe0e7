"""Projected service-account tokens compared between base and head, for
`checker.checks.workloads`: the same token (volume and audience) with a shorter or equal
`expirationSeconds` is no new credential (a shorter lifetime is a narrowing); a longer one
lives longer (a widening); any other token is new.

A token is a workload facet's `PROJECTED_TOKEN<volume>|<audience>|<expirationSeconds>` sink
(`checker.parsers.kubernetes.workloads`); an absent `expirationSeconds` is the API server's
default, one hour
(https://kubernetes.io/docs/concepts/storage/projected-volumes/#serviceaccounttoken).
"""

from __future__ import annotations

from collections.abc import Iterable

#: `expirationSeconds` when the volume source leaves it out.
DEFAULT_SECONDS = 3600


def _parts(key: str) -> tuple[str, str, int | None]:
    """(volume, audience, seconds) of a token key; seconds None when not a number."""
    volume, audience, seconds = [*key.split("|"), "", ""][:3]
    if not seconds:
        return volume, audience, DEFAULT_SECONDS
    return volume, audience, int(seconds) if seconds.isdigit() else None


def gained(head: Iterable[str], base: Iterable[str]) -> list[tuple[str, int | None]]:
    """(head token key, base seconds or None) for each token at head that base did not mount:
    a new token (None), or the same volume and audience living longer (base's seconds)."""
    old: dict[tuple[str, str], int | None] = {}
    for key in base:
        volume, audience, seconds = _parts(key)
        old[(volume, audience)] = seconds
    out: list[tuple[str, int | None]] = []
    for key in head:
        volume, audience, seconds = _parts(key)
        if (volume, audience) not in old:
            out.append((key, None))
            continue
        was = old[(volume, audience)]
        if was is None or seconds is None or seconds > was:
            out.append((key, was if was is not None else None))
    return out


def shortened(head: Iterable[str], base: Iterable[str]) -> list[tuple[str, int, int]] | None:
    """(volume, base seconds, head seconds) of each token whose lifetime only got shorter, when
    every head token is one base mounted or a shorter-lived one (None otherwise, or when no
    token was shortened)."""
    old = {(v, a): s for v, a, s in map(_parts, base)}
    out: list[tuple[str, int, int]] = []
    for key in head:
        volume, audience, seconds = _parts(key)
        was = old.get((volume, audience), -1)
        if was == -1 or was is None or seconds is None or seconds > was:
            return None
        if seconds < was:
            out.append((volume, was, seconds))
    return out or None
