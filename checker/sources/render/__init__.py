"""Rendering Helm charts and kustomize overlays into the manifests users deploy.

`api` holds the shapes every renderer returns; `kustomize` (and `helm`) run the user's own tools
offline (`run`); `patches` maps kustomize output back to the patch or resource that wrote it.
This module is the orchestration: which kustomizations a change touches (any file of their
input closure, at base or head) or a scan reads (the leaves: those no other kustomization
uses), and their render from files materialised in a temporary directory. Callers read the
files (git objects or disk) and hand them over.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path

from checker.sources.render.api import Rendered, RenderLimits
from checker.sources.render.kustomize import (
    Reader,
    closure,
    is_kustomization,
    render_kustomization,
)


def leaf_closures(paths: Collection[str], read: Reader) -> dict[str, list[str]]:
    """Kustomization directory -> the files it reads, for every kustomization among `paths`
    that no other kustomization uses as a base, resource or component (what is deployed)."""
    directories = sorted({p.rpartition("/")[0] for p in paths if is_kustomization(p)})
    found = {d: closure(d, paths, read) for d in directories}
    used = {b for c in found.values() for b in c.bases}
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
        tree = Path(tmp) / "tree"
        for path, raw in files.items():
            target = tree / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(raw)
        tree.mkdir(exist_ok=True)
        return render_kustomization(tree, root, limits, command)
