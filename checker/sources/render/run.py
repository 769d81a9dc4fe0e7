"""Running a renderer (helm, kustomize) as the user's own tool, bounded and offline.

The process gets `RLIMIT_CPU` = `RenderLimits.cpu_seconds` (CPU time, not wall-clock time: the
same input gets the same answer on a loaded machine), its output is read up to
`RenderLimits.max_bytes`, and its environment holds no proxy settings, credentials or user
configuration: `PATH`, and a `HOME` and caches inside the materialised tree.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from checker.sources.render.api import RenderLimits

#: A renderer blocked on something other than the CPU (it should never be: no network, no
#: terminal) is stopped after this many times its CPU budget, plus this many seconds.
_WALL_FACTOR = 10
_WALL_EXTRA = 30.0


def clean_env(home: Path) -> dict[str, str]:
    """The renderer's environment: `PATH` and `HOME`/XDG directories under `home`; no
    `*_PROXY`, no `KUBECONFIG`, no registry credentials."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local"),
        "KUBECONFIG": str(home / ".kube" / "config"),
        "HELM_CACHE_HOME": str(home / ".cache" / "helm"),
        "HELM_CONFIG_HOME": str(home / ".config" / "helm"),
        "HELM_DATA_HOME": str(home / ".local" / "helm"),
        "LC_ALL": "C",
    }


def run_limited(argv: Sequence[str], limits: RenderLimits, home: Path) -> bytes | str:
    """Run `argv` with `limits`; its stdout, or a one-line reason when it failed (its first
    stderr line), ran out of CPU time, or wrote more than `limits.max_bytes`."""
    seconds = max(1, int(limits.cpu_seconds + 0.999))

    def limit() -> None:  # in the child, before exec
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))

    err_path = home / ".render-stderr"
    try:
        with err_path.open("wb") as err_file:
            proc = subprocess.Popen(
                list(argv), stdout=subprocess.PIPE, stderr=err_file, stdin=subprocess.DEVNULL,
                env=clean_env(home), cwd=home, preexec_fn=limit,
            )
    except OSError as exc:
        return f"{argv[0]}: {exc.strerror}"
    assert proc.stdout is not None
    out = proc.stdout.read(limits.max_bytes + 1)  # bounded: a larger output is not kept
    if len(out) > limits.max_bytes:
        proc.kill()
        proc.wait()
        return f"output over the {limits.max_bytes}-byte budget"
    try:
        proc.wait(timeout=seconds * _WALL_FACTOR + _WALL_EXTRA)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return f"stopped after {seconds * _WALL_FACTOR + _WALL_EXTRA:.0f} s without finishing"
    proc.stdout.close()
    if proc.returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return f"over the {seconds} s CPU budget"
    if proc.returncode != 0:
        err = err_path.read_bytes()[:4096].decode("utf-8", "replace")
        lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
        return (lines[0] if lines else f"exit code {proc.returncode}")[:300]
    return out
