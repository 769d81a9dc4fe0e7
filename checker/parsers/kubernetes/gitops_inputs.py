"""What a GitOps object deploys that nhi-gate does not compute, as `Unresolved` entries (NHI106
judges them: fail closed for an agent, a note for a person).

An Argo CD `Application` or Flux `HelmRelease`/`Kustomization` says what to deploy; the
controller renders it (a chart with values, a kustomization with patches) and applies the result
with its own, usually cluster-wide, account. nhi-gate does not render a source the controller
fetches, so a change of these inputs changes what is deployed (a chart value that turns on a
ClusterRoleBinding, a patch adding a subject) in a way it cannot compute:
- Argo CD, each of `spec.source` and `spec.sources[]` (an `ApplicationSet`'s
  `spec.template.spec`): `helm.values`, `helm.valuesObject`, `helm.parameters`,
  `helm.fileParameters`, `helm.valueFiles`, `kustomize.patches`, `kustomize.namePrefix`,
  `kustomize.nameSuffix`, `kustomize.components`, `directory.include`, `directory.exclude`,
  `directory.recurse`, `directory.jsonnet` (its external variables and top-level arguments),
  `plugin` (a config management plugin's name, env and parameters). Source:
  https://argo-cd.readthedocs.io/en/stable/user-guide/application-specification/
- Flux `HelmRelease`: `spec.values`, `spec.valuesFrom`. Source:
  https://fluxcd.io/flux/components/helm/helmreleases/#values
- Flux `Kustomization`: `spec.path`, `spec.sourceRef`, `spec.patches`,
  `spec.postBuild.substitute`, `spec.postBuild.substituteFrom`. Source:
  https://fluxcd.io/flux/components/kustomize/kustomizations/
- Flux `spec.kubeConfig` (`secretRef` or `configMapRef`) of either Flux kind: the controller
  applies with the credentials that Secret holds (a remote cluster's, often its admin), not with
  its own or `serviceAccountName`'s account, so what the change grants cannot be computed.
  Source: https://fluxcd.io/flux/components/kustomize/kustomizations/#remote-clusters--cluster-api

Shape: `Unresolved(attribute=<key path>, expression="<key path> (value <digest>)", reason
(`model.DEPLOYED` + `Argo CD|Flux from <source>: ...`), line=<the key's line>)`; the digest
(`digest.node_hash`: the parsed value, so restyled YAML keeps it) makes a changed value a new
entry, which NHI106 reports, and an unchanged one equal at base and head. Values are never
copied into the entry. NHI106 reports none of them in `scan` (no change to judge).
"""

from __future__ import annotations

from collections.abc import Iterator

from yaml.nodes import MappingNode, Node

from checker.model import DEPLOYED, Unresolved
from checker.parsers.kubernetes.digest import node_hash
from checker.safeyaml import get, get_entry, get_path, line_of, scalar_text, sequence

_ARGO_KINDS = frozenset({"argoproj.io/Application", "argoproj.io/ApplicationSet"})
_HELM_RELEASE = "helm.toolkit.fluxcd.io/HelmRelease"
_FLUX_KUSTOMIZATION = "kustomize.toolkit.fluxcd.io/Kustomization"
#: The keys of an Argo CD source that change what it renders.
_ARGO_INPUTS = (("helm", "values"), ("helm", "valuesObject"), ("helm", "parameters"),
                ("helm", "fileParameters"), ("helm", "valueFiles"), ("kustomize", "patches"),
                ("kustomize", "namePrefix"), ("kustomize", "nameSuffix"),
                ("kustomize", "components"), ("directory", "include"),
                ("directory", "exclude"), ("directory", "recurse"), ("directory", "jsonnet"),
                ("plugin",))
_FLUX_INPUTS = {
    _HELM_RELEASE: (("values",), ("valuesFrom",)),
    _FLUX_KUSTOMIZATION: (("path",), ("sourceRef",), ("patches",), ("postBuild", "substitute"),
                          ("postBuild", "substituteFrom")),
}


def deployed_inputs(doc: MappingNode, type_: str) -> tuple[Unresolved, ...]:
    """The `Unresolved` entries of a GitOps object `doc` of catalogue type `type_` (shapes:
    module doc); () for other types and objects that set none of the inputs."""
    spec = get(doc, "spec")
    if type_ in _ARGO_KINDS:
        prefix = "spec"
        if type_.endswith("/ApplicationSet"):
            spec, prefix = get_path(spec, "template", "spec"), "spec.template.spec"
        return tuple(_argo(spec, prefix))
    if type_ in _FLUX_INPUTS:
        return tuple(_flux(spec, type_))
    return ()


def _argo(spec: Node | None, prefix: str) -> Iterator[Unresolved]:
    sources = [(f"{prefix}.source", get(spec, "source"))]
    sources += [(f"{prefix}.sources[{i}]", s) for i, s in enumerate(sequence(get(spec, "sources")))]
    for where, source in sources:
        repo = scalar_text(get(source, "repoURL")) or "(no repoURL)"
        chart, path = scalar_text(get(source, "chart")), scalar_text(get(source, "path"))
        what = f"chart {chart}" if chart else f"path {path}" if path else "its root"
        reason = f"{DEPLOYED}Argo CD from {repo} ({what}): what it renders is not computed"
        for keys in _ARGO_INPUTS:
            yield from _entry(source, keys, where, reason)


def _flux(spec: Node | None, type_: str) -> Iterator[Unresolved]:
    if type_ == _HELM_RELEASE:
        chart = (scalar_text(get_path(spec, "chart", "spec", "chart"))
                 or scalar_text(get_path(spec, "chartRef", "name")) or "(unnamed chart)")
        source = f"chart {chart}"
    else:
        ref = get(spec, "sourceRef")
        source = (f"{scalar_text(get(ref, 'kind')) or 'source'} "
                  f"{scalar_text(get(ref, 'name')) or '(unnamed)'}")
    reason = f"{DEPLOYED}Flux from {source}: what it renders is not computed"
    for keys in _FLUX_INPUTS[type_]:
        yield from _entry(spec, keys, "spec", reason)
    config = get(spec, "kubeConfig")
    if config is not None:
        kind = "Secret" if get(config, "secretRef") is not None else "ConfigMap"
        ref = get(config, "secretRef") or get(config, "configMapRef")
        secret = f"{kind} {scalar_text(get(ref, 'name')) or '(unnamed)'}"
        yield from _entry(spec, ("kubeConfig",), "spec", (
            f"{DEPLOYED}Flux with the credentials in {secret}, not with its own or "
            "serviceAccountName's account: what they may do is not computed"))


def _entry(node: Node | None, keys: tuple[str, ...], where: str,
           reason: str) -> Iterator[Unresolved]:
    """One entry for the value at `keys` under `node`, when it is set."""
    parent = get_path(node, *keys[:-1]) if len(keys) > 1 else node
    found = get_entry(parent, keys[-1])
    if found is None:
        return
    key, value = found
    attribute = ".".join((where, *keys))
    yield Unresolved(attribute, f"{attribute} (value {node_hash(value)[:12]})", reason,
                     line_of(key))
