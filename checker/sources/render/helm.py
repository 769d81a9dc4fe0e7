"""Helm charts rendered with the user's own `helm template`, offline and bounded.

A chart is a directory with a `Chart.yaml`. What it reads (`chart_files`): every file under it
(templates, `values.yaml`, vendored subcharts in `charts/`, `.tgz` archives), the values files
the config names, and each `file://` dependency inside the repository. `render_chart` copies
the chart from a materialised tree into a private directory (the `file://` dependencies into
its `charts/`, symlinks dropped), runs `helm template` there with the chart's `values.yaml`
and the given values files, and maps each rendered document back to its template through
Helm's `# Source: <chart>/templates/x.yaml` comment.

Offline: `--dependency-update` is never passed; a dependency whose chart is neither vendored
under `charts/` nor a `file://` path inside the repository is a failure before helm runs
("helm dependency build" and commit `charts/`). Helm's cache, config, data and plugin
directories are in a temporary directory, the proxy points at a closed local port, and the
process runs under `RLIMIT_CPU` with its output read up to `RenderLimits.max_bytes`. A failure
reason never quotes a value (values files may hold secrets): a template error names the
template and line only.
Sources: https://helm.sh/docs/helm/helm_template/ (flags), https://helm.sh/docs/topics/charts/
(Chart.yaml `dependencies`, `charts/`, `file://`), https://helm.sh/docs/helm/helm/ (HELM_*).
"""

from __future__ import annotations

import bisect
import os
import posixpath
import re
import shutil
import tempfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from pathlib import Path

from checker.lazy_patterns import lazy_compile
from checker.sources.render.api import Rendered, RenderedDocument, RenderLimits
from checker.sources.render.helm_deps import (
    aliases,
    chart_name,
    dependencies,
    file_dependency,
    load_yaml,
    stage,
)
from checker.sources.render.helm_ignore import renders_nothing
from checker.sources.render.helm_sources import kind_name_keys, split_output, template_lines
from checker.sources.render.run import run_bounded

Reader = Callable[[str], "bytes | None"]

#: A template's position in helm's error text (`app/templates/x.yaml:12:3`, `parse error at
#: (app/templates/x.yaml:2)`), and a template whose output is not YAML.
_TEMPLATE_AT = lazy_compile(r"([\w.-]+/[^\s:()\"'`]+):(\d+)")
_YAML_ERROR = lazy_compile(r"YAML parse error on ([^\s:]+)")
#: A values-schema violation helm lists under its first error line: helm 3.18+ and 4
#: (`- at '/policy': got null, want string`) and older helm 3 (`- policy: Invalid type.
#: Expected: string, given: null`), https://helm.sh/docs/topics/charts/#schema-files.
_SCHEMA_AT = lazy_compile(r"^-\s*at\s+'(/[\w./~-]*)':\s*(.*)$")
_SCHEMA_OLD = lazy_compile(r"^-\s*\(?([\w.\[\]-]+)\)?:\s*(.*)$")
#: The schema reasons that name only types and keys, never a value.
_SCHEMA_WHY = lazy_compile(
    r"^(?:got \w+, want [\w ,|]+|Invalid type\. Expected: [\w ,/]+, given: \w+"
    r"|missing propert(?:y|ies) [\w'\", -]+|\w+ is required"
    r"|additional propert(?:y|ies) [\w'\", -]+ not allowed"
    r"|Additional property [\w-]+ is not allowed)$")
_RELEASE = "release-name"


def find_helm(binary: str | None = None) -> str | None:
    """The helm executable to run: `binary` (config `render.helm.binary`, an absolute path or
    a name on PATH) when given, else `helm` on PATH; None when it is not there."""
    name = binary or "helm"
    if os.path.isabs(name):
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    return shutil.which(name)








#: The one file of a chart directory helm never renders objects from and `.Files` cannot read
#: (it reads no file under `templates/`): `templates/NOTES.txt`, printed after an install.
_NOT_RENDERED = lazy_compile(r"(?:^|/)templates/NOTES\.txt$")


def _under(directory: str, ordered: Sequence[str]) -> list[str]:
    """The paths of the sorted `ordered` below `directory`: every file of a chart is an input
    of its render (`.Files.Get`/`.Files.Glob` read any of them, `.helmignore` switches
    templates off, `ci/` and docs included), but `templates/NOTES.txt`."""
    prefix = f"{directory}/" if directory else ""
    start = bisect.bisect_left(ordered, prefix)
    end = bisect.bisect_left(ordered, prefix + "\U0010ffff") if prefix else len(ordered)
    return [p for p in ordered[start:end] if not _NOT_RENDERED.search(p[len(prefix):])]


def is_chart(path: str) -> bool:
    """Whether `path` is a chart's `Chart.yaml`."""
    return posixpath.basename(path) == "Chart.yaml"


def leaf_charts(paths: Collection[str], read: Reader,
                values: Callable[[str], Sequence[str]] = lambda root: ()
                ) -> dict[str, list[str]]:  # fmt: skip
    """Chart directory -> the files it reads (`chart_files`, with the repository-relative
    values files `values(root)`), for every chart among `paths` that is not a subchart of
    another: not below another chart's `charts/` folder, not another's `file://` dependency
    (what is deployed is the parent's render)."""
    ordered = sorted(paths)
    known = set(ordered)
    roots = sorted(posixpath.dirname(p) for p in ordered if is_chart(p))
    found = {r: _chart_files(r, ordered, known, read, values(r)) for r in roots}
    used: set[str] = set()
    for root, files in found.items():
        used.update(r for r in roots if r != root and f"{r}/Chart.yaml" in files)
    return {r: files for r, files in found.items() if r not in used}


def chart_files(root: str, paths: Collection[str], read: Reader | None = None,
                values: Sequence[str] = ()) -> list[str]:
    """The repository paths (among `paths`) the chart at directory `root` reads, sorted: every
    file under `root` (a template may read any with `.Files`), the repository-relative `values`
    files, and, when `read` (path -> bytes or None) is given, the files of its `file://`
    dependencies inside the repository (and theirs). A remote dependency adds nothing:
    `render_chart` says it is not vendored."""
    ordered = sorted(paths)
    return _chart_files(root, ordered, set(ordered), read, values)


def _chart_files(root: str, ordered: Sequence[str], known: Collection[str],
                 read: Reader | None, values: Sequence[str]) -> list[str]:
    files = set(_under(root, ordered)) | {v for v in values if v in known}
    seen = {root}
    pending = [root]
    while read is not None and pending:
        directory = pending.pop()
        chart = load_yaml(read(posixpath.join(directory, "Chart.yaml")), directory)
        for _, repository in dependencies(chart or {}):
            dep = file_dependency(directory, repository)
            if dep is not None and dep not in seen and posixpath.join(dep, "Chart.yaml") in known:
                seen.add(dep)
                pending.append(dep)
                files.update(_under(dep, ordered))
    return sorted(files)


def values_paths(root: str, configured: Sequence[str]) -> list[str]:
    """The config's values files of the chart at `root` (relative to it) as repository
    paths; a path that leaves the repository is dropped."""
    out = []
    for name in configured:
        path = posixpath.normpath(posixpath.join(root, name))
        if not (path.startswith("../") or path == ".." or path.startswith("/")):
            out.append(path)
    return out










def _repo_path(source: str, staged: Path, origins: dict[Path, str]) -> str:
    """The repository path of the template helm names `source` (`app/charts/sub/templates/
    x.yaml`): the chart name is dropped and each `charts/<name>/` step followed into the
    vendored directory, `file://` dependency or `.tgz` archive it came from."""
    parts = source.split("/")[1:]
    here = staged
    while len(parts) > 2 and parts[0] == "charts":
        sub = here / "charts"
        match = sub / parts[1]
        if not match.is_dir():
            name = aliases(here).get(parts[1], parts[1])
            found = [d for d in sorted(sub.iterdir()) if d.is_dir() and not d.is_symlink()
                     and name in (d.name, chart_name(d))] if sub.is_dir() else []
            archives = sorted(sub.glob(f"{name}-*.tgz")) if sub.is_dir() else []
            if not found:
                if archives:
                    return _relative(archives[0], staged, origins)
                break
            match = found[0]
        here, parts = match, parts[2:]
    return _relative(here.joinpath(*parts), staged, origins)




def _relative(path: Path, staged: Path, origins: dict[Path, str]) -> str:
    """The repository path of a staged file: relative to the deepest staged copy holding it."""
    best = max((o for o in origins if path == o or o in path.parents),
               key=lambda o: len(o.parts), default=staged)
    rel = path.relative_to(best).as_posix()
    base = origins.get(best, "")
    return posixpath.join(base, rel) if base and rel != "." else (rel if rel != "." else base)


def _reason(stderr: str, tree: Path, staged: Path, origins: dict[Path, str]) -> str:
    """A one-line failure reason from helm's stderr that quotes no value: the template and
    line of a template error, the template whose output is not YAML, else the sentences of
    helm's first error line (`_sentences`)."""
    found = _TEMPLATE_AT.search(stderr)
    if found:
        where = _repo_path(found.group(1), staged, origins)
        return f"helm template failed: error in {where} at line {found.group(2)}"
    found = _YAML_ERROR.search(stderr)
    if found:
        where = _repo_path(found.group(1), staged, origins)
        return f"helm template failed: {where} does not render as valid YAML"
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()
             and not ln.startswith("level=")]
    first = lines[0] if lines else "no message"
    first = first.removeprefix("Error: ").replace(f"{staged}/", "").replace(f"{tree}/", "")
    schema = _schema(lines[1:]) if "schema" in first else ""
    return f"helm template failed: {_sentences(first) or 'no message'}{schema}"


def _schema(lines: Sequence[str], limit: int = 3) -> str:
    """The values-schema violations among helm's error `lines` after its first, as ` at
    '/policy': got null, want string; ...`: the key path and a reason that names only types
    and keys (`_SCHEMA_WHY`), else "does not match the schema"; at most `limit`, the rest
    counted; "" when there is none."""
    found = []
    for line in lines:
        m = _SCHEMA_AT.match(line) or _SCHEMA_OLD.match(line)
        if m is None:
            continue
        why = m.group(2).strip()
        why = why if _SCHEMA_WHY.match(why) else "does not match the schema"
        found.append(f"at '{m.group(1)}': {why}")
    if not found:
        return ""
    more = f"; and {len(found) - limit} more" if len(found) > limit else ""
    return f" {'; '.join(found[:limit])}{more}"


def _sentences(line: str, limit: int = 300) -> str:
    """Helm's error `line` without anything that may be a value: a quoted string is `"..."` and
    the text after its last `: ` (where helm appends the offending item) is dropped; whole
    sentences up to `limit` characters (a longer first sentence is cut at a word)."""
    line = re.sub(r"\"(?:[^\"\\]|\\.)*\"|'[^']*'", '"..."', line)
    line = re.split(r": (?=[^:]*$)", line)[0].strip()
    if len(line) <= limit:
        return line
    ends = [m.end() for m in re.finditer(r"[.;:](?=\s)", line[:limit + 1])]
    return line[:ends[-1]] if ends else line[:limit].rsplit(" ", 1)[0] + " ..."


def settled(head: Rendered, base: Rendered | None) -> Rendered:
    """`head` with no inputs on each document that `base` rendered the same (same template,
    same text): a values or helper change that does not change an object does not touch it;
    only a change of its own lines in its template does."""
    if base is None or base.failure:
        return head
    same = {(d.source_path, d.text) for d in base.documents}
    return replace(head, documents=tuple(
        replace(d, inputs=()) if (d.source_path, d.text) in same else d
        for d in head.documents))


def not_installed(root: str) -> Rendered:
    """The render of the chart at `root` when there is no helm to run."""
    return Rendered(root, "helm", failure="helm is not installed (install helm, or set "
                    "render.helm.binary; README \"Helm charts\")",
                    owner=posixpath.join(root, "Chart.yaml"))


def render_chart(tree: Path, root: str, values: Sequence[str], limits: RenderLimits,
                 helm: str | None = None) -> Rendered:
    """Render the chart at repository directory `root` from `tree` (a directory holding the
    chart's files, see `chart_files`, at their repository paths) with its `values.yaml` and
    then the repository-relative `values` files, using `helm` (default: `find_helm()`).

    Each document is mapped to its template's repository path and the line of its `kind:`
    there (best effort; 1 when unknown); its inputs are the template, then every file of
    `tree` (any can reach the output: `.Files.Get`, `.helmignore`, helpers), and the `values`
    files (`settled` clears them on an object that did not change).
    Failures (no helm, a dependency that is not vendored, a missing values
    file, a template error, over the CPU or output budget) are `Rendered.failure`."""
    helm = helm or find_helm()
    if helm is None:
        return not_installed(root)
    with tempfile.TemporaryDirectory(prefix="nhi-gate-helm-") as tmp:
        work = Path(tmp)
        origins: dict[Path, str] = {}
        maps = [load_yaml(_read(tree / path), path) or {} for path in
                (posixpath.join(root, "values.yaml"), *values)]
        staged, problem = stage(tree, root, work, origins, maps)
        if staged is None:
            return Rendered(root, "helm", failure=problem)
        argv = [helm, "template", _RELEASE, str(staged), "--skip-tests"]
        for path in values:
            if not (tree / path).is_file():
                return Rendered(root, "helm", failure=f"values file {path} not found")
            argv += ["--values", str(tree / path)]
        got = run_bounded(argv, limits, work)
        if got.stopped:
            reason = {"cpu": f"over the {limits.cpu_seconds:g} s CPU budget",
                      "wall": f"over the {limits.cpu_seconds:g} s CPU budget",
                      "output": f"output over the {limits.max_bytes}-byte budget",
                      }.get(got.stopped, got.stopped.removeprefix("exec: "))
            return Rendered(root, "helm", failure=f"helm template: {reason}")
        out, err, code = got.stdout.decode("utf-8", "replace"), got.stderr, got.code
        if code != 0:
            return Rendered(root, "helm", failure=_reason(err, tree, staged, origins))
        return Rendered(root, "helm", documents=tuple(
            _map(out, tree, root, values, staged, origins)),
            owner=posixpath.join(root, "Chart.yaml"))


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


def _tree_files(tree: Path, charts: Collection[str]) -> list[str]:
    """Every file of the materialised `tree` under one of the chart directories `charts` (the
    chart and its `file://` dependencies) that its render may read (not one `helm_ignore.
    renders_nothing` says it never reads: a README, a `.helmignore`d file), as sorted
    repository paths."""
    files = sorted({p.relative_to(tree).as_posix() for c in charts
                    for p in (tree / c).rglob("*") if p.is_file()})
    def root_of(path: str) -> str:
        return max((c for c in charts if not c or path.startswith(f"{c}/")), key=len,
                   default="")
    texts = {p: (tree / p).read_bytes() for p in files if "templates" in p.split("/")[:-1]
             or posixpath.basename(p) == ".helmignore"}
    return [p for p in files if not renders_nothing(p, root_of(p), texts)]


def _map(output: str, tree: Path, root: str, values: Sequence[str], staged: Path,
         origins: dict[Path, str]) -> list[RenderedDocument]:
    mapped: list[RenderedDocument] = []
    used: dict[str, set[int]] = {}
    texts: dict[str, str] = {}
    every = _tree_files(tree, set(origins.values()))
    for source, text in split_output(output):
        path = _repo_path(source, staged, origins)
        kind, name, keys = kind_name_keys(text)
        if path not in texts:
            file = tree / path
            raw = file.read_bytes() if file.is_file() and path.endswith(
                (".yaml", ".yml", ".json", ".tpl", ".txt")) else b""
            texts[path] = raw.decode("utf-8", "replace")
        line, key_lines = template_lines(texts[path], kind, name, used.setdefault(path, set()),
                                         keys)
        inputs = dict.fromkeys([path, *every, *values])
        mapped.append(RenderedDocument(text, path, line, tuple(inputs), key_lines))
    return mapped
