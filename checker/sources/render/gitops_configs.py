"""The ConfigMaps and Secrets of a file, as the GitOps objects of `gitops.py` read them: Flux
`valuesFrom` and `postBuild.substituteFrom` name them by kind, namespace and name
(https://fluxcd.io/flux/components/kustomize/kustomizations/#post-build-variable-substitution,
https://fluxcd.io/flux/components/helm/helmreleases/#values-references)."""

from __future__ import annotations

import base64
import binascii
import contextlib
from collections.abc import Mapping
from typing import NamedTuple

from yaml.nodes import MappingNode

from checker.lazy_patterns import lazy_compile
from checker.safeyaml import get, get_path, line_of, scalar_text
from checker.sources.render.gitops import documents

_CONFIG_KIND = lazy_compile(r"\nkind:[ \t]*['\"]?(?:ConfigMap|Secret)\b")


class Config(NamedTuple):
    """A ConfigMap or Secret of a file: `kind/namespace/name`, its data (decoded) and the line
    of each key."""

    ref: str
    data: Mapping[str, str]
    lines: Mapping[str, int]


def config_objects(path: str, text: str) -> list[Config]:
    """The ConfigMaps and Secrets of a YAML file: `kind/namespace/name`, data as text (Secret
    `data` base64-decoded, `stringData` over it) and each key's line."""
    out: list[Config] = []
    if not _CONFIG_KIND.search("\n" + text[:200]) and not _CONFIG_KIND.search(text):
        return out
    for doc in documents(path, text):
        kind = scalar_text(get(doc, "kind"))
        if kind not in ("ConfigMap", "Secret"):
            continue
        ns = scalar_text(get_path(doc, "metadata", "namespace")) or "(default)"
        data: dict[str, str] = {}
        lines: dict[str, int] = {}
        for field in ("data", "stringData"):
            node = get(doc, field)
            if not isinstance(node, MappingNode):
                continue
            for key_node, value in node.value:
                key = scalar_text(key_node) or ""
                text_value = scalar_text(value) or ""
                if kind == "Secret" and field == "data":
                    with contextlib.suppress(binascii.Error, ValueError):
                        text_value = base64.b64decode(text_value).decode("utf-8", "replace")
                data[key], lines[key] = text_value, line_of(key_node)
        out.append(Config(f"{kind}/{ns}/{scalar_text(get_path(doc, 'metadata', 'name'))}",
                          data, lines))
    return out


def same_ref(ref: str, config: str) -> bool:
    """Whether a Flux reference `kind/namespace/name` names the object `config`; a namespace
    either side leaves unsaid (`(default)`) matches any."""
    a, b = ref.split("/", 2), config.split("/", 2)
    return (a[0] == b[0] and a[2] == b[2] and "(default)" in (a[1], b[1])) or a == b
