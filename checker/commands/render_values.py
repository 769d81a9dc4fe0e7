"""Helm values files a change touches that no configured render reads (issue 12, access paths).

A chart renders with its own `values.yaml` and the files `render.helm.values` names for it
(README "Helm charts"). Another file named like a values file (`values*.yaml`,
`*-values.yaml`, `*.values.yaml`; `.yml` too) is what a deploy passes with `helm install -f`
(https://helm.sh/docs/chart_template_guide/values_files/), so an agent who flips
`rbac.clusterAdmin` in `charts/app/values-prod.yaml` or `deploy/prod/app-values.yaml` changes
what is deployed while every configured render stays the same. `unused_values` sorts the
changed ones:
- inside a chart the change renders (the deepest chart folder holding it, not under its
  `templates/`): an extra render of that chart with it after the configured files
  (`ExtraRender`), whose objects are addressed under the values file;
- outside every chart, in a repository that has one, and in no kustomization's closure (a
  kustomize `helmCharts` `valuesFile`): an NHI107 problem naming the file and how to configure
  it (`unused_problem`), an error for an agent's change and a note for a person's; worded by
  what the file is (a ConfigMap carrying values for a HelmRelease's `valuesFrom` is no values
  file `render.helm.values` can name; another manifest is judged as the object it is).
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from checker.commands.render_disk import UNRENDERED
from checker.lazy_patterns import lazy_compile
from checker.model import ParseProblem, SourceFile
from checker.policy.config import Config
from checker.safeyaml.load import load_source
from checker.safeyaml.nodes import get, get_path, items, scalar
from checker.sources.discovery import excluded
from checker.sources.render.helm import is_chart, values_paths

#: The names of values files (module docstring).
_VALUES_NAME = lazy_compile(r"^(?:values[\w.-]*|[\w.-]+[.-]values)\.ya?ml$")


class ExtraRender(NamedTuple):
    """Render the chart whose `Chart.yaml` is `chart` with the values file `values` too."""

    chart: str
    values: str


def is_values_name(path: str) -> bool:
    """True when the file name of `path` is a values file's (`values-prod.yaml`,
    `app-values.yml`, `app.values.yaml`)."""
    return _VALUES_NAME.match(posixpath.basename(path)) is not None


def unused_values(changed: Collection[str], paths: Collection[str],
                  closures: Mapping[str, Sequence[str]], config: Config
                  ) -> tuple[list[ExtraRender], list[str]]:  # fmt: skip
    """(extra renders, values files outside every chart) for the `changed` paths, given the
    repository's `paths` and the render `closures` (chart `Chart.yaml` or kustomization
    directory -> its files); see the module docstring. Both sorted."""
    charts = sorted(posixpath.dirname(p) for p in paths if is_chart(p))
    if not charts:
        return [], []
    configured = {v for root, names in config.helm_values.items()
                  for v in values_paths("" if root == "." else root, names)}
    kustomized = {f for root, files in closures.items() if not is_chart(root) for f in files}
    extra: list[ExtraRender] = []
    outside: list[str] = []
    for path in sorted(changed):
        if (not is_values_name(path) or path in configured or path in kustomized
                or excluded(path, config.exclude)):
            continue
        holders = [c for c in charts if c == "" or path.startswith(c + "/")]
        if not holders:
            outside.append(path)
            continue
        chart = max(holders, key=len)
        inner = path[len(chart) + 1:] if chart else path
        key = posixpath.join(chart, "Chart.yaml")
        if inner != "values.yaml" and not inner.startswith("templates/") and key in closures:
            extra.append(ExtraRender(key, path))
    return extra, outside


#: The `data` keys of a ConfigMap or Secret that hold Helm values for a Flux HelmRelease's
#: `valuesFrom` (`valuesKey`, default `values.yaml`:
#: https://fluxcd.io/flux/components/helm/helmreleases/#values-references).
_VALUES_KEY = lazy_compile(r"^(?:values[\w.-]*|[\w.-]+[.-]values)(?:\.ya?ml)?$")


def _manifest(path: str, raw: bytes | None) -> tuple[str, str, list[str]] | None:
    """(kind, name, values-like `data`/`stringData` keys) of the first Kubernetes object in
    `raw` (a document with `apiVersion` and `kind`), or None when `raw` holds none."""
    if raw is None:
        return None
    stream = load_source(SourceFile(path, raw))
    for doc in stream.documents:
        kind, api = scalar(get(doc, "kind")), scalar(get(doc, "apiVersion"))
        if kind and api:
            name = scalar(get_path(doc, "metadata", "name")) or "?"
            keys = [key for section in ("data", "stringData")
                    for key, _, _ in items(get(doc, section)) if _VALUES_KEY.match(key)]
            return kind, name, keys
    return None


def unused_problem(path: str, charts: Sequence[str], raw: bytes | None = None
                   ) -> ParseProblem | None:  # fmt: skip
    """The NHI107 problem of a values file outside every chart that no render reads; `charts`
    are the repository's chart folders, the first named in the example. `raw` (the file at
    head) words the problem by what the file is: a Kubernetes manifest named like a values file
    is no file `render.helm.values` can name. A ConfigMap or Secret whose `data` holds values
    (a HelmRelease's `valuesFrom`) is the problem, worded so; any other manifest is none (None:
    the Kubernetes parser judges it as the object it is)."""
    manifest = _manifest(path, raw)
    if manifest is not None:
        kind, name, keys = manifest
        if not keys:
            return None
        shown = ", ".join(f"`{k}`" for k in keys)
        return ParseProblem(path, UNRENDERED, (
            f"{path}: {kind} {name} holds Helm values in {shown} (what a HelmRelease's "
            "`valuesFrom` passes to its chart), which nhi-gate does not render, so what they "
            "deploy is not judged; review what the values grant (`render.helm.values` names "
            "values files, not the manifests that carry them)"))
    chart = charts[0] if charts else "charts/app"
    relative = posixpath.relpath(path, chart or ".")
    return ParseProblem(path, UNRENDERED, (
        f"{path}: a Helm values file no configured render reads, so what it deploys is not "
        f"judged; name it for its chart (`render: {{helm: {{values: {{\"{chart or '.'}\": "
        f"[\"{relative}\"]}}}}}}` in .nhi-gate.yaml, paths relative to the chart) or review "
        "what it grants"))
