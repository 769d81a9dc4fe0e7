"""Peers beyond Checkov, and the cases that need a busy core or no renderer (issue 16). Used by
`bench.py`; not part of the test suite.

- (e) the workflows of ../shared/corpus/github-actions: `nhi-gate scan` vs `zizmor --offline`
  (zizmor in its own venv: `python3 -m venv /tmp/zz-venv && /tmp/zz-venv/bin/pip install
  zizmor==1.33.1`);
- (f) ../shared/corpus/real-repos: `nhi-gate scan` (which includes its secret-material scan) vs
  `detect-secrets scan --all-files` on the same files (the detect-secrets of nhi-gate's venv);
- (c busy) the five-file `hook` with every other core kept busy by spinning processes this
  module starts and stops;
- (a both render) the full scan with Checkov's `helm` and `kustomize` frameworks added, so both
  tools render the kustomizations and charts they find (when helm and kubectl are on PATH);
- (a no renderer) the full scan with `helm` and `kubectl` off PATH (nothing rendered), to tell
  the renderers' share of (a).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

#: A spinning process, stopped by `busy_cores` (and by itself after this many seconds).
_SPIN = "import time\nend = time.time() + {limit}\nwhile time.time() < end: pass\n"


@contextlib.contextmanager
def busy_cores(count: int, limit: float = 600.0) -> Iterator[None]:
    """`count` processes spinning on the CPU for the duration of the block (each ends by itself
    after `limit` seconds should this process die first)."""
    procs = [subprocess.Popen([sys.executable, "-c", _SPIN.format(limit=limit)])
             for _ in range(count)]  # fmt: skip
    try:
        yield
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def path_without(tools: Sequence[str]) -> str:
    """A PATH like ours in which none of `tools` is found: each directory holding one of them
    is replaced by a temporary directory of links to its other programs."""
    keep: list[str] = []
    shadow = Path(tempfile.mkdtemp(prefix="nhi-gate-bench-path-"))
    for i, entry in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        folder = Path(entry)
        if not any((folder / t).exists() for t in tools):
            keep.append(entry)
            continue
        copy = shadow / str(i)
        copy.mkdir()
        for item in folder.iterdir() if folder.is_dir() else ():
            if item.name not in tools:
                (copy / item.name).symlink_to(item)
        keep.append(str(copy))
    return os.pathsep.join(keep)


def peer_rows(
    pair: Callable[..., str], nhi: Sequence[str], corpus: Path, reps: int, zizmor: str | None,
    hook_repo: Path | None, hook_names: Sequence[str], checkov_cmd: Callable[..., list[str] | None],
) -> list[str]:
    """The (e), (f), (c busy), (a both render) and (a no renderer) rows, in the format of
    `bench.pair`."""
    rows: list[str] = []
    workflows = corpus / "github-actions"
    if zizmor and workflows.is_dir():
        rows.append(pair("(e) workflows: `scan` vs `zizmor --offline` (peer column: zizmor)",
                         [*nhi, "scan", str(workflows)],
                         [zizmor, "--offline", "--no-progress", str(workflows)], reps))
    secrets = shutil.which("detect-secrets", path=str(Path(sys.executable).parent))
    if secrets:
        real = corpus / "real-repos"
        # detect-secrets reads the files under its working directory (given a path outside
        # it, it finds nothing): both run in the folder, on `.`
        rows.append(pair("(f) real-repos: `scan` vs `detect-secrets scan --all-files` "
                         "(peer column: detect-secrets)",
                         [*nhi, "scan", "."], [secrets, "scan", "--all-files", "."],
                         reps, cwd=real))
    if hook_repo is not None:
        small_reps = max(reps, 9)
        with busy_cores(max(1, (os.cpu_count() or 2) - 1)):
            rows.append(pair(f"(c busy) `hook` vs `checkov -f`, other cores busy (median of "
                             f"{small_reps})", [*nhi, "hook"],
                             checkov_cmd(*[x for n in hook_names for x in ("-f", n)]),
                             small_reps, cwd=hook_repo))
    real = corpus / "real-repos"
    ck = checkov_cmd("-d", str(real))
    if ck and shutil.which("kubectl") and shutil.which("helm"):
        # nhi-gate renders the kustomizations and charts it finds; Checkov does too only with
        # its helm and kustomize frameworks (the framework list ends `ck`).
        rows.append(pair("(a both render) scan real-repos, Checkov also with its helm and "
                         "kustomize frameworks", [*nhi, "scan", str(real)],
                         [*ck, "helm", "kustomize"], reps))
    bare = path_without(("helm", "kubectl", "kustomize"))
    rows.append(pair("(a no renderer) scan real-repos, helm/kubectl off PATH for both",
                     ["env", f"PATH={bare}", *nhi, "scan", str(real)],
                     ["env", f"PATH={bare}", *ck] if ck else None, reps))
    return rows
