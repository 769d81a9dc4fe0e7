"""One function per subcommand: read inputs, run the pure analysis, write outputs, return a code.

Each takes the parsed `argparse.Namespace` and returns the exit code; only `cli` prints errors.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from checker import __version__
from checker.analysis import Parsed, parse_sources, run_rules
from checker.catalogue import load_catalogue
from checker.config import CONFIG_NAME, Config, load_config_file, parse_config
from checker.discovery import walk
from checker.errors import ConfigError, NhiGateError
from checker.model import ChangeSet, IdentityObject, Provenance, SourceFile, Verdict
from checker.reporters import RunInfo


def _write(text: str, output: str | None) -> None:
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise NhiGateError(f"{output}: cannot write report: {exc}") from exc
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _report(verdict: Verdict, run: RunInfo, args: argparse.Namespace) -> int:
    """Render in the chosen format (+ SARIF file), and turn the verdict into the exit code."""
    from checker.reporters import github, json_report, sarif, text
    from checker.ruledocs import load_rule_docs

    docs = load_rule_docs()
    fmt = args.format
    if fmt == "json":
        out = json_report.render(verdict, run)
    elif fmt == "sarif":
        out = sarif.render(verdict, docs, run)
    elif fmt == "github":
        out = github.render_annotations(verdict)
        summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary_path:
            with open(summary_path, "a", encoding="utf-8") as fh:
                fh.write(github.render_summary(verdict, docs, run))
    else:
        color = args.output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        out = text.render(verdict, docs, run, color=color)
    _write(out, args.output)
    if args.sarif:
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


def _github_event() -> Mapping[str, object]:
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NhiGateError(f"GITHUB_EVENT_PATH {path}: cannot read event: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _event_range() -> tuple[str | None, str | None]:
    event = _github_event()
    pr = event.get("pull_request")
    if isinstance(pr, dict):
        base = pr.get("base", {}).get("sha") if isinstance(pr.get("base"), dict) else None
        head = pr.get("head", {}).get("sha") if isinstance(pr.get("head"), dict) else None
        return base, head
    return None, None


def _provenance(changeset: ChangeSet, config: Config, assume_agent: bool) -> dict[str, Provenance]:
    from checker.provenance import classify_commit, load_fingerprints

    fps = load_fingerprints(config.agent_emails, config.agent_branches)
    out: dict[str, Provenance] = {}
    for commit in changeset.commits:
        prov = classify_commit(commit, fps, changeset.branch)
        if assume_agent and prov.actor_kind != "agent":
            prov = Provenance(prov.commit, "agent", prov.agent or "--assume-agent", prov.evidence)
        out[commit.sha] = prov
    return out


def _sources(blobs: Mapping[str, bytes | None], revision: str | None) -> list[SourceFile]:
    return [SourceFile(p, b, revision) for p, b in sorted(blobs.items()) if b is not None]


def check(args: argparse.Namespace) -> int:
    """`nhi-gate check`: gate the identities that `base..head` adds or changes."""
    from checker import git

    ev_base, ev_head = _event_range()
    with git.open_repo(Path(args.repo)) as repo:
        base, head = git.resolve_range(repo, args.base or ev_base, args.head or ev_head)
        branch = os.environ.get("GITHUB_HEAD_REF") or (
            git.current_branch(repo) if not (args.head or ev_head) else None
        )
        changeset = git.build_changeset(repo, base, head, branch=branch)
        if args.config:
            config = _config_from_disk(args, Path(args.repo))
        else:
            cfg_blob = git.read_blobs(repo, base, [CONFIG_NAME]).get(CONFIG_NAME)
            config = (
                parse_config(cfg_blob.decode("utf-8", "replace"), f"{base[:12]}:{CONFIG_NAME}")
                if cfg_blob is not None
                else Config()
            )
        live = [f for f in changeset.files if f.status != "D"]
        head_blobs = git.read_blobs(repo, head, [f.path for f in live])
        base_paths = {f.old_path or f.path: f.path for f in live if f.status != "A"}
        base_raw = git.read_blobs(repo, base, list(base_paths))
        base_blobs = {base_paths[p]: b for p, b in base_raw.items()}
    catalogue = load_catalogue()
    head_parsed = parse_sources(_sources(head_blobs, head), catalogue, config)
    base_parsed = parse_sources(_sources(base_blobs, base), catalogue, config)
    verdict, _ = run_rules(
        head_parsed,
        base_parsed,
        mode="check",
        config=config,
        changeset=changeset,
        provenance=_provenance(changeset, config, args.assume_agent),
        fail_on=args.fail_on,
        all_authors=args.all_authors,
    )
    run = RunInfo(__version__, "check", base, head, args.fail_on or config.fail_on)
    return _report(verdict, run, args)


def _scan_sources(paths: Sequence[str]) -> list[SourceFile]:
    roots = [Path(p) for p in paths]
    for root in roots:
        if not root.exists() and not root.is_symlink():
            raise NhiGateError(f"{root}: no such file or directory")
    single_dir = len(roots) == 1 and roots[0].is_dir()
    sources: list[SourceFile] = []
    for full, display in walk(roots):
        rel = full.relative_to(roots[0]).as_posix() if single_dir else display
        try:
            raw = full.read_bytes()
        except OSError as exc:
            raise NhiGateError(f"{full}: cannot read: {exc.strerror}") from exc
        sources.append(SourceFile(rel, raw, None))
    return sources


def _parse_tree(paths: Sequence[str], config: Config) -> Parsed:
    return parse_sources(_scan_sources(paths), load_catalogue(), config)


def scan(args: argparse.Namespace) -> int:
    """`nhi-gate scan PATH...`: every identity in files on disk; every finding counts."""
    root = Path(args.paths[0]) if Path(args.paths[0]).is_dir() else Path(".")
    config = _config_from_disk(args, root)
    parsed = _parse_tree(args.paths, config)
    verdict, _ = run_rules(
        parsed, Parsed((), ()), mode="scan", config=config, changeset=ChangeSet(None, None),
        provenance={}, fail_on=args.fail_on,
    )
    return _report(verdict, RunInfo(__version__, "scan", None, None,
                                    args.fail_on or config.fail_on), args)


def hook(args: argparse.Namespace) -> int:
    """`nhi-gate hook [FILE...]`: pre-commit stage; judges the staged content.

    The actor is the identity that is committing (GIT_AUTHOR_* env, else git config). Only
    identity lines in the index that differ from HEAD are judged.
    """
    from checker import git
    from checker.provenance import classify_actor, load_fingerprints

    with git.open_repo(Path(".")) as repo:
        config = _config_from_disk(args, Path(repo.working_tree_dir or "."))
        changeset = git.staged_changeset(repo, args.files or None)
        live = [f for f in changeset.files if f.status != "D"]
        head_blobs = git.read_index_blobs(repo, [f.path for f in live])
        base_blobs: Mapping[str, bytes | None] = {}
        if changeset.base:
            base_paths = {f.old_path or f.path: f.path for f in live if f.status != "A"}
            raw = git.read_blobs(repo, changeset.base, list(base_paths))
            base_blobs = {base_paths[p]: b for p, b in raw.items()}
        name, email = git.git_identity(repo)
        branch = git.current_branch(repo)
    fps = load_fingerprints(config.agent_emails, config.agent_branches)
    actor = classify_actor(name, email, "", fps, branch)
    catalogue = load_catalogue()
    verdict, _ = run_rules(
        parse_sources(_sources(head_blobs, None), catalogue, config),
        parse_sources(_sources(base_blobs, changeset.base), catalogue, config),
        mode="hook", config=config, changeset=changeset, provenance={}, hook_actor=actor,
        fail_on=args.fail_on,
    )
    run = RunInfo(__version__, "hook", changeset.base, None, args.fail_on or config.fail_on)
    return _report(verdict, run, args)


def commit_msg(args: argparse.Namespace) -> int:
    """`nhi-gate commit-msg FILE`: an agent-authored commit must name who asked for it.

    Passes for human commits. For agent/bot commits, needs a `Requested-by:` trailer or a
    ticket trailer (`Ticket:`, `Refs:`, `Jira:`); prints why and exits 1 otherwise.
    """
    from checker import git
    from checker.provenance import classify_actor, load_fingerprints

    path = Path(args.file)
    try:
        message = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise NhiGateError(f"{path}: cannot read commit message: {exc.strerror}") from exc
    with git.open_repo(Path(".")) as repo:
        name, email = git.git_identity(repo)
        branch = git.current_branch(repo)
        root = Path(repo.working_tree_dir or ".")
        config = _config_from_disk(argparse.Namespace(config=None), root)
    fps = load_fingerprints(config.agent_emails, config.agent_branches)
    actor = classify_actor(name, email, message, fps, branch)
    if actor.actor_kind not in ("agent", "bot"):
        return 0
    keys = {line.split(":", 1)[0].strip().lower() for line in message.splitlines() if ":" in line}
    if keys & {"requested-by", "ticket", "refs", "jira", "change-id"}:
        return 0
    print(
        f"nhi-gate: NHI103: this commit is by {actor.agent or actor.actor_kind}; add a "
        "`Requested-by: Name <email>` or `Ticket: ABC-123` trailer naming the human request",
        file=sys.stderr,
    )
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
    """`nhi-gate inventory [PATH]`: every identity found, as a table, JSON or CSV."""
    from checker.engine import infer_environment

    root = Path(args.path)
    config = _config_from_disk(args, root if root.is_dir() else Path("."))
    parsed = _parse_tree([args.path], config)
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
        for row in rows:
            writer.writerow({**row, "metadata": json.dumps(row["metadata"]),
                             "privileges": "; ".join(row["privileges"])})  # type: ignore[arg-type]
        out = buf.getvalue()
    else:
        lines = [f"{'KIND':16} {'PLATFORM':10} {'ENV':8} {'LOCATION':50} ADDRESS"]
        for row in rows:
            loc = f"{row['path']}:{row['start_line']}"
            env = row["environment"] or "-"
            lines.append(f"{row['kind']!s:16} {row['platform']!s:10} {env!s:8} {loc:50} "
                         f"{row['address']}")
        lines.append(f"{len(rows)} identities, {len(parsed.problems)} file(s) not analysed")
        out = "\n".join(lines)
    _write(out, args.output)
    return 0


def rules(args: argparse.Namespace) -> int:
    """`nhi-gate rules`: the rule catalogue with docs."""
    from checker.ruledocs import load_rule_docs, render_markdown

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
