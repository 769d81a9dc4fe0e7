"""The identity ledger (issue 17): who created each identity, who owns it, when it expires.

`rows` turns one parsed identity into the inventory's and ledger's columns (owner, ticket,
expiry, environment, privilege flags, the stable identity id); `events` compares an identity
before and after a commit and names the lifecycle event (created, widened, narrowed,
metadata_changed, moved, removed), reusing the meaning comparison of `checks/drift.py`;
`store` is the SQLite database (stdlib `sqlite3`) and its queries. Nothing here reads git:
`commands/ledger.py` walks the history and hands identities in.
"""
