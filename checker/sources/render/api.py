"""The shapes a renderer returns (DESIGN.md "What counts as a change", "Rendering").

A renderer (`checker.sources.render.helm`, `checker.sources.render.kustomize`) turns one chart or
kustomization directory, materialised on disk, into `Rendered`: the YAML documents the user
would deploy, each mapped back to the repository file and line that produced it, or the reason
it could not be rendered. Renderers never decide policy and never read git.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RenderTool = Literal["helm", "kustomize"]


@dataclass(frozen=True)
class RenderLimits:
    """Budgets for one render: CPU seconds of the renderer process (RLIMIT_CPU, not wall-clock
    time, so a loaded machine gives the same answer) and bytes of output accepted."""

    cpu_seconds: float = 20.0
    max_bytes: int = 8 * 1024 * 1024


@dataclass(frozen=True)
class RenderedDocument:
    """One YAML document of a renderer's output.

    `text` is the document as rendered (one object, no `---`). `source_path` is the
    repository-relative, `/`-separated file that produced it (a Helm template from its
    `# Source:` comment; for kustomize, the resource file the object came from), and
    `source_line` the 1-based line in that file where the object starts, or 1 when unknown.
    `inputs` are the repository-relative files that can change this document (values files,
    patches, bases, the kustomization itself), for attribution.
    """

    text: str
    source_path: str
    source_line: int = 1
    inputs: tuple[str, ...] = ()
    #: The object's key paths (`roleRef.name`, `rules.[1]`, `spec.template.spec`) and the
    #: 1-based line in `source_path` that sets each, where known: a finding on a value is
    #: placed at its key's line, else its nearest parent's (a patch's `roleRef:` line), else on
    #: `source_line`.
    key_lines: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Rendered:
    """The render of one chart or kustomization directory `root` (repository-relative).

    Exactly one of `documents` (possibly empty) and `failure` is meaningful: `failure` is a
    one-line reason naming what could not be rendered and why ("helm not installed",
    "remote base https://... is not vendored", "kustomize build failed: <first error line>",
    "over the 20 s CPU budget"); when it is set, `documents` is empty.
    """

    root: str
    tool: RenderTool
    documents: tuple[RenderedDocument, ...] = ()
    failure: str | None = None
    #: The kustomization or chart file rendered (`overlays/prod/kustomization.yaml`), the
    #: prefix of its objects' addresses; "" when unknown.
    owner: str = ""
    #: Files the render used as patches: their partial objects are no objects of their own.
    patch_files: tuple[str, ...] = ()
