-- nhi-gate ledger rows -> two tables, PostgreSQL (12+). With psql, in the folder holding the
-- downloaded `ledger-rows` artifact:  psql "$DATABASE_URL" -f load-postgres.sql
-- The CSV options below make COPY take each line whole (no delimiter or quote occurs in JSON
-- lines, and text-format COPY would eat the backslashes of JSON escapes).
DROP TABLE IF EXISTS ledger_raw, nhi_identity, nhi_event;
CREATE TABLE ledger_raw (row jsonb NOT NULL);
\copy ledger_raw (row) FROM 'ledger-rows.jsonl' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')

CREATE TABLE nhi_identity AS
SELECT
  row->>'repository'                                 AS repository,
  row->>'identity_id'                                AS identity_id,
  row->>'kind'                                       AS kind,
  row->>'platform'                                   AS platform,
  row->>'address'                                    AS address,
  row->>'path'                                       AS path,
  (row->>'line')::integer                            AS line,
  row->>'owner'                                      AS owner,
  row->>'ticket'                                     AS ticket,
  row->>'environment'                                AS environment,
  row->>'expiry'                                     AS expiry,
  (row->>'expiry')::date - current_date              AS expiry_days_left,
  row->'privileges'->>'summary'                      AS privileges_summary,
  (row->'privileges'->>'admin')::boolean             AS admin,
  (row->'privileges'->>'wildcard')::boolean          AS wildcard,
  (row->'privileges'->>'escalation')::boolean        AS escalation,
  row->'created_by'->>'actor_kind'                   AS created_by_kind,
  row->'created_by'->>'agent'                        AS created_by_agent,
  row->'created_by'->>'commit'                       AS created_commit,
  row->'created_by'->>'date'                         AS created_at,
  row->'last_changed_by'->>'actor_kind'              AS last_changed_by_kind,
  row->'last_changed_by'->>'agent'                   AS last_changed_by_agent,
  row->'last_changed_by'->>'commit'                  AS last_changed_commit,
  row->'last_changed_by'->>'date'                    AS last_changed_at,
  row->>'status'                                     AS status,
  (row->>'approved')::boolean                        AS approved
FROM ledger_raw
WHERE row->>'table' = 'identity';

CREATE TABLE nhi_event AS
SELECT
  row->>'repository'                                 AS repository,
  row->>'identity_id'                                AS identity_id,
  row->>'event'                                      AS event,
  row->>'commit'                                     AS commit_sha,
  row->>'date'                                       AS event_at,
  row->>'actor_kind'                                 AS actor_kind,
  row->>'agent'                                      AS agent,
  (row->'evidence')::text                            AS evidence,
  row->>'strength'                                   AS strength,
  row->>'path'                                       AS path,
  (row->>'line')::integer                            AS line,
  row->>'detail'                                     AS detail
FROM ledger_raw
WHERE row->>'table' = 'event';
