"""NHI302 for a GitHub Actions job given an environment: a job that holds repository secrets
(`checker.parsers.github_secrets`) and now runs in an `environment:` it did not at base reads
that environment's secrets under the same names, so what it can read widened (an agent's
change blocks; a person's is reported). The reverse, a job that no longer runs in the
environment it did at base with the same secret references, narrows (`left`: a note): it loses
that environment's secrets, and `secrets.<NAME>` now resolves only to the repository's or
organisation's secret of that name, which every job of the repository without an environment
could already read. Called from `checker.checks.ci`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from checker.checks.api import Hit, Subject
from checker.model import IdentityObject

#: The identity types of the repository secrets a job holds.
HELD_TYPES = frozenset({"repository_cloud_keys", "repository_pat", "repository_secret"})


def widened(subject: Subject) -> Iterator[Hit]:
    """NHI302: a held secret's job now references an environment it did not at base, so
    `secrets.<NAME>` may resolve to that environment's secret: what the job can read widened.
    The environment's protection rules (required reviewers, wait timer, branch limits) may
    still gate the job, which nhi-gate cannot see. Source:
    https://docs.github.com/en/actions/deployment/targeting-different-environments/using-environments-for-deployment
    """
    obj, base = subject.obj, subject.base
    if base is None or obj.type not in HELD_TYPES:
        return
    gained = [r for r in obj.references if r.startswith("environment:")
              and r not in base.references]
    if not gained:
        return
    name = gained[0].removeprefix("environment:")
    job = obj.address.rsplit(".secrets.", 1)[0]
    was = next((r.removeprefix("environment:") for r in base.references
                if r.startswith("environment:")), None)
    since = f" (was `{was}`)" if was else ""
    yield Hit("NHI302",
              f"{job} now runs in environment `{name}`{since}, so "
              f"`secrets.{obj.address.rsplit('.secrets.', 1)[-1]}` may be that environment's "
              "secret: what the job can read widened (the environment's protection rules, "
              "such as required reviewers, may still apply)",
              "environment", obj.attribute_lines.get("environment", obj.location.start_line))


def _without_environment(obj: IdentityObject) -> IdentityObject:
    """`obj` without its environment, positions and inputs: what must be equal for a job
    leaving its environment to change nothing else."""
    return replace(obj, environment=None, location=replace(obj.location, start_line=1,
                                                           end_line=1),
                   attribute_lines={}, inputs=(),
                   references=tuple(r for r in obj.references
                                    if not r.startswith("environment:")))


def left(subject: Subject) -> Iterator[Hit]:
    """NHI302 `narrowed` (a note): a held secret's job ran in an environment at base and runs
    in none at head, nothing else about the secret changed (module doc). Source:
    https://docs.github.com/en/actions/security-for-github-actions/security-guides/about-secrets#naming-your-secrets
    (an environment's secret takes precedence over a repository secret of the same name)."""
    obj, base = subject.obj, subject.base
    if base is None or obj.type not in HELD_TYPES or obj.environment is not None:
        return
    gone = [r.removeprefix("environment:") for r in base.references
            if r.startswith("environment:")]
    if not gone or any(r.startswith("environment:") for r in obj.references) or (
            _without_environment(obj) != _without_environment(base)):
        return
    job = obj.address.rsplit(".secrets.", 1)[0]
    yield Hit("NHI302",
              f"{job} no longer runs in environment `{gone[0]}`, so "
              f"`secrets.{obj.address.rsplit('.secrets.', 1)[-1]}` can no longer be that "
              "environment's secret, only the repository's or organisation's one every job "
              "without an environment already reads: what the job can read narrowed; a "
              "narrowing needs no approval", "environment", obj.location.start_line,
              variant="narrowed")
