"""Secret material a range's commits added to files that head no longer holds it in.

`history_secrets(versions, config)` searches each file version a commit of the range wrote
(`checker.git.history.added_blobs`: deleted or changed again by head) with the secret scan
head's files get (`checker.secrets.scan`, the format read from the path and content as for a
changed file), and keeps the hardcoded secrets that commit added: those the version before it
(the path's previous blob) did not hold. Each secret once, on the first commit that added it.
A Terraform state version (`terraform_state`: secret material as a whole) is kept as it is,
once per path, on the first commit that wrote it.
A version nhi-gate cannot search (over the size or CPU-time budget) is an NHI903 problem: a
secret in history is never passed unread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from checker.model import EXCLUDED_TOKENS, IdentityObject, ParseProblem, ParseResult, SourceFile
from checker.parsers import FORMATS, TOKENS
from checker.policy.catalogue import Catalogue
from checker.policy.config import Config
from checker.secrets import scan
from checker.secrets.large_text import MAX_SCAN_BYTES, hot_text
from checker.sources.budget import parse_budget, parse_one
from checker.sources.discovery import excluded, sniff, text_file


@dataclass(frozen=True)
class Version:
    """One file version commit `commit` wrote (`source`, at `source.revision` = the commit)
    and the blob id its path had before (`before`; None: the commit created it)."""

    commit: str
    source: SourceFile
    before: str | None
    #: The version's size in bytes (its `source.raw` is empty when it was too large to read).
    size: int = 0


@dataclass(frozen=True)
class HistorySecrets:
    """What `history_secrets` found: (commit, `hardcoded_secret` or `terraform_state` facet
    at the version's line) pairs, oldest commit first, and the versions that could not be
    searched (NHI903)."""

    found: tuple[tuple[str, IdentityObject], ...] = ()
    problems: tuple[ParseProblem, ...] = ()


def secret_format(path: str, raw: bytes) -> str | None:
    """The format the secret scan reads a changed file `path` with, as `check` does
    (`pipeline._plan`): its sniffed format, the format tokens alone for a text file no parser
    reads or one read by content, `kubernetes` for a template (its literals are still secret
    material); None for a binary file or a format not read."""
    sniffed = sniff(path, raw)
    if sniffed.template is not None:
        return "kubernetes"
    if sniffed.tokens or sniffed.format is None:
        return TOKENS if text_file(raw) else None
    return sniffed.format if sniffed.format in FORMATS else None


def _hits(source: SourceFile, fmt: str, catalogue: Catalogue, config: Config) -> ParseResult:
    return parse_one(lambda one, _: scan(one, fmt), source, catalogue, parse_budget(config))


def _secrets(result: ParseResult) -> list[IdentityObject]:
    """The hardcoded secrets of a scan, less providers' documented example keys, and a state
    file's `terraform_state` facet."""
    return [o for o in result.objects if (o.type == "hardcoded_secret"
            and "placeholder:documented-example" not in o.secret_sinks)
            or o.type == "terraform_state"]


def _value(obj: IdentityObject) -> str:
    if obj.type == "terraform_state":
        return obj.address  # `path#terraform_state`: the file is the secret
    return obj.address.rsplit(":", 1)[-1]  # the redacted value (`facets.hardcoded_object`)


def history_secrets(versions: Sequence[Version], blob: Callable[[str], bytes],
                    catalogue: Catalogue, config: Config) -> HistorySecrets:
    """The hardcoded secrets each of `versions` (oldest commit first) added, each redacted
    value once; see the module docstring. `blob(id)` reads a version's `before` blob, only
    for a version that holds a secret. A version under an excluded path (config `exclude`) is
    read for its format tokens alone (`model.EXCLUDED_TOKENS`), and never NHI903.
    A version over `config.max_file_bytes` is read for its format tokens alone
    (`large_text.hot_text`); one over that pass's limit or its CPU-time budget is an NHI903
    problem naming the commit."""
    found: list[tuple[str, IdentityObject]] = []
    problems: list[ParseProblem] = []
    seen: set[str] = set()
    for version in versions:
        source = version.source
        aside = excluded(source.path, config.exclude)  # its format tokens alone, marked
        if version.size > MAX_SCAN_BYTES:
            problems += [] if aside else [_unread(version, "over the size budget")]
            continue
        if not text_file(source.raw):
            continue
        fmt = EXCLUDED_TOKENS if aside else secret_format(source.path, source.raw)
        if fmt is not None and len(source.raw) > config.max_file_bytes:
            reduced = hot_text(source.raw)  # None: no line a format token may sit on
            source = SourceFile(source.path, reduced or b"", source.revision)
            fmt = EXCLUDED_TOKENS if aside else TOKENS
        if fmt is None or not source.raw:
            continue
        result = _hits(source, fmt, catalogue, config)
        if result.problems:
            problems.append(_unread(version, "over the CPU-time budget"))
            continue
        added = _secrets(result)
        if any(o.type == "hardcoded_secret" for o in added) and version.before is not None:
            before = SourceFile(source.path, blob(version.before), version.commit)
            had = {_value(o) for o in _secrets(_hits(before, fmt, catalogue, config))}
            added = [o for o in added if o.type == "terraform_state" or _value(o) not in had]
        for obj in added:
            if _value(obj) not in seen:
                seen.add(_value(obj))
                found.append((version.commit, obj))
    return HistorySecrets(tuple(found), tuple(problems))


def _unread(version: Version, why: str) -> ParseProblem:
    path = version.source.path
    return ParseProblem(
        path, "NHI903",
        f"{path} as commit {version.commit[:12]} wrote it ({version.size} bytes) is "
        f"{why}: it was not searched for the secret material it may have left in the "
        "range's history",
    )
