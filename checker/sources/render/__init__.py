"""Rendering Helm charts and kustomize overlays into the manifests users deploy.

`api` holds the shapes every renderer returns; `kustomize` and `helm` run the user's own tools
offline (`run`); `patches` maps kustomize output back to the patch or resource that
wrote it, `helm_sources` Helm output to its template.
This module is the orchestration: which kustomizations a change touches (any file of their
input closure, at base or head, leaves or not) or a scan reads (the leaves: those no other
kustomization uses), and their render from files materialised in a temporary directory.
Callers read the files (git objects or disk) and hand them over.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from checker.sources.render.api import Rendered, RenderLimits
from checker.sources.render.helm import find_helm, not_installed, render_chart
from checker.sources.render.kustomize import (
    Reader,
    closure,
    is_kustomization,
    render_kustomization,
)


def leaf_closures(paths: Collection[str], read: Reader, *, leaves: bool = True
                  ) -> dict[str, list[str]]:  # fmt: skip
    """Kustomization directory -> the files it reads, for every kustomization among `paths`
    that no other kustomization uses as a base, resource or component (what a scan renders);
    with `leaves=False`, for every kustomization (what a change may deploy: an overlay that
    another one uses is applied on its own too)."""
    directories = sorted({p.rpartition("/")[0] for p in paths if is_kustomization(p)})
    found = {d: closure(d, paths, read) for d in directories}
    used = {b for c in found.values() for b in c.bases} if leaves else set()
    return {d: c.files for d, c in found.items() if c.files and c.files[0] not in used}


def touched(closures: Mapping[str, list[str]], changed: Collection[str]) -> list[str]:
    """The kustomization directories of `closures` whose files include a `changed` path."""
    wanted = set(changed)
    return sorted(d for d, files in closures.items() if wanted.intersection(files))


def render_files(root: str, files: Mapping[str, bytes], limits: RenderLimits,
                 command: list[str] | None = None) -> Rendered:
    """Render the kustomization in directory `root` from `files` (repository path -> bytes,
    its closure), written to a temporary directory that is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="nhi-gate-render-") as tmp:
        return render_kustomization(_materialise(Path(tmp), files), root, limits, command)


def render_chart_files(root: str, files: Mapping[str, bytes], values: Sequence[str],
                       limits: RenderLimits, binary: str | None = None) -> Rendered:
    """Render the Helm chart in directory `root` from `files` (repository path -> bytes, its
    `helm.chart_files`) with the repository-relative `values` files, using the helm `binary`
    (config `render.helm.binary`; None: `helm` on PATH)."""
    helm = find_helm(binary)
    if helm is None:
        return not_installed(root)
    with tempfile.TemporaryDirectory(prefix="nhi-gate-render-") as tmp:
        return render_chart(_materialise(Path(tmp), files), root, values, limits, helm)


def _materialise(tmp: Path, files: Mapping[str, bytes]) -> Path:
    """`files` written under `tmp/tree` at their repository paths; that directory."""
    tree = tmp / "tree"
    for path, raw in files.items():
        target = tree / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)
    tree.mkdir(exist_ok=True)
    return tree
