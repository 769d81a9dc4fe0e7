-- nhi-gate ledger rows -> two tables, DuckDB. Run in the folder holding the downloaded
-- `ledger-rows` artifact:  duckdb nhi.duckdb < load-duckdb.sql  (then queries.sql).
CREATE OR REPLACE TABLE ledger_raw AS
SELECT json AS row FROM read_ndjson_objects('ledger-rows.jsonl');

CREATE OR REPLACE TABLE nhi_identity AS
SELECT
  row->>'$.repository'                               AS repository,
  row->>'$.identity_id'                              AS identity_id,
  row->>'$.kind'                                     AS kind,
  row->>'$.platform'                                 AS platform,
  row->>'$.address'                                  AS address,
  row->>'$.path'                                     AS path,
  CAST(row->>'$.line' AS INTEGER)                    AS line,
  row->>'$.owner'                                    AS owner,
  row->>'$.ticket'                                   AS ticket,
  row->>'$.environment'                              AS environment,
  row->>'$.expiry'                                   AS expiry,
  date_diff('day', current_date, CAST(row->>'$.expiry' AS DATE)) AS expiry_days_left,
  row->>'$.privileges.summary'                       AS privileges_summary,
  CAST(row->>'$.privileges.admin' AS BOOLEAN)        AS admin,
  CAST(row->>'$.privileges.wildcard' AS BOOLEAN)     AS wildcard,
  CAST(row->>'$.privileges.escalation' AS BOOLEAN)   AS escalation,
  row->>'$.created_by.actor_kind'                    AS created_by_kind,
  row->>'$.created_by.agent'                         AS created_by_agent,
  row->>'$.created_by.commit'                        AS created_commit,
  row->>'$.created_by.date'                          AS created_at,
  row->>'$.last_changed_by.actor_kind'               AS last_changed_by_kind,
  row->>'$.last_changed_by.agent'                    AS last_changed_by_agent,
  row->>'$.last_changed_by.commit'                   AS last_changed_commit,
  row->>'$.last_changed_by.date'                     AS last_changed_at,
  row->>'$.status'                                   AS status,
  CAST(row->>'$.approved' AS BOOLEAN)                AS approved
FROM ledger_raw
WHERE row->>'$.table' = 'identity';

CREATE OR REPLACE TABLE nhi_event AS
SELECT
  row->>'$.repository'                               AS repository,
  row->>'$.identity_id'                              AS identity_id,
  row->>'$.event'                                    AS event,
  row->>'$.commit'                                   AS commit_sha,
  row->>'$.date'                                     AS event_at,
  row->>'$.actor_kind'                               AS actor_kind,
  row->>'$.agent'                                    AS agent,
  CAST(row->'$.evidence' AS VARCHAR)                 AS evidence,
  row->>'$.strength'                                 AS strength,
  row->>'$.path'                                     AS path,
  CAST(row->>'$.line' AS INTEGER)                    AS line,
  row->>'$.detail'                                   AS detail
FROM ledger_raw
WHERE row->>'$.table' = 'event';
