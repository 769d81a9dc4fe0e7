"""Where a repository's own deploy passes values files to Helm, read from text (facts only).

A chart renders with whatever values files its deploy passes, whatever they are named
(`helm upgrade --install app charts/app -f charts/app/env/prod.yaml`), so a file a workflow or
script passes with `-f`/`--values` is a values file of that chart
(https://helm.sh/docs/helm/helm_upgrade/, https://helm.sh/docs/helm/helm_install/,
https://helm.sh/docs/helm/helm_template/). A `helmfile.yaml` (or `helmfile.d/*.yaml`) release
names its chart and the values files it is installed with (`releases[].chart`,
`releases[].values`: https://helmfile.readthedocs.io/en/latest/#configuration).

- `cli_calls(text)`: each `helm install|upgrade|template` command line with values files: the
  chart argument as written, the values paths, the line;
- `helmfile_calls(path, text)`: each helmfile release with values files: its name, its chart as
  written, the values paths (relative to the helmfile's folder, made repository paths), the line.

Paths are normalised (`./` and `..` folded); a path holding a template or variable (`{{`,
`$`) is left out (not read). Which of them a change touches, and what that means, the
commands decide (`checker.commands.render_invoked`).
"""

from __future__ import annotations

import posixpath
import shlex
from typing import NamedTuple

from checker.lazy_patterns import lazy_compile
from checker.model import SourceFile
from checker.safeyaml.load import load_source
from checker.safeyaml.nodes import get, line_of, scalar


class HelmCall(NamedTuple):
    """A chart installed or rendered with values files: `who` says by what (`helm upgrade`,
    `helmfile release ksm`), `chart` as written (a path, `repo/name`, `oci://...`)."""

    who: str
    chart: str
    values: tuple[str, ...]
    line: int


_COMMAND = lazy_compile(r"\bhelm\s+(install|upgrade|template)\b")
#: helm flags that take a value as the next word (so it is no positional argument).
_VALUED = frozenset({
    "-f", "--values", "-n", "--namespace", "--version", "--repo", "--set", "--set-string",
    "--set-file", "--set-json", "--set-literal", "--kube-context", "--kubeconfig", "--timeout",
    "-o", "--output", "--post-renderer", "--post-renderer-args", "--description",
    "-a", "--api-versions", "--kube-version", "--output-dir", "--username", "--password",
    "--ca-file", "--cert-file", "--key-file", "--history-max", "-s", "--show-only",
    "--name-template", "--keyring", "--kube-apiserver", "--kube-as-user", "--kube-as-group",
    "--kube-token", "--kube-ca-file", "--registry-config", "--repository-cache",
    "--repository-config", "--labels", "-l",
})


def _path(path: str, folder: str = "") -> str | None:
    if "{{" in path or "$" in path or "://" in path:
        return None
    out = posixpath.normpath(posixpath.join(folder, path))
    return None if out.startswith("../") or out == ".." or out.startswith("/") else out


def cli_calls(text: str) -> list[HelmCall]:
    """Each `helm install|upgrade|template` on a line of `text` (a backslash continues it) that
    passes values files (`-f X`, `--values X`, `--values=X`, `-fX`), in order."""
    out: list[HelmCall] = []
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        start, line = number + 1, lines[number]
        number += 1
        while line.rstrip().endswith("\\") and number < len(lines):
            line = line.rstrip()[:-1] + " " + lines[number]
            number += 1
        m = _COMMAND.search(line)
        if m is None:
            continue
        try:
            words = shlex.split(line[m.end():], comments=True)
        except ValueError:
            words = line[m.end():].split()
        positional: list[str] = []
        values: list[str] = []
        take: str | None = None
        for word in words:
            if word in ("&&", "||", ";", "|") or word.endswith(";"):
                break
            if take is not None:
                if take in ("-f", "--values"):
                    values.extend(word.split(","))
                take = None
            elif word.startswith("--values="):
                values.extend(word.split("=", 1)[1].split(","))
            elif word.startswith("-f") and len(word) > 2 and not word.startswith("--"):
                values.extend(word[2:].lstrip("=").split(","))
            elif word in _VALUED:
                take = word
            elif not word.startswith("-"):
                positional.append(word)
        paths = tuple(p for v in values if v and (p := _path(v)) is not None)
        if paths and positional:
            chart = positional[1] if len(positional) > 1 else positional[0]
            out.append(HelmCall(f"helm {m.group(1)}", chart, paths, start))
    return out


def is_helmfile(path: str) -> bool:
    """True for `helmfile.yaml`/`.yml` in any folder and `helmfile.d/*.yaml`/`.yml`."""
    name = posixpath.basename(path)
    return name in ("helmfile.yaml", "helmfile.yml") or (
        posixpath.basename(posixpath.dirname(path)) == "helmfile.d"
        and name.endswith((".yaml", ".yml")))


def helmfile_calls(path: str, raw: bytes) -> list[HelmCall]:
    """Each release of the helmfile `path` (text `raw`) that names values files
    (`values: [file, ...]`; inline maps are no files), in order; its chart and values paths
    relative to the helmfile's folder (a `helmfile.d/` file's: the folder above it). A file
    that is no YAML (a template helmfile renders first) yields none."""
    folder = posixpath.dirname(path)
    if posixpath.basename(folder) == "helmfile.d":
        folder = posixpath.dirname(folder)
    out: list[HelmCall] = []
    for doc in load_source(SourceFile(path, raw)).documents:
        releases = get(doc, "releases")
        for release in getattr(releases, "value", []) or []:
            chart = scalar(get(release, "chart"))
            name = scalar(get(release, "name")) or "?"
            node = get(release, "values")
            files = [scalar(v) for v in getattr(node, "value", []) or []]
            paths = tuple(p for f in files if f and (p := _path(f, folder)) is not None)
            if chart and paths:
                local = chart.startswith(("./", "../", "/")) or chart == "."
                shown = (_path(chart, folder) or chart) if local else chart
                out.append(HelmCall(f"helmfile release {name}", shown, paths, line_of(release)))
    return out
