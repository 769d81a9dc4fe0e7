"""Values files the repository's own deploy passes to Helm (issue 12, slice fixT: attacker pass
`chart-envfile`, `helmfile-vals`): whatever its name, a changed file a workflow or script passes
with `helm install|upgrade|template -f`, or a `helmfile.yaml` release lists in `values:`, is a
values file of that chart (`checker.sources.render.helm_calls` reads the calls):
- for a chart of this repository: an extra render of it with the file (`ExtraRender`, as
  `render_values` does for a file named like a values file);
- for a chart from elsewhere (`repo/name`, `oci://...`): no offline render is possible, so it
  fails closed: an NHI107 problem on the values file naming the call, the release and the chart
  (an error for an agent's change, a note for a person's).

Cost: one `git grep` for the changed YAML files' names, then only the files that name them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from checker import git
from checker.commands.render_disk import UNRENDERED
from checker.commands.render_values import ExtraRender
from checker.model import ParseProblem
from checker.policy.config import Config
from checker.sources.discovery import excluded
from checker.sources.render.helm_calls import HelmCall, cli_calls, helmfile_calls, is_helmfile

if TYPE_CHECKING:
    from checker.git.repo import Repo

#: The files a deploy command may sit in (`git grep` suffixes): workflows and CI files, shell
#: scripts, makefiles, task runners, helmfiles.
_SCRIPTS = (".yml", ".yaml", ".sh", ".bash", "Makefile", ".mk", "justfile", "Justfile")


def invoked_values(repo: Repo, rev: str | None, changed: Collection[str],
                   charts: Collection[str], read: Callable[[Sequence[str]], Mapping[str, bytes]],
                   config: Config) -> tuple[list[ExtraRender], list[ParseProblem]]:
    """(extra renders, NHI107 problems) for the `changed` YAML files that a workflow, script
    or helmfile at `rev` passes to Helm as values files; `charts` are the `Chart.yaml` paths of
    the charts this side renders, `read` reads files at `rev`. Both sorted."""
    wanted = {p for p in changed if p.endswith((".yaml", ".yml", ".json"))
              and "templates/" not in p and not excluded(p, config.exclude)}
    if not wanted:
        return [], []
    names = sorted({posixpath.basename(p) for p in wanted})
    found = [p for p in git.grep_files(repo, rev, names, _SCRIPTS)
             if not excluded(p, config.exclude)]
    extra: set[ExtraRender] = set()
    problems: dict[str, ParseProblem] = {}
    for path, raw in sorted(read(found).items()):
        calls = helmfile_calls(path, raw) if is_helmfile(path) else cli_calls(
            raw.decode("utf-8", "replace"))
        for call in calls:
            for values in (v for v in call.values if v in wanted):
                folder = posixpath.normpath(call.chart)
                key = posixpath.join("" if folder == "." else folder, "Chart.yaml")
                if key in charts and values != posixpath.join(posixpath.dirname(key),
                                                              "values.yaml"):
                    extra.add(ExtraRender(key, values))
                elif key in charts:
                    continue  # the chart's own values.yaml: its render reads it already
                else:
                    problems.setdefault(values, _problem(values, call, path))
    return sorted(extra), [problems[p] for p in sorted(problems)]


def _problem(values: str, call: HelmCall, where: str) -> ParseProblem:
    return ParseProblem(values, UNRENDERED, (
        f"{values}: a Helm values file that {call.who} ({where}:{call.line}) passes to the "
        f"chart {call.chart}, which is not in this repository, so nhi-gate cannot render it "
        "offline and what these values deploy (roles, bindings, service accounts) is not "
        "judged; review what they grant"))
