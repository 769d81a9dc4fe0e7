"""A Helm chart's dependencies: which are vendored, `file://` or switched off, and the chart
staged with them into a private directory for `helm template` (`checker.sources.render.helm`).

A dependency neither vendored under `charts/` nor a `file://` path inside the repository cannot
be rendered offline, unless the chart's values switch it off: its `condition` (comma-separated
value paths, the first one set decides) is false in the chart's `values.yaml` or the values
files given, or its `tags` are all false. Such a dependency renders no object, so it is removed
from the staged copy's `Chart.yaml` (never the user's) and the chart renders without it; a
change that switches it on makes the render fail, and the change is NHI107.
Source: https://helm.sh/docs/topics/charts/#tags-and-condition-fields-in-dependencies
"""

from __future__ import annotations

import os
import posixpath
import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml

from checker.safeyaml import YamlLimitError, load_text, to_python


def load_yaml(raw: bytes | None, path: str) -> dict[str, object] | None:
    """A small YAML mapping (Chart.yaml), bounded; None when missing or not a mapping."""
    if raw is None:
        return None
    try:
        stream = load_text(raw.decode("utf-8", "replace"), path)
        data = to_python(stream.documents[0]) if stream.documents and not stream.problem else None
    except YamlLimitError:
        return None
    return {str(k): v for k, v in data.items()} if isinstance(data, dict) else None


def dependencies(chart: dict[str, object]) -> list[tuple[str, str]]:
    """(chart name, repository) of each dependency a Chart.yaml declares (an `alias` renames
    the subchart's release, not the chart helm looks for under `charts/`)."""
    found: list[tuple[str, str]] = []
    deps = chart.get("dependencies")
    for dep in deps if isinstance(deps, list) else ():
        if isinstance(dep, dict) and isinstance(dep.get("name"), str):
            repo = dep.get("repository")
            found.append((str(dep["name"]), str(repo) if repo else ""))
    return found


def file_dependency(root: str, repository: str) -> str | None:
    """The repository-relative directory of a `file://` dependency of the chart at `root`, or
    None when it is not one or points outside the repository."""
    if not repository.startswith("file://"):
        return None
    target = posixpath.normpath(posixpath.join(root, repository[len("file://"):]))
    if target.startswith("/") or target == ".." or target.startswith("../"):
        return None
    return "" if target == "." else target


def vendored(charts_dir: Path, name: str) -> bool:
    """Whether `charts/` holds the dependency `name`: a directory of that name or whose
    Chart.yaml names it, or a `name-<version>.tgz` archive."""
    if not charts_dir.is_dir():
        return False
    for entry in charts_dir.iterdir():
        if entry.is_symlink():
            continue
        if entry.is_dir() and (entry.name == name or chart_name(entry) == name):
            return True
        if entry.is_file() and entry.name.startswith(f"{name}-") and entry.name.endswith(".tgz"):
            return True
    return False


def chart_name(directory: Path) -> str | None:
    """The `name` the Chart.yaml in `directory` declares, or None."""
    path = directory / "Chart.yaml"
    chart = load_yaml(path.read_bytes() if path.is_file() else None, str(path))
    name = (chart or {}).get("name")
    return name if isinstance(name, str) else None


def copy_chart(source: Path, target: Path) -> None:
    """Copy the chart directory `source` to `target`, without symlinks."""
    shutil.copytree(source, target, ignore=lambda d, names: [
        n for n in names if os.path.islink(os.path.join(d, n))])


def stage(tree: Path, root: str, work: Path, origins: dict[Path, str],
          values: Sequence[dict[str, object]] = ()) -> tuple[Path | None, str | None]:
    """Copy the chart at `root` (and its `file://` dependencies, into `charts/`) under
    `work`; (the staged chart directory, None) or (None, the reason it cannot render)."""
    source = tree / root if root else tree
    chart = load_yaml((source / "Chart.yaml").read_bytes()
                       if (source / "Chart.yaml").is_file() else None, root)
    if chart is None:
        return None, f"{posixpath.join(root, 'Chart.yaml')} is missing or not a YAML mapping"
    staged = work / "chart"
    copy_chart(source, staged)
    origins[staged] = root
    pending = [(staged, root, chart)]
    drop: set[str] = set()
    while pending:
        here, where, meta = pending.pop()
        for name, repository in dependencies(meta):
            if vendored(here / "charts", name):
                continue
            dep = file_dependency(where, repository)
            dep_chart = None if dep is None else load_yaml(
                (tree / dep / "Chart.yaml").read_bytes()
                if (tree / dep / "Chart.yaml").is_file() else None, dep)
            if dep is None and here == staged and disabled(name, meta, values):
                drop.add(name)
                continue
            if dep is None or dep_chart is None:
                shown = repository or "no repository"
                return None, (f"dependency {name} ({shown}) is not vendored under "
                              f"{posixpath.join(where, 'charts')}/: helm cannot render it "
                              "offline (run `helm dependency build` and commit charts/)")
            target = here / "charts" / name
            copy_chart(tree / dep, target)
            origins[target] = dep
            pending.append((target, dep, dep_chart))
    if drop:
        _without_dependencies(staged / "Chart.yaml", chart, drop)
    return staged, None


def aliases(chart_dir: Path) -> dict[str, str]:
    """Alias -> chart name of the dependencies the Chart.yaml in `chart_dir` declares."""
    path = chart_dir / "Chart.yaml"
    deps = (load_yaml(path.read_bytes() if path.is_file() else None, str(path)) or {}).get(
        "dependencies")
    return {str(d["alias"]): str(d["name"]) for d in (deps if isinstance(deps, list) else ())
            if isinstance(d, dict) and d.get("alias") and d.get("name")}


def _lookup(values: dict[str, object], dotted: str) -> object:
    """The value at the dotted path `dotted` (`redis.enabled`) in `values`, or None."""
    here: object = values
    for key in dotted.split("."):
        if not isinstance(here, dict) or key not in here:
            return None
        here = here[key]
    return here


def disabled(name: str, chart: dict[str, object], values: Sequence[dict[str, object]]) -> bool:
    """Whether the dependency `name` of `chart` (its Chart.yaml) is switched off by `values`
    (the chart's values.yaml, then the given values files: later ones win), by Helm's rules:
    the first `condition` path that is set decides; else, when it has `tags`, it is off only
    if every tag is set to false; else it is on."""
    deps = chart.get("dependencies")
    for dep in deps if isinstance(deps, list) else ():
        if not isinstance(dep, dict) or dep.get("name") != name:
            continue
        for dotted in str(dep.get("condition") or "").split(","):
            found = [v for v in (_lookup(m, dotted.strip()) for m in values) if v is not None]
            if dotted.strip() and found and isinstance(found[-1], bool):
                return not found[-1]
        tags = dep.get("tags")
        if isinstance(tags, list) and tags:
            states = [[v for v in (_lookup(m, f"tags.{t}") for m in values) if v is not None]
                      for t in tags]
            return all(s and s[-1] is False for s in states)
        return False
    return False


def _without_dependencies(path: Path, chart: dict[str, object], drop: set[str]) -> None:
    """Rewrite the staged Chart.yaml at `path` without the dependencies named in `drop`."""
    deps = chart.get("dependencies")
    kept = [d for d in (deps if isinstance(deps, list) else ())
            if not (isinstance(d, dict) and d.get("name") in drop)]
    path.write_text(yaml.safe_dump({**chart, "dependencies": kept}, sort_keys=False),
                    encoding="utf-8")
