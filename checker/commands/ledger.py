"""`nhi-gate ledger [PATH]`: the identity ledger of a repository's history, in SQLite.

Walks the first-parent history of `--rev` (default HEAD) once into the database, then on each
run only the commits after the last walked one (`meta.last_commit`); a rewritten history
(the last walked commit is no longer an ancestor) is walked again from the start. Reads only
git objects; writes only the database.

The database defaults to `$XDG_CACHE_HOME/nhi-gate/ledger/<repository>-<hash>.sqlite`
(`~/.cache` when unset), outside the working tree so it can never be committed by accident
and no `.gitignore` entry is needed; `--db FILE` puts it anywhere (a CI artifact, a file
beside the repository).

Queries are flags, combined with AND over the live identities (`--include-removed` adds the
removed ones): `--agent-created`, `--without-owner`, `--expiring DAYS` (expired ones
included), `--widened` (an event widened it since its creation), `--unapproved-agent` (an
agent created it and no merge or pull request brought it in).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import json
import os
import sys
from pathlib import Path

from checker.commands.html_report import html_report, report_meta
from checker.commands.ledger_walk import Parser, actor_of, brought_in, walk_log
from checker.commands.report import write
from checker.errors import ConfigError, GitError
from checker.git.refs import rev_parse
from checker.git.repo import Repo
from checker.git.run import open_repo, run_git
from checker.ledger.events import Judge, file_events
from checker.ledger.record import record
from checker.ledger.store import Ledger
from checker.policy.catalogue import load_catalogue
from checker.policy.config import CONFIG_NAME, Config, load_config_file, parse_config
from checker.policy.privileges import load_admin_table
from checker.provenance.agents import load_agent_signatures
from checker.reporters.text import safe_text


def default_db(repo: Repo) -> Path:
    """`$XDG_CACHE_HOME/nhi-gate/ledger/<name>-<hash of the git dir>.sqlite`."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    common = Path(repo.common_dir).resolve()
    name = (common.parent if common.name == ".git" else common).name or "repo"
    digest = hashlib.sha256(str(common).encode("utf-8")).hexdigest()[:12]
    return Path(cache) / "nhi-gate" / "ledger" / f"{name}-{digest}.sqlite"


def _config(args: argparse.Namespace, repo: Repo, head: str) -> Config:
    """`--config FILE`, else `.nhi-gate.yaml` as committed at `head`, else the defaults."""
    if getattr(args, "config", None):
        path = Path(args.config)
        if not path.is_file():
            raise ConfigError(f"{path}: config file not found")
        return load_config_file(path)
    try:
        text = run_git(repo, "cat-file", "blob", f"{head}:{CONFIG_NAME}")
    except GitError:
        return Config()
    return parse_config(text.decode("utf-8", "replace"), f"{head[:12]}:{CONFIG_NAME}")


def _is_ancestor(repo: Repo, old: str, new: str) -> bool:
    try:
        run_git(repo, "merge-base", "--is-ancestor", old, new)
    except GitError:
        return False
    return True


def update(led: Ledger, repo: Repo, head: str, config: Config) -> tuple[int, int]:
    """Walk the commits after `meta.last_commit` up to `head` into `led` (all of them when the
    ledger is empty or the history was rewritten). Returns (commits walked, events written)."""
    last = led.meta("last_commit")
    if last == head:
        return 0, 0
    if last is not None and not _is_ancestor(repo, last, head):
        print("nhi-gate: the last walked commit is no longer in the history; walking it again",
              file=sys.stderr)
        led.reset()
        last = None
    rev_range = f"{last}..{head}" if last else head
    walked = walk_log(repo, rev_range)
    side = brought_in(repo, rev_range, walked)
    signatures = load_agent_signatures(config.agent_emails, config.agent_branches)
    judge = Judge(config, load_catalogue(), load_admin_table(), dt.date.today())
    parser = Parser(repo, judge.catalogue, config)
    tree = led.files()
    start = dict(tree)
    written = 0
    for entry in walked:
        if not entry.changes:
            continue
        parent = entry.commit.parents[0] if entry.commit.parents else entry.commit.sha
        # `tree` holds each file's last blob that was read whole: a version that could not be
        # read (a syntax error, over the parse budget) changes nothing in the ledger.
        before_files = {p: tree[p] for p in entry.changes if p in tree}
        after_files = {p: new for p, (_, new) in entry.changes.items() if new}
        before, _ = parser.identities(before_files, tree, parent)
        good = dict(tree)
        for path, (_, new) in entry.changes.items():
            if new is None:
                tree.pop(path, None)
            else:
                tree[path] = new
        after, problems = parser.identities(after_files, tree, entry.commit.sha)
        led.set_problems(list(entry.changes), problems)
        unread = {p.path for p in problems if p.rule_id in UNREAD and p.address is None}
        for path in unread:
            if path in good:
                tree[path] = good[path]
            else:
                tree.pop(path, None)
        parser.forget({p: b for p, b in before_files.items() if tree.get(p) != b})
        before = [o for o in before if o.location.path not in unread]
        after = [o for o in after if o.location.path not in unread]
        who = functools.partial(actor_of, entry, list(entry.changes), signatures, side)
        written += record(led, file_events(before, after, judge), after, who, judge)
    led.set_files({**{p: None for p in start if p not in tree}, **tree})
    led.set_meta("last_commit", head)
    return len(walked), written


#: Problems that mean a file was not read at all (when no `address` names a part of it).
UNREAD = frozenset({"NHI901", "NHI902", "NHI903"})


def reviews(rows: list[dict[str, object]], args: argparse.Namespace) -> None:
    """With `--github-repo` and `GITHUB_TOKEN` set, the reviews of the pull requests that
    brought `rows` in (`commands.ledger_reviews`); else nothing is read from the network."""
    token = os.environ.get("GITHUB_TOKEN")
    if not (getattr(args, "github_repo", None) and token):
        return
    from checker.commands.ledger_reviews import add_reviews

    url = os.environ.get("GITHUB_API_URL") or "https://api.github.com"
    add_reviews(rows, url, token, args.github_repo)


def _where(args: argparse.Namespace, today: dt.date) -> tuple[str, list[object]]:
    """The SQL filter over `identities` the query flags ask for (fixed clauses, values as
    parameters)."""
    clauses = [] if args.include_removed else ["status = 'live'"]
    params: list[object] = []
    if args.agent_created:
        clauses.append("created_actor_kind = 'agent'")
    if args.without_owner:
        clauses.append("owner IS NULL")
    if args.expiring is not None:
        clauses.append("expiry IS NOT NULL AND expiry <= ?")
        params.append((today + dt.timedelta(days=args.expiring)).isoformat())
    if args.widened:
        clauses.append("identity_id IN (SELECT identity_id FROM events WHERE event = 'widened')")
    if args.unapproved_agent:
        clauses.append("created_actor_kind = 'agent' AND approved = 0")
    return " AND ".join(clauses) or "1", params


def ledger(args: argparse.Namespace) -> int:
    """`nhi-gate ledger [PATH]`: update the ledger of the repository at PATH, then print the
    identities the query flags select (all live ones without flags) as a table, JSON, JSONL
    rows (identities, then their events; `checker/schemas/ledger-row.schema.json`) or HTML.
    Raises `GitError`/`ConfigError` (exit 2) when the repository or config cannot be read."""
    today = dt.date.today()
    with open_repo(Path(args.path)) as repo:
        head = rev_parse(repo, args.rev)
        root = str(repo.working_tree_dir or args.path)
        config = _config(args, repo, head)
        db = Path(args.db) if args.db else default_db(repo)
        with Ledger(db) as led:
            walked, events = update(led, repo, head, config)
            where, params = _where(args, today)
            identities = led.identity_rows(where, params, today)
            chosen = [str(r["identity_id"]) for r in identities]
            history = list(led.event_rows(chosen))
            problems = led.problems()
    reviews(identities, args)
    print(f"nhi-gate: ledger {db}: {walked} commit(s) walked, {events} event(s) added",
          file=sys.stderr)
    if args.format == "jsonl":
        out = "\n".join(json.dumps(r, ensure_ascii=False, sort_keys=True)
                        for r in [*identities, *history])
    elif args.format == "json":
        out = json.dumps({"identities": identities, "events": history, "problems": problems},
                         indent=2, ensure_ascii=False)
    elif args.format == "html":
        meta = report_meta("nhi-gate ledger", args.output, root)
        out = html_report("render_ledger_html", identities, history,
                          {**meta, "command": "ledger", "commit": head, "problems": problems,
                           "generated": today.isoformat()})
    else:
        out = _table(identities, len({p["path"] for p in problems}))
    write(out, args.output)
    return 0


def _table(rows: list[dict[str, object]], unread: int) -> str:
    lines = [f"{'KIND':16} {'OWNER':16} {'EXPIRY':10} {'CREATED BY':24} {'STATUS':8} "
             f"{'LOCATION':44} ADDRESS"]
    for row in rows:
        created = row["created_by"]
        by = "-"
        if isinstance(created, dict):
            by = f"{created.get('agent') or created.get('actor_kind')} {str(created['commit'])[:7]}"
        loc = safe_text(f"{row['path']}:{row['line']}")
        lines.append(f"{row['kind']!s:16} {safe_text(str(row['owner'] or '-')):16} "
                     f"{row['expiry'] or '-'!s:10} {safe_text(by):24} {row['status']!s:8} "
                     f"{loc:44} {safe_text(str(row['address']))}")
    lines.append(f"{len(rows)} identities, {unread} file(s) not read at the last walked commit")
    return "\n".join(lines)
