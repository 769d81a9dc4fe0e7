"""NHI302 for a GitHub Actions job given an environment: a job that holds repository secrets
(`checker.parsers.github_secrets`) and now runs in an `environment:` it did not at base reads
that environment's secrets under the same names, so what it can read widened (an agent's
change blocks; a person's is reported). Called from `checker.checks.ci`."""

from __future__ import annotations

from collections.abc import Iterator

from checker.checks.api import Hit, Subject

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
