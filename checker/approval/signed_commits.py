"""Offline approval and trust reads from git (DESIGN.md "Approval and trust").

- `read_trust`: the policy files as they are at the **base** revision (CODEOWNERS, the
  allowed-signers file) and which in-range commits changed any policy file (one `git log`).
- `signed_commits` (for `approval.require_signed_agent_commits`, NHI104): which commits carry
  an SSH signature that git verifies against the same base allowed-signers file. A signature
  git merely calls good (any key, this machine's keyring) does not count.
- `offline_approvals`: commits in the range that carry an `Approved-by:` trailer, made by a
  human, and SSH-signed by a key of the base revision's allowed-signers file. Each is checked
  with the real `git verify-commit`, with `gpg.ssh.allowedSignersFile` pointing at a temporary
  copy of the base blob (git runs `ssh-keygen -Y find-principals` / `-Y verify`), so a key that
  an agent adds to the file inside the change is never trusted by the change itself.
  A valid approval commit approves the findings of its ancestors in the range; anything
  committed after it needs a new approval (`approval.apply_approvals`).

GPG signatures are refused with a reason: an allowed-signers file lists SSH keys, and a GPG
verdict would depend on this machine's keyring instead of the base revision.
Git's SSH signing: https://git-scm.com/docs/git-config#Documentation/git-config.txt-gpgsshallowedSignersFile
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import git

from checker import git as cg
from checker.approval.reviews import (
    Approval,
    Decision,
    Rejection,
    ancestors_in_range,
    approved_by_trailer,
    contributor_addresses,
    trust_files,
)
from checker.change import ChangeSet, Provenance
from checker.errors import GitError
from checker.policy.codeowners import SEARCH_ORDER, CodeOwners, parse
from checker.policy.config import Config
from checker.provenance.agents import AgentSignatures
from checker.provenance.classify import address_of

_SSH_SIG = b"-----BEGIN SSH SIGNATURE-----"
#: Commits per `git log --no-walk` signature check (keeps the command line short).
_VERIFY_BATCH = 500


@dataclass(frozen=True)
class TrustInputs:
    """Policy read from base: `codeowners` (None when base has none), the allowed-signers
    bytes (None when not configured or absent) and where they came from, the policy files
    (`kinds`: path -> kind) and, per policy file, the in-range commits that changed it."""

    codeowners: CodeOwners | None
    signers: bytes | None
    signers_source: str
    kinds: Mapping[str, str] = field(default_factory=dict)
    touches: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: sha -> signed (see `signed_commits`); filled only when the config requires signatures.
    signed: Mapping[str, bool] = field(default_factory=dict)


def _git(repo: git.Repo, *args: str) -> tuple[int, str, str]:
    """Run git with nhi-gate's fixed options; (exit status, stdout, stderr), never raises on a
    non-zero status. Raises `GitError` when git itself cannot run."""
    exe = git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git"
    cmd = [exe, "-c", "core.quotePath=false", "--literal-pathspecs", *args]
    try:
        status, out, err = repo.git.execute(
            cmd, with_extended_output=True, with_exceptions=False
        )
    except git.GitCommandNotFound as exc:
        raise GitError(f"git executable not found: {exc}") from exc
    return int(status or 0), str(out), str(err)


def _label(repo: git.Repo) -> str:
    return str(repo.working_tree_dir or repo.git_dir)


def touching_commits(
    repo: git.Repo, base: str, head: str, paths: Sequence[str]
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
    repo: git.Repo, changeset: ChangeSet, signers: bytes | None
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
    out = {c.sha: False for c in changeset.commits}
    if signers is None:
        return out
    ssh = [sha for sha in out if _signature_kind(repo, sha) == "ssh"]
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


def _verified(repo: git.Repo, shas: Sequence[str], signers_file: Path) -> dict[str, bool]:
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


_WORKFLOW = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$")


def _gate_files(repo: git.Repo, changeset: ChangeSet, known: Mapping[str, str]
                ) -> dict[str, str]:
    """Files in the change that steer the gate itself, beyond `trust_files`: the default
    baseline file (even when the base config names none: a baseline added now would waive
    findings later), any `.gitattributes` (can change how git shows the diff), and workflow
    files that run nhi-gate (on `pull_request`, GitHub runs the PR's own copy, so an agent could
    add `continue-on-error` or `fail-on: never`). path -> kind."""
    from checker.policy.config import DEFAULT_BASELINE

    assert changeset.base is not None and changeset.head is not None
    out: dict[str, str] = {}
    if DEFAULT_BASELINE not in known:
        out[DEFAULT_BASELINE] = "baseline"
    paths = sorted({f.path for f in changeset.files}
                   | {f.old_path for f in changeset.files if f.old_path})
    for path in paths:
        if path.rsplit("/", 1)[-1] == ".gitattributes":
            out.setdefault(path, "attributes")
    workflows = [p for p in paths if _WORKFLOW.match(p) and p not in known]
    if workflows:
        at_head = cg.read_blobs(repo, changeset.head, workflows)
        at_base = cg.read_blobs(repo, changeset.base, workflows)
        for path in workflows:
            if any(b is not None and b"nhi-gate" in b
                   for b in (at_head.get(path), at_base.get(path))):
                out[path] = "gate-workflow"
    return out


def read_trust(repo: git.Repo, changeset: ChangeSet, config: Config) -> TrustInputs:
    """CODEOWNERS and allowed signers at the change's base, the commits that changed policy
    files, and (with `approval.require_signed_agent_commits`) which commits are signed."""
    assert changeset.base is not None and changeset.head is not None
    base, head = changeset.base, changeset.head
    kinds = trust_files(config)
    kinds.update(_gate_files(repo, changeset, kinds))
    wanted = [*SEARCH_ORDER]
    if config.allowed_signers:
        wanted.append(config.allowed_signers.removeprefix("./"))
    blobs = cg.read_blobs(repo, base, wanted)
    codeowners = None
    for path in SEARCH_ORDER:
        raw = blobs.get(path)
        if raw is not None:
            codeowners = parse(raw.decode("utf-8", "replace"), f"{base[:12]}:{path}")
            break
    signers = None
    source = "approval.allowed_signers is not set in the base config"
    if config.allowed_signers:
        path = config.allowed_signers.removeprefix("./")
        signers = blobs.get(path)
        source = f"{base[:12]}:{path}" + (" (absent at base)" if signers is None else "")
    touches = touching_commits(repo, base, head, sorted(kinds))
    signed = (
        signed_commits(repo, changeset, signers) if config.require_signed_agent_commits else {}
    )
    return TrustInputs(codeowners, signers, source, kinds, touches, signed)


def _signature_kind(repo: git.Repo, sha: str) -> str | None:
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


def _verify(repo: git.Repo, sha: str, signers_file: Path) -> tuple[bool, str]:
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


def offline_approvals(
    repo: git.Repo,
    changeset: ChangeSet,
    provenance: Mapping[str, Provenance],
    signatures: AgentSignatures,
    trust: TrustInputs,
) -> Decision:
    """The valid signed approval commits of the range, and the rejected ones with a reason.

    A candidate is a commit with an `Approved-by:` trailer. It counts when: its author is a
    human (provenance); it is SSH-signed; `git verify-commit` accepts it against the base
    allowed-signers file; the `Approved-by:` address, when it has one, is the signer's
    principal; and the signer is not an author, committer or co-author of an agent or bot
    commit it would approve. It covers its ancestors in the range.
    """
    candidates = [c for c in changeset.commits if approved_by_trailer(c) is not None]
    if not candidates:
        return Decision()
    approvals: list[Approval] = []
    rejections: list[Rejection] = []
    with tempfile.TemporaryDirectory(prefix="nhi-gate-signers-") as tmp:
        signers_file = Path(tmp) / "allowed_signers"
        if trust.signers is not None:
            signers_file.write_bytes(trust.signers)
        for commit in candidates:
            trailer = approved_by_trailer(commit) or ""
            named = address_of(trailer)
            who = f"commit {commit.sha[:12]} (Approved-by: {named or trailer})"

            def reject(reason: str, who: str = who) -> None:
                rejections.append(Rejection(who, "signed-commit", reason))

            prov = provenance.get(commit.sha)
            if prov is None or prov.actor_kind != "human":
                kind = prov.actor_kind if prov else "unknown"
                reject(f"the approval commit is by an {kind}, not a human")
                continue
            if trust.signers is None:
                reject(f"no allowed-signers file to verify against ({trust.signers_source})")
                continue
            sig = _signature_kind(repo, commit.sha)
            if sig is None:
                reject("the approval commit is not signed")
                continue
            if sig != "ssh":
                reject("GPG-signed: only SSH signatures can be checked against the "
                       "allowed-signers file")
                continue
            ok, principal = _verify(repo, commit.sha, signers_file)
            if not ok:
                reject(f"signature does not verify against {trust.signers_source}: {principal}")
                continue
            if named is not None and named != principal.lower():
                reject(f"Approved-by names {named} but the commit is signed by {principal}")
                continue
            covers = ancestors_in_range(commit.sha, changeset.commits)
            driven = [
                c for c in changeset.commits
                if c.sha in covers
                and (p := provenance.get(c.sha)) is not None
                and p.actor_kind in ("agent", "bot")
            ]
            if principal.lower() in contributor_addresses(driven, signatures):
                reject(f"{principal} authored, committed or co-authored an agent commit it "
                       "would approve")
                continue
            approvals.append(Approval(principal, "signed-commit", commit.sha, covers))
    return Decision(tuple(approvals), tuple(rejections))
