"""Flux post-build variable substitution computed (issue 12, GitOps inputs).

A Flux `Kustomization` with `spec.postBuild` replaces `${VAR}` in what it builds with the
values of `postBuild.substitute` and of the ConfigMaps/Secrets `postBuild.substituteFrom`
names (later entries override earlier ones, `substitute` overrides them all), before it applies
the objects. When `spec.path` is a directory of plain manifests (no kustomization file: Flux
generates one listing every manifest under it), the substituted objects are computed here:
`${VAR}`, `${VAR:=default}` and `${VAR:-default}` (an unset variable without default is
empty); `$$` escapes a `$`. Another form (`${VAR:1:2}`, `${VAR/a/b}`, ...) is not computed
(`Substituted.unknown`). An object annotated or labelled
`kustomize.toolkit.fluxcd.io/substitute: disabled` is left as written.
Source: https://fluxcd.io/flux/components/kustomize/kustomizations/#post-build-variable-substitution

Pure: callers hand over the files and the variables; each document that holds a `${` comes
back as a `RenderedDocument` at its file and line, its keys' lines from the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from yaml.nodes import MappingNode

from checker.lazy_patterns import lazy_compile
from checker.safeyaml import get_path, line_of, load_text, scalar_text
from checker.safeyaml.nodes import key_paths
from checker.sources.render.api import Rendered, RenderedDocument

#: `${NAME}`, `${NAME:=default}`, `${NAME:-default}`; group 2 the operator, 3 the default.
_VARIABLE = lazy_compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[=-])([^}]*))?\}")
_ANY = lazy_compile(r"\$\{[^}]*\}")
_DISABLED = "kustomize.toolkit.fluxcd.io/substitute"


class Substituted(NamedTuple):
    """The render of a Flux Kustomization's substitution, and the variable forms it did not
    compute (then the render is not used)."""

    rendered: Rendered
    unknown: tuple[str, ...] = ()


def manifests(directory: str, paths: Sequence[str]) -> list[str]:
    """The YAML files under `directory` (repository-relative, "" for the root), sorted."""
    prefix = f"{directory}/" if directory else ""
    return sorted(p for p in paths if p.startswith(prefix) and p.endswith((".yaml", ".yml")))


def substitute(text: str, variables: Mapping[str, str]) -> tuple[str, list[str]]:
    """`text` with the variables replaced (module doc), and the forms not computed."""
    unknown: list[str] = []

    def one(match: re.Match[str]) -> str:
        name, operator, default = match.group(1), match.group(2), match.group(3)
        if name in variables and (operator != ":-" or variables[name]):
            return variables[name]
        return default if operator else ""

    escaped = text.replace("$$", "\x00")
    out = _VARIABLE.sub(one, escaped)
    unknown.extend(m.group(0) for m in _ANY.finditer(out))
    return out.replace("\x00", "$"), unknown


def substituted(owner: str, directory: str, files: Mapping[str, bytes],
                variables: Mapping[str, str], inputs: Sequence[str]) -> Substituted:
    """The documents of `files` (the manifests under `directory`) that hold a `${`, each with
    the variables replaced, owned by the Flux Kustomization file `owner`; `inputs` (the files
    the variables came from) are inputs of each document."""
    docs: list[RenderedDocument] = []
    unknown: list[str] = []
    for path, raw in sorted(files.items()):
        text = raw.decode("utf-8", "replace")
        if "${" not in text:
            continue
        lines = text.split("\n")
        for node in load_text(text, path).documents:
            if not isinstance(node, MappingNode) or _disabled(node):
                continue
            start = line_of(node)
            end = node.end_mark.line + (1 if node.end_mark.column else 0)
            body = "\n".join(lines[start - 1:end])
            if "${" not in body:
                continue
            out, missing = substitute(body, variables)
            unknown.extend(missing)
            keys = tuple(sorted(key_paths(node).items()))
            docs.append(RenderedDocument(out, path, start, tuple(dict.fromkeys(
                [path, owner, *inputs])), keys))
    return Substituted(Rendered(directory, "kustomize", tuple(docs), owner=owner),
                       tuple(dict.fromkeys(unknown)))


def _disabled(node: MappingNode) -> bool:
    return any(scalar_text(get_path(node, "metadata", where, _DISABLED)) == "disabled"
               for where in ("annotations", "labels"))
