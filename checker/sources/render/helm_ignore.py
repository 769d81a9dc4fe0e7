"""Which files of a chart its render never reads (session 12, `fb-helm-chart-needs-values-
external-dns`): a change to only those cannot change what the chart renders.

Helm loads a chart's files but those its `.helmignore` names (shell globs, one a line; a
pattern ending in `/` a folder; `!` negates: https://helm.sh/docs/chart_template_guide/helm_ignore_file/).
Of the files it loads, it renders `templates/` (every file there is parsed, so a `define` in
`NOTES.txt` is a helper), reads `Chart.yaml`, the values and their schema, `crds/` and the
subcharts under `charts/`; any other file (a README, a LICENSE, a changelog) reaches the
output only through `.Files` in a template (https://helm.sh/docs/chart_template_guide/accessing_files/).
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Mapping

from checker.lazy_patterns import lazy_compile

#: Chart files helm reads itself.
_READ = frozenset({"Chart.yaml", "Chart.lock", "values.yaml", "values.schema.json",
                   "requirements.yaml", "requirements.lock"})
_FILES = lazy_compile(r"\.Files\b")
_DEFINE = lazy_compile(r"\{\{-?\s*(?:define|block)\b")


def ignored(rel: str, helmignore: str) -> bool:
    """Whether the chart-relative path `rel` is left out by the `.helmignore` text: a pattern
    without `/` matches any path part, one with `/` the path from the chart's folder, one
    ending in `/` a folder. A file with a negation (`!`) is never said to be ignored."""
    patterns = [ln.strip() for ln in helmignore.splitlines()
                if ln.strip() and not ln.strip().startswith("#")]
    if any(p.startswith("!") for p in patterns):
        return False
    parts = rel.split("/")
    for pattern in patterns:
        folder = pattern.endswith("/")
        pattern = pattern.strip("/")
        if "/" in pattern:
            prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + (0 if folder else 1))]
            if any(fnmatch.fnmatchcase(p, pattern) for p in prefixes):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern)
                 for part in (parts[:-1] if folder else parts)):
            return True
    return False


def renders_nothing(path: str, root: str, texts: Mapping[str, bytes]) -> bool:
    """Whether the chart at `root` (its folder) renders the same whatever the file `path`
    holds: `.helmignore`d, or neither read by helm (`_READ`, the `.helmignore` itself,
    `templates/` but a `NOTES.txt` without a `define`, `crds/`, `charts/`, a YAML or JSON
    file a deploy may pass as values) nor by a template through `.Files`. `texts`: the
    chart's `.helmignore` and templates (repository path -> contents) as they are after the
    change."""
    rel = posixpath.relpath(path, root or ".")
    if rel.startswith("../") or rel == ".helmignore":
        return False
    helmignore = texts.get(posixpath.join(root, ".helmignore"), b"").decode("utf-8", "replace")
    if ignored(rel, helmignore):
        return True
    top = rel.split("/")[0]
    if rel == "templates/NOTES.txt":
        return not _DEFINE.search(texts.get(path, b"").decode("utf-8", "replace"))
    if rel in _READ or top in ("templates", "crds", "charts") or rel.endswith(
            (".yaml", ".yml", ".json")):
        return False
    prefix = posixpath.join(root, "templates") + "/"
    return not any(_FILES.search(raw.decode("utf-8", "replace"))
                   for p, raw in texts.items() if p.startswith(prefix))
