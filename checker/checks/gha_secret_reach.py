"""Which steps a repository secret of a GitHub Actions job reaches, compared between base and
head, for `checker.checks.ci`: a secret moved from the job's (or the workflow's) `env:` to the
`env:`/`with:`/`run:` of the steps that use it reaches fewer steps, so the change is a
narrowing (an NHI302 `narrowed` note), as long as it reaches no action it did not reach at
base and nothing else about it changed.

A secret is a `parsers/github_actions.py` object `<job>.secrets.<NAME>` whose
`attribute_lines` hold `use.<via>` per place the job names it and `to.<uses@ref>` per action or
called workflow it reaches (`checker.parsers.github_secrets`). A job's `env:` is set for every
step of the job, the workflow's for every step of every job; a step's `env:` and `with:` for
that step alone. Source:
https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#env
"""

from __future__ import annotations

from collections.abc import Iterator

from checker.checks.api import Hit, Subject
from checker.model import IdentityObject

#: `parsers/github_actions.SECRET_TYPES`' values: checks do not import parsers.
_SECRET_TYPES = frozenset({"repository_cloud_keys", "repository_pat", "repository_secret"})
#: `via` prefixes of the `env:` maps every step of the job sees, with their wording.
_JOB_WIDE = {"env.": "the job's env", "workflow.env.": "the workflow's env"}


def _uses(obj: IdentityObject) -> dict[str, int]:
    return {k[len("use."):]: n for k, n in obj.attribute_lines.items() if k.startswith("use.")}


def _reaches(obj: IdentityObject) -> set[str]:
    return {k[len("to."):] for k in obj.attribute_lines if k.startswith("to.")}


def _job_wide(via: str) -> str | None:
    return next((words for prefix, words in _JOB_WIDE.items() if via.startswith(prefix)), None)


def narrows(subject: Subject) -> Iterator[Hit]:
    """NHI302 `narrowed` when a repository secret the job held in a job-wide `env:` at base is
    held by some of its steps only at head: every head use is a base use or a step's, at least
    one job-wide use is gone, no action or called workflow it reaches is new, and its type,
    environment, references, sinks and metadata are base's."""
    obj, base = subject.obj, subject.base
    if base is None or obj.type not in _SECRET_TYPES or obj.type != base.type:
        return
    same = ("platform", "environment", "references", "secret_sinks", "metadata", "privileges")
    if any(getattr(obj, f) != getattr(base, f) for f in same):
        return
    head, was = _uses(obj), _uses(base)
    gone = [via for via in was if via not in head and _job_wide(via)]
    moved = [via for via in head if via not in was]
    if not gone or any(not via.startswith("steps[") for via in moved) or not (
            _reaches(obj) <= _reaches(base)):
        return
    if not moved and not head:
        return  # no use left: the object would not exist
    job, _, name = obj.address.rpartition(".secrets.")
    where = ", ".join(moved) if moved else "the steps that already named it"
    yield Hit("NHI302", f"{job}: `secrets.{name}` moved from "
              f"{' and '.join(dict.fromkeys(_job_wide(v) or v for v in gone))} to {where}: it "
              "reaches fewer steps, and no action it did not reach at base; a narrowing needs "
              "no approval", "use", head[moved[0]] if moved else obj.location.start_line,
              variant="narrowed")
