"""Where a repository's own deploy passes values files to Helm, read from text (facts only).

A chart renders with whatever values files its deploy passes, whatever they are named
(`helm upgrade --install app charts/app -f charts/app/env/prod.yaml`), so a file a workflow or
script passes with `-f`/`--values` is a values file of that chart
(https://helm.sh/docs/helm/helm_upgrade/, https://helm.sh/docs/helm/helm_install/,
https://helm.sh/docs/helm/helm_template/). A `helmfile.yaml` (or `helmfile.d/*.yaml`) release
names its chart and the values files it is installed with (`releases[].chart`,
`releases[].values`: https://helmfile.readthedocs.io/en/latest/#configuration).

- `cli_calls(text)`: each `helm install|upgrade|template` command line with values files or
  values set on the command line: the chart argument as written, the values paths, the line,
  and the values `--set`, `--set-string`, `--set-json`, `--set-literal` set (`HelmCall.sets`,
  merged in helm's order: https://helm.sh/docs/helm/helm_upgrade/#options);
- `helmfile_calls(path, text)`: each helmfile release with values files or values of its own:
  its name, its chart as written, the values paths (relative to the helmfile's folder, made
  repository paths), the line, and its inline `values:` maps, `set:` and `setString:` entries
  (https://helmfile.readthedocs.io/en/latest/#configuration).

A value nhi-gate does not compute (`--set-file`, a key with `[`/`\\`, a shell or template
expansion `$X`/`{{ }}`, a helmfile `set:` with a `file:`) is named in `HelmCall.uncomputed`,
never its value.

Paths are normalised (`./` and `..` folded); a path holding a template or variable (`{{`,
`$`) is left out (not read). Which of them a change touches, and what that means, the
commands decide (`checker.commands.render_invoked`).
"""

from __future__ import annotations

import json
import posixpath
import shlex
from collections.abc import Sequence
from typing import NamedTuple

import yaml
from yaml.nodes import Node

from checker.lazy_patterns import lazy_compile
from checker.model import SourceFile
from checker.parsers.common import command_lines
from checker.safeyaml import YValue, to_python
from checker.safeyaml.load import load_source
from checker.safeyaml.nodes import get, line_of, scalar
from checker.sources.render.gitops import merge_values, nested, typed_value


class HelmCall(NamedTuple):
    """A chart installed or rendered with values files: `who` says by what (`helm upgrade`,
    `helmfile release ksm`), `chart` as written (a path, `repo/name`, `oci://...`); `sets` the
    values the call sets itself as one YAML mapping text ("" for none), `named` what set them
    (`--set rbac.clusterAdmin`, `set rbac.clusterAdmin`, `values[0]`), `uncomputed` those
    whose value is not computed."""

    who: str
    chart: str
    values: tuple[str, ...]
    line: int
    sets: str = ""
    named: tuple[str, ...] = ()
    uncomputed: tuple[str, ...] = ()


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
#: The flags that set values, in the order helm merges them (after the values files).
_SETS = ("--set-json", "--set", "--set-string", "--set-file", "--set-literal")
#: A key helm reads as more than dotted names (a list index, an escape), or an expansion.
_UNCOMPUTED = lazy_compile(r"[\[\]\\{}$`]")


def _path(path: str, folder: str = "") -> str | None:
    if "{{" in path or "$" in path or "://" in path:
        return None
    out = posixpath.normpath(posixpath.join(folder, path))
    return None if out.startswith("../") or out == ".." or out.startswith("/") else out


def cli_calls(text: str) -> list[HelmCall]:
    """Each `helm install|upgrade|template` on a line of `text` (a backslash continues it) that
    passes values files (`-f X`, `--values X`, `--values=X`, `-fX`), in order."""
    out: list[HelmCall] = []
    for start, line in command_lines(text.splitlines()):
        m = _COMMAND.search(line)
        if m is None:
            continue
        try:
            words = shlex.split(line[m.end():], comments=True)
        except ValueError:
            words = line[m.end():].split()
        positional: list[str] = []
        values: list[str] = []
        sets: list[tuple[str, str]] = []
        take: str | None = None
        for word in words:
            if word in ("&&", "||", ";", "|") or word.endswith(";"):
                break
            if take is not None:
                if take in ("-f", "--values"):
                    values.extend(word.split(","))
                elif take in _SETS:
                    sets.append((take, word))
                take = None
            elif word.startswith("--values="):
                values.extend(word.split("=", 1)[1].split(","))
            elif word.startswith("-f") and len(word) > 2 and not word.startswith("--"):
                values.extend(word[2:].lstrip("=").split(","))
            elif word.split("=", 1)[0] in _SETS and "=" in word:
                sets.append((word.split("=", 1)[0], word.split("=", 1)[1]))
            elif word in _VALUED:
                take = word
            elif not word.startswith("-"):
                positional.append(word)
        paths = tuple(p for v in values if v and (p := _path(v)) is not None)
        if (paths or sets) and positional:
            chart = positional[1] if len(positional) > 1 else positional[0]
            merged, named, uncomputed = _cli_sets(sets)
            out.append(HelmCall(f"helm {m.group(1)}", chart, paths, start, merged, named,
                                uncomputed))
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
            merged, named, uncomputed = _release_sets(release)
            if chart and (paths or named):
                local = chart.startswith(("./", "../", "/")) or chart == "."
                shown = (_path(chart, folder) or chart) if local else chart
                out.append(HelmCall(f"helmfile release {name}", shown, paths, line_of(release),
                                    merged, named, uncomputed))
    return out


def _cli_sets(sets: Sequence[tuple[str, str]]) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(YAML of the merged values, what set them, what is not computed) of a command line's
    `(flag, argument)` pairs, merged flag by flag in helm's order (`_SETS`); `--set` and
    `--set-string` arguments are comma-separated `key=value` pairs (one with a list, `{a,b}`,
    an index or an escape is not computed)."""
    merged: dict[str, YValue] = {}
    named: list[str] = []
    uncomputed: list[str] = []
    for flag in _SETS:
        for found, argument in sets:
            if found != flag:
                continue
            whole = flag in ("--set-json", "--set-literal")
            for pair in [argument] if whole else argument.split(","):
                key, _, raw = pair.partition("=")
                named.append(f"{flag} {key}")
                value = _set_value(flag, raw)
                if (flag == "--set-file" or _UNCOMPUTED.search(key) or value is _NOT
                        or (not whole and _UNCOMPUTED.search(argument))):
                    uncomputed.append(f"{flag} {key}")
                    continue
                merge_values(merged, nested(key.split("."), value))  # type: ignore[arg-type]
    return _dump(merged), tuple(named), tuple(uncomputed)


#: A value `_set_value` does not compute.
_NOT = object()


def _set_value(flag: str, raw: str) -> YValue | object:
    """The value of one `key=value` as `flag` types it; `_NOT` when it is not computed (a
    shell or template expansion, JSON that does not parse)."""
    if "$" in raw or "`" in raw or "{{" in raw:
        return _NOT
    if flag == "--set-json":
        try:
            return json.loads(raw)  # type: ignore[no-any-return]
        except ValueError:
            return _NOT
    return typed_value(raw) if flag == "--set" else raw


def _release_sets(release: Node) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(YAML of the merged values, what set them, what is not computed) of a helmfile release:
    its inline `values:` maps in order, then `set:`, then `setString:` entries (`name` with
    `value` or `values`; a `file:` is not computed, nor a templated text)."""
    merged: dict[str, YValue] = {}
    named: list[str] = []
    uncomputed: list[str] = []
    node = get(release, "values")
    for i, item in enumerate(getattr(node, "value", []) or []):
        layer = to_python(item) if not isinstance(getattr(item, "value", None), str) else None
        if isinstance(layer, dict):
            named.append(f"values[{i}]")
            if "{{" in json.dumps(layer, default=str):
                uncomputed.append(f"values[{i}]")
            else:
                merge_values(merged, layer)
    for key in ("set", "setString"):
        node = get(release, key)
        entries = to_python(node) if node is not None else None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not entry.get("name"):
                continue
            name = str(entry["name"])
            value = entry.get("value", entry.get("values"))
            named.append(f"{key} {name}")
            if "file" in entry or _UNCOMPUTED.search(name) or "{{" in json.dumps(
                    value, default=str):
                uncomputed.append(f"{key} {name}")
                continue
            merge_values(merged, nested(name.split("."), str(value) if key == "setString"
                                        else value))
    return _dump(merged), tuple(named), tuple(uncomputed)


def _dump(values: dict[str, YValue]) -> str:
    return yaml.safe_dump(values, sort_keys=True) if values else ""
