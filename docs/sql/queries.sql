-- The organisation's ledger questions, over the tables nhi_identity and nhi_event that
-- load-sqlite.sql, load-duckdb.sql, load-postgres.sql or load-bigquery.sql build. Plain SQL
-- that runs unchanged on all four; each query is named by its `-- name:` line.
-- tests/test_org_scale.py runs every query on SQLite (and DuckDB when installed).

-- name: agent_created
-- Live identities an agent created.
SELECT repository, address, path, line, created_by_agent, created_at
FROM nhi_identity
WHERE status = 'live' AND created_by_kind = 'agent'
ORDER BY repository, path, line, address;

-- name: without_owner
-- Live identities with no owner.
SELECT repository, address, path, line, created_by_kind
FROM nhi_identity
WHERE status = 'live' AND owner IS NULL
ORDER BY repository, path, line, address;

-- name: expiring_30_days
-- Live identities expired or expiring within 30 days, soonest first.
SELECT repository, address, expiry, expiry_days_left
FROM nhi_identity
WHERE status = 'live' AND expiry_days_left <= 30
ORDER BY expiry_days_left, repository, address;

-- name: widened_since_creation
-- Identities widened after they were created, with who widened them last.
SELECT i.repository, i.address, COUNT(*) AS widenings, MAX(e.event_at) AS last_widened
FROM nhi_identity AS i
JOIN nhi_event AS e ON e.repository = i.repository AND e.identity_id = i.identity_id
WHERE e.event = 'widened'
GROUP BY i.repository, i.address
ORDER BY i.repository, i.address;

-- name: agent_created_never_approved
-- Live identities an agent created that no merge commit or pull request approved.
SELECT repository, address, path, line, created_by_agent, created_commit
FROM nhi_identity
WHERE status = 'live' AND created_by_kind = 'agent' AND NOT approved
ORDER BY repository, path, line, address;

-- name: per_repository
-- One line per repository: live identities, agent-created, without owner, expired.
SELECT repository,
       COUNT(*) AS identities,
       SUM(CASE WHEN created_by_kind = 'agent' THEN 1 ELSE 0 END) AS agent_created,
       SUM(CASE WHEN owner IS NULL THEN 1 ELSE 0 END) AS without_owner,
       SUM(CASE WHEN expiry_days_left < 0 THEN 1 ELSE 0 END) AS expired
FROM nhi_identity
WHERE status = 'live'
GROUP BY repository
ORDER BY repository;

-- name: agent_creations_by_month
-- Identities created per month, by actor kind.
SELECT SUBSTR(created_at, 1, 7) AS month, created_by_kind, COUNT(*) AS created
FROM nhi_identity
WHERE created_at IS NOT NULL
GROUP BY SUBSTR(created_at, 1, 7), created_by_kind
ORDER BY month, created_by_kind;
