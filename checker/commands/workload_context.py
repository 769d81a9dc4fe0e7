"""The unchanged Kubernetes manifests that say which account a changed workload acts as and what
that account may do, read from git so `checker.checks.workloads` can judge the workload:

- the `kubernetes.io/service-account-token` Secrets of the repository, when a changed manifest
  references a Secret (`secretKeyRef`, `secretName`, `secretRef`, a `projected` source): a
  pod that uses one holds that account's token (`checker.checks.workload_switch.token_accounts`);
- the files that hold a `RoleBinding`/`ClusterRoleBinding` and name one of the accounts the
  changed manifests (at head or base) run as (`serviceAccountName`) or the token Secrets name
  (`kubernetes.io/service-account.name`), so the account's access is read
  (`checker.checks.account_access`) rather than unknown;
- the files that hold a `PersistentVolume` (or its claim) and name a claim a changed manifest
  mounts (`claimName`), and those that name the volumes those claims bind (`volumeName`), so a
  pod that claims a volume of the node's credentials is judged as mounting them
  (`checker.checks.host_credentials.claimed`).

Read for `check` and `hook`, like `ci_companions`: parsed on both sides with the same content
(unchanged files), never judged (no line of theirs changed) and their problems are not this
change's. Cost: nothing unless a changed YAML/JSON file names a Secret or an account; then at
most three `git grep -l -F` and the files they list. A rendered workload (chart, overlay) is
judged within its render and reads none of these.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from checker import git
from checker.git.repo import Repo
from checker.lazy_patterns import lazy_compile
from checker.model import SourceFile

_SUFFIXES = (".yaml", ".yml", ".json")
_TOKEN_TYPE = "kubernetes.io/service-account-token"
#: The words of a pod spec's Secret uses (`parsers/kubernetes/workloads.secret_refs`).
_SECRET_USES = (b"secretKeyRef", b"secretName", b"secretRef", b"projected")
_NAME = rb"""["']?\s*:\s*["']?([a-z0-9][a-z0-9.-]*)"""
#: A pod spec's account (`serviceAccountName: web`, JSON `"serviceAccountName": "web"`).
_ACCOUNT = lazy_compile(rb"\bserviceAccount(?:Name)?" + _NAME)
#: A token Secret's account annotation.
_TOKEN_ACCOUNT = lazy_compile(rb"kubernetes\.io/service-account\.name" + _NAME)
#: A pod's claim volume, and a claim's volume.
_CLAIM, _VOLUME_NAME = lazy_compile(rb"\bclaimName" + _NAME), lazy_compile(rb"\bvolumeName" + _NAME)
_VOLUMES = "PersistentVolume"


def _accounts(raw: bytes) -> set[str]:
    """The account names `raw` names as a pod's account or a token Secret's."""
    return {m.group(1).decode("ascii") for pattern in (_ACCOUNT, _TOKEN_ACCOUNT)
            for m in pattern.finditer(raw)}


def workload_context(repo: Repo, rev: str | None, changed: Sequence[SourceFile],
                     changed_paths: Collection[str], max_bytes: int) -> list[SourceFile]:
    """At commit `rev` (None: the index), the unchanged manifests (module doc) that the
    `changed` sources (both sides' changed files) call for, except `changed_paths`; [] when
    no changed YAML/JSON file names a Secret or an account."""
    kube = [s for s in changed if s.path.endswith(_SUFFIXES)]
    names = {n for s in kube for n in _accounts(s.raw)}
    read = _claimed_volumes(repo, rev, kube, changed_paths, max_bytes)
    if not names and not any(w in s.raw for s in kube for w in _SECRET_USES):
        return [SourceFile(p, raw, rev) for p, raw in sorted(read.items())]
    if any(w in s.raw for s in kube for w in _SECRET_USES):
        tokens = [p for p in git.grep_files(repo, rev, [_TOKEN_TYPE], _SUFFIXES)
                  if p not in changed_paths]
        read.update(_read(repo, rev, tokens, max_bytes))
        names.update(n for raw in read.values() for n in _accounts(raw))
    if names:
        bindings = set(git.grep_files(repo, rev, ["RoleBinding"], _SUFFIXES)).intersection(
            git.grep_files(repo, rev, sorted(names), _SUFFIXES))
        read.update(_read(repo, rev, sorted(bindings - set(changed_paths) - set(read)),
                          max_bytes))
    return [SourceFile(p, raw, rev) for p, raw in sorted(read.items())]


def _claimed_volumes(repo: Repo, rev: str | None, kube: Sequence[SourceFile],
                     changed_paths: Collection[str], max_bytes: int) -> dict[str, bytes]:
    """The unchanged files naming `PersistentVolume` and a claim the `kube` files mount (module
    doc), then those naming the volumes the claims found name; {} when none mounts a claim."""
    claims = {m.group(1).decode("ascii") for s in kube for m in _CLAIM.finditer(s.raw)}
    if not claims:
        return {}
    volumes = set(git.grep_files(repo, rev, [_VOLUMES], _SUFFIXES)) - set(changed_paths)
    read = _read(repo, rev, sorted(volumes.intersection(
        git.grep_files(repo, rev, sorted(claims), _SUFFIXES))), max_bytes)
    bound = {m.group(1).decode("ascii") for raw in [*read.values(), *(s.raw for s in kube)]
             for m in _VOLUME_NAME.finditer(raw)} - claims
    if bound:
        more = volumes.intersection(git.grep_files(repo, rev, sorted(bound), _SUFFIXES))
        read.update(_read(repo, rev, sorted(more - set(read)), max_bytes))
    return read


def _read(repo: Repo, rev: str | None, paths: Sequence[str], max_bytes: int
          ) -> dict[str, bytes]:  # fmt: skip
    """The contents of the regular files among `paths` at `rev` (None: the index) that are
    within `max_bytes`."""
    if not paths:
        return {}
    found = (git.read_index_entries(repo, paths, max_bytes=max_bytes) if rev is None
             else git.read_entries(repo, rev, paths, max_bytes=max_bytes))
    return {p: e.data for p, e in found.items() if e.data is not None}
