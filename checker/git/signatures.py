"""Commit signatures and policy-file history, read with git (DESIGN.md "Approval and trust").

- `touching_commits`: which in-range commits changed given paths (one `git log`).
- `signature_kind`: `ssh`, `gpg` or None, from the raw commit's `gpgsig` header.
- `signed_commits`: which commits carry an SSH signature git verifies against an allowed-signers
  file given as bytes (the file as committed at the BASE revision), in batches of `git log`.
- `verify_commits`: `git verify-commit` per commit against the same file, with the principal.

Each check points `gpg.ssh.allowedSignersFile` at a temporary copy of the given bytes (git runs
`ssh-keygen -Y find-principals` / `-Y verify`), so a key that an agent adds to the file inside
the change is never trusted by the change itself. A signature git merely calls good (any key,
this machine's keyring) does not count. Git's SSH signing:
https://git-scm.com/docs/git-config#Documentation/git-config.txt-gpgsshallowedSignersFile
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from checker.errors import GitError
from checker.git.repo import GIT, GitCommandNotFound, Repo

_SSH_SIG = b"-----BEGIN SSH SIGNATURE-----"
#: Commits per `git log --no-walk` signature check (keeps the command line short).
_VERIFY_BATCH = 500


def _git(repo: Repo, *args: str) -> tuple[int, str, str]:
    """Run git with nhi-gate's fixed options; (exit status, stdout, stderr), never raises on a
    non-zero status. Raises `GitError` when git itself cannot run."""
    exe = GIT
    cmd = [exe, "-c", "core.quotePath=false", "--literal-pathspecs", *args]
    try:
        status, out, err = repo.git.execute(
            cmd, with_extended_output=True, with_exceptions=False
        )
    except GitCommandNotFound as exc:
        raise GitError(f"git executable not found: {exc}") from exc
    return int(status or 0), str(out), str(err)


def _label(repo: Repo) -> str:
    return str(repo.working_tree_dir or repo.git_dir)


def touching_commits(
    repo: Repo, base: str, head: str, paths: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """path -> the commits of `base..head` (oldest first) that changed it, for `paths` only,
    from ONE `git log --full-history --name-only`. Deletions count; merges list no files."""
    if not paths:
        return {}
    status, out, err = _git(
        repo, "log", "--full-history", "--no-renames", "--topo-order", "--reverse",
        "--name-only", "--format=%x01%H", f"{base}..{head}", "--", *paths,
    )
    if status != 0:
        raise GitError(f"{_label(repo)}: git log failed: {err.strip()}")
    wanted = set(paths)
    found: dict[str, list[str]] = {}
    sha = ""
    for line in out.splitlines():
        if line.startswith("\x01"):
            sha = line[1:].strip()
        elif line.strip() in wanted and sha:
            found.setdefault(line.strip(), []).append(sha)
    return {p: tuple(s) for p, s in found.items()}


def signed_commits(
    repo: Repo, shas: Sequence[str], signers: bytes | None
) -> dict[str, bool]:
    """sha -> True when the commit carries an SSH signature that git verifies against
    `signers` (the allowed-signers file as committed at the BASE revision) with a known
    principal: `%G?` is `G` and `%GS` names the principal. Anything else is False: no
    signature; a GPG/X.509 signature (it would be judged by this machine's keyring, not by the
    base revision); a key missing from the file (`%G?` U); a signature git cannot check (E) or
    calls bad (B); and every commit when `signers` is None (not configured or absent at base).

    One `git log --no-walk` per 500 signed commits, with `gpg.ssh.allowedSignersFile` pointing
    at a temporary copy of `signers`. Raises `GitError` when git cannot run or read a commit.
    """
    out = {sha: False for sha in shas}
    if signers is None:
        return out
    ssh = [sha for sha in out if signature_kind(repo, sha) == "ssh"]
    if not ssh:
        return out
    with tempfile.TemporaryDirectory(prefix="nhi-gate-signers-") as tmp:
        signers_file = Path(tmp) / "allowed_signers"
        signers_file.write_bytes(signers)
        for start in range(0, len(ssh), _VERIFY_BATCH):
            out.update(_verified(repo, ssh[start:start + _VERIFY_BATCH], signers_file))
    return out


def _ssh_opts(signers_file: Path) -> tuple[str, ...]:
    return (
        "-c", "gpg.format=ssh",
        "-c", "gpg.ssh.program=ssh-keygen",
        "-c", f"gpg.ssh.allowedSignersFile={signers_file}",
    )


def _verified(repo: Repo, shas: Sequence[str], signers_file: Path) -> dict[str, bool]:
    """sha -> signature verified with a principal from `signers_file`, for `shas` (one git
    log). Git answers per commit, so one bad signature does not fail the others."""
    status, out, err = _git(
        repo, *_ssh_opts(signers_file), "log", "--no-walk=unsorted",
        "--format=%x01%H%x1f%G?%x1f%GS", *shas, "--",
    )
    if status != 0:
        raise GitError(f"{_label(repo)}: git log (signature check) failed: {err.strip()}")
    found: dict[str, bool] = {}
    for record in out.split("\x01")[1:]:
        sha, _, rest = record.strip().partition("\x1f")
        letter, _, principal = rest.partition("\x1f")
        found[sha] = letter == "G" and bool(principal.strip())
    return {sha: found.get(sha, False) for sha in shas}


def signature_kind(repo: Repo, sha: str) -> str | None:
    """`ssh`, `gpg` or None from the raw commit object's `gpgsig` header."""
    try:
        _, _, _, raw = repo.git.get_object_data(sha)
    except ValueError as exc:
        raise GitError(f"{_label(repo)}: cannot read commit {sha}: {exc}") from exc
    header = raw.split(b"\n\n", 1)[0]
    for line in header.split(b"\n"):
        if line.startswith((b"gpgsig ", b"gpgsig-sha256 ")):
            return "ssh" if _SSH_SIG in line else "gpg"
    return None


def _verify_one(repo: Repo, sha: str, signers_file: Path) -> tuple[bool, str]:
    """(verified, principal or git's message) with `git verify-commit` and the base signers."""
    opts = _ssh_opts(signers_file)
    status, _out, err = _git(repo, *opts, "verify-commit", sha)
    if status != 0:
        message = " ".join(line.strip() for line in err.splitlines() if line.strip())
        return False, message or f"git verify-commit exited {status}"
    _, out, _ = _git(repo, *opts, "log", "--no-walk", "--format=%G?%x1f%GS", sha)
    letter, _, principal = out.strip().partition("\x1f")
    if letter != "G" or not principal:
        return False, f"git reports signature status {letter or '?'}"
    return True, principal.strip()


def verify_commits(repo: Repo, shas: Sequence[str], signers: bytes
                   ) -> dict[str, tuple[bool, str]]:  # fmt: skip
    """sha -> (verified, the signer's principal or git's message) for each of `shas`, with
    `git verify-commit` against `signers` (the allowed-signers file's bytes). Raises `GitError`
    when git cannot run."""
    out: dict[str, tuple[bool, str]] = {}
    with tempfile.TemporaryDirectory(prefix="nhi-gate-signers-") as tmp:
        signers_file = Path(tmp) / "allowed_signers"
        signers_file.write_bytes(signers)
        for sha in shas:
            out[sha] = _verify_one(repo, sha, signers_file)
    return out
