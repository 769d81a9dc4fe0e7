"""Templates are not YAML: Helm chart templates, and files of other template languages.

- A **chart template** is a YAML or JSON file anywhere below the `templates/` folder of a Helm
  chart, a folder whose parent holds `Chart.yaml` at the same revision (in git, or on disk for
  `scan`). Helm renders every file there (https://helm.sh/docs/chart_template_guide/getting_started/),
  so its text is never what is deployed: it is not parsed as a manifest, whether or not it
  happens to be valid YAML. A `templates/` folder that is not in a chart is ordinary files,
  and so is a file its chart's `.helmignore` leaves out: helm never reads it, `kubectl apply`
  of the folder would (https://helm.sh/docs/chart_template_guide/helm_ignore_file/).
- A **template of another language** is a YAML-named file that the YAML parser rejects and
  whose text holds a template tag on one line: a Jinja statement `{% ... %}` or comment
  `{# ... #}` (https://jinja.palletsprojects.com/en/stable/templates/), or an expression
  `{{ ... }}` (Jinja, Go `text/template`: https://pkg.go.dev/text/template). GitHub Actions'
  `${{ ... }}` is not a template tag. A file YAML accepts is read as YAML, tags or not; one it
  rejects with no tag is a YAML syntax error (NHI901).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Iterable

from checker.lazy_patterns import lazy_compile
from checker.model import ParseProblem, SourceFile

CHART_FILE = "Chart.yaml"
IGNORE_FILE = ".helmignore"
#: The names a chart template can have that nhi-gate would otherwise read as YAML or JSON;
#: `_helpers.tpl` and `NOTES.txt` are not among them, so they are skipped without a word.
_TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json")
#: Template tags: (opener, closer, Jinja only). A tag opens and closes on one line.
_TAGS = (("{%", "%}", True), ("{#", "#}", True), ("{{", "}}", False))
_GO = lazy_compile(r"\{\{-|-\}\}|\{\{\s*(?:\.|\$|include\b|template\b|toYaml\b|define\b|end\b)")


def chart_roots(paths: Iterable[str]) -> frozenset[str]:
    """The folders (`""`: the repository root) that hold a `Chart.yaml`, among `paths`."""
    return frozenset(posixpath.dirname(p) for p in paths
                     if posixpath.basename(p) == CHART_FILE)


def template_charts(path: str) -> list[str]:
    """The folders that would make `path` a chart template if they held a `Chart.yaml`: each
    `D` such that `path` is below `D/templates/`, nearest first. Empty for a file whose name
    nhi-gate would not read as YAML or JSON."""
    if not path.lower().endswith(_TEMPLATE_SUFFIXES):
        return []
    parts = path.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(len(parts) - 1, -1, -1) if parts[i] == "templates"]


def chart_of(path: str, charts: Collection[str]) -> str | None:
    """The chart (a folder in `chart_roots`) whose `templates/` folder holds `path`, else None."""
    return next((c for c in template_charts(path) if c in charts), None)


def helm_ignored(files: Iterable[SourceFile]) -> frozenset[str]:
    """The chart templates among `files` (paths below `D/templates/`, `D/Chart.yaml` among
    `files`) that their chart's `.helmignore` (among `files`) leaves out: a line is a
    `filepath.Match` glob, matched against the path relative to the chart when it holds a `/`
    (a leading `/` anchors it), else against each name on the path; a trailing `/` matches
    folders only; `#` lines are comments; a file matching a `!` line is kept."""
    listed = {f.path: f.raw for f in files}
    charts = chart_roots(listed)
    out = set()
    for path in listed:
        chart = chart_of(path, charts)
        raw = listed.get(posixpath.join(chart, IGNORE_FILE)) if chart is not None else None
        if chart is None or raw is None:
            continue
        rel = path[len(chart) + 1:] if chart else path
        rules = [ln.strip() for ln in raw.decode("utf-8", "replace").splitlines()]
        rules = [r for r in rules if r and not r.startswith("#")]
        if any(_ignores(r[1:], rel) for r in rules if r.startswith("!")):
            continue
        if any(_ignores(r, rel) for r in rules if not r.startswith("!")):
            out.add(path)
    return frozenset(out)


def _ignores(rule: str, rel: str) -> bool:
    """Whether the `.helmignore` `rule` matches the file at `rel` or a folder holding it."""
    folder_only = rule.endswith("/")
    rule = rule.rstrip("/")
    parts = rel.split("/")
    pattern = _glob(rule.lstrip("/"))
    for depth in range(1, len(parts) + 1):
        if folder_only and depth == len(parts):
            break
        target = "/".join(parts[:depth]) if "/" in rule else parts[depth - 1]
        if pattern.fullmatch(target):
            return True
    return False


def _glob(rule: str) -> re.Pattern[str]:
    """A Go `filepath.Match` pattern as a regex: `*` and `?` never cross a `/`."""
    out = []
    i = 0
    while i < len(rule):
        c = rule[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[" and "]" in rule[i + 1:]:
            end = rule.index("]", i + 2 if rule[i + 1:i + 2] in ("^", "]") else i + 1)
            body = rule[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
            i = end
        elif c == "\\" and i + 1 < len(rule):
            i += 1
            out.append(re.escape(rule[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out))


def template_language(text: str) -> tuple[str, int] | None:
    """(`Jinja template`, `Go template` or `template`, the 1-based line of the first tag) when
    `text` holds a template tag (see the module docstring), else None. Only meaningful for a
    file the YAML parser rejected. Linear in the text (`str.find` per line, no backtracking:
    a line of a million `{{` costs what its length costs)."""
    first: int | None = None
    jinja = False
    for number, line in enumerate(text.split("\n"), start=1):
        for opener, closer, jinja_only in _TAGS:
            if _has_tag(line, opener, closer):
                first = first or number
                jinja = jinja or jinja_only
        if jinja:
            break
    if first is None:
        return None
    if jinja:
        return "Jinja template", first
    return ("Go template" if _GO.search(text) else "template"), first


#: Jsonnet programs (https://jsonnet.org/ref/language.html); Argo CD renders `.jsonnet` files
#: of a directory application itself, so they are deployed as their output.
JSONNET_SUFFIXES = (".jsonnet", ".libsonnet")
#: The template language `discovery.sniff` names a Jsonnet program by.
JSONNET = "Jsonnet program"
#: A Jsonnet `import`, `importstr` or `importbin`: its output may come from another file.
_JSONNET_IMPORT = lazy_compile(rb"\bimport(?:str|bin)?\s*['\"|@]")


def jsonnet_imports(raw: bytes) -> bool:
    """True when Jsonnet program bytes `raw` import another file: like a chart template's
    `include`, what it yields may be defined elsewhere, so it is never inert (NHI107)."""
    return _JSONNET_IMPORT.search(raw) is not None


def _has_tag(line: str, opener: str, closer: str) -> bool:
    """`opener` ... `closer` on `line`; `{{` right after `$` (`${{ }}`) is not an opener."""
    start = line.find(opener)
    while start > 0 and opener == "{{" and line[start - 1] == "$":
        start = line.find(opener, start + 2)
    return start != -1 and line.find(closer, start + len(opener)) != -1


def unrendered(path: str, chart: str | None, language: str | None, inert: bool,
               line: int = 1, raw: bytes = b"") -> ParseProblem:
    """The NHI107 problem for `path`, a template of Helm chart `chart` (a folder; at line 1:
    the whole file) or, when `chart` is None, a file of template `language` (at `line`, its
    first tag); `inert` (variant `inert`, a note for anyone) when its text names no catalogued
    kind (`checker.sources.prefilter`), which a chart template never is: it can `include` a
    helper that defines an identity; nor is a Jsonnet program (`raw`, its bytes) that imports
    another file."""
    if language == JSONNET and jsonnet_imports(raw):
        inert = False
    if chart is not None:
        where = chart or "."
        return ParseProblem(
            path, "NHI107",
            f"{path}: Helm chart template (chart {where}/), not YAML until rendered, so the "
            f"identities it produces were not checked; review the output of "
            f"`helm template {where}` (a human must approve an agent's change)")
    what = ("Jsonnet program (its output is not read until it is evaluated)" if language == JSONNET
            else f"{language or 'template'} (its template tags are not YAML)")
    return ParseProblem(
        path, "NHI107",
        f"{path}: {what}, so the identities "
        "it may produce were not checked; render it and scan the output, or exclude it if it "
        "is not deployed" + ("" if inert else " (a human must approve an agent's change)"),
        line, variant="inert" if inert else None)
