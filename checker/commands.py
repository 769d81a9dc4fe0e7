"""One function per subcommand: read inputs, run the pure analysis, write outputs, return a code.

Each takes the parsed `argparse.Namespace` and returns the exit code; only `cli` prints errors.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import re
import sys
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from checker import __version__
from checker.analysis import (
    Parsed,
    parse_sources,
    run_rules,
    start_parse,
    warm_parsers,
)
from checker.change import ChangeSet, Provenance
from checker.errors import ConfigError, NhiGateError
from checker.model import IdentityObject, ParseProblem, SourceFile, Verdict
from checker.policy.catalogue import load_catalogue
from checker.policy.config import (
    CONFIG_NAME,
    DEFAULT_BASELINE,
    Config,
    load_config_file,
    parse_config,
)
from checker.reporters import RunInfo
from checker.sources.discovery import classify, walk

if TYPE_CHECKING:
    from git import Repo

    from checker.approval.apply import Approvals
    from checker.approval.reviews import Decision
    from checker.approval.signed_commits import TrustInputs
    from checker.checks.api import ChangeFacts
    from checker.git import BlobEntry
    from checker.sources.budget import ParseWorker


@contextlib.contextmanager
def _optional(worker: ParseWorker | None) -> Iterator[ParseWorker | None]:
    """`with` for a worker that may be None; closes it on the way out."""
    try:
        yield worker
    finally:
        if worker is not None:
            worker.close()


def _write(text: str, output: str | None) -> None:
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise NhiGateError(f"{output}: cannot write report: {exc}") from exc
    else:
        try:
            sys.stdout.write(text if text.endswith("\n") else text + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise NhiGateError(f"cannot write the report to standard output: {exc.strerror}") \
                from exc


def _while_parsing(args: argparse.Namespace) -> None:
    """Load what the rules, approvals and report need and the parse does not decide (the
    engine and gate, rule docs, the admin-grant table, their modules), while a `ParseWorker`
    parses: this process would otherwise only wait. Everything loaded here is cached for the
    process."""
    import importlib

    from checker.policy.privileges import load_admin_table
    from checker.policy.rule_docs import load_rule_docs

    load_rule_docs()
    load_admin_table()
    reporters = {"json": "json_report", "sarif": "sarif", "github": "github"}
    wanted = {f"checker.reporters.{reporters.get(args.format, 'text')}"}
    if getattr(args, "sarif", None):
        wanted.add("checker.reporters.sarif")
    for module in ("checker.checks.engine", "checker.gate", "checker.policy.baseline",
                   "checker.approval.apply",
                   *sorted(wanted)):  # fmt: skip
        importlib.import_module(module)


def _report(verdict: Verdict, run: RunInfo, args: argparse.Namespace) -> int:
    """Render in the chosen format (+ SARIF file), and turn the verdict into the exit code."""
    from checker.policy.rule_docs import load_rule_docs

    docs = load_rule_docs()
    fmt = args.format
    # Reporters are imported only when used: SARIF pulls in sarif-om/attrs (~30 ms).
    if fmt == "json":
        from checker.reporters import json_report

        out = json_report.render(verdict, run)
    elif fmt == "sarif":
        from checker.reporters import sarif

        out = sarif.render(verdict, docs, run)
    elif fmt == "github":
        from checker.reporters import github

        out = github.render_annotations(verdict)
        summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary_path:
            with open(summary_path, "a", encoding="utf-8") as fh:
                fh.write(github.render_summary(verdict, docs, run))
    else:
        from checker.reporters import text

        color = args.output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        out = text.render(verdict, docs, run, color=color)
    _write(out, args.output)
    if args.sarif:
        from checker.reporters import sarif

        _write(sarif.render(verdict, docs, run), args.sarif)
    return 0 if verdict.passed else 1


def _config_from_disk(args: argparse.Namespace, root: Path) -> Config:
    if getattr(args, "config", None):
        path = Path(args.config)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        return load_config_file(path)
    default = root / CONFIG_NAME
    return load_config_file(default) if default.is_file() else Config()


def _repo_relative(name: str, root: Path) -> str:
    """A FILE argument (relative to the current directory, as pre-commit passes it from the
    repository root, or as a person types it in a subdirectory) as a repository path."""
    full = Path(name).resolve() if not Path(name).is_absolute() else Path(name)
    try:
        return full.relative_to(root).as_posix()
    except ValueError as exc:
        raise NhiGateError(f"{name}: not inside the repository {root}") from exc


def _config_at(
    repo: Repo,
    rev: str | None,
    args: argparse.Namespace,
    prefetched: Mapping[str, bytes | None] | None = None,
) -> Config:
    """The policy that judges a change: `.nhi-gate.yaml` (or `--config`) as committed at `rev`.

    A `--config` path inside the repository is read from `rev` too, so naming the default file
    does not switch to the working tree's (possibly agent-edited) copy; a path outside the
    repository is read from disk. No config at `rev` (or no `rev`: an unborn branch) gives the
    defaults. `prefetched`: blobs already read at `rev` (path → bytes or None when missing).
    Raises `ConfigError` for an invalid or missing `--config`.
    """
    from checker import git

    root = Path(repo.working_tree_dir or ".").resolve()
    rel = CONFIG_NAME
    if getattr(args, "config", None):
        given = Path(args.config).resolve()
        try:
            rel = given.relative_to(root).as_posix()
        except ValueError:
            return _config_from_disk(args, root)
        if rev is None:
            return _config_from_disk(args, root)
    if rev is None:
        return Config()
    blob = (prefetched[rel] if prefetched is not None and rel in prefetched
            else git.read_blobs(repo, rev, [rel]).get(rel))  # fmt: skip
    if blob is None:
        if getattr(args, "config", None):
            raise ConfigError(f"{args.config}: not committed at {rev[:12]}; the policy that "
                              "judges a change is read from its base revision")
        return Config()
    return parse_config(blob.decode("utf-8", "replace"), f"{rev[:12]}:{rel}")


def _github_event() -> Mapping[str, object]:
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise NhiGateError(f"GITHUB_EVENT_PATH {path}: cannot read event: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _event_range() -> tuple[str | None, str | None]:
    event = _github_event()
    pr = event.get("pull_request")
    if not isinstance(pr, dict):
        return None, None
    shas: list[str | None] = []
    for side in ("base", "head"):
        ref = pr.get(side)
        sha = ref.get("sha") if isinstance(ref, dict) else None
        if sha is not None and not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{7,64}", sha)):
            raise NhiGateError(
                f"GITHUB_EVENT_PATH: pull_request.{side}.sha is not a commit sha"
            )
        shas.append(sha)
    return shas[0], shas[1]


def _provenance(changeset: ChangeSet, config: Config, assume_agent: bool) -> dict[str, Provenance]:
    from checker.provenance.agents import load_agent_signatures
    from checker.provenance.classify import classify_commit

    signatures = load_agent_signatures(config.agent_emails, config.agent_branches)
    out: dict[str, Provenance] = {}
    for commit in changeset.commits:
        prov = classify_commit(commit, signatures, changeset.branch)
        if assume_agent and prov.actor_kind != "agent":
            prov = Provenance(prov.commit, "agent", prov.agent or "--assume-agent", prov.evidence)
        out[commit.sha] = prov
    return out


def _with_ai_notes(repo: Repo, changeset: ChangeSet) -> ChangeSet:
    """`changeset` with the lines git-ai notes (`refs/notes/ai`) attribute to an AI agent
    (`ChangedFile.ai_lines`, see `provenance.ai_notes`). A malformed note, or a notes ref git
    cannot read, is reported on stderr and ignored: notes only ever add evidence."""
    from checker import git
    from checker.errors import GitError
    from checker.provenance import ai_notes

    if changeset.head is None:
        return changeset
    try:
        notes = git.read_ai_notes(repo, [c.sha for c in changeset.commits])
        logs, problems = ai_notes.parse_notes(notes)
        for problem in problems:
            print(f"nhi-gate: {problem}", file=sys.stderr)
        shas, paths = ai_notes.diff_request(logs, changeset)
        deltas = git.diffs_to_head(repo, changeset.head, shas, paths)
    except GitError as exc:
        print(f"nhi-gate: {ai_notes.NOTES_REF} ignored: {exc}", file=sys.stderr)
        return changeset
    return ai_notes.annotate(changeset, logs, deltas)


def _sources(blobs: Mapping[str, bytes | None], revision: str | None) -> list[SourceFile]:
    return [SourceFile(p, b, revision) for p, b in sorted(blobs.items()) if b is not None]


def _entry_sources(
    entries: Mapping[str, BlobEntry], revision: str | None, config: Config
) -> tuple[list[SourceFile], list[ParseProblem]]:
    """Regular files as `SourceFile`s; IaC-named paths that cannot be read as NHI9xx problems.

    Fail-closed (DESIGN.md "Bad input"): a symlink (never followed: its target may be outside
    the repository) or a submodule at a path nhi-gate would parse is NHI902, a blob over
    `config.max_file_bytes` is NHI903 (its content is never read). Excluded paths are skipped.
    """
    from checker.sources.discovery import classify, excluded

    sources: list[SourceFile] = []
    problems: list[ParseProblem] = []
    for path, entry in sorted(entries.items()):
        if entry.data is not None:
            sources.append(SourceFile(path, entry.data, revision))
            continue
        iac = classify(path, None) is not None or path.lower().endswith(".json")
        if not iac or excluded(path, config.exclude):
            continue
        if entry.too_large:
            problems.append(ParseProblem(
                path, "NHI903",
                f"{path}: {entry.size} bytes is over the {config.max_file_bytes}-byte budget; "
                "not analysed",
            ))
        elif entry.is_symlink:
            problems.append(ParseProblem(
                path, "NHI902",
                f"{path}: symbolic link (git mode 120000); links are not followed, so the "
                "file it points to was not analysed",
            ))
        elif entry.mode == "160000":
            problems.append(ParseProblem(
                path, "NHI902",
                f"{path}: git submodule (mode 160000); its content is not analysed",
            ))
    return sources, problems


def _with_problems(parsed: Parsed, extra: Sequence[ParseProblem]) -> Parsed:
    return Parsed(parsed.objects, parsed.problems + tuple(extra)) if extra else parsed


def _module_siblings(
    repo: Repo, rev: str | None, changeset: ChangeSet, config: Config, *, base: bool
) -> list[SourceFile]:
    """The Terraform module files (`.tf`, `.tofu`, auto-loaded `.tfvars`) at commit `rev`
    (None: the index) of every directory in which the change touches one, except those the
    caller already reads for that side: the changed files at head (`base=False`); at base
    (`base=True`), the base versions of changed files that still exist (so a deleted
    `.tfvars` is kept: its values are part of the base module).

    `role = local.ci_role` in an unchanged `main.tf` changes when `locals.tf` does, so the
    module's other files are read too (`checker.sources.modules`). One git listing, and only when a
    changed path is a module file. Unreadable files (symlinks, over the size budget) are
    left out: their values stay unresolved.
    """
    from checker import git
    from checker.sources.modules import is_module_file, module_directories

    changed = {p for f in changeset.files for p in (f.path, f.old_path) if p}
    directories = module_directories(changed)
    if not directories:
        return []
    skip = (
        {f.old_path or f.path for f in changeset.files if f.status not in ("A", "D")}
        if base else changed
    )  # fmt: skip
    entries = git.read_directory_entries(
        repo, rev, directories, (".tf", ".tofu", ".tfvars"), max_bytes=config.max_file_bytes,
        exclude=skip,
    )
    return [
        SourceFile(path, entry.data, rev)
        for path, entry in sorted(entries.items())
        if entry.data is not None and path not in skip and is_module_file(path)
    ]


def _to_parse(siblings: Sequence[SourceFile], changeset: ChangeSet) -> list[SourceFile]:
    """The unchanged siblings whose identities may read module values: only they can be
    touched by a change of those values; the rest are read for their values only."""
    from checker.sources.modules import uses_module_values

    changed = {p for f in changeset.files for p in (f.path, f.old_path) if p}
    return [s for s in siblings if s.path not in changed and uses_module_values(s.raw)]


def _without_paths(parsed: Parsed, paths: Collection[str]) -> Parsed:
    """`parsed` without the problems of `paths`: an unchanged sibling parsed for its module
    values is not under review, so its NHI9xx problems are not this change's findings."""
    if not paths:
        return parsed
    return Parsed(parsed.objects, tuple(p for p in parsed.problems if p.path not in paths))


def _baseline(baseline: tuple[str, str] | None) -> Approvals:
    """The baseline as an approval source: `baseline` is (file text, source label) or None.
    Raises `ConfigError` for a bad baseline."""
    from checker.approval.apply import Approvals
    from checker.policy.baseline import loads

    return Approvals(baseline=loads(*baseline) if baseline is not None else None)


def _baseline_name(config: Config) -> str:
    return config.baseline or DEFAULT_BASELINE


def _missing_baseline(config: Config, where: str) -> None:
    """A baseline the config names must exist; the default file is optional."""
    if config.baseline:
        raise ConfigError(
            f"{config.source}: baseline: {config.baseline} not found {where} "
            "(create it with `nhi-gate baseline create`)"
        )


def _baseline_from_disk(root: Path, config: Config) -> tuple[str, str] | None:
    path = root / _baseline_name(config)
    if not path.is_file():
        _missing_baseline(config, f"in {root}")
        return None
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read baseline: {exc}") from exc


def _baseline_at(
    repo: Repo,
    rev: str | None,
    config: Config,
    prefetched: Mapping[str, bytes | None] | None = None,
) -> tuple[str, str] | None:
    """The baseline file as committed at `rev` (policy comes from the base, never the change);
    `prefetched` as for `_config_at`."""
    from checker import git

    if rev is None:
        _missing_baseline(config, "(no commits yet)")
        return None
    name = _baseline_name(config)
    blob = (prefetched[name] if prefetched is not None and name in prefetched
            else git.read_blobs(repo, rev, [name]).get(name))  # fmt: skip
    if blob is None:
        _missing_baseline(config, f"at {rev[:12]}")
        return None
    return blob.decode("utf-8", "replace"), f"{rev[:12]}:{name}"


def _pre_push_range(repo: Repo) -> tuple[str | None, str | None]:
    """`--pre-push`: pre-commit's PRE_COMMIT_FROM_REF/PRE_COMMIT_TO_REF, else the whole branch.

    Without the variables (pre-commit omits them when a push reaches the root commit), the base
    is the merge-base with the default branch; when there is none (the first push of a new
    repository, or pushing the default branch itself) it is the root commit, whose own lines
    are then the only ones not judged.
    """
    from checker import git
    from checker.errors import GitError

    from_ref = os.environ.get("PRE_COMMIT_FROM_REF") or None
    # The pushed branch, not whatever is checked out: pre-commit names it even when it omits
    # the refs (`git push origin feature` while on `main`).
    to_ref = (os.environ.get("PRE_COMMIT_TO_REF")
              or os.environ.get("PRE_COMMIT_LOCAL_BRANCH") or None)
    if from_ref and to_ref:
        return from_ref, to_ref
    try:
        git.resolve_range(repo, None, to_ref)
        return None, to_ref
    except GitError:
        from git.exc import GitCommandError

        try:
            roots = str(repo.git.rev_list("--max-parents=0", to_ref or "HEAD")).split()
        except GitCommandError:
            return None, to_ref  # resolve_range below reports the unknown revision
        return (roots[-1] if roots else None), to_ref


def _offline_approval(
    repo: Repo, changeset: ChangeSet, provenance: Mapping[str, Provenance], config: Config
) -> tuple[TrustInputs, Decision]:
    """Policy files read from base, and the signed `Approved-by:` commits of the range."""
    from checker.approval.signed_commits import offline_approvals, read_trust
    from checker.provenance.agents import load_agent_signatures

    trust = read_trust(repo, changeset, config)
    signatures = load_agent_signatures(config.agent_emails, config.agent_branches)
    return trust, offline_approvals(repo, changeset, provenance, signatures, trust)


def _pr_target(args: argparse.Namespace, head: str | None) -> tuple[str, int] | None:
    """(OWNER/NAME, PR number) to read reviews from: `--pr`, else the `pull_request` event
    whose head is the checked head. Raises `NhiGateError` when the repository is unknown."""
    number: int | None = getattr(args, "pr", None)
    event = _github_event()
    if number is None:
        pr = event.get("pull_request")
        if not isinstance(pr, dict) or not isinstance(pr.get("number"), int):
            return None
        pr_head = pr.get("head")
        if not isinstance(pr_head, dict) or pr_head.get("sha") != head:
            return None
        number = int(pr["number"])
    repository = event.get("repository")
    event_repo = repository.get("full_name") if isinstance(repository, dict) else None
    name = (
        getattr(args, "github_repo", None)
        or os.environ.get("GITHUB_REPOSITORY")
        or (event_repo if isinstance(event_repo, str) else None)
    )
    if not name:
        raise NhiGateError("usage: --pr needs --github-repo OWNER/NAME (or GITHUB_REPOSITORY)")
    return name, number


def _approvals_and_facts(
    args: argparse.Namespace,
    changeset: ChangeSet,
    provenance: Mapping[str, Provenance],
    config: Config,
    trust: TrustInputs,
    offline: Decision,
    baseline: tuple[str, str] | None,
) -> tuple[Approvals, ChangeFacts]:
    """The approvals that count (signed commits, PR reviews, the baseline) and what the change
    checks read (policy files touched, whether a human opened the PR, which commits are signed).

    Reviews are read with PyGithub (imported only here, only for a PR) from `--github-api-url`,
    else `GITHUB_API_URL`, else api.github.com, with `GITHUB_TOKEN`. Approvals that do not
    count are listed on stderr with the reason. Raises `GitHubError` (exit 2) when the API
    cannot be read: no verdict without the reviews.
    """
    from checker.approval.reviews import review_approvals
    from checker.checks.api import ChangeFacts
    from checker.provenance.agents import load_agent_signatures
    from checker.provenance.classify import classify_login

    signatures = load_agent_signatures(config.agent_emails, config.agent_branches)
    decisions = [offline]
    pr_author_human = False
    signed = dict(trust.signed)
    target = _pr_target(args, changeset.head)
    if target is not None:
        from checker.approval.github_api import DEFAULT_API_URL, GitHubClient

        url = (
            getattr(args, "github_api_url", None)
            or os.environ.get("GITHUB_API_URL")
            or DEFAULT_API_URL
        )
        client = GitHubClient(url, os.environ.get("GITHUB_TOKEN") or None, target[0])
        pr = client.pull_request(target[1])
        decisions.append(
            review_approvals(pr, changeset, signatures, config, trust.codeowners, client)
        )
        pr_author_human = (
            pr.author_type == "User"
            and classify_login(pr.author_login, signatures).actor_kind == "human"
        )
        # Either verdict counts: the base allowed signers (offline) or GitHub's verification.
        for sha, verified in (pr.verified or {}).items():
            signed[sha] = signed.get(sha, False) or verified
    for decision in decisions:
        for rejection in decision.rejections:
            print(f"nhi-gate: approval by {rejection.who} not counted: {rejection.reason}",
                  file=sys.stderr)
    facts = ChangeFacts(
        config, changeset, provenance, signatures=signatures, trust_touches=trust.touches,
        trust_kinds=trust.kinds, pr_author_human=pr_author_human, signed=signed,
    )
    granted = tuple(a for d in decisions for a in d.approvals)
    return replace(_baseline(baseline), granted=granted), facts


def check(args: argparse.Namespace) -> int:
    """`nhi-gate check`: gate the identities that `base..head` adds or changes."""
    from checker.sources.budget import ParseWorker

    load_catalogue()  # before the fork: cached for both processes
    # The parsers load on the second core while this process imports GitPython and asks git.
    with _optional(ParseWorker.start(warm_parsers)) as worker:
        return _check(args, worker)


def _check(args: argparse.Namespace, worker: ParseWorker | None) -> int:
    from checker import git

    ev_base, ev_head = _event_range()
    with git.open_repo(Path(args.repo)) as repo:
        if getattr(args, "pre_push", False) and not (args.base or args.head):
            ev_base, ev_head = _pre_push_range(repo)
        base, head = git.resolve_range(repo, args.base or ev_base, args.head or ev_head)
        branch = os.environ.get("GITHUB_HEAD_REF") or (
            git.current_branch(repo) if not (args.head or ev_head) else None
        )
        changeset = _with_ai_notes(repo, git.build_changeset(repo, base, head, branch=branch))
        config = _config_at(repo, base, args)
        live = [f for f in changeset.files if f.status != "D"]
        head_entries = git.read_entries(
            repo, head, [f.path for f in live], max_bytes=config.max_file_bytes
        )
        base_paths = {f.old_path or f.path: f.path for f in live if f.status != "A"}
        base_raw = git.read_blobs(repo, base, list(base_paths))
        base_blobs = {base_paths[p]: b for p, b in base_raw.items()}
        head_sources, unreadable = _entry_sources(head_entries, head, config)
        # The other files of each changed Terraform module, for their values.
        siblings = _module_siblings(repo, head, changeset, config, base=False)
        base_siblings = _module_siblings(repo, base, changeset, config, base=True)
        # The worker parses both sides while this process reads the rest (and asks GitHub).
        parsed = start_parse(
            [head_sources + _to_parse(siblings, changeset),
             _sources(base_blobs, base) + _to_parse(base_siblings, changeset)],
            load_catalogue(), config, worker, contexts=[siblings, base_siblings],
        )
        baseline = _baseline_at(repo, base, config)
        provenance = _provenance(changeset, config, args.assume_agent)
        trust, offline = _offline_approval(repo, changeset, provenance, config)
    approvals, facts = _approvals_and_facts(
        args, changeset, provenance, config, trust, offline, baseline)
    _while_parsing(args)
    head_side, base_parsed = parsed()
    head_parsed = _with_problems(
        _without_paths(head_side, {s.path for s in siblings}), unreadable
    )
    verdict, _ = run_rules(
        head_parsed,
        base_parsed,
        mode="check",
        config=config,
        changeset=changeset,
        provenance=provenance,
        fail_on=args.fail_on,
        all_authors=args.all_authors,
        facts=facts,
        sources=head_sources,
        siblings=siblings,
        approvals=approvals,
    )
    run = RunInfo(__version__, "check", base, head, args.fail_on or config.fail_on)
    return _report(verdict, run, args)


def _scan_sources(paths: Sequence[str]) -> tuple[list[SourceFile], list[ParseProblem]]:
    """The files under `paths` (see `discovery.walk`) and an NHI902 problem for each symbolic
    link that names a file nhi-gate reads: links are not followed, and never silently."""
    roots = [Path(p) for p in paths]
    for root in roots:
        if not root.exists() and not root.is_symlink():
            raise NhiGateError(f"{root}: no such file or directory")
    single_dir = len(roots) == 1 and roots[0].is_dir()
    anchor = roots[0]
    if single_dir:
        # Scanning `.github` (or below it) keeps the `.github/workflows/` prefix that tells a
        # workflow from other YAML: paths are then relative to the folder holding `.github`.
        parts = roots[0].resolve().parts
        if ".github" in parts:
            anchor = Path(*parts[: parts.index(".github")])
    sources: list[SourceFile] = []
    problems: list[ParseProblem] = []
    for full, display in walk(roots):
        if not single_dir or full == roots[0]:
            rel = display
        elif anchor is roots[0]:
            rel = full.relative_to(anchor).as_posix()
        else:
            rel = (full.parent.resolve() / full.name).relative_to(anchor).as_posix()
        if full.is_symlink():
            if classify(rel, None) is not None:
                problems.append(ParseProblem(
                    rel, "NHI902",
                    f"{rel}: symbolic link; links are not followed, so the file it points to "
                    "was not analysed (scan the target itself)",
                ))  # fmt: skip
            continue
        try:
            raw = full.read_bytes()
        except OSError as exc:
            raise NhiGateError(f"{full}: cannot read: {exc.strerror}") from exc
        sources.append(SourceFile(rel, raw, None))
    return sources, problems


#: Scans of more files than this show a progress line on stderr when it is a terminal.
PROGRESS_MIN_FILES = 300
_PROGRESS_CHUNK = 200


def _parse_with_progress(sources: Sequence[SourceFile], config: Config) -> Parsed:
    """`parse_sources`, in chunks with a `\r` progress line on stderr for big scans on a TTY."""
    catalogue = load_catalogue()
    if len(sources) <= PROGRESS_MIN_FILES or not sys.stderr.isatty():
        return parse_sources(sources, catalogue, config)
    objects: list[IdentityObject] = []
    problems: list[ParseProblem] = []
    total = len(sources)
    for start in range(0, total, _PROGRESS_CHUNK):
        chunk = parse_sources(sources[start : start + _PROGRESS_CHUNK], catalogue, config)
        objects.extend(chunk.objects)
        problems.extend(chunk.problems)
        done = min(total, start + _PROGRESS_CHUNK)
        sys.stderr.write(f"\rnhi-gate: parsed {done}/{total} files")
        sys.stderr.flush()
    sys.stderr.write("\n")
    return Parsed(tuple(objects), tuple(problems))


def _parse_tree(paths: Sequence[str], config: Config) -> Parsed:
    sources, links = _scan_sources(paths)
    return _with_problems(_parse_with_progress(sources, config), links)


def _scan_verdict(
    paths: Sequence[str], config: Config, fail_on: str | None, baseline: tuple[str, str] | None
) -> Verdict:
    sources, links = _scan_sources(paths)
    parsed = _with_problems(_parse_with_progress(sources, config), links)
    changeset = ChangeSet(None, None)
    verdict, _ = run_rules(
        parsed, Parsed((), ()), mode="scan", config=config, changeset=changeset,
        provenance={}, fail_on=fail_on, sources=sources, approvals=_baseline(baseline),
    )
    return verdict


def _scan_root(paths: Sequence[str]) -> Path:
    """Where `scan`/`inventory` look for `.nhi-gate.yaml`: the current directory when it has
    one, else the single directory being scanned, else the current directory."""
    if Path(CONFIG_NAME).is_file() or len(paths) != 1 or not Path(paths[0]).is_dir():
        return Path(".")
    return Path(paths[0])


def scan(args: argparse.Namespace) -> int:
    """`nhi-gate scan PATH...`: every identity in files on disk; every finding counts.

    The config (and baseline) come from the current directory, else (like Checkov's `-d`)
    from the one directory scanned; never from the first of several PATHs.
    """
    root = _scan_root(args.paths)
    config = _config_from_disk(args, root)
    verdict = _scan_verdict(args.paths, config, args.fail_on, _baseline_from_disk(root, config))
    return _report(verdict, RunInfo(__version__, "scan", None, None,
                                    args.fail_on or config.fail_on), args)


def hook(args: argparse.Namespace) -> int:
    """`nhi-gate hook [FILE...]`: pre-commit stage; judges the staged content.

    The actor is the identity that is committing (GIT_AUTHOR_* env, else git config). Only
    identity lines in the index that differ from HEAD are judged.
    """
    from checker.sources.budget import ParseWorker

    load_catalogue()  # before the fork: cached for both processes
    # The parsers load on the second core while this process imports GitPython and asks git.
    with _optional(ParseWorker.start(warm_parsers)) as worker:
        return _hook(args, worker)


def _hook(args: argparse.Namespace, worker: ParseWorker | None) -> int:
    from checker import git

    catalogue = load_catalogue()
    with git.open_repo(Path(".")) as repo:
        root = Path(repo.working_tree_dir or ".").resolve()
        files = [_repo_relative(f, root) for f in args.files]
        changeset = git.staged_changeset(repo, files or None)
        live = [f for f in changeset.files if f.status != "D"]
        base_paths = {f.old_path or f.path: f.path for f in live if f.status != "A"}
        # One tree lookup at HEAD for the policy files and the staged files' old contents.
        at_base: Mapping[str, bytes | None] = (
            git.read_blobs(repo, changeset.base, [CONFIG_NAME, DEFAULT_BASELINE, *base_paths])
            if changeset.base else {}
        )  # fmt: skip
        # Policy from the last commit, never from what is being staged (DESIGN.md "Approval
        # and trust"): a staged `.nhi-gate.yaml` cannot loosen the check of its own commit.
        config = _config_at(repo, changeset.base, args, at_base)
        head_entries = git.read_index_entries(
            repo, [f.path for f in live], max_bytes=config.max_file_bytes
        )
        base_blobs = {new: at_base.get(old) for old, new in base_paths.items()}
        head_sources, unreadable = _entry_sources(head_entries, None, config)
        # The other files of each changed Terraform module, staged and at HEAD.
        siblings = _module_siblings(repo, None, changeset, config, base=False)
        base_siblings = (
            _module_siblings(repo, changeset.base, changeset, config, base=True)
            if changeset.base else []
        )  # fmt: skip
        # The worker parses both sides while this process reads the rest.
        parsed = start_parse(
            [head_sources + _to_parse(siblings, changeset),
             _sources(base_blobs, changeset.base) + _to_parse(base_siblings, changeset)],
            catalogue, config, worker, contexts=[siblings, base_siblings],
        )
        name, email = git.git_identity(repo)
        baseline = _baseline_at(repo, changeset.base, config, at_base)
    from checker.provenance.agents import load_agent_signatures
    from checker.provenance.classify import classify_actor

    signatures = load_agent_signatures(config.agent_emails, config.agent_branches)
    actor = classify_actor(name, email, "", signatures, changeset.branch)
    _while_parsing(args)
    head_side, base_side = parsed()
    head_parsed = _with_problems(
        _without_paths(head_side, {s.path for s in siblings}), unreadable
    )
    verdict, _ = run_rules(
        head_parsed,
        base_side,
        mode="hook", config=config, changeset=changeset, provenance={}, committer=actor,
        fail_on=args.fail_on, sources=head_sources, siblings=siblings,
        approvals=_baseline(baseline),
    )
    run = RunInfo(__version__, "hook", changeset.base, None, args.fail_on or config.fail_on)
    return _report(verdict, run, args)


def baseline(args: argparse.Namespace) -> int:
    """`nhi-gate baseline create|check [--repo DIR]`: adopt nhi-gate without fixing history.

    `create` scans DIR (default `.`, paths relative to it, as `check` sees them from the
    repository root) and writes the fingerprint of every finding that may be baselined to
    `--baseline FILE`, else config `baseline:`, else `.nhi-gate-baseline.json` in DIR; exit 0.
    `check` scans DIR with that baseline applied: exit 1 when a finding outside it blocks,
    else 0; entries that no longer match anything are listed on stderr as fixed.
    """
    from checker.policy import baseline as bl

    root = Path(args.repo)
    if not root.is_dir():
        raise NhiGateError(f"{root}: no such directory")
    config = _config_from_disk(args, root)
    target = Path(args.baseline_file) if args.baseline_file else root / _baseline_name(config)
    if args.action == "create":
        verdict = _scan_verdict([str(root)], config, "never", None)
        made = bl.from_findings(verdict.findings, str(target))
        _write_file(target, bl.dumps(made))
        skipped = sum(1 for f in verdict.findings if not bl.eligible(f))
        note = f" ({skipped} NHI1xx/NHI9xx findings are never baselined)" if skipped else ""
        print(f"nhi-gate: wrote {len(made.entries)} fingerprints to {target}{note}",
              file=sys.stderr)
        return 0
    if not target.is_file():
        raise ConfigError(f"{target}: baseline not found (create it with "
                          "`nhi-gate baseline create`)")
    loaded = bl.load(target)
    verdict = _scan_verdict([str(root)], config, args.fail_on,
                            (target.read_text(encoding="utf-8"), str(target)))
    for entry in bl.stale(loaded, verdict.findings):
        print(f"nhi-gate: baseline entry {entry.rule_id} {entry.path} "
              f"{entry.address or ''} no longer matches a finding (fixed; recreate the baseline "
              "to drop it)", file=sys.stderr)
    return _report(verdict, RunInfo(__version__, "scan", None, None,
                                    args.fail_on or config.fail_on), args)


def _write_file(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise NhiGateError(f"{path}: cannot write: {exc.strerror}") from exc


def commit_msg(args: argparse.Namespace) -> int:
    """`nhi-gate commit-msg FILE`: an agent-authored commit must name who asked for it.

    Passes for human commits. For agent/bot commits, needs a `Requested-by:` trailer naming a
    human (not an agent or bot address) or a ticket trailer (`Ticket:`, `Refs:`, `Jira:`,
    `Change-Id:`, `Issue:`; matching the config's ticket pattern when one is set)
    (`provenance.trailers.requester_problem`); prints why and exits 1 otherwise.
    """
    from checker import git
    from checker.provenance.agents import load_agent_signatures
    from checker.provenance.classify import classify_actor

    path = Path(args.file)
    try:
        message = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise NhiGateError(f"{path}: cannot read commit message: {exc.strerror}") from exc
    with git.open_repo(Path(".")) as repo:
        name, email = git.git_identity(repo)
        branch = git.current_branch(repo)
        head_rev = repo.head.commit.hexsha if repo.head.is_valid() else None
        config = _config_at(repo, head_rev, argparse.Namespace(config=None))
    from checker.provenance.classify import message_trailers
    from checker.provenance.trailers import requester_problem

    signatures = load_agent_signatures(config.agent_emails, config.agent_branches)
    actor = classify_actor(name, email, message, signatures, branch)
    if actor.actor_kind not in ("agent", "bot"):
        return 0
    problem = requester_problem(
        message_trailers(message), signatures, config.required_metadata["ticket"].pattern
    )
    if problem is None:
        return 0
    print(f"nhi-gate: NHI103: this commit is by {actor.agent or actor.actor_kind}: {problem}",
          file=sys.stderr)  # fmt: skip
    return 1


def _identity_row(obj: IdentityObject) -> dict[str, object]:
    return {
        "kind": obj.kind,
        "platform": obj.platform,
        "type": obj.type,
        "address": obj.address,
        "path": obj.location.path,
        "start_line": obj.location.start_line,
        "end_line": obj.location.end_line,
        "metadata": dict(sorted(obj.metadata.items())),
        "environment": obj.environment,
        "namespace": obj.namespace,
        "privileges": [str(g) for g in obj.privileges],
    }


def inventory(args: argparse.Namespace) -> int:
    """`nhi-gate inventory [PATH...]`: every identity found, as a table, JSON or CSV (paths
    as `scan` shows them)."""
    from checker.checks.environments import infer_environment

    config = _config_from_disk(args, _scan_root(args.paths))
    parsed = _parse_tree(args.paths, config)
    objs = sorted(
        (
            replace(obj, environment=infer_environment(obj, config)) for obj in parsed.objects
        ),
        key=lambda o: (o.location.path, o.location.start_line, o.address),
    )
    rows = [_identity_row(o) for o in objs]
    for p in parsed.problems:
        print(f"nhi-gate: {p.rule_id}: {p.message}", file=sys.stderr)
    if args.format == "json":
        out = json.dumps({"identities": rows}, indent=2, ensure_ascii=False)
    elif args.format == "csv":
        buf = io.StringIO()
        cols = ["kind", "platform", "type", "address", "path", "start_line", "end_line",
                "environment", "metadata", "privileges"]
        writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        from checker.reporters.text import _safe

        for row in rows:
            cells = {**row, "metadata": json.dumps(row["metadata"]),
                     "privileges": "; ".join(row["privileges"])}  # type: ignore[arg-type]
            writer.writerow({k: _safe(v) if isinstance(v, str) else v for k, v in cells.items()})
        out = buf.getvalue()
    else:
        from checker.reporters.text import _safe

        lines = [f"{'KIND':16} {'PLATFORM':10} {'ENV':8} {'LOCATION':50} ADDRESS"]
        for row in rows:
            loc = _safe(f"{row['path']}:{row['start_line']}")
            env = _safe(str(row["environment"] or "-"))
            lines.append(f"{row['kind']!s:16} {row['platform']!s:10} {env:8} {loc:50} "
                         f"{_safe(str(row['address']))}")
        lines.append(f"{len(rows)} identities, {len(parsed.problems)} file(s) not analysed")
        out = "\n".join(lines)
    _write(out, args.output)
    return 0


def rules(args: argparse.Namespace) -> int:
    """`nhi-gate rules`: the rule catalogue with docs."""
    from checker.policy.rule_docs import load_rule_docs, render_markdown

    docs = load_rule_docs()
    if args.format == "markdown":
        out = render_markdown(docs)
    elif args.format == "json":
        out = json.dumps(
            [
                {
                    "id": d.id,
                    "name": d.name,
                    "level": d.level,
                    "security_severity": d.security_severity,
                    "short": d.short,
                    "help_uri": d.help_uri,
                }
                for d in docs.values()
            ],
            indent=2,
        )
    else:
        out = "\n".join(f"{d.id}  {d.level:7}  {d.name:40}  {d.short}" for d in docs.values())
    _write(out, None)
    return 0


def demo(args: argparse.Namespace) -> int:
    """`nhi-gate demo`: build a throwaway repo with an agent commit and check it."""
    from checker.demo import run_demo

    return run_demo()
