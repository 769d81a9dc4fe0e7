"""The gate-integrity facts of a change, read from git: which changed files are policy, gate
or agent-steering files (`gate_files`, `commands.gate_job`), the facts of each at both
revisions (`steering_sides`), the range commits a replace ref replaces (`replaced_in_range`),
and all of it for the staged change (`staged_trust`, for `hook`). `commands.trust` adds what
only `check` reads (CODEOWNERS and allowed signers at base, signatures).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from checker import git as cg
from checker.approval.reviews import trust_files
from checker.change import ChangeSet
from checker.commands.gate_job import gate_job_files, gitlab_gate_files, read_at
from checker.commands.protection_files import protection_sides
from checker.git.refs import replaced_objects
from checker.git.repo import Repo
from checker.lazy_patterns import lazy_compile
from checker.parsers.status_checks import status_check_facts
from checker.parsers.steering import steering_facts, steering_kind
from checker.policy.codeowners import CodeOwners
from checker.policy.config import DEFAULT_BASELINE, Config


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
    #: agent-steering file -> its facts at (base, head) (`parsers.steering.steering_facts`);
    #: a `status-check` workflow -> its jobs that may report nhi-gate's check at (base, head)
    #: (`parsers.status_checks.status_check_facts`).
    steering: Mapping[str, tuple[frozenset[str] | None, frozenset[str] | None]] = field(
        default_factory=dict)
    #: a file the job that runs nhi-gate executes before its check -> how it runs it
    #: (`commands.gate_job`); its kind is `gate-job`.
    gate_runs: Mapping[str, str] = field(default_factory=dict)
    #: range commit -> the object a replace ref puts in its place (`git.refs.replaced_objects`).
    replaced: Mapping[str, str] = field(default_factory=dict)


_WORKFLOW = lazy_compile(r"^\.github/workflows/[^/]+\.ya?ml$")


def gate_files(repo: Repo, changeset: ChangeSet, known: Mapping[str, str]
                ) -> dict[str, str]:
    """Files in the change that steer the gate itself, beyond `trust_files`: the default
    baseline file (even when the base config names none: a baseline added now would waive
    findings later), any `.gitattributes` (can change how git shows the diff), and workflow
    files that run nhi-gate (on `pull_request`, GitHub runs the PR's own copy, so an agent could
    add `continue-on-error` or `fail-on: never`), workflow files that add or change a job whose
    status check may be nhi-gate's without naming it (`status-check`: a `name:` expression;
    `parsers.status_checks`), agent-steering files
    (`parsers.steering.steering_kind`), a `package.json` naming `core.hooksPath` at base or
    head (it picks the git hooks that run) and GitLab CI files whose change reaches the job
    that runs nhi-gate (`gitlab-gate`: `commands.gate_job.gitlab_gate_files`). The head is the
    index when `changeset.head` is None (`hook`). path -> kind."""
    assert changeset.base is not None
    out: dict[str, str] = {}
    if DEFAULT_BASELINE not in known:
        out[DEFAULT_BASELINE] = "baseline"
    paths = sorted({f.path for f in changeset.files}
                   | {f.old_path for f in changeset.files if f.old_path})
    for path in paths:
        if path.rsplit("/", 1)[-1] == ".gitattributes":
            out.setdefault(path, "attributes")
        elif path not in known and steering_kind(path) is not None:
            out[path] = "steering"  # the files that steer agents and their attribution
    hook_installers = [p for p in paths if p.rsplit("/", 1)[-1] == "package.json"
                       and p not in known and p not in out]
    if hook_installers:  # `"prepare": "git config core.hooksPath .githooks"`
        at_head = read_at(repo, changeset.head, hook_installers)
        at_base = cg.read_blobs(repo, changeset.base, hook_installers)
        for path in hook_installers:
            if any(b is not None and b"hookspath" in b.lower()
                   for b in (at_head.get(path), at_base.get(path))):
                out[path] = "steering"
    workflows = [p for p in paths if _WORKFLOW.match(p) and p not in known]
    if workflows:
        at_head = read_at(repo, changeset.head, workflows)
        at_base = cg.read_blobs(repo, changeset.base, workflows)
        for path in workflows:
            if any(b is not None and b"nhi-gate" in b
                   for b in (at_head.get(path), at_base.get(path))):
                out[path] = "gate-workflow"
            elif (status_check_facts(path, at_head.get(path)) or frozenset()) - (
                    status_check_facts(path, at_base.get(path)) or frozenset()):
                out[path] = "status-check"
    gitlab = gitlab_gate_files(repo, changeset.base, changeset.head,
                               [p for p in paths if p not in known and p not in out])
    out.update(gitlab)
    return out


def changed_paths(changeset: ChangeSet) -> list[str]:
    """Every path the change touches, renamed-from paths included, sorted."""
    return sorted({f.path for f in changeset.files}
                  | {f.old_path for f in changeset.files if f.old_path})


def replaced_in_range(repo: Repo, changeset: ChangeSet) -> dict[str, str]:
    """The range's commits that a replace ref replaces -> their replacement. nhi-gate reads
    the real objects (`checker.git.repo`); replace refs elsewhere in the repository are named
    in a note on stderr."""
    replaced = replaced_objects(repo)
    if not replaced:
        return {}
    mine = {c.sha: replaced[c.sha] for c in changeset.commits if c.sha in replaced}
    others = len(replaced) - len(mine)
    if others:
        print(f"nhi-gate: note: {others} replace ref(s) under refs/replace/ are ignored; "
              "nhi-gate reads the original objects (GIT_NO_REPLACE_OBJECTS=1)", file=sys.stderr)
    return mine


def staged_trust(repo: Repo, changeset: ChangeSet, config: Config) -> TrustInputs:
    """What `hook` judges of the gate's integrity in the staged change, as `read_trust` for a
    range: the policy files (`approval.reviews.trust_files`, from the HEAD config), the gate
    files (`gate_files`, `commands.gate_job`), the Terraform files that manage GitHub merge
    protection (`commands.protection_files`) and the agent-steering, status-check and
    merge-protection facts at HEAD and in the index. Each such staged path is touched by the
    one staged change (`touches`: path -> ())."""
    kinds = trust_files(config)
    if changeset.base is None:  # an unborn branch: nothing to compare with
        return TrustInputs(None, None, "", {})
    kinds.update(gate_files(repo, changeset, kinds))
    changed = changed_paths(changeset)
    runs, by_action = gate_job_files(repo, changeset.base, None, changed)
    kinds.update({p: "gate-workflow" for p in by_action
                  if kinds.get(p) in (None, "status-check")})
    kinds.update({p: "gate-job" for p in runs if p not in kinds})
    protection = protection_sides(repo, changeset.base, None, changed, kinds)
    kinds.update({p: "merge-protection" for p in protection})
    staged = {p: k for p, k in kinds.items() if p in set(changed)}
    sides = steering_sides(repo, changeset.base, None,
                           [p for p, k in staged.items() if k == "steering"])
    sides.update(steering_sides(repo, changeset.base, None,
                                [p for p, k in staged.items() if k == "status-check"],
                                status_check_facts))
    sides.update(protection)
    return TrustInputs(None, None, "", staged, {p: () for p in staged}, {}, sides, runs)


Facts = Callable[[str, bytes | None], frozenset[str] | None]


def steering_sides(repo: Repo, base: str, head: str | None, paths: list[str],
                   read: Facts = steering_facts
                   ) -> dict[str, tuple[frozenset[str] | None, frozenset[str] | None]]:
    """Each file of `paths` read at `base` and `head` as its facts: by default an agent-
    steering file's attribution and gate facts (`parsers.steering.steering_facts`; a file
    absent on one side has none). `head` None: the index."""
    if not paths:
        return {}
    at_base = cg.read_blobs(repo, base, paths)
    at_head = read_at(repo, head, paths)
    return {p: (read(p, at_base.get(p)), read(p, at_head.get(p))) for p in paths}
