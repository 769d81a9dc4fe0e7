"""How a chart's render meets the NHI107 of its templates (`checker.sources.templates`).

A chart template is not YAML, so each changed one is NHI107 until its chart is rendered. When
the chart renders, its objects are judged instead: the templates' NHI107 go. When it cannot
render, the render's NHI107 (why: helm missing, a dependency not vendored, a template error) is
folded into the NHI107 of each template of that chart it concerns, and stands alone on a
changed file that has none (`values.yaml`, a `*.tpl` helper, `Chart.yaml`). It is said once per
chart and set of commits (`commands.render_disk.failure_anchors`): the other changed templates
of the same commits are `quiet`, their NHI107 dropped and counted in the failure's message.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Sequence
from dataclasses import replace

from checker.model import ParseProblem
from checker.sources.templates import chart_of

UNRENDERED = "NHI107"


def with_chart_renders(problems: Sequence[ParseProblem], charts: Collection[str],
                       failures: Sequence[ParseProblem], quiet: Collection[str] = ()
                       ) -> list[ParseProblem]:  # fmt: skip
    """`problems` (a parse's) and the render `failures` together: the NHI107 of a template of
    a chart in `charts` (those rendered; a vendored subchart's, under `<chart>/charts/`, with
    its parent), or of a `quiet` template (its chart's failure sits
    on another changed file of the same commits, once per chart), dropped; a failure on a
    file that has a template NHI107, or on a chart's `Chart.yaml` whose templates have some,
    folded into them (its message appended); every other failure kept as it is."""
    rendered = frozenset(charts)
    kept: list[ParseProblem] = []
    folded: set[int] = set()
    for problem in problems:
        if problem.rule_id != UNRENDERED:
            kept.append(problem)
            continue
        if chart_of(problem.path, rendered) is not None or problem.path in quiet or any(
                problem.path.startswith(f"{root}/charts/" if root else "charts/")
                for root in rendered):
            continue  # rendered (a vendored subchart's template: with its parent), or said
        reasons = []
        for index, failure in enumerate(failures):
            if _concerns(failure, problem.path):
                reasons.append(failure.message)
                folded.add(index)
        kept.append(replace(problem, message="; ".join([problem.message, *reasons]))
                    if reasons else problem)
    kept.extend(f for i, f in enumerate(failures) if i not in folded)
    return kept


def _concerns(failure: ParseProblem, path: str) -> bool:
    """Whether the render `failure` is about the template at `path`: on that file, or on the
    `Chart.yaml` of the chart whose template it is."""
    if failure.path == path:
        return True
    if posixpath.basename(failure.path) != "Chart.yaml":
        return False
    return chart_of(path, {posixpath.dirname(failure.path)}) is not None
