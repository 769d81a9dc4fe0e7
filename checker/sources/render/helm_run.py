"""Running `helm template` bounded and offline, keeping its stderr for `helm.py` to reduce to
a reason that quotes no value.

The process gets `RLIMIT_CPU` = `RenderLimits.cpu_seconds` (CPU time, not wall-clock time),
its stdout is read up to `RenderLimits.max_bytes`, and its environment is `PATH` plus Helm's
home, cache, config, data and plugin directories inside `work` (no user plugins, repositories
or registry logins), a `KUBECONFIG` that does not exist, and a proxy on a closed local port, so
anything that tried the network would fail at once rather than reach it.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path

from checker.sources.render.api import RenderLimits

#: A helm blocked on something other than the CPU is stopped after this many times its CPU
#: budget plus `_WALL_EXTRA` seconds (it should never be: no network, no terminal).
_WALL_FACTOR = 10
_WALL_EXTRA = 30.0
_NO_PROXY = "http://127.0.0.1:9"


def helm_env(work: Path) -> dict[str, str]:
    """The environment `helm` runs with: only `PATH` from ours, everything else in `work`."""
    home = work / "home"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "HELM_PLUGINS": str(home / "plugins"),
        "HELM_REGISTRY_CONFIG": str(home / "registry.json"),
        "HELM_REPOSITORY_CONFIG": str(home / "repositories.yaml"),
        "HELM_REPOSITORY_CACHE": str(home / "repository"),
        "KUBECONFIG": str(home / "no-kubeconfig"),
        "HTTP_PROXY": _NO_PROXY,
        "HTTPS_PROXY": _NO_PROXY,
        "NO_PROXY": "",
        "LC_ALL": "C",
    }


def run_helm(argv: Sequence[str], limits: RenderLimits, work: Path) -> tuple[str, str, int] | int:
    """Run `argv` in `work` under `limits`: (stdout, stderr, exit code), or -1 when it ran out
    of CPU time (or was stopped), 1 when its output went over `limits.max_bytes`."""
    seconds = max(1, int(limits.cpu_seconds + 0.999))

    def limit() -> None:  # in the child, before exec
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))

    err_path = work / "stderr"
    with err_path.open("wb") as err_file:
        try:
            proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=err_file,
                                    stdin=subprocess.DEVNULL, env=helm_env(work), cwd=work,
                                    preexec_fn=limit)
        except OSError as exc:
            return "", f"{argv[0]}: {exc.strerror}", 127
        assert proc.stdout is not None
        out = proc.stdout.read(limits.max_bytes + 1)
        if len(out) > limits.max_bytes:
            proc.kill()
            proc.wait()
            return 1
        try:
            code = proc.wait(timeout=seconds * _WALL_FACTOR + _WALL_EXTRA)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return -1
        proc.stdout.close()
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        return -1
    err = err_path.read_bytes()[:8192].decode("utf-8", "replace")
    return out.decode("utf-8", "replace"), err, code
