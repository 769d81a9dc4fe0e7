"""GitOps objects that render a chart of this repository with inputs kept in other files
(issue 12, GitOps inputs): what each one renders (`ChartUse`), for `commands/gitops_renders.py`.

Argo CD and Flux deploy a chart with values the chart does not hold, so a change to those values
changes what is deployed although no chart file and no configured render changes:
- Argo CD `Application` (each of `spec.source`, `spec.sources[]` whose `path` is a chart
  directory here, no `chart:`): the chart rendered with its `values.yaml`, then
  `helm.valueFiles` (paths relative to the chart directory), then `helm.values` (YAML text),
  `helm.valuesObject`, `helm.parameters` (`--set` names, later ones win) and
  `helm.fileParameters` (`--set-file`: the file's text is the value), as Argo CD renders it.
  Source: https://argo-cd.readthedocs.io/en/stable/user-guide/helm/
  In a multi-source Application a value file `$<ref>/<path>` is `<path>` from the root of
  the source whose `ref` is `<ref>`: a file of this repository when that source has the
  chart source's `repoURL` and `targetRevision`; the same repository at another revision is
  not computed but the file is still an input (`ChartUse.reads`), another repository is not
  computed. Source:
  https://argo-cd.readthedocs.io/en/stable/user-guide/multiple_sources/#helm-value-files-from-external-git-repository
- Argo CD `ApplicationSet` with a git `files` generator (`generators[].git.files[].path`
  globs): each matching JSON/YAML file gives parameters (nested keys joined by `.`, also as
  nested objects for `goTemplate`); the `template` with `{{.key}}` (`goTemplate: true`) or
  `{{key}}` replaced is an `Application` read as above, owned by that file. Template text
  other than a parameter reference is not computed (`ChartUse.problem`). Source:
  https://argo-cd.readthedocs.io/en/stable/operator-manual/applicationset/Generators-Git/
- Flux `HelmRelease` whose `spec.chart.spec.chart` is a chart directory here (a
  `GitRepository` source): the chart with its `values.yaml`, then each `spec.valuesFrom`
  ConfigMap/Secret key (default `values.yaml`; `targetPath` entries are not computed), then
  `spec.values`; its `spec.postRenderers` (kustomize patches of the output) are not computed.
  Sources: https://fluxcd.io/flux/components/helm/helmreleases/#values-references,
  https://fluxcd.io/flux/components/helm/helmreleases/#post-renderers
- Flux `Kustomization` `spec.postBuild.substituteFrom` ConfigMaps/Secrets (`FluxRef`): the
  substituted manifests are not computed; `gitops_renders` fails closed on a changed key.
  Source: https://fluxcd.io/flux/components/kustomize/kustomizations/#post-build-variable-substitution

Pure: callers read the files and hand over their text; nothing here runs a renderer.
"""

from __future__ import annotations

import fnmatch
import json
import posixpath
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import NamedTuple

import yaml
from yaml.nodes import MappingNode, Node

from checker.lazy_patterns import lazy_compile
from checker.safeyaml import YValue, get, get_path, line_of, load_text, scalar_text, to_python
from checker.sources.render.argo_sources import remote_reads, repository_path

_APPLICATION = "argoproj.io/Application"
_APPLICATION_SET = "argoproj.io/ApplicationSet"
_HELM_RELEASE = "helm.toolkit.fluxcd.io/HelmRelease"
_KUSTOMIZATION = "kustomize.toolkit.fluxcd.io/Kustomization"
#: A document of a kind read here starts at column 0 (a CRD naming the kind indents it): the
#: byte test before a file is composed.
_GITOPS_KIND = lazy_compile(
    r"\nkind:[ \t]*['\"]?(?:Application|ApplicationSet|HelmRelease|Kustomization)\b")
#: A whole template string that is one parameter reference: `{{.a.b}}`, `{{ a.b }}`.
_REFERENCE = lazy_compile(r"\{\{\s*(\.?)([\w.-]+)\s*\}\}")


class ChartUse(NamedTuple):
    """A render of the chart `chart` (its `Chart.yaml`) that the file `owner` asks for: with
    the repository `values` files in order, then the YAML text `inline` ("" for none). `who`
    names the object (`Application argocd/web`) and `line` its line in `owner`; `problem` says
    what could not be computed (then it is not rendered)."""

    owner: str
    line: int
    who: str
    chart: str
    values: tuple[str, ...] = ()
    inline: str = ""
    problem: str = ""
    #: ConfigMaps/Secrets (`kind/namespace/name`, key) the inline values came from.
    refs: tuple[tuple[str, str], ...] = ()
    #: `helm.fileParameters` (`--set-file`): (value name, repository path), in order.
    files: tuple[tuple[str, str], ...] = ()
    #: Files of this repository it reads that are not computed (a `$ref` value file of this
    #: repository at another revision): inputs, so a change of one fails closed.
    reads: tuple[str, ...] = ()


class FluxRef(NamedTuple):
    """A Flux object (`who`, in `owner` at `line`) that reads the ConfigMap or Secret
    `kind/namespace/name` (`ref`) as `use` (`postBuild.substituteFrom`, `valuesFrom`)."""

    owner: str
    line: int
    who: str
    ref: str
    use: str
    key: str = ""


class Substitution(NamedTuple):
    """A Flux Kustomization (`who`, in `owner` at `line`) that substitutes variables into the
    manifests under `directory`: `inline` (`postBuild.substitute`) over the ConfigMaps/Secrets
    `refs` (`kind/namespace/name`, later ones win)."""

    owner: str
    line: int
    who: str
    directory: str
    inline: tuple[tuple[str, str], ...]
    refs: tuple[str, ...]


class Generator(NamedTuple):
    """An ApplicationSet's git files generator: its `globs`, its `template` and `go_template`
    flag, with the ApplicationSet (`who`) in `owner` at `line`."""

    owner: str
    line: int
    who: str
    globs: tuple[str, ...]
    template: YValue
    go_template: bool


class Facts(NamedTuple):
    """What one file's GitOps objects read (module doc)."""

    uses: tuple[ChartUse, ...] = ()
    flux: tuple[FluxRef, ...] = ()
    generators: tuple[Generator, ...] = ()
    substitutions: tuple[Substitution, ...] = ()


def _kind(doc: Node) -> str:
    group = (scalar_text(get(doc, "apiVersion")) or "").rpartition("/")[0]
    kind = scalar_text(get(doc, "kind")) or ""
    return f"{group}/{kind}" if group else kind


def _who(doc: Node, kind: str) -> str:
    ns = scalar_text(get_path(doc, "metadata", "namespace")) or "(default)"
    return f"{kind.rpartition('/')[2]} {ns}/{scalar_text(get_path(doc, 'metadata', 'name'))}"


def documents(path: str, text: str) -> list[MappingNode]:
    """The mapping documents of a YAML file's `text` (none when it does not parse)."""
    if not path.endswith((".yaml", ".yml")):
        return []
    return [d for d in load_text(text, path).documents if isinstance(d, MappingNode)]


def file_facts(path: str, text: str, paths: Collection[str]) -> Facts:
    """The `ChartUse`s, `FluxRef`s and `Generator`s of the file `path` (its `text`), given the
    repository's `paths` (a source path is a chart when `<path>/Chart.yaml` is among them)."""
    if not _GITOPS_KIND.search("\n" + text[:200]) and not _GITOPS_KIND.search(text):
        return Facts()
    uses: list[ChartUse] = []
    refs: list[FluxRef] = []
    gens: list[Generator] = []
    subs: list[Substitution] = []
    for doc in documents(path, text):
        kind = _kind(doc)
        who, line = _who(doc, kind), line_of(doc)
        node = get(doc, "spec")
        spec = to_python(node) if node is not None else None
        if not isinstance(spec, dict):
            continue
        if kind == _APPLICATION:
            uses.extend(application_uses(path, line, who, spec, paths))
        elif kind == _APPLICATION_SET:
            gens.extend(_generators(path, line, who, spec))
        elif kind == _HELM_RELEASE:
            use, found = _helm_release(path, line, who, doc, spec, paths)
            uses.extend(use)
            refs.extend(found)
        elif kind == _KUSTOMIZATION:
            home = scalar_text(get_path(doc, "metadata", "namespace")) or "(default)"
            post = spec.get("postBuild")
            names: list[str] = []
            for ref in _list(post.get("substituteFrom") if isinstance(post, dict) else None):
                if isinstance(ref, dict) and ref.get("name"):
                    names.append(f"{ref.get('kind') or 'ConfigMap'}/{home}/{ref['name']}")
                    refs.append(FluxRef(path, line, who, names[-1], "postBuild.substituteFrom"))
            inline = post.get("substitute") if isinstance(post, dict) else None
            if names or isinstance(inline, dict):
                where = posixpath.normpath(str(spec.get("path") or ".").lstrip("/"))
                subs.append(Substitution(path, line, who, "" if where == "." else where, tuple(
                    (str(k), str(v)) for k, v in (inline or {}).items()  # type: ignore[union-attr]
                ), tuple(names)))
    return Facts(tuple(uses), tuple(refs), tuple(gens), tuple(subs))


def application_uses(owner: str, line: int, who: str, spec: Mapping[str, YValue],
                     paths: Collection[str]) -> Iterator[ChartUse]:
    """The `ChartUse` of each source of an Application `spec` (a python mapping) that is a
    chart directory among `paths` (module doc)."""
    sources = [spec.get("source"), *_list(spec.get("sources"))]
    for source in sources:
        if isinstance(source, dict) and source.get("chart"):
            yield from _remote_chart(owner, line, who, source, sources, paths)
            continue
        if not isinstance(source, dict) or not source.get("path"):
            continue
        root = posixpath.normpath(str(source["path"]).strip("/"))
        root = "" if root == "." else root
        chart = posixpath.join(root, "Chart.yaml")
        if chart not in paths:
            continue
        helm = source.get("helm") if isinstance(source.get("helm"), dict) else {}
        assert isinstance(helm, dict)
        values: list[str] = []
        reads: list[str] = []
        problem = ""
        for name in _list(helm.get("valueFiles")):
            text = str(name)
            full, why = repository_path(text, root, source, sources)
            if why:
                problem = why
                reads.extend([full] if full and full in paths else [])
            else:
                values.append(full)
        merged: dict[str, YValue] = {}
        try:
            loaded = yaml.safe_load(str(helm.get("values") or "")) or {}
        except yaml.YAMLError:
            loaded, problem = {}, "`helm.values` is not YAML"
        for layer in (loaded, helm.get("valuesObject") or {}):
            if isinstance(layer, dict):
                merge_values(merged, layer)
        for param in _list(helm.get("parameters")):
            if isinstance(param, dict) and param.get("name"):
                name = str(param["name"])
                if re.search(r"[\[\]\\{},=]", name):
                    problem = f"parameter `{name}` is not computed"
                    continue
                raw = str(param.get("value", ""))
                value: YValue = raw if param.get("forceString") else typed_value(raw)
                merge_values(merged, nested(name.split("."), value))
        files: list[tuple[str, str]] = []
        for param in _list(helm.get("fileParameters")):
            if not isinstance(param, dict) or not param.get("name") or not param.get("path"):
                continue
            name = str(param["name"])
            full, why = repository_path(str(param["path"]), root, source, sources)
            if re.search(r"[\[\]\\{},=]", name):
                why = f"file parameter `{name}` is not computed"
            if why:
                problem = why
                reads.extend([full] if full and full in paths else [])
            else:
                files.append((name, full))
        inline = yaml.safe_dump(merged, sort_keys=False) if merged else ""
        yield ChartUse(owner, line, who, chart, tuple(values), inline, problem,
                       files=tuple(files), reads=tuple(dict.fromkeys(reads)))


def _remote_chart(owner: str, line: int, who: str, source: Mapping[str, YValue],
                  sources: Sequence[YValue], paths: Collection[str]) -> Iterator[ChartUse]:
    """An uncomputed `ChartUse` (no `chart`) of a chart from elsewhere reading files of this
    repository (`argo_sources.remote_reads`): a change of one fails closed."""
    reads, problem = remote_reads(source, sources, paths)
    if reads:
        yield ChartUse(owner, line, who, "", problem=problem, reads=reads)


def _list(value: YValue) -> list[YValue]:
    """`value` when it is a list, else []."""
    return value if isinstance(value, list) else []


def typed_value(raw: str) -> YValue:
    """A `--set` value as helm types it: `true`/`false`, integers, else text."""
    if raw in ("true", "false"):
        return raw == "true"
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    return raw


def nested(keys: Sequence[str], value: YValue) -> dict[str, YValue]:
    """`value` under the nested `keys` (`["a", "b"]`: `{"a": {"b": value}}`)."""
    out: YValue = value
    for key in reversed(keys):
        out = {key: out}
    assert isinstance(out, dict)
    return out


def merge_values(into: dict[str, YValue], layer: Mapping[str, YValue]) -> None:
    """Helm's values merge of `layer` into `into` (in place): maps merged key by key, anything
    else replaced (https://helm.sh/docs/chart_template_guide/values_files/)."""
    for key, value in layer.items():
        here = into.get(key)
        if isinstance(here, dict) and isinstance(value, dict):
            merge_values(here, value)
        else:
            into[str(key)] = value


def _helm_release(owner: str, line: int, who: str, doc: Node, spec: Mapping[str, YValue],
                  paths: Collection[str]) -> tuple[list[ChartUse], list[FluxRef]]:
    home = scalar_text(get_path(doc, "metadata", "namespace")) or "(default)"
    refs = [FluxRef(owner, line, who, f"{r.get('kind') or 'ConfigMap'}/{home}/{r['name']}",
                    "valuesFrom", str(r.get("valuesKey") or "values.yaml"))
            for r in _list(spec.get("valuesFrom")) if isinstance(r, dict) and r.get("name")]
    chart_spec = spec.get("chart")
    inner = chart_spec.get("spec") if isinstance(chart_spec, dict) else None
    name = str(inner.get("chart") or "") if isinstance(inner, dict) else ""
    root = posixpath.normpath(name.strip("/")) if name else ""
    chart = posixpath.join("" if root == "." else root, "Chart.yaml")
    if not name or chart not in paths:
        return [], refs
    problem = ("`valuesFrom` `targetPath` is not computed" if any(
        isinstance(r, dict) and r.get("targetPath") for r in _list(spec.get("valuesFrom"))
    ) else "`postRenderers` are not computed" if _list(spec.get("postRenderers")) else "")
    inline = yaml.safe_dump(spec["values"], sort_keys=False) if isinstance(
        spec.get("values"), dict) and spec.get("values") else ""
    return [ChartUse(owner, line, who, chart, (), inline, problem,
                     tuple((r.ref, r.key) for r in refs))], refs


def _generators(owner: str, line: int, who: str, spec: Mapping[str, YValue]
                ) -> Iterator[Generator]:  # fmt: skip
    for gen in _list(spec.get("generators")):
        git = gen.get("git") if isinstance(gen, dict) else None
        files = git.get("files") if isinstance(git, dict) else None
        globs = tuple(str(f["path"]) for f in _list(files) if isinstance(f, dict) and f.get("path"))
        if globs:
            yield Generator(owner, line, who, globs, spec.get("template"),
                            bool(spec.get("goTemplate")))


def matches(generator: Generator, path: str) -> bool:
    """Whether the git files generator selects the repository file `path` (its globs; `**`
    and `*` as path globs, a `!` glob excludes)."""
    wanted = [g for g in generator.globs if not g.startswith("!")]
    unwanted = [g[1:] for g in generator.globs if g.startswith("!")]
    return (any(fnmatch.fnmatchcase(path, g) for g in wanted)
            and not any(fnmatch.fnmatchcase(path, g) for g in unwanted))


def generated_uses(generator: Generator, path: str, text: str, paths: Collection[str]
                   ) -> list[ChartUse]:  # fmt: skip
    """The `ChartUse`s of the Application the `generator` makes from the file `path` (its
    `text`), owned by that file; one with a `problem` when it cannot be computed."""
    fail = ChartUse(path, 1, f"{generator.who} ({generator.owner})", "", problem="")
    try:
        params = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return [fail._replace(problem=f"{path} is not JSON or YAML")]
    if not isinstance(params, dict):
        return [fail._replace(problem=f"{path} holds no parameters")]
    flat = dict(_flatten(params))
    flat.update({"path": posixpath.dirname(path), "path.path": posixpath.dirname(path),
                 "path.basename": posixpath.basename(posixpath.dirname(path))})
    unknown: list[str] = []
    app = _substitute(generator.template, flat, generator.go_template, unknown)
    if unknown:
        return [fail._replace(problem=f"template text {', '.join(sorted(set(unknown)))} is "
                              "not computed")]
    spec = app.get("spec") if isinstance(app, dict) else None
    if not isinstance(spec, dict):
        return [fail._replace(problem="the template has no spec")]
    return [u._replace(line=1) for u in application_uses(path, 1, fail.who, spec, paths)]


def _flatten(value: Mapping[str, YValue], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict):
            yield from _flatten(item, name + ".")
        else:
            yield name, "" if item is None else (json.dumps(item) if isinstance(
                item, list) else str(item).lower() if isinstance(item, bool) else str(item))


def _substitute(value: YValue, params: Mapping[str, str], go: bool, unknown: list[str]
                ) -> YValue:  # fmt: skip
    """`value` with each `{{.key}}` (`go`) or `{{key}}` replaced by its parameter; text left
    between `{{ }}` that is no known parameter goes to `unknown`."""
    if isinstance(value, dict):
        return {k: _substitute(v, params, go, unknown) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, params, go, unknown) for v in value]
    if not isinstance(value, str) or "{{" not in value:
        return value

    def one(match: re.Match[str]) -> str:
        key = match.group(2)
        if bool(match.group(1)) != go or key not in params:
            unknown.append(f"`{match.group(0)}`")
            return match.group(0)
        return params[key]

    out = _REFERENCE.sub(one, value)
    if "{{" in _REFERENCE.sub("", value):
        unknown.append(f"`{value}`")
    return out
