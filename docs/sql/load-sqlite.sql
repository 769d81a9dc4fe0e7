-- nhi-gate ledger rows -> two tables, SQLite (3.38+, JSON functions built in).
-- Input: table ledger_raw(row TEXT), one `nhi-gate ledger --format jsonl` line per row, each
-- with a `repository` field (the inventory workflow adds it). Load the lines with any client,
-- e.g. Python:  con.executemany("INSERT INTO ledger_raw VALUES (?)", ((l,) for l in open(f)))
-- Then run this file, then the queries in queries.sql.
DROP TABLE IF EXISTS nhi_identity;
DROP TABLE IF EXISTS nhi_event;

CREATE TABLE nhi_identity AS
SELECT
  json_extract(row, '$.repository')                  AS repository,
  json_extract(row, '$.identity_id')                 AS identity_id,
  json_extract(row, '$.kind')                        AS kind,
  json_extract(row, '$.platform')                    AS platform,
  json_extract(row, '$.address')                     AS address,
  json_extract(row, '$.path')                        AS path,
  CAST(json_extract(row, '$.line') AS INTEGER)       AS line,
  json_extract(row, '$.owner')                       AS owner,
  json_extract(row, '$.ticket')                      AS ticket,
  json_extract(row, '$.environment')                 AS environment,
  json_extract(row, '$.expiry')                      AS expiry,
  CAST(julianday(json_extract(row, '$.expiry')) - julianday(date('now')) AS INTEGER)
                                                     AS expiry_days_left,
  json_extract(row, '$.privileges.summary')          AS privileges_summary,
  json_extract(row, '$.privileges.admin') = 1        AS admin,
  json_extract(row, '$.privileges.wildcard') = 1     AS wildcard,
  json_extract(row, '$.privileges.escalation') = 1   AS escalation,
  json_extract(row, '$.created_by.actor_kind')       AS created_by_kind,
  json_extract(row, '$.created_by.agent')            AS created_by_agent,
  json_extract(row, '$.created_by.commit')           AS created_commit,
  json_extract(row, '$.created_by.date')             AS created_at,
  json_extract(row, '$.last_changed_by.actor_kind')  AS last_changed_by_kind,
  json_extract(row, '$.last_changed_by.agent')       AS last_changed_by_agent,
  json_extract(row, '$.last_changed_by.commit')      AS last_changed_commit,
  json_extract(row, '$.last_changed_by.date')        AS last_changed_at,
  json_extract(row, '$.status')                      AS status,
  json_extract(row, '$.approved') = 1                AS approved
FROM ledger_raw
WHERE json_extract(row, '$.table') = 'identity';

CREATE TABLE nhi_event AS
SELECT
  json_extract(row, '$.repository')                  AS repository,
  json_extract(row, '$.identity_id')                 AS identity_id,
  json_extract(row, '$.event')                       AS event,
  json_extract(row, '$.commit')                      AS commit_sha,
  json_extract(row, '$.date')                        AS event_at,
  json_extract(row, '$.actor_kind')                  AS actor_kind,
  json_extract(row, '$.agent')                       AS agent,
  json_extract(row, '$.evidence')                    AS evidence,
  json_extract(row, '$.strength')                    AS strength,
  json_extract(row, '$.path')                        AS path,
  CAST(json_extract(row, '$.line') AS INTEGER)       AS line,
  json_extract(row, '$.detail')                      AS detail
FROM ledger_raw
WHERE json_extract(row, '$.table') = 'event';
