"""A change to a file a GitOps object reads (issue 12, GitOps inputs): an Argo CD
Application's values file, an ApplicationSet git-files generator's file, a Flux
`valuesFrom`/`substituteFrom` ConfigMap or Secret. `checker.sources.render.gitops` says what
each object renders; this module finds the objects a change reaches and renders them at base
and head (`gitops_change`), so what the change deploys is judged like any rendered chart:
- a chart render of a `ChartUse` whose inputs (its values files, its owner file, its
  ConfigMaps, the chart's files) a changed file is in; its objects are addressed under the
  owner file (`apps/web.yaml:ClusterRoleBinding/release-name-admin`), the owner and the
  ConfigMaps are inputs of each, so the writer of the changed input is judged;
- where the render cannot be computed (`ChartUse.problem`, a ConfigMap not found), an NHI107
  problem on the changed input naming what was not computed;
- a changed key of a ConfigMap/Secret a Flux `Kustomization` substitutes
  (`postBuild.substituteFrom`), or that a `HelmRelease` of a chart from elsewhere reads: an
  NHI106 problem at the key's line naming the key and the Flux object (fail closed: an error
  for an agent, a note for a person). Values are never quoted.

Cost: nothing unless a YAML/JSON file changed; then one `git grep -F` for the kinds' `kind:`
lines at head, those files read once (base reads only the changed ones again) and parsed only
when they name a changed file's name or folder or one of its ConfigMaps, and a render only
for a reached object.
"""

from __future__ import annotations

import bisect
import posixpath
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import yaml

from checker import git
from checker.model import ParseProblem
from checker.safeyaml import YValue
from checker.sources.render.flux_subst import Substituted, manifests, substituted
from checker.sources.render.gitops import (
    ChartUse,
    Facts,
    Substitution,
    file_facts,
    generated_uses,
    matches,
    merge_values,
    nested,
)
from checker.sources.render.gitops_configs import Config, config_objects, same_ref

if TYPE_CHECKING:
    from checker.git.repo import Repo

Read = Callable[[Sequence[str]], Mapping[str, bytes]]
#: The rule of an input nhi-gate cannot compute (rules/docs/approval.yaml).
UNRESOLVED = "NHI106"
UNRENDERED = "NHI107"
_SUFFIXES = (".yaml", ".yml", ".json")
#: A file holding a GitOps object read here has a `kind:` line of one of the kinds (fixed
#: strings, the cheapest `git grep`; a quoted kind by its quote; `file_facts` tests the rest).
_GITOPS_LINES = ("kind: Application", "kind: HelmRelease", "kind: Kustomization", "kind: \"",
                 "kind: '")
#: The file names that make a directory a kustomization (Flux builds it with kustomize).
_KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class Job(NamedTuple):
    """One object's chart render at head and base (either may be None: not there)."""

    head: ChartUse | None
    base: ChartUse | None
    #: The changed files among its inputs.
    anchors: tuple[str, ...]


class SubstJob(NamedTuple):
    """One Flux Kustomization's substitution at head and base (None: not there or not
    computed), and the changed files among its inputs."""

    head: Substitution | None
    base: Substitution | None
    anchors: tuple[str, ...]


class Side(NamedTuple):
    """One revision as this module reads it: its paths, a reader and the GitOps files' facts
    and ConfigMaps."""

    paths: frozenset[str]
    #: `paths` sorted, for the files under a directory.
    ordered: tuple[str, ...]
    read: Read
    facts: Mapping[str, Facts]
    configs: Mapping[str, Sequence[Config]]


def candidates(repo: Repo, rev: str | None, changed: Collection[str]) -> list[str]:
    """The YAML files at `rev` (None: the index) that may hold an Argo CD or Flux object read
    here (`_GITOPS_LINES`), and the changed YAML/JSON files; [] when no YAML/JSON file
    changed and no YAML file names `fileParameters:` (an Argo CD file parameter reads a file
    of any name)."""
    if not any(p.endswith(_SUFFIXES) for p in changed) and not git.grep_files(
            repo, rev, ("fileParameters:",), (".yaml", ".yml")):
        return []
    found = git.grep_files(repo, rev, _GITOPS_LINES, (".yaml", ".yml"))
    return sorted({*found, *(p for p in changed if p.endswith(_SUFFIXES))})


def referenced(repo: Repo, rev: str | None, where: Side, files: Collection[str]) -> list[str]:
    """The YAML files at `rev` not among `files` that may hold a ConfigMap or Secret a Flux
    object of `where` names (a `name: <name>` line; one `git grep -F`)."""
    names = sorted({f"name: {r.ref.rsplit('/', 1)[-1]}" for f in where.facts.values()
                    for r in f.flux})
    if not names:
        return []
    return [p for p in git.grep_files(repo, rev, names, (".yaml", ".yml")) if p not in files]


def side(paths: Collection[str], read: Read, files: Sequence[str], changed: Collection[str],
         head: Side | None = None) -> Side:
    """The `Side` of a revision whose files are `paths`, reading the `files` that exist; with
    `head` (this is base), a file the change did not touch is not read again: its facts are
    head's (unless a `Chart.yaml` changed, which changes what a source path is). The
    ConfigMaps/Secrets are read from the changed files and from those naming one a Flux
    object refers to (a large install manifest holds many, and none is asked for)."""
    known = frozenset(paths)
    wanted = set(changed)
    again = head is None or any(p.endswith("Chart.yaml") for p in wanted)
    raw = read([p for p in files if p in known and (again or p in wanted)])
    texts = {p: b.decode("utf-8", "replace") for p, b in raw.items()}
    configs: dict[str, Sequence[Config]] = {
        p: config_objects(p, t) for p, t in texts.items() if p in wanted}
    words = _words(wanted, configs)
    facts = {p: file_facts(p, t, known) for p, t in texts.items()
             if p in wanted or any(w in t for w in words)}
    if head is not None:
        facts = {**{p: f for p, f in head.facts.items() if p in known}, **facts}
        configs = {**{p: c for p, c in head.configs.items() if p in known and p not in wanted},
                   **configs}
    else:
        names = {f"name: {r.ref.rsplit('/', 1)[-1]}" for f in facts.values() for r in f.flux}
        configs.update((p, config_objects(p, t)) for p, t in texts.items()
                       if p not in wanted and any(n in t for n in names))
    return Side(known, tuple(sorted(known)), read, facts,
                {p: c for p, c in configs.items() if c})


def _words(changed: Collection[str], configs: Mapping[str, Sequence[Config]]) -> set[str]:
    """What a GitOps object that reads one of the `changed` files must name: its file name (a
    value file, a generator's glob), one of its folders (a source path, a Flux path), or the
    name of a ConfigMap/Secret in it (`valuesFrom`, `substituteFrom`). A file naming none is
    not parsed (the byte test before `file_facts`)."""
    out = {posixpath.basename(p) for p in changed}
    for path in changed:
        folder = posixpath.dirname(path)
        while folder:
            out.add(folder)
            folder = posixpath.dirname(folder)
    out.update(c.ref.rsplit("/", 1)[-1] for found in configs.values() for c in found)
    return out


def substitution_plan(head: Side, base: Side | None, changed: Collection[str]
                      ) -> list[SubstJob]:  # fmt: skip
    """The Flux substitutions a change reaches (its Kustomization file, a ConfigMap/Secret it
    reads, a manifest under its path) that can be computed: a path of plain manifests, every
    ConfigMap/Secret among the files read."""
    pairs: dict[tuple[str, str], list[Substitution | None]] = {}
    for index, where in enumerate([head, base]):
        for facts in where.facts.values() if where else ():
            for sub in facts.substitutions:
                if where is not None and variables(sub, where) is not None and not any(
                        posixpath.join(sub.directory, name) in where.paths
                        for name in _KUSTOMIZATIONS):
                    pairs.setdefault((sub.owner, sub.who), [None, None])[index] = sub
    out = []
    for _key, (at_head, at_base) in sorted(pairs.items()):
        found: set[str] = set()
        for one, where in ((at_head, head), (at_base, base)):
            if one is not None and where is not None:
                files = {one.owner, *manifests(one.directory, under(one.directory,
                                                                    where.ordered))}
                files.update(p for p, configs in where.configs.items() for c in configs
                             if any(same_ref(r, c.ref) for r in one.refs))
                found.update(files.intersection(changed))
        if found:
            out.append(SubstJob(at_head, at_base, tuple(sorted(found))))
    return out


def under(directory: str, ordered: Sequence[str]) -> list[str]:
    """The paths of the sorted `ordered` below `directory` ("" : all)."""
    if not directory:
        return list(ordered)
    prefix = f"{directory}/"
    start = bisect.bisect_left(ordered, prefix)
    return list(ordered[start:bisect.bisect_left(ordered, prefix + "\U0010ffff")])


def variables(sub: Substitution, where: Side) -> dict[str, str] | None:
    """The variables of `sub` at `where`; None when one of its ConfigMaps/Secrets is not
    among the files read."""
    out: dict[str, str] = {}
    for ref in sub.refs:
        found = [c for configs in where.configs.values() for c in configs
                 if same_ref(ref, c.ref)]
        if not found:
            return None
        out.update(found[0].data)
    out.update(sub.inline)
    return out


def substitute_at(sub: Substitution, where: Side) -> Substituted:
    """The substituted manifests of `sub` at `where` (`flux_subst.substituted`)."""
    names = manifests(sub.directory, under(sub.directory, where.ordered))
    raw = where.read(names)
    inputs = [p for p, configs in where.configs.items() for c in configs
              if any(same_ref(r, c.ref) for r in sub.refs)]
    return substituted(sub.owner, sub.directory, raw, variables(sub, where) or {}, inputs)


def plan(head: Side, base: Side | None, changed: Collection[str]
         ) -> tuple[list[Job], list[ParseProblem]]:  # fmt: skip
    """The renders a change reaches and the fail-closed problems (module doc)."""
    jobs: dict[tuple[str, str, str], list[ChartUse | None]] = {}
    for index, where in enumerate([head, base]):
        if where is None:
            continue
        for use in _uses(where, changed):
            jobs.setdefault((use.owner, use.who, use.chart), [None, None])[index] = use
    out: list[Job] = []
    for _key, pair in sorted(jobs.items()):
        anchors = _anchors(pair, head, base, changed)
        if anchors:
            out.append(Job(pair[0], pair[1], tuple(anchors)))
    return out, _substitutions(head, base, changed)


def _anchors(pair: list[ChartUse | None], head: Side, base: Side | None,
             changed: Collection[str]) -> list[str]:
    found: set[str] = set()
    for use, where in ((pair[0], head), (pair[1], base)):
        if use is not None and where is not None:
            found.update(changed_inputs(use, where, changed))
    return sorted(found)


def changed_inputs(use: ChartUse, where: Side, changed: Collection[str]) -> list[str]:
    """The `changed` files among the inputs of `use` at `where`: its owner, values files, the
    files holding its ConfigMaps, the chart's files."""
    if not use.chart:  # not computed: a generated Application, a chart from elsewhere
        return sorted({use.owner, *use.reads}.intersection(changed))
    root = posixpath.dirname(use.chart)
    inputs = {use.owner, *use.values, *(p for _, p in use.files), *use.reads,
              *under(root, where.ordered)}
    inputs.update(p for p, configs in where.configs.items() for c in configs
                  for ref, _ in use.refs if same_ref(ref, c.ref))
    return sorted(inputs.intersection(changed))


def _uses(where: Side, changed: Collection[str]) -> list[ChartUse]:
    out = [u for f in where.facts.values() for u in f.uses]
    for facts in where.facts.values():
        for gen in facts.generators:
            for path in sorted(changed):
                if path in where.paths and matches(gen, path):
                    raw = where.read([path]).get(path)
                    if raw is not None:
                        out.extend(generated_uses(gen, path, raw.decode("utf-8", "replace"),
                                                  where.paths))
    return out


def values_files(use: ChartUse, where: Side) -> tuple[dict[str, bytes], list[str], str]:
    """(extra files, values paths, problem) to render `use` at `where`: its values files, then
    one file at its owner's path (or beside it, inside the chart) holding its ConfigMaps' values
    and its inline values; a problem when a ConfigMap is not among the files read."""
    layers: list[object] = []
    for ref, key in use.refs:
        found = [c for configs in where.configs.values() for c in configs
                 if same_ref(ref, c.ref)]
        if not found or key not in found[0].data:
            return {}, [], f"{ref} (key `{key}`) is not in the files read"
        try:
            layers.append(yaml.safe_load(found[0].data[key]))
        except yaml.YAMLError:
            return {}, [], f"{ref} key `{key}` is not YAML"
    if use.inline:
        layers.append(yaml.safe_load(use.inline))
    if use.files:  # `--set-file`: after the values and `--set` (helm's order)
        texts = where.read([p for _, p in use.files])
        for name, path in use.files:
            if path not in texts:
                return {}, [], f"file parameter `{name}` reads {path}, not in this revision"
            layers.append(nested(name.split("."), texts[path].decode("utf-8", "replace")))
    if not layers:
        return {}, list(use.values), ""
    root = posixpath.dirname(use.chart)
    path = use.owner if not use.owner.startswith(f"{root}/") else f"{use.owner}.values.yaml"
    merged: dict[str, YValue] = {}
    for layer in layers:
        if isinstance(layer, dict):  # YAML the safe loader read: plain data
            merge_values(merged, layer)
    return ({path: yaml.safe_dump(merged).encode()}, [*use.values, path], "")


def _substitutions(head: Side, base: Side | None, changed: Collection[str]
                   ) -> list[ParseProblem]:  # fmt: skip
    """NHI106 on each changed key of a ConfigMap/Secret in a changed file that a Flux object
    reads without a render here (substitution; values of a chart from elsewhere)."""
    rendered = {(ref, u.owner) for f in head.facts.values() for u in f.uses for ref, _ in u.refs}
    rendered.update((ref, job.head.owner) for job in substitution_plan(head, base, changed)
                    if job.head is not None for ref in job.head.refs)
    out: list[ParseProblem] = []
    for path in sorted(set(changed) & set(head.configs)):
        before = {c.ref: c for c in (base.configs.get(path, ()) if base else ())}
        for config in head.configs[path]:
            old = before.get(config.ref)
            keys = sorted(k for k in {*config.data, *(old.data if old else {})}
                          if (old.data.get(k) if old else None) != config.data.get(k))
            for facts in head.facts.values():
                for ref in facts.flux:
                    if not same_ref(ref.ref, config.ref) or (ref.ref, ref.owner) in rendered:
                        continue
                    for key in keys if ref.use != "valuesFrom" else [
                            k for k in keys if k == ref.key]:
                        what = ("substitutes `${" + key + "}` into what it applies"
                                if ref.use != "valuesFrom" else
                                "reads it as Helm values for a chart from elsewhere")
                        out.append(ParseProblem(path, UNRESOLVED, (
                            f"{path}: key `{key}` of {config.ref} is an input of Flux "
                            f"{ref.who} ({ref.owner}:{ref.line}, `{ref.use}`), which {what}: "
                            "nhi-gate does not compute what that deploys; review what it "
                            "grants"), config.lines.get(key, 1),
                            address=f"{config.ref}:{key}"))
    return out
