"""The ledger database: SQLite (stdlib `sqlite3`), one file where the user points it.

Tables (README "Identity ledger" documents them for SQL users):
- `meta(key, value)`: `schema` (the layout version), `last_commit` (the last walked commit;
  the next run walks from there), `ref` (what was walked).
- `identities`: one row per identity, keyed by `identity_id` (`checker.ledger.rows`: kind,
  platform and address, so a move keeps it): where it is now, owner, ticket, expiry,
  environment, privileges (JSON and three flag columns), who created it and who changed it
  last (flat columns and JSON), `status` (`live` or `removed`), `approved` and `approval`.
- `events`: one row per lifecycle event (`checker.ledger.events.EVENTS`), in walk order
  (`seq`): commit, author date, actor kind and agent product, evidence and its strength,
  path, line, detail.
- `live(path, address, identity_id)`: where each live identity is, to match the next commit's
  identities to their ids; `files(path, blob)`: the blob of each file nhi-gate reads at
  `last_commit`; `problems(path, rule_id, message, line)`: the files not read at
  `last_commit`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from checker.errors import NhiGateError
from checker.ledger.rows import is_workload
from checker.model import IdentityObject, ParseProblem

SCHEMA_VERSION = "1"

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS identities (
  identity_id TEXT PRIMARY KEY, kind TEXT, platform TEXT, type TEXT, address TEXT,
  path TEXT, line INTEGER, owner TEXT, ticket TEXT, expiry TEXT, environment TEXT,
  privileges TEXT, admin INTEGER, wildcard INTEGER, escalation INTEGER,
  created_commit TEXT, created_date TEXT, created_actor_kind TEXT, created_agent TEXT,
  created_by TEXT, last_commit TEXT, last_date TEXT, last_actor_kind TEXT, last_agent TEXT,
  last_changed_by TEXT, status TEXT, approved INTEGER, approval TEXT);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, identity_id TEXT, event TEXT, commit_sha TEXT,
  date TEXT, actor_kind TEXT, agent TEXT, author TEXT, evidence TEXT, strength TEXT,
  path TEXT, line INTEGER, detail TEXT);
CREATE INDEX IF NOT EXISTS events_identity ON events (identity_id);
CREATE TABLE IF NOT EXISTS live (
  path TEXT, address TEXT, identity_id TEXT, PRIMARY KEY (path, address));
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, blob TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS problems (path TEXT, rule_id TEXT, message TEXT, line INTEGER);
CREATE INDEX IF NOT EXISTS problems_path ON problems (path);
"""


@dataclass(frozen=True)
class Actor:
    """Who made one commit, as the ledger records it: `actor_kind`/`agent` from
    `provenance.classify`, `evidence` as `signature:field` strings and the strongest evidence's
    `strength` (None without evidence), `author` as `Name <email>`, `date` the ISO author date.
    `approval` is `{"merge_commit", "pr", "reviews"}` when the commit reached the walked
    branch through a merge or a pull request, else None."""

    commit: str
    date: str
    author: str
    actor_kind: str
    agent: str | None
    evidence: tuple[str, ...] = ()
    strength: str | None = None
    approval: Mapping[str, object] | None = None

    def as_row(self) -> dict[str, object]:
        """The contract's actor object: `{"actor_kind", "agent", "commit", "date", "author"}`."""
        return {"actor_kind": self.actor_kind, "agent": self.agent, "commit": self.commit,
                "date": self.date, "author": self.author}


class Ledger:
    """An open ledger database; use as a context manager (commits on success)."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(path)
            self.db.executescript(_TABLES)
        except (OSError, sqlite3.Error) as exc:
            raise NhiGateError(f"{path}: cannot open the ledger database: {exc}") from exc
        version = self.meta("schema")
        if version not in (None, SCHEMA_VERSION):
            raise NhiGateError(f"{path}: ledger schema {version}, this nhi-gate writes "
                               f"{SCHEMA_VERSION}; delete the file to rebuild it")
        self.set_meta("schema", SCHEMA_VERSION)
        self.path = path

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.db.commit()
        self.db.close()

    def meta(self, key: str) -> str | None:
        """The `meta` value of `key`, None when unset."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a `meta` value."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def reset(self) -> None:
        """Empty every table but `meta`'s schema: the next walk starts from the first commit."""
        for table in ("identities", "events", "live", "files", "problems"):
            self.db.execute(f"DELETE FROM {table}")  # fixed table names
        self.db.execute("DELETE FROM meta WHERE key != 'schema'")

    # -- the tree state ---------------------------------------------------------------------

    def files(self) -> dict[str, str]:
        """path -> blob id of the files read at `last_commit`."""
        return dict(self.db.execute("SELECT path, blob FROM files").fetchall())

    def set_files(self, changed: Mapping[str, str | None]) -> None:
        """Record the new blob of each changed path (None: deleted)."""
        for path, blob in changed.items():
            if blob is None:
                self.db.execute("DELETE FROM files WHERE path = ?", (path,))
            else:
                self.db.execute("INSERT OR REPLACE INTO files VALUES (?, ?)", (path, blob))

    def set_problems(self, paths: Sequence[str], problems: Sequence[ParseProblem]) -> None:
        """Replace the problems of `paths` with `problems` (those of the files as now read)."""
        for path in paths:
            self.db.execute("DELETE FROM problems WHERE path = ?", (path,))
        self.db.executemany("INSERT INTO problems VALUES (?, ?, ?, ?)",
                            [(p.path, p.rule_id, p.message, p.line) for p in problems])

    def problems(self) -> list[dict[str, object]]:
        """The files not read at `last_commit`, as `{"path", "rule_id", "message", "line"}`."""
        rows = self.db.execute(
            "SELECT path, rule_id, message, line FROM problems ORDER BY path, line, rule_id")
        return [{"path": p, "rule_id": r, "message": m, "line": n} for p, r, m, n in rows]

    # -- identities and events --------------------------------------------------------------

    def live_id(self, obj: IdentityObject) -> str | None:
        """The id of the live identity at `obj`'s path and address, None when there is none."""
        row = self.db.execute("SELECT identity_id FROM live WHERE path = ? AND address = ?",
                              (obj.location.path, obj.address)).fetchone()
        return None if row is None else str(row[0])

    def new_id(self, obj: IdentityObject, stable: str) -> str:
        """`stable` (`rows.identity_id`), or, when a live identity elsewhere already has it
        (the same address in two modules), that id with the path hashed in."""
        row = self.db.execute("SELECT status FROM identities WHERE identity_id = ?",
                              (stable,)).fetchone()
        if row is None or row[0] != "live":
            return stable
        key = f"{stable}\x1f{obj.location.path}".encode()
        return hashlib.sha256(key).hexdigest()[:16]

    def create(self, ident: str, obj: IdentityObject, actor: Actor,
               columns: Mapping[str, object]) -> None:
        """A new live identity `ident` created by `actor`, with its governance `columns`."""
        approval = json.dumps(actor.approval) if actor.approval is not None else None
        self.db.execute(
            "INSERT OR REPLACE INTO identities (identity_id, kind, platform, type, address,"
            " created_commit, created_date, created_actor_kind, created_agent, created_by,"
            " status, approved, approval) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'live', ?, ?)",
            (ident, "workload" if is_workload(obj) else obj.kind, obj.platform, obj.type,
             obj.address, actor.commit, actor.date,
             actor.actor_kind, actor.agent, json.dumps(actor.as_row()),
             int(actor.approval is not None), approval))
        self.place(ident, obj, columns)

    def place(self, ident: str, obj: IdentityObject, columns: Mapping[str, object]) -> None:
        """Where live identity `ident` is now (path, line, address) and its `columns`."""
        flags = columns["privileges"]
        assert isinstance(flags, dict)
        self.db.execute("INSERT OR REPLACE INTO live VALUES (?, ?, ?)",
                        (obj.location.path, obj.address, ident))
        self.db.execute(
            "UPDATE identities SET address = ?, path = ?, line = ?, owner = ?, ticket = ?,"
            " expiry = ?, environment = ?, privileges = ?, admin = ?, wildcard = ?,"
            " escalation = ?, status = 'live' WHERE identity_id = ?",
            (obj.address, obj.location.path, obj.location.start_line, columns["owner"],
             columns["ticket"], columns["expiry"], columns["environment"],
             json.dumps(flags), int(bool(flags["admin"])), int(bool(flags["wildcard"])),
             int(bool(flags["escalation"])), ident))

    def unplace(self, obj: IdentityObject) -> None:
        """Forget the live location of `obj` (its path and address)."""
        self.db.execute("DELETE FROM live WHERE path = ? AND address = ?",
                        (obj.location.path, obj.address))

    def touched(self, ident: str, actor: Actor, removed: bool = False) -> None:
        """`actor` changed identity `ident` last (and removed it when `removed`)."""
        self.db.execute(
            "UPDATE identities SET last_commit = ?, last_date = ?, last_actor_kind = ?,"
            " last_agent = ?, last_changed_by = ?, status = ? WHERE identity_id = ?",
            (actor.commit, actor.date, actor.actor_kind, actor.agent,
             json.dumps(actor.as_row()), "removed" if removed else "live", ident))

    def event(self, ident: str, event: str, actor: Actor, obj: IdentityObject,
              detail: str) -> None:
        """Append one lifecycle event."""
        self.db.execute(
            "INSERT INTO events (identity_id, event, commit_sha, date, actor_kind, agent,"
            " author, evidence, strength, path, line, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (ident, event, actor.commit, actor.date, actor.actor_kind, actor.agent,
             actor.author, json.dumps(list(actor.evidence)), actor.strength,
             obj.location.path, obj.location.start_line, detail))

    # -- reading ----------------------------------------------------------------------------

    def identity_rows(self, where: str = "1", args: Sequence[object] = (),
                      today: dt.date | None = None) -> list[dict[str, object]]:
        """Identity rows (the contract's `"identity"` table) matching the SQL `where` clause
        over `identities` (a fixed string built by `checker.commands.ledger`), by path and
        line; `expiry_days_left` counted from `today`."""
        today = today or dt.date.today()
        cur = self.db.execute(
            "SELECT identity_id, kind, platform, type, address, path, line, owner, ticket,"
            " expiry, environment, privileges, created_by, last_changed_by, status, approved,"
            f" approval FROM identities WHERE {where} ORDER BY path, line, address", args)
        out: list[dict[str, object]] = []
        for (ident, kind, platform, type_, address, path, line, owner, ticket, expiry, env,
             privileges, created, last, status, approved, approval) in cur:
            days = (dt.date.fromisoformat(expiry) - today).days if expiry else None
            out.append({
                "table": "identity", "identity_id": ident, "kind": kind, "platform": platform,
                "type": type_, "address": address, "path": path, "line": line,
                "owner": owner, "ticket": ticket, "expiry": expiry, "expiry_days_left": days,
                "environment": env, "privileges": json.loads(privileges or "null"),
                "created_by": json.loads(created or "null"),
                "last_changed_by": json.loads(last or "null"), "status": status,
                "approved": bool(approved), "approval": json.loads(approval or "null"),
            })
        return out

    def event_rows(self, identities: Sequence[str] | None = None) -> Iterator[dict[str, object]]:
        """Event rows (the contract's `"event"` table) in walk order, of `identities` only
        when given."""
        wanted = None if identities is None else set(identities)
        cur = self.db.execute(
            "SELECT identity_id, event, commit_sha, date, actor_kind, agent, author, evidence,"
            " strength, path, line, detail FROM events ORDER BY seq")
        for (ident, event, commit, date, kind, agent, author, evidence, strength, path, line,
             detail) in cur:
            if wanted is not None and ident not in wanted:
                continue
            yield {"table": "event", "identity_id": ident, "event": event, "commit": commit,
                   "date": date, "actor_kind": kind, "agent": agent, "author": author,
                   "evidence": json.loads(evidence), "strength": strength, "path": path,
                   "line": line, "detail": detail}
