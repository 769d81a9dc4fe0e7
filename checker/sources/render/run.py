"""Running a renderer (helm, kustomize) as the user's own tool, bounded and offline.

The process gets `RLIMIT_CPU` = `RenderLimits.cpu_seconds` (CPU time, not wall-clock time: the
same input gets the same answer on a loaded machine), its output is read up to
`RenderLimits.max_bytes`, and its environment holds no proxy settings, credentials or user
configuration: `PATH`, a `HOME` with the XDG and Helm directories inside a temporary directory,
a `KUBECONFIG` that does not exist, and a proxy on a closed local port, so anything that tried
the network would fail at once rather than reach it.

Both renderers are Go programs that run for a fraction of a second: their environment also turns
the Go garbage collector's pacing off below a heap of `GO_MEMORY_LIMIT` (`GOGC=off` with
`GOMEMLIMIT`: collection starts only when the heap nears the limit, so memory stays bounded; "A
Guide to the Go Garbage Collector", https://go.dev/doc/gc-guide#Memory_limit) and runs each on one
thread (`GOMAXPROCS=1`: renders already run side by side, one per core). This saves about a
third of their CPU time and changes nothing in their output.
The limit is 128 MiB: at 512 MiB a `kubectl kustomize` of argo-cd's HA install reached
558 MB of resident memory, at 128 MiB 175 MB, for about a fifth more CPU time.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from checker.sources.render.api import RenderLimits

#: A renderer blocked on something other than the CPU (it should never be: no network, no
#: terminal) is stopped after this many times its CPU budget, plus this many seconds.
_WALL_FACTOR = 10
_WALL_EXTRA = 30.0
_NO_PROXY = "http://127.0.0.1:9"
#: The heap size at which a renderer's Go garbage collector starts collecting (`GOMEMLIMIT`).
GO_MEMORY_LIMIT = "128MiB"


def clean_env(home: Path) -> dict[str, str]:
    """The renderer's environment: only `PATH` from ours; `HOME`, XDG and Helm directories
    under `home`; no `KUBECONFIG`, no registry credentials, a proxy that refuses; the Go
    runtime settings of the module docstring."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local"),
        "KUBECONFIG": str(home / ".kube" / "no-config"),
        "HELM_CACHE_HOME": str(home / ".cache" / "helm"),
        "HELM_CONFIG_HOME": str(home / ".config" / "helm"),
        "HELM_DATA_HOME": str(home / ".local" / "helm"),
        "HELM_PLUGINS": str(home / ".local" / "helm-plugins"),
        "HELM_REGISTRY_CONFIG": str(home / ".config" / "helm" / "registry.json"),
        "HELM_REPOSITORY_CONFIG": str(home / ".config" / "helm" / "repositories.yaml"),
        "HELM_REPOSITORY_CACHE": str(home / ".cache" / "helm" / "repository"),
        "HTTP_PROXY": _NO_PROXY,
        "HTTPS_PROXY": _NO_PROXY,
        "NO_PROXY": "",
        "LC_ALL": "C",
        "GOGC": "off",
        "GOMEMLIMIT": GO_MEMORY_LIMIT,
        "GOMAXPROCS": "1",
    }


@dataclass(frozen=True)
class Outcome:
    """What a bounded run gave: its stdout (bytes), the first 8 KiB of its stderr (text) and
    exit code, or `stopped`: why it was stopped (`"cpu"`, `"output"`, `"wall"`, or
    `"exec: <why>"` when it could not start); when stopped, `stdout` is empty."""

    stdout: bytes = b""
    stderr: str = ""
    code: int = 0
    stopped: str | None = None


def can_limit_threads() -> bool:
    """Whether a renderer's CPU limit can be set from outside the child (`prlimit`, Linux), so
    renders may run on threads (a `preexec_fn`, the fallback, is unsafe beside threads)."""
    return hasattr(resource, "prlimit")


def run_bounded(argv: Sequence[str], limits: RenderLimits, home: Path) -> Outcome:
    """Run `argv` in `home` (a private temporary directory) with `clean_env(home)` and
    `limits`."""
    seconds = max(1, int(limits.cpu_seconds + 0.999))

    def limit() -> None:  # in the child, before exec
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))

    err_path = home / ".render-stderr"
    with err_path.open("wb") as err_file:
        try:
            proc = subprocess.Popen(
                list(argv), stdout=subprocess.PIPE, stderr=err_file, stdin=subprocess.DEVNULL,
                env=clean_env(home), cwd=home,
                preexec_fn=None if can_limit_threads() else limit,
            )
        except OSError as exc:
            return Outcome(stopped=f"exec: {argv[0]}: {exc.strerror}")
        if can_limit_threads():
            # set from outside, as a preexec function is unsafe beside threads; the limit
            # counts the CPU time the process has used so far too
            with contextlib.suppress(ProcessLookupError, PermissionError):  # exited already
                resource.prlimit(proc.pid, resource.RLIMIT_CPU, (seconds, seconds + 1))
        assert proc.stdout is not None
        out = proc.stdout.read(limits.max_bytes + 1)  # bounded: a larger output is not kept
        if len(out) > limits.max_bytes:
            proc.kill()
            proc.wait()
            return Outcome(stopped="output")
        try:
            code = proc.wait(timeout=seconds * _WALL_FACTOR + _WALL_EXTRA)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return Outcome(stopped="wall")
        proc.stdout.close()
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return Outcome(stopped="cpu")
    err = err_path.read_bytes()[:8192].decode("utf-8", "replace")
    return Outcome(out, err, code)


def run_limited(argv: Sequence[str], limits: RenderLimits, home: Path) -> bytes | str:
    """Run `argv` like `run_bounded`; its stdout, or a one-line reason when it failed (its
    first stderr line), ran out of CPU time, or wrote more than `limits.max_bytes`."""
    got = run_bounded(argv, limits, home)
    seconds = max(1, int(limits.cpu_seconds + 0.999))
    if got.stopped == "output":
        return f"output over the {limits.max_bytes}-byte budget"
    if got.stopped == "wall":
        return f"stopped after {seconds * _WALL_FACTOR + _WALL_EXTRA:.0f} s without finishing"
    if got.stopped == "cpu":
        return f"over the {seconds} s CPU budget"
    if got.stopped:
        return got.stopped.removeprefix("exec: ")
    if got.code != 0:
        lines = [ln.strip() for ln in got.stderr[:4096].splitlines() if ln.strip()]
        return (lines[0] if lines else f"exit code {got.code}")[:300]
    return got.stdout
